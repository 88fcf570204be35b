/* store — SQLite schema, migrations and interval writer (see store.h). */
#include "store_int.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "baselines.h"
#include "ckpt.h"
#include "events.h"
#include "evpack.h"
#include "migrate.h"
#include "rollup.h"
#include "sqlfn.h"
#include "stats.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct store {
    sqlite3 *db;
    char path[PATH_MAX];
    struct rollup *rollup; /* the hour and day in memory (writers only) */
    sqlite3_stmt *ins_interval, *ins_isketch, *ins_stats, *ins_top, *ins_alert, *ins_dos;
    struct ev_writer events; /* per-source event windows, packed (events.c) */
    int64_t base_id, base_event_id; /* newest rows of earlier runs, at open */
    enum store_overlap_mode overlap;
    int64_t tolerance_us; /* reordering allowed at the seam with earlier runs */
    struct ckpt *ckpt;    /* checkpoints off the writing thread, when asked (ckpt.h) */
};

static int db_err(struct store *s, const char *what)
{
    return err_set(-EIO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static int mkdir_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(dir, 0755);
        *p = '/';
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(-errno, "%s: cannot create directory %s: %s", path, dir, strerror(errno));
    return 0;
}

static int prepare(struct store *s, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_err(s, "prepare");
    return 0;
}

static int prepare_writers(struct store *s)
{
    const char *sql[] = {
        ("INSERT INTO intervals(start,end,packets,bytes,malformed,non_ip,outside,iot_packets,"
         "late,bad_time,tcp_syn,backscatter,udp,icmp_request,other,sources,first_us,last_us)"
         " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"),
        "INSERT INTO interval_sketches VALUES(?,?)",
        "INSERT INTO interval_stats VALUES(?,?)",
        "INSERT INTO top_sources VALUES(?,?,?,?,?,?,?,?,?,?)",
        "INSERT INTO alerts(interval_id,kind,proto,port,at,sources,baseline) VALUES(?,?,?,?,?,?,?)",
        ("INSERT INTO dos(interval_id,target,proto,packets,bytes,peak_60s,attackers,ports,"
         "start_us,end_us) VALUES(?,?,?,?,?,?,?,?,?,?)")};
    sqlite3_stmt **dst[] = {&s->ins_interval, &s->ins_isketch, &s->ins_stats,
                            &s->ins_top,      &s->ins_alert,   &s->ins_dos};
    for (size_t i = 0; i < sizeof dst / sizeof dst[0]; i++)
        if (prepare(s, dst[i], sql[i]) < 0) return -EIO;
    return ev_writer_init(&s->events, s->db, s->path);
}

static int base_ids(struct store *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT coalesce(max(id), 0) FROM intervals),"
                           " (SELECT coalesce(max(id), 0) FROM event_blocks)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(s, "open");
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : db_err(s, "open");
    s->base_id = sqlite3_column_int64(st, 0);
    s->base_event_id = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    return rc;
}

struct store *store_open(const char *path, bool write)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    if (write && mkdir_parent(path) < 0) goto fail;
    int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        err_set(-EIO, "%s: cannot open database: %s", path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_extended_result_codes(s->db, 1);
    if (sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
        db_err(s, "not a database");
        goto fail;
    }
    if (write) {
        /* 16 KiB pages for a new file (an existing one keeps its own): the
         * data is mostly blobs of 100 KiB to 4 MiB (stats, packed events), and
         * a WAL frame is two writes a page, so 4 KiB pages cost four times the
         * syscalls and overflow pages (writer CPU 1.3-1.45 -> 1.15-1.25 s on
         * the 10M capture).  synchronous=NORMAL keeps every commit across a
         * process kill; checkpoints sync. */
        if (sqlite3_exec(s->db,
                         "PRAGMA page_size=16384; PRAGMA journal_mode=WAL;"
                         " PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768",
                         NULL, NULL, NULL) != SQLITE_OK) {
            db_err(s, "cannot enable WAL");
            goto fail;
        }
        if (store_sql_register(s->db) < 0 || store_migrate(s->db, s->path) < 0 || prepare_writers(s) < 0 ||
            !(s->rollup = rollup_new(s->db, s->path)) ||
            base_ids(s) < 0)
            goto fail;
    } else {
        /* readers map the file: page reads become memory reads */
        sqlite3_exec(s->db, "PRAGMA mmap_size=1073741824", NULL, NULL, NULL);
        int version = store_schema_version(s->db);
        if (version > STORE_SCHEMA) { /* what observe says of it, too (migrate.c) */
            err_set(-EINVAL, "%s: schema version %d is newer than this mamori", path, version);
            goto fail;
        }
        if (version < 1) {
            err_set(-EINVAL, "%s: not a mamori database (run observe first)", path);
            goto fail;
        }
        if (store_sql_register(s->db) < 0) goto fail; /* the read API's aggregates */
    }
    return s;
fail:
    store_close(s);
    return NULL;
}

