/* stattab — mamori_stats: the per-interval stats blobs as rows again.
 *
 * An eponymous virtual table with one row per key of each interval's blob
 * (interval_stats), so users keep SQL over what port_stats, fingerprint_stats,
 * country_stats and asn_stats held:
 *
 *   SELECT port, sum(packets) FROM mamori_stats WHERE kind = 'port' AND proto = 'tcp'
 *     GROUP BY port ORDER BY 2 DESC LIMIT 10;
 *   SELECT * FROM mamori_stats WHERE interval_id = 42;
 *
 * Columns: interval_id, kind ('port', 'backscatter_port', 'fingerprint',
 * 'country', 'asn'), proto, port (ports), name (fingerprint, country code or
 * AS name), asn, packets, bytes, sources, destinations (ports), src_sketch,
 * dst_sketch.  An equality on interval_id reads one blob; anything else scans
 * the blobs in interval order (SQLite checks every constraint again).  Built
 * into mamori's store and, with MAMORI_SQLITE_EXT, into the shell extension. */
#ifdef MAMORI_SQLITE_EXT
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif
#include "../core/classify.h"
#include "stats.h"
#include "stattab.h"

#include <stdlib.h>
#include <string.h>

enum col {
    C_INTERVAL,
    C_KIND,
    C_PROTO,
    C_PORT,
    C_NAME,
    C_ASN,
    C_PACKETS,
    C_BYTES,
    C_SOURCES,
    C_DESTS,
    C_SRC,
    C_DST
};

static const char *const kind_names[] = {"port", "backscatter_port", "fingerprint", "country",
                                         "asn"};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == ROW_KINDS, "a name per row kind");

struct table {
    sqlite3_vtab base;
    sqlite3 *db;
};

struct cursor {
    sqlite3_vtab_cursor base;
    sqlite3_stmt *st; /* interval_id, stats */
    bool eof;
    void *blob; /* the current interval's copy */
    struct stats_iter it;
    struct stats_view v;
    int64_t interval, rowid;
};

static int st_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                      char **err)
{
    (void)aux, (void)argc, (void)argv, (void)err;
    int rc = sqlite3_declare_vtab(
        db, "CREATE TABLE x(interval_id INTEGER, kind TEXT, proto TEXT, port INTEGER, name TEXT,"
            " asn INTEGER, packets INTEGER, bytes INTEGER, sources INTEGER, destinations INTEGER,"
            " src_sketch BLOB, dst_sketch BLOB)");
    if (rc != SQLITE_OK) return rc;
    struct table *t = sqlite3_malloc(sizeof *t);
    if (!t) return SQLITE_NOMEM;
    memset(t, 0, sizeof *t);
    t->db = db;
    *out = &t->base;
    return SQLITE_OK;
}

static int st_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

static int st_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    (void)vt;
    info->idxNum = 0;
    info->estimatedCost = 1e6;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->usable && c->iColumn == C_INTERVAL && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
            info->aConstraintUsage[i].argvIndex = 1;
            info->idxNum = 1;
            info->estimatedCost = 100;
            break;
        }
    }
    return SQLITE_OK;
}

static int st_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    (void)vt;
    struct cursor *c = sqlite3_malloc(sizeof *c);
    if (!c) return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int st_close(sqlite3_vtab_cursor *cur)
{
    struct cursor *c = (struct cursor *)cur;
    sqlite3_finalize(c->st);
    sqlite3_free(c->blob);
    sqlite3_free(c);
    return SQLITE_OK;
}

/* Fails the statement: a blob that does not parse is a corrupt database, not
 * the end of its interval (rows would go missing without a word), so it is
 * SQLITE_CORRUPT with a message naming the interval to look at. */
static int corrupt(struct cursor *c)
{
    sqlite3_vtab *vt = c->base.pVtab;
    sqlite3_free(vt->zErrMsg);
    vt->zErrMsg = sqlite3_mprintf("mamori_stats: interval %lld: stats blob is truncated or corrupt",
                                  (long long)c->interval);
    return SQLITE_CORRUPT;
}

/* The next record, moving on to the next interval's blob at the end of one.
 * Sources records (kind STATS_SOURCES) are the blob's own and no row. */
static int advance(struct cursor *c)
{
    for (;;) {
        while (c->blob) {
            int rc = stats_iter_next(&c->it, &c->v);
            if (rc < 0) return corrupt(c);
            if (rc == 0) break;
            if (c->v.kind < ROW_KINDS) {
                c->rowid++;
                return SQLITE_OK;
            }
        }
        sqlite3_free(c->blob);
        c->blob = NULL;
        int rc = sqlite3_step(c->st);
        if (rc == SQLITE_DONE) {
            c->eof = true;
            return SQLITE_OK;
        }
        if (rc != SQLITE_ROW) return rc;
        c->interval = sqlite3_column_int64(c->st, 0);
        int n = sqlite3_column_bytes(c->st, 1);
        const void *b = sqlite3_column_blob(c->st, 1);
        if (!b) return corrupt(c);
        if (!(c->blob = sqlite3_malloc(n))) return SQLITE_NOMEM;
        memcpy(c->blob, b, (size_t)n);
        if (stats_iter_init(&c->it, c->blob, (size_t)n) < 0) return corrupt(c);
    }
}

