/* cache — response cache and shared bodies (see cache.h).  A chained hash
 * table for lookups and one doubly linked list in use order for eviction. */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct blob *blob_new(unsigned status, const char *type, const char *data, size_t len)
{
    struct blob *b = malloc(sizeof *b + len + 1);
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->status = status;
    b->retry_after = 0;
    b->type = type;
    b->len = len;
    memcpy(b->data, data, len);
    b->data[len] = 0;
    return b;
}

struct blob *blob_ref(struct blob *b)
{
    if (b) atomic_fetch_add(&b->refs, 1);
    return b;
}

void blob_unref(struct blob *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) free(b);
}

#define BUCKETS 1024

struct entry {
    struct entry *chain, *newer, *older;
    uint64_t gen;
    struct blob *b;
    char key[];
};

struct cache {
    pthread_mutex_t mu;
    size_t max, bytes, n;
    struct entry *bucket[BUCKETS];
    struct entry *newest, *oldest;
};

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h % BUCKETS);
}

struct cache *cache_new(size_t max_bytes)
{
    struct cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->max = max_bytes;
    return c;
}

static void unlink_use(struct cache *c, struct entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
}

static void push_newest(struct cache *c, struct entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest) c->newest->newer = e;
    c->newest = e;
    if (!c->oldest) c->oldest = e;
}

static void drop(struct cache *c, struct entry *e)
{
    struct entry **p = &c->bucket[hash(e->key)];
    while (*p != e)
        p = &(*p)->chain;
    *p = e->chain;
    unlink_use(c, e);
    c->bytes -= e->b->len;
    c->n--;
    blob_unref(e->b);
    free(e);
}

static struct entry *find(struct cache *c, const char *key)
{
    for (struct entry *e = c->bucket[hash(key)]; e; e = e->chain)
        if (!strcmp(e->key, key)) return e;
    return NULL;
}

struct blob *cache_get(struct cache *c, const char *key, uint64_t gen)
{
    struct blob *b = NULL;
    pthread_mutex_lock(&c->mu);
    struct entry *e = find(c, key);
    if (e && e->gen != gen) {
        drop(c, e); /* computed before the last commit */
    } else if (e) {
        unlink_use(c, e);
        push_newest(c, e);
        b = blob_ref(e->b);
    }
    pthread_mutex_unlock(&c->mu);
    return b;
}

void cache_put(struct cache *c, const char *key, uint64_t gen, struct blob *b)
{
    if (!b || b->len > c->max / 4) return;
    size_t kl = strlen(key) + 1;
    struct entry *e = malloc(sizeof *e + kl);
    if (!e) return;
    memcpy(e->key, key, kl);
    e->gen = gen;
    e->b = blob_ref(b);
    pthread_mutex_lock(&c->mu);
    struct entry *old = find(c, key);
    if (old) drop(c, old);
    while (c->oldest && (c->bytes + b->len > c->max || c->n >= CACHE_MAX_ENTRIES))
        drop(c, c->oldest);
    size_t h = hash(key);
    e->chain = c->bucket[h];
    c->bucket[h] = e;
    push_newest(c, e);
    c->bytes += b->len;
    c->n++;
    pthread_mutex_unlock(&c->mu);
}

size_t cache_bytes(struct cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->bytes;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void cache_free(struct cache *c)
{
    if (!c) return;
    while (c->oldest)
        drop(c, c->oldest);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
