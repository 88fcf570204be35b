/* ckpt: checkpoints on their own thread keep the WAL bounded, and the file
 * is whole after the close.  Commits pass SQLite's 1000-page threshold; with
 * the automatic checkpoint turned off, only the thread can copy them into the
 * database file, which the test watches grow (a bounded poll).  After
 * ckpt_stop and the close, the database file alone (copied without its WAL,
 * as a user copies a database) holds every row. */
#include <setjmp.h> /* cmocka.h needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/ckpt.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROWS 48
#define ROW_BYTES (256 * 1024) /* 64 pages of 4 KiB: 16 commits pass 1000 pages */

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long count_rows(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long n = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE length(x) = ?1", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int(st, 1, ROW_BYTES);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_background_checkpoints(void **state)
{
    (void)state;
    char dir[] = "/tmp/mamori-ckpt-XXXXXX", path[128], wal[160], copy[160];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/c.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(copy, sizeof copy, "%s/copy.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;"
                                  " PRAGMA synchronous=NORMAL; CREATE TABLE t(x BLOB)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    struct ckpt *c = ckpt_start(db, path);
    assert_non_null(c);
    sqlite3_stmt *ins;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t VALUES(zeroblob(?1))", -1, &ins, NULL),
                     SQLITE_OK);
    for (int i = 0; i < ROWS; i++) {
        sqlite3_bind_int(ins, 1, ROW_BYTES);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
        assert_int_equal(count_rows(path), i + 1); /* readers see every commit */
    }
    sqlite3_finalize(ins);
    /* the thread copies what the commits left in the WAL into the file */
    long long want = (long long)(ROWS - 16) * ROW_BYTES;
    double deadline = now() + 30;
    while (file_size(path) < want && now() < deadline)
        usleep(10000);
    assert_true(file_size(path) >= want);
    ckpt_stop(c);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_true(file_size(wal) <= 0); /* gone (or empty): the file alone is the database */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, copy);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(count_rows(copy), ROWS);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_background_checkpoints)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
