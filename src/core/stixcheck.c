/* stixcheck — the STIX 2.1 rules an object must follow (see stix.h).
 *
 * A table of types (as design.md wants kinds): each names its class (SDO,
 * SRO, SCO or meta: marking-definition) and, for the ones mamori reads and
 * writes, a function with the type's own rules; unknown SDO types of the spec
 * and custom "x-" types get the common rules only.  The common rules are the
 * spec's §3 (type, spec_version "2.1", id "type--UUID" of the same type,
 * created/modified with modified >= created, created_by_ref, confidence
 * 0..100, lang, labels, external_references, object_marking_refs,
 * granular_markings) and §3.1's property-name syntax.  The checks stop at the
 * first broken rule: one reason is what the importer reports, and a second
 * would not change that the object is refused.  What the JSON schemas check
 * as well is checked again here, so an importer needs no schema validator. */
#include "addr.h"
#include "stix.h"
#include "stixpat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum cls { SDO, SRO, SCO, META };

struct ck {
    const json_t *o;
    char *msg;
    size_t cap;
};

static int bad(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct ck *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static const char *str(struct ck *c, const char *k)
{
    return json_string_value(json_object_get(c->o, k));
}

/* A required (or, with !req, optional) string property. */
static int need_str(struct ck *c, const char *k, bool req)
{
    json_t *v = json_object_get(c->o, k);
    if (!v) return req ? bad(c, "%s is required", k) : 0;
    if (!json_is_string(v)) return bad(c, "%s is not a string", k);
    if (req && !json_string_length(v)) return bad(c, "%s is empty", k);
    return 0;
}

/* An optional (or required) timestamp into *us (untouched when absent). */
static int need_time(struct ck *c, const char *k, bool req, int64_t *us)
{
    json_t *v = json_object_get(c->o, k);
    if (!v) return req ? bad(c, "%s is required", k) : 0;
    if (!json_is_string(v) || stix_time_parse(json_string_value(v), us))
        return bad(c, "%s is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)", k);
    return 0;
}

/* a <= b (or a < b when strict) when both are present. */
static int order(struct ck *c, const char *ka, const char *kb, bool strict)
{
    int64_t a = INT64_MIN, b = INT64_MIN;
    int e = need_time(c, ka, false, &a);
    if (!e) e = need_time(c, kb, false, &b);
    if (e) return e;
    if (a != INT64_MIN && b != INT64_MIN && (strict ? b <= a : b < a))
        return bad(c, "%s is %s %s", kb, strict ? "not later than" : "earlier than", ka);
    return 0;
}

static int need_int(struct ck *c, const char *k, bool req, json_int_t lo, json_int_t hi)
{
    json_t *v = json_object_get(c->o, k);
    if (!v) return req ? bad(c, "%s is required", k) : 0;
    if (!json_is_integer(v)) return bad(c, "%s is not an integer", k);
    json_int_t n = json_integer_value(v);
    if (n < lo || n > hi)
        return bad(c, "%s %lld is outside %lld..%lld", k, (long long)n, (long long)lo,
                   (long long)hi);
    return 0;
}

static int need_bool(struct ck *c, const char *k, bool req)
{
    json_t *v = json_object_get(c->o, k);
    if (!v) return req ? bad(c, "%s is required", k) : 0;
    return json_is_boolean(v) ? 0 : bad(c, "%s is not a boolean", k);
}

/* types: NULL any, else a '|'-separated list ("identity|location"). */
static bool id_of(const char *id, const char *types)
{
    if (!types) return stix_id_valid(id, NULL);
    char t[64];
    for (const char *p = types; *p;) {
        size_t n = strcspn(p, "|");
        if (n < sizeof t) {
            memcpy(t, p, n);
            t[n] = 0;
            if (stix_id_valid(id, t)) return true;
        }
        p += n + (p[n] == '|');
    }
    return false;
}

static int need_ref(struct ck *c, const char *k, bool req, const char *types)
{
    json_t *v = json_object_get(c->o, k);
    if (!v) return req ? bad(c, "%s is required", k) : 0;
    if (!json_is_string(v) || !id_of(json_string_value(v), types))
        return bad(c, "%s is not the id of %s", k, types ? types : "an object");
    return 0;
}

static int need_refs(struct ck *c, const char *k, bool req, const char *types)
{
    json_t *v = json_object_get(c->o, k), *e;
    size_t i;
    if (!v) return req ? bad(c, "%s is required", k) : 0;
    if (!json_is_array(v) || !json_array_size(v)) return bad(c, "%s is not a non-empty list", k);
    json_array_foreach(v, i, e) if (!json_is_string(e) ||
                                    !id_of(json_string_value(e),
                                           types)) return bad(c, "%s[%zu] is not the id of %s", k,
                                                              i, types ? types : "an object");
    return 0;
}

static int need_strs(struct ck *c, const char *k, bool req)
{
    json_t *v = json_object_get(c->o, k), *e;
    size_t i;
    if (!v) return req ? bad(c, "%s is required", k) : 0;
    if (!json_is_array(v) || !json_array_size(v)) return bad(c, "%s is not a non-empty list", k);
    json_array_foreach(v, i, e) if (!json_is_string(e)) return bad(c, "%s[%zu] is not a string", k,
                                                                   i);
    return 0;
}

static bool type_name(const char *t, size_t min)
{
    size_t n = strlen(t);
    if (n < min || n > 250 || t[0] < 'a' || t[0] > 'z' || t[n - 1] == '-') return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '-'))
            return false;
    return !strstr(t, "--");
}

