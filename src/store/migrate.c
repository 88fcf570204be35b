/* migrate — the schema as an ordered list of steps.
 *
 * migrations[i] takes a database from user_version i to i + 1, as SQL or as a
 * C function (for a step SQL cannot say, such as re-encoding rows), and each
 * step commits in its own transaction together with its user_version: a crash
 * or an error between steps leaves a database of the last whole step, which
 * the next open continues from.  The newest schema is the list's length;
 * STORE_SCHEMA (store.h) is asserted equal to it, so a step is added here and
 * nowhere else — except that macro, the only other place a version is named.
 * The old steps never change: a database of any version replays the same
 * history a fresh one does.  Each step names the tables it needs and fails
 * before it runs when one is missing (a user_version set by hand), so a
 * database is never left half way between two schemas. */
#include "migrate.h"
#include "../core/err.h"
#include "baselines.h"
#include "events.h"
#include "rollup.h"
#include "store.h"
#include "survey.h"
#include "share.h"
#include "taxii.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const schema_v1 =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE intervals(id INTEGER PRIMARY KEY, start INTEGER NOT NULL, end INTEGER NOT NULL,"
    " packets INTEGER, bytes INTEGER, malformed INTEGER, non_ip INTEGER, outside INTEGER,"
    " iot_packets INTEGER, tcp_syn INTEGER, backscatter INTEGER, udp INTEGER,"
    " icmp_request INTEGER, other INTEGER, sources INTEGER);"
    /* sketches live apart so that scans of intervals read small rows */
    "CREATE TABLE interval_sketches(interval_id INTEGER PRIMARY KEY, sources_sketch BLOB);"
    "CREATE INDEX intervals_start ON intervals(start);"
    "CREATE TABLE port_stats(interval_id INTEGER NOT NULL, backscatter INTEGER NOT NULL,"
    " proto TEXT NOT NULL, port INTEGER NOT NULL, packets INTEGER, bytes INTEGER,"
    " sources INTEGER, dests INTEGER, src_sketch BLOB, dst_sketch BLOB);"
    "CREATE INDEX port_stats_interval ON port_stats(interval_id);"
    "CREATE INDEX port_stats_key ON port_stats(proto, port, backscatter, interval_id);"
    "CREATE TABLE fingerprint_stats(interval_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " packets INTEGER, bytes INTEGER, sources INTEGER, src_sketch BLOB);"
    "CREATE INDEX fingerprint_stats_interval ON fingerprint_stats(interval_id);"
    "CREATE TABLE country_stats(interval_id INTEGER NOT NULL, cc TEXT NOT NULL,"
    " packets INTEGER, bytes INTEGER, sources INTEGER, src_sketch BLOB);"
    "CREATE INDEX country_stats_interval ON country_stats(interval_id);"
    "CREATE TABLE asn_stats(interval_id INTEGER NOT NULL, asn INTEGER NOT NULL, name TEXT,"
    " packets INTEGER, bytes INTEGER, sources INTEGER, src_sketch BLOB);"
    "CREATE INDEX asn_stats_interval ON asn_stats(interval_id);"
    "CREATE TABLE top_sources(interval_id INTEGER NOT NULL, ip TEXT NOT NULL, packets INTEGER,"
    " bytes INTEGER, ports TEXT, fingerprints TEXT, cc TEXT, asn INTEGER, lat REAL, lon REAL);"
    "CREATE INDEX top_sources_interval ON top_sources(interval_id);"
    "CREATE TABLE source_events(id INTEGER PRIMARY KEY, window_start INTEGER NOT NULL,"
    " window_end INTEGER NOT NULL, ip TEXT NOT NULL, first_seen_us INTEGER, last_seen_us INTEGER,"
    " packets INTEGER, bytes INTEGER, ports TEXT, fingerprints TEXT, classes TEXT, cc TEXT,"
    " asn INTEGER, lat REAL, lon REAL);"
    "CREATE INDEX source_events_window ON source_events(window_end);"
    "CREATE INDEX source_events_ip ON source_events(ip);"
    "CREATE TABLE alerts(id INTEGER PRIMARY KEY, interval_id INTEGER, kind TEXT, proto TEXT,"
    " port INTEGER, at INTEGER, sources INTEGER, baseline REAL);"
    "CREATE TABLE dos(id INTEGER PRIMARY KEY, interval_id INTEGER, target TEXT, proto TEXT,"
    " packets INTEGER, bytes INTEGER, peak_60s INTEGER, attackers INTEGER, ports INTEGER,"
    " start_us INTEGER, end_us INTEGER);"
    "CREATE TABLE port_rollups(res INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " backscatter INTEGER NOT NULL, proto TEXT NOT NULL, port INTEGER NOT NULL, packets INTEGER,"
    " bytes INTEGER, sources INTEGER, src_sketch BLOB, dst_sketch BLOB);"
    "CREATE INDEX port_rollups_key ON port_rollups(res, proto, port, backscatter, bucket);"
    "CREATE INDEX port_rollups_bucket ON port_rollups(res, bucket);"
    "CREATE TABLE top_rollups(bucket INTEGER NOT NULL, ip TEXT NOT NULL, packets INTEGER,"
    " bytes INTEGER, ports TEXT, fingerprints TEXT, cc TEXT, asn INTEGER, lat REAL, lon REAL);"
    "CREATE INDEX top_rollups_bucket ON top_rollups(bucket);"
    "CREATE TABLE rollup_buckets(res INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " PRIMARY KEY(res, bucket)) WITHOUT ROWID;"
    "CREATE TABLE live_samples(id INTEGER PRIMARY KEY, ts_us INTEGER, src TEXT, lat REAL,"
    " lon REAL, cc TEXT, proto TEXT, port INTEGER, class TEXT, fingerprint TEXT);"
    "CREATE TABLE surge_state(proto INTEGER, port INTEGER, mean REAL, var REAL,"
    " last_idx INTEGER, n INTEGER, alerted INTEGER, PRIMARY KEY(proto, port));";

