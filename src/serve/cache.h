/* cache — finished API responses, shared by reference, per request key.
 *
 * A blob is one response body with its status and type; requests that send
 * it and the cache each hold a reference, so a body is built once and sent
 * any number of times without a copy.  The cache maps a normalised request key
 * (params.h api_key) and the database generation it was computed at to a
 * blob; an entry of an older generation is never returned (serve bumps the
 * generation whenever the database commits).  Bounded in bytes and entries:
 * the least recently used entries go first, and a body larger than a quarter
 * of the budget is not kept at all.  Thread-safe (one mutex, held for a
 * lookup or an insert, never while a body is built). */
#ifndef MAMORI_SERVE_CACHE_H
#define MAMORI_SERVE_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct blob {
    atomic_int refs;
    unsigned status;
    unsigned retry_after; /* seconds for a Retry-After header; 0 for none */
    const char *type;     /* a static string */
    size_t len;
    char data[];
};

/* A copy of len bytes with one reference, or NULL. */
struct blob *blob_new(unsigned status, const char *type, const char *data, size_t len);
struct blob *blob_ref(struct blob *b);
void blob_unref(struct blob *b);

#define CACHE_MAX_ENTRIES 4096

struct cache;
/* max_bytes 0 makes a cache that keeps nothing. */
struct cache *cache_new(size_t max_bytes);
/* A new reference to the blob kept for key at generation gen, or NULL. */
struct blob *cache_get(struct cache *c, const char *key, uint64_t gen);
/* Keeps a reference to b (a 200 response) for key at generation gen. */
void cache_put(struct cache *c, const char *key, uint64_t gen, struct blob *b);
size_t cache_bytes(struct cache *c);
void cache_free(struct cache *c);

#endif
