/* export_bundle — share's indicators as one STIX 2.1 bundle (see export.h).
 *
 * Each exportable row gives an SCO (its value), an indicator (its pattern),
 * an observed-data (the SCO, how often) and a sighting (of the indicator,
 * by us, when and how often).  Objects several rows share — the identity,
 * malware (Mirai), infrastructure (download servers, loaders), attack
 * patterns (CAPEC), relationships, TLP markings — are kept once in a map
 * by id; a shared object spans its rows' times and carries the strictest
 * TLP of them.  The map is emitted sorted by id, so the bundle does not
 * depend on the rows' order.
 *
 * TLP rule: a received row marked amber, amber+strict or red is never
 * re-exported (those markings limit sharing to the recipient's own
 * organisation or people); clear and green pass with their marking.  Survey
 * hosts are victims, not threats: never indicators — a report with counts,
 * or, with a Crypto-PAn key, observed-data of anonymized addresses. */
#include "../core/cryptopan.h"
#include "../core/err.h"
#include "../core/stix.h"
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLP2_EXTENSION "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define IDENTITY_TIME "2020-01-01T00:00:00.000Z" /* mamori's identity: one fixed version */
#define STIX_COUNT_MAX 999999999

/* The OASIS TLP 2.0 marking definitions (cti-stix-common-objects), in rank order. */
static const struct {
    const char *tlp, *id, *name;
} tlps[] = {
    {"clear", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"},
    {"green", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN"},
    {"amber", "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER"},
    {"amber+strict", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
     "TLP:AMBER+STRICT"},
    {"red", "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"},
};
#define N_TLPS (sizeof tlps / sizeof tlps[0])

static int tlp_index(const char *tlp)
{
    for (size_t i = 0; tlp && i < N_TLPS; i++)
        if (!strcmp(tlps[i].tlp, tlp)) return (int)i;
    return -1;
}

const char *export_tlp_marking(const char *tlp)
{
    int i = tlp_index(tlp);
    return i < 0 ? NULL : tlps[i].id;
}

/* Attack patterns mamori can tell: a SYN scan, default-credential logins. */
static const struct {
    const char *capec, *name, *url;
} patterns[] = {
    {"CAPEC-287", "TCP SYN Scan", "https://capec.mitre.org/data/definitions/287.html"},
    {"CAPEC-70", "Try Common or Default Usernames and Passwords",
     "https://capec.mitre.org/data/definitions/70.html"},
};
enum { AP_SYN_SCAN, AP_DEFAULT_CREDS };

struct ctx {
    json_t *objs; /* id -> object */
    char identity[STIX_ID_MAX];
    struct export_counts *n;
    bool used_tlp[N_TLPS];
};

int export_pattern(const char *kind, const char *value, char *out, size_t cap)
{
    char esc[4200], prop[32];
    size_t o = 0;
    const char *v = value;
    if (!strcmp(kind, "file")) {
        static const struct {
            const char *algo, *prop;
        } h[] = {
            {"sha256:", "hashes.'SHA-256'"}, {"sha1:", "hashes.'SHA-1'"}, {"md5:", "hashes.MD5"}};
        size_t i;
        for (i = 0; i < 3; i++)
            if (!strncmp(value, h[i].algo, strlen(h[i].algo))) break;
        if (i == 3) return -EINVAL;
        v = value + strlen(h[i].algo);
        snprintf(prop, sizeof prop, "%s", h[i].prop);
    } else if (!strcmp(kind, "ipv4-addr") || !strcmp(kind, "ipv6-addr") || !strcmp(kind, "url") ||
               !strcmp(kind, "domain-name")) {
        snprintf(prop, sizeof prop, "value");
    } else {
        return -EINVAL;
    }
    if (!*v) return -EINVAL;
    for (; *v; v++) {
        if (o + 3 >= sizeof esc) return -EINVAL;
        if (*v == '\'' || *v == '\\') esc[o++] = '\\';
        esc[o++] = *v;
    }
    esc[o] = 0;
    if (snprintf(out, cap, "[%s:%s = '%s']", kind, prop, esc) >= (int)cap) return -EINVAL;
    return 0;
}

/* type--UUIDv5 over the canonical JSON of inputs (consumed). */
static const char *derive_id(const char *type, json_t *inputs, char *out)
{
    char *c = stix_canonical(inputs);
    char u[37];
    json_decref(inputs);
    if (!c || stix_uuid5(MAMORI_STIX_NAMESPACE, c, strlen(c), u)) {
        free(c);
        return NULL;
    }
    free(c);
    snprintf(out, STIX_ID_MAX, "%s--%s", type, u);
    return out;
}

static void mark(struct ctx *x, json_t *o, int tlp)
{
    x->used_tlp[tlp] = true;
    json_object_set_new(o, "object_marking_refs", json_pack("[s]", tlps[tlp].id));
}

/* Adds o (consumed) under its id; a second object of the same id widens the
 * first's times and takes the stricter marking.  The object kept, or NULL. */
static json_t *keep(struct ctx *x, json_t *o, int tlp)
{
    if (!o) return NULL;
    const char *id = json_string_value(json_object_get(o, "id"));
    json_t *old = json_object_get(x->objs, id);
    if (!old) {
        if (tlp >= 0) mark(x, o, tlp);
        json_object_set_new(x->objs, id, o);
        x->n->objects++;
        return o;
    }
    static const char *const lo[] = {"created", "first_seen", "first_observed"};
    static const char *const hi[] = {"modified", "last_seen", "last_observed"};
    for (int i = 0; i < 3; i++) {
        const char *a = json_string_value(json_object_get(old, lo[i]));
        const char *b = json_string_value(json_object_get(o, lo[i]));
        if (a && b && strcmp(b, a) < 0) json_object_set(old, lo[i], json_object_get(o, lo[i]));
        a = json_string_value(json_object_get(old, hi[i]));
        b = json_string_value(json_object_get(o, hi[i]));
        if (a && b && strcmp(b, a) > 0) json_object_set(old, hi[i], json_object_get(o, hi[i]));
    }
    const char *m =
        json_string_value(json_array_get(json_object_get(old, "object_marking_refs"), 0));
    if (tlp >= 0 && m) {
        int cur = -1;
        for (size_t i = 0; i < N_TLPS; i++)
            if (!strcmp(tlps[i].id, m)) cur = (int)i;
        if (tlp > cur) mark(x, old, tlp);
    }
    json_decref(o);
    return old;
}

/* A new SDO/SRO with the common properties. */
static json_t *sdo(struct ctx *x, const char *type, const char *id, int64_t first, int64_t last)
{
    char a[25], b[25];
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "spec_version", "2.1", "id", id,
                     "created_by_ref", x->identity, "created", stix_time(first, a), "modified",
                     stix_time(last > first ? last : first, b));
}

static void relate(struct ctx *x, const char *src, const char *type, const char *dst, int64_t first,
                   int64_t last, int tlp)
{
    char id[STIX_ID_MAX];
    if (!derive_id("relationship",
                   json_pack("{s:s,s:s,s:s}", "relationship_type", type, "source_ref", src,
                             "target_ref", dst),
                   id))
        return;
    json_t *r = sdo(x, "relationship", id, first, last);
    json_object_set_new(r, "relationship_type", json_string(type));
    json_object_set_new(r, "source_ref", json_string(src));
    json_object_set_new(r, "target_ref", json_string(dst));
    keep(x, r, tlp);
}

static const char *mirai(struct ctx *x, int64_t first, int64_t last, int tlp, char *id)
{
    if (!derive_id("malware", json_pack("{s:s,s:s}", "malware", "mirai", "by", x->identity), id))
        return NULL;
    json_t *m = sdo(x, "malware", id, first, last);
    json_object_set_new(m, "name", json_string("Mirai"));
    json_object_set_new(m, "is_family", json_true());
    json_object_set_new(m, "malware_types", json_pack("[s,s]", "bot", "worm"));
    keep(x, m, tlp);
    return id;
}

static const char *attack_pattern(struct ctx *x, int which, int64_t first, int64_t last, int tlp,
                                  char *id)
{
    if (!derive_id("attack-pattern", json_pack("{s:s}", "capec", patterns[which].capec), id))
        return NULL;
    json_t *a = sdo(x, "attack-pattern", id, first, last);
    json_object_set_new(a, "name", json_string(patterns[which].name));
    json_object_set_new(a, "external_references",
                        json_pack("[{s:s,s:s,s:s}]", "source_name", "capec", "external_id",
                                  patterns[which].capec, "url", patterns[which].url));
    keep(x, a, tlp);
    return id;
}

static const char *infrastructure(struct ctx *x, const char *what, const char *value, int64_t first,
                                  int64_t last, int tlp, char *id)
{
    bool loader = !strcmp(what, "loader");
    if (!derive_id(
            "infrastructure",
            json_pack("{s:s,s:s,s:s}", "infrastructure", what, "value", value, "by", x->identity),
            id))
        return NULL;
    char name[4200];
    snprintf(name, sizeof name, "%s %s", loader ? "malware loader" : "malware download server",
             value);
    json_t *o = sdo(x, "infrastructure", id, first, last);
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "infrastructure_types",
                        json_pack("[s]", loader ? "botnet" : "hosting-malware"));
    json_object_set(o, "first_seen", json_object_get(o, "created"));
    json_object_set(o, "last_seen", json_object_get(o, "modified"));
    keep(x, o, tlp);
    return id;
}

