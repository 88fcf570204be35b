/* The scanner's pieces: the permutation (a bijection over [0, n) for many n,
 * seeds reproduce, shards and lanes partition, a resumed lane goes on where it
 * stopped), SipHash-2-4 against the paper's vector, checksums against a SYN
 * that Debian's zmap 2.1.1 sent, and the probe cookie round trip (make ->
 * reply -> validate) with the replies it must refuse. */
#include "core/craft.h"
#include "core/siphash.h"
#include "scan/module.h"
#include "scan/perm.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

static bool slow_prime(uint64_t n)
{
    if (n < 2) return false;
    for (uint64_t d = 2; d * d <= n; d++)
        if (n % d == 0) return false;
    return true;
}

/* Walks lanes [0, s) of stride s; each index of [0, n) must come exactly once. */
static void walk_all(const struct perm *pm, uint64_t s)
{
    uint8_t *seen = calloc(pm->n, 1);
    uint64_t got = 0, e;
    for (uint64_t l = 0; l < s; l++) {
        struct perm_lane w;
        perm_lane_init(&w, pm, l, s, 0);
        while (perm_next(&w, &e)) {
            assert_true(e < pm->n);
            assert_int_equal(seen[e], 0);
            seen[e] = 1;
            got++;
        }
    }
    assert_int_equal(got, pm->n);
    free(seen);
}

static void perm_bijection(void **state)
{
    (void)state;
    for (uint64_t n = 1; n < 400; n++) {
        struct perm pm;
        assert_int_equal(perm_init(&pm, n, n * 77), 0);
        assert_true(pm.p > n && slow_prime(pm.p));
        for (uint64_t q = n + 1; q < pm.p; q++) /* the smallest prime above n */
            assert_false(slow_prime(q));
        assert_true(perm_is_generator(pm.g, pm.p));
        walk_all(&pm, 1);
    }
    const uint64_t big[] = {4096, 65536, 65537, 100003, 1 << 20};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        struct perm pm;
        assert_int_equal(perm_init(&pm, big[i], i), 0);
        walk_all(&pm, 1);
    }
    struct perm pm;
    assert_true(perm_init(&pm, 0, 1) < 0);
    assert_true(perm_init(&pm, PERM_MAX + 1, 1) < 0);
}

static void perm_generators_are_generators(void **state)
{
    (void)state;
    /* against the definition: g's powers reach every element of Z_p^* */
    const uint64_t ps[] = {2, 3, 5, 7, 11, 101, 257, 65537};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint64_t p = ps[i];
        for (uint64_t g = 1; g < p; g++) {
            uint64_t x = 1, order = 0;
            do {
                x = x * g % p;
                order++;
            } while (x != 1);
            assert_int_equal(perm_is_generator(g, p), order == p - 1);
        }
    }
}

static void perm_seeds(void **state)
{
    (void)state;
    struct perm a, b, c;
    assert_int_equal(perm_init(&a, 100000, 42), 0);
    assert_int_equal(perm_init(&b, 100000, 42), 0);
    assert_int_equal(perm_init(&c, 100000, 43), 0);
    assert_true(a.g == b.g && a.start == b.start);
    assert_true(a.g != c.g || a.start != c.start);
    struct perm_lane x, y, z;
    perm_lane_init(&x, &a, 0, 1, 0);
    perm_lane_init(&y, &b, 0, 1, 0);
    perm_lane_init(&z, &c, 0, 1, 0);
    uint64_t ex, ey, ez, same = 0, sorted = 0, prev = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(perm_next(&x, &ex) && perm_next(&y, &ey) && perm_next(&z, &ez));
        assert_int_equal(ex, ey);
        same += ex == ez;
        sorted += ex == prev + 1;
        prev = ex;
    }
    assert_true(same < 10);   /* another seed, another order */
    assert_true(sorted < 10); /* and not a counting order */
}

static void perm_shards_partition(void **state)
{
    (void)state;
    const uint64_t ns[] = {1, 2, 97, 1000, 4099};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        struct perm pm;
        assert_int_equal(perm_init(&pm, ns[i], 5), 0);
        for (uint64_t s = 1; s <= 6; s++)
            walk_all(&pm, s);
        /* shard I of 3 with T threads runs lanes I + 3t of stride 3T: shard 0 with
         * 2 threads, shard 1 with 1 and shard 2 with 3 still cover everything once */
        uint8_t *seen = calloc(ns[i], 1);
        const unsigned threads[3] = {2, 1, 3};
        uint64_t got = 0, e;
        for (unsigned sh = 0; sh < 3; sh++)
            for (unsigned t = 0; t < threads[sh]; t++) {
                struct perm_lane w;
                perm_lane_init(&w, &pm, sh + 3 * t, 3 * threads[sh], 0);
                while (perm_next(&w, &e)) {
                    assert_int_equal(seen[e]++, 0);
                    got++;
                }
            }
        assert_int_equal(got, ns[i]);
        free(seen);
    }
}

