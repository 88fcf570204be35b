/* Per-source events that reach the writer as sorted runs (each aggregator
 * shard sorts its own share, the shards' shares are put one after another)
 * are stored exactly as one unsorted window is: the same blocks, byte for
 * byte.  ev_sort leaves what ev_order's gather gives, addresses that occur
 * twice included (stable), and ev_runs finds the runs. */
#include "store/events.h"
#include "store/evpack.h"
#include "store/migrate.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

enum { N = 200000 };

/* IPv4, IPv6 below and above ::ffff:0:0/96, and addresses twice. */
static struct src_row *make_rows(void)
{
    struct src_row *r = calloc(N, sizeof *r);
    uint64_t x = 11;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t b[16] = {0};
        if (i % 97 == 0) {
            b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8;
            memcpy(b + 8, &x, 8);
            ip_from_v6(&r[i].ip, b);
        } else if (i % 89 == 0) { /* ::a.b.c.d-like: below the mapped range */
            memcpy(b + 12, &x, 4);
            ip_from_v6(&r[i].ip, b);
        } else if (i % 500 == 3) {
            r[i].ip = r[i - 1].ip;
        } else {
            ip_from_v4(&r[i].ip, (uint32_t)(x >> 20)); /* 2^12 /20s: many neighbours */
        }
        r[i].first_us = 60000000 + (int64_t)i;
        r[i].last_us = r[i].first_us + 7;
        r[i].packets = i + 1;
        r[i].bytes = 40 * (i + 1);
        r[i].ports[0] = (uint16_t)(i * 7);
        r[i].nports = 1;
        r[i].asn = (uint32_t)(i % 50);
    }
    return r;
}

static sqlite3 *store_window(const struct src_row *rows, size_t n)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(store_migrate(db, ":memory:"), 0);
    struct ev_writer w;
    assert_int_equal(ev_writer_init(&w, db, ":memory:"), 0);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(ev_write_window(&w, 60, 3660, rows, n), 0);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    ev_writer_free(&w);
    return db;
}

/* Every block of a and b alike, in id order; returns how many. */
static int same_blocks(sqlite3 *a, sqlite3 *b)
{
    const char *sql = "SELECT window_start, window_end, n, ip_lo, ip_hi, records FROM event_blocks"
                      " ORDER BY id";
    sqlite3_stmt *x, *y;
    assert_int_equal(sqlite3_prepare_v2(a, sql, -1, &x, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(b, sql, -1, &y, NULL), SQLITE_OK);
    int blocks = 0;
    for (;;) {
        int sx = sqlite3_step(x), sy = sqlite3_step(y);
        assert_int_equal(sx, sy);
        if (sx != SQLITE_ROW) break;
        for (int c = 0; c < 6; c++) {
            assert_int_equal(sqlite3_column_bytes(x, c), sqlite3_column_bytes(y, c));
            if (c < 3)
                assert_int_equal(sqlite3_column_int64(x, c), sqlite3_column_int64(y, c));
            else
                assert_memory_equal(sqlite3_column_blob(x, c), sqlite3_column_blob(y, c),
                                    (size_t)sqlite3_column_bytes(x, c));
        }
        blocks++;
    }
    sqlite3_finalize(x);
    sqlite3_finalize(y);
    return blocks;
}

static void sort_is_the_gather(void **state)
{
    (void)state;
    struct src_row *rows = make_rows(), *copy = malloc(N * sizeof *copy);
    memcpy(copy, rows, N * sizeof *copy);
    uint32_t *order = ev_order(rows, N);
    assert_non_null(order);
    assert_false(ev_sorted(rows, N));
    assert_int_equal(ev_sort(copy, N), 0);
    assert_true(ev_sorted(copy, N));
    for (size_t i = 0; i < N; i++)
        assert_memory_equal(&copy[i], &rows[order[i]], sizeof *copy);
    size_t starts[8];
    assert_int_equal(ev_runs(copy, N, starts, 8), 1);
    assert_int_equal(ev_runs(rows, N, starts, 8), 9); /* unsorted: more than max */
    free(order);
    free(copy);
    free(rows);
}

static void runs_store_as_one_window(void **state)
{
    (void)state;
    struct src_row *rows = make_rows(), *runs = malloc(N * sizeof *runs);
    /* two "shards" by address hash (an address twice goes to one of them),
     * each sorted, one after the other */
    size_t n0 = 0;
    for (int part = 0; part < 2; part++) {
        size_t from = n0;
        for (size_t i = 0; i < N; i++)
            if ((int)(ip_hash(&rows[i].ip, 1) & 1) == part) runs[n0++] = rows[i];
        assert_int_equal(ev_sort(runs + from, n0 - from), 0);
        if (part == 0) assert_true(n0 > N / 3 && n0 < 2 * N / 3);
    }
    assert_int_equal(n0, N);
    size_t starts[8];
    assert_int_equal(ev_runs(runs, N, starts, 8), 2);
    sqlite3 *a = store_window(rows, N), *b = store_window(runs, N);
    assert_int_equal(same_blocks(a, b), (N + EV_BLOCK_RECORDS - 1) / EV_BLOCK_RECORDS);
    /* and one sorted run (a single aggregator) */
    assert_int_equal(ev_sort(runs, N), 0);
    sqlite3 *c = store_window(runs, N);
    assert_int_equal(same_blocks(a, c), (N + EV_BLOCK_RECORDS - 1) / EV_BLOCK_RECORDS);
    sqlite3_close(a);
    sqlite3_close(b);
    sqlite3_close(c);
    free(runs);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sort_is_the_gather),
        cmocka_unit_test(runs_store_as_one_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