static bool has(const json_t *labels, const char *set, const char *item)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(labels, set), i,
                       v) if (json_is_string(v) && !strcmp(json_string_value(v), item)) return true;
    return false;
}

/* The SCO of a row's value, kept; its id into id. */
static int sco(struct ctx *x, const struct share_ind *r, int tlp, char *id)
{
    json_t *o = json_pack("{s:s,s:s}", "type", r->kind, "spec_version", "2.1");
    if (!strcmp(r->kind, "file")) {
        const char *colon = strchr(r->value, ':');
        const char *algo = !colon                             ? NULL
                           : !strncmp(r->value, "sha256:", 7) ? "SHA-256"
                           : !strncmp(r->value, "sha1:", 5)   ? "SHA-1"
                           : !strncmp(r->value, "md5:", 4)    ? "MD5"
                                                              : NULL;
        if (!algo) {
            json_decref(o);
            return -EINVAL;
        }
        json_object_set_new(o, "hashes", json_pack("{s:s}", algo, colon + 1));
    } else {
        json_object_set_new(o, "value", json_string(r->value));
    }
    if (stix_sco_id(o, id)) {
        json_decref(o);
        return -EINVAL;
    }
    json_object_set_new(o, "id", json_string(id));
    keep(x, o, tlp);
    return 0;
}

