/* anon_stix — a STIX 2.1 bundle anonymized in place (anon.h).
 *
 * Three passes over the objects: (1) every property through the value rule
 * (anon_json) and every STIX pattern's quoted literals through it too;
 * (2) new ids, depth first along the refs: an object gets a new id when its
 * content changed or an object it refers to got one — an SCO its
 * deterministic id over the new properties (stix_sco_id: a network-traffic
 * whose src_ref changed changes too), anything else a keyed digest of its
 * old id, because an SDO id an exporter derived from an address
 * (UUIDv5 over the pattern) could be recomputed from all 2^32 candidates;
 * (3) refs are rewritten on the way (*_ref, *_refs at any depth).  Names
 * have their address words rewritten, and "word:ADDRESS" labels their
 * address.  Objects
 * nothing changed keep their ids (identities, TLP marking definitions).
 * Ref chains deeper than 64 are refused rather than recursed into. */
#include "anon.h"

#include "err.h"
#include "stix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

static const char *const sco_types[] = {
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
    NULL,
};

static int is_sco(const char *type)
{
    for (size_t i = 0; type && sco_types[i]; i++)
        if (!strcmp(type, sco_types[i])) return 1;
    return 0;
}

struct sbuf {
    char *p;
    size_t n, cap;
    int bad;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    if (b->bad) return;
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n + 1)
            c *= 2;
        char *q = realloc(b->p, c);
        if (!q) {
            b->bad = 1;
            return;
        }
        b->p = q, b->cap = c;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* A pattern's quoted literals through the value rule (h'..' and b'..' are
 * not strings): the number rewritten, the new pattern in *out (malloc'd)
 * when any. */
static int pattern_rewrite(struct anon *a, const char *p, char **out)
{
    size_t n = strlen(p);
    struct sbuf res = {0};
    char *lit = malloc(n + 1), *rw = malloc(n + 128);
    int count = 0;
    if (!lit || !rw) {
        free(lit), free(rw);
        return 0;
    }
    for (size_t i = 0; i < n;) {
        int hexbin = i > 0 && (p[i - 1] == 'h' || p[i - 1] == 'b');
        if (p[i] != '\'' || hexbin) {
            size_t j = i + 1;
            if (p[i] == '\'') /* skip the whole h'..' or b'..' */
                while (j < n && p[j] != '\'')
                    j++;
            j = j < n && p[i] == '\'' ? j + 1 : j;
            put(&res, p + i, j - i);
            i = j;
            continue;
        }
        size_t j = i + 1, l = 0;
        while (j < n && p[j] != '\'') {
            if (p[j] == '\\' && j + 1 < n) j++;
            lit[l++] = p[j++];
        }
        lit[l] = 0;
        int closed = j < n;
        if (closed && anon_value(a, lit, rw, n + 128) > 0) {
            count++;
            put(&res, "'", 1);
            for (char *q = rw; *q; q++) {
                if (*q == '\'' || *q == '\\') put(&res, "\\", 1);
                put(&res, q, 1);
            }
            put(&res, "'", 1);
        } else { /* copied as it was */
            put(&res, p + i, (closed ? j + 1 : n) - i);
        }
        i = closed ? j + 1 : n;
    }
    free(lit), free(rw);
    if (!count || res.bad) {
        free(res.p);
        return 0;
    }
    *out = res.p;
    return count;
}

struct ctx {
    struct anon *a;
    json_t *objs, *index; /* id -> position */
    uint8_t *state, *changed;
    char (*newid)[STIX_ID_MAX];
};

static int resolve(struct ctx *c, size_t i, int depth);

static int ref_ends(const char *k)
{
    size_t n = strlen(k);
    if (n >= 4 && !strcmp(k + n - 4, "_ref")) return 1;
    if (n >= 5 && !strcmp(k + n - 5, "_refs")) return 2;
    return 0;
}

/* One ref value: resolved, replaced when its target got a new id. */
static int fix_one(struct ctx *c, json_t *s, int depth, int *dirty)
{
    json_t *pos = json_object_get(c->index, json_string_value(s));
    if (!pos) return 0;
    size_t j = (size_t)json_integer_value(pos);
    int r = resolve(c, j, depth + 1);
    if (r < 0) return r;
    if (strcmp(c->newid[j], json_string_value(s))) {
        json_string_set(s, c->newid[j]);
        c->a->st.refs++;
        *dirty = 1;
    }
    return 0;
}

static int fix_refs(struct ctx *c, json_t *v, int depth, int *dirty, int nest)
{
    if (nest > 32) return 0;
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            int r = fix_refs(c, x, depth, dirty, nest + 1);
            if (r < 0) return r;
        }
        return 0;
    }
    json_object_foreach(v, k, x)
    {
        int kind = ref_ends(k), r = 0;
        if (kind == 1 && json_is_string(x)) {
            r = fix_one(c, x, depth, dirty);
        } else if (kind == 2 && json_is_array(x)) {
            json_t *y;
            json_array_foreach(x, i, y) if (json_is_string(y) &&
                                            (r = fix_one(c, y, depth, dirty)) < 0) break;
        } else if (json_is_object(x) || json_is_array(x)) {
            r = fix_refs(c, x, depth, dirty, nest + 1);
        }
        if (r < 0) return r;
    }
    return 0;
}

static void keyed_id(struct cpan *cp, const char *type, const char *old, char *out)
{
    uint8_t d[16];
    cpan_digest(cp, old, strlen(old), d);
    d[6] = (uint8_t)((d[6] & 0x0f) | 0x40);
    d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);
    snprintf(out, STIX_ID_MAX,
             "%.40s--%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", type,
             d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13],
             d[14], d[15]);
}

