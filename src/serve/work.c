/* work — the threads serve owns, so that libmicrohttpd's never wait.
 *
 * Parking.  A connection that has to wait (for a query's answer, or for the
 * next stream event) is suspended with MHD_suspend_connection from its own
 * libmicrohttpd thread and resumed by whichever thread has what it waits for.
 * The PARK_* states make the two sides safe in either order: a wake that comes
 * before the park is remembered (PARK_WOKEN) and the park does not happen; a
 * wake while the park is under way makes the parker resume itself.  No lock
 * of ours is held across a libmicrohttpd call.
 *
 * Query threads (--max-queries, nice 10 so they never take the CPU from the
 * event loops) run the expensive endpoints from a bounded queue; requests for
 * the same key (params.h api_key) at the same generation share one run, and
 * the answer goes to the cache.  Beyond the queue: 503 with Retry-After.
 *
 * The live thread owns one read-only connection and looks at the database
 * every 100 ms: PRAGMA data_version says whether anyone committed since the
 * last look, and only then does it bump the cache generation, recompute the
 * /metrics body and read new live samples and alerts into one shared event
 * log that every stream client reads from at its own offset (one query per
 * commit, not per client).  A client that falls more than the log behind is
 * dropped (EventSource reconnects); a parked client that hung up is noticed
 * by a poll() of the parked sockets and released.
 *
 * The guard thread shuts down connections whose request head is not complete
 * within --header-timeout of the connect (or of the end of the previous
 * answer, on a kept-alive connection): the whole head has a deadline, not each
 * byte.  When all --max-connections are taken, a new connection pushes out
 * the oldest one still sending its head, so a slow flood cannot keep a quick
 * client out. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../report/query.h"
#include "../store/store.h"
#include "serve.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 100
#define PING_SECONDS 15

/* ---- logging ---- */

void serve_log(const char *fmt, ...)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static double window;
    static int lines;
    static char last[512];
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&mu);
    double now = cli_now();
    if (now - window >= 1) window = now, lines = 0;
    if (strcmp(line, last) != 0 && lines < 5) { /* the same line once, five lines a second */
        lines++;
        snprintf(last, sizeof last, "%s", line);
        fprintf(stderr, "mamori: %s\n", line);
    }
    pthread_mutex_unlock(&mu);
}

/* ---- parking ---- */

bool park(struct server *s, struct MHD_Connection *c, int *state, bool stream)
{
    pthread_mutex_lock(&s->park_mu);
    if (*state == PARK_WOKEN || (stream && s->streams_closed)) {
        *state = PARK_IDLE;
        pthread_mutex_unlock(&s->park_mu);
        return false;
    }
    *state = PARK_PARKING;
    pthread_mutex_unlock(&s->park_mu);
    MHD_suspend_connection(c);
    pthread_mutex_lock(&s->park_mu);
    bool woken = *state == PARK_WOKEN;
    *state = woken ? PARK_IDLE : PARK_PARKED;
    pthread_mutex_unlock(&s->park_mu);
    if (woken) MHD_resume_connection(c);
    return true;
}

/* With park_mu held: true when the caller must MHD_resume_connection (after
 * unlocking). */
static bool wake_locked(int *state)
{
    if (*state == PARK_PARKED) {
        *state = PARK_IDLE;
        return true;
    }
    *state = PARK_WOKEN;
    return false;
}

/* ---- connections and the guard ---- */

void conn_started(struct server *s, struct conn *k)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(k->c, MHD_CONNECTION_INFO_CONNECTION_FD);
    k->fd = i ? i->connect_fd : -1;
    k->since = cli_now();
    pthread_mutex_lock(&s->conns_mu);
    k->prev = s->newest;
    if (s->newest)
        s->newest->next = k;
    else
        s->oldest = k;
    s->newest = k;
    s->n_conns++;
    /* full: the oldest connection still sending its head makes room */
    for (struct conn *o = s->oldest; o && s->n_conns - s->n_reaped > s->lim.connections;
         o = o->next) {
        if (o->headers_done || o->reaped || o == k || o->fd < 0) continue;
        shutdown(o->fd, SHUT_RDWR);
        o->reaped = true;
        s->n_reaped++;
    }
    pthread_mutex_unlock(&s->conns_mu);
}

