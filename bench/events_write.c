/* bench/events_write — what storing one event window of per-source events
 * costs: packed blocks (store's events.c, as observe writes them) against the
 * baseline, one row per source in a source_events table with its two indexes
 * (schema 3's writer: text fields, address text order).  The rows come from
 * the biggest window of a database observe wrote (bench/observe's obs.db).
 * Prints CPU and wall seconds of each, in one transaction with the WAL
 * checkpoint its commit triggers (shown apart), and the ratio.
 * Usage: bench/events_write OBS.DB SCRATCH_DIR [packed]  (packed: skip the baseline) */
#include "core/err.h"
#include "store/events.h"
#include "store/evpack.h"
#include "store/evtab.h"
#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int load(const char *path, struct src_row **out, size_t *n, int64_t *from, int64_t *to)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        ev_table_register(db) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "WITH w AS (SELECT window_start, window_end FROM mamori_events"
                           " GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1)"
                           " SELECT e.window_start, e.window_end, ip, first_seen_us, last_seen_us,"
                           " packets, bytes, ports, fingerprints, classes, cc, asn, lat, lon"
                           " FROM mamori_events e, w WHERE e.window_start = w.window_start"
                           " AND e.window_end = w.window_end",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "events_write: %s: %s\n", path, sqlite3_errmsg(db));
        return -1;
    }
    size_t cap = 1 << 20;
    struct src_row *r = malloc(cap * sizeof *r);
    *n = 0;
    while (r && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) r = realloc(r, (cap *= 2) * sizeof *r);
        if (!r) break;
        struct src_row *x = &r[(*n)++];
        memset(x, 0, sizeof *x);
        *from = sqlite3_column_int64(st, 0);
        *to = sqlite3_column_int64(st, 1);
        ip_parse((const char *)sqlite3_column_text(st, 2), &x->ip);
        x->first_us = sqlite3_column_int64(st, 3);
        x->last_us = sqlite3_column_int64(st, 4);
        x->packets = (uint64_t)sqlite3_column_int64(st, 5);
        x->bytes = (uint64_t)sqlite3_column_int64(st, 6);
        ev_ports_parse((const char *)sqlite3_column_text(st, 7), x);
        x->fpmask = ev_mask_parse((const char *)sqlite3_column_text(st, 8), FP_COUNT, ev_fp_name);
        x->clsmask =
            ev_mask_parse((const char *)sqlite3_column_text(st, 9), CLS_COUNT, ev_class_name);
        const char *cc = (const char *)sqlite3_column_text(st, 10);
        if (cc) memcpy(x->cc, cc, 2);
        x->asn = (uint32_t)sqlite3_column_int64(st, 11);
        x->has_loc = sqlite3_column_type(st, 12) != SQLITE_NULL;
        x->lat = (float)sqlite3_column_double(st, 12);
        x->lon = (float)sqlite3_column_double(st, 13);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* in the aggregator's order (a hash table), not the address order read here */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = *n; r && i > 1; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = x % i;
        struct src_row t = r[i - 1];
        r[i - 1] = r[j];
        r[j] = t;
    }
    *out = r;
    return r ? 0 : -1;
}

static sqlite3 *scratch(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (const char *sfx = ""; sfx; sfx = !*sfx ? "-wal" : sfx[1] == 'w' ? "-shm" : NULL) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, sfx);
        remove(p);
    }
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) return NULL;
    /* the checkpoint its commit would run is timed apart (checkpoint()) */
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768;"
                 " PRAGMA wal_autocheckpoint=0",
                 NULL, NULL, NULL);
    return db;
}

/* CPU seconds of copying the WAL into the database, as the commit's
 * autocheckpoint does in observe's writer */
static double checkpoint(sqlite3 *db)
{
    double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL);
    return now(CLOCK_PROCESS_CPUTIME_ID) - c0;
}

struct key {
    char ip[IP_STRLEN];
    const struct src_row *row;
};

static int by_text(const void *a, const void *b)
{
    return strcmp(((const struct key *)a)->ip, ((const struct key *)b)->ip);
}

