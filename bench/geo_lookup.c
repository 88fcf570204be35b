/* core/geo: ns per lookup of the plain MaxMind walk + ASN search
 * (geo_lookup_walk), of geo_lookup through the tables, and of the per-thread
 * cache, over the distinct sources of a capture in first-seen
 * order (as observe resolves them: once per new source).  The cache's first
 * pass fills it (cold), the second finds everything (warm).
 * usage: geo_lookup CAPTURE [GEO_DIR] */
#include "core/err.h"
#include "core/geo.h"
#include "core/pcapfile.h"
#include "core/pkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: geo_lookup CAPTURE [GEO_DIR]\n");
        return 2;
    }
    double t_load = now();
    struct geo *g = geo_new();
    if (geo_add_dir(g, argc > 2 ? argv[2] : "node_modules/@ip-location-db") < 1) {
        fprintf(stderr, "geo_lookup: no geo data\n");
        return 1;
    }
    t_load = now() - t_load;
    struct pcapf *f = pcapf_open(argv[1]);
    if (!f) {
        fprintf(stderr, "geo_lookup: %s\n", err_msg());
        return 1;
    }
    size_t cap = 1u << 22, n = 0;
    struct ipaddr *set = calloc(cap, sizeof *set), *src = malloc(cap / 2 * sizeof *src);
    unsigned char *used = calloc(cap, 1);
    struct pcapf_rec r;
    struct pkt p;
    while (n < cap / 2 && pcapf_next(f, &r) == 1) {
        if (pkt_decode(r.dlt, r.data, r.caplen, &p) != PKT_OK) continue;
        size_t j = ip_hash(&p.src, 1) & (cap - 1);
        while (used[j] && memcmp(&set[j], &p.src, 16))
            j = (j + 1) & (cap - 1);
        if (used[j]) continue;
        used[j] = 1;
        set[j] = p.src;
        src[n++] = p.src;
    }
    pcapf_free(f);
    struct geo_info gi;
    uint64_t sink = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        geo_lookup_walk(g, &src[i], &gi);
        sink += gi.asn;
    }
    double plain = now() - t0;
    t0 = now();
    for (size_t i = 0; i < n; i++) {
        geo_lookup(g, &src[i], &gi);
        sink -= gi.asn;
    }
    double tables = now() - t0;
    struct geo_cache *c = geo_cache_new(g);
    double t[2];
    for (int pass = 0; pass < 2; pass++) {
        t0 = now();
        for (size_t i = 0; i < n; i++) {
            geo_cache_lookup(c, &src[i], &gi);
            sink -= gi.asn;
        }
        t[pass] = now() - t0;
    }
    printf("geo load (with the IPv4 tables and ASN index): %.3f s\n", t_load);
    printf("%zu distinct sources\n", n);
    printf("geo_lookup_walk (walk, decode, search):  %6.1f ns/lookup\n", plain / (double)n * 1e9);
    printf("geo_lookup (tables, decode):             %6.1f ns/lookup  %.1fx\n",
           tables / (double)n * 1e9, plain / tables);
    printf("geo_cache cold (fills as it goes):       %6.1f ns/lookup  %.1fx\n",
           t[0] / (double)n * 1e9, plain / t[0]);
    printf("geo_cache warm:                          %6.1f ns/lookup  %.1fx\n",
           t[1] / (double)n * 1e9, plain / t[1]);
    geo_cache_free(c);
    geo_free(g);
    free(set);
    free(src);
    free(used);
    return sink == 1; /* keeps the loops */
}
