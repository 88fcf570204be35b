/* The STIX 2.1 pattern parser against the patterns the specification itself
 * gives as examples (STIX 2.1 §9.9 and the object sections' examples: all
 * valid), patterns that break one grammar rule each (invalid, with the byte
 * the error names), and the values extracted from indicator patterns. */
#include "core/stixpat.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Patterns as they appear in the STIX 2.1 specification (OASIS, 2021). */
static const char *const spec_valid[] = {
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND "
    "email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
    "([ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR "
    "ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128'] FOLLOWEDBY "
    "[domain-name:value = 'example.com']) WITHIN 600 SECONDS",
    "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']",
    "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = "
    "'4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
    "[windows-registry-key:key = "
    "'HKEY_LOCAL_MACHINE\\\\System\\\\CurrentControlSet\\\\Services\\\\WSALG2']",
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = "
    "'203.0.113.33/32']",
    "[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c'] "
    "REPEATS 5 TIMES WITHIN 1800 SECONDS",
    "[network-traffic:src_port = 37020 AND network-traffic:dst_port = 49152] START "
    "t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
    "[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\System32']",
    "[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES "
    "'\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']",
    "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND "
    "user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND "
    "user-account:user_id = '1008' AND user-account:account_login = 'Paul']",
    "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
    "[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']",
    "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = "
    "'198.51.100.1/32']",
    "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
    "[x-usb-device:usbdrive.serial_number = '575833314133343231313937']",
    "[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = "
    "'Conference Info']",
    "[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] "
    "FOLLOWEDBY [process:command_line MATCHES "
    "'^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS",
    "[network-traffic:extensions.'http-request-ext'.request_value = 'POST']",
    "[ipv4-addr:value = '203.0.113.1' OR ipv4-addr:value = '203.0.113.2']",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    /* the grammar's other forms */
    "[file:size IN (1024, 2048, 4096)] OR [file:name LIKE 'inv%.pdf']",
    "[file:size NOT > 1024 and file:name not IN ('a', 'b')] or [file:x = true]",
    "[artifact:payload_bin = b'dGVzdA=='] AND [artifact:payload_bin = h'74657374']",
    "[file:created >= t'2016-02-29T23:59:60.123456Z' AND file:size <= -1 AND file:x != +.5]",
    "[file:x <> 'y' AND file:y == 'z'] FOLLOWEDBY ([a:b = 'c'] OR [d:e = 'f']) REPEATS 2 TIMES",
    "[a:'quoted key'.b[0].c[-1] = 'x' AND EXISTS a:b AND exists a:c]",
    "  [ a : b . c [ * ] = 'x' ]  ",
    "[a:b = 'x'] WITHIN 1.5 SECONDS",
};

struct bad {
    const char *pattern, *why;
    size_t at;
};

static const struct bad invalid[] = {
    {"[ipv4-addr:value = '1.2.3.4'", "expected ']'", 28},
    {"ipv4-addr:value = '1.2.3.4'", "expected '[' or '('", 0},
    {"[ipv4-addr:value = 1.2.3.4]", "malformed number", 19},
    {"[ipv4-addr:value == ]", "expected a literal", 20},
    {"[file:name = 'foo\\dll']", "bad escape", 17},
    {"[file:name = 'foo]", "not closed", 13},
    {"[a:b = 'x'] WITHIN -5 SECONDS", "positive number", 19},
    {"[a:b = 'x'] WITHIN 0 SECONDS", "positive number", 19},
    {"[a:b = 'x'] WITHIN 5", "expected SECONDS", 20},
    {"[a:b = 1] REPEATS 0 TIMES", "positive integer", 18},
    {"[a:b = 1] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'", "not later", 68},
    {"[a:b = t'2016-13-01T00:00:00Z']", "out of range", 9},
    {"[a:b = t'2015-02-29T00:00:00Z']", "out of range", 9},
    {"[a:b = t'2016-01-01 00:00:00Z']", "YYYY", 9},
    {"[a:b = t'2016-01-01T00:00:00']", "end in Z", 9},
    {"[a:b = h'abc']", "odd number", 13},
    {"[a:b = h'zz']", "non-hex", 12},
    {"[a:b = b'abc']", "groups of four", 13},
    {"[a:b = b'ab=c']", "not base64", 14},
    {"[a:b = 'x'] followedby [a:b = 'y']", "unexpected text", 12},
    {"[a:b = 'x'] extra", "unexpected text", 12},
    {"[]", "object path", 1},
    {"", "expected '[' or '('", 0},
    {"[a:b LIKE 5]", "string literal", 10},
    {"[a:b IN 'x']", "expected '('", 8},
    {"[a:b IN ('x' 'y')]", "expected ','", 13},
    {"[a:b > true]", "cannot be ordered", 11},
    {"[a:b[x] = 1]", "list index", 5},
    {"[a:b = 007]", "leading zero", 7},
    {"[a:b-c = 1]", "comparison operator", 4},
    {"[a = 1]", "expected ':'", 3},
    {"[a:b ~ 1]", "comparison operator", 5},
    {"[a:b = 1] AND", "expected '[' or '('", 13},
    {"[a:b = 1 OR]", "object path", 11},
    {"[a:b = 1] REPEATS 2", "expected TIMES", 19},
    {"[a:b = 1] START t'2016-07-01T00:00:00Z'", "expected STOP", 39},
};

