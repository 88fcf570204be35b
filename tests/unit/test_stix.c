/* stix: ids, canonical JSON and timestamps against published truth — the
 * STIX 2.1 specification's own deterministic-id examples, RFC 8785's
 * examples and its Appendix B number table, Python's documented uuid5
 * value — never against this code's earlier output. */
#include "core/stix.h"
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void uuid5_matches_rfc4122_example(void **state)
{
    (void)state;
    char out[37];
    /* Python's uuid documentation: uuid5(NAMESPACE_DNS, 'python.org'). */
    assert_int_equal(stix_uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org", 10, out), 0);
    assert_string_equal(out, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    assert_int_equal(stix_uuid5("not-a-uuid", "x", 1, out), -EINVAL);
    assert_int_equal(stix_uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430cg", "x", 1, out), -EINVAL);
}

static void uuid4_is_random_v4(void **state)
{
    (void)state;
    char a[37], b[37], id[64];
    stix_uuid4(a);
    stix_uuid4(b);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    snprintf(id, sizeof id, "indicator--%s", a);
    assert_true(stix_id_valid(id, "indicator"));
}

static char *canon_text(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    assert_non_null(v);
    char *c = stix_canonical(v);
    json_decref(v);
    assert_non_null(c);
    return c;
}

static void canonical_rfc8785_examples(void **state)
{
    (void)state;
    /* RFC 8785 §3.2.2. */
    char *c = canon_text("{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
                         "0.000000000000000000000000001],"
                         "\"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
                         "\"literals\": [null, true, false]}");
    assert_string_equal(
        c, "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,"
           "4.5,0.002,1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
    free(c);
    /* RFC 8785 §3.2.3: keys sort by UTF-16 code units (the emoji's high
     * surrogate sorts before U+FB33, unlike its UTF-8 bytes). */
    c = canon_text("{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\","
                   "\"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\", \"1\": \"One\","
                   "\"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\": \"Control\","
                   "\"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}");
    assert_string_equal(c, "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
                           "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
                           "\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji: Grinning "
                           "Face\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
    free(c);
    c = canon_text("{\"b\":[{\"z\":1,\"a\":[]},{}],\"a\":\"\\u007f\\u2028\\u0000\"}");
    assert_string_equal(c, "{\"a\":\"\x7f\xe2\x80\xa8\\u0000\",\"b\":[{\"a\":[],\"z\":1},{}]}");
    free(c);
}

static void canonical_numbers_rfc8785_appendix_b(void **state)
{
    (void)state;
    static const struct {
        uint64_t bits;
        const char *text;
    } v[] = {
        {0x0000000000000000, "0"},
        {0x8000000000000000, "0"},
        {0x0000000000000001, "5e-324"},
        {0x8000000000000001, "-5e-324"},
        {0x7fefffffffffffff, "1.7976931348623157e+308"},
        {0xffefffffffffffff, "-1.7976931348623157e+308"},
        {0x4340000000000000, "9007199254740992"},
        {0xc340000000000000, "-9007199254740992"},
        {0x4430000000000000, "295147905179352830000"},
        {0x44b52d02c7e14af5, "9.999999999999997e+22"},
        {0x44b52d02c7e14af6, "1e+23"},
        {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
        {0x444b1ae4d6e2ef4e, "999999999999999700000"},
        {0x444b1ae4d6e2ef4f, "999999999999999900000"},
        {0x444b1ae4d6e2ef50, "1e+21"},
        {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
        {0x3eb0c6f7a0b5ed8d, "0.000001"},
        {0x41b3de4355555553, "333333333.3333332"},
        {0x41b3de4355555554, "333333333.33333325"},
        {0x41b3de4355555555, "333333333.3333333"},
        {0x41b3de4355555556, "333333333.3333334"},
        {0x41b3de4355555557, "333333333.33333343"},
        {0xbecbf647612f3696, "-0.0000033333333333333333"},
        {0x43143ff3c1cb0959, "1424953923781206.2"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        double d;
        memcpy(&d, &v[i].bits, sizeof d);
        json_t *j = json_real(d);
        char *c = stix_canonical(j);
        assert_non_null(c);
        assert_string_equal(c, v[i].text);
        free(c);
        json_decref(j);
    }
    /* Integers print exactly up to 2^53, beyond through a double as JavaScript reads them. */
    json_t *j = json_pack("[I,I,I]", (json_int_t)-42, (json_int_t)9007199254740992LL,
                          (json_int_t)INT64_MAX);
    char *c = stix_canonical(j);
    assert_string_equal(c, "[-42,9007199254740992,9223372036854776000]");
    free(c);
    json_decref(j);
}

static void sco_id(const char *json, const char *want, int rc)
{
    json_error_t e;
    json_t *o = json_loads(json, 0, &e);
    assert_non_null(o);
    char id[STIX_ID_MAX];
    assert_int_equal(stix_sco_id(o, id), rc);
    if (want) assert_string_equal(id, want);
    json_decref(o);
}

static void sco_ids_match_the_spec(void **state)
{
    (void)state;
    /* STIX 2.1 §2.7 (identifier examples) and §2.9 (errata 01). */
    sco_id("{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.3\"}",
           "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", 0);
    sco_id("{\"type\":\"domain-name\",\"value\":\"example.com\"}",
           "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7", 0);
    /* Properties that do not contribute do not change the id. */
    sco_id("{\"type\":\"domain-name\",\"spec_version\":\"2.1\",\"value\":\"example.com\","
           "\"resolves_to_refs\":[\"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4\"]}",
           "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7", 0);
    sco_id("{\"type\":\"process\",\"pid\":1}", NULL, -EINVAL);
    sco_id("{\"type\":\"ipv4-addr\"}", NULL, -EINVAL);
    sco_id("{\"type\":\"no-such-thing\",\"value\":\"x\"}", NULL, -EINVAL);
    sco_id("{\"value\":\"x\"}", NULL, -EINVAL);
}

static void sco_ids_keep_one_preferred_hash(void **state)
{
    (void)state;
    char a[STIX_ID_MAX], b[STIX_ID_MAX], c[STIX_ID_MAX], want[STIX_ID_MAX], u[37];
    json_t *md5 = json_pack("{s:s,s:{s:s}}", "type", "file", "hashes", "MD5",
                            "d41d8cd98f00b204e9800998ecf8427e");
    json_t *both = json_pack("{s:s,s:{s:s,s:s}}", "type", "file", "hashes", "SHA-256",
                             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                             "MD5", "d41d8cd98f00b204e9800998ecf8427e");
    json_t *sha = json_pack("{s:s,s:{s:s}}", "type", "file", "hashes", "SHA-256",
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(stix_sco_id(md5, a), 0);
    assert_int_equal(stix_sco_id(both, b), 0);
    assert_int_equal(stix_sco_id(sha, c), 0);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    /* §2.9 by hand: UUIDv5 of the canonical JSON of {"hashes":{"MD5":...}}. */
    const char *name = "{\"hashes\":{\"MD5\":\"d41d8cd98f00b204e9800998ecf8427e\"}}";
    assert_int_equal(stix_uuid5(STIX_SCO_NAMESPACE, name, strlen(name), u), 0);
    snprintf(want, sizeof want, "file--%s", u);
    assert_string_equal(a, want);
    json_decref(md5);
    json_decref(both);
    json_decref(sha);
}

static void times_print_milliseconds(void **state)
{
    (void)state;
    char t[25];
    assert_string_equal(stix_time(0, t), "1970-01-01T00:00:00.000Z");
    assert_string_equal(stix_time(1477048200123999LL, t), "2016-10-21T11:10:00.123Z");
    assert_string_equal(stix_time(-1, t), "1969-12-31T23:59:59.999Z");
    assert_string_equal(stix_time(951782400000000LL, t), "2000-02-29T00:00:00.000Z");
    assert_string_equal(stix_time(INT64_MAX, t), "9999-12-31T23:59:59.999Z");
    assert_string_equal(stix_time(INT64_MIN, t), "0000-01-01T00:00:00.000Z");
}

static void times_parse_the_stix_form(void **state)
{
    (void)state;
    int64_t us;
    assert_int_equal(stix_time_parse("2016-10-21T11:10:00.123Z", &us), 0);
    assert_int_equal(us, 1477048200123000LL);
    assert_int_equal(stix_time_parse("2016-10-21T11:10:00Z", &us), 0);
    assert_int_equal(us, 1477048200000000LL);
    assert_int_equal(stix_time_parse("2016-10-21T11:10:00.1234567891Z", &us), 0);
    assert_int_equal(us, 1477048200123456LL);
    assert_int_equal(stix_time_parse("1969-12-31T23:59:59.999Z", &us), 0);
    assert_int_equal(us, -1000);
    assert_int_equal(stix_time_parse("2016-12-31T23:59:60Z", &us), 0); /* leap second */
    assert_int_equal(us, 1483228800000000LL);
    const char *bad[] = {"2016-10-21T11:10:00",
                         "2016-10-21t11:10:00Z",
                         "2016-10-21T11:10:00+00:00",
                         "2016-13-01T00:00:00Z",
                         "2015-02-29T00:00:00Z",
                         "2016-04-31T00:00:00Z",
                         "2016-10-21T24:00:00Z",
                         "2016-10-21T11:10:00.Z",
                         "2016-10-21T11:10:00ZZ",
                         "2016-1-21T11:10:00Z",
                         "",
                         "2016-10-21T11:60:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(stix_time_parse(bad[i], &us), -EINVAL);
    assert_int_equal(stix_time_parse("2000-02-29T00:00:00Z", &us), 0);
    char t[25];
    assert_string_equal(stix_time(us, t), "2000-02-29T00:00:00.000Z");
}

static void ids_follow_the_identifier_form(void **state)
{
    (void)state;
    assert_true(stix_id_valid("ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", NULL));
    assert_true(stix_id_valid("ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "ipv4-addr"));
    assert_false(stix_id_valid("ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "ipv6-addr"));
    assert_true(stix_id_valid("x-mamori-thing--28bb3599-77cd-4a82-b950-b5bc3caf07c4", NULL));
    const char *bad[] = {
        "ipv4-addr-28bb3599-77cd-5a82-a950-b5bc3caf07c4",  /* one dash */
        "ipv4-addr--28bb3599-77cd-6a82-a950-b5bc3caf07c4", /* version 6 */
        "ipv4-addr--28bb3599-77cd-5a82-c950-b5bc3caf07c4", /* variant */
        "IPv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", /* upper-case type */
        "ab--28bb3599-77cd-5a82-a950-b5bc3caf07c4",        /* type too short */
        "ipv4-addr---8bb3599-77cd-5a82-a950-b5bc3caf07c4", /* type ends in '-' */
        "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c",  /* short uuid */
        "ipv4-addr--28bb3599x77cd-5a82-a950-b5bc3caf07c4", /* separator */
        "",
        NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(stix_id_valid(bad[i], NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uuid5_matches_rfc4122_example),
        cmocka_unit_test(uuid4_is_random_v4),
        cmocka_unit_test(canonical_rfc8785_examples),
        cmocka_unit_test(canonical_numbers_rfc8785_appendix_b),
        cmocka_unit_test(sco_ids_match_the_spec),
        cmocka_unit_test(sco_ids_keep_one_preferred_hash),
        cmocka_unit_test(times_print_milliseconds),
        cmocka_unit_test(times_parse_the_stix_form),
        cmocka_unit_test(ids_follow_the_identifier_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