static int external_refs(struct ck *c)
{
    json_t *v = json_object_get(c->o, "external_references"), *e;
    size_t i;
    if (!v) return 0;
    if (!json_is_array(v) || !json_array_size(v))
        return bad(c, "external_references is not a non-empty list");
    json_array_foreach(v, i, e)
    {
        const char *sn = json_string_value(json_object_get(e, "source_name"));
        if (!json_is_object(e) || !sn || !*sn)
            return bad(c, "external_references[%zu] has no source_name", i);
        const char *keys[] = {"description", "url", "external_id"};
        bool any = false;
        for (int k = 0; k < 3; k++) {
            json_t *x = json_object_get(e, keys[k]);
            if (x && !json_is_string(x))
                return bad(c, "external_references[%zu].%s is not a string", i, keys[k]);
            any |= x != NULL;
        }
        if (!any)
            return bad(c, "external_references[%zu] needs description, url or external_id", i);
    }
    return 0;
}

static int granular(struct ck *c)
{
    json_t *v = json_object_get(c->o, "granular_markings"), *e;
    size_t i;
    if (!v) return 0;
    if (!json_is_array(v) || !json_array_size(v))
        return bad(c, "granular_markings is not a non-empty list");
    json_array_foreach(v, i, e)
    {
        json_t *sel = json_object_get(e, "selectors"), *mr = json_object_get(e, "marking_ref");
        if (!json_is_array(sel) || !json_array_size(sel))
            return bad(c, "granular_markings[%zu] has no selectors", i);
        if (mr ? !id_of(json_string_value(mr), "marking-definition")
               : !json_is_string(json_object_get(e, "lang")))
            return bad(c, "granular_markings[%zu] needs a marking_ref or lang", i);
    }
    return 0;
}

