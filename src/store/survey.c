/* survey — the survey's rows and its read side (see survey.h). */
#include "survey.h"
#include "../core/addr.h"
#include "../core/classify.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IF NOT EXISTS: a newer database whose user_version was set back by hand (as
 * tests make older ones) replays this step over its own tables. */
/* clang-format off */
const char survey_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS survey_rounds(round TEXT NOT NULL, tool TEXT NOT NULL, started_us INTEGER,"
    " ended_us INTEGER, targets TEXT, contact TEXT, rate INTEGER, dict_size INTEGER,"
    " sent INTEGER, hits INTEGER, PRIMARY KEY(round, tool));"
    "CREATE TABLE IF NOT EXISTS survey_open(round TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL,"
    " ts_us INTEGER, sport INTEGER, seqnum INTEGER, acknum INTEGER, window INTEGER, ttl INTEGER,"
    " classification TEXT, success INTEGER, PRIMARY KEY(round, ip, port));"
    "CREATE TABLE IF NOT EXISTS survey_findings(round TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL,"
    " protocol TEXT, ts_us INTEGER, status TEXT, banner TEXT, device TEXT,"
    " login_accepted INTEGER NOT NULL DEFAULT 0, cred_class TEXT, cred_dict TEXT,"
    " attempts INTEGER, PRIMARY KEY(round, ip, port));"
    "CREATE TABLE IF NOT EXISTS survey_notices(round TEXT NOT NULL, kind TEXT NOT NULL, ip TEXT NOT NULL,"
    " port INTEGER, protocol TEXT, owner TEXT, asn INTEGER, abuse TEXT, detail TEXT, ts_us INTEGER);"
    "CREATE INDEX IF NOT EXISTS survey_notices_round ON survey_notices(round);";

enum { Q_ROUND_START, Q_ROUND_END, Q_OPEN, Q_FINDING, Q_N };

static const char *const sql[Q_N] = {
    "INSERT INTO survey_rounds(round, tool, started_us, targets, contact, rate, dict_size,"
    " sent, hits) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0)"
    " ON CONFLICT(round, tool) DO UPDATE SET ended_us = NULL, targets = excluded.targets,"
    " contact = excluded.contact, rate = excluded.rate, dict_size = excluded.dict_size",
    "UPDATE survey_rounds SET ended_us = ?3, sent = sent + ?4, hits = hits + ?5"
    " WHERE round = ?1 AND tool = ?2",
    "INSERT INTO survey_open(round, ip, port, ts_us, sport, seqnum, acknum, window, ttl,"
    " classification, success) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    " ON CONFLICT(round, ip, port) DO UPDATE SET success = max(success, excluded.success),"
    " classification = CASE WHEN excluded.success > success THEN excluded.classification"
    " ELSE classification END",
    "INSERT OR REPLACE INTO survey_findings(round, ip, port, protocol, ts_us, status, banner,"
    " device, login_accepted, cred_class, cred_dict, attempts)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
};
/* clang-format on */

struct survey_db {
    sqlite3 *db;
    sqlite3_stmt *q[Q_N];
    bool in_tx;
};

static int db_err(sqlite3 *db, const char *what)
{
    return err_set(-EIO, "database: %s: %s", what, sqlite3_errmsg(db));
}

struct survey_db *survey_db_open(struct store *s)
{
    struct survey_db *d = calloc(1, sizeof *d);
    if (!d) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    d->db = store_db(s);
    for (int i = 0; i < Q_N; i++)
        if (sqlite3_prepare_v3(d->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->q[i], NULL) !=
            SQLITE_OK) {
            db_err(d->db, "prepare");
            survey_db_close(d);
            return NULL;
        }
    return d;
}

static void text(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static int step(struct survey_db *d, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : db_err(d->db, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return out;
}

static int put_round(struct survey_db *d, const struct survey_rec *r)
{
    bool end = r->ended_us > 0;
    sqlite3_stmt *st = d->q[end ? Q_ROUND_END : Q_ROUND_START];
    text(st, 1, r->round);
    text(st, 2, r->tool ? r->tool : "");
    if (end) {
        sqlite3_bind_int64(st, 3, r->ended_us);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)r->sent);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)r->hits);
        return step(d, st, "survey round");
    }
    sqlite3_bind_int64(st, 3, r->ts_us);
    text(st, 4, r->targets);
    text(st, 5, r->contact);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)r->rate);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)r->dict_size);
    return step(d, st, "survey round");
}