/* "role:scanner", "fingerprint:mirai", "malware:mirai", "port:23",
 * "class:tcp_syn": the labels another mamori reads back (share_ingest: a
 * re-export of an import says the same) and people filter on. */
static json_t *indicator_labels(const json_t *lab)
{
    static const struct {
        const char *set, *prefix;
    } sets[] = {{"roles", "role"},
                {"fingerprints", "fingerprint"},
                {"malware", "malware"},
                {"ports", "port"},
                {"classes", "class"}};
    json_t *a = json_array();
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(lab, sets[s].set), i, v)
        {
            char t[300];
            if (json_is_integer(v))
                snprintf(t, sizeof t, "%s:%lld", sets[s].prefix, (long long)json_integer_value(v));
            else if (json_is_string(v))
                snprintf(t, sizeof t, "%s:%s", sets[s].prefix, json_string_value(v));
            else
                continue;
            json_array_append_new(a, json_string(t));
        }
    }
    return a;
}

static uint64_t capped(uint64_t n)
{
    return n < 1 ? 1 : n > STIX_COUNT_MAX ? STIX_COUNT_MAX : n;
}

static void row(struct ctx *x, const struct share_ind *r, const json_t *lab, int tlp)
{
    char pat[4300], sco_id[STIX_ID_MAX], ind[STIX_ID_MAX], od[STIX_ID_MAX], si[STIX_ID_MAX];
    char a[25], b[25], aux[STIX_ID_MAX];
    if (export_pattern(r->kind, r->value, pat, sizeof pat) || sco(x, r, tlp, sco_id)) {
        x->n->bad++;
        return;
    }
    int64_t f = r->first_us, l = r->last_us > r->first_us ? r->last_us : r->first_us;
    /* Always ours, from our identity and the pattern: a received row's id is
     * its producer's, and only the producer may make versions of its
     * objects (we created_by_ref this one). */
    if (!derive_id("indicator",
                   json_pack("{s:s,s:s}", "created_by_ref", x->identity, "pattern", pat), ind))
        return;
    bool is_mirai = has(lab, "malware", "mirai");
    bool tool_only = has(lab, "roles", "scanner") && !is_mirai &&
                     !has(lab, "fingerprints", "unknown") &&
                     json_array_size(json_object_get(lab, "fingerprints")) > 0;
    json_t *o = sdo(x, "indicator", ind, f, l);
    char name[4200];
    snprintf(name, sizeof name, "%s %s", r->role, r->value);
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "indicator_types",
                        is_mirai    ? json_pack("[s,s]", "compromised", "malicious-activity")
                        : tool_only ? json_pack("[s]", "anomalous-activity")
                                    : json_pack("[s]", "malicious-activity"));
    json_object_set_new(o, "pattern", json_string(pat));
    json_object_set_new(o, "pattern_type", json_string("stix"));
    json_object_set_new(o, "pattern_version", json_string("2.1"));
    json_object_set_new(o, "valid_from", json_string(stix_time(f, a)));
    json_object_set_new(o, "confidence", json_integer(r->confidence));
    json_t *labels = indicator_labels(lab);
    if (json_array_size(labels))
        json_object_set_new(o, "labels", labels);
    else
        json_decref(labels);
    keep(x, o, tlp);
    x->n->indicators++;

    if (!derive_id("observed-data", json_pack("{s:s,s:s}", "observed", sco_id, "by", x->identity),
                   od))
        return;
    o = sdo(x, "observed-data", od, f, l);
    json_object_set_new(o, "first_observed", json_string(stix_time(f, a)));
    json_object_set_new(o, "last_observed", json_string(stix_time(l, b)));
    json_object_set_new(o, "number_observed", json_integer((json_int_t)capped(r->sightings)));
    json_object_set_new(o, "object_refs", json_pack("[s]", sco_id));
    keep(x, o, tlp);
    x->n->observed++;

    if (!derive_id("sighting", json_pack("{s:s,s:s}", "sighting_of_ref", ind, "by", x->identity),
                   si))
        return;
    o = sdo(x, "sighting", si, f, l);
    json_object_set_new(o, "first_seen", json_string(stix_time(f, a)));
    json_object_set_new(o, "last_seen", json_string(stix_time(l, b)));
    json_object_set_new(o, "count", json_integer((json_int_t)capped(r->sightings)));
    json_object_set_new(o, "sighting_of_ref", json_string(ind));
    json_object_set_new(o, "observed_data_refs", json_pack("[s]", od));
    json_object_set_new(o, "where_sighted_refs", json_pack("[s]", x->identity));
    keep(x, o, tlp);
    x->n->sightings++;

    char mal[STIX_ID_MAX];
    const char *m = is_mirai ? mirai(x, f, l, tlp, mal) : NULL;
    if (m) relate(x, ind, "indicates", m, f, l, tlp);
    bool syn = has(lab, "classes", "tcp_syn"), login = has(lab, "roles", "attacker");
    if (syn && attack_pattern(x, AP_SYN_SCAN, f, l, tlp, aux)) {
        relate(x, ind, "indicates", aux, f, l, tlp);
        if (m) relate(x, m, "uses", aux, f, l, tlp);
    }
    if (login && attack_pattern(x, AP_DEFAULT_CREDS, f, l, tlp, aux)) {
        relate(x, ind, "indicates", aux, f, l, tlp);
        if (m) relate(x, m, "uses", aux, f, l, tlp);
    }
    static const char *const infra[] = {"download-host", "loader"};
    for (int i = 0; i < 2; i++) {
        if (!has(lab, "roles", infra[i]) || strcmp(r->kind, "url") == 0) continue;
        if (!infrastructure(x, infra[i], r->value, f, l, tlp, aux)) continue;
        relate(x, aux, "consists-of", sco_id, f, l, tlp);
        relate(x, ind, "indicates", aux, f, l, tlp);
        if (m) relate(x, m, "uses", aux, f, l, tlp);
    }
}

