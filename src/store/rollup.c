/* rollup — hourly and daily rollups from the sketches in memory.
 *
 * The writer keeps the union of the current hour's intervals (and of the
 * day's closed hours) in memory, as stats_acc: ports, backscatter ports,
 * fingerprints, countries, ASNs and the source union.  When an interval that
 * ends an hour is written, the hour's rollup goes out in the same transaction
 * (one stats blob in stats_rollups, one port_rollups row per port for the
 * time series, the hour's busiest sources in top_rollups) and is marked
 * current in rollup_buckets; the day likewise when its last hour closes.  No
 * rollup is re-read from the interval rows, except at a seam:
 *  - the first interval a run writes into an hour that already holds data
 *    (an append, a restarted sensor) loads what is stored for that hour once:
 *    its rollup when marked, else its intervals' blobs;
 *  - a day closing with hours this run did not close loads those hours so.
 * Every interval written into a bucket drops the bucket's mark in its own
 * transaction, so after kill -9 a bucket is either marked and whole or
 * unmarked and read from its intervals (rollup_load_window); --replace drops
 * the marks of what it deletes and invalidates the memory (rollup_invalidate).
 * Trade-off: the hour in memory costs a second copy of its sketches. */
#include "rollup.h"
#include "../core/classify.h"
#include "../core/err.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR 3600
#define DAY 86400
#define NONE INT64_MIN

enum { Q_UNMARK, Q_MARK, Q_HAS, Q_STATS, Q_DEL_PORTS, Q_PORT, Q_PORTS, Q_DEL_TOP, Q_TOP, Q_COUNT };
#define PORT_BATCH 32 /* port_rollups rows a statement: a step per row costs more than its insert  \
                       */

/* clang-format off */
static const char *const sql[Q_COUNT] = {
    [Q_UNMARK] = "DELETE FROM rollup_buckets WHERE res = ?1 AND bucket = ?2",
    [Q_MARK] = "INSERT OR REPLACE INTO rollup_buckets VALUES(?1, ?2)",
    [Q_HAS] = "SELECT 1 FROM stats_rollups WHERE res = ?1 AND bucket = ?2",
    [Q_STATS] = "INSERT OR REPLACE INTO stats_rollups VALUES(?1, ?2, ?3)",
    [Q_DEL_PORTS] = "DELETE FROM port_rollups WHERE res = ?1 AND bucket = ?2",
    [Q_PORT] = "INSERT OR REPLACE INTO port_rollups VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_DEL_TOP] = "DELETE FROM top_rollups WHERE bucket = ?2 AND ?1 > 0",
    /* every source of the hour's intervals' top lists, summed (at most the
     * rows those lists hold, fewer when a source recurs): uncut, so that
     * summing hours gives what summing the intervals gives for any --top
     * (a source outside one hour's cut but inside another's was undercounted;
     * schema 6 rebuilt the rollups an older mamori cut at 1,000) */
    [Q_TOP] = "INSERT INTO top_rollups SELECT ?2, ip, sum(x.packets) AS p, sum(x.bytes),"
              " max(x.ports), max(x.fingerprints), max(x.cc), max(x.asn), max(x.lat), max(x.lon)"
              " FROM top_sources x JOIN intervals i ON i.id = x.interval_id"
              " WHERE i.start >= ?2 AND i.start < ?2 + ?1 GROUP BY ip",
};

/* Whole rolled days, then whole rolled hours outside them, inside [?1, ?2);
 * the stats and source sketches of every other interval starting there. */
#define ROLLED_DAYS "SELECT bucket FROM rollup_buckets WHERE res = 86400 AND bucket >= ?1" \
                    " AND bucket + 86400 <= ?2"
#define ROLLED_HOURS "SELECT bucket FROM rollup_buckets WHERE res = 3600 AND bucket >= ?1" \
                     " AND bucket + 3600 <= ?2 AND bucket - bucket %% 86400 NOT IN d"
