/* taxii — collections' objects and POST statuses (see taxii.h).
 *
 * The read query is built from the filter as one statement with bound
 * values (never the values' text in the SQL): each match[] is an IN list,
 * "last"/"first" compare with the extreme version of the same object in the
 * collection, and the default spec_version is the newest of the object.  The
 * page is fetched with one row more than asked to know whether more follow.
 * Keyset paging on (added_us, rowid): a page's cursor stays right while rows
 * are being added, where an offset would shift. */
#include "taxii.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/stix.h"
#include "share.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
const char taxii_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS taxii_objects(collection TEXT NOT NULL, id TEXT NOT NULL,"
    " version TEXT NOT NULL, version_us INTEGER NOT NULL, type TEXT NOT NULL, spec_version TEXT,"
    " added_us INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY(collection, id, version_us));"
    "CREATE INDEX IF NOT EXISTS taxii_objects_added ON taxii_objects(collection, added_us);"
    "CREATE TABLE IF NOT EXISTS taxii_status(id TEXT PRIMARY KEY, collection TEXT NOT NULL,"
    " status TEXT NOT NULL, request_us INTEGER NOT NULL, total INTEGER, success INTEGER,"
    " failure INTEGER, pending INTEGER, detail TEXT);"
    "CREATE TABLE IF NOT EXISTS taxii_pulls(url TEXT PRIMARY KEY, last_added TEXT NOT NULL,"
    " pulled_us INTEGER NOT NULL);";
/* clang-format on */

static int db_err(sqlite3 *db, const char *what)
{
    return err_set(-EIO, "database: %s: %s", what, sqlite3_errmsg(db));
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t next_added(sqlite3 *db, const char *coll, int64_t now_us)
{
    sqlite3_stmt *st;
    int64_t last = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(added_us) FROM taxii_objects WHERE collection = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, coll, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) last = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return last >= now_us ? last + 1 : now_us;
}

int taxii_db_add(struct store *s, const char *coll, const json_t *obj, int64_t now_us)
{
    sqlite3 *db = store_db(s);
    const char *type = jstr(obj, "type"), *id = jstr(obj, "id");
    if (!json_is_object(obj) || !type || !id || !*type || !*id)
        return err_set(-EINVAL, "taxii: an object without a type or id");
    const char *spec = jstr(obj, "spec_version");
    const char *ver = jstr(obj, "modified");
    if (!ver) ver = jstr(obj, "created");
    int64_t added = next_added(db, coll, now_us), ver_us;
    if (added < 0) return db_err(db, "taxii date_added");
    char buf[32];
    if (!ver || stix_time_parse(ver, &ver_us) < 0) { /* no version of its own: date_added */
        /* the same SCO again keeps its first date_added, so its version */
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM taxii_objects WHERE collection = ?1 AND id = ?2",
                               -1, &q, NULL) != SQLITE_OK)
            return db_err(db, "prepare");
        sqlite3_bind_text(q, 1, coll, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 2, id, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(q);
        sqlite3_finalize(q);
        if (rc == SQLITE_ROW) return 0;
        if (rc != SQLITE_DONE) return db_err(db, "taxii lookup");
        ver_us = added;
        ver = cli_iso_us(added, buf);
    }
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) return err_set(-ENOMEM, "taxii: out of memory");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            db,
            "INSERT OR IGNORE INTO taxii_objects(collection, id, version, version_us,"
            " type, spec_version, added_us, json) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
            -1, &st, NULL) != SQLITE_OK) {
        free(text);
        return db_err(db, "prepare");
    }
    sqlite3_bind_text(st, 1, coll, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ver, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, ver_us);
    sqlite3_bind_text(st, 5, type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, spec ? spec : "2.1", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, added);
    sqlite3_bind_text(st, 8, text, -1, free);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_err(db, "taxii insert");
    return sqlite3_changes(db) > 0;
}

int taxii_db_publish(struct store *s, const char *collection, const json_t *objects, int64_t now_us,
                     uint64_t *added)
{
    *added = 0;
    if (json_is_object(objects)) objects = json_object_get(objects, "objects");
    if (!json_is_array(objects)) return err_set(-EINVAL, "taxii: no objects to publish");
    int rc = share_begin(s);
    if (rc) return rc;
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o)
    {
        rc = taxii_db_add(s, collection, o, now_us);
        if (rc < 0) {
            share_rollback(s);
            *added = 0;
            return rc;
        }
        *added += (uint64_t)rc;
    }
    rc = share_commit(s);
    if (rc) {
        share_rollback(s);
        *added = 0;
    }
    return rc;
}

/* ---- the read side ---- */

struct sql {
    char text[4096];
    size_t len;
    bool full;
    struct bind {
        const char *s;
        int64_t i;
    } b[8 * TAXII_MATCH_MAX];
    int n;
};

