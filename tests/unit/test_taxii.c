/* TAXII: the timestamps it uses (stix_time_parse, cli_iso_us; against Python's datetime), the
 * request path and argument parser, media types, the configuration's credentials (a sha512-crypt
 * hash made by Python's crypt module, SHA-256 of "abc" from FIPS 180-2), and the collections in the
 * store: date_added stable across a re-add, match[] filters, keyset paging, versions, delete,
 * statuses and the client's memory. */
#include "core/cli.h"
#include "core/stix.h"
#include "serve/taxii_conf.h"
#include "serve/taxii_params.h"
#include "store/store.h"
#include "store/taxii.h"
#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void times(void **state)
{
    (void)state;
    int64_t us;
    assert_int_equal(stix_time_parse("2016-11-01T03:04:05.123456Z", &us), 0);
    assert_int_equal(us, 1477969445123456LL);
    assert_int_equal(stix_time_parse("2024-02-29T23:59:59.9999999Z", &us), 0);
    assert_int_equal(us, 1709251199999999LL);
    assert_int_equal(stix_time_parse("2024-03-01T00:00:00.000Z", &us), 0);
    assert_int_equal(us, 1709251200000000LL);
    assert_int_equal(stix_time_parse("1970-01-01T00:00:00Z", &us), 0);
    assert_int_equal(us, 0);
    const char *bad[] = {"2023-02-29T00:00:00Z",
                         "2024-01-01T24:00:00Z",
                         "2024-01-01T00:00:00",
                         "2024-01-01 00:00:00Z",
                         "2024-01-01T00:00:00.Z",
                         "2024-01-01T00:00:00Zx",
                         "2024-13-01T00:00:00Z",
                         "",
                         "yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(stix_time_parse(bad[i], &us), -EINVAL);
    char out[32];
    assert_string_equal(cli_iso_us(1477969445123456LL, out), "2016-11-01T03:04:05.123456Z");
}

static void paths(void **state)
{
    (void)state;
    struct taxii_path p;
    const char *id = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
    char u[256];
    assert_int_equal(taxii_path_parse("/taxii2/", &p), 0);
    assert_int_equal(p.ep, TX_DISCOVERY);
    assert_int_equal(taxii_path_parse("/taxii2/api1/", &p), 0);
    assert_int_equal(p.ep, TX_ROOT);
    assert_string_equal(p.root, "api1");
    snprintf(u, sizeof u, "/taxii2/api1/status/%s/", id);
    assert_int_equal(taxii_path_parse(u, &p), 0);
    assert_int_equal(p.ep, TX_STATUS);
    assert_int_equal(taxii_path_parse("/taxii2/api1/collections/", &p), 0);
    assert_int_equal(p.ep, TX_COLLECTIONS);
    snprintf(u, sizeof u, "/taxii2/api1/collections/%s/", id);
    assert_int_equal(taxii_path_parse(u, &p), 0);
    assert_int_equal(p.ep, TX_COLLECTION);
    assert_string_equal(p.coll, id);
    snprintf(u, sizeof u, "/taxii2/api1/collections/%s/objects/", id);
    assert_int_equal(taxii_path_parse(u, &p), 0);
    assert_int_equal(p.ep, TX_OBJECTS);
    snprintf(u, sizeof u, "/taxii2/api1/collections/%s/manifest/", id);
    assert_int_equal(taxii_path_parse(u, &p), 0);
    assert_int_equal(p.ep, TX_MANIFEST);
    snprintf(u, sizeof u, "/taxii2/api1/collections/%s/objects/indicator--%s/", id, id);
    assert_int_equal(taxii_path_parse(u, &p), 0);
    assert_int_equal(p.ep, TX_OBJECT);
    assert_string_equal(p.obj + 11, id);
    snprintf(u, sizeof u, "/taxii2/api1/collections/%s/objects/indicator--%s/versions/", id, id);
    assert_int_equal(taxii_path_parse(u, &p), 0);
    assert_int_equal(p.ep, TX_VERSIONS);
    snprintf(u, sizeof u, "/taxii2/api1/collections/%s/objects", id); /* no final slash */
    assert_int_equal(taxii_path_parse(u, &p), 0);
    const char *bad[] = {"/taxii2//",
                         "/taxii2/api1//collections/",
                         "/taxii2/../",
                         "/taxii2/a b/",
                         "/taxii2/api1/collections/xyz/",
                         "/taxii2/api1/status/",
                         /* an object id whose type is not lower-case */
                         "/taxii2/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/Indicator--91a7b528-80eb-42ed-a74d-c6fbd5a26116/",
                         "/taxii2/api1/other/",
                         "/taxii22/",
                         "/api/v1/summary"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(taxii_path_parse(bad[i], &p), 404);
    assert_true(taxii_method_ok(TX_OBJECTS, "POST"));
    assert_false(taxii_method_ok(TX_MANIFEST, "POST"));
    assert_true(taxii_method_ok(TX_OBJECT, "DELETE"));
    assert_false(taxii_method_ok(TX_OBJECTS, "PUT"));
}

static void arguments(void **state)
{
    (void)state;
    struct taxii_params p;
    char msg[256];
    taxii_params_init(&p);
    assert_int_equal(p.f.limit, TAXII_PAGE_MAX);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "limit", "5000", msg, sizeof msg), 0);
    assert_int_equal(p.f.limit, TAXII_PAGE_MAX); /* clamped, as the spec lets a server */
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "limit", "0", msg, sizeof msg), 400);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "limit", "-1", msg, sizeof msg), 400);
    assert_int_equal(
        taxii_params_arg(&p, TX_OBJECTS, "match[type]", "indicator,malware", msg, sizeof msg), 0);
    assert_int_equal(p.f.n_types, 2);
    assert_string_equal(p.f.types[1], "malware");
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "match[type]", "a,", msg, sizeof msg), 400);
    assert_int_equal(
        taxii_params_arg(&p, TX_OBJECTS, "match[version]", "first,2024-03-01T00:00:00Z", msg, 256),
        0);
    assert_int_equal(p.f.vflags, TAXII_V_FIRST);
    assert_int_equal(p.f.n_versions, 1);
    assert_int_equal(p.f.versions[0], 1709251200000000LL);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "match[version]", "newest", msg, 256), 400);
    assert_non_null(strstr(msg, "newest"));
    assert_int_equal(taxii_params_arg(&p, TX_VERSIONS, "match[version]", "all", msg, 256), 400);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "match[color]", "red", msg, 256), 400);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "color", "red", msg, 256), 0);
    assert_int_equal(
        taxii_params_arg(&p, TX_OBJECTS, "added_after", "2016-11-01T03:04:05Z", msg, sizeof msg),
        0);
    assert_true(p.f.have_added_after);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "added_after", "x\x01y", msg, 256), 400);
    assert_null(strchr(msg, '\x01')); /* escaped in the reason */
    char next[48];
    taxii_next_format(1477969445123456LL, 42, next);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "next", next, msg, sizeof msg), 0);
    assert_int_equal(p.f.cursor_added, 1477969445123456LL);
    assert_int_equal(p.f.cursor_row, 42);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "next", "12", msg, sizeof msg), 400);
    /* 16 values at most */
    char many[64 * 18] = "";
    for (int i = 0; i < 17; i++)
        strcat(many, i ? ",t" : "t");
    taxii_params_init(&p);
    assert_int_equal(taxii_params_arg(&p, TX_OBJECTS, "match[id]", many, msg, sizeof msg), 400);
    assert_true(taxii_media_ok("application/taxii+json;version=2.1", false));
    assert_true(taxii_media_ok("application/taxii+json", false));
    assert_true(taxii_media_ok("text/html, Application/TAXII+json ; version=2.1", true));
    assert_true(taxii_media_ok("*/*", true));
    assert_true(taxii_media_ok(NULL, true));
    assert_false(taxii_media_ok("*/*", false));
    assert_false(taxii_media_ok(NULL, false));
    assert_false(taxii_media_ok("application/json", true));
    assert_false(taxii_media_ok("application/taxii+json;version=2.0", true));
}

