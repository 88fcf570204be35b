/* perm — the cyclic-group permutation (see perm.h). */
#include "perm.h"
#include "../core/err.h"

#include <errno.h>

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    return (uint64_t)((unsigned __int128)a * b % m);
}

uint64_t perm_powmod(uint64_t b, uint64_t e, uint64_t m)
{
    uint64_t r = 1 % m;
    b %= m;
    for (; e; e >>= 1) {
        if (e & 1) r = mulmod(r, b, m);
        b = mulmod(b, b, m);
    }
    return r;
}

/* Deterministic Miller–Rabin: these bases decide every n < 2^64. */
bool perm_is_prime(uint64_t n)
{
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2) return false;
    for (unsigned i = 0; i < 12; i++)
        if (n % bases[i] == 0) return n == bases[i];
    uint64_t d = n - 1;
    unsigned r = 0;
    for (; !(d & 1); d >>= 1)
        r++;
    for (unsigned i = 0; i < 12; i++) {
        uint64_t x = perm_powmod(bases[i], d, n);
        if (x == 1 || x == n - 1) continue;
        unsigned j = 1;
        for (; j < r && (x = mulmod(x, x, n)) != n - 1; j++)
            ;
        if (j == r) return false;
    }
    return true;
}

/* The distinct prime factors of m (at most 15 below 2^64), by trial division:
 * m < 2^49 here, so at most 2^25 divisions, once a run. */
static unsigned factors(uint64_t m, uint64_t q[16])
{
    unsigned n = 0;
    for (uint64_t d = 2; d * d <= m; d += d == 2 ? 1 : 2) {
        if (m % d) continue;
        q[n++] = d;
        while (m % d == 0)
            m /= d;
    }
    if (m > 1) q[n++] = m;
    return n;
}

bool perm_is_generator(uint64_t g, uint64_t p)
{
    if (p == 2) return g == 1;
    if (g == 0 || g >= p) return false;
    uint64_t q[16];
    unsigned nq = factors(p - 1, q);
    for (unsigned i = 0; i < nq; i++)
        if (perm_powmod(g, (p - 1) / q[i], p) == 1) return false;
    return true;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int perm_init(struct perm *pm, uint64_t n, uint64_t seed)
{
    if (n == 0 || n > PERM_MAX)
        return err_set(-EINVAL, "scan: %llu targets x ports: not in 1..2^48",
                       (unsigned long long)n);
    uint64_t p = n + 1;
    while (!perm_is_prime(p))
        p++;
    uint64_t s = seed, g = 1;
    if (p > 2) {
        uint64_t q[16];
        unsigned nq = factors(p - 1, q);
        for (;;) {
            g = p == 3 ? 2 : 2 + splitmix(&s) % (p - 3);
            unsigned i = 0;
            while (i < nq && perm_powmod(g, (p - 1) / q[i], p) != 1)
                i++;
            if (i == nq) break;
        }
    }
    *pm = (struct perm){.n = n, .p = p, .g = g, .start = 1 + splitmix(&s) % (p - 1)};
    return 0;
}

int perm_restore(struct perm *pm, uint64_t n, uint64_t p, uint64_t g, uint64_t start)
{
    if (n == 0 || n > PERM_MAX || p <= n || !perm_is_prime(p) || !perm_is_generator(g, p) ||
        start == 0 || start >= p)
        return err_set(-EINVAL, "not a valid permutation (n %llu, p %llu, g %llu, start %llu)",
                       (unsigned long long)n, (unsigned long long)p, (unsigned long long)g,
                       (unsigned long long)start);
    *pm = (struct perm){.n = n, .p = p, .g = g, .start = start};
    return 0;
}

void perm_lane_init(struct perm_lane *w, const struct perm *pm, uint64_t l, uint64_t s,
                    uint64_t done)
{
    uint64_t positions = pm->p - 1;
    w->p = pm->p;
    w->n = pm->n;
    w->step = perm_powmod(pm->g, s, pm->p);
    w->total = l < positions ? (positions - l + s - 1) / s : 0;
    w->done = done < w->total ? done : w->total;
    w->cur = mulmod(pm->start, perm_powmod(pm->g, l + s * w->done, pm->p), pm->p);
}
