/* query — window summary over the observatory schema (see query.h). */
#include "query.h"
#include "survey.h"
#include "share.h"
#include "../core/classify.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "../core/sketch.h"
#include "migrate.h"
#include "query_stats.h"
#include "rollup.h"
#include "rowjson.h"
#include "sqlfn.h"
#include "store_int.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sqlite3_stmt *prep(sqlite3 *db, const char *sql, const struct query_window *w)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        err_set(-EIO, "query: %s", sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_int64(st, 1, w->from);
    sqlite3_bind_int64(st, 2, w->to);
    int idx = sqlite3_bind_parameter_index(st, "?3");
    if (idx) sqlite3_bind_int64(st, idx, w->top > 0 ? w->top : -1);
    return st;
}

static json_t *iso(int64_t sec)
{
    char b[32];
    return json_string(cli_iso(sec, b));
}

/* Runs sql over the window (with ?4 bound to p4 unless NULL), one object
 * per row (rowjson.h says how each column is shown). */
static json_t *rows_with(sqlite3 *db, const char *sql, const struct query_window *w, const char *p4)
{
    sqlite3_stmt *st = prep(db, sql, w);
    if (!st) return NULL;
    if (p4) sqlite3_bind_text(st, 4, p4, -1, SQLITE_STATIC);
    return rowjson_all(st);
}

static json_t *rows(sqlite3 *db, const char *sql, const struct query_window *w)
{
    return rows_with(db, sql, w, NULL);
}

#define IN_WINDOW "JOIN intervals i ON i.id = x.interval_id WHERE i.start >= ?1 AND i.start < ?2"
/* An hour bucket b read from the hourly rollups: whole, inside the window, current. */
#define ROLLED(b)                                                                                  \
    "(" b " >= ?1 AND " b " + 3600 <= ?2 AND " b                                                   \
    " + 0 IN (SELECT bucket FROM rollup_buckets WHERE res = 3600))"
#define RAW_HOUR "(i.start - i.start % 3600)"
/* Port rows of the window: rolled-up hours plus the interval rows of the rest. */
#define PORT_ROWS(bs)                                                                              \
    "WITH u AS (SELECT proto, port, packets, bytes, src_sketch, dst_sketch FROM port_rollups"      \
    " WHERE res = 3600 AND backscatter = " bs " AND " ROLLED(                                      \
        "bucket") " UNION ALL SELECT x.proto, x.port, x.packets, x.bytes, x.src_sketch, "          \
                  "x.dst_sketch"                                                                   \
                  " FROM port_stats x " IN_WINDOW " AND x.backscatter = " bs                       \
                  " AND NOT " ROLLED(RAW_HOUR) ")"                                                 \
                                               " SELECT proto, port, sum(packets) AS packets, "    \
                                               "sum(bytes) AS bytes,"                              \
                                               " mamori_distinct(src_sketch) AS sources, "         \
                                               "mamori_distinct(dst_sketch) AS destinations"       \
                                               " FROM u GROUP BY proto, port ORDER BY packets "    \
                                               "DESC, proto, port LIMIT ?3"

/* A list is either SQL, or (list = enum row_kind + 1) merged from the stats
 * blobs and rollups in C (query_stats.c), its sql then reading the per-row
 * tables of a database older than schema 4 (readers never migrate). */
struct section {
    const char *name, *sql;
    int list;
};
#define LIST(kind) ((kind) + 1)
#define LIST_TOP (-1) /* the top sources: sql reads query_top_merge()'s list as ?4 */

/* The rows the top sources are grouped from: rolled-up hours' sources plus
 * the interval top lists of the rest of the window.  An hour's top_rollups
 * hold every source of its intervals' lists (rollup.c; schema 6 rebuilt
 * those an older mamori cut at the hour's 1,000 busiest), so the sum is the
 * intervals' sum for any --top; a database older than that (readers never
 * migrate) is read from its intervals' lists alone. */
/* clang-format off */
#define TOP_HOURS                                                                                  \
    "WITH h AS MATERIALIZED (SELECT bucket FROM rollup_buckets WHERE res = 3600 AND bucket >= ?1"  \
    " AND bucket + 3600 <= ?2)"
