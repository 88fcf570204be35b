/* Targets: the element forms, list files and their errors, the exclusions
 * (special ranges, testbed flag, blocklist, opt-out), counting and index ->
 * address against a brute-force walk; the audit log's line. */
#include "core/audit.h"
#include "core/err.h"
#include "core/target.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_target.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[4][256];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static const struct target_opts no_optout = {.optout = "/dev/null"};

static struct target_set *made(const char *list, const struct target_opts *o)
{
    struct target_set *t = target_new(o ? o : &no_optout);
    assert_non_null(t);
    assert_int_equal(target_add_list(t, list), 0);
    return t;
}

static uint32_t v4(const char *s)
{
    struct ipaddr a = T_IP(s);
    return ip_v4(&a);
}

static void forms(void **state)
{
    (void)state;
    struct target_set *t =
        made("203.0.112.0/24, 8.8.8.8 1.1.1.250-1.1.2.4,2600::/126,2600::9", NULL);
    assert_int_equal(target_finish(t), 0);
    assert_int_equal(target_count_v4(t), 256 + 1 + 11);
    assert_int_equal(target_count(t), 256 + 1 + 11 + 5);
    assert_int_equal(target_get_v4(t, 0), v4("1.1.1.250"));
    assert_int_equal(target_get_v4(t, 10), v4("1.1.2.4"));
    assert_int_equal(target_get_v4(t, 11), v4("8.8.8.8"));
    assert_int_equal(target_get_v4(t, 12), v4("203.0.112.0"));
    assert_int_equal(target_get_v4(t, 267), v4("203.0.112.255"));
    struct ipaddr a;
    char buf[IP_STRLEN];
    target_get(t, 268, &a);
    assert_string_equal(ip_format(&a, buf), "2600::");
    target_get(t, 272, &a);
    assert_string_equal(ip_format(&a, buf), "2600::9");
    assert_true(target_allowed(t, &a));
    a = T_IP("2600::5");
    assert_false(target_allowed(t, &a));
    assert_true(target_allowed_v4(t, v4("1.1.2.0")));
    assert_false(target_allowed_v4(t, v4("1.1.2.5")));
    assert_non_null(strstr(target_desc(t), "8.8.8.8"));
    target_free(t);
}

static void overlaps_counted_once(void **state)
{
    (void)state;
    struct target_set *t = made("20.0.0.0/24,20.0.0.128/25,20.0.0.255-20.0.1.0,20.0.1.1", NULL);
    assert_int_equal(target_finish(t), 0);
    assert_int_equal(target_count(t), 258);
    for (uint64_t i = 0; i < 258; i++)
        assert_int_equal(target_get_v4(t, i), v4("20.0.0.0") + i);
    target_free(t);
}

static void bad_elements(void **state)
{
    (void)state;
    const char *bad[] = {"1.2.3.4/33", "1.2.3.1/24", "1.2.3.9-1.2.3.1", "1.2.3.4-", "1.2.3.4-::1",
                         "banana",     "2600::/64",  "300.1.1.1",       "1.2.3.4/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct target_set *t = target_new(&no_optout);
        assert_true(target_add(t, bad[i]) < 0);
        assert_non_null(strstr(err_msg(), bad[i]));
        target_free(t);
    }
}

static void files_and_their_errors(void **state)
{
    (void)state;
    const char *ok = write_file("ok.txt", "# targets\n\n  9.9.9.0/30   # four\n9.9.9.9\n2600::1\n");
    struct target_set *t = target_new(&no_optout);
    assert_int_equal(target_add_file(t, ok), 0);
    assert_int_equal(target_finish(t), 0);
    assert_int_equal(target_count(t), 6);
    assert_non_null(strstr(target_desc(t), "ok.txt"));
    target_free(t);

    const char *bad = write_file("bad.txt", "9.9.9.0/30\n# c\n9.9.9.0/33\n");
    t = target_new(&no_optout);
    assert_true(target_add_file(t, bad) < 0);
    char want[300];
    snprintf(want, sizeof want, "%s:3: 9.9.9.0/33: ", bad);
    assert_memory_equal(err_msg(), want, strlen(want));
    target_free(t);

    t = target_new(&no_optout);
    assert_true(target_add_file(t, "/nonexistent/targets.txt") < 0);
    assert_non_null(strstr(err_msg(), "/nonexistent/targets.txt"));
    target_free(t);
}