/* A database of an older schema keeps its stats in per-row tables, not in
 * blobs: an error saying so, rather than no rows that look like no traffic. */
static int legacy(struct cursor *c)
{
    sqlite3_vtab *vt = c->base.pVtab;
    sqlite3_free(vt->zErrMsg);
    vt->zErrMsg = sqlite3_mprintf("mamori_stats: this database has no interval_stats (an older"
                                  " schema, or not a mamori database): open it once with"
                                  " mamori observe to migrate it");
    return SQLITE_ERROR;
}

static int st_filter(sqlite3_vtab_cursor *cur, int plan, const char *unused, int argc,
                     sqlite3_value **argv)
{
    (void)unused, (void)argc;
    struct cursor *c = (struct cursor *)cur;
    sqlite3_finalize(c->st);
    c->st = NULL;
    sqlite3_free(c->blob);
    c->blob = NULL;
    c->eof = false;
    c->rowid = 0;
    const char *sql = plan ? "SELECT interval_id, stats FROM interval_stats WHERE interval_id = ?"
                           : "SELECT interval_id, stats FROM interval_stats ORDER BY interval_id";
    int rc = sqlite3_prepare_v2(((struct table *)cur->pVtab)->db, sql, -1, &c->st, NULL);
    if (rc != SQLITE_OK) {
        c->eof = true;
        return legacy(c);
    }
    if (plan) sqlite3_bind_value(c->st, 1, argv[0]);
    return advance(c);
}

static int st_next(sqlite3_vtab_cursor *cur)
{
    return advance((struct cursor *)cur);
}

static int st_eof(sqlite3_vtab_cursor *cur)
{
    return ((struct cursor *)cur)->eof;
}

/* A sketch's distinct count, as mamori_distinct() gives it. */
static void result_count(sqlite3_context *ctx, const uint8_t *b, size_t n)
{
    struct sketch sk;
    sketch_init(&sk);
    if (n && sketch_merge_blob(&sk, b, n) == 0)
        sqlite3_result_int64(ctx, (sqlite3_int64)sketch_count(&sk));
    else
        sqlite3_result_int64(ctx, 0);
    sketch_free(&sk);
}

static int st_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    const struct cursor *c = (const struct cursor *)cur;
    const struct stats_view *v = &c->v;
    bool port = v->kind <= ROW_BACKSCATTER_PORT;
    char cc[3] = {(char)(v->key >> 8), (char)v->key, 0};
    switch (col) {
    case C_INTERVAL:
        sqlite3_result_int64(ctx, c->interval);
        break;
    case C_KIND:
        sqlite3_result_text(ctx, kind_names[v->kind], -1, SQLITE_STATIC);
        break;
    case C_PROTO:
        if (port) sqlite3_result_text(ctx, proto_name(v->proto), -1, SQLITE_STATIC);
        break;
    case C_PORT:
        if (port) sqlite3_result_int64(ctx, v->key);
        break;
    case C_NAME:
        if (v->kind == ROW_FINGERPRINT)
            sqlite3_result_text(ctx, fingerprint_name((enum fingerprint)v->key), -1, SQLITE_STATIC);
        else if (v->kind == ROW_COUNTRY)
            sqlite3_result_text(ctx, cc, 2, SQLITE_TRANSIENT);
        else if (v->kind == ROW_ASN)
            sqlite3_result_text(ctx, v->label, (int)v->nlabel, SQLITE_TRANSIENT);
        break;
    case C_ASN:
        if (v->kind == ROW_ASN) sqlite3_result_int64(ctx, v->key);
        break;
    case C_PACKETS:
        sqlite3_result_int64(ctx, (sqlite3_int64)v->packets);
        break;
    case C_BYTES:
        sqlite3_result_int64(ctx, (sqlite3_int64)v->bytes);
        break;
    case C_SOURCES:
        result_count(ctx, v->src, v->nsrc);
        break;
    case C_DESTS:
        if (port) result_count(ctx, v->dst, v->ndst);
        break;
    case C_SRC:
        sqlite3_result_blob(ctx, v->src, (int)v->nsrc, SQLITE_TRANSIENT);
        break;
    case C_DST:
        if (port) sqlite3_result_blob(ctx, v->dst, (int)v->ndst, SQLITE_TRANSIENT);
        break;
    }
    return SQLITE_OK;
}

static int st_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
    *out = ((const struct cursor *)cur)->rowid;
    return SQLITE_OK;
}

static const sqlite3_module st_module = {
    .xConnect = st_connect,
    .xBestIndex = st_best_index,
    .xDisconnect = st_disconnect,
    .xOpen = st_open,
    .xClose = st_close,
    .xFilter = st_filter,
    .xNext = st_next,
    .xEof = st_eof,
    .xColumn = st_column,
    .xRowid = st_rowid,
};

int stats_table_register(sqlite3 *db)
{
    return sqlite3_create_module(db, "mamori_stats", &st_module, NULL);
}
