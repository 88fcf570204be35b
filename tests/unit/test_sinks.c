/* The sink registry and the fan-out: every registered sink is complete for
 * the kinds it declares and parses NAME[:ARG]; a sink that fails surfaces its
 * error through the writer while the other sinks still receive every record
 * already accepted; a set that is not sticky (lure) tries a failed sink
 * again; a copied record owns its labels. */
#include "core/err.h"
#include "store/sink.h"
#include "store/store.h"
#include "store/writer.h"
#include "testutil.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- registry ---- */

static void registry_complete(void **st)
{
    (void)st;
    size_t n = 0;
    for (; sink_registry[n]; n++) {
        const struct sink_ops *o = sink_registry[n];
        assert_non_null(o->name);
        assert_non_null(o->help);
        assert_non_null(o->open);
        assert_non_null(o->close);
        assert_true(o->kinds && !(o->kinds & ~SINK_ALL_KINDS));
        /* a kind it takes has the call that takes it */
        if (o->kinds & (SINK_INTERVALS | SINK_EVENTS)) assert_non_null(o->put_intervals);
        if (o->kinds & SINK_SAMPLES) assert_non_null(o->put_samples);
        if (o->kinds & SINK_SESSIONS) assert_non_null(o->put_session);
        if (o->kinds & SINK_INDICATORS) assert_non_null(o->put_indicator);
        assert_ptr_equal(sink_find(o->name), o); /* names are unique */
    }
    assert_true(n >= 2);
    assert_non_null(sink_find("sqlite")); /* the default */
    assert_non_null(sink_find("jsonl"));
    assert_null(sink_find("nope"));
}

static void parse_specs(void **st)
{
    (void)st;
    const struct sink_ops *ops;
    char arg[64];
    assert_int_equal(sink_parse("jsonl:/tmp/a:b.jsonl", &ops, arg, sizeof arg), 0);
    assert_string_equal(ops->name, "jsonl");
    assert_string_equal(arg, "/tmp/a:b.jsonl"); /* only the first colon splits */
    assert_int_equal(sink_parse("sqlite", &ops, arg, sizeof arg), 0);
    assert_string_equal(arg, "");
    const char *bad[] = {"", ":x", "nope", "nope:x", "jsonlx:-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sink_parse(bad[i], &ops, arg, sizeof arg), -EINVAL);
        assert_null(strchr(err_msg(), '\n'));
        assert_non_null(strstr(err_msg(), "--sink"));
    }
    char longarg[100];
    memset(longarg, 'a', sizeof longarg);
    memcpy(longarg, "jsonl:", 6);
    longarg[sizeof longarg - 1] = 0;
    assert_int_equal(sink_parse(longarg, &ops, arg, sizeof arg), -EINVAL);
}

/* ---- a sink that fails, and one that counts ---- */

struct probe {
    int fail_at; /* the call (1-based) that fails; 0: never */
    int calls;   /* put calls received */
    size_t intervals, sessions;
    int64_t last_start;
};

static int probe_open(const char *arg, const struct sink_env *env, void **state)
{
    (void)env;
    struct probe *p = calloc(1, sizeof *p);
    if (!p) return -ENOMEM;
    p->fail_at = arg ? atoi(arg) : 0;
    *state = p;
    return 0;
}

static int probe_intervals(void *state, struct interval_rec *const *r, size_t n)
{
    struct probe *p = state;
    if (++p->calls == p->fail_at) return err_set(-ENOSPC, "probe: disk full at call %d", p->calls);
    for (size_t i = 0; i < n; i++) {
        assert_true(r[i]->start > p->last_start); /* in order */
        p->last_start = r[i]->start;
    }
    p->intervals += n;
    return 0;
}

static int probe_session(void *state, const struct session_rec *r)
{
    struct probe *p = state;
    (void)r;
    if (++p->calls == p->fail_at) return err_set(-EIO, "probe: busy");
    p->sessions++;
    return 0;
}

