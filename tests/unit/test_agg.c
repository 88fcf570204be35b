/* Aggregation: interval rollover on packet time, per-port and per-source
 * accounting, and the store/report round trip with unions across intervals. */
#include "core/err.h"
#include "observe/agg.h"
#include "store/query.h"
#include "store/store.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sink {
    struct interval_rec *r[16];
    int n;
};

static int collect(struct interval_rec *r, void *ctx)
{
    struct sink *s = ctx;
    assert_true(s->n < 16);
    s->r[s->n++] = r;
    return 0;
}

static struct pfx_set darknet;
static struct portset iot;

static size_t max_sources;

static struct agg *new_agg(struct sink *s)
{
    pfx_set_free(&darknet);
    assert_int_equal(pfx_set_parse_list(&darknet, "198.18.0.0/16"), 0);
    portset_iot_default(&iot);
    struct agg_cfg c = {.interval = 60,
                        .event_window = 3600,
                        .darknet = &darknet,
                        .iot = &iot,
                        .sink = collect,
                        .sink_ctx = s,
                        .max_sources = max_sources};
    return agg_new(&c);
}

static void frame(struct agg *a, int64_t sec, const char *src, const char *dst, uint16_t dport,
                  uint8_t flags, uint16_t sport)
{
    uint8_t f[128];
    struct tcp_probe q = {.src = src,
                          .dst = dst,
                          .sport = sport,
                          .dport = dport,
                          .seq = 1,
                          .flags = flags,
                          .win = 1000,
                          .id = 1};
    size_t n = t_tcp_frame(f, &q);
    assert_int_equal(agg_frame(a, DLT_EN10MB, sec * 1000000, f, n, (uint32_t)n), 0);
}

static const struct stat_row *find(const struct interval_rec *r, int kind, uint32_t key)
{
    for (size_t i = 0; i < r->n_rows[kind]; i++)
        if (r->rows[kind][i].key == key) return &r->rows[kind][i];
    return NULL;
}

static void rollover_on_packet_time(void **state)
{
    (void)state;
    struct sink s = {0};
    struct agg *a = new_agg(&s);
    int64_t t = 1474329600; /* a minute boundary */
    frame(a, t + 5, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, t + 59, "1.1.1.2", "198.18.0.2", 23, TCP_SYN, 1000);
    assert_int_equal(s.n, 0);
    frame(a, t + 60, "1.1.1.1", "198.18.0.3", 23, TCP_SYN, 1000); /* next interval */
    assert_int_equal(s.n, 1);
    frame(a, t + 59, "1.1.1.3", "198.18.0.3", 2323, TCP_SYN, 1000); /* reordered: counted */
    frame(a, t + 30, "1.1.1.3", "198.18.0.3", 2323, TCP_SYN, 1000); /* late: apart */
    frame(a, t + 600, "1.1.1.1", "198.18.0.3", 23, TCP_SYN, 1000);  /* gap: no empty intervals */
    frame(a, t + 601, "1.1.1.1", "10.0.0.1", 23, TCP_SYN, 1000);    /* outside */
    assert_int_equal(s.n, 1); /* a jump of 9 minutes waits for confirmation... */
    assert_int_equal(agg_settle(a, (t + 601) * 1000000), 0); /* ...the wall clock gives it */
    assert_int_equal(agg_flush(a, true), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.r[1]->late, 1);
    assert_int_equal(s.r[1]->first_us, (t + 59) * 1000000);
    assert_int_equal(s.r[1]->last_us, (t + 60) * 1000000);
    assert_int_equal(s.r[0]->start, t);
    assert_int_equal(s.r[0]->end, t + 60);
    assert_int_equal(s.r[0]->packets, 2);
    assert_int_equal(sketch_count(&s.r[0]->sources), 2);
    assert_int_equal(s.r[1]->start, t + 60);
    assert_int_equal(s.r[1]->packets, 2);
    assert_int_equal(agg_totals(a)->late, 1);
    assert_int_equal(s.r[2]->start, t + 600);
    assert_int_equal(s.r[2]->packets, 1);
    assert_int_equal(s.r[2]->outside, 1);
    assert_int_equal(s.r[0]->iot_packets, 2);
    for (int i = 0; i < s.n; i++)
        interval_rec_free(s.r[i]);
    agg_free(a);
}