#define TOP_COLS "ip, packets, bytes, ports, fingerprints, cc, asn, lat, lon"
#define TOP_RAW                                                                                    \
    " SELECT ip, x.packets, x.bytes, x.ports, x.fingerprints, x.cc, x.asn, x.lat, x.lon"           \
    " FROM top_sources x " IN_WINDOW
static const char *const top_rows_sql =
    TOP_HOURS " SELECT " TOP_COLS " FROM top_rollups WHERE bucket IN h UNION ALL" TOP_RAW
    " AND " RAW_HOUR " NOT IN h";
static const char *const top_intervals_sql = TOP_RAW;
/* For a short list (query_top_bounded): most of a day's hourly rows are
 * sources of one packet that hour (ties at the end of an interval's list),
 * which sum to at most one a rolled hour; so first every row but those, then
 * those of the few sources that could still reach the list (index seeks on
 * top_rollups_packets: 24 ms -> a few for a day of 100,000 hourly rows). */
static const char *const top_big_sql =
    TOP_HOURS " SELECT " TOP_COLS " FROM top_rollups WHERE bucket IN h AND packets > 1 UNION ALL"
    TOP_RAW " AND " RAW_HOUR " NOT IN h";
static const char *const top_rest_sql =
    TOP_HOURS " SELECT " TOP_COLS " FROM top_rollups WHERE bucket IN h AND packets IN (0, 1)"
    " AND ip IN (SELECT value FROM json_each(?4))";
static const char *const top_hours_sql = TOP_HOURS " SELECT count(*) FROM h";
/* clang-format on */

static const struct section sections[] = {
    {"fingerprints",
     "SELECT name, sum(x.packets) AS packets, mamori_distinct(src_sketch) AS sources"
     " FROM fingerprint_stats x " IN_WINDOW " GROUP BY name ORDER BY packets DESC, name",
     LIST(ROW_FINGERPRINT)},
    {"ports", PORT_ROWS("0"), LIST(ROW_PORT)},
    {"backscatter_ports", PORT_ROWS("1"), LIST(ROW_BACKSCATTER_PORT)},
    {"countries",
     "SELECT cc, sum(x.packets) AS packets, mamori_distinct(src_sketch) AS sources"
     " FROM country_stats x " IN_WINDOW " GROUP BY cc ORDER BY packets DESC, cc LIMIT ?3",
     LIST(ROW_COUNTRY)},
    {"asns",
     "SELECT asn, max(name) AS name, sum(x.packets) AS packets,"
     " mamori_distinct(src_sketch) AS sources FROM asn_stats x " IN_WINDOW
     " GROUP BY asn ORDER BY packets DESC, asn LIMIT ?3",
     LIST(ROW_ASN)},
    /* the busiest sources are grouped in C (query_top_merge: a GROUP BY of
     * the day's 24,000 hourly rows costs SQLite's sorter ~40 ms), then
     * joined here to their events */
    /* clang-format off */
    {"top_sources",
     "WITH t AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS ip,"
     " json_extract(value, '$[1]') AS packets, json_extract(value, '$[2]') AS bytes,"
     " json_extract(value, '$[3]') AS ports, json_extract(value, '$[4]') AS fingerprints,"
     " json_extract(value, '$[5]') AS cc, json_extract(value, '$[6]') AS asn,"
     " json_extract(value, '$[7]') AS lat, json_extract(value, '$[8]') AS lon FROM json_each(?4)),"
     " e AS (SELECT ip, min(first_seen_us) AS first_seen_us, max(last_seen_us) AS last_seen_us,"
     " mamori_union(ports) AS ports, mamori_union(fingerprints) AS fingerprints FROM mamori_events"
     " WHERE ip IN (SELECT ip FROM t) AND window_end > ?1 AND window_start < ?2 GROUP BY ip)"
     " SELECT t.ip, t.packets, t.bytes, coalesce(e.ports, t.ports) AS ports_list,"
     " coalesce(e.fingerprints, t.fingerprints) AS fingerprints_list, t.cc, t.asn, t.lat, t.lon,"
     " e.first_seen_us, e.last_seen_us FROM t LEFT JOIN e ON e.ip = t.ip"
     " ORDER BY t.packets DESC, t.ip", LIST_TOP},
    /* clang-format on */
    {"alerts",
     "SELECT kind, proto, port, at, sources, round(baseline, 2) AS baseline FROM alerts"
     " WHERE at >= ?1 AND at < ?2 ORDER BY at, proto, port",
     0},
    {"dos",
     "SELECT target, proto, packets, bytes, peak_60s, attackers, ports, start_us, end_us"
     " FROM dos WHERE end_us >= ?1 * 1000000 AND start_us < ?2 * 1000000"
     " ORDER BY packets DESC, target LIMIT ?3",
     0},
};

