/* share_collect — the local indicators from the darknet, the honeypot and
 * the survey (see share_collect.h for the rules).
 *
 * Facts are gathered first into one map keyed by (kind, value) — a jansson
 * object, as the counts are thousands, not millions — so that an address's
 * facets merge before anything is written; then the local rows are deleted
 * and put again in one transaction.  Sets (ports, fingerprints, loaders, ...)
 * are objects while gathering and sorted arrays in the stored labels, so
 * the same data always gives the same text.  Survey facts go under
 * labels.survey: export shows them only as counts or anonymized. */
#include "share_collect.h"
#include "../core/addr.h"
#include "../core/classify.h"
#include "../core/err.h"
#include "share.h"
#include "store_int.h"
#include "survey.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Roles, strongest first: the row's role is the first its value has. */
static const char *const roles[] = {"malware-file", "download-url", "loader",    "download-host",
                                    "attacker",     "scanner",      "vulnerable"};
#define N_ROLES (sizeof roles / sizeof roles[0])

int share_tlp_rank(const char *tlp)
{
    static const char *const names[] = {"clear", "green", "amber", "amber+strict", "red"};
    for (int i = 0; tlp && i < 5; i++)
        if (!strcmp(tlp, names[i])) return i;
    return -1;
}

struct gather {
    json_t *map; /* "kind value" -> entry */
    struct share_collect_counts *n;
};

static int db_err(sqlite3 *db, const char *what)
{
    return err_set(-EIO, "database: %s: %s", what, sqlite3_errmsg(db));
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* The entry of (kind, value), made on first use. */
static json_t *entry(struct gather *g, const char *kind, const char *value)
{
    char key[4200];
    if (snprintf(key, sizeof key, "%s %s", kind, value) >= (int)sizeof key) return NULL;
    json_t *e = json_object_get(g->map, key);
    if (e) return e;
    e = json_pack("{s:s,s:s,s:{},s:I,s:I,s:I,s:i,s:{},s:{}}", "kind", kind, "value", value, "roles",
                  "first", (json_int_t)INT64_MAX, "last", (json_int_t)INT64_MIN, "sightings",
                  (json_int_t)0, "confidence", 0, "labels", "survey");
    if (!e || json_object_set_new(g->map, key, e)) return NULL;
    return e;
}

static void fact(json_t *e, const char *role, int64_t first, int64_t last, uint64_t sightings,
                 int confidence)
{
    json_object_set_new(json_object_get(e, "roles"), role, json_true());
    json_t *f = json_object_get(e, "first"), *l = json_object_get(e, "last");
    if (first < json_integer_value(f)) json_integer_set(f, first);
    if (last > json_integer_value(l)) json_integer_set(l, last);
    json_t *s = json_object_get(e, "sightings");
    json_integer_set(s, json_integer_value(s) + (json_int_t)sightings);
    json_t *c = json_object_get(e, "confidence");
    if (confidence > json_integer_value(c)) json_integer_set(c, confidence);
}

/* Adds v to the set name of labels (or labels.survey when survey is set). */
static void set_add(json_t *e, bool survey, const char *name, json_t *v)
{
    json_t *where = json_object_get(e, survey ? "survey" : "labels");
    json_t *set = json_object_get(where, name);
    if (!set) json_object_set_new(where, name, set = json_object());
    char key[4200];
    if (json_is_integer(v))
        snprintf(key, sizeof key, "%020lld", (long long)json_integer_value(v));
    else
        snprintf(key, sizeof key, "%s", json_string_value(v) ? json_string_value(v) : "");
    json_object_set_new(set, key, v);
}

static void set_add_str(json_t *e, bool survey, const char *name, const char *s)
{
    if (s && *s) set_add(e, survey, name, json_string(s));
}

/* Adds each item of a comma-separated list (ports as numbers). */
static void set_add_list(json_t *e, const char *name, const char *list, bool numbers)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (numbers)
            set_add(e, false, name, json_integer(strtoll(t, NULL, 10)));
        else
            set_add_str(e, false, name, t);
    }
}

static bool is_ip(const char *s, const char **kind)
{
    struct ipaddr a;
    if (ip_parse(s, &a)) return false;
    *kind = strchr(s, ':') ? "ipv6-addr" : "ipv4-addr";
    return true;
}

/* --- the darknet -------------------------------------------------------------- */

