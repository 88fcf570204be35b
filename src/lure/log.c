/* log — Cowrie JSON lines and database rows (see log.h). */
#include "log.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "../store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_BUF (256 * 1024)
#define LOG_ROWS_PER_COMMIT 2000
#define VFS_MSG (256 * 4 + 128) /* a cleaned vfs path (<= 255 bytes, 4 each) and the rest */

enum { Q_SESSION, Q_CLOSE, Q_LOGIN, Q_COMMAND, Q_DOWNLOAD, Q_INDICATOR, Q_N };

struct lure_log {
    int fd;
    char *buf;
    size_t len;
    char sensor[64], persona[64];
    struct store *db;
    sqlite3_stmt *q[Q_N];
    bool in_tx, warned;
    int rows;
    int64_t last_commit_us;
    uint64_t events;
};

static const char *const sql[Q_N] = {
    "INSERT OR IGNORE INTO lure_sessions(session, sensor, persona, protocol, src_ip, src_port,"
    " dst_ip, dst_port, start_us) VALUES(?,?,?,'telnet',?,?,?,?,?)",
    "UPDATE lure_sessions SET end_us=?2, username=?3, password=?4, login_ok=?5, logins=?6,"
    " commands=?7, downloads=?8, term=?9, width=?10, height=?11, bytes_in=?12,"
    " close_reason=?13 WHERE session=?1",
    "INSERT INTO lure_logins VALUES(?,?,?,?,?)",
    "INSERT INTO lure_commands VALUES(?,?,?)",
    "INSERT INTO lure_downloads VALUES(?,?,?,?,?,?,?,?,?)",
    "INSERT INTO indicators VALUES(?1,?2,'lure',?3,?3,1) ON CONFLICT(type, value) DO UPDATE SET"
    " first_seen_us=min(first_seen_us, excluded.first_seen_us),"
    " last_seen_us=max(last_seen_us, excluded.last_seen_us), count=count+1",
};

void lure_utf8(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len && o + 5 < cap;) {
        uint32_t c;
        size_t n = esc_utf8_seq(u + i, len - i, &c);
        if (n && c) { /* a NUL is escaped too */
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", u[i]);
            i++;
        }
    }
    out[o] = 0;
}

/* A valid UTF-8 copy of attacker-supplied text (free it), or NULL. */
static char *clean(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 4 + 1);
    if (out) lure_utf8(s, n, out, n * 4 + 1);
    return out;
}

static bool db_step(struct lure_log *l, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && !l->warned) {
        cli_error("lure: database: %s", sqlite3_errmsg(store_db(l->db)));
        l->warned = true;
    }
    l->rows++;
    return rc == SQLITE_DONE;
}

