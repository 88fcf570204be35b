/* share export: the local indicators collected from the honeypot's own
 * records (written through the honeypot's store API), and the bundle's rules
 * — pattern escaping, the OASIS TLP 2.0 ids, the TLP re-export rule, ids
 * that do not depend on the rows' order, §2.9 SCO ids recomputed by hand. */
#include "core/stix.h"
#include "share/export.h"
#include "store/honeypot.h"
#include "store/share.h"
#include "store/share_collect.h"
#include "store/store.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void patterns_escape_quotes_and_backslashes(void **state)
{
    (void)state;
    char p[256];
    assert_int_equal(export_pattern("url", "http://x/a'b\\c", p, sizeof p), 0);
    assert_string_equal(p, "[url:value = 'http://x/a\\'b\\\\c']");
    assert_int_equal(export_pattern("ipv6-addr", "2001:db8::1", p, sizeof p), 0);
    assert_string_equal(p, "[ipv6-addr:value = '2001:db8::1']");
    assert_int_equal(export_pattern("file", "sha256:ab01", p, sizeof p), 0);
    assert_string_equal(p, "[file:hashes.'SHA-256' = 'ab01']");
    assert_int_equal(export_pattern("file", "md5:ab01", p, sizeof p), 0);
    assert_string_equal(p, "[file:hashes.MD5 = 'ab01']");
    assert_int_equal(export_pattern("file", "crc32:ab01", p, sizeof p), -EINVAL);
    assert_int_equal(export_pattern("mutex", "x", p, sizeof p), -EINVAL);
    assert_int_equal(export_pattern("url", "", p, sizeof p), -EINVAL);
    assert_int_equal(export_pattern("url", "http://example.com/long", p, 20), -EINVAL);
}

static void tlp_markings_are_the_oasis_ids(void **state)
{
    (void)state;
    /* OASIS cti-stix-common-objects, extension-definition-specifications/tlp-2.0 */
    assert_string_equal(export_tlp_marking("clear"),
                        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487");
    assert_string_equal(export_tlp_marking("green"),
                        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
    assert_string_equal(export_tlp_marking("amber"),
                        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421");
    assert_string_equal(export_tlp_marking("amber+strict"),
                        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003");
    assert_string_equal(export_tlp_marking("red"),
                        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1");
    assert_null(export_tlp_marking("white"));
    assert_int_equal(share_tlp_rank("amber+strict"), 3);
    assert_int_equal(share_tlp_rank("AMBER"), -1);
}

static const json_t *find(const json_t *b, const char *type, const char *field, const char *v)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(b, "objects"), i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "type")), type)) continue;
        const char *f = json_string_value(json_object_get(o, field));
        if (!v || (f && strstr(f, v))) return o;
    }
    return NULL;
}

static void bundle_rules(void **state)
{
    (void)state;
    const char *sha = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    struct share_ind rows[] = {
        {.kind = "ipv4-addr",
         .value = "198.51.100.3",
         .role = "scanner",
         .source = "local",
         .tlp = "clear",
         .labels = "{\"roles\":[\"scanner\"],\"fingerprints\":[\"mirai\"],"
                   "\"malware\":[\"mirai\"],\"classes\":[\"tcp_syn\"],\"ports\":[23]}",
         .first_us = 1474329600000000,
         .last_us = 1474329660123456,
         .sightings = 7,
         .confidence = 85},
        {.kind = "file",
         .value = sha,
         .role = "malware-file",
         .source = "local",
         .tlp = "clear",
         .first_us = 1474329600000000,
         .last_us = 1474329600000000,
         .sightings = 1,
         .confidence = 95},
        {.kind = "ipv4-addr",
         .value = "203.0.113.3",
         .role = "scanner",
         .source = "peer",
         .tlp = "amber",
         .first_us = 1,
         .last_us = 2,
         .sightings = 1,
         .confidence = 50},
        {.kind = "ipv4-addr",
         .value = "203.0.113.2",
         .role = "scanner",
         .source = "peer",
         .tlp = "green",
         .stix_id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         .first_us = 1,
         .last_us = 2,
         .sightings = 1,
         .confidence = 50},
        {.kind = "ipv4-addr",
         .value = "192.0.2.50",
         .role = "vulnerable",
         .source = "local",
         .tlp = "clear",
         .labels = "{\"roles\":[\"vulnerable\"],\"survey\":{\"ports\":[23],"
                   "\"classes\":[\"mirai-default\"],\"round\":\"r1\"}}",
         .first_us = 5,
         .last_us = 5,
         .sightings = 1,
         .confidence = 90},
    };
    struct share_ind_list l = {.v = rows, .n = 5};
    struct export_opts o = {.org = "Example ISAC"};
    struct export_counts n;
    json_t *b = export_bundle(&l, &o, &n);
    assert_non_null(b);
    assert_int_equal(n.indicators, 3);
    assert_int_equal(n.withheld_tlp, 1);
    assert_int_equal(n.vulnerable, 1);
    assert_int_equal(n.malware, 1);
    assert_null(find(b, "indicator", "pattern", "203.0.113.3"));
    assert_null(find(b, "indicator", "pattern", "192.0.2.50"));
    assert_null(find(b, "ipv4-addr", "value", "192.0.2.50"));
    const json_t *kept = find(b, "indicator", "pattern", "203.0.113.2");
    assert_non_null(kept);
    /* re-exported as ours: not under the producer's id (only it makes versions of that) */
    assert_string_not_equal(json_string_value(json_object_get(kept, "id")), rows[3].stix_id);
    assert_string_equal(json_string_value(json_object_get(kept, "created_by_ref")),
                        json_string_value(json_object_get(find(b, "identity", "name", "Example ISAC"), "id")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(kept, "object_marking_refs"), 0)),
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
    const json_t *ind = find(b, "indicator", "pattern", "198.51.100.3");
    assert_string_equal(json_string_value(json_object_get(ind, "modified")),
                        "2016-09-20T00:01:00.123Z");
    /* The file SCO's id by §2.9, by hand. */
    const json_t *file = find(b, "file", "id", NULL);
    const char *name = "{\"hashes\":{\"SHA-256\":"
                       "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}}";
    char u[37], want[STIX_ID_MAX];
    assert_int_equal(stix_uuid5(STIX_SCO_NAMESPACE, name, strlen(name), u), 0);
    snprintf(want, sizeof want, "file--%s", u);
    assert_string_equal(json_string_value(json_object_get(file, "id")), want);
    assert_non_null(find(b, "report", "description", "1 hosts"));
    /* The same rows in another order: the same bundle, byte for byte. */
    struct share_ind rev[5];
    for (int i = 0; i < 5; i++)
        rev[i] = rows[4 - i];
    struct share_ind_list l2 = {.v = rev, .n = 5};
    json_t *b2 = export_bundle(&l2, &o, &n);
    char *t1 = json_dumps(b, JSON_SORT_KEYS), *t2 = json_dumps(b2, JSON_SORT_KEYS);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    json_decref(b2);
    json_decref(b);
}