sqlite3 *store_db(struct store *s)
{
    return s->db;
}

int store_background_checkpoints(struct store *s)
{
    if (s->ckpt) return 0;
    return (s->ckpt = ckpt_start(s->db, s->path)) ? 0 : -EIO;
}

static int bind_sketch(sqlite3_stmt *st, int col, const struct sketch *sk)
{
    uint8_t *buf;
    size_t len;
    if (sketch_encode(sk, &buf, &len) < 0) return -ENOMEM;
    return sqlite3_bind_blob64(st, col, buf, len, free) == SQLITE_OK ? 0 : -EIO;
}

static int step(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, what);
}

/* The interval's per-key stats as one blob (stats.h): one insert instead of
 * one per port, fingerprint, country and ASN, each with its index updates.
 * The rows are folded into their hour's rollup (rollup.c) in the same pass. */
static int write_rows(struct store *s, const struct interval_rec *r, int64_t id)
{
    uint8_t *blob;
    size_t len;
    struct stats_acc *hour = rollup_hour(s->rollup, r, id);
    if (!hour) return -EIO;
    int rc = stats_encode_rec_fold(r, &blob, &len, hour);
    if (rc < 0) return rc;
    sqlite3_bind_int64(s->ins_stats, 1, id);
    sqlite3_bind_blob64(s->ins_stats, 2, blob, len, free);
    return step(s, s->ins_stats, "insert interval stats");
}

/* cc, asn, lat, lon at columns col..col+3; NULL where unknown. */
static void bind_geo(sqlite3_stmt *st, int col, const struct src_row *w)
{
    if (w->cc[0]) sqlite3_bind_text(st, col, w->cc, -1, SQLITE_STATIC);
    if (w->asn) sqlite3_bind_int64(st, col + 1, w->asn);
    if (w->has_loc) {
        sqlite3_bind_double(st, col + 2, w->lat);
        sqlite3_bind_double(st, col + 3, w->lon);
    }
}

static int write_top(struct store *s, const struct interval_rec *r, int64_t id)
{
    char ip[IP_STRLEN], ports[64], fps[64];
    int rc = 0;
    for (size_t i = 0; i < r->n_srcs && rc == 0; i++) {
        const struct src_row *w = &r->srcs[i];
        ev_ports_text(w, ports, sizeof ports);
        ev_mask_text(w->fpmask, FP_COUNT, ev_fp_name, fps, sizeof fps);
        sqlite3_stmt *st = s->ins_top;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, ip_format(&w->ip, ip), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (int64_t)w->packets);
        sqlite3_bind_int64(st, 4, (int64_t)w->bytes);
        sqlite3_bind_text(st, 5, ports, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, fps, -1, SQLITE_STATIC);
        bind_geo(st, 7, w);
        rc = step(s, st, "insert top source");
    }
    return rc;
}

static int write_events(struct store *s, const struct interval_rec *r, int64_t id)
{
    int rc = 0;
    char ip[IP_STRLEN];
    for (size_t i = 0; i < r->n_alerts && rc == 0; i++) {
        const struct alert_row *a = &r->alerts[i];
        sqlite3_stmt *st = s->ins_alert;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, a->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, proto_name(a->proto), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, a->port);
        sqlite3_bind_int64(st, 5, a->at);
        sqlite3_bind_int64(st, 6, (int64_t)a->sources);
        sqlite3_bind_double(st, 7, a->baseline);
        rc = step(s, st, "insert alert");
    }
    for (size_t i = 0; i < r->n_dos && rc == 0; i++) {
        const struct dos_row *d = &r->dos[i];
        sqlite3_stmt *st = s->ins_dos;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, ip_format(&d->target, ip), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, proto_name(d->proto), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (int64_t)d->packets);
        sqlite3_bind_int64(st, 5, (int64_t)d->bytes);
        sqlite3_bind_int64(st, 6, d->peak_60s);
        sqlite3_bind_int64(st, 7, d->attackers);
        sqlite3_bind_int64(st, 8, d->ports);
        sqlite3_bind_int64(st, 9, d->start_us);
        sqlite3_bind_int64(st, 10, d->end_us);
        rc = step(s, st, "insert DoS victim");
    }
    return rc;
}