static char dir[] = "/tmp/mamori-taxii-XXXXXX";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void credentials(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/conf.json", dir);
    /* crypt.crypt('not-a-password-anyone-has', '$6$mamoriDummySalt') in Python; SHA-256("abc") */
    write_file(path,
               "{\"api_roots\":[{\"name\":\"r\"}],\"users\":["
               "{\"name\":\"a\",\"password_crypt\":\"$6$mamoriDummySalt$13epKcCknydhq8LnNxBVDV"
               "jnY6BVtPvmPzfwcJ697EuCks0F73JdHcTZGbgd2a8FpZZPKOhG396aOXJQGsryL.\","
               "\"roles\":[\"x\"]},{\"name\":\"t\",\"token_sha256\":\"ba7816bf8f01cfea414140de"
               "5dae2223b00361a396177a9cb410ff61f20015ad\"}],\"collections\":[{\"id\":"
               "\"91a7b528-80eb-42ed-a74d-c6fbd5a26116\",\"title\":\"c\",\"can_read\":"
               "[\"role:x\"],\"can_write\":[\"t\"]}]}");
    struct taxii_conf c;
    assert_int_equal(taxii_conf_load(path, &c), 0);
    /* "a:not-a-password-anyone-has" in base64 */
    const struct taxii_user *u = taxii_auth(&c, "Basic YTpub3QtYS1wYXNzd29yZC1hbnlvbmUtaGFz");
    assert_non_null(u);
    assert_string_equal(u->name, "a");
    assert_null(taxii_auth(&c, "Basic YTpub3QtYS1wYXNzd29yZC1hbnlvbmUtaGFT")); /* ...haS */
    assert_null(taxii_auth(&c, "Basic !!!!"));
    assert_null(taxii_auth(&c, NULL));
    const struct taxii_user *t = taxii_auth(&c, "Bearer abc");
    assert_non_null(t);
    assert_string_equal(t->name, "t");
    assert_null(taxii_auth(&c, "Bearer abd"));
    const struct taxii_coll *k = taxii_conf_coll(&c, "r", "91A7B528-80EB-42ED-A74D-C6FBD5A26116");
    assert_non_null(k);
    assert_true(taxii_can(k, u, false));
    assert_false(taxii_can(k, u, true));
    assert_true(taxii_can(k, t, true));
    assert_false(taxii_can(k, t, false));
    taxii_conf_free(&c);
    write_file(path, "{\"api_roots\":[{\"name\":\"r\"}],\"users\":[{\"name\":\"a\","
                     "\"password\":\"plain\"}],\"collections\":[]}");
    assert_int_equal(taxii_conf_load(path, &c), -EINVAL);
    write_file(path, "{\"api_roots\":[{\"name\":\"../x\"}],\"users\":[],\"collections\":[]}");
    assert_int_equal(taxii_conf_load(path, &c), -EINVAL);
    unlink(path);
}