void conn_closed(struct server *s, struct conn *k)
{
    pthread_mutex_lock(&s->conns_mu);
    if (k->prev)
        k->prev->next = k->next;
    else
        s->oldest = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        s->newest = k->prev;
    s->n_conns--;
    if (k->reaped) s->n_reaped--;
    pthread_mutex_unlock(&s->conns_mu);
    blob_unref(k->ready);
    free(k);
}

void conn_request(struct server *s, struct conn *k, bool head_done)
{
    pthread_mutex_lock(&s->conns_mu);
    k->headers_done = head_done;
    if (!head_done) k->since = cli_now();
    pthread_mutex_unlock(&s->conns_mu);
}

static void deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += ms * 1000000;
    ts->tv_sec += ts->tv_nsec / 1000000000;
    ts->tv_nsec %= 1000000000;
}

static void *guard_main(void *arg)
{
    struct server *s = arg;
    pthread_mutex_lock(&s->conns_mu);
    while (!s->guard_stop) {
        struct timespec ts;
        deadline(&ts, 250);
        pthread_cond_timedwait(&s->guard_cv, &s->conns_mu, &ts);
        double now = cli_now();
        for (struct conn *k = s->oldest; k; k = k->next) {
            if (k->headers_done || k->reaped || k->fd < 0) continue;
            if (now - k->since < s->lim.header_timeout) continue;
            /* the connection's own thread sees the end of its socket and closes it */
            shutdown(k->fd, SHUT_RDWR);
            k->reaped = true;
            s->n_reaped++;
        }
    }
    pthread_mutex_unlock(&s->conns_mu);
    return NULL;
}

/* ---- responses ---- */

static void blob_done(void *cls)
{
    blob_unref(cls);
}

/* Sends b (and drops the caller's reference). */
enum MHD_Result respond_blob(struct MHD_Connection *c, struct blob *b)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data, blob_done, b);
    if (!r) {
        blob_unref(b);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", b->type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (b->retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", b->retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    enum MHD_Result ok = MHD_queue_response(c, b->status, r);
    MHD_destroy_response(r);
    return ok;
}

static struct blob *error_blob(unsigned status, const char *msg, unsigned retry_after)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    static const char fallback[] = "{\"error\":\"unreadable request\"}";
    struct blob *b = body ? blob_new(status, "application/json", body, strlen(body))
                          : blob_new(status, "application/json", fallback, sizeof fallback - 1);
    free(body);
    if (b) b->retry_after = retry_after;
    return b;
}

enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg,
                           unsigned retry_after)
{
    struct blob *b = error_blob(status, msg, retry_after);
    return b ? respond_blob(c, b) : MHD_NO;
}

/* ---- database connections for the query threads ---- */

/* Idle read-only connections, reused across queries: a connection keeps its
 * mapping of the file, its page cache and its parsed schema, which is most of
 * the cost of a short query.  A connection that failed, or that was opened
 * before the file was replaced, is closed, not reused. */
