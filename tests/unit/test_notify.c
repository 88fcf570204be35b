/* notify's owners table (review of br-rv): the longest prefix wins for IPv4
 * and IPv6 alike, /0 of one family never takes the other's addresses, a
 * prefix listed twice with two owners is refused with the line of each (else
 * which owner a host goes to would depend on sort order), an exact repeat is
 * accepted, and a large ISP table answers every lookup like a brute-force
 * scan of the table. */
#include "core/err.h"
#include "notify/owners.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *isp_of(const struct owners *o, const char *ip)
{
    struct ipaddr a = T_IP(ip);
    const struct owner *w = owners_lookup(o, &a);
    return w ? w->isp : "(none)";
}

static void longest_prefix(void **state)
{
    (void)state;
    static const char csv[] = "prefix,isp,asn,abuse\n"
                              "0.0.0.0/0,v4-all,1,a@x\n"
                              "198.18.0.0/15,bench,2,b@x\n"
                              "198.18.0.8/29,reseller,3,c@x\n"
                              "198.18.0.9/32,one,4,d@x\n"
                              "::/0,v6-all,5,e@x\n"
                              "2001:db8::/32,doc,6,f@x\n"
                              "2001:db8:1::/48,doc-1,7,g@x\n"
                              "2001:db8:1::1/128,host,8,h@x\n";
    struct owners *o = owners_parse(csv, sizeof csv - 1, "t.csv");
    assert_non_null(o);
    assert_string_equal(isp_of(o, "198.18.0.9"), "one");
    assert_string_equal(isp_of(o, "198.18.0.10"), "reseller");
    assert_string_equal(isp_of(o, "198.18.0.16"), "bench");
    assert_string_equal(isp_of(o, "198.19.255.255"), "bench");
    assert_string_equal(isp_of(o, "198.20.0.0"), "v4-all");
    assert_string_equal(isp_of(o, "2001:db8:1::1"), "host");
    assert_string_equal(isp_of(o, "2001:db8:1::2"), "doc-1");
    assert_string_equal(isp_of(o, "2001:db8:2::1"), "doc");
    assert_string_equal(isp_of(o, "2001:db9::1"), "v6-all");
    assert_string_equal(isp_of(o, "::ffff:198.20.0.1"), "v4-all"); /* a mapped address is IPv4 */
    owners_free(o);

    static const char v4only[] = "prefix,isp\n0.0.0.0/0,v4-all\n";
    assert_non_null(o = owners_parse(v4only, sizeof v4only - 1, "t.csv"));
    assert_string_equal(isp_of(o, "2001:db8::1"), "(none)");
    owners_free(o);
    static const char v6only[] = "prefix,isp\n::/0,v6-all\n";
    assert_non_null(o = owners_parse(v6only, sizeof v6only - 1, "t.csv"));
    assert_string_equal(isp_of(o, "198.18.0.1"), "(none)");
    owners_free(o);
}

static void repeated_prefix(void **state)
{
    (void)state;
    static const char two[] = "prefix,isp,asn\n198.18.0.0/22,A,64500\n# x\n198.18.0.0/22,B,64501\n";
    assert_null(owners_parse(two, sizeof two - 1, "o.csv"));
    assert_string_equal(err_msg(), "o.csv:4: 198.18.0.0/22 is listed again with another owner"
                                   " (first at line 2)");
    static const char same[] = "prefix,isp,asn\n198.18.0.0/22,A,64500\n198.18.0.0/22,A,64500\n";
    struct owners *o = owners_parse(same, sizeof same - 1, "o.csv");
    assert_non_null(o);
    assert_string_equal(isp_of(o, "198.18.1.1"), "A");
    owners_free(o);
}

/* 100k random prefixes /16../32 inside 198.18.0.0/15 (repeats get one owner
 * name, their own text): each lookup equals a brute-force longest match. */
static void large_table(void **state)
{
    (void)state;
    enum { N = 100000, Q = 500 };
    char *csv = malloc((size_t)N * 48 + 64), *p = csv;
    struct pfx *v = malloc(N * sizeof *v);
    assert_non_null(csv);
    assert_non_null(v);
    p += sprintf(p, "prefix,isp\n");
    srand(7);
    for (int i = 0; i < N; i++) {
        unsigned len = 16 + (unsigned)rand() % 17;
        uint32_t a = (0xC6120000u | ((uint32_t)rand() & 0x1ffffu)) & ~0u << (32 - len);
        ip_from_v4(&v[i].net, a);
        v[i].len = (uint8_t)(96 + len);
        v[i].v4 = 1;
        char s[64];
        p += sprintf(p, "%s,%s\n", pfx_format(&v[i], s, sizeof s), s);
    }
    struct owners *o = owners_parse(csv, (size_t)(p - csv), "big.csv");
    assert_non_null(o);
    for (int q = 0; q < Q; q++) {
        struct ipaddr a;
        ip_from_v4(&a, 0xC6120000u | ((uint32_t)rand() & 0x1ffffu));
        const struct pfx *best = NULL;
        for (int i = 0; i < N; i++)
            if (pfx_contains(&v[i], &a) && (!best || v[i].len > best->len)) best = &v[i];
        const struct owner *w = owners_lookup(o, &a);
        if (!best) {
            assert_null(w);
            continue;
        }
        assert_non_null(w);
        char s[64];
        assert_string_equal(w->isp, pfx_format(best, s, sizeof s));
    }
    owners_free(o);
    free(v);
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(longest_prefix),
                                       cmocka_unit_test(repeated_prefix),
                                       cmocka_unit_test(large_table)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