static int probe_close(void *state)
{
    (void)state; /* the test reads it afterwards and frees it */
    return 0;
}

static const struct sink_ops probe_ops = {
    .name = "probe",
    .help = "test",
    .kinds = SINK_INTERVALS | SINK_EVENTS | SINK_SESSIONS,
    .open = probe_open,
    .put_intervals = probe_intervals,
    .put_session = probe_session,
    .close = probe_close,
};

/* The probe instance the set opened last (its state is the test's to free). */
static struct probe *last_probe;

static int probe_open_keep(const char *arg, const struct sink_env *env, void **state)
{
    int rc = probe_open(arg, env, state);
    if (rc == 0) last_probe = *state;
    return rc;
}

static struct sink_ops probe_kept(void)
{
    struct sink_ops o = probe_ops;
    o.open = probe_open_keep;
    return o;
}

/* A closed interval with one port row (a sketch and a borrowed label elsewhere). */
static struct interval_rec *interval(int64_t start)
{
    struct interval_rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->start = start;
    r->end = start + 60;
    r->packets = (uint64_t)start % 1000 + 1;
    r->first_us = r->last_us = -1;
    sketch_init(&r->sources);
    assert_int_equal(sketch_add(&r->sources, (uint64_t)start * 7919), 0);
    r->rows[ROW_PORT] = calloc(1, sizeof *r->rows[ROW_PORT]);
    r->n_rows[ROW_PORT] = 1;
    r->rows[ROW_PORT][0] = (struct stat_row){.proto = 6, .key = 23, .packets = r->packets};
    sketch_init(&r->rows[ROW_PORT][0].src);
    sketch_init(&r->rows[ROW_PORT][0].dst);
    assert_int_equal(sketch_add(&r->rows[ROW_PORT][0].src, 42), 0);
    return r;
}