#define POOL_MAX 8
static struct {
    pthread_mutex_t mu;
    struct store *idle[POOL_MAX];
    unsigned epoch[POOL_MAX];
    int n;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct store *pool_get(struct server *s, unsigned *epoch)
{
    *epoch = atomic_load(&s->pool_epoch);
    struct store *c = NULL, *stale = NULL;
    pthread_mutex_lock(&pool.mu);
    if (pool.n) {
        pool.n--;
        if (pool.epoch[pool.n] == *epoch)
            c = pool.idle[pool.n];
        else
            stale = pool.idle[pool.n];
    }
    pthread_mutex_unlock(&pool.mu);
    store_close(stale);
    return c ? c : store_open(s->db_path, false);
}

static void pool_put(struct store *c, unsigned epoch, bool healthy)
{
    pthread_mutex_lock(&pool.mu);
    if (healthy && pool.n < POOL_MAX) {
        pool.epoch[pool.n] = epoch;
        pool.idle[pool.n++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&pool.mu);
    store_close(c);
}

static void pool_drain(void)
{
    pthread_mutex_lock(&pool.mu);
    while (pool.n)
        store_close(pool.idle[--pool.n]);
    pthread_mutex_unlock(&pool.mu);
}

/* ---- expensive queries ---- */

struct job {
    struct job *next;
    char key[160];
    uint64_t gen;
    struct api_req q;
    struct conn *waiters;
};

static json_t *run_query(sqlite3 *db, const struct api_req *q)
{
    switch (q->route) {
    case API_SUMMARY:
        return query_summary(db, &q->w);
    case API_SECTION:
        return query_section(db, q->section, &q->w);
    case API_GEO:
        return query_geo(db, &q->w);
    case API_TIMESERIES: {
        json_t *doc = NULL, *pts = query_timeseries(db, &q->w, q->proto, q->port, q->res);
        json_t *alerts = pts ? query_section(db, "alerts", &q->w) : NULL;
        if (pts && alerts) {
            json_t *mine = json_array(), *a;
            size_t i;
            json_array_foreach(alerts, i, a)
            {
                if (!strcmp(json_string_value(json_object_get(a, "proto")), q->proto) &&
                    json_integer_value(json_object_get(a, "port")) == q->port)
                    json_array_append(mine, a);
            }
            doc = json_pack("{s:s,s:i,s:I,s:o,s:o}", "proto", q->proto, "port", q->port,
                            "resolution", (json_int_t)q->res, "points", pts, "alerts", mine);
            pts = NULL;
        }
        json_decref(pts);
        json_decref(alerts);
        return doc;
    }
    default:
        return NULL;
    }
}

static struct blob *answer(struct server *s, const struct api_req *q)
{
    unsigned epoch;
    struct store *conn = pool_get(s, &epoch);
    if (!conn) {
        serve_log("serve: %s", err_msg()); /* the path and the reason stay here */
        return error_blob(503, "database unavailable", 5);
    }
    json_t *doc = run_query(store_db(conn), q);
    pool_put(conn, epoch, doc != NULL);
    if (!doc) {
        serve_log("serve: %s: %s", s->db_path, err_msg());
        return error_blob(503, "database busy or unreadable", 2);
    }
    char *body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(doc);
    struct blob *b = body ? blob_new(200, "application/json", body, strlen(body)) : NULL;
    free(body);
    return b ? b : error_blob(500, "out of memory", 0);
}

/* Hands b to every waiter of j and frees j. */
static void finish(struct server *s, struct job *j, struct blob *b)
{
    struct MHD_Connection *resume[64];
    struct conn *w = j->waiters;
    while (w) {
        int n = 0;
        pthread_mutex_lock(&s->park_mu);
        for (; w && n < 64; w = w->next_waiter) {
            struct MHD_Connection *c = w->c;
            w->ready = blob_ref(b);
            if (wake_locked(&w->park)) resume[n++] = c;
        }
        pthread_mutex_unlock(&s->park_mu);
        for (int i = 0; i < n; i++)
            MHD_resume_connection(resume[i]);
    }
    blob_unref(b);
    free(j);
}

static void unlink_job(struct job **list, struct job *j)
{
    while (*list != j)
        list = &(*list)->next;
    *list = j->next;
}

static void *worker_main(void *arg)
{
    struct server *s = arg;
    setpriority(PRIO_PROCESS, (id_t)gettid(), 10); /* the event loops come first */
    pthread_mutex_lock(&s->jobs_mu);
    for (;;) {
        while (!s->pending && !s->jobs_closed)
            pthread_cond_wait(&s->jobs_cv, &s->jobs_mu);
        if (s->jobs_closed) break;
        struct job *j = s->pending;
        s->pending = j->next;
        if (!s->pending) s->pending_tail = NULL;
        j->next = s->running;
        s->running = j;
        pthread_mutex_unlock(&s->jobs_mu);
        struct blob *b = answer(s, &j->q);
        if (b && b->status == 200 && s->cache) cache_put(s->cache, j->key, j->gen, b);
        pthread_mutex_lock(&s->jobs_mu);
        unlink_job(&s->running, j); /* no more waiters join it */
        s->n_jobs--;
        pthread_mutex_unlock(&s->jobs_mu);
        finish(s, j, b ? b : error_blob(500, "out of memory", 0));
        pthread_mutex_lock(&s->jobs_mu);
    }
    pthread_mutex_unlock(&s->jobs_mu);
    return NULL;
}

int job_submit(struct server *s, struct conn *k, const struct api_req *q, const char *key,
               uint64_t gen)
{
    pthread_mutex_lock(&s->jobs_mu);
    if (s->jobs_closed) {
        pthread_mutex_unlock(&s->jobs_mu);
        return -ESHUTDOWN;
    }
    struct job *j = NULL;
    for (struct job *l = s->pending; l && !j; l = l->next)
        if (l->gen == gen && !strcmp(l->key, key)) j = l;
    for (struct job *l = s->running; l && !j; l = l->next)
        if (l->gen == gen && !strcmp(l->key, key)) j = l;
    if (!j) {
        if (s->n_jobs >= s->lim.queries * (1 + SERVE_QUEUE_PER_QUERY) ||
            !(j = calloc(1, sizeof *j))) {
            pthread_mutex_unlock(&s->jobs_mu);
            return -EBUSY;
        }
        snprintf(j->key, sizeof j->key, "%s", key);
        j->gen = gen;
        j->q = *q;
        if (s->pending_tail)
            s->pending_tail->next = j;
        else
            s->pending = j;
        s->pending_tail = j;
        s->n_jobs++;
        pthread_cond_signal(&s->jobs_cv);
    }
    k->park = PARK_IDLE;
    k->ready = NULL;
    k->next_waiter = j->waiters;
    j->waiters = k;
    pthread_mutex_unlock(&s->jobs_mu);
    return 0;
}

/* ---- the live thread: commits, /metrics, stream events ---- */

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

static int64_t one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static struct blob *metrics_body(sqlite3 *db)
{
    sqlite3_stmt *st;
    static const char *sql =
        "SELECT count(*), total(packets), total(bytes), total(malformed), total(non_ip),"
        " total(outside), coalesce(max(end), 0), (SELECT count(*) FROM alerts),"
        " (SELECT count(*) FROM dos), (SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta"
        " WHERE key = 'kernel_drops') FROM intervals";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        serve_log("serve: metrics: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return error_blob(503, "database busy or unreadable", 2);
    }
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"mamori_intervals_total", "counter", "Closed observation intervals."},
        {"mamori_packets_total", "counter", "Darknet packets observed."},
        {"mamori_bytes_total", "counter", "Bytes of darknet packets observed."},
        {"mamori_malformed_total", "counter", "Frames dropped as malformed."},
        {"mamori_non_ip_total", "counter", "Frames dropped as not IP."},
        {"mamori_outside_total", "counter", "Packets dropped as outside the darknet."},
        {"mamori_last_interval_end_seconds", "gauge", "End of the newest interval (Unix time)."},
        {"mamori_alerts_total", "counter", "Surge alerts raised."},
        {"mamori_dos_victims_total", "counter", "DoS victims inferred from backscatter."},
        {"mamori_kernel_drops_total", "counter", "Packets a live capture lost before observe."},
    };
    char body[4096];
    size_t o = 0;
    for (int i = 0; i < (int)(sizeof m / sizeof m[0]); i++)
        o += (size_t)snprintf(body + o, sizeof body - o, "# HELP %s %s\n# TYPE %s %s\n%s %.0f\n",
                              m[i].name, m[i].help, m[i].name, m[i].type, m[i].name,
                              sqlite3_column_double(st, i));
    sqlite3_finalize(st);
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

static void poll_events(struct server *s, struct buf *out)
{
    static const struct {
        const char *event, *sql;
    } q[2] = {{"packet", "SELECT id, ts_us, src, lat, lon, cc, proto, port, class, fingerprint"
                         " FROM live_samples WHERE id > ? ORDER BY id LIMIT 2000"},
              {"alert", "SELECT id, at, kind, proto, port, sources, baseline FROM alerts"
                        " WHERE id > ? ORDER BY id LIMIT 200"}};
    sqlite3 *db = store_db(s->live_db);
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, q[k].sql, -1, &st, NULL) != SQLITE_OK) continue;
        sqlite3_bind_int64(st, 1, k ? s->last_alert : s->last_sample);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *o = json_object();
            for (int i = 1; i < sqlite3_column_count(st); i++) {
                const char *name = sqlite3_column_name(st, i);
                json_t *v;
                char iso[32];
                switch (sqlite3_column_type(st, i)) {
                case SQLITE_INTEGER:
                    v = !strcmp(name, "ts_us")
                            ? json_string(cli_iso_us(sqlite3_column_int64(st, i), iso))
                        : !strcmp(name, "at")
                            ? json_string(cli_iso(sqlite3_column_int64(st, i), iso))
                            : json_integer(sqlite3_column_int64(st, i));
                    break;
                case SQLITE_FLOAT: /* coordinates: 4 decimals is 11 m */
                    v = json_real(round(sqlite3_column_double(st, i) * 1e4) / 1e4);
                    break;
                case SQLITE_TEXT:
                    v = json_string((const char *)sqlite3_column_text(st, i));
                    break;
                default:
                    v = json_null();
                }
                json_object_set_new(o, !strcmp(name, "ts_us") ? "t" : name, v);
            }
            buf_event(out, q[k].event, o);
            json_decref(o);
            *(k ? &s->last_alert : &s->last_sample) = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }
}

