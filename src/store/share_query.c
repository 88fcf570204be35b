/* share_query — the share view for report and serve (share.h: query_share).
 *
 * Four parts: the exchanges (share_log by action and peer), the sources with
 * their trust and what each told us, the values more than one source told
 * (dedup across sources: one value, several reports), and the overall picture
 * as campaigns — groups of scanners, attackers, loaders, download URLs and
 * hosts and file hashes linked by what was seen together: a honeypot session
 * links its source address to every URL it fetched, the URL's host and every
 * file it built; one value told by several sources (the darknet's scanner,
 * a peer's indicator) is one node, so a scanner the darknet saw that also
 * logged in to the honeypot and fetched a loader joins that loader's group.
 * The groups are the connected components of that graph (union-find over
 * nodes keyed by a 64-bit hash of kind and value; a collision would merge two
 * groups, at 2^-64 per pair).  Bounded: at most MAX_NODES nodes are read; the
 * view says when it stopped there. */
#include "share.h"
#include "share_ingest.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/siphash.h"
#include "../core/table.h"
#include "rowjson.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 200000
#define TOP_CAMPAIGNS 20
#define MEMBERS_SHOWN 8

enum node_kind { N_IP, N_URL, N_HOST, N_FILE, N_KINDS };
static const char *const kind_names[N_KINDS] = {"ip", "url", "host", "file"};
/* What an address did (bits): the campaign counts each. */
enum { R_SCANNER = 1, R_ATTACKER = 2, R_LOADER = 4, R_C2 = 8 };

struct node {
    uint64_t key; /* the table key: hash of kind and value */
    uint32_t idx;
};

struct nodeinfo {
    char *value;
    uint32_t parent, sources; /* sources: bit i = the i-th source name seen */
    int64_t first_us, last_us;
    uint8_t kind, roles;
};

struct graph {
    struct table t;
    struct nodeinfo *v;
    size_t n, cap;
    bool truncated;
    char *src_names[32];
    size_t n_src;
    struct siphash_key k;
};

static uint32_t find(struct graph *g, uint32_t i)
{
    while (g->v[i].parent != i) {
        g->v[i].parent = g->v[g->v[i].parent].parent;
        i = g->v[i].parent;
    }
    return i;
}

static void unite(struct graph *g, uint32_t a, uint32_t b)
{
    a = find(g, a);
    b = find(g, b);
    if (a != b) g->v[a > b ? a : b].parent = a < b ? a : b;
}

static uint32_t source_bit(struct graph *g, const char *src)
{
    if (!src) return 0;
    for (size_t i = 0; i < g->n_src; i++)
        if (!strcmp(g->src_names[i], src)) return 1u << i;
    if (g->n_src == 32) return 0; /* more sources than bits: counted as none */
    g->src_names[g->n_src] = strdup(src);
    return g->src_names[g->n_src] ? 1u << g->n_src++ : 0;
}

/* The node of (kind, value), created when new; -1 when the graph is full or out of memory. */
static int64_t node(struct graph *g, enum node_kind kind, const char *value, int64_t ts,
                    const char *src, uint8_t roles)
{
    if (!value || !*value) return -1;
    char buf[8];
    uint64_t h = siphash24(&g->k, value, strlen(value)) ^ ((uint64_t)kind * 0x9E3779B97F4A7C15ull);
    if (!h) h = 1;
    memcpy(buf, &h, 8);
    struct node *e = table_find(&g->t, buf, h);
    if (!e) {
        if (g->n >= MAX_NODES) {
            g->truncated = true;
            return -1;
        }
        if (g->n == g->cap) {
            size_t nc = g->cap ? 2 * g->cap : 1024;
            struct nodeinfo *v = realloc(g->v, nc * sizeof *v);
            if (!v) return -1;
            g->v = v;
            g->cap = nc;
        }
        char *copy = strdup(value);
        bool created;
        if (!copy || !(e = table_get(&g->t, buf, h, &created))) {
            free(copy);
            return -1;
        }
        e->idx = (uint32_t)g->n;
        g->v[g->n++] = (struct nodeinfo){.value = copy,
                                         .parent = e->idx,
                                         .first_us = ts,
                                         .last_us = ts,
                                         .kind = (uint8_t)kind};
    }
    struct nodeinfo *ni = &g->v[e->idx];
    if (ts && (!ni->first_us || ts < ni->first_us)) ni->first_us = ts;
    if (ts > ni->last_us) ni->last_us = ts;
    ni->roles |= roles;
    ni->sources |= source_bit(g, src);
    return e->idx;
}

