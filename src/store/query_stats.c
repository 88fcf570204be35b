/* query_stats — the summary's per-key lists and the port time series, read
 * from stats blobs and rollups (rollup_load_window) and merged in C.
 *
 * The lists come out exactly as the SQL of the per-row layout gave them:
 * sums of packets and bytes, distinct counts of the unioned sketches, the
 * greatest AS name, ordered by packets (descending) and then by the key as
 * SQL ordered the text it stored (protocol name, fingerprint name, country
 * code), cut to the window's top. */
#include "query_stats.h"
#include "../core/classify.h"
#include "../core/cli.h"
#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *key_text(const struct stats_entry *e)
{
    if (e->kind == ROW_FINGERPRINT) return fingerprint_name((enum fingerprint)e->key);
    if (e->kind <= ROW_BACKSCATTER_PORT) return proto_name(e->proto);
    return "";
}

static int by_packets(const void *pa, const void *pb)
{
    const struct stats_entry *a = *(const struct stats_entry *const *)pa,
                             *b = *(const struct stats_entry *const *)pb;
    if (a->packets != b->packets) return a->packets > b->packets ? -1 : 1;
    int c = strcmp(key_text(a), key_text(b));
    if (c) return c;
    return a->key < b->key ? -1 : a->key > b->key;
}

static json_t *entry_json(const struct stats_entry *e)
{
    json_int_t pk = (json_int_t)e->packets, src = (json_int_t)sketch_count(&e->src);
    switch (e->kind) {
    case ROW_FINGERPRINT:
        return json_pack("{s:s,s:I,s:I}", "name", key_text(e), "packets", pk, "sources", src);
    case ROW_COUNTRY: {
        char cc[3] = {(char)(e->key >> 8), (char)e->key, 0};
        return json_pack("{s:s,s:I,s:I}", "cc", cc, "packets", pk, "sources", src);
    }
    case ROW_ASN:
        return json_pack("{s:I,s:s,s:I,s:I}", "asn", (json_int_t)e->key, "name",
                         e->label ? e->label : "", "packets", pk, "sources", src);
    default:
        return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "proto", key_text(e), "port",
                         (json_int_t)e->key, "packets", pk, "bytes", (json_int_t)e->bytes,
                         "sources", src, "destinations", (json_int_t)sketch_count(&e->dst));
    }
}

json_t *query_stats_list(const struct stats_acc *a, enum row_kind kind, int top)
{
    const struct stats_entry **v = malloc((a->n + 1) * sizeof *v);
    if (!v) {
        err_set(-ENOMEM, "query: out of memory");
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->e[i].kind == kind) v[n++] = &a->e[i];
    qsort(v, n, sizeof *v, by_packets);
    if (top > 0 && (size_t)top < n) n = (size_t)top;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = entry_json(v[i]);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            arr = NULL;
            err_set(-ENOMEM, "query: out of memory");
            break;
        }
    }
    free(v);
    return arr;
}

static json_t *point(int64_t t, int64_t packets, int64_t sources)
{
    char b[32];
    return json_pack("{s:s,s:I,s:I}", "t", cli_iso(t, b), "packets", (json_int_t)packets,
                     "sources", (json_int_t)sources);
}

/* clang-format off */
static const char *const rolled_sql =
    "SELECT bucket, packets, sources FROM port_rollups WHERE res = ?4 AND proto = ?5 AND port = ?6"
    " AND backscatter = 0 AND bucket >= ?1 AND bucket + ?4 <= ?2"
    " AND bucket IN (SELECT bucket FROM rollup_buckets WHERE res = ?4) ORDER BY bucket";
static const char *const raw_sql =
    "SELECT i.start - i.start % ?4 AS t, x.stats FROM interval_stats x"
    " JOIN intervals i ON i.id = x.interval_id WHERE i.start >= ?1 AND i.start < ?2"
    " AND NOT (?4 >= 3600 AND i.start - i.start % ?4 >= ?1 AND i.start - i.start % ?4 + ?4 <= ?2"
    " AND i.start - i.start % ?4 IN (SELECT bucket FROM rollup_buckets WHERE res = ?4))"
    " ORDER BY t";
/* clang-format on */

static sqlite3_stmt *series_stmt(sqlite3 *db, const char *sql, int64_t from, int64_t to,
                                 int64_t res, const char *proto, uint16_t port)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        err_set(-EIO, "query: %s", sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int64(st, 4, res);
    if (sqlite3_bind_parameter_count(st) >= 5) {
        sqlite3_bind_text(st, 5, proto, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, port);
    }
    return st;
}

/* The next raw bucket of the series: its start in *t and its one entry (or
 * none) folded into a.  1 while there is one, 0 at the end, or an error. */
static int next_raw(sqlite3_stmt *st, bool *pending, int64_t *t, struct stats_acc *a, int proto,
                    uint16_t port)
{
    stats_acc_free(a);
    if (!*pending) return 0;
    *t = sqlite3_column_int64(st, 0);
    for (;;) {
        const void *b = sqlite3_column_blob(st, 1);
        int rc = b && proto >= 0 ? stats_acc_merge_blob_key(a, b, (size_t)sqlite3_column_bytes(st, 1),
                                                            ROW_PORT, (uint8_t)proto, port)
                                 : 0;
        if (rc < 0) return rc;
        int s = sqlite3_step(st);
        if (s != SQLITE_ROW) {
            *pending = false;
            return s == SQLITE_DONE ? 1 : err_set(-EIO, "query: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
        }
        if (sqlite3_column_int64(st, 0) != *t) return 1;
    }
}

json_t *query_stats_series(sqlite3 *db, int64_t from, int64_t to, const char *proto,
                           uint16_t port, int64_t res)
{
    int pnum = -1;
    for (int p = 0; p < 256 && pnum < 0; p++)
        if (!strcmp(proto_name((uint8_t)p), proto)) pnum = p;
    sqlite3_stmt *ro = series_stmt(db, rolled_sql, from, to, res, proto, port);
    sqlite3_stmt *raw = ro ? series_stmt(db, raw_sql, from, to, res, proto, port) : NULL;
    json_t *pts = raw ? json_array() : NULL;
    struct stats_acc a;
    stats_acc_init(&a);
    int rc = raw ? 0 : -EIO, rs = ro ? sqlite3_step(ro) : SQLITE_DONE;
    bool pending = raw && sqlite3_step(raw) == SQLITE_ROW;
    int64_t t = 0;
    int have = rc == 0 ? next_raw(raw, &pending, &t, &a, pnum, port) : 0;
    while (rc == 0 && have >= 0 && (rs == SQLITE_ROW || have > 0)) {
        if (rs == SQLITE_ROW && (have <= 0 || sqlite3_column_int64(ro, 0) < t)) {
            json_array_append_new(pts, point(sqlite3_column_int64(ro, 0),
                                             sqlite3_column_int64(ro, 1),
                                             sqlite3_column_int64(ro, 2)));
            rs = sqlite3_step(ro);
            continue;
        }
        if (a.n) json_array_append_new(pts, point(t, (int64_t)a.e[0].packets,
                                                  (int64_t)sketch_count(&a.e[0].src)));
        have = next_raw(raw, &pending, &t, &a, pnum, port);
    }
    if (rc == 0 && have < 0) rc = have;
    if (rc == 0 && rs != SQLITE_DONE) rc = err_set(-EIO, "query: %s", sqlite3_errmsg(db));
    stats_acc_free(&a);
    sqlite3_finalize(ro);
    sqlite3_finalize(raw);
    if (rc < 0) {
        json_decref(pts);
        return NULL;
    }
    return pts;
}