/* --- the survey: counts, or anonymized hosts ------------------------------------- */

struct survey_sum {
    json_t *ports, *protocols, *classes; /* name -> hosts */
    size_t hosts;
    int64_t first, last;
    char round[64];
};

static void count_in(json_t *counts, const json_t *items)
{
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v)
    {
        char k[200];
        if (json_is_integer(v))
            snprintf(k, sizeof k, "%lld", (long long)json_integer_value(v));
        else
            snprintf(k, sizeof k, "%s", json_string_value(v) ? json_string_value(v) : "?");
        json_t *c = json_object_get(counts, k);
        json_object_set_new(counts, k, json_integer(c ? json_integer_value(c) + 1 : 1));
    }
}

static void survey_row(struct ctx *x, struct survey_sum *s, const struct share_ind *r,
                       const json_t *sv, struct cpan *anon)
{
    int64_t f = r->first_us, l = r->last_us > r->first_us ? r->last_us : r->first_us;
    if (!s->hosts || f < s->first) s->first = f;
    if (!s->hosts || l > s->last) s->last = l;
    s->hosts++;
    x->n->vulnerable++;
    count_in(s->ports, json_object_get(sv, "ports"));
    count_in(s->protocols, json_object_get(sv, "protocols"));
    count_in(s->classes, json_object_get(sv, "classes"));
    const char *round = json_string_value(json_object_get(sv, "round"));
    if (round) snprintf(s->round, sizeof s->round, "%s", round);
    char v[64], id[STIX_ID_MAX], od[STIX_ID_MAX], a[25], b[25];
    if (!anon || cpan_text(anon, r->value, v, sizeof v)) return;
    json_t *o = json_pack("{s:s,s:s,s:s}", "type", r->kind, "spec_version", "2.1", "value", v);
    if (stix_sco_id(o, id)) {
        json_decref(o);
        return;
    }
    json_object_set_new(o, "id", json_string(id));
    keep(x, o, 0);
    if (!derive_id("observed-data", json_pack("{s:s,s:s}", "vulnerable", id, "by", x->identity),
                   od))
        return;
    o = sdo(x, "observed-data", od, f, l);
    json_object_set_new(o, "first_observed", json_string(stix_time(f, a)));
    json_object_set_new(o, "last_observed", json_string(stix_time(l, b)));
    json_object_set_new(o, "number_observed", json_integer(1));
    json_object_set_new(o, "object_refs", json_pack("[s]", id));
    json_t *labels = json_pack("[s]", "vulnerable");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(sv, "ports"), i, p) if (json_is_integer(p))
    {
        char t[32];
        snprintf(t, sizeof t, "port:%lld", (long long)json_integer_value(p));
        json_array_append_new(labels, json_string(t));
    }
    json_array_foreach(json_object_get(sv, "classes"), i, p) if (json_is_string(p))
    {
        char t[96];
        snprintf(t, sizeof t, "class:%s", json_string_value(p));
        json_array_append_new(labels, json_string(t));
    }
    json_object_set_new(o, "labels", labels);
    keep(x, o, 0);
    x->n->observed++;
}