/* A download host is an address node when it is an address literal. */
static enum node_kind host_kind(const char *h)
{
    if (!h) return N_HOST;
    if (strchr(h, ':')) return N_IP;
    return strspn(h, "0123456789.") == strlen(h) ? N_IP : N_HOST;
}

static int kind_of(const char *k)
{
    if (!strcmp(k, "ipv4-addr") || !strcmp(k, "ipv6-addr")) return N_IP;
    if (!strcmp(k, "url")) return N_URL;
    if (!strcmp(k, "domain-name")) return N_HOST;
    if (!strcmp(k, "file")) return N_FILE;
    return -1;
}

static uint8_t role_bits(const char *r)
{
    if (!r) return 0;
    if (!strcmp(r, "scanner")) return R_SCANNER;
    if (!strcmp(r, "attacker")) return R_ATTACKER;
    if (!strcmp(r, "loader")) return R_LOADER;
    if (!strcmp(r, "c2")) return R_C2;
    return 0;
}

static bool has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* Nodes and links from the honeypot's sessions and downloads. */
static int read_lure(sqlite3 *db, struct graph *g)
{
    if (!has_table(db, "lure_downloads")) return 0;
    /* clang-format off */
    static const char q[] =
        "SELECT s.src_ip, s.login_ok, d.ts_us, d.url, d.host, d.sha256 FROM lure_downloads d"
        " JOIN lure_sessions s ON s.session = d.session ORDER BY d.ts_us";
    /* clang-format on */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
        return err_set(-EIO, "share view: %s", sqlite3_errmsg(db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ip = (const char *)sqlite3_column_text(st, 0);
        int64_t ts = sqlite3_column_int64(st, 2);
        const char *url = (const char *)sqlite3_column_text(st, 3),
                   *host = (const char *)sqlite3_column_text(st, 4),
                   *sha = (const char *)sqlite3_column_text(st, 5);
        uint8_t roles = R_LOADER | (sqlite3_column_int(st, 1) ? R_ATTACKER : 0);
        int64_t a = node(g, N_IP, ip, ts, SHARE_LOCAL, roles);
        if (a < 0) continue;
        int64_t u = node(g, N_URL, url, ts, SHARE_LOCAL, 0);
        if (u >= 0) unite(g, (uint32_t)a, (uint32_t)u);
        int64_t h = node(g, host_kind(host), host, ts, SHARE_LOCAL, host_kind(host) == N_IP ? R_C2 : 0);
        if (h >= 0) unite(g, (uint32_t)(u >= 0 ? u : a), (uint32_t)h);
        char fv[80];
        if (sha) {
            snprintf(fv, sizeof fv, "sha256:%s", sha);
            int64_t f = node(g, N_FILE, fv, ts, SHARE_LOCAL, 0);
            if (f >= 0) unite(g, (uint32_t)a, (uint32_t)f);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : err_set(-EIO, "share view: %s", sqlite3_errmsg(db));
}

/* Every indicator of every source is a node (joining the groups its value is in). */
static int read_indicators(sqlite3 *db, struct graph *g)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT kind, value, role, source, last_us FROM share_indicators", -1,
                           &st, NULL) != SQLITE_OK)
        return err_set(-EIO, "share view: %s", sqlite3_errmsg(db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int k = kind_of((const char *)sqlite3_column_text(st, 0));
        if (k < 0) continue;
        const char *role = (const char *)sqlite3_column_text(st, 2);
        if (role && !strcmp(role, "vulnerable")) continue; /* victims, not a campaign's */
        node(g, (enum node_kind)k, (const char *)sqlite3_column_text(st, 1),
             sqlite3_column_int64(st, 4), (const char *)sqlite3_column_text(st, 3), role_bits(role));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : err_set(-EIO, "share view: %s", sqlite3_errmsg(db));
}

struct group {
    uint32_t root, size;
};

static int by_size(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->root < y->root ? -1 : x->root > y->root;
}

static json_t *campaign(struct graph *g, uint32_t root, uint32_t size)
{
    json_t *o = json_object(), *members = json_object();
    json_t *lists[N_KINDS];
    uint64_t scanners = 0, attackers = 0, loaders = 0, c2 = 0, count[N_KINDS] = {0};
    uint32_t sources = 0;
    int64_t first = 0, last = 0;
    for (int k = 0; k < N_KINDS; k++) lists[k] = json_array();
    for (size_t i = 0; i < g->n; i++) {
        if (find(g, (uint32_t)i) != root) continue;
        struct nodeinfo *ni = &g->v[i];
        count[ni->kind]++;
        scanners += !!(ni->roles & R_SCANNER);
        attackers += !!(ni->roles & R_ATTACKER);
        loaders += !!(ni->roles & R_LOADER);
        c2 += !!(ni->roles & R_C2);
        sources |= ni->sources;
        if (ni->first_us && (!first || ni->first_us < first)) first = ni->first_us;
        if (ni->last_us > last) last = ni->last_us;
        if (json_array_size(lists[ni->kind]) < MEMBERS_SHOWN)
            json_array_append_new(lists[ni->kind], json_string(ni->value));
    }
    json_t *src = json_array();
    for (size_t i = 0; i < g->n_src; i++)
        if (sources & (1u << i)) json_array_append_new(src, json_string(g->src_names[i]));
    char a[32], b[32];
    json_object_set_new(o, "size", json_integer(size));
    json_object_set_new(o, "first", json_string(first ? cli_iso_us(first, a) : ""));
    json_object_set_new(o, "last", json_string(last ? cli_iso_us(last, b) : ""));
    json_object_set_new(o, "addresses", json_integer((json_int_t)count[N_IP]));
    json_object_set_new(o, "scanners", json_integer((json_int_t)scanners));
    json_object_set_new(o, "attackers", json_integer((json_int_t)attackers));
    json_object_set_new(o, "loaders", json_integer((json_int_t)loaders));
    json_object_set_new(o, "download_servers", json_integer((json_int_t)c2));
    json_object_set_new(o, "urls", json_integer((json_int_t)count[N_URL]));
    json_object_set_new(o, "hosts", json_integer((json_int_t)count[N_HOST]));
    json_object_set_new(o, "files", json_integer((json_int_t)count[N_FILE]));
    json_object_set_new(o, "sources", src);
    for (int k = 0; k < N_KINDS; k++) json_object_set_new(members, kind_names[k], lists[k]);
    json_object_set_new(o, "members", members);
    return o;
}

static void graph_free(struct graph *g)
{
    for (size_t i = 0; i < g->n; i++) free(g->v[i].value);
    free(g->v);
    for (size_t i = 0; i < g->n_src; i++) free(g->src_names[i]);
    table_free(&g->t);
}

/* Campaigns: groups of at least two linked nodes, the largest first. */
static json_t *campaigns(sqlite3 *db, bool *truncated)
{
    struct graph g = {.k = {0x6d616d6f72690001ull, 0x7368617265000002ull}};
    json_t *out = NULL;
    struct group *gr = NULL;
    if (table_init(&g.t, sizeof(struct node), 8, 1024)) {
        err_set(-ENOMEM, "share view: out of memory");
        return NULL;
    }
    if (read_lure(db, &g) || read_indicators(db, &g)) goto done;
    size_t ng = 0;
    uint32_t *size = calloc(g.n ? g.n : 1, sizeof *size);
    gr = calloc(g.n ? g.n : 1, sizeof *gr);
    if (!size || !gr) {
        free(size);
        err_set(-ENOMEM, "share view: out of memory");
        goto done;
    }
    for (size_t i = 0; i < g.n; i++) size[find(&g, (uint32_t)i)]++;
    for (size_t i = 0; i < g.n; i++)
        if (size[i] >= 2) gr[ng++] = (struct group){(uint32_t)i, size[i]};
    free(size);
    qsort(gr, ng, sizeof *gr, by_size);
    out = json_array();
    for (size_t i = 0; out && i < ng && i < TOP_CAMPAIGNS; i++)
        json_array_append_new(out, campaign(&g, gr[i].root, gr[i].size));
    *truncated = g.truncated;
done:
    free(gr);
    graph_free(&g);
    return out;
}

static json_t *select_all(sqlite3 *db, const char *q, int64_t now_us)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        err_set(-EIO, "share view: %s", sqlite3_errmsg(db));
        return NULL;
    }
    if (sqlite3_bind_parameter_count(st)) sqlite3_bind_int64(st, 1, now_us);
    return rowjson_all(st);
}

