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
    return json_pack("{s:s,s:I,s:I}", "t", cli_iso(t, b), "packets", (json_int_t)packets, "sources",
                     (json_int_t)sources);
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
        int rc = b && proto >= 0
                     ? stats_acc_merge_blob_key(a, b, (size_t)sqlite3_column_bytes(st, 1), ROW_PORT,
                                                (uint8_t)proto, port)
                     : 0;
        if (rc < 0) return rc;
        int s = sqlite3_step(st);
        if (s != SQLITE_ROW) {
            *pending = false;
            return s == SQLITE_DONE
                       ? 1
                       : err_set(-EIO, "query: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
        }
        if (sqlite3_column_int64(st, 0) != *t) return 1;
    }
}

json_t *query_stats_series(sqlite3 *db, int64_t from, int64_t to, const char *proto, uint16_t port,
                           int64_t res)
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
            json_array_append_new(pts,
                                  point(sqlite3_column_int64(ro, 0), sqlite3_column_int64(ro, 1),
                                        sqlite3_column_int64(ro, 2)));
            rs = sqlite3_step(ro);
            continue;
        }
        if (a.n)
            json_array_append_new(
                pts, point(t, (int64_t)a.e[0].packets, (int64_t)sketch_count(&a.e[0].src)));
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

/* ---- the window's busiest sources ---- */

struct text {
    char *p; /* NULL: SQL NULL */
    size_t n;
};

struct top_src {
    struct text ip, ports, fps, cc;
    int64_t packets, bytes, asn;
    double lat, lon;
    bool has_asn, has_lat, has_lon;
};

struct top_map {
    struct top_src *v;
    size_t n, cap;
    uint32_t *slot; /* index + 1 */
    size_t nslot;
};

static uint64_t text_hash(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
    return h;
}

static int text_cmp(const struct text *a, const struct text *b)
{
    int c = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

/* max() of a text column: NULLs ignored, greatest byte-wise. */
static int text_max(struct text *t, sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    if (!v) return 0;
    struct text x = {(char *)v, (size_t)sqlite3_column_bytes(st, col)};
    if (t->p && text_cmp(&x, t) <= 0) return 0;
    char *copy = malloc(x.n + 1);
    if (!copy) return err_set(-ENOMEM, "query: out of memory");
    memcpy(copy, v, x.n);
    copy[x.n] = 0;
    free(t->p);
    *t = (struct text){copy, x.n};
    return 0;
}

static void num_max(sqlite3_stmt *st, int col, bool *has, double *d, int64_t *i)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return;
    if (i) {
        int64_t v = sqlite3_column_int64(st, col);
        if (!*has || v > *i) *i = v;
    } else {
        double v = sqlite3_column_double(st, col);
        if (!*has || v > *d) *d = v;
    }
    *has = true;
}

static struct top_src *top_entry(struct top_map *m, const char *ip, size_t n)
{
    if ((m->n + 1) * 2 > m->nslot) {
        size_t ns = m->nslot ? m->nslot * 2 : 4096;
        uint32_t *slot = calloc(ns, sizeof *slot);
        if (!slot) return NULL;
        for (size_t i = 0; i < m->n; i++) {
            size_t j = text_hash(m->v[i].ip.p, m->v[i].ip.n) & (ns - 1);
            while (slot[j])
                j = (j + 1) & (ns - 1);
            slot[j] = (uint32_t)i + 1;
        }
        free(m->slot);
        m->slot = slot;
        m->nslot = ns;
    }
    struct text key = {(char *)ip, n};
    size_t j = text_hash(ip, n) & (m->nslot - 1);
    for (; m->slot[j]; j = (j + 1) & (m->nslot - 1))
        if (!text_cmp(&m->v[m->slot[j] - 1].ip, &key)) return &m->v[m->slot[j] - 1];
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        struct top_src *g = realloc(m->v, cap * sizeof *g);
        if (!g) return NULL;
        m->v = g;
        m->cap = cap;
    }
    struct top_src *e = &m->v[m->n];
    memset(e, 0, sizeof *e);
    if (!(e->ip.p = malloc(n + 1))) return NULL;
    memcpy(e->ip.p, ip, n);
    e->ip.p[n] = 0;
    e->ip.n = n;
    m->slot[j] = (uint32_t)++m->n;
    return e;
}

