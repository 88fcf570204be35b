/* evtab — mamori_events: the packed per-source events as rows again.
 *
 * An eponymous virtual table with the columns of the old source_events table
 * (plus as_name and more_ports), so users keep SQL over the blocks:
 *
 *   SELECT * FROM mamori_events WHERE ip = '198.18.3.4';
 *   SELECT ip, packets FROM mamori_events(1474329600, 1474333200);  -- windows overlapping [since,
 * until) SELECT cc, sum(packets) FROM mamori_events WHERE window_end > 1474329600 GROUP BY cc;
 *
 * xBestIndex takes an equality on ip, an IN list of addresses (whole, with
 * sqlite3_vtab_in) and bounds on window_end / window_start (or the hidden
 * since/until arguments); xFilter turns them into one indexed query over
 * event_blocks, then reads the whole blob of each block of the windows; for
 * one address only the blocks whose [ip_lo, ip_hi] holds it, and in them only
 * the matching records (binary search over an incremental blob); for a list,
 * each block of its range once, jumping by binary search from one listed
 * address to the next (a per-value lookup re-opened a blob per block per
 * address: 10 s for the report's 100 top sources over 720 windows, 0.35 s so).  Constraints are left to
 * SQLite to check again (but the hidden arguments), so a plan never decides
 * what a query means.  A database not yet migrated (opened read-only, as
 * readers do; schema 2 or 3) has its source_events table shown as it is.
 * since or until NULL is no bound on that side; anything not a number is an
 * error, and so is a database with neither event_blocks nor source_events
 * ("not a mamori database", not SQLite's name for the missing table).
 *
 * Built twice: into mamori's store (registered on every connection) and, with
 * MAMORI_SQLITE_EXT, into the loadable extension mamori_sqlite for the
 * sqlite3 shell (ext.c), where every sqlite3_ call goes through the API
 * table the shell hands over. */
#ifdef MAMORI_SQLITE_EXT
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif
#include "evpack.h"
#include "evtab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum col {
    C_ID,
    C_WINDOW_START,
    C_WINDOW_END,
    C_IP,
    C_FIRST,
    C_LAST,
    C_PACKETS,
    C_BYTES,
    C_PORTS,
    C_FINGERPRINTS,
    C_CLASSES,
    C_CC,
    C_ASN,
    C_LAT,
    C_LON, /* the old table's, in its order */
    C_AS_NAME,
    C_MORE_PORTS,
    C_SINCE,
    C_UNTIL
};

/* clang-format off */
static const char *const declare =
    "CREATE TABLE x(id INTEGER, window_start INTEGER, window_end INTEGER, ip TEXT,"
    " first_seen_us INTEGER, last_seen_us INTEGER, packets INTEGER, bytes INTEGER, ports TEXT,"
    " fingerprints TEXT, classes TEXT, cc TEXT, asn INTEGER, lat REAL, lon REAL, as_name TEXT,"
    " more_ports INTEGER, since HIDDEN, until HIDDEN)";
/* clang-format on */

/* idxNum bits, and the order of xFilter's arguments */
enum plan {
    P_IP = 1,       /* ip = ? */
    P_END_GT = 2,   /* window_end > ? */
    P_END_GE = 4,   /* window_end >= ? */
    P_START_LT = 8, /* window_start < ? */
    P_START_LE = 16,
    P_SINCE = 32, /* mamori_events(since, until): windows overlapping [since, until) */
    P_UNTIL = 64,
    P_IP_SET = 128, /* the ip constraint is an IN list, handed over whole */
};
static const char *const plan_sql[] = {"ip",
                                       " AND window_end > ?",
                                       " AND window_end >= ?",
                                       " AND window_start < ?",
                                       " AND window_start <= ?",
                                       " AND window_end > ?",
                                       " AND window_start < ?"};

struct ev_cursor {
    sqlite3_vtab_cursor base;
    sqlite3 *db;
    sqlite3_stmt *blocks; /* event_blocks rows, or source_events rows when legacy */
    bool legacy, eof, by_ip, by_set;
    uint8_t ip[16];
    uint8_t (*ips)[16]; /* by_set: the IN list's addresses, sorted, distinct */
    size_t n_ips, k;    /* and the one searched for in the block */
    int64_t block, window_start, window_end;
    size_t n, i;         /* records in the block, the current one */
    const uint8_t *data; /* the block's records (whole-window scans) */
    sqlite3_blob *blob;  /* or an incremental blob (one address) */
    struct src_row row;
    sqlite3_value *since, *until;
    sqlite3_stmt *as_name;
};

