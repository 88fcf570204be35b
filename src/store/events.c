/* events — per-source event windows in packed blocks.
 *
 * An event window's sources are sorted by address and cut into blocks of up
 * to EV_BLOCK_RECORDS records (evpack.c's layout); each block is one row of
 * event_blocks holding its window, its record count, its lowest and highest
 * address and the records as one BLOB.  Finding one address reads the index
 * on (ip_lo, ip_hi), then a binary search inside each block whose range holds
 * it (incremental blob reads: a few records, not the 5.8 MB block).  Windows
 * go whole as the rows did: --replace deletes a window's blocks together
 * (store.c), and the blocks are written inside the interval's transaction, so
 * a crash loses no committed window and keeps no part of one.  AS names,
 * the same for every source of an AS, are stored once in as_names.
 * The mamori_events virtual table (evtab.c) shows the blocks as rows again. */
#include "events.h"
#include "../core/err.h"
#include "evpack.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
const char ev_schema_sql[] =
    "CREATE TABLE event_blocks(id INTEGER PRIMARY KEY, window_start INTEGER NOT NULL,"
    " window_end INTEGER NOT NULL, n INTEGER NOT NULL, ip_lo BLOB NOT NULL, ip_hi BLOB NOT NULL,"
    " records BLOB NOT NULL);"
    "CREATE INDEX event_blocks_window ON event_blocks(window_end, window_start);"
    "CREATE INDEX event_blocks_ip ON event_blocks(ip_lo, ip_hi);"
    "CREATE TABLE as_names(asn INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "INSERT OR IGNORE INTO as_names SELECT asn, max(name) FROM asn_stats"
    " WHERE asn > 0 AND name <> '' GROUP BY asn;";
/* clang-format on */

static int ev_db_err(const struct ev_writer *w, const char *what)
{
    return err_set(-EIO, "%s: %s: %s", w->path, what, sqlite3_errmsg(w->db));
}

