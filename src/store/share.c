/* share — the indicator tables and their plain read/write (see share.h).
 *
 * Statements are prepared per call: sharing moves thousands of rows, not
 * millions, and a prepared-statement cache per store would be state share.h's
 * callers would have to close.  IF NOT EXISTS: a newer database whose
 * user_version was set back by hand replays this step over its own tables. */
#include "share.h"
#include "../core/err.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
const char share_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS share_indicators(kind TEXT NOT NULL, value TEXT NOT NULL,"
    " source TEXT NOT NULL, role TEXT NOT NULL, stix_id TEXT, tlp TEXT NOT NULL DEFAULT 'clear',"
    " labels TEXT, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL, received_us INTEGER NOT NULL,"
    " sightings INTEGER NOT NULL DEFAULT 1, confidence INTEGER NOT NULL DEFAULT 50,"
    " PRIMARY KEY(kind, value, source));"
    "CREATE INDEX IF NOT EXISTS share_indicators_last ON share_indicators(last_us);"
    "CREATE INDEX IF NOT EXISTS share_indicators_id ON share_indicators(stix_id);"
    "CREATE TABLE IF NOT EXISTS share_sources(name TEXT PRIMARY KEY, reliability TEXT NOT NULL,"
    " confidence INTEGER NOT NULL, identity TEXT, added_us INTEGER, last_us INTEGER);"
    "CREATE TABLE IF NOT EXISTS share_log(ts_us INTEGER NOT NULL, action TEXT NOT NULL, peer TEXT,"
    " objects INTEGER, indicators INTEGER, fresh INTEGER, duplicates INTEGER, dropped INTEGER,"
    " detail TEXT);"
    "CREATE INDEX IF NOT EXISTS share_log_ts ON share_log(ts_us);"
    /* the newest version of each STIX object a source gave (share_ingest: idempotent re-import) */
    "CREATE TABLE IF NOT EXISTS share_seen(source TEXT NOT NULL, stix_id TEXT NOT NULL,"
    " modified_us INTEGER NOT NULL, PRIMARY KEY(source, stix_id));";

#define TLP_RANK(x)                                                                           \
    "(CASE " x " WHEN 'clear' THEN 0 WHEN 'green' THEN 1 WHEN 'amber' THEN 2"                    \
    " WHEN 'amber+strict' THEN 3 ELSE 4 END)"
static const char put_sql[] =
    "INSERT INTO share_indicators(kind, value, source, role, stix_id, tlp, labels, first_us, last_us,"
    " received_us, sightings, confidence) VALUES(?1, ?2, ?3, ?4, ?5, coalesce(?6, 'clear'), ?7, ?8, ?9,"
    " ?10, ?11, ?12)"
    " ON CONFLICT(kind, value, source) DO UPDATE SET"
    " first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us),"
    " sightings = CASE WHEN source = 'local' THEN sightings + excluded.sightings"
    "  ELSE max(sightings, excluded.sightings) END,"
    " received_us = max(received_us, excluded.received_us),"
    " role = CASE WHEN ?13 OR excluded.role = 'other' THEN role ELSE excluded.role END,"
    " stix_id = coalesce(excluded.stix_id, stix_id),"
    /* the stricter marking always wins: counts and times an AMBER object told
     * never leave under the CLEAR of another */
    " tlp = CASE WHEN " TLP_RANK("excluded.tlp") " > " TLP_RANK("tlp") " THEN excluded.tlp"
    "  ELSE tlp END,"
    " labels = CASE WHEN ?13 AND labels IS NOT NULL THEN labels"
    "  WHEN json_valid(labels) AND json_valid(excluded.labels)"
    "  THEN json_patch(labels, excluded.labels) ELSE coalesce(excluded.labels, labels) END,"
    " confidence = CASE WHEN ?13 THEN confidence ELSE excluded.confidence END";
/* clang-format on */

static int db_err(sqlite3 *db, const char *what)
{
    return err_set(-EIO, "database: %s: %s", what, sqlite3_errmsg(db));
}

static void text(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static int run(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_err(db, what);
    sqlite3_finalize(st);
    return out;
}

int share_put(struct store *s, const struct share_ind *d)
{
    sqlite3 *db = store_db(s);
    if (!d->kind || !d->value || !d->source || !d->role)
        return err_set(-EINVAL, "indicator: kind, value, source and role are required");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM share_indicators WHERE kind = ?1 AND value = ?2"
                               " AND source = ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    text(st, 1, d->kind);
    text(st, 2, d->value);
    text(st, 3, d->source);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_err(db, "share lookup");
    int fresh = rc == SQLITE_DONE;
    if (sqlite3_prepare_v2(db, put_sql, -1, &st, NULL) != SQLITE_OK) return db_err(db, "prepare");
    text(st, 1, d->kind);
    text(st, 2, d->value);
    text(st, 3, d->source);
    text(st, 4, d->role);
    text(st, 5, d->stix_id);
    text(st, 6, d->tlp);
    text(st, 7, d->labels);
    sqlite3_bind_int64(st, 8, d->first_us);
    sqlite3_bind_int64(st, 9, d->last_us > d->first_us ? d->last_us : d->first_us);
    sqlite3_bind_int64(st, 10, d->received_us);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)(d->sightings ? d->sightings : 1));
    sqlite3_bind_int(st, 12, d->confidence < 0 ? 0 : d->confidence > 100 ? 100 : d->confidence);
    sqlite3_bind_int(st, 13, d->fill_only);
    int e = run(db, st, "share put");
    return e ? e : fresh;
}