struct ev_vtab {
    sqlite3_vtab base;
    sqlite3 *db;
};

static int ev_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                      char **err)
{
    (void)aux, (void)argc, (void)argv, (void)err;
    int rc = sqlite3_declare_vtab(db, declare);
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    struct ev_vtab *vt = sqlite3_malloc(sizeof *vt);
    if (!vt) return SQLITE_NOMEM;
    memset(vt, 0, sizeof *vt);
    vt->db = db;
    *out = &vt->base;
    return SQLITE_OK;
}

static int ev_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

static int ev_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    (void)vt;
    int plan = 0, slot[7] = {-1, -1, -1, -1, -1, -1, -1};
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (!c->usable) continue;
        int bit = -1;
        if (c->iColumn == C_IP && c->op == SQLITE_INDEX_CONSTRAINT_EQ) bit = 0;
        if (c->iColumn == C_WINDOW_END && c->op == SQLITE_INDEX_CONSTRAINT_GT) bit = 1;
        if (c->iColumn == C_WINDOW_END && c->op == SQLITE_INDEX_CONSTRAINT_GE) bit = 2;
        if (c->iColumn == C_WINDOW_START && c->op == SQLITE_INDEX_CONSTRAINT_LT) bit = 3;
        if (c->iColumn == C_WINDOW_START && c->op == SQLITE_INDEX_CONSTRAINT_LE) bit = 4;
        if (c->iColumn == C_SINCE && c->op == SQLITE_INDEX_CONSTRAINT_EQ) bit = 5;
        if (c->iColumn == C_UNTIL && c->op == SQLITE_INDEX_CONSTRAINT_EQ) bit = 6;
        if (bit < 0 || slot[bit] >= 0) continue;
        slot[bit] = i;
        plan |= 1 << bit;
    }
    int arg = 1;
    for (int bit = 0; bit < 7; bit++) {
        if (slot[bit] < 0) continue;
        info->aConstraintUsage[slot[bit]].argvIndex = arg++;
        /* the hidden arguments have no value to check again */
        info->aConstraintUsage[slot[bit]].omit = bit >= 5;
        /* an IN list is taken whole: each block is then read once for all of it */
        if (bit == 0 && sqlite3_vtab_in(info, slot[0], -1) && sqlite3_vtab_in(info, slot[0], 1))
            plan |= P_IP_SET;
    }
    info->idxNum = plan;
    bool windows = plan & (P_END_GT | P_END_GE | P_START_LT | P_START_LE | P_SINCE | P_UNTIL);
    info->estimatedCost = plan & P_IP ? 10 : windows ? 1e5 : 1e7;
    info->estimatedRows = plan & P_IP ? 4 : windows ? 100000 : 10000000;
    return SQLITE_OK;
}

static int ev_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    struct ev_cursor *c = sqlite3_malloc(sizeof *c);
    if (!c) return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->db = ((struct ev_vtab *)vt)->db;
    *out = &c->base;
    return SQLITE_OK;
}

static void reset(struct ev_cursor *c)
{
    sqlite3_finalize(c->blocks);
    sqlite3_blob_close(c->blob);
    sqlite3_value_free(c->since);
    sqlite3_value_free(c->until);
    c->blocks = NULL;
    c->blob = NULL;
    c->since = c->until = NULL;
    c->data = NULL;
    sqlite3_free(c->ips);
    c->ips = NULL;
    c->n_ips = c->k = 0;
}

static int ev_close(sqlite3_vtab_cursor *cur)
{
    struct ev_cursor *c = (struct ev_cursor *)cur;
    reset(c);
    sqlite3_finalize(c->as_name);
    sqlite3_free(c);
    return SQLITE_OK;
}

static int fail(struct ev_cursor *c, int rc, const char *msg)
{
    sqlite3_vtab *vt = c->base.pVtab;
    sqlite3_free(vt->zErrMsg);
    vt->zErrMsg = sqlite3_mprintf("mamori_events: %s", msg ? msg : sqlite3_errmsg(c->db));
    return rc;
}

static int read_blob(void *ctx, size_t i, uint8_t *buf)
{
    struct ev_cursor *c = ctx;
    return sqlite3_blob_read(c->blob, buf, EV_RECORD, (int)(i * EV_RECORD)) == SQLITE_OK ? 0 : -1;
}

