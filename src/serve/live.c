/* live — the live thread: commits, /metrics, and the stream clients.
 *
 * The live thread owns one read-only connection and looks at the database
 * every 100 ms: PRAGMA data_version says whether anyone committed since the
 * last look, and only then does it bump the cache generation, recompute the
 * /metrics body and read new live samples and alerts into one shared event
 * log that every stream client reads from at its own offset (one read per
 * commit, not per client, through store/stream.h, which holds the SQL and
 * says how many rows a look takes; a commit with more is read on at the next
 * looks).  A client that falls more than the log behind is
 * dropped (EventSource reconnects); a parked client that hung up is noticed
 * by a poll() of the parked sockets and released. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../store/stream.h"
#include "serve.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#define TICK_MS 100
#define PING_SECONDS 15

struct sse {
    struct sse *prev, *next;
    struct server *s;
    struct MHD_Connection *c;
    int fd, park;
    uint64_t at; /* offset in the stream of events */
    size_t hello;
    bool gone;
};

static const char hello[] = ": mamori live stream\n\n";

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) return;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_event(struct buf *b, const char *event, json_t *data)
{
    char *d = json_dumps(data, JSON_COMPACT);
    if (!d) return;
    buf_add(b, "event: ", 7);
    buf_add(b, event, strlen(event));
    buf_add(b, "\ndata: ", 7);
    buf_add(b, d, strlen(d));
    buf_add(b, "\n\n", 2);
    free(d);
}

static struct blob *metrics_body(struct store *db)
{
    double v[STORE_METRICS];
    if (store_metrics(db, v) < 0) {
        serve_log("serve: %s", err_msg());
        return error_blob(503, "database busy or unreadable", 2);
    }
    char body[4096];
    size_t o = 0;
    for (int i = 0; i < STORE_METRICS; i++) {
        const struct store_metric *m = &store_metric_names[i];
        o += (size_t)snprintf(body + o, sizeof body - o, "# HELP %s %s\n# TYPE %s %s\n%s %.0f\n",
                              m->name, m->help, m->name, m->type, m->name, v[i]);
    }
    return blob_new(200, "text/plain; version=0.0.4", body, o);
}

struct blob *metrics_get(struct server *s)
{
    pthread_mutex_lock(&s->park_mu);
    struct blob *b = blob_ref(s->metrics);
    pthread_mutex_unlock(&s->park_mu);
    return b;
}

static void set_metrics(struct server *s, struct blob *b)
{
    if (!b) return;
    pthread_mutex_lock(&s->park_mu);
    struct blob *old = s->metrics;
    s->metrics = b;
    pthread_mutex_unlock(&s->park_mu);
    blob_unref(old);
}

/* True when a read stopped at its limit: there is more to read at the next
 * tick, whether or not anyone commits again. */
static bool poll_events(struct server *s, struct buf *out)
{
    bool more = false;
    for (enum stream_kind k = 0; k < STREAM_KINDS; k++) {
        int64_t *after = k == STREAM_ALERTS ? &s->last_alert : &s->last_sample;
        json_t *rows = store_stream_read(s->live_db, k, after), *o;
        size_t i;
        if (!rows) {
            serve_log("serve: %s", err_msg());
            continue;
        }
        json_array_foreach(rows, i, o)
        {
            buf_event(out, stream_event(k), o);
        }
        more |= json_array_size(rows) == (size_t)stream_limit(k);
        json_decref(rows);
    }
    return more;
}

/* Wakes every stream client (gone ones too, so they end). */
void wake_streams(struct server *s)
{
    struct MHD_Connection **resume = calloc(s->lim.streams + 1, sizeof *resume);
    unsigned n = 0;
    pthread_mutex_lock(&s->park_mu);
    for (struct sse *x = s->streams; x; x = x->next) {
        struct MHD_Connection *c = x->c;
        if (wake_locked(&x->park)) {
            if (resume && n <= s->lim.streams)
                resume[n++] = c;
            else
                x->park = PARK_PARKED; /* no memory: it stays parked until the next event */
        }
    }
    pthread_mutex_unlock(&s->park_mu);
    for (unsigned i = 0; i < n; i++)
        MHD_resume_connection(resume[i]);
    free(resume);
}