static int scanner_confidence(const char *fps, uint64_t packets)
{
    char pat[40];
    int c = 40;
    snprintf(pat, sizeof pat, ",%s,", fp_defs[FP_MIRAI].name);
    char list[300];
    snprintf(list, sizeof list, ",%s,", fps);
    if (strstr(list, pat))
        c = 80;
    else
        for (int i = FP_ZMAP; i <= FP_NMAP; i++) {
            snprintf(pat, sizeof pat, ",%s,", fp_defs[i].name);
            if (strstr(list, pat)) c = 60;
        }
    c += packets >= 1000 ? 15 : packets >= 100 ? 10 : packets >= 10 ? 5 : 0;
    return c > 95 ? 95 : c;
}

static int gather_darknet(struct store *s, struct gather *g, size_t max)
{
    sqlite3 *db = store_db(s);
    /* Sources that probed (a SYN, a datagram, an echo request); backscatter
     * comes from victims of spoofing, not from scanners. */
    /* clang-format off */
    static const char q[] =
        "SELECT ip, min(first_seen_us), max(last_seen_us), sum(packets), mamori_union(ports),"
        " mamori_union(fingerprints), mamori_union(classes), max(asn), max(as_name), max(cc)"
        " FROM mamori_events(?1, ?2)"
        " WHERE ',' || classes || ',' LIKE '%,tcp_syn,%' OR ',' || classes || ',' LIKE '%,udp,%'"
        "  OR ',' || classes || ',' LIKE '%,icmp_request,%'"
        " GROUP BY ip ORDER BY sum(packets) DESC, ip LIMIT ?3";
    /* clang-format on */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) return db_err(db, "darknet sources");
    sqlite3_bind_int64(st, 1, 0);
    sqlite3_bind_int64(st, 2, 253402300800LL); /* 10000-01-01: every window */
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ip = col(st, 0), *kind;
        if (!is_ip(ip, &kind)) continue;
        json_t *e = entry(g, kind, ip);
        if (!e) break;
        uint64_t packets = (uint64_t)sqlite3_column_int64(st, 3);
        const char *fps = col(st, 5);
        fact(e, "scanner", sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2), packets,
             scanner_confidence(fps, packets));
        set_add_list(e, "ports", col(st, 4), true);
        set_add_list(e, "fingerprints", fps, false);
        set_add_list(e, "classes", col(st, 6), false);
        json_t *lab = json_object_get(e, "labels");
        json_object_set_new(lab, "packets", json_integer((json_int_t)packets));
        if (sqlite3_column_int64(st, 7))
            json_object_set_new(lab, "asn", json_integer(sqlite3_column_int64(st, 7)));
        if (*col(st, 8)) json_object_set_new(lab, "as_name", json_string(col(st, 8)));
        if (*col(st, 9)) json_object_set_new(lab, "cc", json_string(col(st, 9)));
        char l[300];
        snprintf(l, sizeof l, ",%s,", fps);
        if (strstr(l, ",mirai,")) set_add_str(e, false, "malware", "mirai");
        g->n->scanners++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(db, "darknet sources");
}

/* --- the honeypot ------------------------------------------------------------- */

static bool sha256_hex(const char *s, char out[65])
{
    if (strlen(s) != 64) return false;
    for (int i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char)s[i])) return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[64] = 0;
    return true;
}

/* A host as an indicator's kind and canonical value (domains lower-case
 * without a final dot). */
static const char *host_value(const char *h, char *out, size_t cap, const char **kind)
{
    if (is_ip(h, kind)) return h;
    size_t n = strlen(h);
    if (!n || n >= cap) return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)h[i]);
    out[n] = 0;
    if (out[n - 1] == '.') out[n - 1] = 0;
    *kind = "domain-name";
    return *out ? out : NULL;
}

static json_t *honeypot_entry(struct gather *g, const char *type, const char *value,
                              const char **role, int *conf)
{
    const char *kind = NULL;
    char buf[4100];
    if (!strcmp(type, "attacker-ip") || !strcmp(type, "loader-ip")) {
        bool loader = type[0] == 'l';
        if (!is_ip(value, &kind)) return NULL;
        *role = loader ? "loader" : "attacker";
        *conf = loader ? 90 : 80;
        if (loader)
            g->n->loaders++;
        else
            g->n->attackers++;
    } else if (!strcmp(type, "url")) {
        kind = "url";
        *role = "download-url";
        *conf = 90;
        g->n->urls++;
    } else if (!strcmp(type, "host")) {
        if (!(value = host_value(value, buf, sizeof buf, &kind))) return NULL;
        *role = "download-host";
        *conf = 85;
        g->n->hosts++;
    } else if (!strcmp(type, "sha256")) {
        char hex[65];
        if (!sha256_hex(value, hex)) return NULL;
        snprintf(buf, sizeof buf, "sha256:%s", hex);
        value = buf;
        kind = "file";
        *role = "malware-file";
        *conf = 95;
        g->n->files++;
    } else {
        return NULL;
    }
    return entry(g, kind, value);
}

