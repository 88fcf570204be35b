/* sink_jsonl — every record as one JSON object per line (README "Sinks").
 *
 * For tests and for users who pipe records elsewhere: ARG is a file
 * (appended to, created when missing) or "-" for stdout.  Every field of
 * every record kind is written, sketches as base64 of the blob SQLite stores
 * beside their estimated count, so a consumer can rebuild what the database
 * holds.  An interval is one "interval" line followed by its rows, each
 * naming the interval by its start; the interval line counts them per kind
 * ("records"), so a reader knows when it has them all.  Lines are built in
 * a buffer of the sink's own and handed to the kernel with write(2) only as
 * whole lines: when the buffer passes 1 MiB and at every flush (the writer
 * flushes after every batch, lure every second), so a crash of mamori loses
 * nothing flushed.  Not stdio: its buffer writes when full, in the middle of
 * a line, so two writers of one file tore each other's lines.  The file is
 * opened O_APPEND and each batch of whole lines goes in one write(2): two
 * processes appending to one file then never interleave within a line as
 * far as the kernel makes one write to a regular file land whole (Linux
 * local filesystems do; POSIX promises atomicity only for pipes up to
 * PIPE_BUF, and a short write -- disk full, a signal -- continues in a second
 * write that another appender can precede).  A write error is sticky: the
 * buffer is dropped, every later put and flush fails with the first error,
 * so a run never reports success over records it lost.  Strings are escaped as JSON with
 * bytes that are not UTF-8 as U+FFFD, so every line parses. */
#include "../core/addr.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct jsonl {
    int fd;
    bool own; /* a file we opened (stdout stays open) */
    char name[256];
    char *b;     /* whole lines not yet written, then the line being built */
    size_t line; /* where the line being built starts */
    size_t len, cap;
    bool oom;
    int err; /* the first write error (negative errno): sticky */
};

enum { JL_DRAIN = 1 << 20 }; /* write when this much is buffered */

static void reserve(struct jsonl *j, size_t n)
{
    if (j->len + n <= j->cap || j->oom) return;
    size_t cap = j->cap ? j->cap : 4096;
    while (cap < j->len + n)
        cap *= 2;
    char *b = realloc(j->b, cap);
    if (!b) {
        j->oom = true;
        return;
    }
    j->b = b;
    j->cap = cap;
}

static void raw(struct jsonl *j, const char *s, size_t n)
{
    reserve(j, n);
    if (j->oom) return;
    memcpy(j->b + j->len, s, n);
    j->len += n;
}

static void rawz(struct jsonl *j, const char *s)
{
    raw(j, s, strlen(s));
}

static void string(struct jsonl *j, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    reserve(j, n * 6 + 2);
    if (j->oom) return;
    char *o = j->b + j->len;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            i++;
        } else if (c < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
            i++;
        } else if (c < 0x80) {
            *o++ = (char)c;
            i++;
        } else {
            uint32_t cp;
            size_t k = esc_utf8_seq((const unsigned char *)s + i, n - i, &cp);
            if (k) {
                memcpy(o, s + i, k);
                o += k;
                i += k;
            } else {
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i++;
            }
        }
    }
    *o++ = '"';
    j->len = (size_t)(o - j->b);
}

static void key(struct jsonl *j, const char *k)
{
    raw(j, ",\"", 2);
    rawz(j, k);
    raw(j, "\":", 2);
}

static void begin(struct jsonl *j, const char *kind)
{
    j->len = j->line;
    rawz(j, "{\"kind\":\"");
    rawz(j, kind);
    raw(j, "\"", 1);
}

/* Digits by hand: a million per-source events a window make snprintf the sink's cost. */
static void digits(struct jsonl *j, uint64_t v, bool neg)
{
    char d[24], *o = d + sizeof d;
    do
        *--o = (char)('0' + v % 10);
    while ((v /= 10));
    if (neg) *--o = '-';
    raw(j, o, (size_t)(d + sizeof d - o));
}