static void add(struct sql *q, const char *t)
{
    size_t n = strlen(t);
    if (q->len + n >= sizeof q->text) {
        q->full = true;
        return;
    }
    memcpy(q->text + q->len, t, n + 1);
    q->len += n;
}

static void bind_s(struct sql *q, const char *s)
{
    if (q->n == (int)(sizeof q->b / sizeof q->b[0])) {
        q->full = true;
        return;
    }
    q->b[q->n++] = (struct bind){s, 0};
    add(q, "?");
}

static void bind_i(struct sql *q, int64_t i)
{
    if (q->n == (int)(sizeof q->b / sizeof q->b[0])) {
        q->full = true;
        return;
    }
    q->b[q->n++] = (struct bind){NULL, i};
    add(q, "?");
}

static void in_list(struct sql *q, const char *col, const char *const *v, size_t n)
{
    add(q, " AND ");
    add(q, col);
    add(q, " IN (");
    for (size_t i = 0; i < n; i++) {
        if (i) add(q, ",");
        bind_s(q, v[i]);
    }
    add(q, ")");
}

/* The WHERE clause of f on collection (alias o), without the cursor. */
static void where(struct sql *q, const char *coll, const struct taxii_filter *f, bool versions,
                  bool any_spec)
{
    add(q, " WHERE o.collection = ");
    bind_s(q, coll);
    if (f->n_ids) in_list(q, "o.id", f->ids, f->n_ids);
    if (f->n_types) in_list(q, "o.type", f->types, f->n_types);
    if (f->n_specs)
        in_list(q, "o.spec_version", f->specs, f->n_specs);
    else if (!any_spec)
        add(q, " AND o.spec_version = (SELECT max(p.spec_version) FROM taxii_objects p"
               " WHERE p.collection = o.collection AND p.id = o.id)");
    unsigned fl = f->vflags;
    if (!fl && !f->n_versions) fl = versions ? TAXII_V_ALL : TAXII_V_LAST;
    if (fl & TAXII_V_ALL) return;
    add(q, " AND (0");
    if (fl & TAXII_V_LAST)
        add(q, " OR o.version_us = (SELECT max(p.version_us) FROM taxii_objects p"
               " WHERE p.collection = o.collection AND p.id = o.id)");
    if (fl & TAXII_V_FIRST)
        add(q, " OR o.version_us = (SELECT min(p.version_us) FROM taxii_objects p"
               " WHERE p.collection = o.collection AND p.id = o.id)");
    if (f->n_versions) {
        add(q, " OR o.version_us IN (");
        for (size_t i = 0; i < f->n_versions; i++) {
            if (i) add(q, ",");
            bind_i(q, f->versions[i]);
        }
        add(q, ")");
    }
    add(q, ")");
}

static int prepare(sqlite3 *db, struct sql *q, sqlite3_stmt **st)
{
    if (q->full) return err_set(-E2BIG, "taxii: filter too long");
    if (sqlite3_prepare_v2(db, q->text, -1, st, NULL) != SQLITE_OK) return db_err(db, "prepare");
    for (int i = 0; i < q->n; i++) {
        if (q->b[i].s)
            sqlite3_bind_text(*st, i + 1, q->b[i].s, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(*st, i + 1, q->b[i].i);
    }
    return 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

int taxii_db_query(struct store *s, const char *coll, const struct taxii_filter *f,
                   struct taxii_page *out)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = store_db(s);
    size_t limit = f->limit ? f->limit : 1;
    struct sql *q = calloc(1, sizeof *q);
    if (!q) return err_set(-ENOMEM, "taxii: out of memory");
    add(q, "SELECT o.rowid, o.added_us, o.version_us, o.id, o.type, o.version, o.spec_version,"
           " o.json FROM taxii_objects o");
    where(q, coll, f, false, false);
    if (f->have_added_after) {
        add(q, " AND o.added_us > ");
        bind_i(q, f->added_after);
    }
    if (f->have_cursor) {
        add(q, " AND (o.added_us, o.rowid) > (");
        bind_i(q, f->cursor_added);
        add(q, ", ");
        bind_i(q, f->cursor_row);
        add(q, ")");
    }
    add(q, " ORDER BY o.added_us, o.rowid LIMIT ");
    bind_i(q, (int64_t)limit + 1);
    sqlite3_stmt *st;
    int rc = prepare(db, q, &st);
    free(q);
    if (rc) return rc;
    out->v = calloc(limit < 1024 ? limit : 1024, sizeof *out->v);
    size_t cap = limit < 1024 ? limit : 1024;
    if (!out->v) rc = err_set(-ENOMEM, "taxii: out of memory");
    while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = 0;
        if (out->n == limit) {
            out->more = true;
            break;
        }
        if (out->n == cap) {
            struct taxii_row *v = realloc(out->v, 2 * cap * sizeof *v);
            if (!v) {
                rc = err_set(-ENOMEM, "taxii: out of memory");
                break;
            }
            out->v = v;
            cap *= 2;
        }
        struct taxii_row *r = &out->v[out->n++];
        r->row = sqlite3_column_int64(st, 0);
        r->added_us = sqlite3_column_int64(st, 1);
        r->version_us = sqlite3_column_int64(st, 2);
        r->id = col_dup(st, 3);
        r->type = col_dup(st, 4);
        r->version = col_dup(st, 5);
        r->spec_version = col_dup(st, 6);
        r->json = col_dup(st, 7);
        if (!r->id || !r->type || !r->version || !r->spec_version || !r->json)
            rc = err_set(-ENOMEM, "taxii: out of memory");
    }
    if (rc == SQLITE_DONE) rc = 0;
    if (rc > 0) rc = db_err(db, "taxii query");
    sqlite3_finalize(st);
    if (!rc && out->more && out->n) {
        out->next_added = out->v[out->n - 1].added_us;
        out->next_row = out->v[out->n - 1].row;
    }
    if (rc) taxii_page_free(out);
    return rc;
}