/* Steps to the next block that may hold a record; c->i at its first. */
static int next_block(struct ev_cursor *c)
{
    for (;;) {
        int rc = sqlite3_step(c->blocks);
        if (rc == SQLITE_DONE) {
            c->eof = true;
            return SQLITE_OK;
        }
        if (rc != SQLITE_ROW) return fail(c, rc, NULL);
        c->block = sqlite3_column_int64(c->blocks, 0);
        c->window_start = sqlite3_column_int64(c->blocks, 1);
        c->window_end = sqlite3_column_int64(c->blocks, 2);
        int64_t n = sqlite3_column_int64(c->blocks, 3);
        size_t bytes;
        if (c->by_ip) {
            rc = c->blob ? sqlite3_blob_reopen(c->blob, c->block)
                         : sqlite3_blob_open(c->db, "main", "event_blocks", "records", c->block, 0,
                                             &c->blob);
            if (rc != SQLITE_OK) return fail(c, rc, NULL);
            bytes = (size_t)sqlite3_blob_bytes(c->blob);
        } else {
            c->data = sqlite3_column_blob(c->blocks, 4);
            bytes = (size_t)sqlite3_column_bytes(c->blocks, 4);
        }
        if (n < 0 || n > EV_BLOCK_RECORDS || bytes != (size_t)n * EV_RECORD) {
            char msg[96];
            snprintf(msg, sizeof msg, "event block %lld holds %zu bytes for %lld records",
                     (long long)c->block, bytes, (long long)n);
            return fail(c, SQLITE_CORRUPT, msg);
        }
        c->n = (size_t)n;
        c->i = 0;
        if (c->by_ip) {
            long at = ev_lower_bound(c->n, c->ip, read_blob, c);
            if (at < 0) return fail(c, SQLITE_IOERR, NULL);
            c->i = (size_t)at;
        }
        if (c->i < c->n) return SQLITE_OK;
    }
}

/* Decodes record c->i, moving on through the blocks until one matches. */
static int read_mem(void *ctx, size_t i, uint8_t *buf)
{
    memcpy(buf, (const uint8_t *)ctx + i * EV_RECORD, EV_RECORD);
    return 0;
}

/* by_set: the next record at or after c->i whose address is in the list,
 * both being in address order: a binary search to each listed address. */
static int load_set(struct ev_cursor *c)
{
    while (!c->eof) {
        while (c->i < c->n && c->k < c->n_ips) {
            const uint8_t *rec = c->data + c->i * EV_RECORD;
            int cmp = memcmp(ev_ip(rec), c->ips[c->k], 16);
            if (cmp == 0) {
                ev_unpack(rec, &c->row);
                return SQLITE_OK;
            }
            if (cmp > 0)
                c->k++;
            else
                c->i += (size_t)ev_lower_bound(c->n - c->i, c->ips[c->k], read_mem, (void *)rec);
        }
        int rc = next_block(c);
        if (rc != SQLITE_OK) return rc;
        c->k = 0;
    }
    return SQLITE_OK;
}

