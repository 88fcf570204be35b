/* share_ingest: the Admiralty map and how it combines with an object's own
 * confidence, MISP's decay formula against values worked out by hand, dedup
 * by STIX id and by value across two sources, idempotent re-ingest,
 * sightings added to the sighted indicator's rows, warninglist drops (a
 * list of the test's own and the shipped ones), refused objects changing
 * nothing. */
#include "core/err.h"
#include "store/share.h"
#include "store/share_ingest.h"
#include "store/store.h"
#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_US (86400LL * 1000000)
#define NOW_US (1764633600LL * 1000000) /* 2025-12-02T00:00:00Z */

static char dir[] = "/tmp/mamori-ingest-XXXXXX";

static void trust_map(void **state)
{
    (void)state;
    const char *g[] = {"A", "B", "C", "D", "E", "F", "a"};
    int want[] = {100, 80, 60, 40, 20, 50, 100};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(share_trust_confidence(g[i]), want[i]);
    assert_int_equal(share_trust_confidence("G"), -EINVAL);
    assert_int_equal(share_trust_confidence("AB"), -EINVAL);
    assert_int_equal(share_trust_confidence(""), -EINVAL);
    assert_int_equal(share_trust_combine(80, 50), 40);
    assert_int_equal(share_trust_combine(60, -1), 60);
    assert_int_equal(share_trust_combine(50, 85), 43); /* 42.5 rounds up */
    assert_int_equal(share_trust_combine(100, 100), 100);
    assert_int_equal(share_trust_combine(20, 0), 0);
}

static void decay_by_hand(void **state)
{
    (void)state;
    /* 80 * (1 - (15/30)^(1/2)) = 80 * (1 - 0.70710678) = 23.4314575 */
    assert_true(fabs(share_decay_score(80, 15 * 86400., 30 * 86400., 2) - 23.4314575) < 1e-6);
    /* delta 1 is linear: 80 * (1 - 0.25) = 60 */
    assert_true(fabs(share_decay_score(80, 0.25, 1, 1) - 60) < 1e-9);
    /* delta 0.5: 100 * (1 - 0.5^2) = 75 */
    assert_true(fabs(share_decay_score(100, 0.5, 1, 0.5) - 75) < 1e-9);
    assert_true(share_decay_score(80, 0, 10, 2) == 80);
    assert_true(share_decay_score(80, 10, 10, 2) == 0);
    assert_true(share_decay_score(80, 11, 10, 2) == 0);
    /* the shipped table: ipv4-addr tau 30 days, delta 2; file tau 365 days, delta 0.5 */
    struct share_decay *d = share_decay_load(NULL);
    assert_non_null(d);
    struct share_ind r = {.kind = "ipv4-addr", .confidence = 80, .last_us = NOW_US - 15 * DAY_US};
    assert_true(fabs(share_score(d, &r, NOW_US) - 23.4314575) < 1e-6);
    r.kind = "file"; /* 80 * (1 - (73/365)^2) = 80 * 0.96 = 76.8 */
    r.last_us = NOW_US - 73 * DAY_US;
    assert_true(fabs(share_score(d, &r, NOW_US) - 76.8) < 1e-6);
    share_decay_free(d);
}

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *o = json_loads(s, 0, &e);
    if (!o) fprintf(stderr, "test JSON: %s\n", e.text);
    assert_non_null(o);
    return o;
}

#define INDICATOR(id, conf, pattern)                                                               \
    "{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--" id "\", "         \
    "\"created\": \"2025-11-01T00:00:00.000Z\", \"modified\": \"2025-11-20T00:00:00.000Z\", "      \
    "\"pattern_type\": \"stix\", \"valid_from\": \"2025-11-01T00:00:00.000Z\", "                   \
    "\"confidence\": " conf ", \"pattern\": \"" pattern "\"}"
#define ID_A "11111111-1111-4111-8111-111111111111"
#define ID_B "22222222-2222-4222-8222-222222222222"

static struct share_ingest_stats ingest(struct store *s, const char *src,
                                        const struct share_warn *w, const char *json, int want_rc,
                                        const json_t *by_id)
{
    struct share_ingest_stats st = {0};
    struct share_ingest_opts o = {.source = src, .now_us = NOW_US, .warn = w, .by_id = by_id};
    json_t *obj = J(json);
    assert_int_equal(share_begin(s), 0);
    int rc = share_ingest_object(s, obj, &o, &st);
    if (rc != want_rc) fprintf(stderr, "ingest: %d %s\n", rc, err_msg());
    assert_int_equal(rc, want_rc);
    assert_int_equal(share_commit(s), 0);
    json_decref(obj);
    return st;
}