static int put_open(struct survey_db *d, const struct survey_rec *r, const char *ip)
{
    sqlite3_stmt *st = d->q[Q_OPEN];
    text(st, 1, r->round);
    text(st, 2, ip);
    sqlite3_bind_int(st, 3, r->port);
    sqlite3_bind_int64(st, 4, r->ts_us);
    sqlite3_bind_int(st, 5, r->sport);
    sqlite3_bind_int64(st, 6, r->seqnum);
    sqlite3_bind_int64(st, 7, r->acknum);
    sqlite3_bind_int(st, 8, r->window);
    sqlite3_bind_int(st, 9, r->ttl);
    text(st, 10, r->classification);
    sqlite3_bind_int(st, 11, r->success);
    return step(d, st, "survey open port");
}

static int put_finding(struct survey_db *d, const struct survey_rec *r, const char *ip)
{
    sqlite3_stmt *st = d->q[Q_FINDING];
    text(st, 1, r->round);
    text(st, 2, ip);
    sqlite3_bind_int(st, 3, r->port);
    text(st, 4, r->protocol);
    sqlite3_bind_int64(st, 5, r->ts_us);
    text(st, 6, r->status);
    text(st, 7, r->banner);
    text(st, 8, r->device);
    sqlite3_bind_int(st, 9, r->login_accepted);
    text(st, 10, r->login_accepted ? r->cred_class : NULL);
    text(st, 11, r->login_accepted ? r->cred_dict : NULL);
    sqlite3_bind_int64(st, 12, r->attempts);
    return step(d, st, "survey finding");
}