#define RAW_INTERVALS "FROM intervals i JOIN %s x ON x.interval_id = i.id WHERE i.start >= ?1" \
                      " AND i.start < ?2 AND i.id != ?3 AND i.start - i.start %% 3600 NOT IN h" \
                      " AND i.start - i.start %% 86400 NOT IN d"
static const char *const window_sql =
    "WITH d AS (" ROLLED_DAYS "), h AS (" ROLLED_HOURS ")"
    " SELECT 0, stats FROM stats_rollups WHERE (res = 86400 AND bucket IN d)"
    " OR (res = 3600 AND bucket IN h)"
    " UNION ALL SELECT 0, x.stats " RAW_INTERVALS
    " UNION ALL SELECT 1, x.sources_sketch " RAW_INTERVALS;
/* clang-format on */

struct rollup {
    sqlite3 *db;
    char path[PATH_MAX];
    sqlite3_stmt *q[Q_COUNT];
    int64_t hour, day; /* the buckets in memory, NONE when none */
    struct stats_acc h, d;
    uint32_t hours;    /* bit per hour of the day folded into d */
    uint8_t rank[256]; /* per protocol number, its name's place in strcmp order (write_ports) */
};

static int db_err(sqlite3 *db, const char *path)
{
    return err_set(-EIO, "%s: rollup: %s", path, sqlite3_errmsg(db));
}

int rollup_load_window(sqlite3 *db, int64_t from, int64_t to, int64_t skip_id, struct stats_acc *a)
{
    char text[2048];
    snprintf(text, sizeof text, window_sql, "interval_stats", "interval_sketches");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, text, -1, &st, NULL) != SQLITE_OK)
        return err_set(-EIO, "stats: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int64(st, 3, skip_id);
    int rc = 0, s;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 1);
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        if (!b) continue;
        rc = sqlite3_column_int(st, 0) ? sketch_merge_blob(&a->sources, b, n)
                                       : stats_acc_merge_blob(a, b, n);
    }
    if (rc == 0 && s != SQLITE_DONE) rc = err_set(-EIO, "stats: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

struct rollup *rollup_new(sqlite3 *db, const char *path)
{
    struct rollup *ru = calloc(1, sizeof *ru);
    if (!ru) {
        err_set(-ENOMEM, "rollup: out of memory");
        return NULL;
    }
    ru->db = db;
    snprintf(ru->path, sizeof ru->path, "%s", path);
    stats_acc_init(&ru->h);
    stats_acc_init(&ru->d);
    ru->hour = ru->day = NONE;
    for (int x = 0; x < 256; x++) /* how many names sort before x's: equal names, equal ranks */
        for (int y = 0; y < 256; y++)
            ru->rank[x] += strcmp(proto_name((uint8_t)y), proto_name((uint8_t)x)) < 0;
    char ports[64 + PORT_BATCH * 20] = "INSERT OR REPLACE INTO port_rollups VALUES";
    for (int i = 0; i < PORT_BATCH; i++)
        strcat(ports, i ? ",(?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?)");
    for (int i = 0; i < Q_COUNT; i++)
        if (sqlite3_prepare_v3(db, i == Q_PORTS ? ports : sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &ru->q[i], NULL) != SQLITE_OK) {
            db_err(db, path);
            rollup_free(ru);
            return NULL;
        }
    return ru;
}

void rollup_invalidate(struct rollup *ru)
{
    stats_acc_free(&ru->h);
    stats_acc_free(&ru->d);
    ru->hour = ru->day = NONE;
    ru->hours = 0;
}

void rollup_free(struct rollup *ru)
{
    if (!ru) return;
    rollup_invalidate(ru);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(ru->q[i]);
    free(ru);
}

static int run(struct rollup *ru, int q, int64_t res, int64_t bucket)
{
    sqlite3_stmt *st = ru->q[q];
    sqlite3_bind_int64(st, 1, res);
    sqlite3_bind_int64(st, 2, bucket);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : db_err(ru->db, ru->path);
}

/* A port row's place in the table's key order (proto as text, port,
 * backscatter) as one integer: the protocol names' order comes from a table
 * built once, so the sort compares integers instead of calling proto_name()
 * and strcmp() a few million times an hour (125k ports). */
struct port_ref {
    uint64_t order;
    const struct stats_entry *e;
};

static int by_port_ref(const void *pa, const void *pb)
{
    const struct port_ref *a = pa, *b = pb;
    if (a->order != b->order) return a->order < b->order ? -1 : 1;
    return a->e < b->e ? -1 : a->e > b->e; /* as a stable sort of the entries would */
}

/* One port_rollups row per port, in key order (the table is clustered on
 * its key, so this appends within each port's run). */
static int write_ports(struct rollup *ru, int64_t res, int64_t bucket, const struct stats_acc *a)
{
    struct port_ref *v = malloc((a->n + 1) * sizeof *v);
    if (!v) return err_set(-ENOMEM, "rollup: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct stats_entry *e = &a->e[i];
        if (e->kind == ROW_PORT || e->kind == ROW_BACKSCATTER_PORT)
            v[n++] = (struct port_ref){.order = (uint64_t)ru->rank[e->proto] << 33 |
                                                (uint64_t)e->key << 1 |
                                                (e->kind == ROW_BACKSCATTER_PORT),
                                       .e = e};
    }
    qsort(v, n, sizeof *v, by_port_ref);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) { /* PORT_BATCH rows a statement while they last */
        size_t k = n - i >= PORT_BATCH ? PORT_BATCH : 1;
        sqlite3_stmt *st = ru->q[k > 1 ? Q_PORTS : Q_PORT];
        for (size_t j = 0; j < k; j++, i++) {
            const struct stats_entry *e = v[i].e;
            int c = (int)j * 8;
            sqlite3_bind_int64(st, c + 1, res);
            sqlite3_bind_int64(st, c + 2, bucket);
            sqlite3_bind_int(st, c + 3, e->kind == ROW_BACKSCATTER_PORT);
            sqlite3_bind_text(st, c + 4, proto_name(e->proto), -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, c + 5, e->key);
            sqlite3_bind_int64(st, c + 6, (int64_t)e->packets);
            sqlite3_bind_int64(st, c + 7, (int64_t)e->bytes);
            sqlite3_bind_int64(st, c + 8, (int64_t)sketch_count(&e->src));
        }
        int s = sqlite3_step(st);
        sqlite3_reset(st);
        if (s != SQLITE_DONE) rc = db_err(ru->db, ru->path);
    }
    free(v);
    return rc;
}