static void perm_resume(void **state)
{
    (void)state;
    struct perm pm, back;
    assert_int_equal(perm_init(&pm, 5000, 9), 0);
    assert_int_equal(perm_restore(&back, pm.n, pm.p, pm.g, pm.start), 0);
    assert_true(perm_restore(&back, pm.n, pm.p + 1, pm.g, pm.start) < 0);
    struct perm_lane w, r;
    perm_lane_init(&w, &pm, 1, 3, 0);
    uint64_t e, f;
    for (int i = 0; i < 700; i++)
        assert_true(perm_next(&w, &e));
    perm_lane_init(&r, &back, 1, 3, w.done);
    while (perm_next(&w, &e)) {
        assert_true(perm_next(&r, &f));
        assert_int_equal(e, f);
    }
    assert_false(perm_next(&r, &f));
}

static void siphash_vector(void **state)
{
    (void)state;
    uint8_t k[16], m[64];
    for (int i = 0; i < 16; i++)
        k[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        m[i] = (uint8_t)i;
    struct siphash_key key;
    siphash_key_from_bytes(&key, k);
    assert_true(siphash24(&key, m, 15) == 0xa129ca6149be45e5ULL); /* the paper, appendix A */
    assert_true(siphash24(&key, m, 0) == 0x726fdb47dd0e0e31ULL);  /* the reference vectors.h */
    assert_true(siphash24(&key, m, 8) == 0x93f5f5799a932462ULL);
}

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void checksums_match_zmap(void **state)
{
    (void)state;
    /* a SYN from zmap 2.1.1 (198.19.255.1:60978 -> 198.18.0.10:23), captured on the wire */
    uint8_t f[64];
    size_t n = unhex("3eee11b1e2cd76b2b6f44c56080045000028d4310000ff065c6cc613ff01c612000aee32"
                     "001735b3043d000000005002fffffc760000",
                     f);
    assert_int_equal(n, 54);
    uint8_t *ip = f + 14, *tcp = f + 34;
    uint16_t ip_sum = (uint16_t)(ip[10] << 8 | ip[11]),
             tcp_sum = (uint16_t)(tcp[16] << 8 | tcp[17]);
    ip[10] = ip[11] = 0;
    assert_int_equal(craft_csum(ip, 20), ip_sum);
    struct ipaddr s = T_IP("198.19.255.1"), d = T_IP("198.18.0.10");
    craft_l4_fill(&s, &d, 6, tcp, 20);
    assert_int_equal(tcp[16] << 8 | tcp[17], tcp_sum);
    assert_int_equal(tcp_sum, 0xfc76);
}

static struct scan_probe_ctx ctx_for(uint8_t seed)
{
    struct scan_probe_ctx c = {.ttl = 255};
    uint8_t kb[16];
    for (int i = 0; i < 16; i++)
        kb[i] = (uint8_t)(seed * 31 + i);
    siphash_key_from_bytes(&c.key, kb);
    c.sport_base = scan_sport_base(&c.key);
    c.src4 = T_IP("198.19.255.1");
    c.src6 = T_IP("2001:db8:ffff::1");
    memcpy(c.src_mac, "\x02\0\0\0\0\x01", 6);
    memcpy(c.gw_mac, "\x02\0\0\0\0\x02", 6);
    return c;
}

/* The target's answer to probe f: addresses and ports swapped, ack = seq + 1 + ack_off. */
static size_t answer(const uint8_t *f, uint8_t flags, int32_t ack_off, int16_t port_off, uint8_t *r)
{
    bool v4 = f[12] == 0x08;
    const uint8_t *ip = f + 14, *tcp = f + 14 + (v4 ? 20 : 40);
    struct ipaddr s, d;
    if (v4) {
        ip_from_v4(&s, (uint32_t)(ip[16] << 24 | ip[17] << 16 | ip[18] << 8 | ip[19]));
        ip_from_v4(&d, (uint32_t)(ip[12] << 24 | ip[13] << 16 | ip[14] << 8 | ip[15]));
    } else {
        ip_from_v6(&s, ip + 24);
        ip_from_v6(&d, ip + 8);
    }
    uint16_t sport = (uint16_t)(tcp[2] << 8 | tcp[3]),
             dport = (uint16_t)((tcp[0] << 8 | tcp[1]) + port_off);
    uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
    memcpy(r, f + 6, 6);
    memcpy(r + 6, f, 6);
    craft_put16(r + 12, v4 ? 0x0800 : 0x86dd);
    size_t o = 14;
    uint8_t *t = r + o + (v4 ? 20 : 40);
    size_t tl = craft_tcp(t, sport, dport, 12345, seq + 1 + (uint32_t)ack_off, flags, 29200,
                          CRAFT_OPTS_NONE);
    o += v4 ? craft_ip4(r + o, &s, &d, 6, 1, 61, tl) : craft_ip6(r + o, &s, &d, 6, 61, tl);
    craft_l4_fill(&s, &d, 6, t, tl);
    return o + tl;
}

static void cookie_round_trip(void **state)
{
    (void)state;
    struct scan_probe_ctx c = ctx_for(1), other = ctx_for(2);
    const struct scan_module *m = scan_module_find("tcp_syn");
    assert_non_null(m);
    const char *dsts[] = {"198.18.0.10", "198.18.7.200", "2001:db8::10"};
    for (size_t i = 0; i < 3; i++) {
        struct ipaddr dst = T_IP(dsts[i]);
        uint8_t f[SCAN_FRAME_MAX], r[SCAN_FRAME_MAX];
        size_t n = m->make(&c, f, &dst, 23, 7);
        bool v4 = ip_is_v4(&dst);
        assert_int_equal(n, 14 + (v4 ? 20 : 40) + 24);
        /* the probe's own checksums hold: the L4 sum over the pseudo-header re-verifies */
        uint8_t *tcp = f + 14 + (v4 ? 20 : 40);
        const struct ipaddr *src = v4 ? &c.src4 : &c.src6;
        assert_int_equal(craft_l4_csum(src, &dst, 6, tcp, 24), 0);
        if (v4) assert_int_equal(craft_csum(f + 14, 20), 0);
        uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
        assert_true(sport >= c.sport_base && sport < c.sport_base + SCAN_SPORT_SPAN);
        struct scan_reply rep;
        size_t rn = answer(f, 0x12, 0, 0, r); /* SYN-ACK */
        assert_int_equal(m->validate(&c, r, rn, &rep), 1);
        assert_true(rep.success);
        assert_string_equal(rep.classification, "synack");
        assert_memory_equal(&rep.saddr, &dst, sizeof dst);
        assert_int_equal(rep.sport, 23);
        assert_int_equal(rep.ttl, 61);
        assert_int_equal(rep.window, 29200);
        rn = answer(f, 0x14, 0, 0, r); /* RST-ACK */
        assert_int_equal(m->validate(&c, r, rn, &rep), 1);
        assert_false(rep.success);
        assert_string_equal(rep.classification, "rst");
        /* what must not validate */
        assert_int_equal(m->validate(&c, r, answer(f, 0x12, 1, 0, r), &rep),
                         0); /* ack off by one */
        assert_int_equal(m->validate(&c, r, answer(f, 0x12, 0, 1, r), &rep), 0); /* another port */
        assert_int_equal(m->validate(&c, r, answer(f, 0x02, 0, 0, r), &rep), 0); /* no ACK bit */
        assert_int_equal(m->validate(&other, r, answer(f, 0x12, 0, 0, r), &rep), 0); /* other key */
        assert_int_equal(m->validate(&c, f, n, &rep), 0); /* our own probe */
        for (size_t cut = 0; cut < rn; cut++)             /* every truncation */
            assert_int_equal(m->validate(&c, r, cut, &rep), 0);
    }
}

/* The sending fast path (a template and partial sums) builds the very bytes make does. */
static void fast_path_is_make(void **state)
{
    (void)state;
    struct scan_probe_ctx c = ctx_for(3);
    const struct scan_module *m = &scan_mod_tcp_syn;
    m->init(&c);
    uint8_t a[SCAN_FRAME_MAX], b[SCAN_FRAME_MAX];
    memset(b, 0xee, sizeof b);
    m->prepare4(&c, b);
    srand(11);
    for (int i = 0; i < 5000; i++) {
        uint32_t dst = (uint32_t)rand() ^ (uint32_t)rand() << 16;
        uint16_t port = (uint16_t)rand(), id = (uint16_t)rand();
        struct ipaddr d;
        ip_from_v4(&d, dst);
        size_t n = m->make(&c, a, &d, port, id);
        assert_int_equal(m->make_fast4(&c, b, dst, port, id), n);
        assert_memory_equal(a, b, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(perm_bijection),       cmocka_unit_test(perm_generators_are_generators),
        cmocka_unit_test(perm_seeds),           cmocka_unit_test(perm_shards_partition),
        cmocka_unit_test(perm_resume),          cmocka_unit_test(siphash_vector),
        cmocka_unit_test(checksums_match_zmap), cmocka_unit_test(cookie_round_trip),
        cmocka_unit_test(fast_path_is_make),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
