/* ckpt — WAL checkpoints on a thread of their own (see ckpt.h). */
#include "ckpt.h"
#include "../core/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define CKPT_PAGES 1000 /* SQLite's own wal_autocheckpoint default */

struct ckpt {
    sqlite3 *writer; /* the connection whose checkpoints this runs */
    sqlite3 *db;     /* our own: a checkpoint in another connection never blocks its commits */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool pending, stop;
};

/* After every commit of the writing connection, with the WAL's size. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    struct ckpt *c = arg;
    if (pages < CKPT_PAGES) return SQLITE_OK;
    pthread_mutex_lock(&c->mu);
    c->pending = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return SQLITE_OK;
}

static void *run(void *arg)
{
    struct ckpt *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->pending && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->pending) break;
        c->pending = false;
        pthread_mutex_unlock(&c->mu);
        /* best effort, as the automatic one: what it cannot copy now (a
         * reader still on older pages, SQLITE_BUSY) the next one or the
         * close copies */
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

struct ckpt *ckpt_start(sqlite3 *db, const char *path)
{
    struct ckpt *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(-ENOMEM, "checkpoints: out of memory");
        return NULL;
    }
    c->writer = db;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
        err_set(-EIO, "%s: cannot open for checkpoints: %s", path,
                c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, 5000);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->th, NULL, run, c) != 0) {
        err_set(-EAGAIN, "%s: cannot start the checkpoint thread", path);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    pthread_setname_np(c->th, "mamori-ckpt");
    sqlite3_wal_hook(db, on_commit, c); /* replaces (turns off) the automatic checkpoint */
    return c;
}

void ckpt_stop(struct ckpt *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    sqlite3_wal_autocheckpoint(c->writer, CKPT_PAGES);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    sqlite3_close(c->db);
    free(c);
}
