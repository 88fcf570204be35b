/* The share view: what report and the dashboard show of sharing.  A honeypot
 * session links its source to the URL it fetched, the URL's host and the file
 * it built; a darknet scanner with the same address joins that group; a
 * peer's indicator of the same URL names the peer among the group's sources;
 * an unrelated pair is its own group; a lone value is none.  Values told by
 * two sources are listed once with both; sources show their trust grade. */
#include "core/err.h"
#include "store/honeypot.h"
#include "store/share.h"
#include "store/store.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/mamori-sharequery-XXXXXX";

static void session(struct honeypot_db *h, const char *id, const char *ip, const char *url,
                    const char *host, const char *sha, int64_t ts)
{
    struct session_rec r = {.step = SESSION_OPEN, .session = id, .sensor = "s1", .persona = "p",
                            .protocol = "telnet", .src_ip = ip, .dst_ip = "127.0.0.1",
                            .src_port = 40000, .dst_port = 23, .ts_us = ts, .size = -1};
    assert_int_equal(honeypot_db_session(h, &r), 0);
    r.step = SESSION_LOGIN;
    r.username = "root";
    r.password = "xc3511";
    r.success = true;
    assert_int_equal(honeypot_db_session(h, &r), 0);
    if (url) {
        r.step = SESSION_DOWNLOAD;
        r.dl_kind = "url";
        r.tool = "wget";
        r.url = url;
        r.host = host;
        assert_int_equal(honeypot_db_session(h, &r), 0);
    }
    if (sha) {
        r.step = SESSION_DOWNLOAD;
        r.dl_kind = "file";
        r.tool = "shell";
        r.url = r.host = NULL;
        r.path = "/tmp/x";
        r.sha256 = sha;
        r.size = 10;
        assert_int_equal(honeypot_db_session(h, &r), 0);
    }
    r = (struct session_rec){.step = SESSION_CLOSE, .session = id, .ts_us = ts + 1000000,
                             .success = true, .logins = 1, .downloads = url || sha, .size = -1,
                             .reason = "closed"};
    assert_int_equal(honeypot_db_session(h, &r), 0);
}

static void put(struct store *s, const char *kind, const char *value, const char *role,
                const char *source, int conf)
{
    struct share_ind d = {.kind = kind, .value = value, .role = role, .source = source,
                          .first_us = 1000000, .last_us = 2000000, .received_us = 3000000,
                          .sightings = 1, .confidence = conf};
    assert_true(share_put(s, &d) >= 0);
}

static json_t *find_campaign(json_t *camps, const char *kind, const char *value)
{
    size_t i, j;
    json_t *c, *v;
    json_array_foreach(camps, i, c)
    {
        json_array_foreach(json_object_get(json_object_get(c, "members"), kind), j, v)
        {
            if (!strcmp(json_string_value(v), value)) return c;
        }
    }
    return NULL;
}

static void test_view(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/m.db", dir);
    struct store *s = store_open(path, true);
    assert_non_null(s);
    struct honeypot_db *h = honeypot_db_open(s);
    assert_non_null(h);
    session(h, "a1", "203.0.113.7", "http://198.51.100.9/bins/mirai.arm7", "198.51.100.9", NULL,
            10000000);
    session(h, "a2", "203.0.113.7", NULL, NULL,
            "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", 20000000);
    session(h, "b1", "192.0.2.44", "http://evil.example/x.sh", "evil.example", NULL, 30000000);
    session(h, "c1", "192.0.2.99", NULL, NULL, NULL, 40000000); /* login only: no link */
    assert_int_equal(honeypot_db_commit(h), 0);
    honeypot_db_close(h);

    assert_int_equal(share_begin(s), 0);
    put(s, "ipv4-addr", "203.0.113.7", "scanner", SHARE_LOCAL, 80);
    put(s, "url", "http://198.51.100.9/bins/mirai.arm7", "download-url", "peer-isac", 60);
    put(s, "url", "http://198.51.100.9/bins/mirai.arm7", "download-url", SHARE_LOCAL, 90);
    put(s, "ipv4-addr", "198.18.5.5", "scanner", "peer-isac", 40);
    struct share_source src = {.name = "peer-isac", .reliability = "B", .confidence = 75};
    assert_int_equal(share_source_put(s, &src, 3000000), 0);
    struct share_log_rec lg = {.ts_us = 3000000, .action = "import", .peer = "isac.json",
                               .objects = 9, .indicators = 2, .fresh = 2};
    assert_int_equal(share_log_add(s, &lg), 0);
    assert_int_equal(share_commit(s), 0);

    json_t *v = query_share(s, 4000000);
    if (!v) fail_msg("query_share: %s", err_msg());
    json_t *camps = json_object_get(v, "campaigns");
    assert_int_equal(json_array_size(camps), 2);
    json_t *a = find_campaign(camps, "ip", "203.0.113.7");
    assert_non_null(a);
    /* the scanner that logged in, fetched a loader and built a file: one group */
    assert_ptr_equal(find_campaign(camps, "url", "http://198.51.100.9/bins/mirai.arm7"), a);
    assert_ptr_equal(find_campaign(camps, "ip", "198.51.100.9"), a);
    assert_ptr_equal(
        find_campaign(camps, "file",
                      "sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"),
        a);
    assert_int_equal(json_integer_value(json_object_get(a, "scanners")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "loaders")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "download_servers")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "files")), 1);
    assert_int_equal(json_array_size(json_object_get(a, "sources")), 2); /* local, peer-isac */
    json_t *b = find_campaign(camps, "host", "evil.example");
    assert_non_null(b);
    assert_true(b != a);
    assert_null(find_campaign(camps, "ip", "192.0.2.99"));
    assert_null(find_campaign(camps, "ip", "198.18.5.5"));

    json_t *agreed = json_object_get(v, "agreed");
    assert_int_equal(json_array_size(agreed), 1);
    json_t *g = json_array_get(agreed, 0);
    assert_string_equal(json_string_value(json_object_get(g, "value")),
                        "http://198.51.100.9/bins/mirai.arm7");
    assert_int_equal(json_integer_value(json_object_get(g, "sources")), 2);
    assert_int_equal(json_integer_value(json_object_get(g, "confidence")), 90);

    json_t *srcs = json_object_get(v, "sources"), *o;
    size_t i;
    int seen = 0;
    json_array_foreach(srcs, i, o)
    {
        const char *n = json_string_value(json_object_get(o, "source"));
        if (!strcmp(n, "peer-isac")) {
            assert_string_equal(json_string_value(json_object_get(o, "reliability")), "B");
            assert_int_equal(json_integer_value(json_object_get(o, "trust")), 75);
            assert_int_equal(json_integer_value(json_object_get(o, "indicators")), 2);
            seen++;
        }
    }
    assert_int_equal(seen, 1);
    assert_int_equal(json_array_size(json_object_get(v, "exchanges")), 1);
    /* weighted values: every value once, the best score first, all scores in 0..100 */
    json_t *sc = json_object_get(v, "scored");
    assert_int_equal(json_array_size(sc), 3);
    double prev = 101;
    json_array_foreach(sc, i, o)
    {
        double b = json_number_value(json_object_get(o, "best_score"));
        assert_true(b > 0 && b <= prev);
        prev = b;
    }
    json_decref(v);
    store_close(s);
    unlink(path);
}