static int64_t db_count(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static size_t file_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[65536];
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

#define N_IV 8

/* The probe fails at its second batch: writer_close returns its error with
 * its message, the probe takes nothing after it, and SQLite and JSON lines
 * (before and after it in the set) hold all eight intervals accepted. */
static void failing_sink(void **st)
{
    (void)st;
    char dir[] = "/tmp/mamori-sinks-XXXXXX", db[64], jl[64], spec[80];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/a.db", dir);
    snprintf(jl, sizeof jl, "%s/a.jsonl", dir);
    snprintf(spec, sizeof spec, "jsonl:%s", jl);
    struct store *s = store_open(db, true);
    assert_non_null(s);
    struct sink_env env = {.store = s};
    struct sinks *set = sinks_new(true);
    struct sink_ops ops = probe_kept();
    assert_int_equal(sinks_add(set, "sqlite", &env), 0);
    assert_int_equal(sinks_add_ops(set, &ops, "2", &env), 0);
    struct probe *p = last_probe;
    assert_int_equal(sinks_add(set, spec, &env), 0);
    assert_int_equal(sinks_count(set), 3);
    struct writer *w = writer_start(set);
    assert_non_null(w);
    int first_err = 0;
    for (int i = 0; i < N_IV; i++) {
        int rc = writer_put(w, interval(1474329600 + 60 * i)); /* taken even when it fails */
        if (rc < 0 && !first_err) first_err = rc;
    }
    assert_int_equal(writer_close(w), -ENOSPC);
    assert_non_null(strstr(err_msg(), "probe: disk full at call 2"));
    assert_true(first_err == 0 || first_err == -ENOSPC);
    assert_int_equal(p->calls, 2); /* nothing after its failure */
    assert_int_equal(sinks_close(set), -ENOSPC); /* a sticky set keeps saying it */
    store_close(s);
    assert_int_equal(db_count(db, "SELECT count(*) FROM intervals"), N_IV);
    assert_int_equal(db_count(db, "SELECT count(*) FROM interval_stats"), N_IV); /* the rows */
    assert_int_equal(file_lines(jl, "{\"kind\":\"interval\""), N_IV);
    assert_int_equal(file_lines(jl, "{\"kind\":\"port\""), N_IV);
    free(p);
    unlink(db);
    char more[80];
    snprintf(more, sizeof more, "%s-wal", db);
    unlink(more);
    snprintf(more, sizeof more, "%s-shm", db);
    unlink(more);
    unlink(jl);
    rmdir(dir);
}

/* Not sticky (lure): the failed record is reported, the next one reaches the
 * same sink again, and the other sink gets every record. */
static void not_sticky(void **st)
{
    (void)st;
    struct sinks *set = sinks_new(false);
    struct sink_ops ops = probe_kept();
    assert_int_equal(sinks_add_ops(set, &ops, "2", NULL), 0);
    struct probe *a = last_probe;
    assert_int_equal(sinks_add_ops(set, &ops, NULL, NULL), 0);
    struct probe *b = last_probe;
    assert_ptr_not_equal(a, b); /* each instance its own state */
    struct session_rec r = {.step = SESSION_OPEN, .session = "s1", .size = -1};
    struct indicator_rec ind = {.type = "url", .value = "http://x", .source = "lure"};
    assert_int_equal(sinks_put_session(set, &r), 0);
    assert_int_equal(sinks_put_session(set, &r), -EIO);
    assert_string_equal(err_msg(), "probe: busy");
    assert_int_equal(sinks_put_session(set, &r), 0);
    assert_int_equal(sinks_put_indicator(set, &ind), 0); /* a kind neither takes */
    assert_int_equal(a->sessions, 2);
    assert_int_equal(b->sessions, 3);
    assert_int_equal(sinks_kinds(set), probe_ops.kinds);
    assert_int_equal(sinks_close(set), 0);
    free(a);
    free(b);
}

/* A copy owns everything: labels and sketches survive the original and the
 * buffer the labels were borrowed from, and encode to the same bytes. */
static void dup_owns_labels(void **st)
{
    (void)st;
    struct interval_rec *r = interval(1474329600);
    char *geo_names = strdup("AS-EXAMPLE Example Networks");
    r->rows[ROW_ASN] = calloc(1, sizeof *r->rows[ROW_ASN]);
    r->n_rows[ROW_ASN] = 1;
    r->rows[ROW_ASN][0] = (struct stat_row){.key = 64500, .label = geo_names};
    sketch_init(&r->rows[ROW_ASN][0].src);
    sketch_init(&r->rows[ROW_ASN][0].dst);
    r->events = calloc(2, sizeof *r->events);
    r->n_events = 2;
    r->events[0].as_name = geo_names;
    r->events[1].as_name = NULL;
    for (int i = 0; i < 200; i++) /* past the exact set: a HyperLogLog */
        assert_int_equal(sketch_add(&r->sources, (uint64_t)i * 0x9E3779B97F4A7C15ull), 0);
    uint8_t *a, *b;
    size_t na, nb;
    assert_int_equal(sketch_encode(&r->sources, &a, &na), 0);
    struct interval_rec *d = interval_rec_dup(r);
    assert_non_null(d);
    interval_rec_free(r);
    memset(geo_names, 'x', strlen(geo_names));
    free(geo_names);
    assert_string_equal(d->rows[ROW_ASN][0].label, "AS-EXAMPLE Example Networks");
    assert_string_equal(d->events[0].as_name, "AS-EXAMPLE Example Networks");
    assert_null(d->events[1].as_name);
    assert_int_equal(d->rows[ROW_PORT][0].key, 23);
    assert_int_equal(sketch_count(&d->rows[ROW_PORT][0].src), 1);
    assert_int_equal(sketch_encode(&d->sources, &b, &nb), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    interval_rec_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_complete), cmocka_unit_test(parse_specs),
        cmocka_unit_test(failing_sink),      cmocka_unit_test(not_sticky),
        cmocka_unit_test(dup_owns_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