static int load(struct ev_cursor *c)
{
    if (c->by_set) return load_set(c);
    while (!c->eof) {
        if (c->i < c->n) {
            uint8_t buf[EV_RECORD];
            const uint8_t *rec = buf;
            if (!c->by_ip)
                rec = c->data + c->i * EV_RECORD;
            else if (read_blob(c, c->i, buf) < 0)
                return fail(c, SQLITE_IOERR, NULL);
            if (!c->by_ip || memcmp(ev_ip(rec), c->ip, 16) == 0) {
                ev_unpack(rec, &c->row);
                return SQLITE_OK;
            }
        }
        int rc = next_block(c);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

/* A database not migrated yet: its rows as they are. */
static int legacy_step(struct ev_cursor *c)
{
    int rc = sqlite3_step(c->blocks);
    c->eof = rc != SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : fail(c, rc, NULL);
}

static int by_addr(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* The IN list's values as addresses, sorted and distinct; eof when none parses. */
static int ip_set(struct ev_cursor *c, sqlite3_value *list)
{
    size_t cap = 0;
    sqlite3_value *v;
    int rc;
    for (rc = sqlite3_vtab_in_first(list, &v); rc == SQLITE_OK && v;
         rc = sqlite3_vtab_in_next(list, &v)) {
        const char *text = (const char *)sqlite3_value_text(v);
        struct ipaddr ip;
        if (!text || ip_parse(text, &ip) < 0) continue; /* matches no row */
        if (c->n_ips == cap) {
            cap = cap ? cap * 2 : 64;
            void *g = sqlite3_realloc64(c->ips, cap * 16);
            if (!g) return SQLITE_NOMEM;
            c->ips = g;
        }
        memcpy(c->ips[c->n_ips++], ip.b, 16);
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) return fail(c, rc, NULL);
    qsort(c->ips, c->n_ips, 16, by_addr);
    size_t u = 0;
    for (size_t i = 0; i < c->n_ips; i++)
        if (!u || memcmp(c->ips[u - 1], c->ips[i], 16)) memcpy(c->ips[u++], c->ips[i], 16);
    c->n_ips = u;
    c->eof = u == 0;
    return SQLITE_OK;
}

static bool has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

static int ev_filter(sqlite3_vtab_cursor *cur, int plan, const char *unused, int argc,
                     sqlite3_value **argv)
{
    (void)unused;
    struct ev_cursor *c = (struct ev_cursor *)cur;
    reset(c);
    c->eof = false;
    c->n = c->i = 0;
    c->legacy = !has_table(c->db, "event_blocks");
    if (c->legacy && !has_table(c->db, "source_events"))
        return fail(c, SQLITE_ERROR, "not a mamori database (no event_blocks or source_events)");
    c->by_set = (plan & P_IP_SET) && !c->legacy;
    c->by_ip = (plan & P_IP) && !c->legacy && !c->by_set;
    char sql[512];
    int o = snprintf(sql, sizeof sql, "%s",
                     c->legacy  ? "SELECT id, window_start, window_end, ip, first_seen_us,"
                                  " last_seen_us, packets, bytes, ports, fingerprints, classes, cc,"
                                  " asn, lat, lon FROM main.source_events WHERE 1"
                     : c->by_ip ? "SELECT id, window_start, window_end, n FROM main.event_blocks"
                                  " WHERE 1"
                                : "SELECT id, window_start, window_end, n, records"
                                  " FROM main.event_blocks WHERE 1");
    int arg = 0, param[7], next = 1; /* argv[i] binds SQL parameter param[i] (0: none) */
    for (int bit = 0; bit < 7 && o < (int)sizeof sql; bit++) {
        if (!(plan & (1 << bit))) continue;
        const char *cond = plan_sql[bit];
        if (bit == 0) /* an unmigrated database's IN list: SQLite checks it on each row */
            cond = c->legacy   ? (plan & P_IP_SET ? "" : " AND ip = ?")
                   : c->by_set ? " AND ip_hi >= ? AND ip_lo <= ?"
                               : " AND ip_lo <= ? AND ip_hi >= ?1";
        if (bit >= 5 && arg < argc) { /* since, until: a NULL is no bound, a number or bust */
            int t = sqlite3_value_numeric_type(argv[arg]);
            if (t == SQLITE_NULL)
                cond = "";
            else if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
                return fail(c, SQLITE_MISMATCH,
                            bit == 5 ? "since is not a number (seconds, or NULL for no bound)"
                                     : "until is not a number (seconds, or NULL for no bound)");
        }
        param[arg] = *cond ? next : 0;
        next += bit == 0 && c->by_set ? 2 : *cond ? 1 : 0;
        o += snprintf(sql + o, sizeof sql - (size_t)o, "%s", cond);
        if (bit == 5 && arg < argc) c->since = sqlite3_value_dup(argv[arg]);
        if (bit == 6 && arg < argc) c->until = sqlite3_value_dup(argv[arg]);
        arg++;
    }
    snprintf(sql + o, sizeof sql - (size_t)o, " ORDER BY id");
    if (sqlite3_prepare_v2(c->db, sql, -1, &c->blocks, NULL) != SQLITE_OK)
        return fail(c, SQLITE_ERROR, NULL);
    for (int i = 0; i < argc && i < arg; i++) {
        if (i == 0 && c->by_set) {
            int rc = ip_set(c, argv[0]);
            if (rc != SQLITE_OK || c->eof) return rc;
            sqlite3_bind_blob(c->blocks, 1, c->ips[0], 16, SQLITE_STATIC);
            sqlite3_bind_blob(c->blocks, 2, c->ips[c->n_ips - 1], 16, SQLITE_STATIC);
        } else if (i == 0 && c->by_ip) { /* the address as its 16 bytes, or no rows */
            const char *text = (const char *)sqlite3_value_text(argv[0]);
            struct ipaddr ip;
            if (!text || ip_parse(text, &ip) < 0) {
                c->eof = true;
                return SQLITE_OK;
            }
            memcpy(c->ip, ip.b, 16);
            sqlite3_bind_blob(c->blocks, 1, c->ip, 16, SQLITE_STATIC);
        } else if (param[i]) {
            sqlite3_bind_value(c->blocks, param[i], argv[i]);
        }
    }
    if (c->legacy) return legacy_step(c);
    int rc = next_block(c);
    return rc == SQLITE_OK ? load(c) : rc;
}

static int ev_next(sqlite3_vtab_cursor *cur)
{
    struct ev_cursor *c = (struct ev_cursor *)cur;
    if (c->legacy) return legacy_step(c);
    c->i++;
    return load(c);
}

static int ev_eof(sqlite3_vtab_cursor *cur)
{
    return ((struct ev_cursor *)cur)->eof;
}

static int64_t row_id(const struct ev_cursor *c)
{
    return c->block * EV_BLOCK_RECORDS + (int64_t)c->i; /* unique, in write order */
}

static void text(sqlite3_context *ctx, const char *s)
{
    sqlite3_result_text(ctx, s, -1, SQLITE_TRANSIENT);
}

static void as_name(struct ev_cursor *c, sqlite3_context *ctx)
{
    if (!c->row.asn) return;
    if (!c->as_name && sqlite3_prepare_v2(c->db, "SELECT name FROM main.as_names WHERE asn = ?", -1,
                                          &c->as_name, NULL) != SQLITE_OK)
        return; /* none stored */
    sqlite3_bind_int64(c->as_name, 1, c->row.asn);
    if (sqlite3_step(c->as_name) == SQLITE_ROW)
        sqlite3_result_value(ctx, sqlite3_column_value(c->as_name, 0));
    sqlite3_reset(c->as_name);
}

static int ev_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    struct ev_cursor *c = (struct ev_cursor *)cur;
    const struct src_row *r = &c->row;
    char buf[96];
    if (col == C_SINCE || col == C_UNTIL) {
        sqlite3_value *v = col == C_SINCE ? c->since : c->until;
        if (v) sqlite3_result_value(ctx, v);
        return SQLITE_OK;
    }
    if (c->legacy) { /* the old table's columns, as stored */
        if (col <= C_LON) sqlite3_result_value(ctx, sqlite3_column_value(c->blocks, col));
        return SQLITE_OK;
    }
    switch ((enum col)col) {
    case C_ID:
        sqlite3_result_int64(ctx, row_id(c));
        break;
    case C_WINDOW_START:
        sqlite3_result_int64(ctx, c->window_start);
        break;
    case C_WINDOW_END:
        sqlite3_result_int64(ctx, c->window_end);
        break;
    case C_IP:
        text(ctx, ip_format(&r->ip, buf));
        break;
    case C_FIRST:
        sqlite3_result_int64(ctx, r->first_us);
        break;
    case C_LAST:
        sqlite3_result_int64(ctx, r->last_us);
        break;
    case C_PACKETS:
        sqlite3_result_int64(ctx, (int64_t)r->packets);
        break;
    case C_BYTES:
        sqlite3_result_int64(ctx, (int64_t)r->bytes);
        break;
    case C_PORTS:
        ev_ports_text(r, buf, sizeof buf), text(ctx, buf);
        break;
    case C_FINGERPRINTS:
        ev_mask_text(r->fpmask, FP_COUNT, ev_fp_name, buf, sizeof buf), text(ctx, buf);
        break;
    case C_CLASSES:
        ev_mask_text(r->clsmask, CLS_COUNT, ev_class_name, buf, sizeof buf), text(ctx, buf);
        break;
    case C_CC:
        if (r->cc[0]) sqlite3_result_text(ctx, r->cc, r->cc[1] ? 2 : 1, SQLITE_TRANSIENT);
        break;
    case C_ASN:
        if (r->asn) sqlite3_result_int64(ctx, r->asn);
        break;
    case C_LAT:
        if (r->has_loc) sqlite3_result_double(ctx, r->lat);
        break;
    case C_LON:
        if (r->has_loc) sqlite3_result_double(ctx, r->lon);
        break;
    case C_AS_NAME:
        as_name(c, ctx);
        break;
    case C_MORE_PORTS:
        sqlite3_result_int(ctx, r->more_ports);
        break;
    default:
        break;
    }
    return SQLITE_OK;
}

static int ev_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
    struct ev_cursor *c = (struct ev_cursor *)cur;
    *out = c->legacy ? sqlite3_column_int64(c->blocks, 0) : row_id(c);
    return SQLITE_OK;
}

static const sqlite3_module ev_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: there is nothing to create */
    .xConnect = ev_connect,
    .xBestIndex = ev_best_index,
    .xDisconnect = ev_disconnect,
    .xDestroy = ev_disconnect,
    .xOpen = ev_open,
    .xClose = ev_close,
    .xFilter = ev_filter,
    .xNext = ev_next,
    .xEof = ev_eof,
    .xColumn = ev_column,
    .xRowid = ev_rowid,
};

int ev_table_register(sqlite3 *db)
{
    return sqlite3_create_module(db, "mamori_events", &ev_module, NULL);
}