/* Stored intervals (of earlier runs: id <= base_id) holding packets in
 * [?1, ?2] µs.  An interval lasts at most a day, which bounds the index scan. */
#define OVERLAP_WHERE                                                                              \
    " FROM intervals WHERE id <= ?3 AND start <= ?2 / 1000000 AND start >= ?1 / 1000000 - 86400"   \
    " AND last_us >= ?1 AND first_us <= ?2"

int store_overlap(struct store *s, int64_t from_us, int64_t to_us, int64_t *first_us,
                  int64_t *last_us)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*), min(first_us), max(last_us)" OVERLAP_WHERE, -1,
                           &st, NULL) != SQLITE_OK)
        return db_err(s, "overlap");
    sqlite3_bind_int64(st, 1, from_us);
    sqlite3_bind_int64(st, 2, to_us);
    sqlite3_bind_int64(st, 3, s->base_id);
    int n = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int(st, 0);
        *first_us = sqlite3_column_int64(st, 1);
        *last_us = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return n < 0 ? db_err(s, "overlap") : n;
}

int store_newest_time(struct store *s, int64_t before_us, int64_t *last_us)
{
    sqlite3_stmt *st; /* by the start index: an interval lasts at most a day */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT coalesce(max(last_us), -1) FROM intervals WHERE id <= ?2"
                           " AND last_us <= ?1 AND start >= (SELECT max(start) FROM intervals"
                           " WHERE id <= ?2 AND start <= ?1 / 1000000) - 86400",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(s, "newest time");
    sqlite3_bind_int64(st, 1, before_us);
    sqlite3_bind_int64(st, 2, s->base_id);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : db_err(s, "newest time");
    *last_us = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

static void bind_range(struct store *s, sqlite3_stmt *st, int64_t from_us, int64_t to_us)
{
    for (int p = 1; p <= sqlite3_bind_parameter_count(st); p++) {
        const char *name = sqlite3_bind_parameter_name(st, p);
        int k = name ? atoi(name + 1) : p;
        sqlite3_bind_int64(st, p,
                           k == 1   ? from_us
                           : k == 2 ? to_us
                           : k == 3 ? s->base_id
                           : k == 4 ? s->base_event_id
                                    : 0);
    }
}

int store_replace_loss(struct store *s, const int64_t (*cover)[2], size_t n, int64_t tolerance_us,
                       int64_t *first_us, int64_t *last_us)
{
    /* temp.cover: the input's ranges, c.f .. c.l; store_replace_range() is
     * called with [f + tolerance, l] for each.  What it deletes touches
     * the stored intervals (earlier runs, holding packets) it deletes, those
     * whose start lies in a per-source event window it deletes, and those
     * overlapping a DoS victim it deletes: a touched interval whose packets
     * the input does not cover is a loss. */
    static const char *const sql =
        "WITH r(f, l) AS (SELECT min(f + ?5, l), l FROM temp.cover),"
        " d(id) AS (SELECT i.id FROM intervals i, r WHERE i.id <= ?3"
        "  AND i.start <= r.l / 1000000 AND i.start >= r.f / 1000000 - 86400"
        "  AND i.last_us >= r.f AND i.first_us <= r.l),"
        " w(ws, we) AS (SELECT DISTINCT e.window_start, e.window_end FROM event_blocks e, r"
        "  WHERE e.id <= ?4 AND e.window_start <= r.l / 1000000 AND e.window_end > r.f / 1000000),"
        " x(s, e) AS (SELECT start_us, end_us FROM dos WHERE interval_id IN (SELECT id FROM d)"
        "  OR EXISTS (SELECT 1 FROM r WHERE start_us >= r.f AND start_us <= r.l)),"
        " t(id) AS (SELECT id FROM d UNION SELECT i.id FROM intervals i, w WHERE i.id <= ?3"
        "  AND i.first_us IS NOT NULL AND i.start >= w.ws AND i.start < w.we"
        "  UNION SELECT i.id FROM intervals i, x WHERE i.id <= ?3 AND i.first_us IS NOT NULL"
        "  AND i.start <= x.e / 1000000 AND i.start >= x.s / 1000000 - 86400"
        "  AND i.last_us >= x.s AND i.first_us <= x.e)"
        " SELECT count(*), min(i.first_us), max(i.last_us) FROM intervals i"
        " WHERE i.id IN (SELECT id FROM t) AND NOT EXISTS (SELECT 1 FROM temp.cover c"
        "  WHERE i.first_us >= c.f - ?5 AND i.last_us <= c.l + ?5)";
    sqlite3_stmt *st = NULL;
    int n_lost = -1;
    if (sqlite3_exec(s->db,
                     "CREATE TEMP TABLE IF NOT EXISTS cover(f INTEGER, l INTEGER);"
                     "DELETE FROM temp.cover",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT INTO temp.cover VALUES(?, ?)", -1, &st, NULL) !=
            SQLITE_OK)
        return db_err(s, "replace");
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, cover[i][0]);
        sqlite3_bind_int64(st, 2, cover[i][1]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            return db_err(s, "replace");
        }
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return db_err(s, "replace");
    bind_range(s, st, 0, 0);
    sqlite3_bind_int64(st, 5, tolerance_us);
    if (sqlite3_step(st) == SQLITE_ROW) {
        n_lost = sqlite3_column_int(st, 0);
        *first_us = sqlite3_column_int64(st, 1);
        *last_us = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return n_lost < 0 ? db_err(s, "replace") : n_lost;
}

/* Deletes the earlier intervals holding packets in [from, to] with every row
 * derived from them; the rollups of their hours and days are marked stale
 * (readers then use the raw rows), and source events of windows overlapping
 * the range go too (a window can hold no more than the intervals it folds). */
static int delete_range(struct store *s, int64_t from_us, int64_t to_us)
{
    /* clang-format off */
    static const char *const sql[] = {
        "CREATE TEMP TABLE IF NOT EXISTS doomed(id INTEGER PRIMARY KEY, start INTEGER)",
        "DELETE FROM temp.doomed",
        "INSERT INTO temp.doomed SELECT id, start" OVERLAP_WHERE,
        "DELETE FROM interval_sketches WHERE interval_id IN (SELECT id FROM temp.doomed)",
        "DELETE FROM interval_stats WHERE interval_id IN (SELECT id FROM temp.doomed)",
        "DELETE FROM top_sources WHERE interval_id IN (SELECT id FROM temp.doomed)",
        "DELETE FROM alerts WHERE interval_id IN (SELECT id FROM temp.doomed)",
        "DELETE FROM dos WHERE interval_id IN (SELECT id FROM temp.doomed)"
        " OR (start_us >= ?1 AND start_us <= ?2)", /* reported after the range, started in it */
        "DELETE FROM stats_rollups WHERE (res = 3600 AND bucket IN"
        " (SELECT start - start % 3600 FROM temp.doomed)) OR (res = 86400 AND bucket IN"
        " (SELECT start - start % 86400 FROM temp.doomed))",
        "DELETE FROM rollup_buckets WHERE (res = 3600 AND bucket IN"
        " (SELECT start - start % 3600 FROM temp.doomed)) OR (res = 86400 AND bucket IN"
        " (SELECT start - start % 86400 FROM temp.doomed))",
        "DELETE FROM event_blocks WHERE id <= ?4 AND window_start <= ?2 / 1000000"
        " AND window_end > ?1 / 1000000",
        "DELETE FROM intervals WHERE id IN (SELECT id FROM temp.doomed)",
    };
    /* clang-format on */
    if (s->rollup) rollup_invalidate(s->rollup); /* its hour or day may lose intervals */
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) != SQLITE_OK)
            return db_err(s, "replace");
        bind_range(s, st, from_us, to_us);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return db_err(s, "replace");
    }
    return 0;
}