/* One bucket's rollup out of a, marked current. */
static int write_bucket(struct rollup *ru, int64_t res, int64_t bucket, const struct stats_acc *a)
{
    /* a bucket rolled up before (an append, a replace) may hold ports no
     * longer there: its rows go first (a scan of the clustered table, rare) */
    sqlite3_stmt *st = ru->q[Q_HAS];
    sqlite3_bind_int64(st, 1, res);
    sqlite3_bind_int64(st, 2, bucket);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s != SQLITE_ROW && s != SQLITE_DONE) return db_err(ru->db, ru->path);
    if (s == SQLITE_ROW && run(ru, Q_DEL_PORTS, res, bucket) < 0) return -EIO;
    uint8_t *blob;
    size_t len;
    int rc = stats_encode_acc(a, &blob, &len);
    if (rc < 0) return rc;
    st = ru->q[Q_STATS];
    sqlite3_bind_int64(st, 1, res);
    sqlite3_bind_int64(st, 2, bucket);
    sqlite3_bind_blob64(st, 3, blob, len, free);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(ru->db, ru->path);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == 0) rc = write_ports(ru, res, bucket, a);
    if (rc == 0 && res == HOUR) rc = run(ru, Q_DEL_TOP, res, bucket);
    if (rc == 0 && res == HOUR) rc = run(ru, Q_TOP, res, bucket);
    if (rc == 0) rc = run(ru, Q_MARK, res, bucket);
    return rc;
}

