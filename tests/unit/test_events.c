/* Per-source events written as blocks and read back through mamori_events:
 * a window of 150,000 sources (IPv4 and IPv6, some addresses twice) becomes
 * three blocks in address order whose [ip_lo, ip_hi] ranges do not overlap;
 * every source comes back once with its fields; one address and an IN list
 * find exactly their rows; the window bounds select whole windows. */
#include "store/events.h"
#include "store/evpack.h"
#include "store/migrate.h"
#include "store/sqlfn.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

enum { N = 150000 };

static struct src_row *make_rows(void)
{
    struct src_row *r = calloc(N, sizeof *r);
    uint64_t x = 7;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (i % 100 == 0) {
            uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
            memcpy(b + 8, &x, 8);
            ip_from_v6(&r[i].ip, b);
        } else if (i % 1000 == 1) {
            r[i].ip = r[i - 1].ip; /* the same address twice in a window */
        } else {
            ip_from_v4(&r[i].ip, (uint32_t)(x >> 16));
        }
        r[i].first_us = 1000000 * 60 + (int64_t)i;
        r[i].last_us = r[i].first_us + 5;
        r[i].packets = i + 1;
        r[i].bytes = 60 * (i + 1);
        r[i].ports[0] = (uint16_t)i;
        r[i].nports = 1;
        r[i].clsmask = 1u << CLS_UDP;
    }
    return r;
}

static int64_t one(sqlite3 *db, const char *sql, const char *text)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (text) sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void blocks_and_lookups(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(store_migrate(db, ":memory:"), 0);
    assert_int_equal(store_sql_register(db), 0);
    struct ev_writer w;
    assert_int_equal(ev_writer_init(&w, db, ":memory:"), 0);
    struct src_row *rows = make_rows();
    assert_int_equal(ev_write_window(&w, 60, 120, rows, N), 0);
    assert_int_equal(ev_write_window(&w, 120, 180, rows, 10), 0); /* a second window */
    ev_writer_free(&w);

    assert_int_equal(one(db, "SELECT count(*) FROM event_blocks WHERE window_start = 60", NULL), 3);
    assert_int_equal(one(db,
                         "SELECT count(*) FROM event_blocks a, event_blocks b WHERE a.id < b.id"
                         " AND a.window_start = 60 AND b.window_start = 60 AND a.ip_hi > b.ip_lo",
                         NULL),
                     0); /* blocks of a window: increasing, disjoint ranges */
    assert_int_equal(one(db, "SELECT count(*) FROM mamori_events WHERE window_start = 60", NULL),
                     N);
    assert_int_equal(one(db, "SELECT sum(packets) FROM mamori_events(60, 120)", NULL),
                     (int64_t)N * (N + 1) / 2);
    assert_int_equal(one(db, "SELECT count(*) FROM mamori_events(120, 180)", NULL), 10);
    assert_int_equal(one(db, "SELECT count(*) FROM mamori_events WHERE window_end > 120", NULL),
                     10);

    for (size_t i = 0; i < N; i += 4999) { /* each sampled address: its rows, no other */
        char ip[IP_STRLEN];
        ip_format(&rows[i].ip, ip);
        int64_t want = 0, sum = 0;
        for (size_t j = 0; j < N; j++)
            if (!memcmp(&rows[j].ip, &rows[i].ip, 16)) want++, sum += (int64_t)rows[j].packets;
        assert_int_equal(one(db, "SELECT count(*) FROM mamori_events(60, 120) WHERE ip = ?", ip),
                         want);
        assert_int_equal(one(db,
                             "SELECT sum(packets) FROM mamori_events WHERE ip = ?1"
                             " AND window_start = 60",
                             ip),
                         sum);
        assert_int_equal(
            one(db,
                "SELECT sum(bytes) = 60 * sum(packets) AND count(*) = sum(CAST(ports AS INTEGER)"
                " = (packets - 1) % 65536 AND classes = 'udp' AND cc IS NULL AND lat IS NULL)"
                " FROM mamori_events WHERE ip = ?1 AND window_start = 60",
                ip),
            1);
    }
    char list[512];
    int o = snprintf(list, sizeof list,
                     "SELECT count(*) FROM mamori_events WHERE window_start = 60 AND ip IN (");
    int64_t want = 0;
    for (size_t i = 1; i < N; i += 15000) { /* i = 1, 15001, ...: some doubled, some IPv6 */
        char ip[IP_STRLEN];
        ip_format(&rows[i].ip, ip);
        o += snprintf(list + o, sizeof list - (size_t)o, "'%s',", ip);
        for (size_t j = 0; j < N; j++)
            want += !memcmp(&rows[j].ip, &rows[i].ip, 16);
    }
    snprintf(list + o, sizeof list - (size_t)o, "'not an address')");
    assert_int_equal(one(db, list, NULL), want);
    free(rows);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_and_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