/* The rules every object of class k follows. */
static int common(struct ck *c, enum cls k, const char *type)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)c->o, key, v)
    {
        size_t n = strlen(key);
        if (n > 250 ||
            strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
            return bad(c, "property name '%.40s' is not a-z, A-Z, 0-9 and _", key);
    }
    const char *sv = str(c, "spec_version");
    if (k != SCO && !json_object_get(c->o, "spec_version"))
        return bad(c, "spec_version is required");
    if (json_object_get(c->o, "spec_version") && (!sv || strcmp(sv, "2.1")))
        return bad(c, "spec_version is not \"2.1\"");
    const char *id = str(c, "id");
    if (!id) return bad(c, "id is required");
    if (!stix_id_valid(id, type)) return bad(c, "id is not \"%s--\" and a UUID", type);
    int e = 0;
    int64_t t;
    if (k == SDO || k == SRO) {
        if ((e = need_time(c, "created", true, &t)) || (e = need_time(c, "modified", true, &t)) ||
            (e = order(c, "created", "modified", false)))
            return e;
    } else if (k == META) {
        if ((e = need_time(c, "created", true, &t))) return e;
    }
    if (k != SCO) {
        if ((e = need_ref(c, "created_by_ref", false, "identity")) ||
            (e = need_bool(c, "revoked", false)) || (e = need_strs(c, "labels", false)) ||
            (e = need_int(c, "confidence", false, 0, 100)) || (e = need_str(c, "lang", false)) ||
            (e = external_refs(c)))
            return e;
    }
    if ((e = need_refs(c, "object_marking_refs", false, "marking-definition")) || (e = granular(c)))
        return e;
    return 0;
}

static int ck_indicator(struct ck *c)
{
    int e;
    int64_t t;
    if ((e = need_str(c, "pattern", true)) || (e = need_str(c, "pattern_type", true)) ||
        (e = need_str(c, "pattern_version", false)) ||
        (e = need_strs(c, "indicator_types", false)) || (e = need_str(c, "name", false)) ||
        (e = need_time(c, "valid_from", true, &t)) ||
        (e = order(c, "valid_from", "valid_until", true)))
        return e;
    if (!strcmp(str(c, "pattern_type"), "stix")) {
        struct stixpat p;
        char m[160];
        e = stixpat_parse(str(c, "pattern"), &p, m, sizeof m);
        stixpat_free(&p);
        if (e == -ENOMEM) return bad(c, "out of memory");
        if (e) return bad(c, "pattern: %s", m);
    }
    return 0;
}

static int ck_observed(struct ck *c)
{
    int e;
    int64_t t;
    if ((e = need_time(c, "first_observed", true, &t)) ||
        (e = need_time(c, "last_observed", true, &t)) ||
        (e = order(c, "first_observed", "last_observed", false)) ||
        (e = need_int(c, "number_observed", true, 1, 999999999)))
        return e;
    bool refs = json_object_get(c->o, "object_refs"), objs = json_object_get(c->o, "objects");
    if (refs && objs) return bad(c, "object_refs and the deprecated objects are both present");
    if (objs)
        return json_is_object(json_object_get(c->o, "objects")) &&
                       json_object_size(json_object_get(c->o, "objects"))
                   ? 0
                   : bad(c, "objects is not a non-empty dictionary");
    return need_refs(c, "object_refs", true, NULL);
}

static int ck_sighting(struct ck *c)
{
    int e;
    const char *r = str(c, "sighting_of_ref");
    if ((e = need_ref(c, "sighting_of_ref", true, NULL))) return e;
    if (!strncmp(r, "relationship--", 14) || !strncmp(r, "sighting--", 10))
        return bad(c, "sighting_of_ref is not the id of an SDO");
    if ((e = need_int(c, "count", false, 0, 999999999)) ||
        (e = order(c, "first_seen", "last_seen", false)) ||
        (e = need_refs(c, "observed_data_refs", false, "observed-data")) ||
        (e = need_refs(c, "where_sighted_refs", false, "identity|location")) ||
        (e = need_bool(c, "summary", false)))
        return e;
    return 0;
}

static int ck_relationship(struct ck *c)
{
    int e;
    if ((e = need_str(c, "relationship_type", true))) return e;
    if (!type_name(str(c, "relationship_type"), 1))
        return bad(c, "relationship_type is not lower-case a-z, 0-9 and -");
    if ((e = need_ref(c, "source_ref", true, NULL)) ||
        (e = need_ref(c, "target_ref", true, NULL)) ||
        (e = order(c, "start_time", "stop_time", true)))
        return e;
    static const char *const never[] = {"relationship--", "sighting--", "marking-definition--",
                                        "language-content--", "bundle--"};
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        if (!strncmp(str(c, "source_ref"), never[i], strlen(never[i])) ||
            !strncmp(str(c, "target_ref"), never[i], strlen(never[i])))
            return bad(c, "a relationship cannot point to a %.*s", (int)strlen(never[i]) - 2,
                       never[i]);
    return 0;
}

