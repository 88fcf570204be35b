/* The surge baselines as one blob: a round trip keeps every field bit for
 * bit, a damaged blob is refused whole, each interval length keeps its own
 * baselines in the store, and a schema-6 database's rows (surge_state)
 * migrate to the blob of every interval length its meta named. */
#include "core/err.h"
#include "store/baselines.h"
#include "store/store.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct baselines sample(size_t n, int64_t intervals)
{
    struct baselines b = {.intervals = intervals, .n = n, .rows = calloc(n ? n : 1, sizeof *b.rows)};
    assert_non_null(b.rows);
    for (size_t i = 0; i < n; i++)
        b.rows[i] = (struct baseline_row){.proto = i % 2 ? 17 : 6,
                                          .port = (uint16_t)(i * 7919),
                                          .alerted = (uint8_t)(i % 3 == 0),
                                          .n = (uint32_t)(i * 1000003u),
                                          .mean = (double)i / 3.0 + 0.1,
                                          .var = i == 5 ? INFINITY : (double)i * 1e-9,
                                          .last_idx = (int64_t)i * -123456789};
    return b;
}

static void same(const struct baselines *a, const struct baselines *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct baseline_row *x = &a->rows[i], *y = &b->rows[i];
        assert_int_equal(x->proto, y->proto);
        assert_int_equal(x->port, y->port);
        assert_int_equal(x->alerted, y->alerted);
        assert_int_equal(x->n, y->n);
        assert_memory_equal(&x->mean, &y->mean, sizeof x->mean); /* bit for bit */
        assert_memory_equal(&x->var, &y->var, sizeof x->var);
        assert_true(x->last_idx == y->last_idx);
    }
}

static void round_trip_and_refusals(void **state)
{
    (void)state;
    struct baselines b = sample(1000, 42), d = {0};
    uint8_t *blob;
    size_t len;
    assert_int_equal(baselines_encode(&b, &blob, &len), 0);
    assert_int_equal(len, BASELINES_HEAD + 1000 * BASELINES_ROW);
    assert_int_equal(baselines_decode(blob, len, &d), 0);
    same(&b, &d);
    baselines_free(&d);
    /* damaged: every length but the right one, the magic, the version */
    for (size_t cut = 0; cut < len; cut += 97) {
        assert_int_equal(baselines_decode(blob, cut, &d), -EINVAL);
        assert_null(d.rows);
    }
    blob[0] = 'X';
    assert_int_equal(baselines_decode(blob, len, &d), -EINVAL);
    blob[0] = 'M';
    blob[3] = 2;
    assert_int_equal(baselines_decode(blob, len, &d), -EINVAL);
    blob[3] = 1;
    blob[4]++; /* one row more than the bytes hold */
    assert_int_equal(baselines_decode(blob, len, &d), -EINVAL);
    free(blob);
    struct baselines none = {0};
    assert_int_equal(baselines_encode(&none, &blob, &len), 0);
    assert_int_equal(baselines_decode(blob, len, &d), 0);
    assert_int_equal(d.n, 0);
    free(blob);
    baselines_free(&b);
}

static char *tmpdb(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/mamori-test-baselines-%d.db", (int)getpid());
    unlink(path);
    return path;
}

static void cleanup(const char *path)
{
    char p[80];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static void per_interval_length(void **state)
{
    (void)state;
    char *path = tmpdb();
    struct store *s = store_open(path, true);
    assert_non_null(s);
    struct baselines a = sample(300, 10), b = sample(7, 99), got;
    assert_int_equal(store_load_baselines(s, 60, &got), 0); /* none yet */
    assert_int_equal(store_save_baselines(s, 60, &a), 0);
    assert_int_equal(store_save_baselines(s, 300, &b), 0);
    assert_int_equal(store_load_baselines(s, 60, &got), 1);
    assert_int_equal(got.intervals, 10);
    same(&a, &got);
    baselines_free(&got);
    assert_int_equal(store_load_baselines(s, 300, &got), 1); /* its own, not the last saved */
    assert_int_equal(got.intervals, 99);
    same(&b, &got);
    baselines_free(&got);
    assert_int_equal(store_save_baselines(s, 60, &b), 0); /* replaced */
    assert_int_equal(store_load_baselines(s, 60, &got), 1);
    same(&b, &got);
    baselines_free(&got);
    store_close(s);
    /* a damaged blob: one line naming the database, not a crash */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE surge_baselines SET state = x'4d534201ff'", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_non_null(s = store_open(path, true));
    assert_int_equal(store_load_baselines(s, 60, &got), -EINVAL);
    assert_non_null(strstr(err_msg(), path));
    assert_non_null(strstr(err_msg(), "not a baselines blob (5 bytes)")); /* and why, whole */
    store_close(s);
    baselines_free(&a);
    baselines_free(&b);
    cleanup(path);
}

static void schema_6_rows_migrate(void **state)
{
    (void)state;
    char *path = tmpdb();
    struct store *s = store_open(path, true);
    assert_non_null(s);
    store_close(s);
    sqlite3 *db; /* what schema 6 kept: rows, and the interval lengths in meta */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "DROP TABLE surge_baselines;"
                     "INSERT INTO surge_state VALUES(6, 23, 12.5, 2.25, 40, 41, 1),"
                     " (17, 53, 0.5, 0.0, 39, 40, 0);"
                     "INSERT INTO meta VALUES('surge_intervals_60', '41'),"
                     " ('surge_intervals_300', '9');"
                     "PRAGMA user_version=6",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_non_null(s = store_open(path, true)); /* migrates to 7 */
    struct baselines got;
    const int64_t lengths[2] = {60, 300}, counts[2] = {41, 9};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(store_load_baselines(s, lengths[k], &got), 1);
        assert_int_equal(got.intervals, counts[k]);
        assert_int_equal(got.n, 2);
        assert_int_equal(got.rows[0].proto, 6);
        assert_int_equal(got.rows[0].port, 23);
        assert_true(got.rows[0].mean == 12.5 && got.rows[0].var == 2.25);
        assert_true(got.rows[0].last_idx == 40 && got.rows[0].n == 41 && got.rows[0].alerted == 1);
        assert_int_equal(got.rows[1].proto, 17);
        assert_int_equal(got.rows[1].port, 53);
        baselines_free(&got);
    }
    store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM surge_state),"
                                        " (SELECT count(*) FROM meta WHERE key GLOB 'surge_*'),"
                                        " (SELECT user_version FROM pragma_user_version)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0); /* moved, not copied */
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    assert_int_equal(sqlite3_column_int(st, 2), STORE_SCHEMA);
    sqlite3_finalize(st);
    sqlite3_close(db);
    cleanup(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_and_refusals),
        cmocka_unit_test(per_interval_length),
        cmocka_unit_test(schema_6_rows_migrate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