/* Does intervals have this column?  A database of schema 2 is read as it is
 * (readers never migrate): it counted no late or bad-time frames. */
static bool has_column(sqlite3 *db, const char *col)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('intervals') WHERE name = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, col, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* One read of a window: the stats blobs and rollups are merged once, on the
 * first list (or total) that needs them. */
struct reading {
    sqlite3 *db;
    const struct query_window *w;
    bool blobs, loaded; /* schema 4 or newer; acc holds the window */
    struct stats_acc acc;
};

static void reading_init(struct reading *r, sqlite3 *db, const struct query_window *w)
{
    sqlite3_stmt *st;
    *r = (struct reading){.db = db, .w = w};
    stats_acc_init(&r->acc);
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = 'interval_stats'", -1, &st,
                           NULL) == SQLITE_OK) {
        r->blobs = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
}

static struct stats_acc *reading_acc(struct reading *r)
{
    if (!r->loaded) {
        if (rollup_load_window(r->db, r->w->from, r->w->to, -1, &r->acc) < 0) return NULL;
        r->loaded = true;
    }
    return &r->acc;
}

static void reading_free(struct reading *r)
{
    stats_acc_free(&r->acc);
}

/* One list of the summary, from SQL or from the merged stats. */
static json_t *top_sources(struct reading *r, const struct section *sec)
{
    char *list = NULL;
    bool decided = false;
    bool uncut = store_schema_version(r->db) >= 6;
    if (uncut && r->w->top > 0) { /* exact without every one-packet row, when the bound allows */
        sqlite3_stmt *h = prep(r->db, top_hours_sql, r->w);
        int64_t hours = h && sqlite3_step(h) == SQLITE_ROW ? sqlite3_column_int64(h, 0) : -1;
        sqlite3_finalize(h);
        sqlite3_stmt *big = hours > 0 ? prep(r->db, top_big_sql, r->w) : NULL;
        sqlite3_stmt *rest = big ? prep(r->db, top_rest_sql, r->w) : NULL;
        if (rest) list = query_top_bounded(big, rest, r->w->top, hours, &decided);
        sqlite3_finalize(big);
        sqlite3_finalize(rest);
    }
    if (!decided) {
        sqlite3_stmt *st = prep(r->db, uncut ? top_rows_sql : top_intervals_sql, r->w);
        list = st ? query_top_merge(st, r->w->top) : NULL;
        sqlite3_finalize(st);
    }
    json_t *arr = list ? rows_with(r->db, sec->sql, r->w, list) : NULL;
    free(list);
    return arr;
}

static json_t *section_rows(struct reading *r, const struct section *sec)
{
    if (sec->list == LIST_TOP) return top_sources(r, sec);
    if (!sec->list || !r->blobs) return rows(r->db, sec->sql, r->w);
    struct stats_acc *a = reading_acc(r);
    int kind = sec->list - 1; /* the fingerprint list is never cut (as its SQL) */
    return a ? query_stats_list(a, (enum row_kind)kind, kind == ROW_FINGERPRINT ? 0 : r->w->top)
             : NULL;
}

