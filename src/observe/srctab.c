/* srctab — dense entries behind an index of slots (see srctab.h). */
#include "srctab.h"
#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_FROM (4u << 20) /* arrays this large ask for 2 MiB pages */

/* The index and the entries of a million sources are probed at random: on
 * 4 KiB pages nearly every probe also misses the TLB (and a prefetch that
 * misses it may be dropped).  Only a hint; still heap memory for free(). */
static void huge_hint(void *p, size_t bytes)
{
    if (bytes >= HUGE_FROM) madvise((void *)((uintptr_t)p & ~(uintptr_t)4095), bytes, MADV_HUGEPAGE);
}

static int index_make(struct srctab *t, size_t cap)
{
    struct srcslot *slot;
    size_t bytes = cap * sizeof *slot;
    if (bytes >= HUGE_FROM) {
        void *p;
        if (posix_memalign(&p, 2u << 20, bytes) != 0) return -ENOMEM;
        huge_hint(p, bytes);
        memset(p, 0, bytes);
        slot = p;
    } else if (!(slot = calloc(cap, sizeof *slot))) {
        return -ENOMEM;
    }
    size_t mask = cap - 1;
    for (size_t k = 0; k < t->cap; k++) { /* by the entries' hashes: entries stay put */
        const struct srcslot *o = &t->slot[k];
        if (!o->number) continue;
        size_t i = t->hash[o->number - 1] & mask;
        while (slot[i].number)
            i = (i + 1) & mask;
        slot[i] = *o;
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return 0;
}

static size_t index_cap(size_t n)
{
    size_t cap = 1024;
    while (3 * cap < 4 * n)
        cap *= 2;
    return cap;
}

/* Room for ecap entries: address space, touched only as entries arrive.
 * On line boundaries (2 MiB ones when large), so that an entry's first
 * bytes — the key and what a packet reads next — share one line as the
 * entry size allows; growing past the reservation copies the entries (a
 * live capture's doubling), never renumbers them. */
static int entries_room(struct srctab *t, size_t ecap)
{
    if (ecap <= t->ecap) return 0;
    if (ecap > UINT32_MAX - 1) ecap = UINT32_MAX - 1;
    if (ecap <= t->n) return -ENOMEM;
    size_t bytes = ecap * t->esize;
    void *e;
    if (posix_memalign(&e, bytes >= HUGE_FROM ? 2u << 20 : 64, bytes) != 0) return -ENOMEM;
    uint64_t *h = realloc(t->hash, ecap * sizeof *h);
    if (!h) {
        free(e);
        return -ENOMEM;
    }
    huge_hint(e, bytes);
    if (t->n) memcpy(e, t->ent, t->n * t->esize);
    free(t->ent);
    t->ent = e;
    t->hash = h;
    t->ecap = ecap;
    return 0;
}

int srctab_init(struct srctab *t, size_t esize, size_t expect)
{
    memset(t, 0, sizeof *t);
    t->esize = esize;
    if (srctab_reserve(t, expect) < 0) {
        srctab_free(t);
        return err_set(-ENOMEM, "observe: out of memory");
    }
    return 0;
}

/* The index is zeroed when made, so it is sized ahead for at most
 * INDEX_AHEAD entries: a reservation is an upper bound (a file's size over
 * its smallest record), and past this the index doubles as sources come. */
#define INDEX_AHEAD (1u << 20)

int srctab_reserve(struct srctab *t, size_t n)
{
    if (n < 1024) n = 1024;
    if (entries_room(t, n) < 0) return -ENOMEM;
    size_t cap = index_cap(n < INDEX_AHEAD ? n : INDEX_AHEAD);
    return cap > t->cap ? index_make(t, cap) : 0;
}

struct srcslot *srctab_get(struct srctab *t, const struct ipaddr *key, uint64_t h, bool *created)
{
    if (created) *created = false;
    uint32_t v4, k = srctab_slot_key(key, h, &v4);
    size_t mask = t->cap - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        struct srcslot *s = &t->slot[i];
        if (!s->number) break;
        if (s->key == k && s->v4 == v4 && (v4 || srctab_key_eq(srctab_entry(t, s), key))) return s;
    }
    if (t->n == t->ecap && entries_room(t, t->ecap * 2) < 0) return NULL;
    if (4 * (t->n + 1) > 3 * t->cap) { /* at most 3/4 full: then look again for the free slot */
        if (index_make(t, t->cap * 2) < 0) return NULL;
        mask = t->cap - 1;
        for (i = h & mask; t->slot[i].number; i = (i + 1) & mask)
            ;
    }
    size_t n = t->n++;
    t->slot[i] = (struct srcslot){.key = k, .number = (uint32_t)(n + 1), .v4 = v4};
    t->hash[n] = h;
    void *e = srctab_at(t, n);
    memset(e, 0, t->esize);
    memcpy(e, key, sizeof *key);
    if (created) *created = true;
    return &t->slot[i];
}

void *srctab_take(struct srctab *t, size_t *n)
{
    void *e = t->n ? t->ent : NULL;
    *n = t->n;
    if (!e) free(t->ent);
    free(t->slot);
    free(t->hash);
    memset(t, 0, sizeof *t);
    return e;
}

void srctab_free(struct srctab *t)
{
    free(t->slot);
    free(t->ent);
    free(t->hash);
    memset(t, 0, sizeof *t);
}