static int gather_honeypot(struct store *s, struct gather *g)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT type, value, first_seen_us, last_seen_us, count FROM indicators"
                           " ORDER BY type, value",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "honeypot indicators");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *role;
        int conf;
        json_t *e = honeypot_entry(g, col(st, 0), col(st, 1), &role, &conf);
        if (!e) continue;
        int64_t c = sqlite3_column_int64(st, 4);
        fact(e, role, sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
             (uint64_t)(c > 0 ? c : 1), conf);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(db, "honeypot indicators");
}

/* Links downloads to the addresses that had them fetched, and names Mirai
 * where its loader's token (/bin/busybox MIRAI, ECCHI) or its file names show. */
static int gather_links(struct store *s, struct gather *g)
{
    sqlite3 *db = store_db(s);
    /* clang-format off */
    static const char q[] =
        "SELECT s.src_ip, coalesce(d.url, ''), coalesce(d.host, ''), coalesce(d.sha256, ''),"
        "  coalesce(d.path, ''), 0"
        " FROM lure_downloads d JOIN lure_sessions s ON s.session = d.session"
        " UNION ALL "
        "SELECT DISTINCT s.src_ip, '', '', '', '', 1 FROM lure_sessions s"
        " JOIN lure_commands c ON c.session = s.session"
        " WHERE c.input LIKE '%busybox MIRAI%' OR c.input LIKE '%busybox ECCHI%'"
        " ORDER BY 1, 2, 3, 4, 5";
    /* clang-format on */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) return db_err(db, "downloads");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ip = col(st, 0), *url = col(st, 1), *host = col(st, 2), *sha = col(st, 3);
        const char *path = col(st, 4), *kind;
        bool mirai_token = sqlite3_column_int(st, 5);
        char hbuf[4100], hex[65], fv[80];
        json_t *loader = NULL, *u = NULL, *h = NULL, *f = NULL;
        char key[4200];
        if (is_ip(ip, &kind)) {
            snprintf(key, sizeof key, "%s %s", kind, ip);
            loader = json_object_get(g->map, key);
        }
        if (*url) {
            snprintf(key, sizeof key, "url %s", url);
            u = json_object_get(g->map, key);
        }
        const char *hv = *host ? host_value(host, hbuf, sizeof hbuf, &kind) : NULL;
        if (hv) {
            snprintf(key, sizeof key, "%s %s", kind, hv);
            h = json_object_get(g->map, key);
        }
        if (*sha && sha256_hex(sha, hex)) {
            snprintf(fv, sizeof fv, "file sha256:%s", hex);
            f = json_object_get(g->map, fv);
        }
        bool mirai = mirai_token || strcasestr(url, "mirai") || strcasestr(path, "mirai");
        json_t *got[] = {u, h, f};
        for (int i = 0; i < 3; i++) {
            if (!got[i]) continue;
            if (loader) set_add_str(got[i], false, "loaders", ip);
            if (mirai) set_add_str(got[i], false, "malware", "mirai");
            if (i == 2 && *path)
                set_add_str(f, false, "names", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
        }
        if (loader) {
            if (mirai) set_add_str(loader, false, "malware", "mirai");
            if (*url) set_add_str(loader, false, "urls", url);
            if (hv) set_add_str(loader, false, "hosts", hv);
            if (f) set_add_str(loader, false, "files", fv + 5);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(db, "downloads");
}

/* --- the survey ------------------------------------------------------------------ */

static int gather_survey(struct store *s, struct gather *g)
{
    char round[64];
    int rc = survey_latest_round(s, round, sizeof round);
    if (rc <= 0) return rc;
    struct survey_findings f;
    if ((rc = survey_read_findings(s, round, &f))) return rc;
    for (size_t i = 0; i < f.n; i++) {
        const struct survey_finding *x = &f.v[i];
        const char *kind;
        if (x->state != SURVEY_VULNERABLE || !is_ip(x->ip, &kind)) continue;
        json_t *e = entry(g, kind, x->ip);
        if (!e) break;
        fact(e, "vulnerable", x->ts_us, x->ts_us, 1, 90);
        set_add(e, true, "ports", json_integer(x->port));
        set_add_str(e, true, "protocols", x->protocol);
        set_add_str(e, true, "classes", x->cred_class);
        set_add_str(e, true, "devices", x->device);
        json_object_set_new(json_object_get(e, "survey"), "round", json_string(f.round));
        g->n->vulnerable++;
    }
    survey_findings_free(&f);
    return 0;
}

/* --- writing ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sets (objects whose keys sort as their values should) become arrays in key order. */
static json_t *sets_to_arrays(json_t *o)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_object(v) || !strcmp(k, "survey")) {
            json_object_set(out, k, v);
            continue;
        }
        const char **keys = malloc((json_object_size(v) + 1) * sizeof *keys);
        size_t n = 0;
        const char *sk;
        json_t *sv;
        if (!keys) continue;
        json_object_foreach(v, sk, sv) keys[n++] = sk;
        qsort(keys, n, sizeof *keys, cmp_str);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append(a, json_object_get(v, keys[i]));
        json_object_set_new(out, k, a);
        free(keys);
    }
    return out;
}