static sqlite3_stmt *q(struct lure_log *l, int which)
{
    if (!l->db || !l->q[which]) return NULL;
    if (!l->in_tx) {
        if (sqlite3_exec(store_db(l->db), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) return NULL;
        l->in_tx = true;
    }
    return l->q[which];
}

static void text(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* A per-session row's statement with its session and time bound (?1, ?2). */
static sqlite3_stmt *row(struct lure_log *l, int which, const struct lure_conn *c, int64_t ts)
{
    sqlite3_stmt *st = q(l, which);
    if (!st) return NULL;
    text(st, 1, c->session);
    sqlite3_bind_int64(st, 2, ts);
    return st;
}

static void indicator(struct lure_log *l, const char *type, const char *value, int64_t ts)
{
    sqlite3_stmt *st = q(l, Q_INDICATOR);
    if (!st || !value || !*value) return;
    text(st, 1, type);
    text(st, 2, value);
    sqlite3_bind_int64(st, 3, ts);
    db_step(l, st);
}

struct lure_log *lure_log_open(const char *events_path, struct store *db, const char *sensor,
                               const char *persona)
{
    struct lure_log *l = calloc(1, sizeof *l);
    if (!l || !(l->buf = malloc(LOG_BUF))) {
        free(l);
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    l->fd = -1;
    snprintf(l->sensor, sizeof l->sensor, "%s", sensor);
    snprintf(l->persona, sizeof l->persona, "%s", persona);
    if (events_path) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", events_path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = 0;
            mkdir(dir, 0755);
        }
        l->fd = open(events_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (l->fd < 0) {
            err_set(-errno, "%s: %s", events_path, strerror(errno));
            lure_log_close(l);
            return NULL;
        }
    }
    l->db = db;
    for (int i = 0; db && i < Q_N; i++)
        if (sqlite3_prepare_v3(store_db(db), sql[i], -1, SQLITE_PREPARE_PERSISTENT, &l->q[i],
                               NULL) != SQLITE_OK) {
            err_set(-EIO, "database: %s", sqlite3_errmsg(store_db(db)));
            lure_log_close(l);
            return NULL;
        }
    return l;
}

static void emit(struct lure_log *l, json_t *o)
{
    l->events++;
    if (l->fd >= 0) {
        size_t need =
            json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        if (need + 1 > LOG_BUF - l->len) lure_log_flush(l, 0, false);
        if (need + 1 <= LOG_BUF - l->len) {
            l->len += json_dumpb(o, l->buf + l->len, LOG_BUF - l->len,
                                 JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
            l->buf[l->len++] = '\n';
        }
    }
    json_decref(o);
}

/* The fields every event carries, in Cowrie's order. */
static json_t *event(struct lure_log *l, const char *id, const struct lure_conn *c, int64_t ts,
                     const char *message)
{
    char iso[40];
    json_t *o = json_object();
    json_object_set_new(o, "eventid", json_string(id));
    json_object_set_new(o, "message", json_string(message));
    json_object_set_new(o, "sensor", json_string(l->sensor));
    json_object_set_new(o, "timestamp", json_string(cli_iso_us(ts, iso)));
    json_object_set_new(o, "src_ip", json_string(c->src_ip));
    json_object_set_new(o, "src_port", json_integer(c->src_port));
    json_object_set_new(o, "dst_ip", json_string(c->dst_ip));
    json_object_set_new(o, "dst_port", json_integer(c->dst_port));
    json_object_set_new(o, "session", json_string(c->session));
    json_object_set_new(o, "protocol", json_string("telnet"));
    return o;
}

void lure_log_connect(struct lure_log *l, const struct lure_conn *c, int64_t ts)
{
    char msg[200];
    snprintf(msg, sizeof msg, "New connection: %s:%u (%s:%u) [session: %s]", c->src_ip, c->src_port,
             c->dst_ip, c->dst_port, c->session);
    emit(l, event(l, "cowrie.session.connect", c, ts, msg));
    sqlite3_stmt *st = q(l, Q_SESSION);
    if (!st) return;
    text(st, 1, c->session);
    text(st, 2, l->sensor);
    text(st, 3, l->persona);
    text(st, 4, c->src_ip);
    sqlite3_bind_int(st, 5, c->src_port);
    text(st, 6, c->dst_ip);
    sqlite3_bind_int(st, 7, c->dst_port);
    sqlite3_bind_int64(st, 8, ts);
    db_step(l, st);
}

void lure_log_login(struct lure_log *l, const struct lure_conn *c, int64_t ts, const char *user,
                    const char *password, bool ok)
{
    char msg[600];
    snprintf(msg, sizeof msg, "login attempt [%s/%s] %s", user, password,
             ok ? "succeeded" : "failed");
    json_t *o = event(l, ok ? "cowrie.login.success" : "cowrie.login.failed", c, ts, msg);
    json_object_set_new(o, "username", json_string(user));
    json_object_set_new(o, "password", json_string(password));
    emit(l, o);
    sqlite3_stmt *st = row(l, Q_LOGIN, c, ts);
    if (!st) return;
    text(st, 3, user);
    text(st, 4, password);
    sqlite3_bind_int(st, 5, ok);
    db_step(l, st);
}

void lure_log_command(struct lure_log *l, const struct lure_conn *c, int64_t ts, const char *input,
                      size_t len)
{
    size_t cap = len * 4 + 1;
    char *clean = malloc(cap), *msg = malloc(cap + 8);
    if (!clean || !msg) {
        free(clean);
        free(msg);
        return;
    }
    lure_utf8(input, len, clean, cap);
    snprintf(msg, cap + 8, "CMD: %s", clean);
    json_t *o = event(l, "cowrie.command.input", c, ts, msg);
    json_object_set_new(o, "input", json_string(clean));
    emit(l, o);
    sqlite3_stmt *st = row(l, Q_COMMAND, c, ts);
    if (st) {
        text(st, 3, clean);
        db_step(l, st);
    }
    free(clean);
    free(msg);
}

void lure_log_failed(struct lure_log *l, const struct lure_conn *c, int64_t ts, const char *input)
{
    char *in = clean(input), *msg = in ? malloc(strlen(in) + 32) : NULL;
    if (msg) {
        snprintf(msg, strlen(in) + 32, "Command not found: %s", in);
        json_t *o = event(l, "cowrie.command.failed", c, ts, msg);
        json_object_set_new(o, "input", json_string(in));
        emit(l, o);
    }
    free(in);
    free(msg);
}

void lure_log_size(struct lure_log *l, const struct lure_conn *c, int64_t ts, unsigned w,
                   unsigned h)
{
    char msg[64];
    snprintf(msg, sizeof msg, "Terminal Size: %u %u", w, h);
    json_t *o = event(l, "cowrie.client.size", c, ts, msg);
    json_object_set_new(o, "width", json_integer(w));
    json_object_set_new(o, "height", json_integer(h));
    emit(l, o);
}

void lure_log_var(struct lure_log *l, const struct lure_conn *c, int64_t ts, const char *name,
                  const char *value)
{
    char msg[200];
    snprintf(msg, sizeof msg, "request_env: %s=%s", name, value);
    json_t *o = event(l, "cowrie.client.var", c, ts, msg);
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "value", json_string(value));
    emit(l, o);
}

static void download_row(struct lure_log *l, const struct lure_conn *c, int64_t ts,
                         const char *kind, const char *tool, const char *url, const char *host,
                         const char *path, const char *sha, int64_t size)
{
    sqlite3_stmt *st = row(l, Q_DOWNLOAD, c, ts);
    if (!st) return;
    text(st, 3, kind);
    text(st, 4, tool);
    text(st, 5, url);
    text(st, 6, host);
    text(st, 7, path);
    text(st, 8, sha);
    if (size >= 0) sqlite3_bind_int64(st, 9, size);
    db_step(l, st);
}

void lure_log_url(struct lure_log *l, const struct lure_conn *c, int64_t ts, const char *tool,
                  const char *url, const char *host, const char *dest)
{
    char *u = clean(url), *h = clean(host), *d = clean(dest);
    size_t mn = u ? strlen(u) + 64 : 0;
    char *msg = mn ? malloc(mn) : NULL;
    if (!u || !h || !d || !msg) goto out;
    snprintf(msg, mn, "Downloaded URL (%s) with %s: not fetched (honeypot)", u, tool);
    json_t *o = event(l, "cowrie.session.file_download", c, ts, msg);
    json_object_set_new(o, "url", json_string(u));
    json_object_set_new(o, "host", json_string(h));
    json_object_set_new(o, "tool", json_string(tool));
    json_object_set_new(o, "destfile", json_string(d));
    json_object_set_new(o, "fetched", json_false());
    emit(l, o);
    download_row(l, c, ts, "url", tool, u, h, d, NULL, -1);
    indicator(l, "url", u, ts);
    indicator(l, "host", h, ts);
out:
    free(u);
    free(h);
    free(d);
    free(msg);
}

void lure_log_file(struct lure_log *l, const struct lure_conn *c, int64_t ts, const char *path,
                   const char *sha256, const char *outfile, size_t size, bool duplicate)
{
    char msg[VFS_MSG], *p = clean(path);
    if (!p) return;
    snprintf(msg, sizeof msg, "Saved file %s (%zu bytes) with SHA-256 %s", p, size, sha256);
    json_t *o = event(l, "cowrie.session.file_download", c, ts, msg);
    json_object_set_new(o, "url", json_string(p));
    json_object_set_new(o, "destfile", json_string(p));
    if (outfile) json_object_set_new(o, "outfile", json_string(outfile));
    json_object_set_new(o, "shasum", json_string(sha256));
    json_object_set_new(o, "size", json_integer((json_int_t)size));
    json_object_set_new(o, "duplicate", json_boolean(duplicate));
    emit(l, o);
    download_row(l, c, ts, "file", "shell", NULL, NULL, p, sha256, (int64_t)size);
    indicator(l, "sha256", sha256, ts);
    free(p);
}

void lure_log_closed(struct lure_log *l, const struct lure_conn *c, int64_t ts, int64_t duration_us,
                     const struct lure_summary *s)
{
    char msg[64];
    snprintf(msg, sizeof msg, "Connection lost after %.1f seconds", duration_us / 1e6);
    json_t *o = event(l, "cowrie.session.closed", c, ts, msg);
    json_object_set_new(o, "duration", json_real((double)(duration_us / 1000) / 1000.0));
    json_object_set_new(o, "duration_ms", json_integer(duration_us / 1000));
    emit(l, o);
    if (s->logins) indicator(l, "attacker-ip", c->src_ip, ts);
    if (s->downloads) indicator(l, "loader-ip", c->src_ip, ts);
    sqlite3_stmt *st = q(l, Q_CLOSE);
    if (!st) return;
    text(st, 1, c->session);
    sqlite3_bind_int64(st, 2, ts);
    text(st, 3, s->username);
    text(st, 4, s->password);
    sqlite3_bind_int(st, 5, s->login_ok);
    sqlite3_bind_int(st, 6, (int)s->logins);
    sqlite3_bind_int(st, 7, (int)s->commands);
    sqlite3_bind_int(st, 8, (int)s->downloads);
    text(st, 9, s->term);
    if (s->width) sqlite3_bind_int(st, 10, s->width);
    if (s->height) sqlite3_bind_int(st, 11, s->height);
    sqlite3_bind_int64(st, 12, s->bytes_in);
    text(st, 13, s->reason);
    db_step(l, st);
}

int lure_log_flush(struct lure_log *l, int64_t now_us, bool force)
{
    int rc = 0;
    size_t off = 0;
    while (off < l->len) {
        ssize_t w = write(l->fd, l->buf + off, l->len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (!l->warned) cli_error("lure: events file: %s", strerror(errno));
            l->warned = true;
            rc = -EIO;
            break;
        }
        off += (size_t)w;
    }
    l->len = 0;
    if (l->in_tx &&
        (force || l->rows >= LOG_ROWS_PER_COMMIT || now_us - l->last_commit_us >= 1000000)) {
        if (sqlite3_exec(store_db(l->db), "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            /* busy: the rows stay in the open transaction and go with the next commit */
            if (force) cli_error("lure: database: %s", sqlite3_errmsg(store_db(l->db)));
            rc = -EIO;
        } else {
            l->in_tx = false;
            l->rows = 0;
            l->last_commit_us = now_us;
        }
    }
    return rc;
}

uint64_t lure_log_events(const struct lure_log *l)
{
    return l->events;
}

void lure_log_close(struct lure_log *l)
{
    if (!l) return;
    lure_log_flush(l, 0, true);
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(l->q[i]);
    if (l->fd >= 0) close(l->fd);
    free(l->buf);
    free(l);
}