static void refuses_without_targets(void **state)
{
    (void)state;
    struct target_set *t = target_new(&no_optout);
    assert_true(target_finish(t) < 0);
    assert_non_null(strstr(err_msg(), "no targets"));
    target_free(t);
    t = target_new(&no_optout);
    assert_true(target_add_list(t, " , ") < 0);
    target_free(t);
}

static void special_ranges(void **state)
{
    (void)state;
    struct target_set *t = target_new(&no_optout);
    assert_int_equal(target_add(t, "10.1.0.0/16"), -EPERM);
    assert_non_null(strstr(err_msg(), "10.0.0.0/8"));
    assert_int_equal(target_add(t, "198.18.0.0/20"), -EPERM);
    assert_non_null(strstr(err_msg(), "--allow-testbed"));
    assert_int_equal(target_add(t, "2001:db8::1"), -EPERM);
    target_free(t);

    /* overlapping is cut, not refused: 192.167.255.250..255 and nothing of 192.168/16 */
    t = made("192.167.255.250-192.168.0.5", NULL);
    assert_int_equal(target_finish(t), 0);
    assert_int_equal(target_count(t), 6);
    assert_int_equal(target_removed(t), 6);
    struct ipaddr a = T_IP("192.168.0.1");
    assert_true(target_excluded(t, &a));
    assert_false(target_allowed(t, &a));
    target_free(t);

    struct target_opts bed = {.optout = "/dev/null", .allow_testbed = true};
    t = made("198.18.0.0/20,2001:db8::/120", &bed);
    assert_int_equal(target_finish(t), 0);
    assert_int_equal(target_count(t), 4096 + 256);
    target_free(t);
    /* the flag lets in the testbed's ranges only */
    t = target_new(&bed);
    assert_int_equal(target_add(t, "127.0.0.1"), -EPERM);
    target_free(t);
}

/* Random intervals straddling special ranges: count and order against a walk
 * of every address tested with pfx_set_contains. */
static void against_brute_force(void **state)
{
    (void)state;
    struct pfx_set sp = {0};
    assert_int_equal(pfx_set_add_special(&sp), 0);
    struct pfx_set block = {0};
    assert_int_equal(pfx_set_parse_list(&block, "100.63.255.0/28,172.15.255.8/29"), 0);
    const char *bl = write_file("block.txt", "100.63.255.0/28\n172.15.255.8-172.15.255.15\n");
    const char *base[] = {"100.63.255.0", "172.15.255.0", "192.167.255.0", "169.253.255.0"};
    srand(7);
    for (int round = 0; round < 40; round++) {
        struct target_opts o = {.blocklist = bl, .optout = "/dev/null"};
        struct target_set *t = target_new(&o);
        uint32_t want[4096];
        size_t nw = 0;
        static uint8_t seen[1 << 13];
        memset(seen, 0, sizeof seen);
        for (int k = 0; k < 3; k++) {
            uint32_t lo = v4(base[rand() % 4]) + (uint32_t)(rand() % 600);
            uint32_t hi = lo + (uint32_t)(rand() % 700);
            char el[64], a[IP_STRLEN], b[IP_STRLEN];
            struct ipaddr x, y;
            ip_from_v4(&x, lo);
            ip_from_v4(&y, hi);
            snprintf(el, sizeof el, "%s-%s", ip_format(&x, a), ip_format(&y, b));
            if (target_add(t, el) < 0) continue; /* wholly special: refused, fine */
            for (uint32_t v = lo; v <= hi; v++) {
                struct ipaddr ia;
                ip_from_v4(&ia, v);
                if (pfx_set_contains(&sp, &ia) || pfx_set_contains(&block, &ia)) continue;
                bool dup = false;
                for (size_t q = 0; q < nw && !dup; q++)
                    dup = want[q] == v;
                if (!dup && nw < 4096) want[nw++] = v;
            }
        }
        if (target_finish(t) < 0) {
            assert_int_equal(nw, 0);
            target_free(t);
            continue;
        }
        for (size_t i = 1; i < nw; i++) /* sort want */
            for (size_t j = i; j > 0 && want[j - 1] > want[j]; j--) {
                uint32_t s = want[j];
                want[j] = want[j - 1];
                want[j - 1] = s;
            }
        assert_int_equal(target_count(t), nw);
        for (size_t i = 0; i < nw; i++) {
            assert_int_equal(target_get_v4(t, i), want[i]);
            assert_true(target_allowed_v4(t, want[i]));
        }
        target_free(t);
    }
    pfx_set_free(&sp);
    pfx_set_free(&block);
}