int store_replace_range(struct store *s, int64_t from_us, int64_t to_us)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(s, "begin");
    int rc = delete_range(s, from_us, to_us);
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(s, "commit");
    if (rc < 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

void store_set_overlap(struct store *s, enum store_overlap_mode mode, int64_t tolerance_us)
{
    s->overlap = mode;
    s->tolerance_us = tolerance_us;
}

/* Input read as a stream cannot be checked ahead: each interval is, before
 * it is written. */
static int overlap_guard(struct store *s, const struct interval_rec *r)
{
    int64_t from = r->first_us + s->tolerance_us, f = 0, l = 0;
    if (s->overlap == STORE_OVERLAP_ALLOW || r->first_us < 0) return 0;
    if (from > r->last_us) from = r->last_us; /* a short interval still overlaps at its last */
    int n = store_overlap(s, from, r->last_us, &f, &l); /* one indexed probe per interval */
    if (n <= 0) return n;
    char a[32], b[32], c[32], d[32];
    if (s->overlap == STORE_OVERLAP_REPLACE && f >= r->first_us - s->tolerance_us &&
        l <= r->last_us + s->tolerance_us)
        return delete_range(s, from, r->last_us);
    if (s->overlap == STORE_OVERLAP_REPLACE) /* intervals go whole: never what is not replaced */
        return err_set(-EEXIST,
                       "%s: --replace: packets from %s to %s would replace stored intervals "
                       "holding packets from %s to %s, and intervals are replaced whole; "
                       "stopped before writing them",
                       s->path, cli_iso_us(r->first_us, a), cli_iso_us(r->last_us, b),
                       cli_iso_us(f, c), cli_iso_us(l, d));
    return err_set(-EEXIST,
                   "%s: packets from %s on overlap what the database already holds from this "
                   "sensor (%s .. %s); stopped before writing them (--replace replaces them)",
                   s->path, cli_iso_us(r->first_us, a), cli_iso_us(f, b), cli_iso_us(l, c));
}

static int write_one(struct store *s, struct interval_rec *r, bool split, int64_t *id_out)
{
    sqlite3_stmt *st = s->ins_interval;
    int c = 1;
    sqlite3_bind_int64(st, c++, r->start);
    sqlite3_bind_int64(st, c++, r->end);
    uint64_t v[] = {r->packets, r->bytes,       r->malformed, r->non_ip,
                    r->outside, r->iot_packets, r->late,      r->bad_time};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        sqlite3_bind_int64(st, c++, (int64_t)v[i]);
    for (int k = 0; k < CLS_COUNT; k++)
        sqlite3_bind_int64(st, c++, (int64_t)r->cls[k]);
    sqlite3_bind_int64(st, c++, (int64_t)sketch_count(&r->sources));
    if (r->first_us >= 0) { /* NULL: no packets, nothing to overlap */
        sqlite3_bind_int64(st, c, r->first_us);
        sqlite3_bind_int64(st, c + 1, r->last_us);
    }
    int rc = overlap_guard(s, r);
    if (rc == 0) rc = step(s, st, "insert interval");
    int64_t id = sqlite3_last_insert_rowid(s->db);
    sqlite3_bind_int64(s->ins_isketch, 1, id);
    if (rc == 0) rc = bind_sketch(s->ins_isketch, 2, &r->sources);
    if (rc == 0) rc = step(s, s->ins_isketch, "insert interval sketch");
    if (rc == 0) rc = write_rows(s, r, id);
    if (rc == 0) rc = write_top(s, r, id);
    if (rc == 0) rc = ev_write_window(&s->events, r->events_from, r->end, r->events, r->n_events);
    if (rc == 0) rc = write_events(s, r, id);
    if (rc == 0) rc = split ? rollup_unmark(s->rollup, r) : rollup_folded(s->rollup, r);
    *id_out = id;
    return rc;
}

/* A batch of one interval that ends an event window (the window's packed
 * events: tens of MiB) commits before its rollups, which go in a second
 * transaction (the interval is folded into its hour in memory in the first,
 * as its stats blob is encoded): the checkpoint of the big commit then runs
 * beside the rollup's work instead of after it (most of the time to exit at
 * the end of a capture).  The interval's buckets lose their marks in the first, so after
 * a kill -9 between the two they are unmarked and read from their intervals
 * (rollup.c); a failure of the second leaves the interval stored, its buckets
 * unmarked, and is returned.  Only a batch of one: a later interval of the
 * batch, already committed, would be read into its hour again at a seam. */
int store_write_intervals(struct store *s, struct interval_rec **r, size_t n)
{
    bool split = n == 1 && r[0]->n_events > 0;
    int64_t id = 0;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(s, "begin");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = write_one(s, r[i], split, &id);
    }
    for (int t = 0; t < 1 + split && rc == 0; t++) {
        if (t && sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            rc = db_err(s, "begin"); /* and memory lacks the interval: invalidated below */
        if (t && rc == 0) rc = rollup_folded(s->rollup, r[0]);
        if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = db_err(s, "commit");
    }
    if (rc < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        rollup_invalidate(s->rollup); /* memory held what was rolled back */
    }
    return rc;
}

int store_write_interval(struct store *s, struct interval_rec *r)
{
    return store_write_intervals(s, &r, 1);
}

int store_write_samples(struct store *s, const struct live_sample *v, size_t n)
{
    if (!n) return 0;
    sqlite3_stmt *st;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(s, "begin");
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO live_samples(ts_us,src,lat,lon,cc,proto,port,class,"
                                "fingerprint) VALUES(?,?,?,?,?,?,?,?,?)",
                                -1, &st, NULL) == SQLITE_OK
                 ? 0
                 : db_err(s, "live samples");
    char ip[IP_STRLEN];
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, v[i].ts_us);
        sqlite3_bind_text(st, 2, ip_format(&v[i].src, ip), -1, SQLITE_STATIC);
        if (v[i].has_loc) {
            sqlite3_bind_double(st, 3, v[i].lat);
            sqlite3_bind_double(st, 4, v[i].lon);
        }
        if (v[i].cc[0]) sqlite3_bind_text(st, 5, v[i].cc, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, proto_name(v[i].proto), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, v[i].port);
        sqlite3_bind_text(st, 8, class_name((enum pkt_class)v[i].cls), -1, SQLITE_STATIC);
        if (v[i].fp >= 0)
            sqlite3_bind_text(st, 9, fingerprint_name((enum fingerprint)v[i].fp), -1,
                              SQLITE_STATIC);
        rc = step(s, st, "insert live sample");
    }
    sqlite3_finalize(st);
    /* a ring: the live view only ever wants the newest */
    if (rc == 0 && sqlite3_exec(s->db,
                                "DELETE FROM live_samples WHERE id <= (SELECT max(id) FROM "
                                "live_samples) - 2000",
                                NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(s, "trim live samples");
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(s, "commit");
    if (rc < 0) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_add_counter(struct store *s, const char *key, uint64_t delta)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO meta VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET"
                           " value = CAST(value AS INTEGER) + ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(s, "meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)delta);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, "meta");
    sqlite3_finalize(st);
    return rc;
}