static void put_counts(char *out, size_t cap, size_t *o, const char *title, json_t *counts)
{
    const char *k;
    json_t *v;
    const char **keys = malloc((json_object_size(counts) + 1) * sizeof *keys);
    size_t n = 0;
    if (!keys) return;
    json_object_foreach(counts, k, v) keys[n++] = k;
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of names */
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    if (*o < cap) *o += (size_t)snprintf(out + *o, cap - *o, "\n%s:", title);
    for (size_t i = 0; i < n && *o < cap; i++)
        *o += (size_t)snprintf(out + *o, cap - *o, "%s %s %lld", i ? "," : "", keys[i],
                               (long long)json_integer_value(json_object_get(counts, keys[i])));
    free(keys);
}

static void survey_report(struct ctx *x, struct survey_sum *s)
{
    char id[STIX_ID_MAX], content[4096], abstract[160];
    size_t o = (size_t)snprintf(content, sizeof content,
                                "Vulnerable devices (default credentials accepted) in survey round "
                                "%s: %zu hosts, shown as counts only.",
                                s->round, s->hosts);
    put_counts(content, sizeof content, &o, "hosts by port", s->ports);
    put_counts(content, sizeof content, &o, "hosts by protocol", s->protocols);
    put_counts(content, sizeof content, &o, "hosts by credential class", s->classes);
    snprintf(abstract, sizeof abstract, "mamori survey %s: %zu vulnerable devices", s->round,
             s->hosts);
    /* A report, not a note: the OASIS bundle schema (3bf9e69) does not list note. */
    if (!derive_id(
            "report",
            json_pack("{s:s,s:s,s:s}", "report", "survey", "round", s->round, "by", x->identity),
            id))
        return;
    char pub[25];
    json_t *n = sdo(x, "report", id, s->first, s->last);
    json_object_set_new(n, "name", json_string(abstract));
    json_object_set_new(n, "description", json_string(content));
    json_object_set_new(n, "report_types", json_pack("[s]", "threat-report"));
    json_object_set_new(n, "published", json_string(stix_time(s->last, pub)));
    json_object_set_new(n, "object_refs", json_pack("[s]", x->identity));
    keep(x, n, 0);
}