/* v2: the honeypot (lure).  Sessions, their logins, commands and downloads
 * as Cowrie reports them, and indicators extracted from all of them with
 * first/last seen and counts (the feed `share` will publish). */
static const char *const schema_v2 =
    "CREATE TABLE lure_sessions(session TEXT PRIMARY KEY, sensor TEXT, persona TEXT,"
    " protocol TEXT, src_ip TEXT, src_port INTEGER, dst_ip TEXT, dst_port INTEGER,"
    " start_us INTEGER, end_us INTEGER, username TEXT, password TEXT, login_ok INTEGER,"
    " logins INTEGER, commands INTEGER, downloads INTEGER, term TEXT, width INTEGER,"
    " height INTEGER, bytes_in INTEGER, close_reason TEXT);"
    "CREATE INDEX lure_sessions_start ON lure_sessions(start_us);"
    "CREATE INDEX lure_sessions_src ON lure_sessions(src_ip);"
    "CREATE TABLE lure_logins(session TEXT, ts_us INTEGER, username TEXT, password TEXT,"
    " success INTEGER);"
    "CREATE INDEX lure_logins_ts ON lure_logins(ts_us);"
    "CREATE TABLE lure_commands(session TEXT, ts_us INTEGER, input TEXT);"
    "CREATE INDEX lure_commands_ts ON lure_commands(ts_us);"
    "CREATE TABLE lure_downloads(session TEXT, ts_us INTEGER, kind TEXT, tool TEXT, url TEXT,"
    " host TEXT, path TEXT, sha256 TEXT, size INTEGER);"
    "CREATE INDEX lure_downloads_ts ON lure_downloads(ts_us);"
    "CREATE TABLE indicators(type TEXT NOT NULL, value TEXT NOT NULL, source TEXT,"
    " first_seen_us INTEGER, last_seen_us INTEGER, count INTEGER, PRIMARY KEY(type, value));";

/* v3: packet time is checked (observe's "Packet time" rules).  Each interval
 * keeps the frames it counted apart (late, bad_time) and the span of packet
 * times it holds, so that input overlapping what a database already holds is
 * found exactly (a live sensor restarted inside an interval is newer than its
 * span).  Older rows are taken to span their whole interval, except that
 * rows without a frame span nothing (as v3 writes them) and the newest ends
 * at the newest packet a source event saw: a v2 sensor stopped inside an
 * interval, upgraded and restarted (or the next capture appended) must not
 * be refused by its own last, partial interval. */
static const char *const schema_v3 =
    "ALTER TABLE intervals ADD COLUMN late INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE intervals ADD COLUMN bad_time INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE intervals ADD COLUMN first_us INTEGER;"
    "ALTER TABLE intervals ADD COLUMN last_us INTEGER;"
    "UPDATE intervals SET first_us = start * 1000000, last_us = end * 1000000 - 1"
    " WHERE packets + malformed + non_ip + outside > 0;"
    "UPDATE intervals SET last_us = max(first_us, min(last_us,"
    " coalesce((SELECT max(last_seen_us) FROM source_events), first_us)))"
    " WHERE first_us IS NOT NULL AND start = (SELECT max(start) FROM intervals"
    " WHERE first_us IS NOT NULL);";