/* The hour in memory is closed: out it goes, and into its day. */
static int close_hour(struct rollup *ru)
{
    int rc = write_bucket(ru, HOUR, ru->hour, &ru->h);
    int64_t idx = (ru->hour - ru->day) / HOUR; /* not 0..23 before 1970 (start % HOUR < 0) */
    uint32_t bit = idx >= 0 && idx < 24 ? 1u << idx : 0;
    if (rc < 0) return rc;
    if (!bit || ru->hours & bit) { /* an hour written twice: rebuild the day at its close */
        stats_acc_free(&ru->d);
        ru->hours = 0;
        stats_acc_free(&ru->h);
    } else if (!ru->hours) { /* the day's first hour: moved, not copied */
        stats_acc_free(&ru->d);
        ru->d = ru->h;
        stats_acc_init(&ru->h);
        ru->hours = bit;
    } else {
        rc = stats_acc_merge(&ru->d, &ru->h);
        stats_acc_free(&ru->h);
        ru->hours |= bit;
    }
    ru->hour = NONE;
    return rc;
}

static int close_day(struct rollup *ru)
{
    int rc = 0;
    for (int i = 0; i < 24 && rc == 0; i++) /* hours this run did not close: as stored */
        if (!(ru->hours & (1u << i)))
            rc = rollup_load_window(ru->db, ru->day + i * HOUR, ru->day + (i + 1) * HOUR, -1,
                                    &ru->d);
    if (rc == 0) rc = write_bucket(ru, DAY, ru->day, &ru->d);
    stats_acc_free(&ru->d);
    ru->hours = 0;
    ru->day = NONE;
    return rc;
}

int rollup_unmark(struct rollup *ru, const struct interval_rec *r)
{
    int rc = run(ru, Q_UNMARK, HOUR, r->start - r->start % HOUR);
    if (rc == 0) rc = run(ru, Q_UNMARK, DAY, r->start - r->start % DAY);
    return rc;
}

struct stats_acc *rollup_hour(struct rollup *ru, const struct interval_rec *r, int64_t id)
{
    int64_t hour = r->start - r->start % HOUR, day = r->start - r->start % DAY;
    if (ru->day != day) {
        stats_acc_free(&ru->d);
        ru->hours = 0;
        ru->day = day;
    }
    if (ru->hour != hour) { /* a seam: what the hour already holds, once */
        stats_acc_free(&ru->h);
        ru->hour = hour;
        if (rollup_load_window(ru->db, hour, hour + HOUR, id, &ru->h) < 0) {
            rollup_invalidate(ru);
            return NULL;
        }
    }
    return &ru->h;
}

int rollup_folded(struct rollup *ru, const struct interval_rec *r)
{
    int64_t hour = r->start - r->start % HOUR, day = r->start - r->start % DAY;
    int rc = run(ru, Q_UNMARK, HOUR, hour);
    if (rc == 0) rc = run(ru, Q_UNMARK, DAY, day);
    if (rc == 0 && r->end >= hour + HOUR) rc = close_hour(ru);
    if (rc == 0 && r->end >= day + DAY) rc = close_day(ru);
    if (rc < 0) rollup_invalidate(ru);
    return rc;
}

int rollup_after_write(struct rollup *ru, const struct interval_rec *r, int64_t id)
{
    struct stats_acc *h = rollup_hour(ru, r, id);
    int rc = h ? stats_acc_add_rec(h, r) : -EIO;
    if (rc < 0) {
        rollup_invalidate(ru);
        return rc;
    }
    return rollup_folded(ru, r);
}

/* ---- migration from per-key rows ---- */

static int proto_number(const char *name)
{
    for (int p = 0; p < 256 && name; p++)
        if (!strcmp(proto_name((uint8_t)p), name)) return p;
    return -1;
}

static int fingerprint_number(const char *name)
{
    for (int f = 0; f < FP_COUNT && name; f++)
        if (!strcmp(fingerprint_name((enum fingerprint)f), name)) return f;
    return -1;
}

