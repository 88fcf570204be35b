/* serve internals: what serve.c (HTTP handling in libmicrohttpd's threads)
 * and work.c (the threads serve owns) share.  See serve.c for the model. */
#ifndef MAMORI_SERVE_H
#define MAMORI_SERVE_H

#include "cache.h"
#include "clock.h"
#include "params.h"

#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* Defaults of the limits; each has an option (serve --help). */
#define SERVE_CONNECTIONS 1024       /* open connections in all */
#define SERVE_PER_ADDRESS 64         /* open connections from one address */
#define SERVE_HEADER_TIMEOUT 10      /* seconds to send a whole request head */
#define SERVE_STREAMS 256            /* /api/v1/stream clients */
#define SERVE_QUERIES 2              /* expensive queries running at once */
#define SERVE_QUEUE_PER_QUERY 8      /* and waiting, per running one */
#define SERVE_CACHE_MB 64            /* response cache */
#define SERVE_IDLE_TIMEOUT 30        /* seconds without progress while answering */
#define SERVE_EVENT_LOG (512 * 1024) /* bytes of stream events kept for slow readers */

struct serve_limits {
    unsigned connections, per_address, header_timeout, streams, queries;
    size_t cache_bytes;
};

/* A connection waiting in a parked (suspended) state for a thread of ours.
 * The states close the race between the connection's own thread parking it
 * and another thread waking it: see park() and wake() in work.c. */
enum { PARK_IDLE, PARK_PARKING, PARK_PARKED, PARK_WOKEN };

/* One TCP connection (libmicrohttpd's socket context). */
struct conn {
    struct conn *prev, *next; /* server's list, in connect order */
    struct MHD_Connection *c;
    int fd;
    double since;      /* connect or the end of the previous answer; once the head
                          is complete, the start of this answer */
    bool headers_done; /* the request head is complete */
    bool reaped;       /* shut down by the guard */
    bool stream;       /* answering /api/v1/stream: long by design */
    /* the request in progress */
    bool started, answering, nul;
    size_t args;
    const char *uri_end; /* where the raw target's first NUL is, see uri_seen */
    int park;
    struct blob *ready; /* a query's answer, set by the thread that woke us */
    struct conn *next_waiter;
    struct taxii_req *taxii; /* share: a TAXII request in progress (taxii.h) */
};

struct job;
struct sse;
struct taxii_req;
struct taxii_srv;
struct store;

struct server {
    const char *db_path;
    char web_root[PATH_MAX]; /* resolved; "" when there is none */
    struct serve_limits lim;
    struct cache *cache;
    atomic_uint_fast64_t gen; /* bumped at every database commit seen */
    atomic_uint pool_epoch;   /* bumped when the database file is replaced */

    pthread_mutex_t conns_mu; /* connection list */
    pthread_cond_t guard_cv;
    struct conn *oldest, *newest;
    unsigned n_conns, n_reaped;
    bool guard_stop;
    pthread_t guard;

    pthread_mutex_t park_mu; /* park states, streams, event log, metrics */
    pthread_cond_t live_cv;
    struct sse *streams;
    unsigned n_streams;
    bool streams_closed, live_stop, db_ok;
    char *log;
    size_t log_len, log_cap;
    uint64_t log_base; /* stream offset of log[0] */
    double last_event;
    struct blob *metrics;
    pthread_t live;
    struct store *live_db;
    dev_t db_dev;
    ino_t db_ino;
    int64_t db_version, last_sample, last_alert;
    bool events_behind; /* the last look at the event tables stopped at its LIMIT */

    pthread_mutex_t jobs_mu; /* expensive queries */
    pthread_cond_t jobs_cv;
    struct job *pending, *pending_tail, *running;
    unsigned n_jobs; /* pending and running */
    bool jobs_closed;
    pthread_t *workers;
    unsigned n_workers;

    struct taxii_srv *taxii; /* share: the TAXII server (taxii.h), NULL without --taxii */
};

/* work.c */
bool wake_locked(int *state); /* park_mu held; true: MHD_resume_connection after unlocking */
struct blob *error_blob(unsigned status, const char *msg, unsigned retry_after);
int work_start(struct server *s);
void work_stop(struct server *s);
void work_free(struct server *s);
bool park(struct server *s, struct MHD_Connection *c, int *state, bool stream);
void conn_started(struct server *s, struct conn *k);
void conn_closed(struct server *s, struct conn *k);
void conn_request(struct server *s, struct conn *k, bool head_done);
struct blob *metrics_get(struct server *s);
/* 0: k waits for the answer (park it); -EBUSY: too many queries; -ESHUTDOWN */
int job_submit(struct server *s, struct conn *k, const struct api_req *q, const char *key,
               uint64_t gen);
/* live.c */
void live_tick(struct server *s, bool quiet);
void *live_main(void *arg);
void wake_streams(struct server *s);
enum MHD_Result stream_open(struct server *s, struct MHD_Connection *c);
/* work.c */
enum MHD_Result respond_blob(struct MHD_Connection *c, struct blob *b);
enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg,
                           unsigned retry_after);
/* stderr, at most a few lines a second (an attacker must not fill a log) */
void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
