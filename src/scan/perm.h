/* perm — a random permutation of [0, n) as a walk around a cyclic group.
 *
 * As ZMap does, but sized to this run: p is the smallest prime above n (found
 * at run time by Miller–Rabin, not taken from a fixed list, so a /15 walks
 * ~2^17 elements, not 2^24), g a random generator of the multiplicative group
 * Z_p^* (a random element that passes the test g^((p-1)/q) != 1 for every prime
 * q dividing p-1) and the walk starts at a random element.  Element v of the
 * cycle stands for index v-1; the few v-1 >= n are skipped.  Everything random
 * comes from one 64-bit seed, so --seed reproduces a run.
 *
 * The cycle's positions k = 0 .. p-2 are dealt out in lanes: lane l of a
 * stride s takes k = l, l+s, l+2s, ...  A shard I of N with T send threads
 * runs lanes I + N*t (stride N*T), so shards partition the positions whatever
 * thread counts they run with.  A lane's progress is one count (positions
 * consumed), which is what a checkpoint saves. */
#ifndef MAMORI_SCAN_PERM_H
#define MAMORI_SCAN_PERM_H

#include <stdbool.h>
#include <stdint.h>

#define PERM_MAX (UINT64_C(1) << 48) /* elements a permutation may hold */

struct perm {
    uint64_t n, p, g, start;
};

/* 0, or -EINVAL when n is 0 or over PERM_MAX. */
int perm_init(struct perm *pm, uint64_t n, uint64_t seed);
/* The same cycle from saved parameters (a checkpoint); validates them. */
int perm_restore(struct perm *pm, uint64_t n, uint64_t p, uint64_t g, uint64_t start);

struct perm_lane {
    uint64_t cur, step, p, n;
    uint64_t done, total; /* positions consumed, positions in the lane */
};

/* Lane l of stride s, from position count done (0 for a fresh run). */
void perm_lane_init(struct perm_lane *w, const struct perm *pm, uint64_t l, uint64_t s,
                    uint64_t done);
/* The next index of the lane, or false when it is walked. */
static inline bool perm_next(struct perm_lane *w, uint64_t *out)
{
    while (w->done < w->total) {
        uint64_t v = w->cur;
        /* below 2^32 a 64-bit product and division do (a 128-bit one is a libgcc call) */
        w->cur = w->p <= UINT32_MAX ? w->cur * w->step % w->p
                                    : (uint64_t)((unsigned __int128)w->cur * w->step % w->p);
        w->done++;
        if (v - 1 < w->n) {
            *out = v - 1;
            return true;
        }
    }
    return false;
}

/* Helpers the tests use too. */
bool perm_is_prime(uint64_t n);
uint64_t perm_powmod(uint64_t b, uint64_t e, uint64_t m);
bool perm_is_generator(uint64_t g, uint64_t p);

#endif
