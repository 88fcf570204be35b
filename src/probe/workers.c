/* workers — the bounded thread pool that runs blocking protocol modules (libssh).
 *
 * The loop submits a slot only while fewer than n are out, so the queue (n entries) never fills
 * and submit never waits.  A worker runs the module's check with the slot to itself and writes
 * the slot's pointer to the loop's pipe when done; the loop alone finishes it.  workers_free()
 * lets each worker end its current check (bounded by the module's timeouts) and joins them. */
#include "../core/cli.h"
#include "probe.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct workers;
struct workers *workers_new(unsigned n, int notify_fd);
bool workers_submit(struct workers *w, struct probe_conn *c);
void workers_free(struct workers *w);

struct workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct probe_conn **q;
    unsigned n, head, len, started;
    bool stop;
    int notify_fd;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    struct workers *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->len && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->len) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        struct probe_conn *c = w->q[w->head];
        w->head = (w->head + 1) % w->n;
        w->len--;
        pthread_mutex_unlock(&w->mu);
        probe_protos[c->job->proto]->run(c);
        while (write(w->notify_fd, &c, sizeof c) < 0)
            usleep(1000); /* the pipe holds thousands of pointers: only a full one waits */
    }
}

struct workers *workers_new(unsigned n, int notify_fd)
{
    struct workers *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->n = n ? n : 1;
    w->notify_fd = notify_fd;
    w->q = calloc(w->n, sizeof *w->q);
    w->threads = calloc(w->n, sizeof *w->threads);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (!w->q || !w->threads) {
        workers_free(w);
        return NULL;
    }
    return w;
}

/* Threads start on first use: a run without SSH targets starts none. */
bool workers_submit(struct workers *w, struct probe_conn *c)
{
    pthread_mutex_lock(&w->mu);
    if (w->len == w->n) {
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    w->q[(w->head + w->len) % w->n] = c;
    w->len++;
    if (w->started < w->n)
        if (pthread_create(&w->threads[w->started], NULL, worker, w) == 0) w->started++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return true;
}

void workers_free(struct workers *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->started; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->q);
    free(w->threads);
    free(w);
}