static json_t *totals(struct reading *rd, json_t *out)
{
    sqlite3 *db = rd->db;
    const struct query_window *w = rd->w;
    struct stats_acc *a = rd->blobs ? reading_acc(rd) : NULL;
    if (rd->blobs && !a) return NULL;
    /* a live sensor restarted inside an interval writes a second row for it:
     * intervals are counted by their start */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT count(DISTINCT start), min(start), max(end), total(packets), total(bytes),"
             " %s, total(iot_packets), total(malformed), total(non_ip),"
             " total(outside), total(tcp_syn), total(backscatter), total(udp), total(icmp_request),"
             " total(other), %s FROM intervals WHERE start >= ?1 AND start < ?2",
             a ? "0"
               : "(SELECT mamori_distinct(k.sources_sketch) FROM interval_sketches k"
                 " JOIN intervals j ON j.id = k.interval_id WHERE j.start >= ?1 AND j.start < ?2)",
             has_column(db, "late") ? "total(late), total(bad_time)" : "0, 0");
    sqlite3_stmt *st = prep(db, sql, w);
    if (!st) return NULL;
    if (sqlite3_step(st) != SQLITE_ROW) {
        err_set(-EIO, "query: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return NULL;
    }
#define I(c) ((json_int_t)sqlite3_column_double(st, c))
    json_t *win = json_object();
    bool any = sqlite3_column_int64(st, 0) > 0;
    json_object_set_new(win, "from", any ? iso(sqlite3_column_int64(st, 1)) : json_null());
    json_object_set_new(win, "to", any ? iso(sqlite3_column_int64(st, 2)) : json_null());
    json_object_set_new(win, "intervals", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(out, "window", win);
    double pk = sqlite3_column_double(st, 3), iot = sqlite3_column_double(st, 6);
    json_t *t = json_object();
    json_object_set_new(t, "packets", json_integer(I(3)));
    json_object_set_new(t, "bytes", json_integer(I(4)));
    json_object_set_new(
        t, "sources",
        json_integer(a ? (json_int_t)sketch_count(&a->sources) : sqlite3_column_int64(st, 5)));
    json_object_set_new(t, "iot_packets", json_integer(I(6)));
    json_object_set_new(t, "iot_share", json_real(pk > 0 ? round(iot / pk * 1e4) / 1e4 : 0.0));
    json_object_set_new(t, "malformed", json_integer(I(7)));
    json_object_set_new(t, "non_ip", json_integer(I(8)));
    json_object_set_new(t, "outside", json_integer(I(9)));
    json_object_set_new(t, "late", json_integer(I(15)));
    json_object_set_new(t, "bad_time", json_integer(I(16)));
    json_object_set_new(out, "totals", t);
    /* intervals has one total column per class, in enum order, from column 10 */
    _Static_assert(CLS_COUNT == 5, "a class needs its column in intervals and above");
    json_t *c = json_object();
    for (int i = 0; i < CLS_COUNT; i++)
        json_object_set_new(c, class_name((enum pkt_class)i), json_integer(I(10 + i)));
    json_object_set_new(out, "classes", c);
#undef I
    sqlite3_finalize(st);
    return out;
}

json_t *query_section(struct store *s, const char *name, const struct query_window *w)
{
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (strcmp(sections[i].name, name)) continue;
        struct reading r;
        reading_init(&r, store_db(s), w);
        json_t *arr = section_rows(&r, &sections[i]);
        reading_free(&r);
        return arr;
    }
    err_set(-ENOENT, "no section '%s'", name);
    return NULL;
}