static const struct share_ind *row(const struct share_ind_list *l, const char *value,
                                   const char *source)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].value, value) && !strcmp(l->v[i].source, source)) return &l->v[i];
    return NULL;
}

static void dedup_trust_sightings_warn(void **state)
{
    (void)state;
    char path[256], list[256];
    snprintf(list, sizeof list, "%s/warn", dir);
    assert_int_equal(mkdir(list, 0700), 0);
    snprintf(path, sizeof path, "%s/scanners-test.txt", list);
    FILE *f = fopen(path, "w");
    fputs("# name: test-scanner\n162.142.125.0/24  # a research scanner\n", f);
    fclose(f);
    struct share_warn *w = share_warn_load(list);
    assert_non_null(w);
    assert_int_equal(share_warn_count(w), 1);
    snprintf(path, sizeof path, "%s/share.db", dir);
    struct store *s = store_open(path, true);
    assert_non_null(s);
    assert_int_equal(share_trust_set(s, "peer-a", "B", NOW_US), 0);

    const char *a = INDICATOR(ID_A, "50",
                              "[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value "
                              "= '162.142.125.9']");
    struct share_ingest_stats st = ingest(s, "peer-a", w, a, 0, NULL);
    assert_int_equal(st.indicators, 1);
    assert_int_equal(st.fresh, 1);
    assert_int_equal(st.dropped, 1); /* the research scanner */
    /* the same object again: idempotent */
    st = ingest(s, "peer-a", w, a, 0, NULL);
    assert_int_equal(st.fresh, 0);
    assert_int_equal(st.duplicates, 1);
    /* the same id from another (ungraded) source: one fact seen twice */
    st = ingest(s, "peer-b", w, a, 0, NULL);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.fresh, 0);
    /* the same value under another id and spelling, from peer-b: its row merges */
    st = ingest(s, "peer-b", w, INDICATOR(ID_B, "90", "[ipv4-addr:value = '198.51.100.7/32']"), 0,
                NULL);
    assert_int_equal(st.duplicates, 1);

    struct share_ind_list l;
    assert_int_equal(share_read(s, NULL, &l), 0);
    assert_int_equal(l.n, 2);
    const struct share_ind *ra = row(&l, "198.51.100.7", "peer-a"),
                           *rb = row(&l, "198.51.100.7", "peer-b");
    assert_non_null(ra);
    assert_non_null(rb);
    assert_int_equal(ra->confidence, 40); /* B 80 x own 50 */
    assert_int_equal(ra->sightings, 1);
    assert_string_equal(ra->stix_id, "indicator--" ID_A);
    assert_int_equal(rb->sightings, 1); /* two objects telling one sighting: not two */
    assert_int_equal(rb->confidence, 45); /* F 50 x own 90 */
    share_ind_list_free(&l);

    /* a sighting of A by peer-a, count 5; again (idempotent) */
    const char *sg = "{\"type\": \"sighting\", \"spec_version\": \"2.1\", \"id\": "
                     "\"sighting--33333333-3333-4333-8333-333333333333\", \"created\": "
                     "\"2025-11-25T00:00:00.000Z\", \"modified\": \"2025-11-25T00:00:00.000Z\", "
                     "\"sighting_of_ref\": \"indicator--" ID_A "\", \"count\": 5, "
                     "\"last_seen\": \"2025-11-30T00:00:00.000Z\"}";
    ingest(s, "peer-a", w, sg, 0, NULL);
    ingest(s, "peer-a", w, sg, 0, NULL);
    /* trust raised to A: peer-a's rows re-scored from their own confidence */
    assert_int_equal(share_trust_set(s, "peer-a", "A", NOW_US), 0);
    assert_int_equal(share_read(s, NULL, &l), 0);
    ra = row(&l, "198.51.100.7", "peer-a");
    assert_int_equal(ra->sightings, 5); /* the sighting's count covers the indicator's one */
    assert_int_equal(ra->confidence, 50);
    assert_int_equal(ra->last_us, 1764460800LL * 1000000); /* the sighting's last_seen */
    share_ind_list_free(&l);

    /* a refused object changes nothing */
    st = ingest(s, "peer-a", w,
                INDICATOR("44444444-4444-4444-8444-444444444444", "50",
                          "[ipv4-addr:value = '198.51.100.8'"),
                -EINVAL, NULL);
    assert_int_equal(st.invalid, 1);
    assert_non_null(strstr(err_msg(), "pattern: at byte"));

    /* observed-data naming SCOs elsewhere in the bundle */
    json_t *by_id = J("{\"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\": {\"type\": "
                      "\"ipv4-addr\", \"id\": \"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\", "
                      "\"value\": \"198.51.100.3\"}, \"domain-name--3c10e93f-798e-5a26-a0c1-"
                      "08156efab7f5\": {\"type\": \"domain-name\", \"id\": \"domain-name--3c10e93f-"
                      "798e-5a26-a0c1-08156efab7f5\", \"value\": \"Example.COM.\"}}");
    st = ingest(s, "peer-a", w,
                "{\"type\": \"observed-data\", \"spec_version\": \"2.1\", \"id\": "
                "\"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf\", \"created\": "
                "\"2025-11-21T00:00:00.000Z\", \"modified\": \"2025-11-21T00:00:00.000Z\", "
                "\"first_observed\": \"2025-11-20T00:00:00Z\", \"last_observed\": "
                "\"2025-11-21T00:00:00Z\", \"number_observed\": 7, \"object_refs\": "
                "[\"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\", "
                "\"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5\"]}",
                0, by_id);
    json_decref(by_id);
    assert_int_equal(st.fresh, 2);
    assert_int_equal(share_read(s, NULL, &l), 0);
    assert_non_null(row(&l, "example.com", "peer-a"));
    assert_int_equal(row(&l, "198.51.100.3", "peer-a")->sightings, 7);
    share_ind_list_free(&l);

    /* the cross-source view: 198.51.100.7 from two sources, best first */
    struct share_decay *d = share_decay_load(NULL);
    json_t *view = share_values_view(s, d, NOW_US, 0);
    assert_non_null(view);
    assert_int_equal(json_array_size(view), 3);
    json_t *top = NULL, *v;
    size_t i;
    json_array_foreach(view, i, v) if (!strcmp(json_string_value(json_object_get(v, "value")),
                                               "198.51.100.7")) top = v;
    assert_non_null(top);
    assert_int_equal(json_integer_value(json_object_get(top, "sources")), 2);
    assert_int_equal(json_integer_value(json_object_get(top, "sightings")), 6); /* peer-a 5 + peer-b 1 */
    json_decref(view);
    share_decay_free(d);

    json_t *srcs = share_sources_list(s);
    assert_int_equal(json_array_size(srcs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(srcs, 1), "reliability")),
                        "F");
    json_decref(srcs);
    store_close(s);
    share_warn_free(w);
}