static char dir[64];

static void put_ind(struct honeypot_db *h, const char *type, const char *value, int64_t ts)
{
    struct indicator_rec r = {.type = type, .value = value, .source = "lure", .ts_us = ts};
    assert_int_equal(honeypot_db_indicator(h, &r), 0);
}

static const struct share_ind *row_of(const struct share_ind_list *l, const char *value)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].value, value)) return &l->v[i];
    return NULL;
}

static void collect_is_idempotent_and_merges_facets(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mamori-share-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/m.db", dir);
    struct store *s = store_open(path, true);
    assert_non_null(s);
    struct honeypot_db *h = honeypot_db_open(s);
    assert_non_null(h);
    put_ind(h, "attacker-ip", "192.0.2.7", 1000000);
    put_ind(h, "attacker-ip", "192.0.2.7", 3000000);
    put_ind(h, "loader-ip", "192.0.2.7", 2000000);
    put_ind(h, "host", "Evil.Example.", 2000000);
    put_ind(h, "sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            2000000);
    put_ind(h, "sha256", "not-a-hash", 2000000);
    assert_int_equal(honeypot_db_commit(h), 0);
    honeypot_db_close(h);
    struct share_ind peer = {.kind = "ipv4-addr",
                             .value = "203.0.113.9",
                             .role = "scanner",
                             .source = "peer",
                             .tlp = "green",
                             .first_us = 1,
                             .last_us = 1,
                             .sightings = 4,
                             .confidence = 30};
    assert_int_equal(share_begin(s), 0);
    assert_int_equal(share_put(s, &peer), 1);
    assert_int_equal(share_commit(s), 0);
    struct share_collect_counts c;
    struct share_collect_opts o = {.tlp = "green"};
    for (int round = 0; round < 2; round++) { /* twice: the same rows */
        assert_int_equal(share_collect_local(s, &o, &c), 0);
        assert_int_equal(c.rows, 3);
        struct share_ind_list l;
        assert_int_equal(share_read(s, NULL, &l), 0);
        assert_int_equal(l.n, 4);
        const struct share_ind *ip = row_of(&l, "192.0.2.7");
        assert_non_null(ip);
        assert_string_equal(ip->role, "loader");
        assert_int_equal(ip->confidence, 90);
        assert_int_equal(ip->sightings, 3); /* two attacker facts (counted once each), one loader */
        assert_int_equal(ip->first_us, 1000000);
        assert_int_equal(ip->last_us, 3000000);
        assert_string_equal(ip->tlp, "green");
        assert_non_null(strstr(ip->labels, "\"roles\":[\"loader\",\"attacker\"]"));
        assert_non_null(row_of(&l, "evil.example"));
        const struct share_ind *f =
            row_of(&l, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_non_null(f);
        assert_string_equal(f->kind, "file");
        assert_int_equal(f->confidence, 95);
        const struct share_ind *p = row_of(&l, "203.0.113.9");
        assert_non_null(p);
        assert_int_equal(p->sightings, 4);
        share_ind_list_free(&l);
    }
    assert_int_equal(share_collect_local(s, &(struct share_collect_opts){.tlp = "purple"}, &c),
                     -EINVAL);
    store_close(s);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(patterns_escape_quotes_and_backslashes),
        cmocka_unit_test(tlp_markings_are_the_oasis_ids),
        cmocka_unit_test(bundle_rules),
        cmocka_unit_test(collect_is_idempotent_and_merges_facets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