static int resolve(struct ctx *c, size_t i, int depth)
{
    if (c->state[i]) return 0; /* done, or on the path (a cycle: keeps its id) */
    if (depth > MAX_DEPTH)
        return err_set(-ELOOP, "bundle: refs nested deeper than %d objects", MAX_DEPTH);
    c->state[i] = 1;
    json_t *o = json_array_get(c->objs, i);
    int dirty = c->changed[i];
    int r = fix_refs(c, o, depth, &dirty, 0);
    if (r < 0) return r;
    const char *type = json_string_value(json_object_get(o, "type"));
    if (dirty && type) {
        char id[STIX_ID_MAX];
        if (is_sco(type)) {
            if (stix_sco_id(o, id) == 0) {
                c->a->st.sco_ids++;
            } else {
                keyed_id(c->a->cpan, type, c->newid[i], id);
                c->a->st.ids_fallback++;
            }
        } else {
            keyed_id(c->a->cpan, type, c->newid[i], id);
            c->a->st.other_ids++;
        }
        json_object_set_new(o, "id", json_string(id));
        snprintf(c->newid[i], STIX_ID_MAX, "%s", id);
    }
    c->state[i] = 2;
    return 0;
}

/* A name is free text, but exporters write values into it ("scanner
 * 192.0.2.1", "malware download server 198.51.100.9"): every
 * space-separated word of it that is an address form is rewritten.  1 when
 * one was. */
static int words(struct anon *a, json_t *o, const char *key)
{
    const char *t = json_string_value(json_object_get(o, key));
    if (!t || !strchr(t, ' ')) return 0;
    size_t n = strlen(t), cap = 2 * n + 256, used = 0;
    char *out = malloc(cap), w[4200], v[4400];
    if (!out) return 0;
    int changed = 0;
    for (const char *p = t; *p;) {
        size_t k = strcspn(p, " ");
        const char *src = p;
        size_t len = k;
        if (k && k < sizeof w) {
            memcpy(w, p, k);
            w[k] = 0;
            if (anon_value(a, w, v, sizeof v) == 1) src = v, len = strlen(v), changed = 1;
        }
        if (used + len + 2 > cap) break; /* cannot happen: v is at most w + 48 */
        memcpy(out + used, src, len);
        used += len;
        p += k;
        if (*p == ' ') out[used++] = *p++;
    }
    out[used] = 0;
    if (changed) json_object_set_new(o, key, json_string(out));
    free(out);
    return changed;
}

/* "word:ADDRESS" labels (mamori's "fingerprint:", "port:" ... carry a value
 * after the colon): the part after the first colon through the value rule. */
static int tagged_labels(struct anon *a, json_t *o)
{
    json_t *labels = json_object_get(o, "labels"), *l;
    size_t i;
    int changed = 0;
    json_array_foreach(labels, i, l)
    {
        const char *t = json_string_value(l), *c = t ? strchr(t, ':') : NULL;
        char v[4400], out[4600];
        if (!c || (size_t)(c - t) > 64 || anon_value(a, c + 1, v, sizeof v) != 1) continue;
        snprintf(out, sizeof out, "%.*s:%s", (int)(c - t), t, v);
        json_array_set_new(labels, i, json_string(out));
        changed = 1;
    }
    return changed;
}

int anon_stix(struct anon *a, json_t *bundle)
{
    if (!json_is_object(bundle) ||
        strcmp(json_string_value(json_object_get(bundle, "type")) ?: "", "bundle"))
        return err_set(-EINVAL, "not a STIX bundle (no \"type\": \"bundle\")");
    json_t *objs = json_object_get(bundle, "objects");
    if (!objs) return 0;
    if (!json_is_array(objs)) return err_set(-EINVAL, "bundle: objects is not an array");
    size_t n = json_array_size(objs);
    struct ctx c = {
        a, objs, json_object(), calloc(n + 1, 1), calloc(n + 1, 1), calloc(n + 1, sizeof *c.newid)};
    int rc = 0;
    if (!c.index || !c.state || !c.changed || !c.newid) {
        rc = err_set(-ENOMEM, "bundle: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(objs, i), *id = json_object_get(o, "id");
        if (!json_is_object(o)) continue;
        const char *pat = json_string_value(json_object_get(o, "pattern"));
        char *np = NULL;
        const char *pt = json_string_value(json_object_get(o, "pattern_type"));
        if (pat && (!pt || !strcmp(pt, "stix"))) {
            int k = pattern_rewrite(a, pat, &np);
            if (k > 0) {
                json_object_set_new(o, "pattern", json_string(np));
                a->st.patterns++;
                c.changed[i] = 1;
            }
            free(np);
        }
        if (anon_json(a, o, NULL)) c.changed[i] = 1;
        if (words(a, o, "name")) c.changed[i] = 1;
        if (tagged_labels(a, o)) c.changed[i] = 1;
        if (json_is_string(id) && json_string_length(id) < STIX_ID_MAX) {
            snprintf(c.newid[i], STIX_ID_MAX, "%s", json_string_value(id));
            json_object_set_new(c.index, json_string_value(id), json_integer((json_int_t)i));
        }
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (json_is_object(json_array_get(objs, i))) rc = resolve(&c, i, 0);
out:
    json_decref(c.index);
    free(c.state);
    free(c.changed);
    free(c.newid);
    return rc;
}

int anon_stix_bundle(struct cpan *c, json_t *bundle, struct anon_stats *st)
{
    struct anon a = {.cpan = c};
    int rc = anon_stix(&a, bundle);
    if (st) *st = a.st;
    return rc;
}