int survey_db_put(struct survey_db *d, const struct survey_rec *r)
{
    if (!r->round || !*r->round) return err_set(-EINVAL, "survey record without a round");
    if (!d->in_tx) {
        if (sqlite3_exec(d->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            return db_err(d->db, "begin");
        d->in_tx = true;
    }
    if (r->kind == SURVEY_ROUND) return put_round(d, r);
    char ip[IP_STRLEN];
    ip_format(&r->ip, ip);
    return r->kind == SURVEY_OPEN ? put_open(d, r, ip) : put_finding(d, r, ip);
}

int survey_db_commit(struct survey_db *d)
{
    if (!d->in_tx) return 0;
    if (sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(d->db, "commit");
    d->in_tx = false;
    return 0;
}

void survey_db_close(struct survey_db *d)
{
    if (!d) return;
    survey_db_commit(d);
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(d->q[i]);
    free(d);
}

/* ---- read side ---- */

static void copy(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

int survey_latest_round(struct store *s, char *out, size_t cap)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT round FROM survey_rounds WHERE tool = 'probe'"
                           " ORDER BY started_us DESC, round DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "survey rounds");
    int rc = sqlite3_step(st);
    int out_rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_err(db, "survey rounds");
    if (out_rc == 1) copy(out, cap, sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out_rc;
}

int survey_read_round(struct store *s, const char *round, const char *tool,
                      struct survey_round_info *out)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT started_us, ended_us, rate, dict_size, sent, hits, targets,"
                           " contact FROM survey_rounds WHERE round = ?1 AND tool = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "survey rounds");
    sqlite3_bind_text(st, 1, round, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, tool, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int out_rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_err(db, "survey rounds");
    if (out_rc == 1) {
        out->started_us = sqlite3_column_int64(st, 0);
        out->ended_us = sqlite3_column_int64(st, 1);
        out->rate = (uint64_t)sqlite3_column_int64(st, 2);
        out->dict_size = (uint64_t)sqlite3_column_int64(st, 3);
        out->sent = (uint64_t)sqlite3_column_int64(st, 4);
        out->hits = (uint64_t)sqlite3_column_int64(st, 5);
        copy(out->targets, sizeof out->targets, sqlite3_column_text(st, 6));
        copy(out->contact, sizeof out->contact, sqlite3_column_text(st, 7));
    }
    sqlite3_finalize(st);
    return out_rc;
}

/* The probe round started before round (by start time, then name): 1, 0 when none. */
static int previous_round(sqlite3 *db, const char *round, char *out, size_t cap)
{
    /* clang-format off */
    static const char q[] =
        "SELECT p.round FROM survey_rounds p, survey_rounds r"
        " WHERE r.round = ?1 AND r.tool = 'probe' AND p.tool = 'probe' AND p.round <> r.round"
        "   AND (p.started_us < r.started_us OR (p.started_us = r.started_us AND p.round < r.round))"
        " ORDER BY p.started_us DESC, p.round DESC LIMIT 1";
    /* clang-format on */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) return db_err(db, "survey rounds");
    sqlite3_bind_text(st, 1, round, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int out_rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_err(db, "survey rounds");
    if (out_rc == 1) copy(out, cap, sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out_rc;
}

static int round_exists(sqlite3 *db, const char *round, const char *tool)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM survey_rounds WHERE round = ?1 AND tool = ?2", -1,
                           &st, NULL) != SQLITE_OK)
        return db_err(db, "survey rounds");
    sqlite3_bind_text(st, 1, round, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, tool, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_err(db, "survey rounds");
}

/* Whether round has a scan that ran to its end: an interrupted scan's missing
 * ports say nothing about the addresses it never reached. */
static int scan_ended(sqlite3 *db, const char *round)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM survey_rounds WHERE round = ?1 AND tool = 'scan'"
                               " AND ended_us IS NOT NULL", -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "survey rounds");
    sqlite3_bind_text(st, 1, round, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_err(db, "survey rounds");
}

static int push(struct survey_findings *f, size_t *cap, const struct survey_finding *x)
{
    if (f->n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 64;
        struct survey_finding *g = realloc(f->v, ncap * sizeof *g);
        if (!g) return err_set(-ENOMEM, "survey: out of memory");
        f->v = g;
        *cap = ncap;
    }
    f->v[f->n++] = *x;
    return 0;
}

static int finding_cmp(const void *a, const void *b)
{
    const struct survey_finding *x = a, *y = b;
    struct ipaddr p, q;
    if (ip_parse(x->ip, &p) == 0 && ip_parse(y->ip, &q) == 0) {
        int c = memcmp(p.b, q.b, 16);
        if (c) return c;
    }
    return (int)x->port - (int)y->port;
}

int survey_read_findings(struct store *s, const char *round, struct survey_findings *out)
{
    sqlite3 *db = store_db(s);
    memset(out, 0, sizeof *out);
    snprintf(out->round, sizeof out->round, "%s", round);
    int rc = round_exists(db, round, "probe");
    if (rc == 0) return err_set(-ENOENT, "survey: no probe round '%s' in the database", round);
    if (rc < 0) return rc;
    rc = previous_round(db, round, out->prev, sizeof out->prev);
    if (rc < 0) return rc;
    int scanned = scan_ended(db, round);
    if (scanned < 0) return scanned;
    /* ?1 this round, ?2 the previous (NULL: none), ?3 whether this round has a scan.
     * state 0 vulnerable now, 1 fixed, 2 not re-tested. */
    /* clang-format off */
    static const char q[] =
        "SELECT ip, port, protocol, cred_class, device, ts_us, 0 FROM survey_findings"
        " WHERE round = ?1 AND login_accepted"
        " UNION ALL "
        "SELECT p.ip, p.port, p.protocol, p.cred_class, p.device,"
        "  coalesce(r.ts_us, (SELECT ended_us FROM survey_rounds WHERE round = ?1 AND tool = 'scan')),"
        "  CASE WHEN r.status IN ('success', 'connection-refused') THEN 1"
        "       WHEN ?3 AND NOT EXISTS (SELECT 1 FROM survey_open o WHERE o.round = ?1"
        "            AND o.ip = p.ip AND o.port = p.port AND o.success) THEN 1 ELSE 2 END"
        " FROM survey_findings p LEFT JOIN survey_findings r"
        "   ON r.round = ?1 AND r.ip = p.ip AND r.port = p.port"
        " WHERE p.round = ?2 AND p.login_accepted AND coalesce(r.login_accepted, 0) = 0";
    /* clang-format on */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) return db_err(db, "survey findings");
    sqlite3_bind_text(st, 1, round, -1, SQLITE_TRANSIENT);
    if (*out->prev) sqlite3_bind_text(st, 2, out->prev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, scanned);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct survey_finding x = {0};
        copy(x.ip, sizeof x.ip, sqlite3_column_text(st, 0));
        x.port = (uint16_t)sqlite3_column_int(st, 1);
        copy(x.protocol, sizeof x.protocol, sqlite3_column_text(st, 2));
        copy(x.cred_class, sizeof x.cred_class, sqlite3_column_text(st, 3));
        copy(x.device, sizeof x.device, sqlite3_column_text(st, 4));
        x.ts_us = sqlite3_column_int64(st, 5);
        x.state = (enum survey_state)sqlite3_column_int(st, 6);
        if (push(out, &cap, &x) < 0) {
            sqlite3_finalize(st);
            survey_findings_free(out);
            return -ENOMEM;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        survey_findings_free(out);
        return db_err(db, "survey findings");
    }
    if (out->n) qsort(out->v, out->n, sizeof *out->v, finding_cmp);
    return 0;
}

void survey_findings_free(struct survey_findings *f)
{
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

static int infected_push(struct survey_infected **v, size_t *n, size_t *cap, sqlite3_stmt *st)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 64;
        struct survey_infected *g = realloc(*v, ncap * sizeof *g);
        if (!g) return err_set(-ENOMEM, "survey: out of memory");
        *v = g;
        *cap = ncap;
    }
    struct survey_infected *x = &(*v)[(*n)++];
    memset(x, 0, sizeof *x);
    copy(x->ip, sizeof x->ip, sqlite3_column_text(st, 0));
    copy(x->why, sizeof x->why, sqlite3_column_text(st, 1));
    x->first_us = sqlite3_column_int64(st, 2);
    x->last_us = sqlite3_column_int64(st, 3);
    x->packets = (uint64_t)sqlite3_column_int64(st, 4);
    x->asn = (uint32_t)sqlite3_column_int64(st, 5);
    copy(x->as_name, sizeof x->as_name, sqlite3_column_text(st, 6));
    return 0;
}

