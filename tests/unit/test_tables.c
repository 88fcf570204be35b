/* The tables that things are added to by one line: fingerprints and classes
 * (core/classify.c), report formats (report/format.c), API routes
 * (serve/routes.c), and the one row->JSON routine of the REST lists and the
 * live stream (store/rowjson.c).  Each test walks the table itself, so a line
 * added later is tested without touching this file, and fails when a line is
 * unreachable (shadowed by an earlier one) or duplicated.
 *
 * The end-to-end fingerprint test writes a capture of one probe per
 * fingerprint, built from the line's own example with core/craft, runs
 * `$MAMORI observe` and `report --format json` on it, and expects each
 * fingerprint reported once under its table name.  The same database then
 * feeds every report format. */
#include "core/classify.h"
#include "report/format.h"
#include "serve/routes.h"
#include "store/query.h"
#include "store/store_int.h" /* store_db(): the test writes rows by hand */
#include "store/stream.h"
#include "testutil.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DARK "198.18.0.0/16"
#define T0 1474329600 /* 2016-09-20T00:00:00Z */

static char dir[64];

/* The probe fp_defs[i] says its scanner sends, from 10.0.0.(i+1) to
 * 198.18.1.(i+1):(23 + i), as an Ethernet frame. */
static size_t fp_frame(int i, uint8_t *f)
{
    char src[32], dst[32];
    snprintf(src, sizeof src, "10.0.0.%d", i + 1);
    snprintf(dst, sizeof dst, "198.18.1.%d", i + 1);
    struct ipaddr d = T_IP(dst);
    uint16_t dport = (uint16_t)(23 + i);
    struct fp_probe e;
    assert_non_null(fp_defs[i].example);
    fp_defs[i].example(ip_v4(&d), dport, &e);
    struct tcp_probe q = {.src = src,
                          .dst = dst,
                          .sport = (uint16_t)(40000 + i),
                          .dport = dport,
                          .seq = e.seq,
                          .flags = TCP_SYN,
                          .win = e.window,
                          .id = e.ip_id,
                          .ttl = e.ttl,
                          .opts = e.opts};
    return t_tcp_frame(f, &q);
}

static void fingerprints(void **state)
{
    (void)state;
    assert_null(fp_defs[FP_UNKNOWN].match); /* the fallback, tried last */
    for (int i = 0; i < FP_COUNT; i++) {
        uint8_t f[256];
        size_t n = fp_frame(i, f);
        struct pkt p;
        assert_int_equal(pkt_decode(DLT_EN10MB, f, n, &p), PKT_OK);
        assert_int_equal(classify(&p), CLS_TCP_SYN);
        if (fingerprint(&p) != i)
            fail_msg("%s's example reads as %s", fp_defs[i].name,
                     fingerprint_name(fingerprint(&p)));
        assert_string_equal(fingerprint_name((enum fingerprint)i), fp_defs[i].name);
        assert_int_equal(fingerprint_from_name(fp_defs[i].name), i);
        assert_true(i == FP_UNKNOWN || fp_defs[i].match);
        assert_true(fp_defs[i].help && *fp_defs[i].help);
    }
    for (int i = 0; i < CLS_COUNT; i++) {
        assert_int_equal(class_from_name(class_defs[i].name), i); /* first of its name */
        assert_string_equal(class_name((enum pkt_class)i), class_defs[i].name);
    }
    assert_int_equal(fingerprint_from_name("none"), -1);
}

static void report_formats_unique(void **state)
{
    (void)state;
    size_t n = 0;
    for (; report_formats[n]; n++) {
        assert_ptr_equal(report_format_find(report_formats[n]->name), report_formats[n]);
        assert_non_null(report_formats[n]->print);
    }
    assert_true(n >= 3);
    assert_null(report_format_find("xml"));
}