static void shipped_warninglists(void **state)
{
    (void)state;
    struct share_warn *w = share_warn_load(NULL);
    assert_non_null(w);
    assert_true(share_warn_count(w) >= 5);
    assert_string_equal(share_warn_match(w, "ipv4-addr", "198.51.100.7"), "iana-special");
    assert_string_equal(share_warn_match(w, "ipv6-addr", "2001:db8::1"), "iana-special");
    assert_string_equal(share_warn_match(w, "ipv4-addr", "162.142.125.9"), "censys");
    assert_string_equal(share_warn_match(w, "ipv4-addr", "71.6.233.17"), "rapid7-sonar");
    assert_string_equal(share_warn_match(w, "ipv4-addr", "184.105.139.70"), "shadowserver");
    assert_string_equal(share_warn_match(w, "ipv4-addr", "198.20.69.74"), "shodan");
    assert_null(share_warn_match(w, "ipv4-addr", "8.8.8.8"));
    assert_null(share_warn_match(w, "ipv4-addr", "162.142.0.0/16")); /* wider than the list's /24 */
    assert_null(share_warn_match(w, "domain-name", "example.com"));
    share_warn_free(w);
}

static int setup(void **state)
{
    (void)state;
    char data[512];
    snprintf(data, sizeof data, "%s/data", getenv("MESON_SOURCE_ROOT"));
    setenv("MAMORI_DATA", data, 1);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trust_map),
        cmocka_unit_test(decay_by_hand),
        cmocka_unit_test(dedup_trust_sightings_warn),
        cmocka_unit_test(shipped_warninglists),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