static void optout_file(void **state)
{
    (void)state;
    /* the default path, relative to the working directory */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    struct target_opts dflt = {0};
    struct target_set *t = made("9.9.9.0/29", &dflt); /* no var/optout.txt yet: nobody opted out */
    assert_int_equal(target_finish(t), 0);
    assert_int_equal(target_count(t), 8);
    target_free(t);
    mkdir("var", 0755);
    write_file("var/optout.txt", "9.9.9.2\n9.9.9.4-9.9.9.5 # asked on 2026-01-01\n");
    t = made("9.9.9.0/29", &dflt);
    assert_int_equal(target_finish(t), 0);
    assert_int_equal(target_count(t), 5);
    assert_int_equal(target_get_v4(t, 2), v4("9.9.9.3"));
    assert_int_equal(target_get_v4(t, 3), v4("9.9.9.6"));
    target_free(t);
    assert_int_equal(chdir(cwd), 0);

    /* a named opt-out file that is missing or bad refuses the run */
    struct target_opts named = {.optout = "/nonexistent/optout.txt"};
    t = made("9.9.9.0/29", &named);
    assert_true(target_finish(t) < 0);
    assert_non_null(strstr(err_msg(), "/nonexistent/optout.txt"));
    target_free(t);
    struct target_opts badf = {.optout = write_file("o.txt", "9.9.9.2\nnine\n")};
    t = made("9.9.9.0/29", &badf);
    assert_true(target_finish(t) < 0);
    assert_non_null(strstr(err_msg(), "o.txt:2: nine"));
    target_free(t);
    /* everything opted out: nothing left is an error */
    struct target_opts all = {.optout = write_file("all.txt", "9.9.9.0/29\n")};
    t = made("9.9.9.0/29", &all);
    assert_true(target_finish(t) < 0);
    assert_non_null(strstr(err_msg(), "no target left"));
    target_free(t);
}

static void audit_line(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/sub/audit.jsonl", dir);
    struct audit_rec r = {.tool = "scan",
                          .round = "r1",
                          .targets = "198.18.0.0/20,\"odd\"\x01",
                          .target_count = 4096,
                          .ports = "23,80",
                          .rate = 10000,
                          .contact = "survey@example.org",
                          .ts_us = 1780000000123456};
    assert_int_equal(audit_append(path, &r), 0);
    r.tool = "probe";
    r.dict_size = 62;
    assert_int_equal(audit_append(path, &r), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "tool")),
                            lines ? "probe" : "scan");
        assert_int_equal(json_integer_value(json_object_get(o, "uid")), getuid());
        assert_non_null(json_string_value(json_object_get(o, "user")));
        assert_string_equal(json_string_value(json_object_get(o, "targets")),
                            "198.18.0.0/20,\"odd\"\x01");
        assert_int_equal(json_integer_value(json_object_get(o, "target_count")), 4096);
        assert_string_equal(json_string_value(json_object_get(o, "ports")), "23,80");
        assert_int_equal(json_integer_value(json_object_get(o, "rate")), 10000);
        assert_int_equal(json_integer_value(json_object_get(o, "dict_size")), lines ? 62 : 0);
        assert_string_equal(json_string_value(json_object_get(o, "contact")), "survey@example.org");
        assert_string_equal(json_string_value(json_object_get(o, "ts")),
                            "2026-05-28T20:26:40.123456Z");
        json_decref(o);
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 2);
    /* a log that cannot be written refuses the run */
    assert_true(audit_append("/dev/full", &r) < 0);
    assert_non_null(strstr(err_msg(), "refused"));
    assert_true(audit_append("/nonexistent/dir/audit.jsonl", &r) < 0);
}

int main(void)
{
    assert_non_null(mkdtemp(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forms),
        cmocka_unit_test(overlaps_counted_once),
        cmocka_unit_test(bad_elements),
        cmocka_unit_test(files_and_their_errors),
        cmocka_unit_test(refuses_without_targets),
        cmocka_unit_test(special_ranges),
        cmocka_unit_test(against_brute_force),
        cmocka_unit_test(optout_file),
        cmocka_unit_test(audit_line),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}
