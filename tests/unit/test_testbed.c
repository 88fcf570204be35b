/* test_testbed — the testbed's spec format and generator (no namespaces needed).
 *
 * Bad lines give "NAME:LINE: problem" for each rule the format documents;
 * a spec written back parses to the same text; the generator is a function of
 * (N, seed, range) and yields every class of device the survey needs. */
#include <setjmp.h> /* cmocka.h needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "testbed/gen.h"
#include "testbed/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD                                                                                       \
    "range 198.18.0.0/24\n"                                                                        \
    "owner 198.18.0.0/25 64500 \"Example Cable\" abuse@cable.example.net\n"

static struct tb_spec *parse(const char *text)
{
    return spec_parse(text, strlen(text), "t");
}

static void bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"owner 198.18.0.0/24 1 \"X\" a@x\n", "t: no range line"},
        {"range 10.0.0.0/8\n", "t:1: the range must lie inside 198.18.0.0/15"},
        {"range 198.18.0.0/15\n", "t:1: the range must lie inside"}, /* holds the link */
        {"range 198.18.0.1/24\n", "t:1: not a CIDR"},
        {"range 198.19.255.2/31\n", "t:1: the range must lie inside"}, /* inside the link */
        {HEAD "range 198.18.0.0/24\n", "t:3: a second range line"},
        {HEAD "telnet 198.18.0.10 23 persona=router-mips accept=root\n", "t:3: accept= wants"},
        {HEAD "telnet 198.18.0.10 23 accept=root:x\n", "t:3: telnet needs persona"},
        {HEAD "telnet 198.18.0.10 23 persona=../x accept=root:x\n", "t:3: persona= is a persona"},
        {HEAD "telnet 198.18.0.10 99999 persona=a accept=root:x\n", "t:3: port is not a number"},
        {HEAD "telnet 198.18.0.300 23 persona=a accept=root:x\n", "t:3: not an IPv4 address"},
        {HEAD "telnet 198.18.0.10 23 persona=a accept=root:!x\n", "t:3: user '*' or"},
        {HEAD "http 198.18.0.10 80 accept=a:b title=T\n", "t:3: http needs server"},
        {HEAD "http 198.18.0.10 80 accept=a:b server=\"x title=T\n", "t:3: unterminated quote"},
        {HEAD "ssh 198.18.0.10 22 accept=root:\n", "t:3: ssh accounts need a password"},
        {HEAD "ssh 198.18.0.10 22 accept=root:a,root:b\n", "t:3: ssh: one password per user"},
        {HEAD "ssh 198.18.0.10 22 accept=root:a persona=x\n", "t:3: ssh lines take no persona="},
        {HEAD "frobnicate 1\n", "t:3: unknown statement 'frobnicate'"},
        {HEAD "closed 198.18.0.1\nclosed 198.18.0.1\n", "t:4: 198.18.0.1 is listed twice"},
        {HEAD "closed 198.18.0.200\n", "t:3: 198.18.0.200 lies in no owner prefix"},
        {HEAD "closed 198.18.1.2\n", "t:3: 198.18.1.2 lies outside the range"},
        {HEAD "owner 198.18.0.0/26 64501 \"Y\" a@y\n", "t:3: 198.18.0.0 owner prefix overlaps"},
        {HEAD "filtered 198.18.0.9\nssh 198.18.0.9 22 accept=a:b\n",
         "t:3: 198.18.0.9 is listed filtered but has a service (line 4)"},
        {HEAD "ssh 198.18.0.9 22 accept=a:b\nssh 198.18.0.9 22 accept=a:c\n",
         "t:4: 198.18.0.9 port is used twice"},
        {HEAD "closed 198.18.0.1 \x01\n", "t:3: a control or non-ASCII character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tb_spec *s = parse(cases[i].text);
        if (s || strncmp(err_msg(), cases[i].want, strlen(cases[i].want)))
            fail_msg("case %zu: got %s, want %s", i, s ? "a spec" : err_msg(), cases[i].want);
    }
}

static char *write_text(const struct tb_spec *s)
{
    char *t = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&t, &n);
    assert_non_null(f);
    assert_int_equal(spec_write(s, f), 0);
    fclose(f);
    return t;
}