void taxii_page_free(struct taxii_page *p)
{
    for (size_t i = 0; p->v && i < p->n; i++) {
        free(p->v[i].id);
        free(p->v[i].type);
        free(p->v[i].version);
        free(p->v[i].spec_version);
        free(p->v[i].json);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

int64_t taxii_db_count(struct store *s, const char *coll, const char *id)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM taxii_objects WHERE collection = ?1 AND id = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    sqlite3_bind_text(st, 1, coll, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n < 0 ? db_err(db, "taxii count") : n;
}

int64_t taxii_db_delete(struct store *s, const char *coll, const char *id,
                        const struct taxii_filter *f)
{
    sqlite3 *db = store_db(s);
    struct taxii_filter g = *f;
    g.ids[0] = id;
    g.n_ids = 1;
    g.n_types = 0;
    if (!g.vflags && !g.n_versions) g.vflags = TAXII_V_ALL;
    struct sql *q = calloc(1, sizeof *q);
    if (!q) return err_set(-ENOMEM, "taxii: out of memory");
    add(q, "DELETE FROM taxii_objects WHERE rowid IN (SELECT o.rowid FROM taxii_objects o");
    where(q, coll, &g, true, true); /* every spec_version unless asked */
    add(q, ")");
    sqlite3_stmt *st;
    int rc = prepare(db, q, &st);
    free(q);
    if (rc) return rc;
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_err(db, "taxii delete");
    return sqlite3_changes(db);
}

/* ---- status resources ---- */

static int64_t count_of(const json_t *st, const char *k)
{
    return json_integer_value(json_object_get(st, k));
}

int taxii_db_status_put(struct store *s, const char *coll, const json_t *status, int64_t request_us)
{
    sqlite3 *db = store_db(s);
    const char *id = jstr(status, "id"), *state = jstr(status, "status");
    if (!id || !state) return err_set(-EINVAL, "taxii: a status without id or status");
    char *text = json_dumps(status, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) return err_set(-ENOMEM, "taxii: out of memory");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO taxii_status(id, collection, status, request_us,"
                           " total, success, failure, pending, detail)"
                           " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &st, NULL) != SQLITE_OK) {
        free(text);
        return db_err(db, "prepare");
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, coll, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, request_us);
    sqlite3_bind_int64(st, 5, count_of(status, "total_count"));
    sqlite3_bind_int64(st, 6, count_of(status, "success_count"));
    sqlite3_bind_int64(st, 7, count_of(status, "failure_count"));
    sqlite3_bind_int64(st, 8, count_of(status, "pending_count"));
    sqlite3_bind_text(st, 9, text, -1, free);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(db, "taxii status");
}

int taxii_db_status_get(struct store *s, const char *id, json_t **status, char *coll, size_t cap)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    *status = NULL;
    if (sqlite3_prepare_v2(db, "SELECT collection, detail FROM taxii_status WHERE id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(coll, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        const char *d = (const char *)sqlite3_column_text(st, 1);
        *status = d ? json_loads(d, 0, NULL) : NULL;
        rc = *status ? 1 : err_set(-EIO, "taxii: status %s unreadable", id);
    } else {
        rc = rc == SQLITE_DONE ? 0 : db_err(db, "taxii status");
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- the client's memory ---- */

int taxii_db_pull_get(struct store *s, const char *url, char *last, size_t cap)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT last_added FROM taxii_pulls WHERE url = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    sqlite3_bind_text(st, 1, url, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) snprintf(last, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_err(db, "taxii pulls");
    sqlite3_finalize(st);
    return rc;
}

int taxii_db_pull_put(struct store *s, const char *url, const char *last, int64_t now_us)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO taxii_pulls(url, last_added, pulled_us)"
                           " VALUES(?1, ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    sqlite3_bind_text(st, 1, url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, last, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now_us);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(db, "taxii pulls");
}