/* --- the bundle ---------------------------------------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *sorted_bundle(struct ctx *x)
{
    size_t n = json_object_size(x->objs), i = 0;
    const char **ids = malloc((n + 1) * sizeof *ids);
    if (!ids) return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(x->objs, k, v) ids[i++] = k;
    qsort(ids, n, sizeof *ids, cmp_id);
    json_t *objects = json_array();
    for (i = 0; i < n; i++) {
        json_t *o = json_object_get(x->objs, ids[i]);
        json_array_append(objects, o);
        const char *t = json_string_value(json_object_get(o, "type"));
        if (!strcmp(t, "relationship"))
            x->n->relationships++;
        else if (!strcmp(t, "malware"))
            x->n->malware++;
        else if (!strcmp(t, "infrastructure"))
            x->n->infrastructure++;
        else if (!strcmp(t, "attack-pattern"))
            x->n->attack_patterns++;
        else if (!strcmp(t, "marking-definition"))
            x->n->markings++;
    }
    free(ids);
    char bid[STIX_ID_MAX];
    if (!derive_id("bundle", json_incref(objects), bid)) {
        json_decref(objects);
        return NULL;
    }
    return json_pack("{s:s,s:s,s:o}", "type", "bundle", "id", bid, "objects", objects);
}

json_t *export_bundle(const struct share_ind_list *rows, const struct export_opts *o,
                      struct export_counts *n)
{
    *n = (struct export_counts){0};
    struct ctx x = {.objs = json_object(), .n = n};
    const char *org = o && o->org && *o->org ? o->org : "mamori";
    if (!x.objs || !derive_id("identity", json_pack("{s:s}", "identity", org), x.identity)) {
        json_decref(x.objs);
        return err_set(-ENOMEM, "export: out of memory"), NULL;
    }
    json_t *me = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "identity", "spec_version",
                           "2.1", "id", x.identity, "created", IDENTITY_TIME, "modified",
                           IDENTITY_TIME, "name", org, "identity_class", "organization");
    keep(&x, me, -1);
    struct survey_sum s = {
        .ports = json_object(), .protocols = json_object(), .classes = json_object()};
    for (size_t i = 0; i < rows->n; i++) {
        const struct share_ind *r = &rows->v[i];
        int tlp = tlp_index(r->tlp ? r->tlp : "clear");
        if (tlp < 0) tlp = (int)N_TLPS - 1; /* an unknown marking is treated as the strictest */
        if (strcmp(r->source, SHARE_LOCAL) && tlp >= 2) {
            n->withheld_tlp++;
            continue;
        }
        json_error_t e;
        json_t *lab = r->labels ? json_loads(r->labels, 0, &e) : NULL;
        if (!lab) lab = json_object();
        json_t *sv = json_object_get(lab, "survey");
        if (sv) survey_row(&x, &s, r, sv, o ? o->anon : NULL);
        if (strcmp(r->role, "vulnerable")) row(&x, r, lab, tlp);
        json_decref(lab);
    }
    if (s.hosts) survey_report(&x, &s);
    json_decref(s.ports);
    json_decref(s.protocols);
    json_decref(s.classes);
    for (size_t i = 0; i < N_TLPS; i++) {
        if (!x.used_tlp[i]) continue;
        json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:{s:s,s:s}}}", "type", "marking-definition",
                              "spec_version", "2.1", "id", tlps[i].id, "created",
                              "2022-10-01T00:00:00.000Z", "name", tlps[i].name, "extensions",
                              TLP2_EXTENSION, "extension_type", "property-extension", "tlp_2_0",
                              tlps[i].tlp);
        keep(&x, m, -1);
    }
    json_t *b = sorted_bundle(&x);
    json_decref(x.objs);
    if (!b) err_set(-ENOMEM, "export: out of memory");
    return b;
}