json_t *query_timeseries(struct store *s, const struct query_window *w, const char *proto,
                         uint16_t port, int64_t res)
{
    sqlite3 *db = store_db(s);
    struct reading r;
    reading_init(&r, db, w);
    if (r.blobs) return query_stats_series(db, w->from, w->to, proto, port, res);
    /* whole hours and days inside the window come from the rollups while they
     * are marked current; everything else is unioned from the interval rows */
    sqlite3_stmt *st = prep(
        db,
        "SELECT t, packets, sources FROM (SELECT bucket AS t, packets, sources FROM port_rollups"
        " WHERE res = ?4 AND proto = ?5 AND port = ?6 AND backscatter = 0 AND bucket >= ?1"
        " AND bucket + ?4 <= ?2 AND bucket IN (SELECT bucket FROM rollup_buckets WHERE res = ?4)"
        " UNION ALL SELECT i.start - i.start % ?4 AS t, sum(x.packets),"
        " mamori_distinct(x.src_sketch) FROM port_stats x JOIN intervals i ON i.id = x.interval_id"
        " WHERE i.start >= ?1 AND i.start < ?2 AND x.backscatter = 0 AND x.proto = ?5"
        " AND x.port = ?6 AND NOT (?4 >= 3600 AND i.start - i.start % ?4 >= ?1"
        " AND i.start - i.start % ?4 + ?4 <= ?2 AND i.start - i.start % ?4 IN"
        " (SELECT bucket FROM rollup_buckets WHERE res = ?4)) GROUP BY t) ORDER BY t",
        w);
    if (!st) return NULL;
    sqlite3_bind_int64(st, 4, res);
    sqlite3_bind_text(st, 5, proto, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, port);
    json_t *pts = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(pts, json_pack("{s:o,s:I,s:I}", "t", iso(sqlite3_column_int64(st, 0)),
                                             "packets", (json_int_t)sqlite3_column_int64(st, 1),
                                             "sources", (json_int_t)sqlite3_column_int64(st, 2)));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(pts);
        err_set(-EIO, "query: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return pts;
}

json_t *query_geo(struct store *s, const struct query_window *w)
{
    sqlite3 *db = store_db(s);
    /* One point per 1-degree cell.  The dominant class, ASN and fingerprint are
     * the ones with the most packets (SQLite returns the bare columns of the
     * row that max() picked); a source's class and fingerprint are the first
     * of its lists. */
    return rows(db,
                "WITH e AS MATERIALIZED (SELECT round(lat) AS lat, round(lon) AS lon, cc, asn,"
                " packets, ip, ports, substr(classes, 1, instr(classes || ',', ',') - 1) AS class,"
                " nullif(substr(fingerprints, 1, instr(fingerprints || ',', ',') - 1), '') AS fp"
                " FROM mamori_events WHERE window_end > ?1 AND window_start < ?2"
                " AND lat IS NOT NULL),"
                " dc AS (SELECT lat, lon, class, max(p) FROM (SELECT lat, lon, class,"
                " sum(packets) AS p FROM e GROUP BY lat, lon, class) GROUP BY lat, lon),"
                " da AS (SELECT lat, lon, asn, max(p) FROM (SELECT lat, lon, asn,"
                " sum(packets) AS p FROM e WHERE asn IS NOT NULL GROUP BY lat, lon, asn)"
                " GROUP BY lat, lon),"
                " df AS (SELECT lat, lon, fp, max(p) FROM (SELECT lat, lon, fp,"
                " sum(packets) AS p FROM e WHERE fp IS NOT NULL GROUP BY lat, lon, fp)"
                " GROUP BY lat, lon)"
                " SELECT e.lat, e.lon, max(e.cc) AS cc, sum(e.packets) AS packets,"
                " count(DISTINCT e.ip) AS sources, dc.class, da.asn, df.fp AS fingerprint,"
                " mamori_union(e.ports) AS ports_list FROM e JOIN dc USING (lat, lon)"
                " LEFT JOIN da USING (lat, lon) LEFT JOIN df USING (lat, lon)"
                " GROUP BY e.lat, e.lon ORDER BY packets DESC LIMIT ?3",
                w);
}

/* The honeypot's lists: times are µs, the window's bounds ?1 and ?2 seconds. */
/* clang-format off */
static const struct section lure_lists[] = {
    {"credentials",
     "SELECT username, password, count(*) AS attempts, sum(success) AS successes"
     "  FROM lure_logins WHERE ts_us >= ?1 * 1000000 AND ts_us < ?2 * 1000000"
     " GROUP BY username, password"
     " ORDER BY attempts DESC, successes DESC, username, password LIMIT ?3", 0},
    {"commands",
     "SELECT input, count(*) AS count, count(DISTINCT session) AS sessions"
     "  FROM lure_commands WHERE ts_us >= ?1 * 1000000 AND ts_us < ?2 * 1000000"
     " GROUP BY input ORDER BY count DESC, input LIMIT ?3", 0},
    {"urls",
     "SELECT url, host, group_concat(DISTINCT tool) AS tools, count(*) AS count,"
     "       count(DISTINCT session) AS sessions, min(ts_us) AS first_seen_us,"
     "       max(ts_us) AS last_seen_us"
     "  FROM lure_downloads"
     " WHERE kind = 'url' AND ts_us >= ?1 * 1000000 AND ts_us < ?2 * 1000000"
     " GROUP BY url ORDER BY count DESC, url LIMIT ?3", 0},
    {"hashes",
     "SELECT sha256, max(size) AS size, count(*) AS count,"
     "       count(DISTINCT session) AS sessions, min(path) AS path,"
     "       min(ts_us) AS first_seen_us, max(ts_us) AS last_seen_us"
     "  FROM lure_downloads"
     " WHERE kind = 'file' AND ts_us >= ?1 * 1000000 AND ts_us < ?2 * 1000000"
     " GROUP BY sha256 ORDER BY count DESC, sha256 LIMIT ?3", 0},
    {"top_sources",
     "SELECT src_ip AS ip, count(*) AS sessions, sum(login_ok) AS logins_ok,"
     "       sum(commands) AS commands, sum(downloads) AS downloads,"
     "       min(start_us) AS first_seen_us, max(start_us) AS last_seen_us"
     "  FROM lure_sessions WHERE start_us >= ?1 * 1000000 AND start_us < ?2 * 1000000"
     " GROUP BY src_ip ORDER BY sessions DESC, ip LIMIT ?3", 0},
};

static const char lure_totals_sql[] =
    "WITH s AS (SELECT * FROM lure_sessions"
    "            WHERE start_us >= ?1 * 1000000 AND start_us < ?2 * 1000000),"
    "     l AS (SELECT * FROM lure_logins WHERE ts_us >= ?1 * 1000000 AND ts_us < ?2 * 1000000),"
    "     d AS (SELECT * FROM lure_downloads"
    "            WHERE ts_us >= ?1 * 1000000 AND ts_us < ?2 * 1000000)"
    " SELECT (SELECT count(*) FROM s),"
    "       (SELECT count(DISTINCT src_ip) FROM s),"
    "       (SELECT total(success) FROM l),"
    "       (SELECT total(1 - success) FROM l),"
    "       (SELECT count(*) FROM lure_commands"
    "         WHERE ts_us >= ?1 * 1000000 AND ts_us < ?2 * 1000000),"
    "       (SELECT count(*) FROM d WHERE kind = 'url'),"
    "       (SELECT count(*) FROM d WHERE kind = 'file')";
/* clang-format on */

/* Adds each section's rows to obj under its name; false on a query error. */
static bool add_sections(struct reading *r, json_t *obj, const struct section *sec, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *arr = section_rows(r, &sec[i]);
        if (!arr) return false;
        json_object_set_new(obj, sec[i].name, arr);
    }
    return true;
}

