/* sqlfn — SQL functions of the data model, registered on every connection.
 *
 *   mamori_distinct(blob)  aggregate: distinct count of the union of sketch blobs
 *   mamori_sketch(blob)    aggregate: that union itself, as a blob (hourly rollups)
 *   mamori_union(list)     aggregate: union of comma-separated lists, capped
 *   mamori_events          virtual table: the packed per-source events as rows (evtab.c)
 *
 * Window unions happen inside SQLite so that one GROUP BY does the work. */
#include "sqlfn.h"
#include "stattab.h"
#include "evtab.h"
#include "../core/err.h"
#include "../core/sketch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void distinct_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sketch **sk = sqlite3_aggregate_context(ctx, sizeof *sk);
    if (!sk) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (!*sk && !(*sk = calloc(1, sizeof **sk))) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (sqlite3_value_type(argv[0]) != SQLITE_BLOB) return;
    if (sketch_merge_blob(*sk, sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0])) <
        0)
        sqlite3_result_error(ctx, err_msg(), -1);
}

static void distinct_final(sqlite3_context *ctx)
{
    struct sketch **sk = sqlite3_aggregate_context(ctx, 0);
    if (!sk || !*sk) {
        sqlite3_result_int64(ctx, 0);
        return;
    }
    sqlite3_result_int64(ctx, (sqlite3_int64)sketch_count(*sk));
    sketch_free(*sk);
    free(*sk);
}

static void sketch_final(sqlite3_context *ctx)
{
    struct sketch **sk = sqlite3_aggregate_context(ctx, 0);
    struct sketch empty;
    sketch_init(&empty);
    uint8_t *buf;
    size_t len;
    if (sketch_encode(sk && *sk ? *sk : &empty, &buf, &len) < 0)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_blob64(ctx, buf, len, free);
    if (sk && *sk) {
        sketch_free(*sk);
        free(*sk);
    }
}

/* mamori_union(list): the union of comma-separated lists, first-seen order,
 * at most UNION_MAX items (ports and fingerprints over event windows). */
#define UNION_MAX 32

struct union_ctx {
    char buf[UNION_MAX * 14];
    size_t len;
    int items;
};

static bool union_has(const struct union_ctx *u, const char *item, size_t n)
{
    for (const char *q = u->buf; q < u->buf + u->len;) {
        size_t m = strcspn(q, ",");
        if (m == n && memcmp(q, item, n) == 0) return true;
        q += m + 1;
    }
    return false;
}

static void union_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct union_ctx *u = sqlite3_aggregate_context(ctx, sizeof *u);
    const char *s = (const char *)sqlite3_value_text(argv[0]);
    if (!u || !s) return;
    while (*s && u->items < UNION_MAX) {
        size_t n = strcspn(s, ",");
        if (n && n < 13 && !union_has(u, s, n)) {
            if (u->len) u->buf[u->len++] = ',';
            memcpy(u->buf + u->len, s, n);
            u->len += n;
            u->items++;
        }
        s += n + (s[n] == ',');
    }
}

static void union_final(sqlite3_context *ctx)
{
    struct union_ctx *u = sqlite3_aggregate_context(ctx, 0);
    if (!u)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_text(ctx, u->buf, (int)u->len, SQLITE_TRANSIENT);
}

int store_sql_register(sqlite3 *db)
{
    if (sqlite3_create_function(db, "mamori_distinct", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                NULL, distinct_step, distinct_final) != SQLITE_OK ||
        sqlite3_create_function(db, "mamori_union", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                NULL, union_step, union_final) != SQLITE_OK ||
        sqlite3_create_function(db, "mamori_sketch", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                NULL, distinct_step, sketch_final) != SQLITE_OK ||
        ev_table_register(db) != SQLITE_OK || stats_table_register(db) != SQLITE_OK)
        return err_set(-EIO, "cannot register SQL functions: %s", sqlite3_errmsg(db));
    return 0;
}