static void append_log(struct server *s, const char *p, size_t n)
{
    pthread_mutex_lock(&s->park_mu);
    if (s->log_len + n > SERVE_EVENT_LOG) { /* drop the older half, at an event's end */
        size_t cut = s->log_len / 2;
        char *e = cut < s->log_len ? memmem(s->log + cut, s->log_len - cut, "\n\n", 2) : NULL;
        cut = e ? (size_t)(e - s->log) + 2 : s->log_len;
        memmove(s->log, s->log + cut, s->log_len - cut);
        s->log_len -= cut;
        s->log_base += cut;
    }
    if (s->log_len + n > s->log_cap) {
        size_t cap = s->log_len + n > SERVE_EVENT_LOG ? s->log_len + n : SERVE_EVENT_LOG;
        char *l = realloc(s->log, cap);
        if (!l) {
            pthread_mutex_unlock(&s->park_mu);
            return;
        }
        s->log = l;
        s->log_cap = cap;
    }
    memcpy(s->log + s->log_len, p, n);
    s->log_len += n;
    s->last_event = cli_now();
    pthread_mutex_unlock(&s->park_mu);
}

static void live_close(struct server *s, bool ok)
{
    store_close(s->live_db);
    s->live_db = NULL;
    atomic_fetch_add(&s->gen, 1);
    atomic_fetch_add(&s->pool_epoch, 1);
    pthread_mutex_lock(&s->park_mu);
    s->db_ok = ok;
    pthread_mutex_unlock(&s->park_mu);
}

void live_tick(struct server *s, bool quiet)
{
    struct stat st;
    bool present = stat(s->db_path, &st) == 0;
    if (s->live_db && (!present || st.st_dev != s->db_dev || st.st_ino != s->db_ino))
        live_close(s, false); /* removed or replaced */
    if (!s->live_db) {
        if (present) s->live_db = store_open(s->db_path, false);
        if (!s->live_db) {
            if (!quiet) serve_log("serve: %s", present ? err_msg() : "database not there (yet)");
            set_metrics(s, error_blob(503, "database unavailable", 5));
            return;
        }
        s->db_dev = st.st_dev;
        s->db_ino = st.st_ino;
        s->db_version = -1;
        s->last_sample = store_stream_last(s->live_db, STREAM_SAMPLES);
        s->last_alert = store_stream_last(s->live_db, STREAM_ALERTS);
        pthread_mutex_lock(&s->park_mu);
        s->db_ok = s->last_sample >= 0 && s->last_alert >= 0;
        pthread_mutex_unlock(&s->park_mu);
    }
    int64_t v = store_data_version(s->live_db);
    if (v < 0) {
        serve_log("serve: %s: %s", s->db_path, err_msg());
        live_close(s, false);
        set_metrics(s, error_blob(503, "database busy or unreadable", 2));
        return;
    }
    struct buf ev = {0};
    if (v != s->db_version) {
        s->db_version = v;
        atomic_fetch_add(&s->gen, 1);
        set_metrics(s, metrics_body(s->live_db));
        s->events_behind = poll_events(s, &ev);
    } else if (s->events_behind) { /* one commit held more than a tick's share */
        s->events_behind = poll_events(s, &ev);
    }
    pthread_mutex_lock(&s->park_mu);
    bool idle = cli_now() - s->last_event > PING_SECONDS;
    pthread_mutex_unlock(&s->park_mu);
    if (!ev.len && idle) {
        json_t *o = json_object();
        buf_event(&ev, "ping", o);
        json_decref(o);
    }
    if (ev.len) {
        append_log(s, ev.p, ev.len);
        wake_streams(s);
    }
    free(ev.p);
}

/* Parked stream clients that hung up: libmicrohttpd does not watch a
 * suspended socket, so we do, and wake them to be closed. */