static void num_i(struct jsonl *j, const char *k, int64_t v)
{
    key(j, k);
    digits(j, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

static void num_u(struct jsonl *j, const char *k, uint64_t v)
{
    key(j, k);
    digits(j, v, false);
}

static void real(struct jsonl *j, const char *k, double v)
{
    char d[32];
    key(j, k);
    if (isfinite(v))
        raw(j, d, (size_t)snprintf(d, sizeof d, "%.17g", v));
    else
        rawz(j, "null");
}

static void str(struct jsonl *j, const char *k, const char *v)
{
    key(j, k);
    if (v)
        string(j, v);
    else
        rawz(j, "null");
}

static void boolean(struct jsonl *j, const char *k, bool v)
{
    key(j, k);
    rawz(j, v ? "true" : "false");
}

static void null(struct jsonl *j, const char *k)
{
    key(j, k);
    rawz(j, "null");
}

static int sketch(struct jsonl *j, const char *k, const struct sketch *s)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t *buf;
    size_t n;
    if (sketch_encode(s, &buf, &n) < 0) return -ENOMEM;
    key(j, k);
    reserve(j, (n + 2) / 3 * 4 + 2);
    if (!j->oom) {
        char *o = j->b + j->len;
        *o++ = '"';
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)buf[i] << 16 | (i + 1 < n ? (uint32_t)buf[i + 1] << 8 : 0) |
                         (i + 2 < n ? buf[i + 2] : 0);
            *o++ = b64[v >> 18 & 63];
            *o++ = b64[v >> 12 & 63];
            *o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
            *o++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *o++ = '"';
        j->len = (size_t)(o - j->b);
    }
    free(buf);
    return 0;
}

/* Names of the bits set in mask, as an array. */
static void bits(struct jsonl *j, const char *k, unsigned mask, int count, bool fp)
{
    key(j, k);
    raw(j, "[", 1);
    for (int i = 0, first = 1; i < count; i++) {
        if (!(mask & (1u << i))) continue;
        if (!first) raw(j, ",", 1);
        first = 0;
        string(j, fp ? fingerprint_name((enum fingerprint)i) : class_name((enum pkt_class)i));
    }
    raw(j, "]", 1);
}

static int failed(struct jsonl *j)
{
    return err_set(j->err, "jsonl %s: %s", j->name, strerror(-j->err));
}

/* Writes the whole lines buffered, looping on short writes and EINTR. */
static int drain(struct jsonl *j)
{
    if (j->err) return failed(j);
    size_t off = 0;
    while (off < j->line) {
        ssize_t w = write(j->fd, j->b + off, j->line - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            j->err = w < 0 ? -errno : -EIO;
            j->len = j->line = 0;
            return failed(j);
        }
        off += (size_t)w;
    }
    j->len = j->line = 0;
    return 0;
}

static int end(struct jsonl *j)
{
    if (j->err) return failed(j);
    raw(j, "}\n", 2);
    if (j->oom) {
        j->oom = false;
        j->len = j->line;
        return err_set(-ENOMEM, "jsonl %s: out of memory", j->name);
    }
    j->line = j->len;
    return j->line >= JL_DRAIN ? drain(j) : 0;
}

