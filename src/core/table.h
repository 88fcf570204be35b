/* table — open-addressed hash table of fixed-size entries, keyed by their first bytes.
 *
 * The hot structure of every aggregator: sources per interval, DoS vectors,
 * country and ASN rows.  Entries live inline (no per-entry allocation, one
 * cache miss per lookup); hashes sit in a parallel array (0 = empty) so a probe
 * compares 8 bytes before touching the entry.  Linear probing, load <= 3/4.
 * Pointers into the table are valid until the next insertion. */
#ifndef MAMORI_TABLE_H
#define MAMORI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct table {
    uint64_t *hash;
    uint8_t *slots;
    size_t cap, n, esize, ksize;
};

int table_init(struct table *t, size_t esize, size_t ksize, size_t initial);
/* Finds the entry with this key, or inserts a zeroed one with the key copied in.
 * Returns NULL only when memory runs out. */
void *table_get(struct table *t, const void *key, uint64_t hash, bool *created);
void *table_find(const struct table *t, const void *key, uint64_t hash);
/* Grows the table now so that n entries fit without a resize. */
int table_reserve(struct table *t, size_t n);
/* Starts loading the slot a key with this hash will probe first. */
static inline void table_prefetch(const struct table *t, uint64_t hash)
{
    size_t i = (size_t)(hash ? hash : 1) & (t->cap - 1);
    __builtin_prefetch(&t->hash[i]);
    __builtin_prefetch(t->slots + i * t->esize);
}
/* Iterate: for (size_t i = 0; (e = table_next(t, &i)); ) */
void *table_next(const struct table *t, size_t *i);
/* Keeps the entries for which keep() returns true. */
int table_filter(struct table *t, bool (*keep)(void *entry, void *ctx), void *ctx);
void table_clear(struct table *t);
/* Moves the entries to the front of their storage and hands that array (of
 * *n entries; free() it) to the caller; the table is left empty and small. */
void *table_take(struct table *t, size_t *n);
void table_free(struct table *t);

#endif