static int ck_named(struct ck *c)
{
    return need_str(c, "name", true);
}

static int ck_malware(struct ck *c)
{
    int e;
    if ((e = need_bool(c, "is_family", true)) || (e = need_strs(c, "malware_types", false)) ||
        (e = need_str(c, "name", json_is_true(json_object_get(c->o, "is_family")))) ||
        (e = order(c, "first_seen", "last_seen", false)))
        return e;
    return 0;
}

static int ck_infrastructure(struct ck *c)
{
    int e;
    if ((e = need_str(c, "name", true)) || (e = need_strs(c, "infrastructure_types", false)) ||
        (e = order(c, "first_seen", "last_seen", false)))
        return e;
    return 0;
}

static int ck_note(struct ck *c)
{
    int e;
    if ((e = need_str(c, "content", true)) || (e = need_refs(c, "object_refs", true, NULL)))
        return e;
    return 0;
}

static int ck_grouping(struct ck *c)
{
    int e;
    if ((e = need_str(c, "context", true)) || (e = need_refs(c, "object_refs", true, NULL)))
        return e;
    return 0;
}

static int ck_report(struct ck *c)
{
    int64_t t;
    int e;
    if ((e = need_str(c, "name", true)) || (e = need_time(c, "published", true, &t)) ||
        (e = need_refs(c, "object_refs", true, NULL)))
        return e;
    return 0;
}

static int ck_marking(struct ck *c)
{
    json_t *dt = json_object_get(c->o, "definition_type");
    if (dt && (!json_is_string(dt) || !json_is_object(json_object_get(c->o, "definition"))))
        return bad(c, "definition_type needs a definition object");
    if (!dt && !json_is_object(json_object_get(c->o, "extensions")))
        return bad(c, "a marking needs definition_type and definition, or extensions");
    return 0;
}

static int ck_addr(struct ck *c, bool v6)
{
    int e;
    if ((e = need_str(c, "value", true))) return e;
    const char *v = str(c, "value");
    struct pfx p;
    struct ipaddr a;
    bool ok = strchr(v, '/') ? pfx_parse(v, &p) == 0 && (bool)p.v4 == !v6
                             : ip_parse(v, &a) == 0 && ip_is_v4(&a) == !v6;
    return ok ? 0 : bad(c, "value is not an %s address or CIDR", v6 ? "IPv6" : "IPv4");
}

static int ck_ipv4(struct ck *c)
{
    return ck_addr(c, false);
}

static int ck_ipv6(struct ck *c)
{
    return ck_addr(c, true);
}

static int ck_domain(struct ck *c)
{
    int e;
    if ((e = need_str(c, "value", true))) return e;
    const char *v = str(c, "value");
    size_t n = strlen(v);
    if (n > 253 || strcspn(v, " \t\r\n/\\@:") != n || v[0] == '.' || strstr(v, ".."))
        return bad(c, "value is not a domain name");
    return 0;
}

static int ck_url(struct ck *c)
{
    int e;
    if ((e = need_str(c, "value", true))) return e;
    const char *v = str(c, "value");
    size_t s = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (!s || v[s] != ':' || !((v[0] | 32) >= 'a' && (v[0] | 32) <= 'z') ||
        strcspn(v, " \t\r\n") != strlen(v))
        return bad(c, "value is not a URL (RFC 3986: scheme \":\" ..., no white space)");
    return 0;
}