static int jl_open(const char *arg, const struct sink_env *env, void **state)
{
    (void)env;
    if (!arg) return err_set(-EINVAL, "--sink jsonl: give jsonl:FILE or jsonl:- (stdout)");
    struct jsonl *j = calloc(1, sizeof *j);
    if (!j) return err_set(-ENOMEM, "jsonl sink: out of memory");
    snprintf(j->name, sizeof j->name, "%s", arg);
    if (!strcmp(arg, "-")) {
        fflush(stdout); /* what stdio holds goes before our lines */
        j->fd = STDOUT_FILENO;
    } else {
        j->fd = open(arg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (j->fd < 0) {
            int e = errno;
            free(j);
            return err_set(-e, "--sink jsonl:%s: %s", arg, strerror(e));
        }
        j->own = true;
    }
    *state = j;
    return 0;
}

static void geo(struct jsonl *j, const struct src_row *w)
{
    str(j, "cc", w->cc[0] ? w->cc : NULL);
    if (w->asn)
        num_u(j, "asn", w->asn);
    else
        null(j, "asn");
    str(j, "as_name", w->as_name && *w->as_name ? w->as_name : NULL);
    if (w->has_loc) {
        real(j, "lat", w->lat);
        real(j, "lon", w->lon);
    } else {
        null(j, "lat");
        null(j, "lon");
    }
}

/* A top source (interval set) or a per-source event (window set). */
static int source(struct jsonl *j, const struct interval_rec *r, const struct src_row *w,
                  size_t rank, bool event)
{
    char ip[IP_STRLEN];
    begin(j, event ? "event" : "top_source");
    if (event) {
        num_i(j, "window_start", r->events_from);
        num_i(j, "window_end", r->end);
    } else {
        num_i(j, "interval", r->start);
        num_u(j, "rank", rank);
    }
    str(j, "ip", ip_format(&w->ip, ip));
    num_i(j, "first_seen_us", w->first_us);
    num_i(j, "last_seen_us", w->last_us);
    num_u(j, "packets", w->packets);
    num_u(j, "bytes", w->bytes);
    key(j, "ports");
    raw(j, "[", 1);
    for (uint8_t i = 0; i < w->nports; i++) {
        if (i) raw(j, ",", 1);
        digits(j, w->ports[i], false);
    }
    raw(j, "]", 1);
    boolean(j, "more_ports", w->more_ports);
    bits(j, "fingerprints", w->fpmask, FP_COUNT, true);
    bits(j, "classes", w->clsmask, CLS_COUNT, false);
    geo(j, w);
    return end(j);
}

static int stat_row(struct jsonl *j, const struct interval_rec *r, int kind,
                    const struct stat_row *w)
{
    static const char *const names[ROW_KINDS] = {"port", "port", "fingerprint", "country", "asn"};
    begin(j, names[kind]);
    num_i(j, "interval", r->start);
    if (kind <= ROW_BACKSCATTER_PORT) {
        boolean(j, "backscatter", kind == ROW_BACKSCATTER_PORT);
        str(j, "proto", proto_name(w->proto));
        num_u(j, "port", w->key);
    } else if (kind == ROW_FINGERPRINT) {
        str(j, "name", fingerprint_name((enum fingerprint)w->key));
    } else if (kind == ROW_COUNTRY) {
        char cc[3] = {(char)(w->key >> 8), (char)w->key, 0};
        str(j, "cc", cc);
    } else {
        num_u(j, "asn", w->key);
        str(j, "name", w->label ? w->label : "");
    }
    num_u(j, "packets", w->packets);
    num_u(j, "bytes", w->bytes);
    num_u(j, "sources", sketch_count(&w->src));
    int rc = sketch(j, "src_sketch", &w->src);
    if (rc == 0 && kind <= ROW_BACKSCATTER_PORT) {
        num_u(j, "dests", sketch_count(&w->dst));
        rc = sketch(j, "dst_sketch", &w->dst);
    }
    return rc < 0 ? err_set(rc, "jsonl %s: out of memory", j->name) : end(j);
}

static int interval_head(struct jsonl *j, const struct interval_rec *r)
{
    begin(j, "interval");
    num_i(j, "start", r->start);
    num_i(j, "end", r->end);
    const char *k[] = {"packets", "bytes",       "malformed", "non_ip",
                       "outside", "iot_packets", "late",      "bad_time"};
    uint64_t v[] = {r->packets, r->bytes,       r->malformed, r->non_ip,
                    r->outside, r->iot_packets, r->late,      r->bad_time};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        num_u(j, k[i], v[i]);
    for (int c = 0; c < CLS_COUNT; c++)
        num_u(j, class_name((enum pkt_class)c), r->cls[c]);
    if (r->first_us >= 0) {
        num_i(j, "first_us", r->first_us);
        num_i(j, "last_us", r->last_us);
    } else {
        null(j, "first_us");
        null(j, "last_us");
    }
    num_u(j, "sources", sketch_count(&r->sources));
    if (sketch(j, "sources_sketch", &r->sources) < 0)
        return err_set(-ENOMEM, "jsonl %s: out of memory", j->name);
    if (r->n_events)
        num_i(j, "events_from", r->events_from);
    else
        null(j, "events_from");
    key(j, "records");
    char d[256];
    raw(j, d,
        (size_t)snprintf(d, sizeof d,
                         "{\"port\":%zu,\"fingerprint\":%zu,\"country\":%zu,\"asn\":%zu,"
                         "\"top_source\":%zu,\"alert\":%zu,\"dos\":%zu,\"event\":%zu}",
                         r->n_rows[ROW_PORT] + r->n_rows[ROW_BACKSCATTER_PORT],
                         r->n_rows[ROW_FINGERPRINT], r->n_rows[ROW_COUNTRY], r->n_rows[ROW_ASN],
                         r->n_srcs, r->n_alerts, r->n_dos, r->n_events));
    return end(j);
}

static int alerts_dos(struct jsonl *j, const struct interval_rec *r)
{
    char ip[IP_STRLEN];
    int rc = 0;
    for (size_t i = 0; i < r->n_alerts && rc == 0; i++) {
        const struct alert_row *a = &r->alerts[i];
        begin(j, "alert");
        num_i(j, "interval", r->start);
        str(j, "type", a->kind);
        str(j, "proto", proto_name(a->proto));
        num_u(j, "port", a->port);
        num_i(j, "at", a->at);
        num_u(j, "sources", a->sources);
        real(j, "baseline", a->baseline);
        rc = end(j);
    }
    for (size_t i = 0; i < r->n_dos && rc == 0; i++) {
        const struct dos_row *d = &r->dos[i];
        begin(j, "dos");
        num_i(j, "interval", r->start);
        str(j, "target", ip_format(&d->target, ip));
        str(j, "proto", proto_name(d->proto));
        num_u(j, "packets", d->packets);
        num_u(j, "bytes", d->bytes);
        num_u(j, "peak_60s", d->peak_60s);
        num_u(j, "attackers", d->attackers);
        num_u(j, "ports", d->ports);
        num_i(j, "start_us", d->start_us);
        num_i(j, "end_us", d->end_us);
        rc = end(j);
    }
    return rc;
}

static int one_interval(struct jsonl *j, const struct interval_rec *r)
{
    int rc = interval_head(j, r);
    for (int k = 0; k < ROW_KINDS && rc == 0; k++)
        for (size_t i = 0; i < r->n_rows[k] && rc == 0; i++)
            rc = stat_row(j, r, k, &r->rows[k][i]);
    for (size_t i = 0; i < r->n_srcs && rc == 0; i++)
        rc = source(j, r, &r->srcs[i], i + 1, false);
    if (rc == 0) rc = alerts_dos(j, r);
    for (size_t i = 0; i < r->n_events && rc == 0; i++)
        rc = source(j, r, &r->events[i], 0, true);
    return rc;
}

static int jl_intervals(void *state, struct interval_rec *const *r, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = one_interval(state, r[i]);
    return rc;
}

static int jl_samples(void *state, const struct live_sample *v, size_t n)
{
    struct jsonl *j = state;
    char ip[IP_STRLEN];
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        begin(j, "sample");
        num_i(j, "ts_us", v[i].ts_us);
        str(j, "src", ip_format(&v[i].src, ip));
        if (v[i].has_loc) {
            real(j, "lat", v[i].lat);
            real(j, "lon", v[i].lon);
        } else {
            null(j, "lat");
            null(j, "lon");
        }
        str(j, "cc", v[i].cc[0] ? v[i].cc : NULL);
        str(j, "proto", proto_name(v[i].proto));
        num_u(j, "port", v[i].port);
        str(j, "class", class_name((enum pkt_class)v[i].cls));
        str(j, "fingerprint", v[i].fp >= 0 ? fingerprint_name((enum fingerprint)v[i].fp) : NULL);
        rc = end(j);
    }
    return rc;
}