/* A lone frame far ahead moves nothing (bad_time); a real jump, confirmed
 * by AGG_CONFIRM frames, loses nothing; a first frame far ahead of the
 * second is the lone one; times outside 1970..2100 never reach an interval. */
static void clock_lone_frames_and_jumps(void **state)
{
    (void)state;
    struct sink s = {0};
    struct agg *a = new_agg(&s);
    int64_t t = 1474329600, future = t + 20 * 365 * 86400LL;
    frame(a, future, "1.1.1.9", "198.18.0.1", 23, TCP_SYN, 1000); /* first and lone */
    frame(a, t + 1, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, t + 2, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, future, "1.1.1.9", "198.18.0.1", 23, TCP_SYN, 1000); /* lone, in the middle */
    frame(a, t + 3, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    assert_int_equal(agg_frame(a, DLT_EN10MB, -1, (const uint8_t *)"", 0, 0), 0);
    assert_int_equal(agg_frame(a, DLT_EN10MB, PKT_TIME_MAX_US, (const uint8_t *)"", 0, 0), 0);
    assert_int_equal(agg_frame(a, DLT_EN10MB, future * 1000000, NULL, 0, 0), 0); /* held, empty */
    frame(a, t + 4, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    for (int i = 0; i < AGG_CONFIRM; i++) /* an hour later: a gap in the capture */
        frame(a, t + 3600 + i, "1.1.1.2", "198.18.0.1", 23, TCP_SYN, 1000);
    assert_int_equal(agg_flush(a, true), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.r[0]->start, t);
    assert_int_equal(s.r[0]->packets, 4);
    assert_int_equal(s.r[0]->bad_time, 5);
    assert_int_equal(s.r[1]->start, t + 3600);
    assert_int_equal(s.r[1]->packets, AGG_CONFIRM);
    assert_int_equal(agg_totals(a)->bad_time, 5);
    for (int i = 0; i < s.n; i++)
        interval_rec_free(s.r[i]);
    agg_free(a);
}

/* After a gap (the next file, a quiet hour) the first frames are held until
 * the jump is confirmed: a lone frame among them, first or confirming, must
 * not carry the clock 20 years ahead and make every real frame after it late. */
static void clock_lone_frame_after_a_gap(void **state)
{
    (void)state;
    int64_t t = 1474329600, future = t + 20 * 365 * 86400LL;
    for (int where = 0; where <= AGG_CONFIRM; where++) {
        struct sink s = {0};
        struct agg *a = new_agg(&s);
        frame(a, t + 1, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
        frame(a, t + 2, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
        for (int i = 0; i < 3 * AGG_CONFIRM; i++) {
            if (i == where) frame(a, future, "1.1.1.9", "198.18.0.1", 23, TCP_SYN, 1000);
            frame(a, t + 3600 + i, "1.1.1.2", "198.18.0.1", 23, TCP_SYN, 1000);
        }
        assert_int_equal(agg_flush(a, true), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.r[1]->start, t + 3600);
        assert_int_equal(s.r[1]->packets, 3 * AGG_CONFIRM);
        assert_int_equal(agg_totals(a)->late, 0);
        assert_int_equal(agg_totals(a)->bad_time, 1);
        for (int i = 0; i < s.n; i++)
            interval_rec_free(s.r[i]);
        agg_free(a);
    }
}

/* A live capture whose clock is behind what the database holds: every frame
 * older than the floor is late, and the final flush still writes them in a
 * row (the contract's totals.late), though no interval ever opened. */
static void floor_makes_older_frames_late(void **state)
{
    (void)state;
    struct sink s = {0};
    struct agg *a = new_agg(&s);
    int64_t t = 1474329600;
    agg_set_floor(a, (t + 100) * 1000000);
    for (int i = 0; i < 5; i++)
        frame(a, t + 1 + i, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, t + 99, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000); /* inside the tolerance */
    assert_int_equal(agg_flush(a, true), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0]->late, 5);
    assert_int_equal(s.r[0]->packets, 1);
    assert_int_equal(agg_totals(a)->late, 5);
    interval_rec_free(s.r[0]);
    agg_free(a);
    s = (struct sink){0};
    a = new_agg(&s);
    agg_set_floor(a, (t + 100) * 1000000);
    frame(a, t + 1, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    assert_int_equal(agg_settle(a, (t + 200) * 1000000), 0); /* as observe does at the end */
    assert_int_equal(agg_flush(a, true), 0);
    assert_int_equal(s.n, 1); /* nothing taken, yet the late frame is in a row */
    assert_int_equal(s.r[0]->late, 1);
    assert_int_equal(s.r[0]->start, t + 60);
    interval_rec_free(s.r[0]);
    agg_free(a);
}

static void ports_sources_and_backscatter(void **state)
{
    (void)state;
    struct sink s = {0};
    struct agg *a = new_agg(&s);
    int64_t t = 1474329600;
    frame(a, t, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, t, "1.1.1.1", "198.18.0.2", 23, TCP_SYN, 1000);
    frame(a, t, "1.1.1.2", "198.18.0.2", 23, TCP_SYN, 1000);
    frame(a, t, "1.1.1.2", "198.18.0.2", 80, TCP_ACK, 1000);             /* other, port 80 */
    frame(a, t, "9.9.9.9", "198.18.0.9", 40000, TCP_SYN | TCP_ACK, 443); /* backscatter */
    assert_int_equal(agg_flush(a, true), 0);
    const struct interval_rec *r = s.r[0];
    const struct stat_row *p23 = find(r, ROW_PORT, 23), *p80 = find(r, ROW_PORT, 80);
    assert_non_null(p23);
    assert_int_equal(p23->packets, 3);
    assert_int_equal(sketch_count(&p23->src), 2);
    assert_int_equal(sketch_count(&p23->dst), 2);
    assert_non_null(p80);
    assert_null(find(r, ROW_PORT, 40000)); /* backscatter is not a destination port */
    const struct stat_row *bs = find(r, ROW_BACKSCATTER_PORT, 443);
    assert_non_null(bs);
    assert_int_equal(bs->packets, 1);
    assert_int_equal(r->cls[CLS_TCP_SYN], 3);
    assert_int_equal(r->cls[CLS_OTHER], 1);
    assert_int_equal(r->cls[CLS_BACKSCATTER], 1);
    assert_int_equal(r->n_events, 3); /* per-source events of the closing window */
    interval_rec_free(s.r[0]);
    agg_free(a);
}

/* Two shards' records of an interval, joined, hold exactly what one
 * aggregator's record holds — packets, bytes and distinct sources and
 * destinations per port — and the port rows come in key order (protocol,
 * then port) either way, so the result does not depend on --threads. */
static void shards_join_like_one(void **state)
{
    (void)state;
    struct sink one = {0}, part[2];
    memset(part, 0, sizeof part);
    struct agg *a = new_agg(&one), *sh[2];
    for (unsigned i = 0; i < 2; i++) {
        struct agg_cfg c = {.interval = 60, .event_window = 3600, .darknet = &darknet, .iot = &iot,
                            .sink = collect, .sink_ctx = &part[i], .shard = i, .n_shards = 2};
        assert_non_null(sh[i] = agg_new(&c));
    }
    int64_t t = 1474329600;
    const uint16_t ports[] = {8080, 23, 2323, 443, 23, 65000, 1, 80, 23, 7547};
    for (int k = 0; k < 200; k++) {
        char src[32], dst[32];
        snprintf(src, sizeof src, "10.%d.%d.%d", k % 7, k % 13, k % 31);
        snprintf(dst, sizeof dst, "198.18.%d.%d", k % 3, k % 5);
        struct agg *all[3] = {a, sh[0], sh[1]};
        for (int x = 0; x < 3; x++)
            frame(all[x], t + k / 10, src, dst, ports[k % 10], TCP_SYN, 1000);
    }
    assert_int_equal(agg_flush(a, true), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(agg_flush(sh[i], true), 0);
    assert_int_equal(part[0].n, 1);
    assert_int_equal(part[1].n, 1);
    assert_true(part[0].r[0]->packets > 0 && part[1].r[0]->packets > 0); /* both shards counted */
    struct interval_rec *parts[2] = {part[0].r[0], part[1].r[0]};
    assert_int_equal(agg_merge(parts, 2), 0);
    const struct interval_rec *j = parts[0], *r = one.r[0];
    assert_int_equal(j->packets, r->packets);
    assert_int_equal(j->n_rows[ROW_PORT], r->n_rows[ROW_PORT]);
    for (size_t i = 0; i < j->n_rows[ROW_PORT]; i++) {
        const struct stat_row *x = &j->rows[ROW_PORT][i], *y = &r->rows[ROW_PORT][i];
        assert_int_equal(x->key, y->key); /* the same order */
        if (i) assert_true(j->rows[ROW_PORT][i - 1].key < x->key);
        assert_int_equal(x->packets, y->packets);
        assert_int_equal(x->bytes, y->bytes);
        assert_int_equal(sketch_count(&x->src), sketch_count(&y->src));
        assert_int_equal(sketch_count(&x->dst), sketch_count(&y->dst));
    }
    interval_rec_free(parts[0]);
    interval_rec_free(one.r[0]);
    agg_free(a);
    agg_free(sh[0]);
    agg_free(sh[1]);
}

static void store_report_unions_intervals(void **state)
{
    (void)state;
    char path[] = "/tmp/mamori-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    struct sink s = {0};
    struct agg *a = new_agg(&s);
    int64_t t = 1474329600;
    frame(a, t, "1.1.1.1", "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, t, "1.1.1.2", "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, t + 60, "1.1.1.2", "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, t + 60, "1.1.1.3", "198.18.0.1", 23, TCP_SYN, 1000);
    assert_int_equal(agg_flush(a, true), 0);
    struct store *st = store_open(path, true);
    assert_non_null(st);
    for (int i = 0; i < s.n; i++) {
        assert_int_equal(store_write_interval(st, s.r[i]), 0);
        interval_rec_free(s.r[i]);
    }
    store_close(st);
    st = store_open(path, false);
    assert_non_null(st);
    struct query_window w = {.from = 0, .to = (int64_t)1 << 40, .top = 0};
    json_t *doc = query_summary(st, &w);
    assert_non_null(doc);
    json_t *tot = json_object_get(doc, "totals");
    assert_int_equal(json_integer_value(json_object_get(tot, "packets")), 4);
    assert_int_equal(json_integer_value(json_object_get(tot, "sources")), 3); /* not 2 + 2 */
    json_t *port = json_array_get(json_object_get(doc, "ports"), 0);
    assert_int_equal(json_integer_value(json_object_get(port, "sources")), 3);
    assert_int_equal(json_integer_value(json_object_get(port, "port")), 23);
    w.from = t + 60; /* the second interval alone */
    json_decref(doc);
    doc = query_summary(st, &w);
    tot = json_object_get(doc, "totals");
    assert_int_equal(json_integer_value(json_object_get(tot, "packets")), 2);
    json_decref(doc);
    store_close(st);
    assert_null(store_open("/nonexistent-dir/x/y.db", false));
    assert_non_null(strstr(err_msg(), "/nonexistent-dir/x/y.db"));
    unlink(path);
    agg_free(a);
}

static void bounded_sources(void **state)
{
    (void)state;
    struct sink s = {0};
    max_sources = 3;
    struct agg *a = new_agg(&s);
    max_sources = 0;
    int64_t t = 1474329600;
    const char *src[] = {"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"};
    for (int i = 0; i < 5; i++)
        frame(a, t, src[i], "198.18.0.1", 23, TCP_SYN, 1000);
    frame(a, t + 1, "1.1.1.1", "198.18.0.2", 23, TCP_SYN, 1000); /* tracked sources still count */
    frame(a, t + 60, "1.1.1.9", "198.18.0.2", 23, TCP_SYN, 1000);
    assert_int_equal(agg_flush(a, true), 0);
    assert_int_equal(s.n, 2);
    const struct interval_rec *r = s.r[0];
    assert_int_equal(r->packets, 6);
    assert_int_equal(sketch_count(&r->sources), 5); /* the overflow is still counted */
    const struct stat_row *p23 = find(r, ROW_PORT, 23);
    assert_int_equal(p23->packets, 6);
    assert_int_equal(sketch_count(&p23->src), 5);
    assert_int_equal(r->rows[ROW_FINGERPRINT][0].packets, 6);
    assert_int_equal(r->n_events, 3); /* the event window closed early, with 3 sources */
    assert_int_equal(s.r[1]->n_events, 1);
    assert_int_equal(agg_totals(a)->untracked, 2);
    for (int i = 0; i < s.n; i++)
        interval_rec_free(s.r[i]);
    agg_free(a);
}

static void top_sources_of_interval(void **state)
{
    (void)state;
    struct sink s = {0};
    struct agg *a = new_agg(&s);
    int64_t t = 1474329600;
    char ip[32];
    for (int i = 1; i <= 150; i++) { /* source i sends (i * 7 % 150) + 1 packets: all distinct */
        snprintf(ip, sizeof ip, "1.1.%d.%d", i / 100, i % 100);
        for (int k = 0; k < i * 7 % 150 + 1; k++)
            frame(a, t, ip, "198.18.0.1", 23, TCP_SYN, 1000);
    }
    assert_int_equal(agg_flush(a, true), 0);
    const struct interval_rec *r = s.r[0];
    assert_int_equal(r->n_srcs, RECORD_TOP_SOURCES);
    assert_int_equal(r->srcs[0].packets, 150);
    for (size_t i = 1; i < r->n_srcs; i++)
        assert_int_equal(r->srcs[i].packets, 150 - i);
    interval_rec_free(s.r[0]);
    agg_free(a);
}

/* The source table grows (from 1024 entries) while an interval counts
 * thousands of sources: each source keeps its one row of the interval across
 * the moves, and the window's row adds up both intervals. */
static void table_grows_mid_interval(void **state)
{
    (void)state;
    struct sink s = {0};
    struct agg *a = new_agg(&s);
    int64_t t = 1474329600;
    enum { N = 3000 };
    char ip[32];
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N; i++) {
            snprintf(ip, sizeof ip, "10.%d.%d.1", i / 256, i % 256);
            for (int k = 0; k < (pass ? i % 3 + 1 : 1); k++)
                frame(a, t + 1 + pass, ip, "198.18.0.1", pass ? 80 : 23, TCP_SYN, 1000);
        }
    for (int i = 0; i < N; i++) { /* the next interval: once more each */
        snprintf(ip, sizeof ip, "10.%d.%d.1", i / 256, i % 256);
        frame(a, t + 61, ip, "198.18.0.2", 23, TCP_SYN, 1000);
    }
    assert_int_equal(agg_flush(a, true), 0);
    assert_int_equal(s.n, 2);
    uint64_t est = sketch_count(&s.r[0]->sources); /* HyperLogLog past its exact size */
    assert_true(est > N - N / 50 && est < N + N / 50);
    assert_int_equal(s.r[0]->srcs[0].packets, 4); /* 1 + 3 */
    assert_int_equal(s.r[1]->n_events, N);
    uint64_t seen = 0;
    for (size_t e = 0; e < s.r[1]->n_events; e++) {
        const struct src_row *r = &s.r[1]->events[e];
        uint32_t v4 = ip_v4(&r->ip);
        int i = (int)(v4 >> 16 & 255) * 256 + (int)(v4 >> 8 & 255);
        assert_true(i < N);
        assert_int_equal(r->packets, 1 + (i % 3 + 1) + 1);
        assert_int_equal(r->nports, 2);
        assert_int_equal(r->ports[0], 23);
        assert_int_equal(r->ports[1], 80);
        assert_int_equal(r->first_us, (t + 1) * 1000000);
        assert_int_equal(r->last_us, (t + 61) * 1000000);
        seen++;
    }
    assert_int_equal(seen, N);
    for (int i = 0; i < s.n; i++)
        interval_rec_free(s.r[i]);
    agg_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rollover_on_packet_time),
        cmocka_unit_test(clock_lone_frames_and_jumps),
        cmocka_unit_test(clock_lone_frame_after_a_gap),
        cmocka_unit_test(floor_makes_older_frames_late),
        cmocka_unit_test(ports_sources_and_backscatter),
        cmocka_unit_test(store_report_unions_intervals),
        cmocka_unit_test(bounded_sources),
        cmocka_unit_test(top_sources_of_interval),
        cmocka_unit_test(table_grows_mid_interval),
        cmocka_unit_test(shards_join_like_one),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pfx_set_free(&darknet);
    return rc;
}
