/* Crypto-PAn: the published vectors (tests/fixtures/cryptopan-vectors.tsv, the
 * original distribution's sample with its key, and IPv6 rows), the prefix
 * property over random pairs counted bit by bit, the cached path against the
 * textbook one, and key files (raw, hex, refused). */
#include "core/cryptopan.h"
#include "core/err.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t vec_key[32];
static char vec_in[128][48], vec_out[128][48];
static int nvec;

static void load_vectors(void)
{
    const char *root = getenv("MESON_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/cryptopan-vectors.tsv", root ? root : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    int have_key = 0;
    while (fgets(line, sizeof line, f)) {
        const char *k = strstr(line, "key (32 bytes, hex): ");
        if (k) {
            k += strlen("key (32 bytes, hex): ");
            for (int i = 0; i < 32; i++) {
                unsigned v;
                assert_int_equal(sscanf(k + 2 * i, "%2x", &v), 1);
                vec_key[i] = (uint8_t)v;
            }
            have_key = 1;
            continue;
        }
        if (line[0] == '#' || line[0] == '\n') continue;
        assert_true(nvec < 128);
        assert_int_equal(sscanf(line, "%47s %47s", vec_in[nvec], vec_out[nvec]), 2);
        nvec++;
    }
    fclose(f);
    assert_true(have_key);
    assert_true(nvec >= 50);
}

static void vectors(void **state)
{
    (void)state;
    struct cpan *c = cpan_new(vec_key);
    assert_non_null(c);
    int v6 = 0;
    for (int i = 0; i < nvec; i++) {
        char out[64];
        assert_int_equal(cpan_text(c, vec_in[i], out, sizeof out), 0);
        if (strcmp(out, vec_out[i]))
            fail_msg("%s -> %s, the vector says %s", vec_in[i], out, vec_out[i]);
        if (strchr(vec_in[i], ':')) {
            v6++;
            continue;
        }
        struct in_addr a;
        assert_int_equal(inet_pton(AF_INET, vec_in[i], &a), 1);
        char o2[16];
        struct in_addr p = {htonl(cpan_ipv4_plain(c, ntohl(a.s_addr)))};
        inet_ntop(AF_INET, &p, o2, sizeof o2);
        assert_string_equal(o2, vec_out[i]); /* the textbook path agrees */
    }
    assert_true(v6 >= 5);
    /* a second time: served from the /24 cache */
    for (int i = 0; i < nvec; i++) {
        char out[64];
        assert_int_equal(cpan_text(c, vec_in[i], out, sizeof out), 0);
        assert_string_equal(out, vec_out[i]);
    }
    char out[64];
    assert_int_equal(cpan_text(c, "not-an-address", out, sizeof out), -EINVAL);
    assert_int_equal(cpan_text(c, "1.2.3.4/24", out, sizeof out), -EINVAL);
    cpan_free(c);
}

static int common_prefix32(uint32_t a, uint32_t b)
{
    uint32_t x = a ^ b;
    return x ? __builtin_clz(x) : 32;
}

static int common_prefix128(const uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 16; i++)
        if (a[i] != b[i]) return i * 8 + __builtin_clz((unsigned)(a[i] ^ b[i])) - 24;
    return 128;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Pairs with every length of shared prefix: the anonymized pair shares exactly as many bits. */
static void prefix_preserving(void **state)
{
    (void)state;
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)next_rand();
    struct cpan *c = cpan_new(key);
    assert_non_null(c);
    for (int t = 0; t < 20000; t++) {
        uint32_t a = (uint32_t)next_rand();
        int k = t % 33; /* share exactly k bits */
        uint32_t b = k == 32 ? a
                             : (a & (k ? ~0u << (32 - k) : 0)) | ((~a) & (1u << (31 - k))) |
                                   ((uint32_t)next_rand() & ((1u << (31 - k)) - 1));
        assert_int_equal(common_prefix32(a, b), k);
        uint32_t x = cpan_ipv4(c, a), y = cpan_ipv4(c, b);
        assert_int_equal(common_prefix32(x, y), k);
        assert_int_equal(x, cpan_ipv4_plain(c, a));
    }
    for (int t = 0; t < 3000; t++) {
        uint8_t a[16], b[16], x[16], y[16];
        for (int i = 0; i < 16; i++)
            a[i] = b[i] = (uint8_t)next_rand();
        int k = (int)(next_rand() % 128);
        /* flip bit k, randomise after it */
        b[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
        for (int i = k + 1; i < 128; i++)
            if (next_rand() & 1) b[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
        assert_int_equal(common_prefix128(a, b), k);
        cpan_ipv6(c, a, x);
        cpan_ipv6(c, b, y);
        assert_int_equal(common_prefix128(x, y), k);
    }
    cpan_free(c);
}

/* cpan_ipv4_many gives what cpan_ipv4 gives, cache or not, in place too. */
static void many_matches_single(void **state)
{
    (void)state;
    struct cpan *c = cpan_new(vec_key), *d = cpan_new(vec_key);
    uint32_t in[1000], out[1000];
    for (int i = 0; i < 1000; i++)
        in[i] = i % 3 ? (uint32_t)next_rand() : 0xc0000200u + (uint32_t)(i % 7);
    cpan_ipv4_many(c, in, out, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(out[i], cpan_ipv4_plain(d, in[i]));
    memcpy(out, in, sizeof in);
    cpan_ipv4_many(c, out, out, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(out[i], cpan_ipv4(d, in[i]));
    /* hot /16s and /24s (their tables built on the way): the textbook answer still */
    static uint32_t hot[40000], hot_out[40000];
    for (int i = 0; i < 40000; i++)
        hot[i] = (0xc6330000u + ((uint32_t)(i % 5) << 8)) | (uint32_t)(next_rand() & 255);
    for (int i = 0; i < 40000; i++)
        assert_int_equal(cpan_ipv4(c, hot[i]), cpan_ipv4_plain(d, hot[i]));
    cpan_ipv4_many(c, hot, hot_out, 40000);
    for (int i = 0; i < 40000; i += 7)
        assert_int_equal(hot_out[i], cpan_ipv4_plain(d, hot[i]));
    /* two /24s of one /16 that share a cache slot (the slot hash is
     * cryptopan.c's), taking turns long enough for the second to take the
     * slot over and the first to take it back, across the counts' halving:
     * the textbook answer at every step */
    uint32_t n1 = 0xcb007100u >> 8, n2 = 0;
    for (uint32_t q = 1; q < 256 && !n2; q++)
        if ((((n1 & ~255u) + q) * 2654435761u) >> 16 == (n1 * 2654435761u) >> 16 &&
            (n1 & ~255u) + q != n1)
            n2 = (n1 & ~255u) + q;
    if (!n2) /* no collision inside the /16: two /24s of different /16s then */
        for (uint32_t q = 1, m; !n2; q++)
            if (m = (n1 + q * 256) & 0xffffff, (m * 2654435761u) >> 16 == (n1 * 2654435761u) >> 16)
                n2 = m;
    for (int round = 0; round < 6; round++)
        for (int i = 0; i < 30000; i++) {
            uint32_t a = ((round & 1 ? n2 : n1) << 8) | (uint32_t)(next_rand() & 255);
            if (i % 11 == 0) a = (uint32_t)next_rand(); /* and random ones between */
            assert_int_equal(cpan_ipv4(c, a), cpan_ipv4_plain(d, a));
        }
    /* a bijection on a /24: 256 different outputs, all in one /24 */
    uint8_t seen[256] = {0};
    uint32_t net = cpan_ipv4(c, 0xc6336400u) & 0xffffff00u;
    for (uint32_t h = 0; h < 256; h++) {
        uint32_t o = cpan_ipv4(c, 0xc6336400u | h);
        assert_int_equal(o & 0xffffff00u, net);
        assert_int_equal(seen[o & 255], 0);
        seen[o & 255] = 1;
    }
    cpan_free(c);
    cpan_free(d);
}

static char tmpdir[] = "/tmp/cpan-test-XXXXXX";

static const char *write_file(const char *name, const void *data, size_t n)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    chmod(path, 0600);
    return path;
}

static void key_files(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tmpdir));
    struct cpan *c = cpan_load(write_file("raw", vec_key, 32));
    assert_non_null(c);
    char out[64];
    assert_int_equal(cpan_text(c, vec_in[0], out, sizeof out), 0);
    assert_string_equal(out, vec_out[0]);
    cpan_free(c);
    char hex[70];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02X", vec_key[i]);
    strcat(hex, "\n");
    c = cpan_load(write_file("hex", hex, strlen(hex)));
    assert_non_null(c);
    assert_int_equal(cpan_text(c, vec_in[1], out, sizeof out), 0);
    assert_string_equal(out, vec_out[1]);
    cpan_free(c);
    /* refused: short, long, 63 hex digits, a non-hex digit, two lines */
    const char *bad[] = {"0123", "", NULL, NULL, NULL};
    char h63[64], hx[66], two[68];
    memcpy(h63, hex, 63);
    memcpy(hx, hex, 65);
    hx[10] = 'g';
    memcpy(two, hex, 65);
    memcpy(two + 65, "\n\n", 2);
    const size_t lens[] = {4, 0, 63, 65, 67};
    bad[2] = h63, bad[3] = hx, bad[4] = two;
    for (int i = 0; i < 5; i++) {
        err_clear();
        assert_null(cpan_load(write_file("bad", bad[i], lens[i])));
        assert_non_null(strstr(err_msg(), "not a Crypto-PAn key"));
        assert_null(strchr(err_msg(), '\n'));
    }
    /* 32 hex digits (a 128-bit key), and a key others may read */
    assert_null(cpan_load(write_file("h32", hex, 32)));
    assert_non_null(strstr(err_msg(), "32 hex digits"));
    {
        char p[300];
        snprintf(p, sizeof p, "%s/raw", tmpdir);
        chmod(p, 0644);
        assert_null(cpan_load(p));
        assert_non_null(strstr(err_msg(), "readable by others"));
    }
    uint8_t big[33] = {0};
    assert_null(cpan_load(write_file("big", big, 33)));
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none", tmpdir);
    assert_null(cpan_load(missing));
    assert_non_null(strstr(err_msg(), "No such file"));
    /* a new key: 0600, 64 hex digits, loads, never over an existing file */
    char nk[300];
    snprintf(nk, sizeof nk, "%s/new.key", tmpdir);
    assert_int_equal(cpan_new_key_file(nk), 0);
    struct stat st;
    assert_int_equal(stat(nk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    c = cpan_load(nk);
    assert_non_null(c);
    cpan_free(c);
    assert_true(cpan_new_key_file(nk) < 0);
    const char *names[] = {"raw", "hex", "bad", "big", "new.key", "h32"};
    for (int i = 0; i < 6; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

int main(void)
{
    load_vectors();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors),
        cmocka_unit_test(prefix_preserving),
        cmocka_unit_test(many_matches_single),
        cmocka_unit_test(key_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
