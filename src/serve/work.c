/* work — the threads serve owns (with live.c), so that libmicrohttpd's never wait.
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
 * event loops) run the expensive endpoints (a route line's query handler,
 * routes.c) from a bounded queue; requests for
 * the same key (params.h api_key) at the same generation share one run, and
 * the answer goes to the cache.  Beyond the queue: 503 with Retry-After.
 *
 * The live thread (live.c) watches the database and feeds the streams.
 *
 * The guard thread shuts down connections whose request head is not complete
 * within --header-timeout of the connect (or of the end of the previous
 * answer, on a kept-alive connection): the whole head has a deadline, not each
 * byte.  When all --max-connections are taken, a new connection pushes out
 * the oldest one still sending its head, or else the oldest answer that has
 * taken longer than --header-timeout (a reader taking a few bytes at a time;
 * streams are long by design and exempt), so a slow flood cannot keep a quick
 * client out; the guard does the same when the library's slack above the cap
 * is in use, since a refused connection never reaches us. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../store/store.h"
#include "routes.h"
#include "serve.h"
#include "taxii.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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
bool wake_locked(int *state)
{
    if (*state == PARK_PARKED) {
        *state = PARK_IDLE;
        return true;
    }
    *state = PARK_WOKEN;
    return false;
}

/* ---- connections and the guard ---- */

static void reap(struct server *s, struct conn *o)
{
    /* the connection's own thread sees the end of its socket and closes it */
    shutdown(o->fd, SHUT_RDWR);
    o->reaped = true;
    s->n_reaped++;
}

/* With conns_mu held.  Over --max-connections, the oldest connections still
 * sending their head are closed first, then those whose answer (not a stream)
 * has taken longer than --header-timeout: a client that reads its answer a few
 * bytes at a time holds its slot only while no one else needs it. */
static void make_room(struct server *s, struct conn *keep)
{
    double now = cli_now();
    for (int pass = 0; pass < 2; pass++)
        for (struct conn *o = s->oldest; o && s->n_conns - s->n_reaped > s->lim.connections;
             o = o->next) {
            if (o->reaped || o == keep || o->fd < 0) continue;
            if (pass == 0 ? o->headers_done
                          : !o->headers_done || o->stream || now - o->since < s->lim.header_timeout)
                continue;
            reap(s, o);
        }
}

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
    make_room(s, k);
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
    taxii_req_free(k->taxii);
    free(k);
}

void conn_request(struct server *s, struct conn *k, bool head_done)
{
    pthread_mutex_lock(&s->conns_mu);
    k->headers_done = head_done;
    k->since = cli_now();
    if (!head_done) k->stream = false; /* the answer is over */
    pthread_mutex_unlock(&s->conns_mu);
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
            reap(s, k);
        }
        make_room(s, NULL); /* slow readers that filled every slot */
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

struct blob *error_blob(unsigned status, const char *msg, unsigned retry_after)
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

static struct blob *answer(struct server *s, const struct api_req *q)
{
    unsigned epoch;
    struct store *conn = pool_get(s, &epoch);
    if (!conn) {
        serve_log("serve: %s", err_msg()); /* the path and the reason stay here */
        return error_blob(503, "database unavailable", 5);
    }
    json_t *doc = q->def->query(conn, q); /* its line of the route table */
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
        if (b && b->status == 200 && s->cache && j->q.def->cacheable)
            cache_put(s->cache, j->key, j->gen, b);
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

/* ---- start and stop ---- */

int work_start(struct server *s)
{
    pthread_mutex_init(&s->conns_mu, NULL);
    pthread_mutex_init(&s->park_mu, NULL);
    pthread_mutex_init(&s->jobs_mu, NULL);
    serve_cond_init(&s->guard_cv);
    serve_cond_init(&s->live_cv);
    serve_cond_init(&s->jobs_cv);
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
