/* srctab — the aggregator's table of sources: dense entries behind an index of slots.
 *
 * An event window holds up to a million sources, each an entry that packets
 * update at random.  Here entries live in one array in arrival order and
 * keep their number for the whole window, and an open-addressed index of
 * 8-byte slots (the high half of the source's hash as a tag, the entry's
 * number + 1 below; at most half full) finds them.  A lookup reads one slot
 * line, then the one entry whose tag matches: the same two lines as a table
 * of entries inline with a hash array (core/table.h), but
 * - the memory is what the sources use, not a capacity: entries are not
 *   spread over a table kept under 3/4 full, so at a million sources the
 *   kernel zeroes ~100 MiB of pages fewer (a large cost on this kind of
 *   machine), and a table sized ahead for a file's worth of sources costs
 *   nothing it does not fill (the entry array is reserved, not touched);
 * - growing rehashes slots from the entries' hashes kept beside them and
 *   never moves an entry to another number, so what names an entry by
 *   number (the interval's rows) stays true across growth;
 * - the window's close walks entries in order, with no holes to skip.
 * Pointers to entries are valid until the next srctab_get (the array may be
 * reallocated, which for large blocks remaps pages rather than copying).
 * Keys are struct ipaddr, the first 16 bytes of an entry. */
#ifndef MAMORI_SRCTAB_H
#define MAMORI_SRCTAB_H

#include "../core/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct srctab {
    uint64_t *slot;  /* cap slots: 0 empty, else tag << 32 | (number + 1) */
    size_t cap;      /* a power of two */
    uint8_t *ent;    /* n entries of esize bytes, numbered from 0 */
    uint64_t *hash;  /* each entry's hash */
    size_t n, ecap, esize;
};

/* expect: entries to reserve (address space only) and to index without growing. */
int srctab_init(struct srctab *t, size_t esize, size_t expect);
/* Reserves room for n entries in an empty table (as srctab_init would). */
int srctab_reserve(struct srctab *t, size_t n);
void srctab_free(struct srctab *t);

static inline void *srctab_at(const struct srctab *t, size_t i)
{
    return t->ent + i * t->esize;
}

static inline uint32_t srctab_number(const struct srctab *t, const void *e)
{
    return (uint32_t)(((const uint8_t *)e - t->ent) / t->esize);
}

static inline bool srctab_key_eq(const void *a, const void *b)
{
    uint64_t x[2], y[2];
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

/* The slot a lookup of this hash reads first (to prefetch). */
static inline const uint64_t *srctab_first_slot(const struct srctab *t, uint64_t h)
{
    return &t->slot[h & (t->cap - 1)];
}

/* The entry the first slot names when its tag matches, else NULL (to
 * prefetch once the slot has arrived: it is usually the source's). */
static inline const void *srctab_guess(const struct srctab *t, uint64_t h)
{
    uint64_t s = t->slot[h & (t->cap - 1)];
    return s && (uint32_t)(s >> 32) == (uint32_t)(h >> 32) ? srctab_at(t, (uint32_t)s - 1) : NULL;
}

static inline void *srctab_find(const struct srctab *t, const struct ipaddr *key, uint64_t h)
{
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t s = t->slot[i];
        if (!s) return NULL;
        if ((uint32_t)(s >> 32) != (uint32_t)(h >> 32)) continue;
        void *e = srctab_at(t, (uint32_t)s - 1);
        if (srctab_key_eq(e, key)) return e;
    }
}

/* Finds the entry with this key, or appends a zeroed one with the key
 * copied in (*created).  NULL only when memory runs out. */
void *srctab_get(struct srctab *t, const struct ipaddr *key, uint64_t h, bool *created);

/* Hands the entry array (n entries in number order; free() it, NULL when
 * there were none) to the caller and leaves the table empty and freed:
 * srctab_init starts it over. */
void *srctab_take(struct srctab *t, size_t *n);

#endif