/* v6: an hour's top_rollups held its 1,000 busiest sources, which made sums
 * over hours differ from the intervals' (a source cut in one hour but listed
 * in another was undercounted, and --top 0 lost the rest): they are rebuilt
 * from the intervals' top lists, whole, and indexed by packets so that a
 * short list reads the rows of more than one packet and then a few
 * addresses' rest (query.c); the index may exist already in a newer
 * database whose user_version was set back by hand, as tests make older ones. */
static const char *const schema_v6 =
    "CREATE TEMP TABLE top_hours AS SELECT DISTINCT bucket FROM top_rollups;"
    "DELETE FROM top_rollups;"
    "INSERT INTO top_rollups SELECT i.start - i.start % 3600, ip, sum(x.packets), sum(x.bytes),"
    " max(x.ports), max(x.fingerprints), max(x.cc), max(x.asn), max(x.lat), max(x.lon)"
    " FROM top_sources x JOIN intervals i ON i.id = x.interval_id"
    " WHERE i.start - i.start % 3600 IN temp.top_hours GROUP BY 1, ip;"
    "DROP TABLE temp.top_hours;"
    "CREATE INDEX IF NOT EXISTS top_rollups_packets ON top_rollups(bucket, packets, ip);";

/* v7: the surge baselines as one blob per interval length (baselines.h):
 * observe rewrites them all at exit, and 125k rows cost more than the rest
 * of what it writes after the last packet.  surge_state's rows go to every
 * interval length meta names, as they were read before (the rows of the
 * last run, whatever its interval); surge_state is emptied but kept (older
 * steps name it, and a database labelled older by hand replays them). */
static int baselines_migrate(sqlite3 *db, const char *path)
{
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS surge_baselines(interval INTEGER PRIMARY KEY,"
                     " intervals INTEGER NOT NULL, state BLOB NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return err_set(-EIO, "%s: %s", path, sqlite3_errmsg(db));
    struct baselines b = {0};
    size_t cap = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT proto, port, mean, var, last_idx, n, alerted"
                                    " FROM surge_state ORDER BY proto, port",
                                -1, &st, NULL) == SQLITE_OK ? 0 : -EIO;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        if (b.n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            struct baseline_row *g = realloc(b.rows, ncap * sizeof *g);
            if (!g) {
                rc = err_set(-ENOMEM, "%s: out of memory", path);
                break;
            }
            b.rows = g;
            cap = ncap;
        }
        b.rows[b.n++] = (struct baseline_row){.proto = (uint8_t)sqlite3_column_int(st, 0),
                                              .port = (uint16_t)sqlite3_column_int(st, 1),
                                              .mean = sqlite3_column_double(st, 2),
                                              .var = sqlite3_column_double(st, 3),
                                              .last_idx = sqlite3_column_int64(st, 4),
                                              .n = (uint32_t)sqlite3_column_int64(st, 5),
                                              .alerted = (uint8_t)sqlite3_column_int(st, 6)};
    }
    sqlite3_finalize(st);
    uint8_t *blob = NULL;
    size_t len = 0;
    if (rc == 0) rc = baselines_encode(&b, &blob, &len);
    baselines_free(&b);
    sqlite3_stmt *keys = NULL, *ins = NULL;
    if (rc == 0 &&
        (sqlite3_prepare_v2(db, "SELECT CAST(substr(key, 17) AS INTEGER), CAST(value AS INTEGER)"
                                " FROM meta WHERE key GLOB 'surge_intervals_*'",
                            -1, &keys, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO surge_baselines VALUES(?, ?, ?)", -1, &ins,
                            NULL) != SQLITE_OK))
        rc = -EIO;
    while (rc == 0 && sqlite3_step(keys) == SQLITE_ROW) {
        sqlite3_bind_int64(ins, 1, sqlite3_column_int64(keys, 0));
        sqlite3_bind_int64(ins, 2, sqlite3_column_int64(keys, 1));
        sqlite3_bind_blob64(ins, 3, blob, len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) rc = -EIO;
        sqlite3_reset(ins);
    }
    sqlite3_finalize(keys);
    sqlite3_finalize(ins);
    free(blob);
    if (rc == 0 && sqlite3_exec(db,
                                "DELETE FROM surge_state;"
                                "DELETE FROM meta WHERE key GLOB 'surge_intervals_*'",
                                NULL, NULL, NULL) != SQLITE_OK)
        rc = -EIO;
    if (rc == -EIO) err_set(rc, "%s: migrating the surge baselines: %s", path, sqlite3_errmsg(db));
    return rc;
}

