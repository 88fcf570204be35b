/* cpan_speed — bench/share's driver: Crypto-PAn IPv4 addresses per second on
 * one core, the textbook construction (one AES call per bit) against
 * mamori's (one ECB call per address, the 16-bit flip table and the /24
 * cache; and cpan_ipv4_many, 16 addresses per call).  Two inputs: uniformly
 * random addresses (the /24 cache never hits: the worst case) and addresses
 * drawn from 4096 /24s (sources as a telescope sees them).  Every figure is
 * the best of three runs in CPU seconds of the thread, each with a fresh key
 * context whose set-up and tables are timed too; the outputs are checked
 * against each other.
 * Usage: cpan_speed [MILLIONS] */
#include "core/cryptopan.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CPU time of this thread: addresses per core second, which a machine busy
 * with other work disturbs far less than the wall clock does */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

enum way { PLAIN, SINGLE, MANY };

/* A fresh key context each run, its set-up and tables timed too. */
static double run(const uint8_t *key, enum way w, const uint32_t *in, uint32_t *out, size_t n)
{
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        struct cpan *c = cpan_new(key);
        if (w == MANY)
            cpan_ipv4_many(c, in, out, n);
        else
            for (size_t i = 0; i < n; i++)
                out[i] = w == PLAIN ? cpan_ipv4_plain(c, in[i]) : cpan_ipv4(c, in[i]);
        double t = now() - t0;
        cpan_free(c);
        if (t < best) best = t;
    }
    return (double)n / best;
}

int main(int argc, char **argv)
{
    size_t n = (size_t)((argc > 1 ? atof(argv[1]) : 4.0) * 1e6);
    size_t np = n / 16; /* the textbook path is slow: a sixteenth as many */
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)next_rand();
    double t0 = now();
    struct cpan *c = cpan_new(key);
    double setup = now() - t0;
    uint32_t *in = malloc(n * 4), *out = malloc(n * 4), *ref = malloc(n * 4);
    uint32_t nets[4096];
    for (int i = 0; i < 4096; i++)
        nets[i] = next_rand() & 0xffffff00u;
    const char *names[] = {"random", "4096-/24s"};
    int bad = 0;
    for (int wl = 0; wl < 2; wl++) {
        for (size_t i = 0; i < n; i++)
            in[i] = wl == 0 ? next_rand() : nets[next_rand() % 4096] | (next_rand() & 255);
        double plain = run(key, PLAIN, in, ref, np);
        double single = run(key, SINGLE, in, out, n);
        for (size_t i = 0; i < np; i++)
            bad += out[i] != ref[i];
        double many = run(key, MANY, in, out, n);
        for (size_t i = 0; i < np; i++)
            bad += out[i] != ref[i];
        printf("%s\t%.2f\t%.2f\t%.2f\n", names[wl], plain / 1e6, single / 1e6, many / 1e6);
    }
    printf("setup_ms\t%.2f\n", setup * 1e3);
    cpan_free(c);
    free(in), free(out), free(ref);
    if (bad) fprintf(stderr, "cpan_speed: %d outputs differ from the textbook path\n", bad);
    return bad ? 1 : 0;
}