/* schema 3's write_events_table(), as it was */
static int rows_write(sqlite3 *db, int64_t from, int64_t to, const struct src_row *r, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO source_events(window_start,window_end,ip,first_seen_us,"
                           "last_seen_us,packets,bytes,ports,fingerprints,classes,cc,asn,lat,lon)"
                           " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    struct key *k = malloc(n * sizeof *k);
    for (size_t i = 0; i < n; i++) {
        ip_format(&r[i].ip, k[i].ip);
        k[i].row = &r[i];
    }
    qsort(k, n, sizeof *k, by_text);
    char ports[64], fps[64], cls[80];
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct src_row *w = k[i].row;
        ev_ports_text(w, ports, sizeof ports);
        ev_mask_text(w->fpmask, FP_COUNT, ev_fp_name, fps, sizeof fps);
        ev_mask_text(w->clsmask, CLS_COUNT, ev_class_name, cls, sizeof cls);
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, to);
        sqlite3_bind_text(st, 3, k[i].ip, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, w->first_us);
        sqlite3_bind_int64(st, 5, w->last_us);
        sqlite3_bind_int64(st, 6, (int64_t)w->packets);
        sqlite3_bind_int64(st, 7, (int64_t)w->bytes);
        sqlite3_bind_text(st, 8, ports, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, fps, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, cls, -1, SQLITE_STATIC);
        if (w->cc[0]) sqlite3_bind_text(st, 11, w->cc, 2, SQLITE_STATIC);
        if (w->asn) sqlite3_bind_int64(st, 12, w->asn);
        if (w->has_loc) {
            sqlite3_bind_double(st, 13, w->lat);
            sqlite3_bind_double(st, 14, w->lon);
        }
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    free(k);
    sqlite3_finalize(st);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "packed"))) {
        fprintf(stderr, "usage: events_write OBS.DB SCRATCH_DIR [packed]\n");
        return 2;
    }
    struct src_row *r;
    size_t n;
    int64_t from = 0, to = 0;
    if (load(argv[1], &r, &n, &from, &to) < 0) return 1;

    sqlite3 *db = scratch(argv[2], "packed.db");
    struct ev_writer w;
    if (!db || store_migrate(db, "packed.db") < 0 || ev_writer_init(&w, db, "packed.db") < 0) {
        fprintf(stderr, "events_write: %s\n", err_msg());
        return 1;
    }
    double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    int rc = ev_write_window(&w, from, to, r, n);
    double put = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double pck = checkpoint(db);
    double pc = now(CLOCK_PROCESS_CPUTIME_ID) - c0, pw = now(CLOCK_MONOTONIC) - w0;
    ev_writer_free(&w);
    sqlite3_close(db);
    if (rc < 0) {
        fprintf(stderr, "events_write: %s\n", err_msg());
        return 1;
    }

    double rcpu = 0, rw = 0;
    if (argc == 4) goto done;
    db = scratch(argv[2], "rows.db");
    sqlite3_exec(db,
                 "CREATE TABLE source_events(id INTEGER PRIMARY KEY, window_start INTEGER NOT NULL,"
                 " window_end INTEGER NOT NULL, ip TEXT NOT NULL, first_seen_us INTEGER,"
                 " last_seen_us INTEGER, packets INTEGER, bytes INTEGER, ports TEXT,"
                 " fingerprints TEXT, classes TEXT, cc TEXT, asn INTEGER, lat REAL, lon REAL);"
                 "CREATE INDEX source_events_window ON source_events(window_end);"
                 "CREATE INDEX source_events_ip ON source_events(ip);",
                 NULL, NULL, NULL);
    c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    w0 = now(CLOCK_MONOTONIC);
    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    rc = rows_write(db, from, to, r, n);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double rck = checkpoint(db);
    rcpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    rw = now(CLOCK_MONOTONIC) - w0;
    sqlite3_close(db);
    if (rc < 0) return 1;
done:
    free(r);
    printf("bench/events_write  %zu sources in one event window\n", n);
    printf("%-44s %10s %10s\n", "writer", "CPU s", "wall s");
    printf("%-44s %10.3f %10.3f\n", "packed blocks (schema 4)", pc, pw);
    printf("%-44s %10.3f\n", "  of which sorting, packing, inserting", put);
    printf("%-44s %10.3f\n", "  of which the WAL checkpoint", pck);
    if (rcpu > 0) {
        printf("%-44s %10.3f %10.3f\n", "one row per source (schema 3, baseline)", rcpu, rw);
        printf("%-44s %10.3f\n", "  of which the WAL checkpoint", rck);
        printf("packed / rows CPU  %.2fx\n", pc / rcpu);
    }
    printf("packed CPU before the checkpoint %.3f s   target ~0.3 s per 10M packets: %s\n",
           pc - pck, pc - pck <= 0.35 ? "meets" : "MISSES");
    return 0;
}