static int by_top(const void *pa, const void *pb)
{
    const struct top_src *a = *(const struct top_src *const *)pa,
                         *b = *(const struct top_src *const *)pb;
    if (a->packets != b->packets) return a->packets > b->packets ? -1 : 1;
    return text_cmp(&a->ip, &b->ip);
}

static json_t *text_json(const struct text *t)
{
    return t->p ? json_stringn(t->p, t->n) : json_null();
}

static void top_map_free(struct top_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].ip.p);
        free(m->v[i].ports.p);
        free(m->v[i].fps.p);
        free(m->v[i].cc.p);
    }
    free(m->v);
    free(m->slot);
}

/* Folds the rows of st into m. */
static int top_add(struct top_map *m, sqlite3_stmt *st)
{
    int rc = 0, s;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ip = (const char *)sqlite3_column_text(st, 0);
        if (!ip) continue; /* GROUP BY would make one NULL group; ip is NOT NULL */
        struct top_src *e = top_entry(m, ip, (size_t)sqlite3_column_bytes(st, 0));
        if (!e) return err_set(-ENOMEM, "query: out of memory");
        e->packets += sqlite3_column_int64(st, 1);
        e->bytes += sqlite3_column_int64(st, 2);
        if ((rc = text_max(&e->ports, st, 3)) == 0 && (rc = text_max(&e->fps, st, 4)) == 0)
            rc = text_max(&e->cc, st, 5);
        num_max(st, 6, &e->has_asn, NULL, &e->asn);
        num_max(st, 7, &e->has_lat, &e->lat, NULL);
        num_max(st, 8, &e->has_lon, &e->lon, NULL);
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = err_set(-EIO, "query: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
    return rc;
}

/* m's entries, busiest first (free() it), or NULL. */
static const struct top_src **top_sorted(const struct top_map *m)
{
    const struct top_src **v = malloc((m->n + 1) * sizeof *v);
    if (!v) {
        err_set(-ENOMEM, "query: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < m->n; i++)
        v[i] = &m->v[i];
    qsort(v, m->n, sizeof *v, by_top);
    return v;
}

static char *top_json(const struct top_map *m, int top)
{
    const struct top_src **v = top_sorted(m);
    if (!v) return NULL;
    size_t n = top > 0 && (size_t)top < m->n ? (size_t)top : m->n;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct top_src *e = v[i];
        json_array_append_new(
            arr, json_pack("[o,I,I,o,o,o,o,o,o]", text_json(&e->ip), (json_int_t)e->packets,
                           (json_int_t)e->bytes, text_json(&e->ports), text_json(&e->fps),
                           text_json(&e->cc),
                           e->has_asn ? json_integer((json_int_t)e->asn) : json_null(),
                           e->has_lat ? json_real(e->lat) : json_null(),
                           e->has_lon ? json_real(e->lon) : json_null()));
    }
    char *out = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(arr);
    if (!out) err_set(-ENOMEM, "query: out of memory");
    free(v);
    return out;
}

char *query_top_merge(sqlite3_stmt *st, int top)
{
    struct top_map m = {0};
    char *out = top_add(&m, st) == 0 ? top_json(&m, top) : NULL;
    top_map_free(&m);
    return out;
}

char *query_top_bounded(sqlite3_stmt *big, sqlite3_stmt *rest, int top, int64_t slack,
                        bool *decided)
{
    struct top_map m = {0};
    char *out = NULL;
    *decided = false;
    int rc = top_add(&m, big);
    const struct top_src **v = rc == 0 && top > 0 && (size_t)top <= m.n ? top_sorted(&m) : NULL;
    /* the top-th lower bound must beat what a source with no row read can hold */
    int64_t least = v ? v[top - 1]->packets : 0;
    if (v && least > slack) {
        json_t *ips = json_array();
        for (size_t i = 0; i < m.n && v[i]->packets + slack >= least; i++)
            json_array_append_new(ips, text_json(&v[i]->ip));
        char *list = json_dumps(ips, JSON_COMPACT);
        json_decref(ips);
        if (!list) {
            rc = err_set(-ENOMEM, "query: out of memory");
        } else {
            sqlite3_bind_text(rest, 4, list, -1, free);
            /* the candidates' other rows: their sums and lists are then whole,
             * and everyone left out sums to less than least <= the top-th */
            rc = top_add(&m, rest);
            if (rc == 0 && (out = top_json(&m, top))) *decided = true;
        }
    }
    free(v);
    top_map_free(&m);
    return rc == 0 && !*decided ? NULL : out;
}