static int infected_cmp(const void *a, const void *b)
{
    const struct survey_infected *x = a, *y = b;
    struct ipaddr p, q;
    if (ip_parse(x->ip, &p) == 0 && ip_parse(y->ip, &q) == 0) {
        int c = memcmp(p.b, q.b, 16);
        if (c) return c;
    }
    return strcmp(x->why, y->why);
}

int survey_read_infected(struct store *s, int64_t since_us, int64_t until_us,
                         struct survey_infected **v, size_t *n)
{
    sqlite3 *db = store_db(s);
    *v = NULL;
    *n = 0;
    /* ?1 ?2 the window in seconds for the event windows overlapping it, ?3 ?4 in µs,
     * ?5 the pattern of a fingerprint list naming Mirai */
    /* clang-format off */
    static const char q[] =
        "SELECT ip, 'mirai-fingerprint', min(first_seen_us), max(last_seen_us), sum(packets),"
        "  max(asn), max(as_name)"
        " FROM mamori_events(?1, ?2)"
        " WHERE ',' || fingerprints || ',' LIKE ?5 AND last_seen_us >= ?3 AND first_seen_us < ?4"
        " GROUP BY ip"
        " UNION ALL "
        "SELECT value, CASE type WHEN 'attacker-ip' THEN 'honeypot-login' ELSE 'honeypot-loader' END,"
        "  first_seen_us, last_seen_us, 0, 0, ''"
        " FROM indicators WHERE type IN ('attacker-ip', 'loader-ip')"
        "  AND last_seen_us >= ?3 AND first_seen_us < ?4";
    /* clang-format on */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) return db_err(db, "infected hosts");
    sqlite3_bind_int64(st, 1, since_us / 1000000);
    sqlite3_bind_int64(st, 2, until_us / 1000000 + 1);
    sqlite3_bind_int64(st, 3, since_us);
    sqlite3_bind_int64(st, 4, until_us);
    char pat[64];
    snprintf(pat, sizeof pat, "%%,%s,%%", fp_defs[FP_MIRAI].name);
    sqlite3_bind_text(st, 5, pat, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (infected_push(v, n, &cap, st) < 0) {
            sqlite3_finalize(st);
            free(*v);
            *v = NULL;
            *n = 0;
            return -ENOMEM;
        }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*v);
        *v = NULL;
        *n = 0;
        return db_err(db, "infected hosts");
    }
    if (*n) qsort(*v, *n, sizeof **v, infected_cmp);
    return 0;
}

