/* shard — files through sharded aggregator threads (see shard.h).
 *
 * The meeting point is one mutex and condition variable: the shards meet
 * twice per interval (the window-size sum in agg_flush, then the records), a
 * few hundred times per run, never per packet.  A shard that fails cancels
 * the meeting so the others stop at their next one instead of waiting. */
#include "shard.h"
#include "source.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/pkt.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHARD_BATCH 256

struct shards;

struct member {
    struct shards *s;
    unsigned idx;
    struct agg *agg;
    _Atomic uint64_t pos; /* records of the current file fed so far */
    const char *path;
    int rc;         /* of the last shard_read_one / finish */
    char err[512];  /* its message (err_msg is per thread) */
    int64_t now_us; /* for finish */
    double cpu_s;   /* its thread's CPU time in read and finish */
};

struct shards {
    struct shard_cfg cfg;
    struct member m[SHARD_MAX];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned arrived;
    uint64_t gen, sum, result;
    struct interval_rec *parts[SHARD_MAX];
    bool cancelled;
    uint64_t alerts;
    _Atomic uint64_t stop_at; /* UINT64_MAX: read to the end */
};

unsigned shard_auto(void)
{
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                         : sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 2 ? 2 : 1;
}

static void cancel(struct shards *s)
{
    pthread_mutex_lock(&s->mu);
    s->cancelled = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Waits for every shard to arrive; the last one returns true (it acts). */
static bool arrive(struct shards *s)
{
    if (++s->arrived == s->cfg.n) {
        s->arrived = 0;
        s->gen++;
        pthread_cond_broadcast(&s->cv);
        return true;
    }
    uint64_t gen = s->gen;
    while (s->gen == gen && !s->cancelled)
        pthread_cond_wait(&s->cv, &s->mu);
    return false;
}

static int meet_sum(void *ctx, uint64_t *v)
{
    struct member *m = ctx;
    struct shards *s = m->s;
    pthread_mutex_lock(&s->mu);
    if (s->cancelled) {
        pthread_mutex_unlock(&s->mu);
        return -ECANCELED;
    }
    s->sum += *v;
    if (arrive(s)) {
        s->result = s->sum;
        s->sum = 0;
    }
    *v = s->result;
    int rc = s->cancelled ? -ECANCELED : 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The last shard to bring its part joins them and passes the result on. */
static int meet_record(struct interval_rec *r, void *ctx)
{
    struct member *m = ctx;
    struct shards *s = m->s;
    struct interval_rec *parts[SHARD_MAX];
    pthread_mutex_lock(&s->mu);
    if (s->cancelled) {
        pthread_mutex_unlock(&s->mu);
        interval_rec_free(r);
        return -ECANCELED;
    }
    s->parts[m->idx] = r;
    bool last = arrive(s);
    if (last) memcpy(parts, s->parts, s->cfg.n * sizeof *parts);
    int rc = s->cancelled ? -ECANCELED : 0;
    pthread_mutex_unlock(&s->mu);
    if (!last) return rc;
    rc = agg_merge(parts, s->cfg.n);
    if (rc == 0 && s->cfg.agg.surge) rc = agg_surge(s->cfg.agg.surge, parts[0]);
    if (rc == 0) {
        s->alerts += parts[0]->n_alerts;
        rc = s->cfg.agg.sink(parts[0], s->cfg.agg.sink_ctx);
    } else {
        interval_rec_free(parts[0]);
    }
    if (rc < 0) cancel(s);
    return rc;
}

struct shards *shards_new(const struct shard_cfg *c)
{
    struct shards *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(-ENOMEM, "observe: out of memory");
        return NULL;
    }
    s->cfg = *c;
    if (s->cfg.n < 1) s->cfg.n = 1;
    if (s->cfg.n > SHARD_MAX) s->cfg.n = SHARD_MAX;
    atomic_store(&s->stop_at, UINT64_MAX);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (unsigned i = 0; i < s->cfg.n; i++) {
        struct agg_cfg ac = c->agg;
        struct member *m = &s->m[i];
        m->s = s;
        m->idx = i;
        ac.dos = c->dos[i];
        ac.shard = i;
        ac.n_shards = s->cfg.n;
        if (s->cfg.n > 1) { /* surge runs on the joined record */
            ac.surge = NULL;
            ac.sink = meet_record;
            ac.sink_ctx = m;
            ac.sync = meet_sum;
            ac.sync_ctx = m;
        }
        if (!(m->agg = agg_new(&ac))) {
            shards_free(s);
            return NULL;
        }
    }
    return s;
}

/* Where every shard stops after a stop request: past what any of them has
 * already taken in hand (each publishes its position before a batch). */
static void request_stop(struct shards *s)
{
    pthread_mutex_lock(&s->mu);
    if (atomic_load(&s->stop_at) == UINT64_MAX) {
        uint64_t at = 0;
        for (unsigned i = 0; i < s->cfg.n; i++) {
            uint64_t p = atomic_load(&s->m[i].pos);
            if (p > at) at = p;
        }
        atomic_store(&s->stop_at, at + SHARD_BATCH);
    }
    pthread_mutex_unlock(&s->mu);
}

static void fail(struct member *m, int rc)
{
    m->rc = rc;
    snprintf(m->err, sizeof m->err, "%s", err_msg());
}

/* One file through one shard, as a "file" packet source (source.h). */
static void read_one(struct member *m)
{
    struct shards *s = m->s;
    bool first = m->idx == 0;
    struct pkt_source src;
    m->rc = 0;
    if (pkt_source_open(&src, "file", m->path) < 0) {
        if (first) cli_error("%s", err_msg());
        m->rc = 1;
        return;
    }
    int dlt = src.ops->dlt(src.st);
    if (!pkt_linktype_supported(dlt)) {
        if (first) cli_error("%s: unsupported link type %d", m->path, dlt);
        m->rc = 1;
        pkt_source_close(&src);
        return;
    }
    /* every record is 16 bytes of header and at least 48 of frame that can
     * bring a new source, and each shard takes its share of them */
    struct stat st;
    if (stat(m->path, &st) == 0 && S_ISREG(st.st_mode))
        agg_expect_sources(m->agg, (size_t)st.st_size / 64 / s->cfg.n + 1);
    struct pcapf_rec r[SHARD_BATCH];
    int n = 0;
    for (;;) {
        uint64_t pos = atomic_load(&m->pos), stop = atomic_load(&s->stop_at);
        if (pos >= stop) break;
        n = pkt_source_next(&src, r, SHARD_BATCH);
        if (n == -EAGAIN) continue; /* a signal interrupted a read: nothing consumed */
        if (n <= 0) break;
        if (pos + (uint64_t)n > stop) n = (int)(stop - pos);
        int rc = agg_frames(m->agg, r, (size_t)n);
        atomic_store(&m->pos, pos + (uint64_t)n);
        if (rc < 0) {
            fail(m, rc);
            cancel(s);
            break;
        }
        if (first && s->cfg.poll)
            s->cfg.poll(s->cfg.poll_ctx, m->agg, m->path, src.ops->progress(src.st), false);
        if (s->cfg.stopping && s->cfg.stopping()) request_stop(s);
    }
    if (m->rc == 0 && n < 0) { /* "PATH: damaged capture after N complete records: ..." */
        if (first) cli_error("%s", err_msg());
        m->rc = 1;
    }
    if (first && s->cfg.poll) s->cfg.poll(s->cfg.poll_ctx, m->agg, m->path, 1, true);
    pkt_source_close(&src);
}

static double thread_cpu(void)
{
    struct timespec t;
    return clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0 ? (double)t.tv_sec + t.tv_nsec / 1e9 : 0;
}

static void *read_thread(void *arg)
{
    struct member *m = arg;
    double t0 = thread_cpu();
    read_one(m);
    m->cpu_s += thread_cpu() - t0;
    return NULL;
}

static void finish_one(struct member *m)
{
    int rc = agg_settle(m->agg, m->now_us);
    if (rc == 0) rc = agg_flush(m->agg, true);
    if (rc < 0) {
        fail(m, rc);
        cancel(m->s);
    }
}

static void *finish_thread(void *arg)
{
    struct member *m = arg;
    double t0 = thread_cpu();
    finish_one(m);
    m->cpu_s += thread_cpu() - t0;
    return NULL;
}

/* Runs fn on every member, shard 0 on the calling thread; the first real
 * failure's code and message (a cancelled shard only echoes it). */
static int run_all(struct shards *s, void *(*fn)(void *))
{
    pthread_t th[SHARD_MAX];
    bool started[SHARD_MAX] = {0};
    for (unsigned i = 1; i < s->cfg.n; i++) {
        if (pthread_create(&th[i], NULL, fn, &s->m[i]) != 0) {
            cancel(s);
            s->m[i].rc = err_set(-EAGAIN, "observe: cannot start an aggregator thread");
            snprintf(s->m[i].err, sizeof s->m[i].err, "%s", err_msg());
            continue;
        }
        started[i] = true;
        pthread_setname_np(th[i], "mamori-shard");
    }
    fn(&s->m[0]);
    for (unsigned i = 1; i < s->cfg.n; i++)
        if (started[i]) pthread_join(th[i], NULL);
    int rc = 0, soft = 0;
    for (unsigned i = 0; i < s->cfg.n; i++) {
        int r = s->m[i].rc;
        if (r > 0) soft = r;
        if (r < 0 && (rc == 0 || (rc == -ECANCELED && r != -ECANCELED))) {
            rc = r;
            err_set(r, "%s", s->m[i].err);
        }
    }
    return rc < 0 ? rc : soft;
}

int shards_read(struct shards *s, const char *path)
{
    for (unsigned i = 0; i < s->cfg.n; i++) {
        s->m[i].path = path;
        atomic_store(&s->m[i].pos, 0);
    }
    return run_all(s, read_thread);
}

int shards_finish(struct shards *s, int64_t now_us)
{
    for (unsigned i = 0; i < s->cfg.n; i++)
        s->m[i].now_us = now_us;
    return run_all(s, finish_thread);
}

void shards_totals(const struct shards *s, struct agg_totals *t)
{
    *t = *agg_totals(s->m[0].agg); /* the clock's counters: the same in every shard */
    if (s->cfg.n == 1) return;
    t->packets = t->untracked = t->dos = t->malformed = t->non_ip = t->outside = 0;
    for (unsigned i = 0; i < s->cfg.n; i++) {
        const struct agg_totals *x = agg_totals(s->m[i].agg);
        t->packets += x->packets;
        t->untracked += x->untracked;
        t->dos += x->dos;
        t->malformed += x->malformed; /* each shard counts those of its own frames */
        t->non_ip += x->non_ip;
        t->outside += x->outside;
    }
    t->alerts = s->alerts;
}

unsigned shards_cpu(const struct shards *s, double *cpu_s)
{
    for (unsigned i = 0; i < s->cfg.n; i++)
        cpu_s[i] = s->m[i].cpu_s;
    return s->cfg.n;
}

struct agg *shards_first(struct shards *s)
{
    return s->m[0].agg;
}

void shards_free(struct shards *s)
{
    if (!s) return;
    for (unsigned i = 0; i < s->cfg.n; i++)
        agg_free(s->m[i].agg);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
