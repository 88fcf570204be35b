/* buf — a growable byte buffer with a hard cap, for session I/O.
 *
 * Sessions hold thousands of these; an empty buffer owns no memory, and
 * buf_release() gives back a large one once it drains so an idle session
 * stays small.  Appends past the cap are cut (and reported), never grown. */
#ifndef MAMORI_LURE_BUF_H
#define MAMORI_LURE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct buf {
    uint8_t *p;
    uint32_t len, size, cap; /* size allocated, cap the most it may hold */
};

static inline bool buf_reserve(struct buf *b, size_t more)
{
    if (b->len + more <= b->size) return true;
    if (b->len + more > b->cap) return false;
    size_t want = b->size ? b->size : 256;
    while (want < b->len + more)
        want *= 2;
    if (want > b->cap) want = b->cap;
    uint8_t *p = realloc(b->p, want);
    if (!p) return false;
    b->p = p;
    b->size = (uint32_t)want;
    return true;
}

/* Appends what fits; returns false when anything was cut. */
static inline bool buf_add(struct buf *b, const void *d, size_t n)
{
    bool all = true;
    if (!buf_reserve(b, n)) {
        all = false;
        n = b->cap > b->len ? b->cap - b->len : 0;
        if (!n || !buf_reserve(b, n)) return false;
    }
    if (n) memcpy(b->p + b->len, d, n);
    b->len += (uint32_t)n;
    return all;
}

static inline bool buf_str(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

static inline bool buf_byte(struct buf *b, uint8_t c)
{
    return buf_add(b, &c, 1);
}

/* Drops the first n bytes. */
static inline void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= (uint32_t)n;
}

static inline void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->size = 0;
}

/* Frees an empty buffer's memory. */
static inline void buf_release(struct buf *b)
{
    if (!b->len) buf_free(b);
}

#endif