static int ck_file(struct ck *c)
{
    json_t *h = json_object_get(c->o, "hashes"), *v;
    const char *k;
    if (!h && !json_object_get(c->o, "name")) return bad(c, "a file needs hashes or name");
    if (h && (!json_is_object(h) || !json_object_size(h)))
        return bad(c, "hashes is not a non-empty dictionary");
    static const struct {
        const char *alg;
        size_t len;
    } lens[] = {{"MD5", 32}, {"SHA-1", 40}, {"SHA-256", 64}, {"SHA-512", 128}, {"SHA3-256", 64}};
    json_object_foreach(h, k, v)
    {
        const char *s = json_string_value(v);
        if (!s || !*s) return bad(c, "hashes.%.40s is not a string", k);
        for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
            if (!strcmp(k, lens[i].alg) &&
                (strlen(s) != lens[i].len || strspn(s, "0123456789abcdefABCDEF") != lens[i].len))
                return bad(c, "hashes.%s is not %zu hex digits", k, lens[i].len);
    }
    return need_str(c, "name", false);
}

static int ck_value(struct ck *c)
{
    return need_str(c, "value", true);
}

static int ck_as(struct ck *c)
{
    return need_int(c, "number", true, 0, 4294967295LL);
}

static int ck_traffic(struct ck *c)
{
    return need_strs(c, "protocols", true);
}

struct stix_type {
    const char *name;
    enum cls cls;
    int (*check)(struct ck *c); /* NULL: the common rules only */
};

/* The spec's types; mamori's own have their rules.  To add one: a line here. */
static const struct stix_type types[] = {
    {"indicator", SDO, ck_indicator},
    {"observed-data", SDO, ck_observed},
    {"malware", SDO, ck_malware},
    {"identity", SDO, ck_named},
    {"infrastructure", SDO, ck_infrastructure},
    {"attack-pattern", SDO, ck_named},
    {"note", SDO, ck_note},
    {"report", SDO, ck_report},
    {"campaign", SDO, ck_named},
    {"course-of-action", SDO, ck_named},
    {"intrusion-set", SDO, ck_named},
    {"threat-actor", SDO, ck_named},
    {"tool", SDO, ck_named},
    {"vulnerability", SDO, ck_named},
    {"grouping", SDO, ck_grouping},
    {"location", SDO, NULL},
    {"malware-analysis", SDO, NULL},
    {"opinion", SDO, NULL},
    {"incident", SDO, ck_named},
    {"relationship", SRO, ck_relationship},
    {"sighting", SRO, ck_sighting},
    {"marking-definition", META, ck_marking},
    {"language-content", META, NULL},
    {"extension-definition", META, NULL},
    {"ipv4-addr", SCO, ck_ipv4},
    {"ipv6-addr", SCO, ck_ipv6},
    {"domain-name", SCO, ck_domain},
    {"url", SCO, ck_url},
    {"file", SCO, ck_file},
    {"email-addr", SCO, ck_value},
    {"mac-addr", SCO, ck_value},
    {"autonomous-system", SCO, ck_as},
    {"network-traffic", SCO, ck_traffic},
    {"artifact", SCO, NULL},
    {"directory", SCO, NULL},
    {"email-message", SCO, NULL},
    {"mutex", SCO, NULL},
    {"process", SCO, NULL},
    {"software", SCO, ck_named},
    {"user-account", SCO, NULL},
    {"windows-registry-key", SCO, NULL},
    {"x509-certificate", SCO, NULL},
};

int stix_check_object(const json_t *obj, char *msg, size_t cap)
{
    struct ck c = {obj, msg, cap};
    if (cap) msg[0] = 0;
    if (!json_is_object(obj)) return bad(&c, "not a JSON object");
    const char *type = str(&c, "type");
    if (!type) return bad(&c, "type is required");
    if (!type_name(type, 3)) return bad(&c, "type '%.40s' is not a STIX type name", type);
    const struct stix_type *t = NULL;
    for (size_t i = 0; i < sizeof types / sizeof *types && !t; i++)
        if (!strcmp(types[i].name, type)) t = &types[i];
    if (!t && strncmp(type, "x-", 2)) return bad(&c, "type '%.40s' is not a STIX 2.1 type", type);
    /* a custom object: an SDO unless it has no created (then an SCO) */
    enum cls k = t ? t->cls : json_object_get(obj, "created") ? SDO : SCO;
    int e = common(&c, k, type);
    if (!e && t && t->check) e = t->check(&c);
    return e;
}
