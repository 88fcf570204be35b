/* Geo/ASN enrichment: the ip-location-db ASN CSV (dotted and numeric, quoted
 * names) and, when set-up installed it, the GeoLite2 city database. */
#include "core/err.h"
#include "core/geo.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/mamori-asn-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void asn_ranges(void **state)
{
    (void)state;
    char *p = write_tmp("1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
                        "16778240,16779263,38803,Gtelecom Pty Ltd\n"
                        "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n"
                        "203.0.113.0,203.0.113.127,64500,\"Say \"\"hi\"\"\"\n");
    struct geo *g = geo_new();
    assert_int_equal(geo_add_asn_csv(g, p), 0);
    unlink(p);
    struct geo_info gi;
    struct {
        const char *ip;
        uint32_t asn;
        const char *name;
    } cases[] = {{"1.0.0.0", 13335, "Cloudflare, Inc."},
                 {"1.0.0.255", 13335, "Cloudflare, Inc."},
                 {"1.0.1.0", 0, ""},
                 {"1.0.4.0", 38803, "Gtelecom Pty Ltd"},
                 {"1.0.7.255", 38803, "Gtelecom Pty Ltd"},
                 {"0.255.255.255", 0, ""},
                 {"2001:200:1b9::5", 2500, "WIDE Project"},
                 {"2001:200:1ba::", 0, ""},
                 {"203.0.113.127", 64500, "Say \"hi\""},
                 {"203.0.113.128", 0, ""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ipaddr a = T_IP(cases[i].ip);
        geo_lookup(g, &a, &gi);
        assert_int_equal(gi.asn, cases[i].asn);
        assert_string_equal(gi.as_name, cases[i].name);
    }
    assert_false(geo_has_country(g));
    geo_free(g);
}

static void bad_csv_names_line(void **state)
{
    (void)state;
    char *p = write_tmp("1.0.0.0,1.0.0.255,13335,x\nnot,a,range\n");
    struct geo *g = geo_new();
    assert_true(geo_add_asn_csv(g, p) < 0);
    char want[96];
    snprintf(want, sizeof want, "%s:2:", p);
    assert_non_null(strstr(err_msg(), want));
    unlink(p);
    assert_true(geo_add_asn_csv(g, "/nonexistent/asn.csv") < 0);
    assert_true(geo_add_mmdb(g, "/nonexistent/city.mmdb") < 0);
    geo_free(g);
}

static void geolite_city(void **state)
{
    (void)state;
    const char *root = getenv("MESON_SOURCE_ROOT");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/node_modules/@ip-location-db", root ? root : ".");
    struct geo *g = geo_new();
    int loaded = geo_add_dir(g, dir);
    if (loaded < 4) {
        geo_free(g);
        skip(); /* `make deps` installs the data; a bare `meson test` may not have it */
    }
    struct ipaddr a = T_IP("8.8.8.8");
    struct geo_info gi;
    geo_lookup(g, &a, &gi);
    assert_string_equal(gi.cc, "US");
    assert_true(gi.has_loc);
    assert_int_equal(gi.asn, 15169);
    struct ipaddr b = T_IP("192.168.1.1");
    geo_lookup(g, &b, &gi);
    assert_string_equal(gi.cc, "");
    geo_free(g);
}

/* An empty ASN file loads nothing (and sorts nothing: qsort of NULL is UB). */
static void empty_csv(void **state)
{
    (void)state;
    char *p = write_tmp("");
    struct geo *g = geo_new();
    assert_int_equal(geo_add_asn_csv(g, p), 0);
    assert_false(geo_has_asn(g));
    struct geo_info gi;
    geo_lookup(g, &(struct ipaddr){0}, &gi);
    assert_int_equal(gi.asn, 0);
    unlink(p);
    geo_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(asn_ranges),
        cmocka_unit_test(bad_csv_names_line),
        cmocka_unit_test(geolite_city),
        cmocka_unit_test(empty_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
