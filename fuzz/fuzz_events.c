/* libFuzzer: packed per-source events from a database edited by hand, and
 * the old table's text fields the migration parses.  The input is one block
 * row: a record count (first byte), then records; mamori_events reads it whole
 * and by address.  Each record also round-trips: unpack, pack, unpack again
 * gives the same row.  The rest goes to the text parsers as a string. */
#include "store/events.h"
#include "store/evpack.h"
#include "store/evtab.h"

#include <stdlib.h>
#include <string.h>

static void round_trip(const uint8_t *rec)
{
    struct src_row a, b;
    uint8_t again[EV_RECORD];
    ev_unpack(rec, &a);
    ev_pack(again, &a);
    ev_unpack(again, &b);
    if (memcmp(&a, &b, sizeof a) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    for (size_t i = 1; i + EV_RECORD <= size; i += EV_RECORD)
        round_trip(data + i);
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    struct src_row r = {0};
    ev_ports_parse(text, &r);
    (void)ev_mask_parse(text, FP_COUNT, ev_fp_name);
    char out[96];
    ev_ports_text(&r, out, sizeof out);
    free(text);

    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 0;
    if (ev_table_register(db) == SQLITE_OK &&
        sqlite3_exec(db, ev_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        sqlite3_exec(db,
                     "CREATE TABLE event_blocks(id INTEGER PRIMARY KEY, window_start, window_end,"
                     " n, ip_lo, ip_hi, records); CREATE TABLE as_names(asn, name)",
                     NULL, NULL, NULL);
    if (sqlite3_prepare_v2(db, "INSERT INTO event_blocks VALUES(1, 0, 60, ?, ?, ?, ?)", -1, &st,
                           NULL) == SQLITE_OK) {
        size_t body = size - 1;
        sqlite3_bind_int64(st, 1, data[0] == 255 ? -1 : (int64_t)data[0]);
        sqlite3_bind_blob(st, 2, data + 1, body < 16 ? (int)body : 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, data + 1, body < 16 ? (int)body : 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, data + 1, (int)body, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    char ip[IP_STRLEN] = "198.18.0.1";
    if (size >= 17) {
        struct ipaddr a;
        memcpy(a.b, data + 1, 16);
        ip_format(&a, ip);
    }
    const char *q[] = {"SELECT * FROM mamori_events", "SELECT * FROM mamori_events WHERE ip = ?",
                       "SELECT * FROM mamori_events(0, 60) WHERE ip IN ('::1', ?)"};
    for (size_t k = 0; k < sizeof q / sizeof q[0]; k++) {
        if (sqlite3_prepare_v2(db, q[k], -1, &st, NULL) != SQLITE_OK) continue;
        sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
        for (int rows = 0; rows < 100000 && sqlite3_step(st) == SQLITE_ROW; rows++)
            for (int c = 0; c < sqlite3_column_count(st); c++)
                (void)sqlite3_column_text(st, c);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return 0;
}