static int jl_session(void *state, const struct session_rec *r)
{
    static const char *const steps[] = {"open", "login", "command", "download", "close"};
    struct jsonl *j = state;
    begin(j, "session");
    str(j, "step", steps[r->step]);
    str(j, "session", r->session);
    num_i(j, "ts_us", r->ts_us);
    str(j, "sensor", r->sensor);
    str(j, "persona", r->persona);
    str(j, "protocol", r->protocol);
    str(j, "src_ip", r->src_ip);
    num_u(j, "src_port", r->src_port);
    str(j, "dst_ip", r->dst_ip);
    num_u(j, "dst_port", r->dst_port);
    if (r->step == SESSION_LOGIN || r->step == SESSION_CLOSE) {
        str(j, "username", r->username);
        str(j, "password", r->password);
        boolean(j, r->step == SESSION_LOGIN ? "success" : "login_ok", r->success);
    }
    if (r->step == SESSION_COMMAND) str(j, "input", r->input);
    if (r->step == SESSION_DOWNLOAD) {
        str(j, "download", r->dl_kind);
        str(j, "tool", r->tool);
        str(j, "url", r->url);
        str(j, "host", r->host);
        str(j, "path", r->path);
        str(j, "sha256", r->sha256);
        if (r->size >= 0)
            num_i(j, "size", r->size);
        else
            null(j, "size");
    }
    if (r->step == SESSION_CLOSE) {
        num_u(j, "logins", r->logins);
        num_u(j, "commands", r->commands);
        num_u(j, "downloads", r->downloads);
        str(j, "term", r->term);
        if (r->width)
            num_u(j, "width", r->width);
        else
            null(j, "width");
        if (r->height)
            num_u(j, "height", r->height);
        else
            null(j, "height");
        num_u(j, "bytes_in", r->bytes_in);
        str(j, "reason", r->reason);
    }
    return end(j);
}