int survey_store_notices(struct store *s, const char *round, const struct survey_notice *v,
                         size_t n)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *del = NULL, *ins = NULL;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(db, "notices");
    int rc = 0;
    if (sqlite3_prepare_v2(db, "DELETE FROM survey_notices WHERE round = ?1", -1, &del, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO survey_notices(round, kind, ip, port, protocol, owner, asn,"
                           " abuse, detail, ts_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           -1, &ins, NULL) != SQLITE_OK)
        rc = db_err(db, "notices");
    if (rc == 0) {
        sqlite3_bind_text(del, 1, round, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(del) != SQLITE_DONE) rc = db_err(db, "notices");
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct survey_notice *x = &v[i];
        sqlite3_bind_text(ins, 1, round, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, x->kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, x->ip, -1, SQLITE_TRANSIENT);
        if (x->port) sqlite3_bind_int(ins, 4, x->port);
        text(ins, 5, x->protocol);
        text(ins, 6, x->owner);
        if (x->asn) sqlite3_bind_int64(ins, 7, x->asn);
        text(ins, 8, x->abuse);
        text(ins, 9, x->detail);
        sqlite3_bind_int64(ins, 10, x->ts_us);
        if (sqlite3_step(ins) != SQLITE_DONE) rc = db_err(db, "notices");
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(db, "notices");
    if (rc < 0) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Rows of a query as an array of objects, columns named as the query names them. */
static json_t *rows(sqlite3 *db, const char *q)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        db_err(db, "survey view");
        return NULL;
    }
    json_t *a = json_array();
    int rc;
    while (a && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; o && i < sqlite3_column_count(st); i++) {
            const char *k = sqlite3_column_name(st, i);
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER: json_object_set_new(o, k, json_integer(sqlite3_column_int64(st, i))); break;
            case SQLITE_FLOAT: json_object_set_new(o, k, json_real(sqlite3_column_double(st, i))); break;
            case SQLITE_NULL: json_object_set_new(o, k, json_null()); break;
            default: { /* owner names come from feeds: always a string, valid UTF-8 */
                char *u = esc_utf8((const char *)sqlite3_column_text(st, i),
                                   (size_t)sqlite3_column_bytes(st, i));
                json_object_set_new(o, k, json_string(u ? u : ""));
                free(u);
            }
            }
        }
        json_array_append_new(a, o);
    }
    if (a && rc != SQLITE_DONE) {
        db_err(db, "survey view");
        json_decref(a);
        a = NULL;
    }
    sqlite3_finalize(st);
    return a;
}

/* Whether the survey's tables are there: a database older than schema 8, opened
 * read-only, has none, which is an empty survey, not an error. */
static int has_tables(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                               " ('survey_rounds', 'survey_findings', 'survey_notices')",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "survey view");
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n < 0 ? db_err(db, "survey view") : n == 3;
}

json_t *query_survey(struct store *s)
{
    sqlite3 *db = store_db(s);
    int has = has_tables(db);
    if (has < 0) return NULL;
    if (!has) return json_pack("{s:[],s:[],s:[]}", "rounds", "findings", "notices");
    /* clang-format off */
    static const char rounds[] =
        "SELECT round, tool, started_us, ended_us, targets, contact, rate, dict_size, sent, hits"
        " FROM survey_rounds ORDER BY started_us, round, tool";
    static const char findings[] =
        "SELECT f.round, f.protocol, count(*) AS probed, sum(f.login_accepted) AS accepted"
        " FROM survey_findings f JOIN survey_rounds r ON r.round = f.round AND r.tool = 'probe'"
        " GROUP BY f.round, f.protocol ORDER BY r.started_us, f.round, f.protocol";
    static const char notices[] =
        "SELECT n.round, n.owner, n.asn, n.abuse, n.kind, count(DISTINCT n.ip) AS hosts,"
        " count(*) AS findings"
        " FROM survey_notices n LEFT JOIN survey_rounds r ON r.round = n.round AND r.tool = 'probe'"
        " GROUP BY n.round, n.owner, n.kind ORDER BY r.started_us, n.round,"
        " CASE n.kind WHEN 'vulnerable' THEN 0 WHEN 'not-retested' THEN 1 WHEN 'fixed' THEN 2"
        " ELSE 3 END, hosts DESC, n.owner";
    /* clang-format on */
    json_t *o = json_object(), *a = rows(db, rounds), *b = a ? rows(db, findings) : NULL,
           *c = b ? rows(db, notices) : NULL;
    if (!o || !c) {
        json_decref(o);
        json_decref(a);
        json_decref(b);
        if (!o) err_set(-ENOMEM, "survey view: out of memory");
        return NULL;
    }
    json_object_set_new(o, "rounds", a);
    json_object_set_new(o, "findings", b);
    json_object_set_new(o, "notices", c);
    return o;
}