static void reap_streams(struct server *s)
{
    unsigned cap = s->lim.streams;
    struct pollfd *pf = calloc(cap, sizeof *pf);
    struct sse **who = calloc(cap, sizeof *who);
    unsigned n = 0;
    if (!pf || !who) goto out;
    pthread_mutex_lock(&s->park_mu);
    for (struct sse *x = s->streams; x && n < cap; x = x->next)
        if (x->park == PARK_PARKED && x->fd >= 0) {
            pf[n] = (struct pollfd){.fd = x->fd, .events = POLLRDHUP};
            who[n++] = x;
        }
    pthread_mutex_unlock(&s->park_mu);
    /* only this thread (and work_stop, after it) resumes a parked stream, so
     * these stay parked and their sockets open until we do */
    if (n == 0 || poll(pf, n, 0) <= 0) goto out;
    for (unsigned i = 0; i < n; i++) {
        if (!(pf[i].revents & (POLLRDHUP | POLLHUP | POLLERR))) continue;
        pthread_mutex_lock(&s->park_mu);
        who[i]->gone = true;
        bool now = wake_locked(&who[i]->park);
        struct MHD_Connection *c = who[i]->c;
        pthread_mutex_unlock(&s->park_mu);
        if (now) MHD_resume_connection(c);
    }
out:
    free(pf);
    free(who);
}

void *live_main(void *arg)
{
    struct server *s = arg;
    pthread_mutex_lock(&s->park_mu);
    while (!s->live_stop) {
        struct timespec ts;
        deadline(&ts, TICK_MS);
        pthread_cond_timedwait(&s->live_cv, &s->park_mu, &ts);
        if (s->live_stop) break;
        pthread_mutex_unlock(&s->park_mu);
        live_tick(s, false);
        reap_streams(s);
        pthread_mutex_lock(&s->park_mu);
    }
    pthread_mutex_unlock(&s->park_mu);
    return NULL;
}

/* ---- stream clients ---- */

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct sse *x = cls;
    struct server *s = x->s;
    for (;;) {
        pthread_mutex_lock(&s->park_mu);
        ssize_t n = 0;
        uint64_t end = s->log_base + s->log_len;
        if (x->gone || x->at < s->log_base) {
            n = MHD_CONTENT_READER_END_WITH_ERROR; /* hung up, or too slow to keep up */
        } else if (s->streams_closed) {
            n = MHD_CONTENT_READER_END_OF_STREAM;
        } else if (x->hello < sizeof hello - 1) {
            n = (ssize_t)(sizeof hello - 1 - x->hello < max ? sizeof hello - 1 - x->hello : max);
            memcpy(buf, hello + x->hello, (size_t)n);
            x->hello += (size_t)n;
        } else if (x->at < end) {
            n = (ssize_t)(end - x->at < max ? end - x->at : max);
            memcpy(buf, s->log + (x->at - s->log_base), (size_t)n);
            x->at += (uint64_t)n;
        }
        pthread_mutex_unlock(&s->park_mu);
        if (n) return n;
        if (park(s, x->c, &x->park, true)) return 0; /* called again once woken */
    }
}

static void sse_free(void *cls)
{
    struct sse *x = cls;
    struct server *s = x->s;
    pthread_mutex_lock(&s->park_mu);
    if (x->prev)
        x->prev->next = x->next;
    else
        s->streams = x->next;
    if (x->next) x->next->prev = x->prev;
    s->n_streams--;
    pthread_mutex_unlock(&s->park_mu);
    free(x);
}

enum MHD_Result stream_open(struct server *s, struct MHD_Connection *c)
{
    struct sse *x = calloc(1, sizeof *x);
    if (!x) return send_error(c, 500, "out of memory", 0);
    x->s = s;
    x->c = c;
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    x->fd = i ? i->connect_fd : -1;
    pthread_mutex_lock(&s->park_mu);
    const char *why = s->streams_closed                ? "shutting down"
                      : !s->db_ok                      ? "database unavailable"
                      : s->n_streams >= s->lim.streams ? "too many live streams"
                                                       : NULL;
    if (!why) {
        x->at = s->log_base + s->log_len; /* from now on */
        x->next = s->streams;
        if (s->streams) s->streams->prev = x;
        s->streams = x;
        s->n_streams++;
    }
    pthread_mutex_unlock(&s->park_mu);
    if (why) {
        free(x);
        return send_error(c, 503, why, 5);
    }
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, sse_read, x, sse_free);
    if (!r) {
        sse_free(x);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}