int store_set_meta(struct store *s, const char *key, const char *value)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta VALUES(?,?)", -1, &st, NULL) !=
        SQLITE_OK)
        return db_err(s, "meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, "meta");
    sqlite3_finalize(st);
    return rc;
}

/* One blob per interval length (baselines.h, schema 7): baselines learned
 * with another interval length do not apply. */
int store_load_baselines(struct store *s, int64_t interval, struct baselines *out)
{
    sqlite3_stmt *st;
    *out = (struct baselines){0};
    if (sqlite3_prepare_v2(s->db, "SELECT intervals, state FROM surge_baselines WHERE interval = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(s, "surge state");
    sqlite3_bind_int64(st, 1, interval);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->intervals = sqlite3_column_int64(st, 0);
        const void *blob = sqlite3_column_blob(st, 1);
        int len = sqlite3_column_bytes(st, 1);
        rc = baselines_decode(blob ? blob : "", (size_t)len, out);
        if (rc < 0) { /* the message names the database (err_msg is the buffer err_set writes) */
            char why[256];
            snprintf(why, sizeof why, "%s", err_msg());
            err_set(rc, "%s: %s", s->path, why);
        } else {
            rc = 1;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int store_save_baselines(struct store *s, int64_t interval, const struct baselines *b)
{
    uint8_t *blob;
    size_t len;
    int rc = baselines_encode(b, &blob, &len);
    if (rc < 0) return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO surge_baselines VALUES(?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK) {
        free(blob);
        return db_err(s, "surge state");
    }
    sqlite3_bind_int64(st, 1, interval);
    sqlite3_bind_int64(st, 2, b->intervals);
    sqlite3_bind_blob64(st, 3, blob, len, free);
    rc = step(s, st, "surge state");
    sqlite3_finalize(st);
    return rc;
}

void store_close(struct store *s)
{
    if (!s) return;
    rollup_free(s->rollup);
    sqlite3_stmt *all[] = {s->ins_interval, s->ins_isketch, s->ins_stats,
                           s->ins_top,      s->ins_alert,   s->ins_dos};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    ev_writer_free(&s->events);
    /* the frees above ran beside its last checkpoint, which leaves the close little to copy */
    ckpt_stop(s->ckpt);
    sqlite3_close(s->db);
    free(s);
}