/* A merge widens first/last seen and adds sightings; read returns it once. */
static void test_merge(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/merge.db", dir);
    struct store *s = store_open(path, true);
    assert_non_null(s);
    struct share_ind d = {.kind = "ipv4-addr", .value = "192.0.2.1", .role = "scanner",
                          .source = "p", .first_us = 500, .last_us = 900, .received_us = 1,
                          .sightings = 2, .confidence = 40, .tlp = "green"};
    assert_int_equal(share_put(s, &d), 1);
    d.first_us = 100;
    d.last_us = 700;
    d.sightings = 3;
    assert_int_equal(share_put(s, &d), 0);
    struct share_ind_list l;
    struct share_filter f = {.source = "p"};
    assert_int_equal(share_read(s, &f, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].first_us, 100);
    assert_int_equal(l.v[0].last_us, 900);
    assert_int_equal(l.v[0].sightings, 3); /* a received count: the largest told */
    assert_string_equal(l.v[0].tlp, "green");
    share_ind_list_free(&l);
    /* an observed-data (fill_only): times and count, never the role, TLP or confidence */
    d.fill_only = true;
    d.role = "other";
    d.tlp = "clear";
    d.confidence = 100;
    d.last_us = 1000;
    d.sightings = 7;
    assert_int_equal(share_put(s, &d), 0);
    assert_int_equal(share_read(s, &f, &l), 0);
    assert_int_equal(l.v[0].sightings, 7);
    assert_int_equal(l.v[0].last_us, 1000);
    assert_string_equal(l.v[0].role, "scanner");
    assert_string_equal(l.v[0].tlp, "green");
    assert_int_equal(l.v[0].confidence, 40);
    share_ind_list_free(&l);
    /* ... but a stricter marking always wins (its counts must not leave as green) */
    d.tlp = "amber";
    assert_int_equal(share_put(s, &d), 0);
    d.fill_only = false;
    d.tlp = "clear";
    assert_int_equal(share_put(s, &d), 0);
    assert_int_equal(share_read(s, &f, &l), 0);
    assert_string_equal(l.v[0].tlp, "amber");
    share_ind_list_free(&l);
    /* local rows (share_collect's) add up */
    struct share_ind loc = {.kind = "ipv4-addr", .value = "192.0.2.1", .role = "scanner",
                            .source = SHARE_LOCAL, .first_us = 1, .last_us = 2, .received_us = 2,
                            .sightings = 2, .confidence = 60};
    assert_int_equal(share_put(s, &loc), 1);
    loc.sightings = 3;
    assert_int_equal(share_put(s, &loc), 0);
    f.source = SHARE_LOCAL;
    assert_int_equal(share_read(s, &f, &l), 0);
    assert_int_equal(l.v[0].sightings, 5);
    share_ind_list_free(&l);
    f.source = "q";
    assert_int_equal(share_read(s, &f, &l), 0);
    assert_int_equal(l.n, 0);
    share_ind_list_free(&l);
    store_close(s);
    unlink(path);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_view), cmocka_unit_test(test_merge)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return rc;
}
