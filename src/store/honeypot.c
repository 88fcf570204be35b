/* honeypot — lure's rows (see honeypot.h). */
#include "honeypot.h"
#include "../core/err.h"
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>

enum { Q_SESSION, Q_CLOSE, Q_LOGIN, Q_COMMAND, Q_DOWNLOAD, Q_INDICATOR, Q_N };

struct honeypot_db {
    struct store *store;
    sqlite3 *db;
    sqlite3_stmt *q[Q_N];
    bool in_tx;
};

/* clang-format off */
static const char *const sql[Q_N] = {
    "INSERT OR IGNORE INTO lure_sessions(session, sensor, persona, protocol, src_ip, src_port,"
    " dst_ip, dst_port, start_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    "UPDATE lure_sessions SET end_us = ?2, username = ?3, password = ?4, login_ok = ?5,"
    " logins = ?6, commands = ?7, downloads = ?8, term = ?9, width = ?10, height = ?11,"
    " bytes_in = ?12, close_reason = ?13 WHERE session = ?1",
    "INSERT INTO lure_logins(session, ts_us, username, password, success)"
    " VALUES(?1, ?2, ?3, ?4, ?5)",
    "INSERT INTO lure_commands(session, ts_us, input) VALUES(?1, ?2, ?3)",
    "INSERT INTO lure_downloads(session, ts_us, kind, tool, url, host, path, sha256, size)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    "INSERT INTO indicators(type, value, source, first_seen_us, last_seen_us, count)"
    " VALUES(?1, ?2, ?3, ?4, ?4, 1) ON CONFLICT(type, value) DO UPDATE SET"
    " first_seen_us = min(first_seen_us, excluded.first_seen_us),"
    " last_seen_us = max(last_seen_us, excluded.last_seen_us), count = count + 1",
};
/* clang-format on */

static int db_err(struct honeypot_db *h, const char *what)
{
    return err_set(-EIO, "database: %s: %s", what, sqlite3_errmsg(h->db));
}

struct honeypot_db *honeypot_db_open(struct store *s)
{
    struct honeypot_db *h = calloc(1, sizeof *h);
    if (!h) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    h->store = s;
    h->db = store_db(s);
    for (int i = 0; i < Q_N; i++)
        if (sqlite3_prepare_v3(h->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &h->q[i], NULL) !=
            SQLITE_OK) {
            db_err(h, "prepare");
            honeypot_db_close(h);
            return NULL;
        }
    return h;
}

/* The statement, inside the open transaction (begun when none is). */
static sqlite3_stmt *q(struct honeypot_db *h, int which)
{
    if (!h->in_tx) {
        if (sqlite3_exec(h->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) return NULL;
        h->in_tx = true;
    }
    return h->q[which];
}

static void text(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static int step(struct honeypot_db *h, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : db_err(h, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return out;
}

static int session_open(struct honeypot_db *h, sqlite3_stmt *st, const struct session_rec *r)
{
    text(st, 1, r->session);
    text(st, 2, r->sensor);
    text(st, 3, r->persona);
    text(st, 4, r->protocol);
    text(st, 5, r->src_ip);
    sqlite3_bind_int(st, 6, r->src_port);
    text(st, 7, r->dst_ip);
    sqlite3_bind_int(st, 8, r->dst_port);
    sqlite3_bind_int64(st, 9, r->ts_us);
    return step(h, st, "session");
}

static int session_close(struct honeypot_db *h, sqlite3_stmt *st, const struct session_rec *r)
{
    text(st, 1, r->session);
    sqlite3_bind_int64(st, 2, r->ts_us);
    text(st, 3, r->username);
    text(st, 4, r->password);
    sqlite3_bind_int(st, 5, r->success);
    sqlite3_bind_int(st, 6, (int)r->logins);
    sqlite3_bind_int(st, 7, (int)r->commands);
    sqlite3_bind_int(st, 8, (int)r->downloads);
    text(st, 9, r->term);
    if (r->width) sqlite3_bind_int(st, 10, r->width);
    if (r->height) sqlite3_bind_int(st, 11, r->height);
    sqlite3_bind_int64(st, 12, r->bytes_in);
    text(st, 13, r->reason);
    return step(h, st, "session close");
}

int honeypot_db_session(struct honeypot_db *h, const struct session_rec *r)
{
    static const int which[] = {[SESSION_OPEN] = Q_SESSION,
                                [SESSION_LOGIN] = Q_LOGIN,
                                [SESSION_COMMAND] = Q_COMMAND,
                                [SESSION_DOWNLOAD] = Q_DOWNLOAD,
                                [SESSION_CLOSE] = Q_CLOSE};
    sqlite3_stmt *st = q(h, which[r->step]);
    if (!st) return db_err(h, "begin");
    if (r->step == SESSION_OPEN) return session_open(h, st, r);
    if (r->step == SESSION_CLOSE) return session_close(h, st, r);
    text(st, 1, r->session); /* a step of the session: session, time, then its own */
    sqlite3_bind_int64(st, 2, r->ts_us);
    if (r->step == SESSION_LOGIN) {
        text(st, 3, r->username);
        text(st, 4, r->password);
        sqlite3_bind_int(st, 5, r->success);
        return step(h, st, "login");
    }
    if (r->step == SESSION_COMMAND) {
        text(st, 3, r->input);
        return step(h, st, "command");
    }
    text(st, 3, r->dl_kind);
    text(st, 4, r->tool);
    text(st, 5, r->url);
    text(st, 6, r->host);
    text(st, 7, r->path);
    text(st, 8, r->sha256);
    if (r->size >= 0) sqlite3_bind_int64(st, 9, r->size);
    return step(h, st, "download");
}

int honeypot_db_indicator(struct honeypot_db *h, const struct indicator_rec *r)
{
    sqlite3_stmt *st = q(h, Q_INDICATOR);
    if (!st) return db_err(h, "begin");
    text(st, 1, r->type);
    text(st, 2, r->value);
    text(st, 3, r->source);
    sqlite3_bind_int64(st, 4, r->ts_us);
    return step(h, st, "indicator");
}

int honeypot_db_commit(struct honeypot_db *h)
{
    if (!h->in_tx) return 0;
    /* busy: the rows stay in the open transaction and go with the next commit */
    if (sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) return db_err(h, "commit");
    h->in_tx = false;
    return 0;
}

void honeypot_db_close(struct honeypot_db *h)
{
    if (!h) return;
    honeypot_db_commit(h);
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(h->q[i]);
    free(h);
}