static void good_spec(void **state)
{
    (void)state;
    struct tb_spec *s = parse(HEAD "# a comment\n\n"
                                   "http 198.18.0.20 80 accept=admin: server=\"GoAhead-Webs\" "
                                   "title=\"NETSURVEILLANCE WEB\"\n"
                                   "telnet 198.18.0.10 2323 persona=dvr-armv7 accept=\"root:a b\"\n"
                                   "telnet 198.18.0.10 23 persona=dvr-armv7 accept=root:xc3511\n"
                                   "closed 198.18.0.40\nfiltered 198.18.0.50\n");
    if (!s) fail_msg("%s", err_msg());
    assert_int_equal(s->nhosts, 4);
    assert_int_equal(s->nsvcs, 3);
    /* sorted by (address, port); an empty password is a pair; the realm defaults to the title */
    assert_int_equal(s->svcs[0].port, 23);
    assert_int_equal(s->svcs[1].port, 2323);
    assert_string_equal(s->svcs[1].acc[0].pass, "a b");
    assert_string_equal(s->svcs[2].acc[0].pass, "");
    assert_string_equal(s->svcs[2].realm, "NETSURVEILLANCE WEB");
    assert_int_equal(s->hosts[2].state, TB_CLOSED);
    assert_int_equal(s->hosts[3].state, TB_FILTERED);
    assert_int_equal(spec_owner_of(s, 0xC612000Au)->asn, 64500);
    char *a = write_text(s), *b;
    struct tb_spec *again = spec_parse(a, strlen(a), "again");
    if (!again) fail_msg("written spec does not parse: %s\n%s", err_msg(), a);
    b = write_text(again);
    assert_string_equal(a, b);
    free(a);
    free(b);
    spec_free(again);
    spec_free(s);
}

static bool in_mirai(const struct tb_cred *c)
{
    char path[4096], line[256], want[160];
    snprintf(path, sizeof path, "%s/data/credentials/mirai.tsv", getenv("MESON_SOURCE_ROOT"));
    snprintf(want, sizeof want, "%s\t%s\t", c->user, c->pass);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = !strncmp(line, want, strlen(want));
    fclose(f);
    return found;
}

static void generator(void **state)
{
    (void)state;
    struct tb_spec *s = gen_spec(0xC6120000u, 20, 200, 1, true);
    if (!s) fail_msg("%s", err_msg());
    struct tb_spec *same = gen_spec(0xC6120000u, 20, 200, 1, true);
    struct tb_spec *other = gen_spec(0xC6120000u, 20, 200, 2, true);
    char *a = write_text(s), *b = write_text(same), *c = write_text(other);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(s->nhosts, 200);
    assert_int_equal(s->nowners, 4);
    int mirai = 0, not_mirai = 0, http = 0, ssh = 0, closed = 0, filtered = 0;
    for (size_t i = 0; i < s->nhosts; i++) {
        assert_non_null(spec_owner_of(s, s->hosts[i].ip));
        closed += s->hosts[i].state == TB_CLOSED;
        filtered += s->hosts[i].state == TB_FILTERED;
    }
    for (size_t i = 0; i < s->nsvcs; i++) {
        const struct tb_service *v = &s->svcs[i];
        if (v->proto == TB_TELNET) *(in_mirai(&v->acc[0]) ? &mirai : &not_mirai) += 1;
        http += v->proto == TB_HTTP;
        ssh += v->proto == TB_SSH;
    }
    /* every class the survey tests need, in useful numbers */
    assert_true(mirai >= 30 && not_mirai >= 20 && http >= 20 && ssh >= 5 && closed >= 10 &&
                filtered >= 10);
    struct tb_spec *nossh = gen_spec(0xC6120000u, 20, 200, 1, false);
    for (size_t i = 0; i < nossh->nsvcs; i++)
        assert_int_not_equal(nossh->svcs[i].proto, TB_SSH);
    assert_null(gen_spec(0xC6120000u, 28, 15, 1, true)); /* a /28 holds 14 */
    free(a);
    free(b);
    free(c);
    spec_free(s);
    spec_free(same);
    spec_free(other);
    spec_free(nossh);
}

int main(void)
{
    char data[4096];
    snprintf(data, sizeof data, "%s/data", getenv("MESON_SOURCE_ROOT"));
    setenv("MAMORI_DATA", data, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_lines),
        cmocka_unit_test(good_spec),
        cmocka_unit_test(generator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