/* clang-format off */
static const char *const old_rows_sql =
    "SELECT interval_id, 0 + backscatter, proto, port, packets, bytes, src_sketch, dst_sketch, NULL"
    " FROM port_stats"
    " UNION ALL SELECT interval_id, 2, NULL, name, packets, bytes, src_sketch, NULL, NULL"
    " FROM fingerprint_stats"
    " UNION ALL SELECT interval_id, 3, NULL, cc, packets, bytes, src_sketch, NULL, NULL"
    " FROM country_stats"
    " UNION ALL SELECT interval_id, 4, NULL, asn, packets, bytes, src_sketch, NULL, name"
    " FROM asn_stats ORDER BY 1";
/* clang-format on */

/* One old row into a (kind from old_rows_sql's second column). */
static int old_row(sqlite3_stmt *st, struct stats_acc *a, const char *path)
{
    int kind = sqlite3_column_int(st, 1), proto = 0;
    const char *text = (const char *)sqlite3_column_text(st, 3);
    int64_t key = sqlite3_column_int64(st, 3);
    if (kind <= ROW_BACKSCATTER_PORT)
        proto = proto_number((const char *)sqlite3_column_text(st, 2));
    if (kind == ROW_FINGERPRINT) key = fingerprint_number(text);
    if (kind == ROW_COUNTRY)
        key = text && strlen(text) == 2 ? ((uint8_t)text[0] << 8 | (uint8_t)text[1]) : -1;
    if (proto < 0 || key < 0 || key > UINT32_MAX)
        return err_set(-EINVAL, "%s: stats row of interval %lld: unknown key '%s'", path,
                       (long long)sqlite3_column_int64(st, 0), text ? text : "?");
    struct stat_row w = {.proto = (uint8_t)proto,
                         .key = (uint32_t)key,
                         .label = kind == ROW_ASN ? (const char *)sqlite3_column_text(st, 8) : NULL,
                         .packets = (uint64_t)sqlite3_column_int64(st, 4),
                         .bytes = (uint64_t)sqlite3_column_int64(st, 5)};
    sketch_init(&w.src);
    sketch_init(&w.dst);
    int rc = 0;
    for (int c = 6; c <= 7 && rc == 0; c++)
        if (sqlite3_column_type(st, c) == SQLITE_BLOB)
            rc = sketch_merge_blob(c == 6 ? &w.src : &w.dst, sqlite3_column_blob(st, c),
                                   (size_t)sqlite3_column_bytes(st, c));
    struct interval_rec r = {0};
    r.rows[kind] = &w;
    r.n_rows[kind] = 1;
    if (rc == 0) rc = stats_acc_add_rec(a, &r);
    sketch_free(&w.src);
    sketch_free(&w.dst);
    return rc;
}

static int put_interval_blob(sqlite3 *db, const char *path, int64_t id, const struct stats_acc *a)
{
    uint8_t *blob;
    size_t len;
    int rc = stats_encode_acc(a, &blob, &len);
    if (rc < 0) return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO interval_stats VALUES(?, ?)", -1, &st, NULL) !=
        SQLITE_OK) {
        free(blob);
        return db_err(db, path);
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_blob64(st, 2, blob, len, free);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(db, path);
    sqlite3_finalize(st);
    return rc;
}

static int convert_rows(sqlite3 *db, const char *path)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, old_rows_sql, -1, &st, NULL) != SQLITE_OK) return db_err(db, path);
    struct stats_acc a;
    stats_acc_init(&a);
    int64_t cur = -1;
    int rc = 0, s;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id != cur && cur >= 0) {
            rc = put_interval_blob(db, path, cur, &a);
            stats_acc_free(&a);
        }
        cur = id;
        if (rc == 0) rc = old_row(st, &a, path);
    }
    if (rc == 0 && s != SQLITE_DONE) rc = db_err(db, path);
    if (rc == 0 && cur >= 0) rc = put_interval_blob(db, path, cur, &a);
    stats_acc_free(&a);
    sqlite3_finalize(st);
    return rc;
}