static void routes_unique(void **state)
{
    (void)state;
    size_t n = 0;
    for (const struct api_route_def *d = api_routes; d->path; d++, n++) {
        /* the path and example, parsed, land on this very line */
        char q[256];
        snprintf(q, sizeof q, "%s", d->example);
        struct api_arg a[API_MAX_ARGS];
        size_t na = 0;
        for (char *save, *kv = strtok_r(q[0] == '?' ? q + 1 : q, "&", &save); kv;
             kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (eq) *eq++ = 0;
            a[na++] = (struct api_arg){kv, eq ? eq : ""};
        }
        struct api_req r;
        char msg[128] = "";
        if (api_parse(d->path, a, na, &r, msg, sizeof msg) != 0)
            fail_msg("%s%s: %s", d->path, d->example, msg);
        assert_ptr_equal(r.def, d);
        assert_int_equal(r.route, d->id);
        assert_true(!d->query != !d->now); /* answered one way */
        assert_true(!d->cacheable || d->query);
        assert_true(d->help && *d->help);
    }
    assert_true(n >= 10);
    /* /api/v1/routes lists exactly the table */
    json_t *idx = route_index_json();
    assert_int_equal(json_array_size(json_object_get(idx, "routes")), n);
    json_decref(idx);
}

static void write_pcap(const char *path)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t gh[6] = {0xa1b2c3d4u, 2 | (4u << 16), 0, 0, 65535, DLT_EN10MB};
    assert_int_equal(fwrite(gh, sizeof gh, 1, f), 1);
    for (int i = 0; i < FP_COUNT; i++) {
        uint8_t fr[256];
        uint32_t n = (uint32_t)fp_frame(i, fr);
        uint32_t rh[4] = {(uint32_t)T0 + (uint32_t)i, 0, n, n};
        assert_int_equal(fwrite(rh, sizeof rh, 1, f), 1);
        assert_int_equal(fwrite(fr, n, 1, f), 1);
    }
    assert_int_equal(fclose(f), 0);
}

static json_t *run_json(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t e;
    json_t *doc = json_loadf(p, 0, &e);
    assert_int_equal(pclose(p), 0);
    if (!doc) fail_msg("%s: %s", cmd, e.text);
    return doc;
}

/* One crafted probe per fingerprint through observe and report. */
static void fingerprints_reported(void **state)
{
    (void)state;
    const char *mamori = getenv("MAMORI");
    if (!mamori) skip();
    char pcap[128], db[128], cmd[1024];
    snprintf(pcap, sizeof pcap, "%s/fp.pcap", dir);
    snprintf(db, sizeof db, "%s/fp.db", dir);
    write_pcap(pcap);
    snprintf(cmd, sizeof cmd, "'%s' observe -q --no-geo --darknet " DARK " --read %s --db %s",
             mamori, pcap, db);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' report --db %s --format json --top 0", mamori, db);
    json_t *doc = run_json(cmd), *o;
    json_t *fps = json_object_get(doc, "fingerprints");
    assert_int_equal(json_array_size(fps), FP_COUNT);
    for (int i = 0; i < FP_COUNT; i++) {
        size_t k;
        int found = 0;
        json_array_foreach(fps, k, o)
        {
            if (strcmp(json_string_value(json_object_get(o, "name")), fp_defs[i].name)) continue;
            found++;
            assert_int_equal(json_integer_value(json_object_get(o, "packets")), 1);
            assert_int_equal(json_integer_value(json_object_get(o, "sources")), 1);
        }
        if (found != 1) fail_msg("%s reported %d times", fp_defs[i].name, found);
    }
    /* the classes are the class table's names, in its order */
    const char *key;
    json_t *v;
    int c = 0;
    json_object_foreach(json_object_get(doc, "classes"), key, v)
    {
        assert_string_equal(key, class_defs[c].name);
        assert_int_equal(json_integer_value(v), c == CLS_TCP_SYN ? FP_COUNT : 0);
        c++;
    }
    assert_int_equal(c, CLS_COUNT);
    json_decref(doc);
}

/* Every format renders the same summary: json is the document itself, and
 * text and CSV each show its totals and every fingerprint's name. */
