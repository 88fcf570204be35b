/* log — Cowrie JSON lines and records for the sinks (see log.h). */
#include "log.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "../store/sink.h"

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

struct lure_log {
    int fd;
    char *buf;
    size_t len;
    char sensor[64], persona[64];
    struct sinks *sinks;
    bool warned, warned_sink;
    bool lost; /* a sink refused records or a forced flush failed: lure exits non-zero */
    int rows;
    int64_t last_commit_us;
    uint64_t events;
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

/* A record for the sinks: a failure is said once and the next record is
 * tried again (a honeypot keeps answering while its database is busy). */
static void put_result(struct lure_log *l, int rc)
{
    if (rc < 0) l->lost = true;
    if (rc < 0 && !l->warned_sink) {
        cli_error("lure: %s", err_msg());
        l->warned_sink = true;
    }
    l->rows++;
}

/* A session step with the connection's fields filled in. */
static struct session_rec step(const struct lure_log *l, enum session_step st,
                               const struct lure_conn *c, int64_t ts)
{
    return (struct session_rec){.step = st,
                                .session = c->session,
                                .sensor = l->sensor,
                                .persona = l->persona,
                                .protocol = "telnet",
                                .src_ip = c->src_ip,
                                .dst_ip = c->dst_ip,
                                .src_port = c->src_port,
                                .dst_port = c->dst_port,
                                .ts_us = ts,
                                .size = -1};
}

static void put_session(struct lure_log *l, const struct session_rec *r)
{
    if (l->sinks) put_result(l, sinks_put_session(l->sinks, r));
}

static void indicator(struct lure_log *l, const char *type, const char *value, int64_t ts)
{
    if (!l->sinks || !value || !*value) return;
    struct indicator_rec r = {.type = type, .value = value, .source = "lure", .ts_us = ts};
    put_result(l, sinks_put_indicator(l->sinks, &r));
}

struct lure_log *lure_log_open(const char *events_path, struct sinks *sinks, const char *sensor,
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
    l->sinks = sinks;
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
    struct session_rec r = step(l, SESSION_OPEN, c, ts);
    put_session(l, &r);
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
    struct session_rec r = step(l, SESSION_LOGIN, c, ts);
    r.username = user;
    r.password = password;
    r.success = ok;
    put_session(l, &r);
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
    struct session_rec r = step(l, SESSION_COMMAND, c, ts);
    r.input = clean;
    put_session(l, &r);
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
    struct session_rec r = step(l, SESSION_DOWNLOAD, c, ts);
    r.dl_kind = kind;
    r.tool = tool;
    r.url = url;
    r.host = host;
    r.path = path;
    r.sha256 = sha;
    r.size = size;
    put_session(l, &r);
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
    struct session_rec r = step(l, SESSION_CLOSE, c, ts);
    r.username = s->username;
    r.password = s->password;
    r.success = s->login_ok;
    r.logins = s->logins;
    r.commands = s->commands;
    r.downloads = s->downloads;
    r.term = s->term;
    r.width = s->width;
    r.height = s->height;
    r.bytes_in = s->bytes_in;
    r.reason = s->reason;
    put_session(l, &r);
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
    if (l->sinks && l->rows &&
        (force || l->rows >= LOG_ROWS_PER_COMMIT || now_us - l->last_commit_us >= 1000000)) {
        if (sinks_flush(l->sinks) < 0) {
            /* The SQLite sink keeps its rows for the next commit when the
             * database is busy; a jsonl sink's write error is sticky (its
             * buffer is gone).  Either way the first failure is said at
             * once, not only at the last flush: a forced flush that fails
             * means records lost. */
            if (!l->warned_sink) cli_error("lure: %s", err_msg());
            l->warned_sink = true;
            if (force) l->lost = true;
            rc = -EIO;
        } else {
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

int lure_log_close(struct lure_log *l)
{
    if (!l) return 0;
    lure_log_flush(l, 0, true);
    if (l->fd >= 0 && close(l->fd) < 0 && !l->warned) {
        cli_error("lure: events file: %s", strerror(errno));
        l->warned = true;
    }
    int rc = l->lost || l->warned ? -EIO : 0;
    free(l->buf);
    free(l);
    return rc;
}