int share_source_put(struct store *s, const struct share_source *src, int64_t now_us)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO share_sources(name, reliability, confidence, identity,"
                           " added_us, last_us) VALUES(?1, ?2, ?3, ?4, ?5, ?5)"
                           " ON CONFLICT(name) DO UPDATE SET reliability = excluded.reliability,"
                           " confidence = excluded.confidence,"
                           " identity = coalesce(excluded.identity, identity), last_us = ?5",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    text(st, 1, src->name);
    text(st, 2, src->reliability);
    sqlite3_bind_int(st, 3, src->confidence);
    text(st, 4, src->identity);
    sqlite3_bind_int64(st, 5, now_us);
    return run(db, st, "share source");
}

int share_source_get(struct store *s, const char *name, struct share_source *out)
{
    static __thread char buf[3][256];
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, reliability, coalesce(identity, ''), confidence FROM"
                           " share_sources WHERE name = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    text(st, 1, name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < 3; i++)
            snprintf(buf[i], sizeof buf[i], "%s", (const char *)sqlite3_column_text(st, i));
        *out = (struct share_source){.name = buf[0],
                                     .reliability = buf[1],
                                     .identity = buf[2][0] ? buf[2] : NULL,
                                     .confidence = sqlite3_column_int(st, 3)};
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 1;
    return rc == SQLITE_DONE ? 0 : db_err(db, "share source");
}

int share_log_add(struct store *s, const struct share_log_rec *r)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO share_log(ts_us, action, peer, objects, indicators, fresh,"
                           " duplicates, dropped, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    sqlite3_bind_int64(st, 1, r->ts_us);
    text(st, 2, r->action);
    text(st, 3, r->peer);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)r->objects);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)r->indicators);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)r->fresh);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)r->duplicates);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)r->dropped);
    text(st, 9, r->detail);
    return run(db, st, "share log");
}

static int exec(struct store *s, const char *sql)
{
    sqlite3 *db = store_db(s);
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_err(db, sql);
}

int share_begin(struct store *s)
{
    return exec(s, "BEGIN IMMEDIATE");
}

int share_commit(struct store *s)
{
    return exec(s, "COMMIT");
}

void share_rollback(struct store *s)
{
    sqlite3_exec(store_db(s), "ROLLBACK", NULL, NULL, NULL);
}

/* Each row's strings are copied into one arena per list (mem: a chain of blocks). */
struct arena {
    struct arena *next;
    size_t used, cap;
    char data[];
};

static const char *dup_text(struct share_ind_list *l, const unsigned char *t)
{
    if (!t) return NULL;
    size_t n = strlen((const char *)t) + 1;
    struct arena *a = l->mem;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        struct arena *b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        *b = (struct arena){.next = a, .cap = cap};
        l->mem = a = b;
    }
    char *p = a->data + a->used;
    memcpy(p, t, n);
    a->used += n;
    return p;
}

int share_read(struct store *s, const struct share_filter *f, struct share_ind_list *out)
{
    *out = (struct share_ind_list){0};
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    /* clang-format off */
    if (sqlite3_prepare_v2(db,
            "SELECT kind, value, role, source, stix_id, tlp, labels, first_us, last_us, received_us,"
            " sightings, confidence FROM share_indicators"
            " WHERE (?1 IS NULL OR source = ?1) AND (?2 IS NULL OR kind = ?2) AND last_us >= ?3"
            " AND confidence >= ?4 ORDER BY last_us DESC, kind, value, source LIMIT ?5",
            -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    /* clang-format on */
    text(st, 1, f ? f->source : NULL);
    text(st, 2, f ? f->kind : NULL);
    sqlite3_bind_int64(st, 3, f ? f->since_us : INT64_MIN);
    sqlite3_bind_int(st, 4, f ? f->min_confidence : 0);
    sqlite3_bind_int64(st, 5, f && f->limit ? (sqlite3_int64)f->limit : -1);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            struct share_ind *v = realloc(out->v, nc * sizeof *v);
            if (!v) goto oom;
            out->v = v;
            cap = nc;
        }
        struct share_ind *d = &out->v[out->n];
        const char **str[] = {&d->kind, &d->value, &d->role, &d->source,
                              &d->stix_id, &d->tlp, &d->labels};
        for (int i = 0; i < 7; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            *str[i] = dup_text(out, t);
            if (t && !*str[i]) goto oom;
        }
        d->first_us = sqlite3_column_int64(st, 7);
        d->last_us = sqlite3_column_int64(st, 8);
        d->received_us = sqlite3_column_int64(st, 9);
        d->sightings = (uint64_t)sqlite3_column_int64(st, 10);
        d->confidence = sqlite3_column_int(st, 11);
        out->n++;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return 0;
    share_ind_list_free(out);
    return db_err(db, "share read");
oom:
    sqlite3_finalize(st);
    share_ind_list_free(out);
    return err_set(-ENOMEM, "out of memory");
}

void share_ind_list_free(struct share_ind_list *l)
{
    for (struct arena *a = l->mem, *n; a; a = n) {
        n = a->next;
        free(a);
    }
    free(l->v);
    *l = (struct share_ind_list){0};
}