static void formats_render(void **state)
{
    (void)state;
    char db[128];
    snprintf(db, sizeof db, "%s/fp.db", dir);
    if (access(db, R_OK) != 0) skip(); /* made by fingerprints_reported */
    struct store *st = store_open(db, false);
    assert_non_null(st);
    struct query_window w = {.from = 0, .to = (int64_t)1 << 40, .top = 0};
    json_t *doc = query_summary(st, &w);
    assert_non_null(doc);
    for (size_t i = 0; report_formats[i]; i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(report_formats[i]->print(f, doc), 0);
        assert_int_equal(fclose(f), 0);
        assert_true(len > 0);
        if (!strcmp(report_formats[i]->name, "json")) {
            json_t *back = json_loads(buf, 0, NULL);
            assert_true(json_equal(back, doc));
            json_decref(back);
        }
        /* `report --format NAME` is this very line, and --help lists it */
        const char *mamori = getenv("MAMORI");
        if (mamori) {
            char cmd[512], *got = NULL;
            size_t got_len = 0;
            snprintf(cmd, sizeof cmd, "'%s' report --db %s --top 0 --format %s", mamori, db,
                     report_formats[i]->name);
            FILE *p = popen(cmd, "r"), *g = open_memstream(&got, &got_len);
            assert_non_null(p);
            char chunk[4096];
            size_t k;
            while ((k = fread(chunk, 1, sizeof chunk, p)) > 0)
                fwrite(chunk, 1, k, g);
            assert_int_equal(pclose(p), 0);
            assert_int_equal(fclose(g), 0);
            if (got_len != len || memcmp(got, buf, len))
                fail_msg("report --format %s differs from its table line", report_formats[i]->name);
            free(got);
            snprintf(cmd, sizeof cmd, "'%s' report --help | grep -q -w -e '%s'", mamori,
                     report_formats[i]->name);
            assert_int_equal(system(cmd), 0);
        }
        char want[32];
        snprintf(want, sizeof want, "%d", FP_COUNT); /* total packets */
        assert_non_null(strstr(buf, want));
        for (int k = 0; k < FP_COUNT; k++)
            if (!strstr(buf, fp_defs[k].name))
                fail_msg("%s lacks %s", report_formats[i]->name, fp_defs[k].name);
        free(buf);
    }
    json_decref(doc);
    store_close(st);
}

/* The stream's alert is the REST list's alert; a live sample carries the
 * names of the tables and ISO 8601 time. */
static void stream_rows(void **state)
{
    (void)state;
    char db[128];
    snprintf(db, sizeof db, "%s/stream.db", dir);
    struct store *st = store_open(db, true);
    assert_non_null(st);
    sqlite3 *h = store_db(st);
    assert_int_equal(
        sqlite3_exec(h,
                     "INSERT INTO intervals(start, end) VALUES (1474329600, 1474329660);"
                     "INSERT INTO alerts(interval_id, kind, proto, port, at, sources,"
                     " baseline) VALUES (1, 'surge', 'tcp', 2323, 1474329600, 420,"
                     " 3.14159)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    struct live_sample v = {.ts_us = (int64_t)T0 * 1000000 + 123456,
                            .lat = 35.68949f,
                            .lon = 139.69171f,
                            .cc = "JP",
                            .has_loc = 1,
                            .proto = IPPROTO_TCP,
                            .cls = CLS_TCP_SYN,
                            .fp = FP_MIRAI,
                            .port = 23};
    v.src = T_IP("10.9.8.7");
    assert_int_equal(store_write_samples(st, &v, 1), 0);

    int64_t after = 0;
    json_t *alerts = store_stream_read(st, STREAM_ALERTS, &after);
    assert_non_null(alerts);
    assert_int_equal(json_array_size(alerts), 1);
    assert_int_equal(after, store_stream_last(st, STREAM_ALERTS));
    struct query_window w = {.from = 0, .to = (int64_t)1 << 40, .top = 10};
    json_t *rest = query_section(st, "alerts", &w);
    assert_non_null(rest);
    assert_true(json_equal(json_array_get(alerts, 0), json_array_get(rest, 0)));
    assert_string_equal(json_string_value(json_object_get(json_array_get(rest, 0), "at")),
                        "2016-09-20T00:00:00Z");

    after = 0;
    json_t *pk = store_stream_read(st, STREAM_SAMPLES, &after), *o = json_array_get(pk, 0);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "t")), "2016-09-20T00:00:00.123456Z");
    assert_string_equal(json_string_value(json_object_get(o, "src")), "10.9.8.7");
    assert_string_equal(json_string_value(json_object_get(o, "class")), "tcp_syn");
    assert_string_equal(json_string_value(json_object_get(o, "fingerprint")),
                        fp_defs[FP_MIRAI].name);
    assert_true(json_real_value(json_object_get(o, "lat")) == 35.6895);
    /* nothing more after the last id */
    json_t *none = store_stream_read(st, STREAM_SAMPLES, &after);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    json_decref(pk);
    json_decref(rest);
    json_decref(alerts);
    store_close(st);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mamori-tables-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fingerprints),   cmocka_unit_test(report_formats_unique),
        cmocka_unit_test(routes_unique),  cmocka_unit_test(fingerprints_reported),
        cmocka_unit_test(formats_render), cmocka_unit_test(stream_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