static int put_entry(struct store *s, json_t *e, const char *tlp)
{
    const char *role = NULL;
    json_t *rs = json_object_get(e, "roles");
    for (size_t i = 0; i < N_ROLES && !role; i++)
        if (json_object_get(rs, roles[i])) role = roles[i];
    if (!role) return 0;
    json_t *lab = sets_to_arrays(json_object_get(e, "labels"));
    if (!lab) return err_set(-ENOMEM, "share: out of memory");
    json_t *ra = json_array();
    for (size_t i = 0; i < N_ROLES; i++)
        if (json_object_get(rs, roles[i])) json_array_append_new(ra, json_string(roles[i]));
    json_object_set_new(lab, "roles", ra);
    json_t *sv = json_object_get(e, "survey");
    if (json_object_size(sv)) json_object_set_new(lab, "survey", sets_to_arrays(sv));
    char *text = json_dumps(lab, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(lab);
    if (!text) return err_set(-ENOMEM, "share: out of memory");
    int64_t last = json_integer_value(json_object_get(e, "last"));
    struct share_ind d = {
        .kind = json_string_value(json_object_get(e, "kind")),
        .value = json_string_value(json_object_get(e, "value")),
        .role = role,
        .source = SHARE_LOCAL,
        .tlp = tlp,
        .labels = text,
        .first_us = json_integer_value(json_object_get(e, "first")),
        .last_us = last,
        .received_us = last,
        .sightings = (uint64_t)json_integer_value(json_object_get(e, "sightings")),
        .confidence = (int)json_integer_value(json_object_get(e, "confidence")),
    };
    int rc = share_put(s, &d);
    free(text);
    return rc < 0 ? rc : 0;
}

static int replace_local(struct store *s, json_t *map, const char *tlp, uint64_t *rows)
{
    sqlite3 *db = store_db(s);
    int rc = share_begin(s);
    if (rc) return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM share_indicators WHERE source = ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = db_err(db, "share local");
        goto fail;
    }
    sqlite3_bind_text(st, 1, SHARE_LOCAL, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(db, "share local");
    sqlite3_finalize(st);
    if (rc) goto fail;
    const char *k;
    json_t *e;
    json_object_foreach(map, k, e)
    {
        if ((rc = put_entry(s, e, tlp))) goto fail;
        (*rows)++;
    }
    if ((rc = share_commit(s))) goto fail;
    return 0;
fail:
    share_rollback(s);
    *rows = 0;
    return rc;
}

int share_collect_local(struct store *s, const struct share_collect_opts *o,
                        struct share_collect_counts *out)
{
    struct share_collect_counts n = {0};
    const char *tlp = o && o->tlp ? o->tlp : "clear";
    if (share_tlp_rank(tlp) < 0) return err_set(-EINVAL, "share: unknown TLP '%s'", tlp);
    struct gather g = {.map = json_object(), .n = &n};
    if (!g.map) return err_set(-ENOMEM, "share: out of memory");
    int rc = gather_darknet(s, &g, o && o->max_scanners ? o->max_scanners : 100000);
    if (!rc) rc = gather_honeypot(s, &g);
    if (!rc) rc = gather_links(s, &g);
    if (!rc) rc = gather_survey(s, &g);
    if (!rc) rc = replace_local(s, g.map, tlp, &n.rows);
    json_decref(g.map);
    if (out) *out = n;
    return rc;
}
