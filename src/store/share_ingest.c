/* share_ingest — STIX objects from others into the indicator model (see
 * share_ingest.h).
 *
 * An object is checked (stix_check_object, and the bounds here) before
 * anything is written, so a refused object changes nothing.  The values an
 * object names are canonical before they are compared or stored (share.h),
 * so dedup by value works across sources whatever their spelling
 * ("198.051.100.7" is refused by inet_pton, "198.51.100.7/32" is the address,
 * "Example.COM." is example.com, hashes lower-case).  Idempotence: share_seen
 * remembers, per source, each object id and the newest "modified" taken from
 * it; an object not newer than that is counted (its values as duplicates) and
 * changes nothing.  The table is created here on first use (IF NOT EXISTS)
 * rather than as a schema step: it is the importer's bookkeeping, which
 * nothing else reads. */
#include "share_ingest.h"
#include "../core/addr.h"
#include "../core/err.h"
#include "../core/stix.h"
#include "../core/stixpat.h"
#include "share.h"
#include "store_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int db_err(sqlite3 *db, const char *what)
{
    return err_set(-EIO, "database: %s: %s", what, sqlite3_errmsg(db));
}

/* --- bounds and canonical values -------------------------------------------------------------- */

static bool bounded(const json_t *v, int depth)
{
    if (depth > SHARE_OBJ_DEPTH) return false;
    if (json_is_string(v)) return json_string_length(v) <= SHARE_OBJ_STRING;
    const char *k;
    json_t *e;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e) if (!bounded(e, depth + 1)) return false;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) if (!bounded(e, depth + 1)) return false;
    }
    return true;
}

/* The canonical form of a value of kind (algo for file hashes) into out: 0, or -EINVAL. */
static int canonical(const char *kind, const char *algo, const char *v, char *out, size_t cap)
{
    size_t n = strlen(v);
    if (!n || n >= cap) return -EINVAL;
    if (!strcmp(kind, "ipv4-addr") || !strcmp(kind, "ipv6-addr")) {
        bool v6 = kind[3] == '6';
        struct pfx p;
        if (pfx_parse(v, &p) || (bool)p.v4 == v6) return -EINVAL;
        char ip[IP_STRLEN];
        if (p.len == 128)
            snprintf(out, cap, "%s", ip_format(&p.net, ip));
        else
            pfx_format(&p, out, cap);
        return 0;
    }
    if (!strcmp(kind, "domain-name")) {
        while (n && v[n - 1] == '.')
            n--;
        if (!n || n > 253) return -EINVAL;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)v[i];
            if (c <= ' ' || c == 0x7f || strchr("/\\@:", c)) return -EINVAL;
            out[i] = (char)tolower(c);
        }
        out[n] = 0;
        return 0;
    }
    if (!strcmp(kind, "url")) {
        size_t a = strspn(v, " \t\r\n");
        while (n > a && strchr(" \t\r\n", v[n - 1]))
            n--;
        if (n == a) return -EINVAL;
        snprintf(out, cap, "%.*s", (int)(n - a), v + a);
        return 0;
    }
    if (!strcmp(kind, "file") && algo) {
        size_t want = !strcmp(algo, "md5") ? 32 : !strcmp(algo, "sha1") ? 40 : 64;
        if (n != want || strspn(v, "0123456789abcdefABCDEF") != n) return -EINVAL;
        int k = snprintf(out, cap, "%s:", algo);
        for (size_t i = 0; i < n; i++)
            out[k + i] = (char)tolower((unsigned char)v[i]);
        out[k + n] = 0;
        return 0;
    }
    return -EINVAL;
}