static int jl_indicator(void *state, const struct indicator_rec *r)
{
    struct jsonl *j = state;
    begin(j, "indicator");
    str(j, "type", r->type);
    str(j, "value", r->value);
    str(j, "source", r->source);
    num_i(j, "ts_us", r->ts_us);
    return end(j);
}

static int jl_survey(void *state, const struct survey_rec *r)
{
    static const char *const kinds[] = {[SURVEY_ROUND] = "survey_round", [SURVEY_OPEN] = "survey_open",
                                        [SURVEY_PROBE] = "survey_probe"};
    struct jsonl *j = state;
    begin(j, kinds[r->kind]);
    str(j, "round", r->round);
    num_i(j, "ts_us", r->ts_us);
    if (r->kind == SURVEY_ROUND) {
        str(j, "tool", r->tool);
        str(j, "targets", r->targets);
        str(j, "contact", r->contact);
        num_u(j, "rate", r->rate);
        num_u(j, "dict_size", r->dict_size);
        num_i(j, "ended_us", r->ended_us);
        num_u(j, "sent", r->sent);
        num_u(j, "hits", r->hits);
        return end(j);
    }
    char ip[IP_STRLEN];
    str(j, "ip", ip_format(&r->ip, ip));
    num_u(j, "port", r->port);
    if (r->kind == SURVEY_OPEN) {
        num_u(j, "sport", r->sport);
        num_u(j, "seqnum", r->seqnum);
        num_u(j, "acknum", r->acknum);
        num_u(j, "window", r->window);
        num_u(j, "ttl", r->ttl);
        str(j, "classification", r->classification);
        boolean(j, "success", r->success);
        boolean(j, "repeat", r->repeat);
        return end(j);
    }
    str(j, "protocol", r->protocol);
    str(j, "status", r->status);
    str(j, "banner", r->banner);
    str(j, "device", r->device);
    boolean(j, "login_accepted", r->login_accepted);
    str(j, "credential_class", r->login_accepted ? r->cred_class : NULL);
    str(j, "credential_dictionary", r->login_accepted ? r->cred_dict : NULL);
    num_u(j, "attempts", r->attempts);
    return end(j);
}

static int jl_flush(void *state)
{
    return drain(state);
}

static int jl_fd(void *state)
{
    return ((struct jsonl *)state)->fd;
}

static int jl_close(void *state)
{
    struct jsonl *j = state;
    int rc = drain(j);
    if (j->own && close(j->fd) < 0 && rc == 0)
        rc = err_set(-errno, "jsonl %s: %s", j->name, strerror(errno));
    free(j->b);
    free(j);
    return rc;
}

const struct sink_ops sink_jsonl = {
    .name = "jsonl",
    .help = "JSON lines, one record a line: jsonl:FILE (appended) or jsonl:- (stdout)",
    .kinds = SINK_INTERVALS | SINK_EVENTS | SINK_SAMPLES | SINK_SESSIONS | SINK_INDICATORS |
             SINK_SURVEY,
    .open = jl_open,
    .put_intervals = jl_intervals,
    .put_samples = jl_samples,
    .put_session = jl_session,
    .put_indicator = jl_indicator,
    .put_survey = jl_survey,
    .flush = jl_flush,
    .fd = jl_fd,
    .close = jl_close,
};