static json_t *obj(const char *id, const char *type, const char *modified)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "type", type, "id", id, "spec_version", "2.1");
    if (modified) json_object_set_new(o, "modified", json_string(modified));
    return o;
}

static size_t count(struct store *s, struct taxii_filter *f)
{
    struct taxii_page p;
    assert_int_equal(taxii_db_query(s, "c", f, &p), 0);
    size_t n = p.n;
    taxii_page_free(&p);
    return n;
}

static void collections(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/t.db", dir);
    struct store *s = store_open(path, true);
    assert_non_null(s);
    const char *i1 = "indicator--00000001-1111-4111-8111-111111111111";
    const char *m1 = "malware--00000002-1111-4111-8111-111111111111";
    const char *a1 = "ipv4-addr--00000003-1111-5111-8111-111111111111";
    json_t *objs =
        json_pack("[o,o,o,o,o]", obj(i1, "indicator", "2024-01-01T00:00:00.000Z"),
                  obj(i1, "indicator", "2024-02-01T00:00:00Z"),
                  obj(i1, "indicator", "2024-03-01T00:00:00.5Z"),
                  obj(m1, "malware", "2024-01-01T00:00:00Z"), obj(a1, "ipv4-addr", NULL));
    uint64_t added;
    assert_int_equal(taxii_db_publish(s, "c", objs, 1000, &added), 0);
    assert_int_equal(added, 5);
    assert_int_equal(taxii_db_publish(s, "c", objs, 5000, &added), 0); /* again: nothing new */
    assert_int_equal(added, 0);
    struct taxii_filter f = {.limit = 100, .vflags = TAXII_V_ALL};
    struct taxii_page p;
    assert_int_equal(taxii_db_query(s, "c", &f, &p), 0);
    assert_int_equal(p.n, 5);
    for (size_t i = 0; i < p.n; i++) /* strictly increasing date_added, from the first add */
        assert_int_equal(p.v[i].added_us, 1000 + (int64_t)i);
    assert_string_equal(p.v[4].version, "1970-01-01T00:00:00.001004Z"); /* its date_added */
    taxii_page_free(&p);
    f.vflags = 0; /* last */
    assert_int_equal(count(s, &f), 3);
    f.vflags = TAXII_V_FIRST;
    f.ids[0] = i1;
    f.n_ids = 1;
    assert_int_equal(taxii_db_query(s, "c", &f, &p), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.v[0].version, "2024-01-01T00:00:00.000Z");
    taxii_page_free(&p);
    f.vflags = 0;
    assert_int_equal(stix_time_parse("2024-03-01T00:00:00.500000Z", &f.versions[0]), 0);
    f.n_versions = 1;
    assert_int_equal(count(s, &f), 1);
    f = (struct taxii_filter){.limit = 100, .vflags = TAXII_V_ALL, .n_types = 1};
    f.types[0] = "malware";
    assert_int_equal(count(s, &f), 1);
    f.specs[0] = "2.0";
    f.n_specs = 1;
    assert_int_equal(count(s, &f), 0);
    /* paging: two at a time by the cursor */
    f = (struct taxii_filter){.limit = 2, .vflags = TAXII_V_ALL};
    size_t seen = 0;
    for (int pages = 0; pages < 5; pages++) {
        assert_int_equal(taxii_db_query(s, "c", &f, &p), 0);
        seen += p.n;
        bool more = p.more;
        f.have_cursor = true;
        f.cursor_added = p.next_added;
        f.cursor_row = p.next_row;
        taxii_page_free(&p);
        if (!more) break;
    }
    assert_int_equal(seen, 5);
    f = (struct taxii_filter){
        .limit = 100, .vflags = TAXII_V_ALL, .have_added_after = true, .added_after = 1002};
    assert_int_equal(count(s, &f), 2);
    /* delete one version, then the rest */
    struct taxii_filter d = {.n_versions = 1};
    assert_int_equal(stix_time_parse("2024-02-01T00:00:00Z", &d.versions[0]), 0);
    assert_int_equal(taxii_db_delete(s, "c", i1, &d), 1);
    assert_int_equal(taxii_db_count(s, "c", i1), 2);
    d = (struct taxii_filter){0};
    assert_int_equal(taxii_db_delete(s, "c", i1, &d), 2);
    assert_int_equal(taxii_db_count(s, "c", i1), 0);
    /* statuses and the client's memory */
    json_t *st = json_pack("{s:s,s:s,s:i,s:i}", "id", "5e5c4b2a-1111-4111-8111-111111111111",
                           "status", "complete", "total_count", 2, "success_count", 2);
    assert_int_equal(taxii_db_status_put(s, "c", st, 7), 0);
    json_t *back;
    char coll[64];
    assert_int_equal(
        taxii_db_status_get(s, "5e5c4b2a-1111-4111-8111-111111111111", &back, coll, sizeof coll),
        1);
    assert_true(json_equal(st, back));
    assert_string_equal(coll, "c");
    json_decref(back);
    json_decref(st);
    assert_int_equal(taxii_db_status_get(s, "nope", &back, coll, sizeof coll), 0);
    char last[64];
    assert_int_equal(taxii_db_pull_get(s, "http://x/", last, sizeof last), 0);
    assert_int_equal(taxii_db_pull_put(s, "http://x/", "2024-01-01T00:00:00Z", 1), 0);
    assert_int_equal(taxii_db_pull_get(s, "http://x/", last, sizeof last), 1);
    assert_string_equal(last, "2024-01-01T00:00:00Z");
    json_decref(objs);
    store_close(s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -f %s/t.db*", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    assert_non_null(mkdtemp(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times),       cmocka_unit_test(paths),       cmocka_unit_test(arguments),
        cmocka_unit_test(credentials), cmocka_unit_test(collections),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