json_t *query_share(struct store *s, int64_t now_us)
{
    sqlite3 *db = store_db(s);
    if (!has_table(db, "share_indicators")) /* older than schema 9, opened read-only */
        return json_pack("{s:[],s:[],s:[],s:[],s:[]}", "exchanges", "sources", "agreed", "campaigns",
                         "scored");
    /* clang-format off */
    static const char exchanges[] =
        "SELECT action, peer, count(*) AS times, sum(objects) AS objects, sum(indicators) AS indicators,"
        " sum(fresh) AS fresh, sum(duplicates) AS duplicates, sum(dropped) AS dropped,"
        " max(ts_us) AS last_us FROM share_log GROUP BY action, peer ORDER BY max(ts_us) DESC LIMIT 50";
    static const char sources[] =
        "SELECT i.source AS source, coalesce(s.reliability, CASE i.source WHEN 'local' THEN 'A' END)"
        " AS reliability, coalesce(s.confidence, CASE i.source WHEN 'local' THEN 100 END) AS trust,"
        " count(*) AS indicators, sum(i.kind IN ('ipv4-addr', 'ipv6-addr')) AS addresses,"
        " sum(i.kind = 'url') AS urls, sum(i.kind = 'domain-name') AS domains,"
        " sum(i.kind = 'file') AS files, CAST(round(avg(i.confidence)) AS INTEGER) AS confidence,"
        " sum(i.sightings) AS sightings, max(i.received_us) AS received_us"
        " FROM share_indicators i LEFT JOIN share_sources s ON s.name = i.source"
        " GROUP BY i.source ORDER BY i.source = 'local' DESC, count(*) DESC, i.source";
    static const char agreed[] =
        "SELECT kind, value, count(*) AS sources, group_concat(source, ',') AS source_list,"
        " max(confidence) AS confidence, sum(sightings) AS sightings, max(last_us) AS last_us"
        " FROM (SELECT * FROM share_indicators ORDER BY source) GROUP BY kind, value"
        " HAVING count(*) > 1 ORDER BY count(*) DESC, max(confidence) DESC, kind, value LIMIT 20";
    /* clang-format on */
    json_t *o = json_object();
    json_t *a = select_all(db, exchanges, now_us);
    json_t *b = a ? select_all(db, sources, now_us) : NULL;
    json_t *c = b ? select_all(db, agreed, now_us) : NULL;
    bool truncated = false;
    json_t *d = c ? campaigns(db, &truncated) : NULL;
    if (!o || !d) {
        json_decref(o);
        json_decref(a);
        json_decref(b);
        json_decref(c);
        return NULL;
    }
    json_object_set_new(o, "exchanges", a);
    json_object_set_new(o, "sources", b);
    json_object_set_new(o, "agreed", c);
    json_object_set_new(o, "campaigns", d);
    if (truncated) json_object_set_new(o, "campaigns_truncated_at", json_integer(MAX_NODES));
    /* the values weighted now: trust x confidence, decayed since last seen (share_trust.c) */
    json_t *sc = json_array();
    if (json_array_size(b)) { /* a copied binary without its data files still reports the rest */
        struct share_decay *dc = share_decay_load(NULL);
        if (dc) {
            json_decref(sc);
            sc = share_values_view(s, dc, now_us, 20);
            share_decay_free(dc);
            if (!sc) {
                json_decref(o);
                return NULL;
            }
        } else {
            json_object_set_new(o, "scored_unavailable", json_string(err_msg()));
        }
    }
    json_object_set_new(o, "scored", sc);
    return o;
}
