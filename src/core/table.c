/* table — inline open-addressing hash table (see table.h). */
#include "table.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_FROM (4u << 20) /* arrays this large go on 2 MiB pages */

/* A table of a million sources is hundreds of MiB probed at random: on 4 KiB
 * pages nearly every probe also misses the TLB (and a prefetch that misses
 * the TLB may be dropped), so large arrays ask for transparent huge pages.
 * Still plain heap memory: free() and realloc() take it. */
static void *array_alloc(size_t n, size_t size, bool zero)
{
    size_t bytes = n * size;
    if (bytes < HUGE_FROM) return zero ? calloc(n, size) : malloc(bytes);
    void *p;
    if (posix_memalign(&p, 2u << 20, bytes) != 0) return NULL;
    madvise(p, bytes, MADV_HUGEPAGE); /* a hint: without it, small pages */
    if (zero) memset(p, 0, bytes);
    return p;
}

int table_init(struct table *t, size_t esize, size_t ksize, size_t initial)
{
    size_t cap = 16;
    while (cap < initial)
        cap *= 2;
    memset(t, 0, sizeof *t);
    t->hash = array_alloc(cap, sizeof *t->hash, true);
    t->slots = array_alloc(cap, esize, false);
    if (!t->hash || !t->slots) {
        free(t->hash);
        free(t->slots);
        return err_set(-ENOMEM, "table: out of memory");
    }
    t->cap = cap;
    t->esize = esize;
    t->ksize = ksize;
    return 0;
}

/* Keys of 16 bytes (addresses) compare as two words, of 4 (countries, ASNs
 * per interval: two lookups per source and interval) as one: memcmp is a
 * call here. */
static inline bool key_eq(const void *a, const void *b, size_t n)
{
    if (n == 16) {
        uint64_t x[2], y[2];
        memcpy(x, a, 16);
        memcpy(y, b, 16);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
    }
    if (n == 4) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return x == y;
    }
    return memcmp(a, b, n) == 0;
}

static size_t probe(const struct table *t, const void *key, uint64_t h, bool *found)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    while (t->hash[i]) {
        if (t->hash[i] == h && key_eq(t->slots + i * t->esize, key, t->ksize)) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return i;
}

static int resize(struct table *t, size_t cap)
{
    struct table n = *t;
    n.hash = array_alloc(cap, sizeof *n.hash, true);
    n.slots = array_alloc(cap, t->esize, false);
    if (!n.hash || !n.slots) {
        free(n.hash);
        free(n.slots);
        return err_set(-ENOMEM, "table: out of memory");
    }
    n.cap = cap;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->hash[i]) continue;
        bool found;
        size_t j = probe(&n, t->slots + i * t->esize, t->hash[i], &found);
        n.hash[j] = t->hash[i];
        memcpy(n.slots + j * t->esize, t->slots + i * t->esize, t->esize);
    }
    free(t->hash);
    free(t->slots);
    *t = n;
    return 0;
}

void *table_get(struct table *t, const void *key, uint64_t h, bool *created)
{
    if (!h) h = 1;
    bool found;
    size_t i = probe(t, key, h, &found);
    if (found) {
        if (created) *created = false;
        return t->slots + i * t->esize;
    }
    if ((t->n + 1) * 4 > t->cap * 3) {
        if (resize(t, t->cap * 2) < 0) return NULL;
        i = probe(t, key, h, &found);
    }
    uint8_t *e = t->slots + i * t->esize;
    memset(e, 0, t->esize);
    memcpy(e, key, t->ksize);
    t->hash[i] = h;
    t->n++;
    if (created) *created = true;
    return e;
}

int table_reserve(struct table *t, size_t n)
{
    size_t cap = t->cap;
    while (n * 4 > cap * 3)
        cap *= 2;
    return cap == t->cap ? 0 : resize(t, cap);
}

void *table_find(const struct table *t, const void *key, uint64_t h)
{
    if (!h) h = 1;
    bool found;
    size_t i = probe(t, key, h, &found);
    return found ? t->slots + i * t->esize : NULL;
}

void *table_next(const struct table *t, size_t *i)
{
    for (; *i < t->cap; (*i)++)
        if (t->hash[*i]) return t->slots + (*i)++ * t->esize;
    return NULL;
}

int table_filter(struct table *t, bool (*keep)(void *entry, void *ctx), void *ctx)
{
    size_t kept = 0;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->hash[i]) continue;
        if (keep(t->slots + i * t->esize, ctx))
            kept++;
        else
            t->hash[i] = 0;
    }
    t->n = kept;
    /* removed slots break probe chains: rehash the survivors in place of a tombstone scheme */
    return resize(t, t->cap);
}

void table_clear(struct table *t)
{
    memset(t->hash, 0, t->cap * sizeof *t->hash);
    t->n = 0;
}

void *table_take(struct table *t, size_t *n)
{
    struct table fresh;
    if (table_init(&fresh, t->esize, t->ksize, 16) < 0) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->hash[i]) continue;
        if (k != i) memcpy(t->slots + k * t->esize, t->slots + i * t->esize, t->esize);
        k++;
    }
    void *out = t->slots;
    *n = k;
    free(t->hash);
    *t = fresh;
    return out;
}

void table_free(struct table *t)
{
    free(t->hash);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