int ev_writer_init(struct ev_writer *w, sqlite3 *db, const char *path)
{
    *w = (struct ev_writer){.db = db, .path = path};
    if (sqlite3_prepare_v3(db,
                           "INSERT INTO event_blocks(window_start, window_end, n, ip_lo, ip_hi,"
                           " records) VALUES(?, ?, ?, ?, ?, ?)",
                           -1, SQLITE_PREPARE_PERSISTENT, &w->ins_block, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(db, "INSERT OR REPLACE INTO as_names VALUES(?, ?)", -1,
                           SQLITE_PREPARE_PERSISTENT, &w->ins_name, NULL) != SQLITE_OK)
        return ev_db_err(w, "prepare");
    return 0;
}

void ev_writer_free(struct ev_writer *w)
{
    sqlite3_finalize(w->ins_block);
    sqlite3_finalize(w->ins_name);
    free(w->asns);
    free(w->buf);
    *w = (struct ev_writer){0};
}

/* true when asn was not in the set yet (and is now) */
static int asn_add(struct ev_writer *w, uint32_t asn)
{
    if (w->n * 2 >= w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 1024;
        uint32_t *t = calloc(ncap, sizeof *t);
        if (!t) return -ENOMEM;
        for (size_t i = 0; i < w->cap; i++) {
            if (!w->asns[i]) continue;
            size_t j = hash_mix64(w->asns[i]) & (ncap - 1);
            while (t[j])
                j = (j + 1) & (ncap - 1);
            t[j] = w->asns[i];
        }
        free(w->asns);
        w->asns = t;
        w->cap = ncap;
    }
    size_t j = hash_mix64(asn) & (w->cap - 1);
    while (w->asns[j] && w->asns[j] != asn)
        j = (j + 1) & (w->cap - 1);
    if (w->asns[j]) return 0;
    w->asns[j] = asn;
    w->n++;
    return 1;
}

static bool asn_has(const struct ev_writer *w, uint32_t asn)
{
    if (!w->cap) return false;
    size_t j = hash_mix64(asn) & (w->cap - 1);
    while (w->asns[j] && w->asns[j] != asn)
        j = (j + 1) & (w->cap - 1);
    return w->asns[j] != 0;
}

static int put_names(struct ev_writer *w, const struct src_row *rows, size_t n)
{
    uint32_t last = 0; /* neighbours often share an AS: skip the probe */
    for (size_t i = 0; i < n; i++) {
        const struct src_row *r = &rows[i];
        /* an AS already stored is known without reading its name (a miss
         * into the geo data for nearly every source) */
        if (!r->asn || r->asn == last || !r->as_name || asn_has(w, r->asn)) continue;
        if (!r->as_name[0]) continue;
        last = r->asn;
        int fresh = asn_add(w, r->asn);
        if (fresh < 0) return err_set(-ENOMEM, "%s: out of memory", w->path);
        if (!fresh) continue;
        sqlite3_bind_int64(w->ins_name, 1, r->asn);
        sqlite3_bind_text(w->ins_name, 2, r->as_name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(w->ins_name);
        sqlite3_reset(w->ins_name);
        if (rc != SQLITE_DONE) return ev_db_err(w, "insert AS name");
    }
    return 0;
}

static int put_block(struct ev_writer *w, int64_t from, int64_t to, size_t n)
{
    sqlite3_stmt *st = w->ins_block;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int64(st, 3, (int64_t)n);
    sqlite3_bind_blob(st, 4, ev_ip(w->buf), 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, ev_ip(w->buf + (n - 1) * EV_RECORD), 16, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 6, w->buf, n * EV_RECORD, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : ev_db_err(w, "insert event block");
}

int ev_write_window(struct ev_writer *w, int64_t from, int64_t to, const struct src_row *rows,
                    size_t n)
{
    if (!n) return 0;
    if (!w->buf && !(w->buf = malloc((size_t)EV_BLOCK_RECORDS * EV_RECORD)))
        return err_set(-ENOMEM, "%s: out of memory", w->path);
    uint32_t *order = ev_order(rows, n);
    if (!order) return err_set(-ENOMEM, "%s: out of memory", w->path);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += EV_BLOCK_RECORDS) {
        size_t k = n - i < EV_BLOCK_RECORDS ? n - i : EV_BLOCK_RECORDS;
        for (size_t j = 0; j < k; j++) { /* a gather: fetch ahead, or it waits on memory */
            if (i + j + 16 < n) {
                __builtin_prefetch(&rows[order[i + j + 16]]);
                __builtin_prefetch((const char *)&rows[order[i + j + 16]] + 64);
            }
            ev_pack(w->buf + j * EV_RECORD, &rows[order[i + j]]);
        }
        rc = put_block(w, from, to, k);
    }
    free(order);
    if (rc == 0) rc = put_names(w, rows, n);
    return rc;
}

/* One window's rows of the old table, as src_rows. */
struct window_rows {
    int64_t from, to;
    struct src_row *rows;
    size_t n, cap;
};

static int row_from_old(sqlite3_stmt *st, struct src_row *r, const char *path)
{
    *r = (struct src_row){0};
    const char *ip = (const char *)sqlite3_column_text(st, 2);
    if (!ip || ip_parse(ip, &r->ip) < 0)
        return err_set(-EINVAL, "%s: source_events row %lld: bad address '%s'", path,
                       (long long)sqlite3_column_int64(st, 14), ip ? ip : "");
    r->first_us = sqlite3_column_int64(st, 3);
    r->last_us = sqlite3_column_int64(st, 4);
    r->packets = (uint64_t)sqlite3_column_int64(st, 5);
    r->bytes = (uint64_t)sqlite3_column_int64(st, 6);
    ev_ports_parse((const char *)sqlite3_column_text(st, 7), r);
    r->fpmask = ev_mask_parse((const char *)sqlite3_column_text(st, 8), FP_COUNT, ev_fp_name);
    r->clsmask = ev_mask_parse((const char *)sqlite3_column_text(st, 9), CLS_COUNT, ev_class_name);
    const char *cc = (const char *)sqlite3_column_text(st, 10);
    if (cc && cc[0]) {
        r->cc[0] = cc[0];
        r->cc[1] = cc[1];
    }
    r->asn = (uint32_t)sqlite3_column_int64(st, 11);
    if (sqlite3_column_type(st, 12) != SQLITE_NULL && sqlite3_column_type(st, 13) != SQLITE_NULL) {
        r->has_loc = 1;
        r->lat = (float)sqlite3_column_double(st, 12);
        r->lon = (float)sqlite3_column_double(st, 13);
    }
    return 0;
}

/* The step from one row per source per window (schema 3) to blocks: each
 * window's rows become its blocks, in the order of their ids, and the old
 * table goes.  Runs inside the migration's transaction. */
int ev_migrate_rows(sqlite3 *db, const char *path)
{
    struct ev_writer w;
    sqlite3_stmt *st = NULL;
    struct window_rows win = {0};
    int rc = ev_writer_init(&w, db, path);
    if (rc == 0 && sqlite3_prepare_v2(db,
                                      "SELECT window_start, window_end, ip, first_seen_us,"
                                      " last_seen_us, packets, bytes, ports, fingerprints, classes,"
                                      " cc, asn, lat, lon, id FROM source_events"
                                      " ORDER BY window_start, window_end, id",
                                      -1, &st, NULL) != SQLITE_OK)
        rc = ev_db_err(&w, "migrate source_events");
    int step = SQLITE_ROW;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t from = sqlite3_column_int64(st, 0), to = sqlite3_column_int64(st, 1);
        if (win.n && (from != win.from || to != win.to)) {
            rc = ev_write_window(&w, win.from, win.to, win.rows, win.n);
            win.n = 0;
        }
        win.from = from;
        win.to = to;
        if (rc == 0 && win.n == win.cap) {
            size_t ncap = win.cap ? win.cap * 2 : 4096;
            struct src_row *g = realloc(win.rows, ncap * sizeof *g);
            if (!g)
                rc = err_set(-ENOMEM, "%s: out of memory", path);
            else {
                win.rows = g;
                win.cap = ncap;
            }
        }
        if (rc == 0) rc = row_from_old(st, &win.rows[win.n++], path);
    }
    if (rc == 0 && step != SQLITE_DONE) rc = ev_db_err(&w, "migrate source_events");
    if (rc == 0) rc = ev_write_window(&w, win.from, win.to, win.rows, win.n);
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_exec(db, "DROP TABLE source_events", NULL, NULL, NULL) != SQLITE_OK)
        rc = ev_db_err(&w, "migrate source_events");
    free(win.rows);
    ev_writer_free(&w);
    return rc;
}
