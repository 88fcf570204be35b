/* stream — the live thread's reads (see stream.h).
 *
 * One table row per stream kind: its SSE event name, its SQL and how many
 * rows a look may take (2,000 samples and 200 alerts; a commit with more is
 * read on at the next looks).  Column 0 is the id the reader resumes after;
 * the others become the event's JSON by rowjson, named as the REST lists name
 * them (ts_us -> "t", coordinates to 4 decimals, 11 m).  The alert columns are
 * those of query.c's "alerts" section, so both spell an alert alike. */
#include "stream.h"
#include "../core/err.h"
#include "rowjson.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>

/* clang-format off */
static const struct stream_def {
    const char *event, *sql_after, *sql_last;
    int limit;
} kinds[STREAM_KINDS] = {
    [STREAM_SAMPLES] = {"packet",
        "SELECT id, ts_us AS t_us, src, round(lat, 4) AS lat, round(lon, 4) AS lon, cc, proto,"
        "       port, class, fingerprint"
        "  FROM live_samples WHERE id > ?1 ORDER BY id LIMIT ?2",
        "SELECT coalesce(max(id), 0) FROM live_samples", 2000},
    [STREAM_ALERTS] = {"alert",
        "SELECT id, kind, proto, port, at, sources, round(baseline, 2) AS baseline"
        "  FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2",
        "SELECT coalesce(max(id), 0) FROM alerts", 200},
};

static const char metrics_sql[] =
    "SELECT count(*), total(packets), total(bytes), total(malformed), total(non_ip),"
    "       total(outside), coalesce(max(end), 0),"
    "       (SELECT count(*) FROM alerts),"
    "       (SELECT count(*) FROM dos),"
    "       (SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'kernel_drops')"
    "  FROM intervals";
/* clang-format on */

const struct store_metric store_metric_names[STORE_METRICS] = {
    {"mamori_intervals_total", "counter", "Closed observation intervals."},
    {"mamori_packets_total", "counter", "Darknet packets observed."},
    {"mamori_bytes_total", "counter", "Bytes of darknet packets observed."},
    {"mamori_malformed_total", "counter", "Frames dropped as malformed."},
    {"mamori_non_ip_total", "counter", "Frames dropped as not IP."},
    {"mamori_outside_total", "counter", "Packets dropped as outside the darknet."},
    {"mamori_last_interval_end_seconds", "gauge", "End of the newest interval (Unix time)."},
    {"mamori_alerts_total", "counter", "Surge alerts raised."},
    {"mamori_dos_victims_total", "counter", "DoS victims inferred from backscatter."},
    {"mamori_kernel_drops_total", "counter", "Packets a live capture lost before observe."},
};

const char *stream_event(enum stream_kind k)
{
    return k < STREAM_KINDS ? kinds[k].event : "?";
}

int stream_limit(enum stream_kind k)
{
    return k < STREAM_KINDS ? kinds[k].limit : 0;
}

static int64_t one_int(struct store *s, const char *sql)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    int64_t v = -EIO;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        err_set(-EIO, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

int64_t store_data_version(struct store *s)
{
    return one_int(s, "PRAGMA data_version");
}

int64_t store_stream_last(struct store *s, enum stream_kind k)
{
    return k < STREAM_KINDS ? one_int(s, kinds[k].sql_last) : -EINVAL;
}

json_t *store_stream_read(struct store *s, enum stream_kind k, int64_t *after)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (k >= STREAM_KINDS || sqlite3_prepare_v2(db, kinds[k].sql_after, -1, &st, NULL)) {
        err_set(-EIO, "stream: %s", sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_int64(st, 1, *after);
    sqlite3_bind_int(st, 2, kinds[k].limit);
    json_t *arr = json_array();
    int64_t last = *after;
    int rc = SQLITE_DONE;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        json_array_append_new(arr, rowjson(st, 1));
    }
    if (arr && rc == SQLITE_DONE) {
        *after = last; /* only what was read whole: after an error, it is read again */
    } else {
        err_set(arr ? -EIO : -ENOMEM, "stream: %s", sqlite3_errmsg(db));
        json_decref(arr);
        arr = NULL;
    }
    sqlite3_finalize(st);
    return arr;
}

int store_metrics(struct store *s, double out[STORE_METRICS])
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    int rc = -EIO;
    if (sqlite3_prepare_v2(db, metrics_sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < STORE_METRICS; i++)
            out[i] = sqlite3_column_double(st, i);
        rc = 0;
    } else {
        err_set(-EIO, "metrics: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}
