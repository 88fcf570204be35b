/* Addresses, CIDR prefixes and prefix sets, including the IANA special set. */
#include "core/err.h"
#include "testutil.h"

static bool has(const struct pfx *p, const char *ip)
{
    struct ipaddr a = T_IP(ip);
    return pfx_contains(p, &a);
}

static bool set_has(const struct pfx_set *s, const char *ip)
{
    struct ipaddr a = T_IP(ip);
    return pfx_set_contains(s, &a);
}

static void parse_and_contain(void **state)
{
    (void)state;
    struct pfx p;
    assert_int_equal(pfx_parse("198.18.0.0/15", &p), 0);
    assert_true(has(&p, "198.19.255.255"));
    assert_false(has(&p, "198.20.0.0"));
    assert_false(has(&p, "198.17.255.255"));
    assert_int_equal(pfx_parse("2001:db8::/32", &p), 0);
    assert_true(has(&p, "2001:db8:ffff::1"));
    assert_false(has(&p, "198.18.0.1"));
    assert_int_equal(pfx_parse("192.0.2.7", &p), 0); /* a host is a /32 */
    assert_int_equal(p.len, 128);
    assert_int_equal(pfx_parse("0.0.0.0/0", &p), 0);
    assert_true(has(&p, "255.255.255.255"));
    assert_false(has(&p, "::1"));
}

static void bad_prefixes(void **state)
{
    (void)state;
    struct pfx p;
    const char *bad[] = {"",
                         "198.18.0.0/33",
                         "198.18.0.1/16",
                         "198.18.0.0/",
                         "198.18.0.0/x",
                         "300.1.1.1/8",
                         "2001:db8::/129",
                         "banana",
                         "10.0.0.0/-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(pfx_parse(bad[i], &p) < 0);
        assert_non_null(strstr(err_msg(), bad[i]));
    }
    struct pfx_set s = {0};
    assert_true(pfx_set_parse_list(&s, "198.18.0.0/16,10.0.0.1/8") < 0);
    assert_non_null(strstr(err_msg(), "10.0.0.1/8"));
    pfx_set_free(&s);
}

static void special_set(void **state)
{
    (void)state;
    struct pfx_set s = {0};
    assert_int_equal(pfx_set_add_special(&s), 0);
    const char *in[] = {"10.1.2.3",   "127.0.0.1",   "192.168.1.1", "100.64.0.1", "224.0.0.1",
                        "198.18.0.1", "2001:db8::1", "fe80::1",     "::1"};
    const char *out[] = {"8.8.8.8", "1.1.1.1", "133.1.2.3", "2400:cb00::1"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        assert_true(set_has(&s, in[i]));
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        assert_false(set_has(&s, out[i]));
    pfx_set_free(&s);
}

static void format_round_trip(void **state)
{
    (void)state;
    const char *ips[] = {"0.0.0.0", "203.0.113.255", "2001:db8::1", "::"};
    char b[IP_STRLEN];
    for (size_t i = 0; i < 4; i++) {
        struct ipaddr a = T_IP(ips[i]);
        assert_string_equal(ip_format(&a, b), ips[i]);
    }
    struct ipaddr a = T_IP("1.2.3.4"), c = T_IP("1.2.3.5");
    assert_int_not_equal(ip_hash(&a, 0), ip_hash(&c, 0));
    assert_int_not_equal(ip_hash(&a, 0), ip_hash(&a, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_and_contain),
        cmocka_unit_test(bad_prefixes),
        cmocka_unit_test(special_set),
        cmocka_unit_test(format_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