/* The honeypot's totals and top lists, or NULL (no error) in a database
 * older than the honeypot. */
static json_t *honeypot(sqlite3 *db, const struct query_window *w, bool *failed)
{
    *failed = false;
    if (sqlite3_table_column_metadata(db, NULL, "lure_sessions", "session", NULL, NULL, NULL, NULL,
                                      NULL) != SQLITE_OK)
        return NULL;
    sqlite3_stmt *st = prep(db, lure_totals_sql, w);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        if (st) err_set(-EIO, "query: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        *failed = true;
        return NULL;
    }
    static const char *const keys[] = {"sessions",     "sources",   "logins_ok",  "logins_failed",
                                       "commands_run", "urls_seen", "files_saved"};
    json_t *h = json_object();
    for (int i = 0; i < 7; i++)
        json_object_set_new(h, keys[i], json_integer((json_int_t)sqlite3_column_double(st, i)));
    sqlite3_finalize(st);
    struct reading r;
    reading_init(&r, db, w);
    bool ok = add_sections(&r, h, lure_lists, sizeof lure_lists / sizeof lure_lists[0]);
    reading_free(&r);
    if (!ok) {
        json_decref(h);
        *failed = true;
        return NULL;
    }
    return h;
}

json_t *query_summary(struct store *s, const struct query_window *w)
{
    sqlite3 *db = store_db(s);
    json_t *out = json_object();
    struct reading r;
    reading_init(&r, db, w);
    bool ok =
        totals(&r, out) && add_sections(&r, out, sections, sizeof sections / sizeof sections[0]);
    reading_free(&r);
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    bool failed;
    json_t *h = honeypot(db, w, &failed);
    if (failed) {
        json_decref(out);
        return NULL;
    }
    if (h) json_object_set_new(out, "honeypot", h);
    json_t *sv = query_survey(s); /* shown when some round was run */
    if (!sv) {
        json_decref(out);
        return NULL;
    }
    if (json_array_size(json_object_get(sv, "rounds")))
        json_object_set_new(out, "survey", sv);
    else
        json_decref(sv);
    json_t *sh = query_share(s, (int64_t)time(NULL) * 1000000); /* shown when something was shared */
    if (!sh) {
        json_decref(out);
        return NULL;
    }
    if (json_array_size(json_object_get(sh, "exchanges")) || json_array_size(json_object_get(sh, "sources")))
        json_object_set_new(out, "share", sh);
    else
        json_decref(sh);
    return out;
}