struct migration {
    const char *what;  /* in the error message of a failed step */
    const char *needs; /* tables the step reads or changes, space-separated: checked first */
    const char *sql;  /* run as one script, or NULL when fn does the step */
    int (*fn)(sqlite3 *db, const char *path);
};

/* To add a schema version: append one line (SQL, or a function taking the
 * database from the previous version) and bump STORE_SCHEMA. */
static const struct migration migrations[] = {
    {"observatory tables", "", schema_v1, NULL},
    {"honeypot tables", "meta intervals", schema_v2, NULL},
    {"packet time checks", "intervals source_events", schema_v3, NULL},
    /* v4: per-source events as packed records in blocks (events.c) */
    {"packed per-source events", "intervals source_events asn_stats", ev_schema_sql,
     ev_migrate_rows},
    /* v5: per-key stats as one blob per interval, stats rollups (rollup.c) */
    {"stats blobs and rollups", "intervals event_blocks as_names port_rollups rollup_buckets", NULL,
     rollup_migrate_stats},
    /* v6: hourly top sources uncut, indexed by packets (rollup.c, query.c) */
    {"top sources rollups uncut", "intervals top_sources top_rollups", schema_v6, NULL},
    {"surge baselines as one blob", "surge_state meta", NULL, baselines_migrate},
    /* v8: the vulnerable-device survey: rounds, open ports, findings, notices (survey.c) */
    {"survey tables", "meta", survey_schema_sql, NULL},
    /* v9: indicators shared and received, their sources and exchanges (share.c) */
    {"share tables", "meta", share_schema_sql, NULL},
    /* v10: the TAXII server's collections: objects and POST statuses (taxii.c) */
    {"taxii tables", "meta", taxii_schema_sql, NULL},
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA,
               "STORE_SCHEMA is the number of migrations");

int store_schema_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -EIO;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -EIO;
    sqlite3_finalize(st);
    return version;
}

/* A step's tables are there before it runs: a database whose user_version
 * says more than its tables (set by hand, or copied over) fails here with one
 * line, unchanged, rather than committing a step on the wrong schema and
 * failing at the next, half migrated. */
static int check_needs(sqlite3 *db, const char *path, int version)
{
    const struct migration *m = &migrations[version];
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return err_set(-EIO, "%s: %s", path, sqlite3_errmsg(db));
    int rc = 0;
    for (const char *p = m->needs; rc == 0 && *p;) {
        size_t n = strcspn(p, " ");
        sqlite3_bind_text(st, 1, p, (int)n, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = err_set(-EIO, "%s: %s", path, sqlite3_errmsg(db));
        else if (step == SQLITE_DONE)
            rc = err_set(-EINVAL,
                         "%s: says schema %d but has no table %.*s: cannot migrate to schema %d"
                         " (%s); nothing changed",
                         path, version, (int)n, p, version + 1, m->what);
        sqlite3_reset(st);
        p += n;
        p += strspn(p, " ");
    }
    sqlite3_finalize(st);
    return rc;
}

static int run_step(sqlite3 *db, const char *path, int version)
{
    const struct migration *m = &migrations[version];
    int need = check_needs(db, path, version);
    if (need < 0) return need;
    char *msg = NULL, pragma[48];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", version + 1);
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) == SQLITE_OK ? 0 : -EIO;
    if (rc == 0 && m->sql && sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK) rc = -EIO;
    if (rc == 0 && m->fn) {
        rc = m->fn(db, path); /* sets its own message */
        if (rc < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    if (rc == 0 && sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK) rc = -EIO;
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) rc = -EIO;
    if (rc < 0) {
        rc = err_set(-EIO, "%s: cannot migrate to schema %d (%s): %s", path, version + 1, m->what,
                     msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

int store_migrate(sqlite3 *db, const char *path)
{
    int version = store_schema_version(db);
    if (version < 0)
        return err_set(-EIO, "%s: not a mamori database: %s", path, sqlite3_errmsg(db));
    if (version > N_MIGRATIONS)
        return err_set(-EINVAL, "%s: schema version %d is newer than this mamori", path, version);
    for (int rc; version < N_MIGRATIONS; version++)
        if ((rc = run_step(db, path, version)) < 0) return rc;
    return 0;
}
