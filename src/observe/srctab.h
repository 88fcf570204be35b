/* srctab — the aggregator's table of sources: dense entries behind an index of slots.
 *
 * An event window holds up to a million sources, each an entry that packets
 * update at random.  Here entries live in one array in arrival order and
 * keep their number for the whole window, and an open-addressed index of
 * 16-byte slots (at most 3/4 full, four to a line) finds them.  A slot holds the entry's
 * number, a word free for the caller (agg keeps the index of the source's
 * row in the open interval there), and a key: an IPv4 source's whole
 * address, so that for nearly every packet of a darknet the slot alone
 * answers and the entry's line is not read at all; for an IPv6 source the
 * high half of its hash, the entry deciding.  Compared with entries inline
 * in an open-addressed table (core/table.h):
 * - a packet reads one line of the index instead of a hash line and an
 *   entry line;
 * - the memory is what the sources use, not a capacity kept under 3/4 full:
 *   at a million sources the kernel zeroes ~100 MiB of pages fewer (a large
 *   cost on this kind of machine), and a table reserved for a file's worth
 *   of sources costs nothing it does not fill (reserving is address space);
 * - growing rehashes slots from the entries' hashes kept beside them and
 *   never renumbers an entry, so what names an entry by number (the
 *   interval's rows) stays true across growth;
 * - the window's close walks entries in order, with no holes to skip.
 * Pointers to slots are valid until the next srctab_get, pointers to
 * entries until the next one that adds an entry.  Keys are struct ipaddr,
 * the first 16 bytes of an entry. */
#ifndef MAMORI_SRCTAB_H
#define MAMORI_SRCTAB_H

#include "../core/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct srcslot {
    uint32_t key;    /* see above */
    uint32_t number; /* the entry's number + 1; 0: an empty slot */
    uint32_t user;   /* the caller's (0 for a new entry); kept across growth */
    uint32_t v4;     /* 1: key is the whole IPv4 address */
};

struct srctab {
    struct srcslot *slot; /* cap slots */
    size_t cap;           /* a power of two */
    uint8_t *ent;         /* n entries of esize bytes, numbered from 0 */
    uint64_t *hash;       /* each entry's hash */
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

static inline void *srctab_entry(const struct srctab *t, const struct srcslot *s)
{
    return srctab_at(t, s->number - 1);
}

static inline bool srctab_key_eq(const void *a, const void *b)
{
    uint64_t x[2], y[2];
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

/* The slot a lookup of this hash reads first (to prefetch). */
static inline const struct srcslot *srctab_first_slot(const struct srctab *t, uint64_t h)
{
    return &t->slot[h & (t->cap - 1)];
}

/* A key's word in the slots: the IPv4 address, or the hash's high half. */
static inline uint32_t srctab_slot_key(const struct ipaddr *key, uint64_t h, uint32_t *v4)
{
    *v4 = ip_is_v4(key);
    uint32_t a;
    memcpy(&a, key->b + 12, 4);
    return *v4 ? a : (uint32_t)(h >> 32);
}

/* The key's slot, or NULL. */
static inline struct srcslot *srctab_find(const struct srctab *t, const struct ipaddr *key,
                                          uint64_t h)
{
    uint32_t v4, k = srctab_slot_key(key, h, &v4);
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct srcslot *s = &t->slot[i];
        if (!s->number) return NULL;
        if (s->key == k && s->v4 == v4 && (v4 || srctab_key_eq(srctab_entry(t, s), key))) return s;
    }
}

/* The key's slot, or that of a zeroed entry appended with the key copied
 * in (*created).  NULL only when memory runs out. */
struct srcslot *srctab_get(struct srctab *t, const struct ipaddr *key, uint64_t h, bool *created);

/* Hands the entry array (n entries in number order; free() it, NULL when
 * there were none) to the caller and leaves the table empty and freed:
 * srctab_init starts it over. */
void *srctab_take(struct srctab *t, size_t *n);

#endif