/* The most restrictive TLP among an object's markings (TLP 1.0 and 2.0 ids), or NULL. */
static const char *tlp_of(const json_t *obj)
{
    static const struct {
        const char *id, *tlp;
        int rank;
    } tlps[] = {
        {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "clear", 0},
        {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear", 0},
        {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "green", 1},
        {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green", 1},
        {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "amber", 2},
        {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber", 2},
        {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict", 3},
        {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red", 4},
        {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red", 4},
    };
    json_t *refs = json_object_get(obj, "object_marking_refs"), *r;
    size_t i;
    int best = -1;
    const char *out = NULL;
    json_array_foreach(refs, i, r) for (size_t t = 0; t < sizeof tlps / sizeof *tlps;
                                        t++) if (json_string_value(r) &&
                                                 !strcmp(json_string_value(r), tlps[t].id) &&
                                                 tlps[t].rank > best)
    {
        best = tlps[t].rank;
        out = tlps[t].tlp;
    }
    return out;
}

/* --- bookkeeping: share_seen ------------------------------------------------------------------ */

/* The table is schema 9's (share.c). */

/* 1 when source already gave id with modified_us at least this, 0 when not, or an error. */
static int seen_get(sqlite3 *db, const char *source, const char *id, int64_t modified_us)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT modified_us >= ?3 FROM share_seen WHERE source = ?1 AND"
                           " stix_id = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, modified_us);
    int rc = sqlite3_step(st), out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? out : db_err(db, "share seen");
}

static int seen_put(sqlite3 *db, const char *source, const char *id, int64_t modified_us)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO share_seen(source, stix_id, modified_us) VALUES(?1, ?2, ?3)"
                           " ON CONFLICT(source, stix_id) DO UPDATE SET"
                           " modified_us = max(modified_us, excluded.modified_us)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, modified_us);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(db, "share seen");
}

/* 1 when any source has (kind, value), 0 when none, or an error. */
static int value_known(sqlite3 *db, const char *kind, const char *value)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM share_indicators WHERE kind = ?1 AND value = ?2", -1,
                           &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 1;
    return rc == SQLITE_DONE ? 0 : db_err(db, "share lookup");
}

/* --- one object ------------------------------------------------------------------------------- */

struct ctx {
    struct store *s;
    const struct share_ingest_opts *o;
    struct share_ingest_stats *st;
    int trust; /* the source's confidence */
    bool seen; /* this version was taken before: count, change nothing */
    int own;   /* the object's own confidence, -1: none */
    bool fill_only; /* an observed-data: when and how often, not what (share.h) */
    char *labels;
    const char *tlp, *stix_id;
    const char *role; /* from the indicator's "role:" labels, or NULL */
};

/* One named value: canonical, warninglists, dedup, put. */
static int take(struct ctx *c, const char *kind, const char *algo, const char *raw, int64_t first,
                int64_t last, uint64_t sightings)
{
    char v[2048];
    if (canonical(kind, algo, raw, v, sizeof v)) {
        c->st->dropped++; /* a value no indicator can hold: nothing to share */
        return 0;
    }
    if (share_warn_match(c->o->warn, kind, v)) {
        c->st->dropped++;
        return 0;
    }
    c->st->indicators++;
    sqlite3 *db = store_db(c->s);
    int known = value_known(db, kind, v);
    if (known < 0) return known;
    if (c->seen) {
        c->st->duplicates++;
        return 0;
    }
    struct share_ind ind = {.kind = kind,
                            .value = v,
                            .role = c->role ? c->role : "other",
                            .source = c->o->source,
                            .stix_id = c->stix_id,
                            .tlp = c->tlp ? c->tlp : "clear",
                            .labels = c->labels,
                            .first_us = first < last ? first : last,
                            .last_us = last,
                            .received_us = c->o->now_us,
                            .sightings = sightings ? sightings : 1,
                            .confidence = share_trust_combine(c->trust, c->own),
                            .fill_only = c->fill_only};
    int e = share_put(c->s, &ind);
    if (e < 0) return e;
    if (known)
        c->st->duplicates++;
    else
        c->st->fresh++;
    return 0;
}

static int64_t time_of(const json_t *obj, const char *k, int64_t dflt)
{
    int64_t us;
    const char *s = json_string_value(json_object_get(obj, k));
    return s && !stix_time_parse(s, &us) ? us : dflt;
}

static int ingest_indicator(struct ctx *c, const json_t *obj)
{
    const char *pt = json_string_value(json_object_get(obj, "pattern_type"));
    if (strcmp(pt, "stix")) return 0; /* sigma, snort, yara ...: nothing mamori can hold */
    struct stixpat p;
    char msg[160];
    int e = stixpat_parse(json_string_value(json_object_get(obj, "pattern")), &p, msg, sizeof msg);
    if (e) {
        stixpat_free(&p);
        return err_set(e, "pattern: %s", msg);
    }
    int64_t modified = time_of(obj, "modified", c->o->now_us);
    int64_t from = time_of(obj, "valid_from", modified);
    for (size_t i = 0; i < p.n && !e; i++)
        e = take(c, p.v[i].kind, p.v[i].algo, p.v[i].value, from, modified, 1);
    c->st->dropped += p.dropped;
    stixpat_free(&p);
    return e;
}

/* An SCO's value (and kind) when it is one mamori holds. */
static int sco_value(struct ctx *c, const json_t *sco, int64_t first, int64_t last, uint64_t n)
{
    const char *t = json_string_value(json_object_get(sco, "type"));
    if (!t) return 0;
    if (!strcmp(t, "file")) {
        static const char *const keys[][2] = {
            {"SHA-256", "sha256"}, {"SHA-1", "sha1"}, {"MD5", "md5"}};
        json_t *h = json_object_get(sco, "hashes");
        int e = 0;
        for (size_t i = 0; i < 3 && !e; i++) {
            const char *v = json_string_value(json_object_get(h, keys[i][0]));
            if (v) e = take(c, "file", keys[i][1], v, first, last, n);
        }
        return e;
    }
    static const char *const kinds[] = {"ipv4-addr", "ipv6-addr", "domain-name", "url"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(t, kinds[i])) {
            const char *v = json_string_value(json_object_get(sco, "value"));
            return v ? take(c, kinds[i], NULL, v, first, last, n) : 0;
        }
    return 0;
}

static int ingest_observed(struct ctx *c, const json_t *obj)
{
    int64_t last = time_of(obj, "last_observed", c->o->now_us);
    int64_t first = time_of(obj, "first_observed", last);
    uint64_t n = (uint64_t)json_integer_value(json_object_get(obj, "number_observed"));
    json_t *objs = json_object_get(obj, "objects"), *refs = json_object_get(obj, "object_refs"), *v;
    const char *k;
    size_t i;
    int e = 0;
    c->fill_only = true;
    json_array_foreach(json_object_get(obj, "labels"), i, v) if (json_is_string(v) &&
                                                                 !strcmp(json_string_value(v),
                                                                         "vulnerable")) return 0;
    /* ^ a survey's vulnerable device (mamori's export --anonymize): a victim, not a threat */
    json_object_foreach(objs, k, v) if (!e) e = sco_value(c, v, first, last, n);
    json_array_foreach(refs, i, v)
    {
        const json_t *sco = json_object_get(c->o->by_id, json_string_value(v));
        if (!e && sco) {
            char msg[160];
            if (!stix_check_object(sco, msg, sizeof msg)) e = sco_value(c, sco, first, last, n);
        }
    }
    return e;
}

/* The labels mamori writes on an indicator ("role:scanner",
 * "fingerprint:mirai", "malware:mirai", "port:23", "class:tcp_syn"; export
 * indicator_labels) back into the label sets export reads, in their order,
 * so a re-export says the same; the role is the first known "role:" label.
 * Other labels are kept as they are, under "labels". */
static const char *read_labels(const json_t *obj, json_t *lab)
{
    static const char *const roles[] = {"malware-file", "download-url", "loader", "download-host",
                                        "attacker",     "scanner",      "c2",     "vulnerable"};
    static const struct {
        const char *prefix, *set;
    } sets[] = {{"role:", "roles"},
                {"fingerprint:", "fingerprints"},
                {"malware:", "malware"},
                {"port:", "ports"},
                {"class:", "classes"}};
    const char *role = NULL;
    json_t *v, *other = json_array();
    size_t i;
    json_array_foreach(json_object_get(obj, "labels"), i, v)
    {
        const char *t = json_string_value(v);
        size_t k = 0, n = sizeof sets / sizeof *sets;
        for (; t && k < n; k++)
            if (!strncmp(t, sets[k].prefix, strlen(sets[k].prefix))) break;
        if (!t || k == n) {
            if (t) json_array_append(other, v);
            continue;
        }
        const char *rest = t + strlen(sets[k].prefix);
        json_t *item = NULL;
        if (k == 0) {
            for (size_t r = 0; r < sizeof roles / sizeof *roles && !item; r++)
                if (!strcmp(rest, roles[r])) {
                    item = json_string(roles[r]);
                    if (!role) role = roles[r];
                }
        } else if (k == 3) {
            char *end;
            long p = strtol(rest, &end, 10);
            if (*rest >= '0' && *rest <= '9' && !*end && p >= 0 && p <= 65535) item = json_integer(p);
        } else if (*rest) {
            item = json_string(rest);
        }
        if (!item) {
            json_array_append(other, v);
            continue;
        }
        json_t *a = json_object_get(lab, sets[k].set);
        if (!a) json_object_set_new(lab, sets[k].set, a = json_array());
        json_array_append_new(a, item);
    }
    if (json_array_size(other))
        json_object_set_new(lab, "labels", other);
    else
        json_decref(other);
    return role;
}

/* The sighted indicator's values become (or add to) this source's rows. */
static int ingest_sighting(struct ctx *c, const json_t *obj)
{
    if (c->seen) return 0;
    sqlite3 *db = store_db(c->s);
    sqlite3_stmt *st;
    /* clang-format off */
    if (sqlite3_prepare_v2(db,
            "SELECT kind, value, role, tlp, max(source = ?2), max(CASE WHEN source = ?2"
            " THEN confidence END) FROM share_indicators WHERE stix_id = ?1 GROUP BY kind, value",
            -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    /* clang-format on */
    const char *ref = json_string_value(json_object_get(obj, "sighting_of_ref"));
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c->o->source, -1, SQLITE_TRANSIENT);
    json_t *cnt = json_object_get(obj, "count");
    uint64_t n = cnt ? (uint64_t)json_integer_value(cnt) : 1;
    int64_t last = time_of(obj, "last_seen", time_of(obj, "modified", c->o->now_us));
    int64_t first = time_of(obj, "first_seen", last);
    int rc, e = 0;
    while (!e && n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool mine = sqlite3_column_int(st, 4);
        struct share_ind ind = {.kind = (const char *)sqlite3_column_text(st, 0),
                                .value = (const char *)sqlite3_column_text(st, 1),
                                .role = (const char *)sqlite3_column_text(st, 2),
                                .source = c->o->source,
                                .stix_id = ref,
                                .tlp = c->tlp ? c->tlp : (const char *)sqlite3_column_text(st, 3),
                                .labels = mine ? NULL : c->labels,
                                .first_us = first < last ? first : last,
                                .last_us = last,
                                .received_us = c->o->now_us,
                                .sightings = n,
                                .confidence = mine ? sqlite3_column_int(st, 5)
                                                   : share_trust_combine(c->trust, c->own)};
        e = share_put(c->s, &ind);
        if (e > 0) e = 0;
    }
    sqlite3_finalize(st);
    return e;
}

static int trust_of(struct store *s, const char *source, int64_t now_us)
{
    struct share_source src;
    int e = share_source_get(s, source, &src);
    if (e < 0) return e;
    if (e == 1) return src.confidence;
    /* a source nobody graded: F, reliability cannot be judged */
    struct share_source f = {
        .name = source, .reliability = "F", .confidence = share_trust_confidence("F")};
    return (e = share_source_put(s, &f, now_us)) ? e : f.confidence;
}

int share_ingest_object(struct store *s, const json_t *obj, const struct share_ingest_opts *o,
                        struct share_ingest_stats *st)
{
    st->objects++;
    char msg[200];
    if (!bounded(obj, 0)) {
        st->invalid++;
        return err_set(-EINVAL, "nested deeper than %d or a string over %u bytes", SHARE_OBJ_DEPTH,
                       SHARE_OBJ_STRING);
    }
    if (stix_check_object(obj, msg, sizeof msg)) {
        st->invalid++;
        return err_set(-EINVAL, "%s", msg);
    }
    const char *type = json_string_value(json_object_get(obj, "type"));
    int (*fn)(struct ctx *, const json_t *) = !strcmp(type, "indicator")       ? ingest_indicator
                                              : !strcmp(type, "observed-data") ? ingest_observed
                                              : !strcmp(type, "sighting")      ? ingest_sighting
                                                                               : NULL;
    if (!fn) return 0; /* SDOs mamori does not hold, SCOs (read through observed-data), markings */
    if (!o->source || !*o->source) return err_set(-EINVAL, "ingest: no source named");
    int trust = trust_of(s, o->source, o->now_us);
    if (trust < 0) return trust;
    const char *id = json_string_value(json_object_get(obj, "id"));
    int64_t modified = time_of(obj, "modified", 0);
    sqlite3 *db = store_db(s);
    int seen = seen_get(db, o->source, id, modified);
    if (seen < 0) return seen;
    json_t *own = json_object_get(obj, "confidence");
    struct ctx c = {.s = s,
                    .o = o,
                    .st = st,
                    .trust = trust,
                    .seen = seen,
                    .own = own ? (int)json_integer_value(own) : -1,
                    .tlp = tlp_of(obj),
                    .stix_id = !strcmp(type, "indicator") ? id : NULL};
    json_t *lab = json_pack("{s:s, s:s?}", "stix_type", type, "stix_modified",
                            json_string_value(json_object_get(obj, "modified")));
    if (lab && own) json_object_set(lab, "own_confidence", own);
    if (lab && json_object_get(obj, "name"))
        json_object_set(lab, "name", json_object_get(obj, "name"));
    if (lab && json_object_get(obj, "indicator_types"))
        json_object_set(lab, "indicator_types", json_object_get(obj, "indicator_types"));
    if (lab && !strcmp(type, "indicator")) c.role = read_labels(obj, lab);
    c.labels = lab ? json_dumps(lab, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(lab);
    if (!c.labels) return err_set(-ENOMEM, "out of memory");
    int e = fn(&c, obj);
    free(c.labels);
    if (!e && !seen) e = seen_put(db, o->source, id, modified);
    return e;
}

int share_ingest_objects(struct store *s, const json_t *objs, const struct share_ingest_opts *o,
                         struct share_ingest_stats *st,
                         void (*on_invalid)(void *ctx, size_t index, const json_t *obj), void *ctx)
{
    json_t *by_id = json_object(), *v;
    if (!by_id) return err_set(-ENOMEM, "out of memory");
    size_t i;
    json_array_foreach(objs, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        if (id) json_object_set(by_id, id, v);
    }
    struct share_ingest_opts oo = *o;
    oo.by_id = by_id;
    int e = 0;
    for (int pass = 0; pass < 2 && !e; pass++)
        json_array_foreach(objs, i, v)
        {
            const char *t = json_string_value(json_object_get(v, "type"));
            if ((t && !strcmp(t, "sighting")) != (pass == 1)) continue;
            int rc = share_ingest_object(s, v, &oo, st);
            if (rc == -EINVAL) {
                if (on_invalid) on_invalid(ctx, i, v);
            } else if (rc < 0) {
                e = rc;
                break;
            }
        }
    json_decref(by_id);
    return e;
}
