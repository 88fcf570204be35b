/* writer — bounded queue and committing thread (see writer.h). */
#include "writer.h"
#include "../core/err.h"
#include "sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct writer {
    struct sinks *sinks;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    struct interval_rec *q[WRITER_DEPTH];
    int head, n;
    struct live_sample samples[WRITER_SAMPLES];
    size_t n_samples;
    bool closing;
    int rc;
    char err[512];
    double cpu_s; /* the thread's CPU time when it ended */
};

static void *run(void *arg)
{
    struct writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->n && !w->n_samples && !w->closing)
            pthread_cond_wait(&w->changed, &w->mu);
        if (w->n_samples) { /* live-view samples first: they are what someone is watching */
            struct live_sample batch[WRITER_SAMPLES];
            size_t k = w->n_samples;
            memcpy(batch, w->samples, k * sizeof *batch);
            w->n_samples = 0;
            pthread_mutex_unlock(&w->mu);
            sinks_put_samples(w->sinks, batch, k); /* best effort */
            sinks_flush(w->sinks); /* a pipe reader sees them now; a failure is kept */
            pthread_mutex_lock(&w->mu);
            continue;
        }
        if (!w->n) break;
        /* everything queued goes in one transaction: replaying a long capture
         * closes intervals faster than one commit each would allow */
        struct interval_rec *batch[WRITER_DEPTH];
        int n = w->n;
        for (int i = 0; i < n; i++)
            batch[i] = w->q[(w->head + i) % WRITER_DEPTH];
        pthread_mutex_unlock(&w->mu);
        /* a sink that failed takes nothing more; the others still take
         * everything accepted (sink.h); the first failure is kept */
        int rc = sinks_put_intervals(w->sinks, batch, (size_t)n);
        int frc = sinks_flush(w->sinks); /* the healthy ones, also after a failure */
        if (rc == 0) rc = frc;
        for (int i = 0; i < n; i++)
            interval_rec_free(batch[i]);
        pthread_mutex_lock(&w->mu);
        if (rc < 0 && !w->rc) {
            w->rc = rc;
            snprintf(w->err, sizeof w->err, "%s", err_msg());
        }
        w->head = (w->head + n) % WRITER_DEPTH;
        w->n -= n;
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->mu);
    struct timespec cpu;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
        w->cpu_s = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
    return NULL;
}

struct writer *writer_start(struct sinks *s)
{
    struct writer *w = calloc(1, sizeof *w);
    if (!w) {
        err_set(-ENOMEM, "writer: out of memory");
        return NULL;
    }
    w->sinks = s;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->changed, NULL);
    if (pthread_create(&w->th, NULL, run, w) == 0) {
        pthread_setname_np(w->th, "mamori-writer");
    } else {
        err_set(-EAGAIN, "writer: cannot start a thread");
        free(w);
        return NULL;
    }
    return w;
}

int writer_put(struct writer *w, struct interval_rec *r)
{
    pthread_mutex_lock(&w->mu);
    while (w->n == WRITER_DEPTH)
        pthread_cond_wait(&w->changed, &w->mu);
    w->q[(w->head + w->n) % WRITER_DEPTH] = r;
    w->n++;
    int rc = w->rc;
    if (rc) err_set(rc, "%s", w->err);
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void writer_put_samples(struct writer *w, const struct live_sample *v, size_t n)
{
    if (!n) return;
    if (n > WRITER_SAMPLES) {
        v += n - WRITER_SAMPLES;
        n = WRITER_SAMPLES;
    }
    pthread_mutex_lock(&w->mu);
    size_t keep = w->n_samples + n > WRITER_SAMPLES ? WRITER_SAMPLES - n : w->n_samples;
    memmove(w->samples, w->samples + (w->n_samples - keep), keep * sizeof *w->samples);
    memcpy(w->samples + keep, v, n * sizeof *v);
    w->n_samples = keep + n;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->mu);
}

int writer_close(struct writer *w)
{
    return writer_close_cpu(w, NULL);
}

int writer_close_cpu(struct writer *w, double *cpu_s)
{
    if (!w) return 0;
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    if (cpu_s) *cpu_s = w->cpu_s;
    int rc = w->rc;
    if (rc) err_set(rc, "%s", w->err);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->changed);
    free(w);
    return rc;
}