/* Wakes every stream client (gone ones too, so they end). */
static void wake_streams(struct server *s)
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

static void live_tick(struct server *s, bool quiet)
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
        sqlite3 *db = store_db(s->live_db);
        s->last_sample = one_int(db, "SELECT coalesce(max(id), 0) FROM live_samples");
        s->last_alert = one_int(db, "SELECT coalesce(max(id), 0) FROM alerts");
        pthread_mutex_lock(&s->park_mu);
        s->db_ok = s->last_sample >= 0 && s->last_alert >= 0;
        pthread_mutex_unlock(&s->park_mu);
    }
    int64_t v = one_int(store_db(s->live_db), "PRAGMA data_version");
    if (v < 0) {
        serve_log("serve: %s: %s", s->db_path, sqlite3_errmsg(store_db(s->live_db)));
        live_close(s, false);
        set_metrics(s, error_blob(503, "database busy or unreadable", 2));
        return;
    }
    struct buf ev = {0};
    if (v != s->db_version) {
        s->db_version = v;
        atomic_fetch_add(&s->gen, 1);
        set_metrics(s, metrics_body(store_db(s->live_db)));
        poll_events(s, &ev);
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

static void *live_main(void *arg)
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

/* ---- start and stop ---- */

int work_start(struct server *s)
{
    pthread_mutex_init(&s->conns_mu, NULL);
    pthread_mutex_init(&s->park_mu, NULL);
    pthread_mutex_init(&s->jobs_mu, NULL);
    pthread_cond_init(&s->guard_cv, NULL);
    pthread_cond_init(&s->live_cv, NULL);
    pthread_cond_init(&s->jobs_cv, NULL);
    s->last_event = cli_now();
    if (s->lim.cache_bytes && !(s->cache = cache_new(s->lim.cache_bytes))) return -ENOMEM;
    live_tick(s, true); /* /metrics has a body before the first request */
    s->workers = calloc(s->lim.queries, sizeof *s->workers);
    if (!s->workers) return -ENOMEM;
    for (; s->n_workers < s->lim.queries; s->n_workers++)
        if (pthread_create(&s->workers[s->n_workers], NULL, worker_main, s)) return -EAGAIN;
    if (pthread_create(&s->live, NULL, live_main, s)) return -EAGAIN;
    if (pthread_create(&s->guard, NULL, guard_main, s)) return -EAGAIN;
    return 0;
}

/* Every parked connection is woken before this returns: libmicrohttpd must
 * not be stopped with a suspended connection. */
void work_stop(struct server *s)
{
    pthread_mutex_lock(&s->jobs_mu);
    s->jobs_closed = true;
    pthread_cond_broadcast(&s->jobs_cv);
    pthread_mutex_unlock(&s->jobs_mu);
    for (unsigned i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    struct job *j;
    while ((j = s->pending)) {
        s->pending = j->next;
        finish(s, j, error_blob(503, "shutting down", 0));
    }
    pthread_mutex_lock(&s->park_mu);
    s->live_stop = true;
    s->streams_closed = true;
    pthread_cond_signal(&s->live_cv);
    pthread_mutex_unlock(&s->park_mu);
    pthread_join(s->live, NULL);
    wake_streams(s);
    pthread_mutex_lock(&s->conns_mu);
    s->guard_stop = true;
    pthread_cond_signal(&s->guard_cv);
    pthread_mutex_unlock(&s->conns_mu);
    pthread_join(s->guard, NULL);
}

void work_free(struct server *s)
{
    store_close(s->live_db);
    pool_drain();
    cache_free(s->cache);
    blob_unref(s->metrics);
    free(s->log);
    free(s->workers);
}
