/* sketch — distinct counting that is exact while small and HyperLogLog beyond.
 *
 * A sketch holds 64-bit hashes in an open-addressed set until it would pass
 * SKETCH_EXACT_MAX entries, then turns into a dense HyperLogLog with 2^14
 * one-byte registers (16 KiB, standard error 0.81%).  Most darknet keys (a port,
 * an ASN) see a handful of sources, so they stay exact and tiny; the few hot
 * keys cost at most 16 KiB each.  Up to SKETCH_INLINE hashes sit in the
 * struct itself: most of a darknet's ports (8,000 a minute, nearly all of them
 * hit once) then cost no allocation at all for their sources and destinations.
 * Counting uses Ertl's improved estimator
 * (2017), which needs no bias tables and is unbiased from 0 to 2^50.
 * Sketches serialise to a compact blob so intervals can be unioned later. */
#ifndef MAMORI_SKETCH_H
#define MAMORI_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#define SKETCH_P 14
#define SKETCH_M (1u << SKETCH_P)
#define SKETCH_EXACT_MAX 1024
#define SKETCH_INLINE 2

struct sketch {
    uint32_t n;   /* entries in exact mode */
    uint32_t cap; /* slots of set (power of two); 0: the n <= SKETCH_INLINE entries are in one[] */
    uint64_t *set;
    uint8_t *reg; /* non-NULL once in HyperLogLog mode */
    uint64_t one[SKETCH_INLINE];
};

/* Holds something (entries, or room for them): what an encoder writes out. */
static inline int sketch_used(const struct sketch *s)
{
    return s->n || s->cap || s->reg;
}

void sketch_init(struct sketch *s);
int sketch_add(struct sketch *s, uint64_t h);
/* Room for n exact entries at once in an empty sketch (at most
 * SKETCH_EXACT_MAX): a key that saw n sources last interval grows there in
 * one allocation instead of doubling from 8 and rehashing on every step.
 * What it counts and when it turns into a HyperLogLog do not change. */
int sketch_reserve(struct sketch *s, uint32_t n);
/* Fetches the cache line sketch_add(s, h) will look at first: a caller that
 * knows its next adds ahead (a batch of packets) hides the miss. */
static inline void sketch_prefetch(const struct sketch *s, uint64_t h)
{
    if (!h) h = 1;
    const void *p = s->reg ? (const void *)&s->reg[h >> (64 - SKETCH_P)]
                    : s->cap ? (const void *)&s->set[h & (s->cap - 1)]
                             : NULL;
#if defined(__x86_64__) /* gcc 12 drops a __builtin_prefetch here once inlined */
    if (p) __asm__ volatile("prefetcht0 %0" ::"m"(*(const char *)p));
#else
    if (p) __builtin_prefetch(p);
#endif
}
uint64_t sketch_count(const struct sketch *s);
int sketch_merge(struct sketch *dst, const struct sketch *src);
/* Allocates *buf (free() it). */
int sketch_encode(const struct sketch *s, uint8_t **buf, size_t *len);
/* The same encoding into a caller's buffer of sketch_encoded_size() bytes;
 * returns the bytes written. */
size_t sketch_encoded_size(const struct sketch *s);
/* At least sketch_encoded_size(), without counting registers. */
size_t sketch_encoded_max(const struct sketch *s);
size_t sketch_encode_into(const struct sketch *s, uint8_t *out);
/* Merges an encoded blob into s; rejects malformed blobs. */
int sketch_merge_blob(struct sketch *s, const void *buf, size_t len);
/* dst (uninitialised) becomes an independent copy of src that encodes to the same bytes. */
int sketch_copy(struct sketch *dst, const struct sketch *src);
void sketch_free(struct sketch *s);
/* The same union as sketch_merge, faster between two HyperLogLogs (the
 * writer's rollups); added apart from the packet path's functions above. */
int sketch_union(struct sketch *dst, const struct sketch *src);
/* sketch_encode_into's bytes, faster for a HyperLogLog (the writer's blobs). */
size_t sketch_encode_fast(const struct sketch *s, uint8_t *out);

#endif
