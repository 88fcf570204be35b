/* API request validation: routes, typed arguments, and one-line reasons. */
#include "serve/params.h"
#include "testutil.h"

static int parse(const char *path, const char *k1, const char *v1, const char *k2, const char *v2,
                 struct api_req *r, char *msg)
{
    struct api_arg a[2] = {{k1, v1}, {k2, v2}};
    size_t n = k2 ? 2 : k1 ? 1 : 0;
    return api_parse(path, a, n, r, msg, 128);
}

static void routes(void **state)
{
    (void)state;
    struct api_req r;
    char msg[128];
    assert_int_equal(parse("/api/v1/summary", NULL, NULL, NULL, NULL, &r, msg), 0);
    assert_int_equal(r.route, API_SUMMARY);
    assert_int_equal(r.w.top, 10);
    assert_int_equal(parse("/api/v1/top/sources", NULL, NULL, NULL, NULL, &r, msg), 0);
    assert_string_equal(r.section, "top_sources");
    assert_int_equal(parse("/api/v1/dos", NULL, NULL, NULL, NULL, &r, msg), 0);
    assert_string_equal(r.section, "dos");
    assert_int_equal(parse("/metrics", NULL, NULL, NULL, NULL, &r, msg), 0);
    assert_int_equal(r.route, API_METRICS);
    assert_int_equal(parse("/index.html", NULL, NULL, NULL, NULL, &r, msg), 0);
    assert_int_equal(r.route, API_NONE);
    assert_int_equal(parse("/api/v1/top/", NULL, NULL, NULL, NULL, &r, msg), 404);
    assert_int_equal(parse("/api/v2/summary", NULL, NULL, NULL, NULL, &r, msg), 404);
}

static void arguments(void **state)
{
    (void)state;
    struct api_req r;
    char msg[128];
    assert_int_equal(parse("/api/v1/timeseries", "proto", "udp", "port", "1900", &r, msg), 0);
    assert_string_equal(r.proto, "udp");
    assert_int_equal(r.port, 1900);
    assert_int_equal(r.res, 300);
    assert_int_equal(parse("/api/v1/summary", "from", "2016-09-20T00:30:00Z", "top", "0", &r, msg),
                     0);
    assert_int_equal(r.w.from, 1474331400);
    assert_int_equal(r.w.top, 0);
    assert_int_equal(parse("/api/v1/summary", "from", "x", NULL, NULL, &r, msg), 400);
    assert_non_null(strstr(msg, "from"));
    assert_int_equal(parse("/api/v1/summary", "port", "23", NULL, NULL, &r, msg), 400);
    assert_non_null(strstr(msg, "port")); /* only timeseries takes a port */
    assert_int_equal(parse("/api/v1/timeseries", "proto", "tcp", "res", "61", &r, msg), 400);
    assert_int_equal(parse("/api/v1/timeseries", "proto", "tcp", NULL, NULL, &r, msg), 400);
    assert_int_equal(parse("/api/v1/timeseries", "proto", "tcp", "port", "-1", &r, msg), 400);
    assert_int_equal(parse("/api/v1/summary", "top", "1e3", NULL, NULL, &r, msg), 400);
    assert_int_equal(parse("/api/v1/summary", "to", "0", NULL, NULL, &r, msg), 400);
    struct api_arg many[API_MAX_ARGS + 1];
    for (int i = 0; i <= API_MAX_ARGS; i++)
        many[i] = (struct api_arg){"top", "1"};
    assert_int_equal(api_parse("/api/v1/summary", many, API_MAX_ARGS + 1, &r, msg, 128), 400);
    assert_int_equal(api_parse("/api/v1/summary", many, API_MAX_ARGS, &r, msg, 128), 0);
}

/* A reason that echoes request bytes is printable ASCII, so always valid JSON. */
static void escaped(void **state)
{
    (void)state;
    struct api_req r;
    char msg[128];
    assert_int_equal(parse("/api/v1/summary", "from", "\xff\xfe", NULL, NULL, &r, msg), 400);
    assert_non_null(strstr(msg, "'\\xff\\xfe'"));
    assert_int_equal(parse("/api/v1/summary", "\xc3(\x1b[2J", "1", NULL, NULL, &r, msg), 400);
    assert_non_null(strstr(msg, "\\xc3(\\x1b[2J"));
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
}

static void raw_uri(void **state)
{
    (void)state;
    struct api_uri u;
    api_scan_uri("/index.html%00.js", &u);
    assert_true(u.nul);
    assert_null(u.query);
    api_scan_uri("/api/v1/summary?top=5%2500&from=1", &u); /* "%25" is '%': no NUL */
    assert_false(u.nul);
    assert_int_equal(u.args, 2);
    assert_string_equal(u.query, "top=5%2500&from=1");
    api_scan_uri("/api/v1/summary?to%00p=1", &u);
    assert_true(u.nul);
    api_scan_uri("/x?", &u);
    assert_int_equal(u.args, 0);
    api_scan_uri("/x?a&&b?c", &u);
    assert_int_equal(u.args, 3);
    api_scan_uri("/%0", &u);
    assert_false(u.nul);
}

static void keys(void **state)
{
    (void)state;
    struct api_req a, b;
    char msg[128], ka[160], kb[160];
    assert_int_equal(parse("/api/v1/summary", "top", "07", "from", "2016-09-20T00:00:00Z", &a, msg),
                     0);
    assert_int_equal(parse("/api/v1/summary", "from", "1474329600", "top", "7", &b, msg), 0);
    api_key(&a, ka, sizeof ka);
    api_key(&b, kb, sizeof kb);
    assert_string_equal(ka, kb);
    assert_int_equal(parse("/api/v1/top/ports", "from", "1474329600", "top", "7", &b, msg), 0);
    api_key(&b, kb, sizeof kb);
    assert_string_not_equal(ka, kb);
    assert_int_equal(parse("/api/v1/top/asns", "from", "1474329600", "top", "7", &a, msg), 0);
    api_key(&a, ka, sizeof ka);
    assert_string_not_equal(ka, kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(routes), cmocka_unit_test(arguments),
                                       cmocka_unit_test(escaped), cmocka_unit_test(raw_uri),
                                       cmocka_unit_test(keys)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