/* The buckets the old writer had rolled up get stats rollups from the raw
 * blobs (their marks are lifted first so that the window reader reads raw). */
static int rebuild_marked(sqlite3 *db, const char *path)
{
    if (sqlite3_exec(db,
                     "CREATE TEMP TABLE old_marks AS SELECT res, bucket FROM rollup_buckets"
                     " ORDER BY res, bucket; DELETE FROM rollup_buckets",
                     NULL, NULL, NULL) != SQLITE_OK)
        return db_err(db, path);
    struct rollup *ru = rollup_new(db, path);
    sqlite3_stmt *st = NULL;
    int rc = ru ? 0 : -ENOMEM;
    if (rc == 0 && sqlite3_prepare_v2(db, "SELECT res, bucket FROM temp.old_marks", -1, &st,
                                      NULL) != SQLITE_OK)
        rc = db_err(db, path);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        int64_t res = sqlite3_column_int64(st, 0), bucket = sqlite3_column_int64(st, 1);
        struct stats_acc a;
        stats_acc_init(&a);
        rc = rollup_load_window(db, bucket, bucket + res, -1, &a);
        if (rc == 0) rc = write_bucket(ru, res, bucket, &a);
        stats_acc_free(&a);
    }
    sqlite3_finalize(st);
    rollup_free(ru);
    if (rc == 0 && sqlite3_exec(db, "DROP TABLE temp.old_marks", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(db, path);
    return rc;
}

int rollup_migrate_stats(sqlite3 *db, const char *path)
{
    /* clang-format off */
    static const char *const create =
        "CREATE TABLE IF NOT EXISTS interval_stats(interval_id INTEGER PRIMARY KEY,"
        " stats BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS stats_rollups(res INTEGER NOT NULL, bucket INTEGER NOT NULL,"
        " stats BLOB NOT NULL, PRIMARY KEY(res, bucket));";
    static const char *const drop =
        "DROP TABLE port_stats; DROP TABLE fingerprint_stats; DROP TABLE country_stats;"
        " DROP TABLE asn_stats;";
    /* per-port rollups without sketches (the stats rollups hold them), as one
     * B-tree clustered on what the time series looks up */
    static const char *const ports =
        "CREATE TABLE port_rollups_v5(res INTEGER NOT NULL, bucket INTEGER NOT NULL,"
        " backscatter INTEGER NOT NULL, proto TEXT NOT NULL, port INTEGER NOT NULL,"
        " packets INTEGER, bytes INTEGER, sources INTEGER,"
        " PRIMARY KEY(res, proto, port, backscatter, bucket)) WITHOUT ROWID;"
        "INSERT OR REPLACE INTO port_rollups_v5 SELECT res, bucket, backscatter, proto, port,"
        " packets, bytes, sources FROM port_rollups;"
        "DROP TABLE port_rollups; ALTER TABLE port_rollups_v5 RENAME TO port_rollups;";
    /* clang-format on */
    if (sqlite3_exec(db, create, NULL, NULL, NULL) != SQLITE_OK) return db_err(db, path);
    if (sqlite3_table_column_metadata(db, NULL, "port_rollups", "src_sketch", NULL, NULL, NULL,
                                      NULL, NULL) == SQLITE_OK &&
        sqlite3_exec(db, ports, NULL, NULL, NULL) != SQLITE_OK)
        return db_err(db, path);
    /* a newer database whose user_version was set back by hand (as tests
     * make "older" ones) has no rows to convert */
    if (sqlite3_table_column_metadata(db, NULL, "port_stats", "port", NULL, NULL, NULL, NULL,
                                      NULL) != SQLITE_OK)
        return 0;
    int rc = convert_rows(db, path);
    if (rc == 0 && sqlite3_exec(db, drop, NULL, NULL, NULL) != SQLITE_OK) rc = db_err(db, path);
    if (rc == 0) rc = rebuild_marked(db, path);
    return rc;
}