static void spec_examples_are_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof spec_valid / sizeof *spec_valid; i++) {
        struct stixpat p;
        char msg[160];
        int rc = stixpat_parse(spec_valid[i], &p, msg, sizeof msg);
        if (rc) fprintf(stderr, "valid #%zu: %s\n  %s\n", i, msg, spec_valid[i]);
        assert_int_equal(rc, 0);
        stixpat_free(&p);
    }
}

static void invalid_patterns_name_the_byte(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        struct stixpat p;
        char msg[160], at[32];
        int rc = stixpat_parse(invalid[i].pattern, &p, msg, sizeof msg);
        snprintf(at, sizeof at, "at byte %zu: ", invalid[i].at);
        if (rc != -EINVAL || !strstr(msg, invalid[i].why) || strncmp(msg, at, strlen(at))) {
            fprintf(stderr, "invalid #%zu '%s': rc %d '%s' (want '%s%s')\n", i, invalid[i].pattern,
                    rc, msg, at, invalid[i].why);
            bad++;
        }
        stixpat_free(&p);
    }
    assert_int_equal(bad, 0);
}

static void extracts_indicator_values(void **state)
{
    (void)state;
    struct stixpat p;
    char msg[160];
    assert_int_equal(
        stixpat_parse("[ipv4-addr:value = '198.51.100.1' OR ipv6-addr:value = '2001:db8::1'] AND "
                      "[file:hashes.'SHA-256' = 'AA' AND file:hashes.MD5 = 'bb' AND "
                      "file:hashes.'SHA-1' = 'cc' AND file:name = 'x'] FOLLOWEDBY "
                      "[domain-name:value IN ('a.example', 'b.example') OR url:value = "
                      "'http://x/it\\'s\\\\']",
                      &p, msg, sizeof msg),
        0);
    const char *want[][3] = {
        {"ipv4-addr", NULL, "198.51.100.1"},
        {"ipv6-addr", NULL, "2001:db8::1"},
        {"file", "sha256", "AA"},
        {"file", "md5", "bb"},
        {"file", "sha1", "cc"},
        {"domain-name", NULL, "a.example"},
        {"domain-name", NULL, "b.example"},
        {"url", NULL, "http://x/it's\\"},
    };
    assert_int_equal(p.n, sizeof want / sizeof *want);
    for (size_t i = 0; i < p.n; i++) {
        assert_string_equal(p.v[i].kind, want[i][0]);
        if (want[i][1])
            assert_string_equal(p.v[i].algo, want[i][1]);
        else
            assert_null(p.v[i].algo);
        assert_string_equal(p.v[i].value, want[i][2]);
    }
    stixpat_free(&p);
}

static void negations_and_other_paths_are_not_values(void **state)
{
    (void)state;
    struct stixpat p;
    char msg[160];
    assert_int_equal(stixpat_parse("[ipv4-addr:value NOT = '198.51.100.1' AND ipv4-addr:value != "
                                   "'198.51.100.2' AND ipv4-addr:value NOT IN ('198.51.100.3') "
                                   "AND network-traffic:dst_ref.value = '198.51.100.4' AND "
                                   "domain-name:resolves_to_refs[*].value = '198.51.100.5' AND "
                                   "ipv4-addr:value LIKE '198.51.100.%' AND url:value > 'a']",
                                   &p, msg, sizeof msg),
                     0);
    assert_int_equal(p.n, 0);
    stixpat_free(&p);
}

static void bounded(void **state)
{
    (void)state;
    struct stixpat p;
    char msg[160];
    /* nesting: refused past the depth, not by running out of stack */
    size_t n = 60000, big = 70000;
    char *deep = malloc(big + 1);
    memset(deep, '(', n);
    deep[n] = 0;
    assert_int_equal(stixpat_parse(deep, &p, msg, sizeof msg), -EINVAL);
    assert_non_null(strstr(msg, "nested deeper"));
    stixpat_free(&p);
    memset(deep, '[', n);
    assert_int_equal(stixpat_parse(deep, &p, msg, sizeof msg), -EINVAL);
    stixpat_free(&p);
    /* length */
    memset(deep, ' ', big);
    deep[big] = 0;
    deep[0] = '[';
    assert_int_equal(stixpat_parse(deep, &p, msg, sizeof msg), -EINVAL);
    assert_non_null(strstr(msg, "longer than"));
    stixpat_free(&p);
    free(deep);
    /* values past the cap are validated and counted, not kept */
    char *many = malloc(300 * 40 + 8), *w = many;
    w += sprintf(w, "[");
    for (int i = 0; i < 300; i++)
        w += sprintf(w, "%sipv4-addr:value = '198.51.%d.%d'", i ? " OR " : "", i / 256, i % 256);
    sprintf(w, "]");
    assert_int_equal(stixpat_parse(many, &p, msg, sizeof msg), 0);
    assert_int_equal(p.n, STIXPAT_MAX_VALUES);
    assert_int_equal(p.dropped, 300 - STIXPAT_MAX_VALUES);
    stixpat_free(&p);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_examples_are_valid),
        cmocka_unit_test(invalid_patterns_name_the_byte),
        cmocka_unit_test(extracts_indicator_values),
        cmocka_unit_test(negations_and_other_paths_are_not_values),
        cmocka_unit_test(bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
