/* taxii_params — TAXII 2.1 paths and query arguments (see taxii_params.h).
 * Pure functions over bounded copies: no allocation, no database, so the
 * fuzzer can drive them and the event-loop threads can call them. */
#include "taxii_params.h"
#include "../core/cli.h"
#include "../core/stix.h"
#include "params.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool taxii_is_path(const char *url)
{
    return !strncmp(url, "/taxii2", 7) && (url[7] == 0 || url[7] == '/');
}

bool taxii_uuid_ok(const char *s)
{
    static const int dash[] = {8, 13, 18, 23};
    if (strlen(s) != 36) return false;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dash[d]) {
            if (s[i] != '-') return false;
            d++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool taxii_stix_id_ok(const char *s)
{
    const char *sep = strstr(s, "--");
    if (!sep || sep == s || sep - s > TAXII_NAME_MAX || !taxii_uuid_ok(sep + 2)) return false;
    for (const char *p = s; p < sep; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') return false;
    return true;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > TAXII_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.~", s[i])) return false;
    return !(n <= 2 && s[0] == '.' && (n == 1 || s[1] == '.'));
}

/* The path's segments between slashes (a final slash optional, never two). */
static int segments(const char *p, const char **seg, size_t *len, int max)
{
    int n = 0;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0 || n == max) return -1;
        seg[n] = p;
        len[n++] = l;
        p += l;
        if (*p) p++;
    }
    return n;
}

static bool is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && !memcmp(s, word, n);
}

static bool copy(char *out, size_t cap, const char *s, size_t n)
{
    if (n >= cap) return false;
    memcpy(out, s, n);
    out[n] = 0;
    return true;
}

int taxii_path_parse(const char *url, struct taxii_path *p)
{
    memset(p, 0, sizeof *p);
    if (!taxii_is_path(url)) return 404;
    if (!url[7] || !url[8]) {
        p->ep = TX_DISCOVERY;
        return 0;
    }
    const char *seg[7];
    size_t len[7];
    int n = segments(url + 8, seg, len, 7);
    if (n < 1 || !name_ok(seg[0], len[0]) || !copy(p->root, sizeof p->root, seg[0], len[0]))
        return 404;
    if (n == 1) {
        p->ep = TX_ROOT;
        return 0;
    }
    if (is(seg[1], len[1], "status")) {
        if (n != 3 || !copy(p->status, sizeof p->status, seg[2], len[2]) ||
            !taxii_uuid_ok(p->status))
            return 404;
        p->ep = TX_STATUS;
        return 0;
    }
    if (!is(seg[1], len[1], "collections")) return 404;
    if (n == 2) {
        p->ep = TX_COLLECTIONS;
        return 0;
    }
    if (!copy(p->coll, sizeof p->coll, seg[2], len[2]) || !taxii_uuid_ok(p->coll)) return 404;
    if (n == 3) {
        p->ep = TX_COLLECTION;
        return 0;
    }
    if (n == 4 && is(seg[3], len[3], "manifest")) {
        p->ep = TX_MANIFEST;
        return 0;
    }
    if (!is(seg[3], len[3], "objects")) return 404;
    if (n == 4) {
        p->ep = TX_OBJECTS;
        return 0;
    }
    if (!copy(p->obj, sizeof p->obj, seg[4], len[4]) || !taxii_stix_id_ok(p->obj)) return 404;
    if (n == 5) {
        p->ep = TX_OBJECT;
        return 0;
    }
    if (n == 6 && is(seg[5], len[5], "versions")) {
        p->ep = TX_VERSIONS;
        return 0;
    }
    return 404;
}

const char *taxii_allowed(enum taxii_ep ep)
{
    switch (ep) {
    case TX_OBJECTS:
        return "GET, HEAD, POST";
    case TX_OBJECT:
        return "GET, HEAD, DELETE";
    default:
        return "GET, HEAD";
    }
}

bool taxii_method_ok(enum taxii_ep ep, const char *m)
{
    if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) return true;
    if (!strcmp(m, "POST")) return ep == TX_OBJECTS;
    if (!strcmp(m, "DELETE")) return ep == TX_OBJECT;
    return false;
}

void taxii_params_init(struct taxii_params *p)
{
    memset(p, 0, sizeof *p);
    p->f.limit = TAXII_PAGE_MAX;
}

const char *taxii_next_format(int64_t added, int64_t row, char *out)
{
    snprintf(out, 48, "%" PRId64 ".%" PRId64, added, row);
    return out;
}

static bool next_parse(const char *v, int64_t *added, int64_t *row)
{
    const char *dot = strchr(v, '.');
    if (!dot) return false;
    char a[24];
    if (!copy(a, sizeof a, v, (size_t)(dot - v))) return false;
    return api_int(a, 0, INT64_MAX, added) && api_int(dot + 1, 0, INT64_MAX, row);
}

/* Splits v at commas into the struct's own text: the pointers, or false
 * with msg filled. */
static bool split(struct taxii_params *p, const char *key, const char *v, const char **out,
                  size_t *n, char *msg, size_t mn)
{
    while (*v) {
        const char *e = strchr(v, ',');
        size_t l = e ? (size_t)(e - v) : strlen(v);
        if (*n == TAXII_MATCH_MAX || p->n_text == sizeof p->text / sizeof p->text[0]) {
            api_bad(msg, mn, "%s: at most %s values", key, "16");
            return false;
        }
        char *t = p->text[p->n_text];
        if (l == 0 || !copy(t, sizeof p->text[0], v, l)) {
            api_bad(msg, mn, "%s: '%s' is not a value", key, v);
            return false;
        }
        p->n_text++;
        out[(*n)++] = t;
        v += l;
        if (*v && !*++v) {
            api_bad(msg, mn, "%s: %s ends with a comma", key, "the list");
            return false;
        }
    }
    if (!*n) api_bad(msg, mn, "%s: empty%s", key, "");
    return *n > 0;
}

static int versions(struct taxii_params *p, const char *v, char *msg, size_t n)
{
    const char *vals[TAXII_MATCH_MAX];
    size_t k = 0;
    if (!split(p, "match[version]", v, vals, &k, msg, n)) return 400;
    p->n_text -= k; /* parsed into numbers and flags: the text is not kept */
    for (size_t i = 0; i < k; i++) {
        if (!strcmp(vals[i], "last"))
            p->f.vflags |= TAXII_V_LAST;
        else if (!strcmp(vals[i], "first"))
            p->f.vflags |= TAXII_V_FIRST;
        else if (!strcmp(vals[i], "all"))
            p->f.vflags |= TAXII_V_ALL;
        else if (p->f.n_versions < TAXII_MATCH_MAX &&
                 !stix_time_parse(vals[i], &p->f.versions[p->f.n_versions]))
            p->f.n_versions++;
        else
            return api_bad(msg, n, "match[version]: '%s' is not last, first, all or a%s timestamp",
                           vals[i], "n RFC 3339");
    }
    return 0;
}

int taxii_params_arg(struct taxii_params *p, enum taxii_ep ep, const char *key, const char *value,
                     char *msg, size_t n)
{
    const char *v = value ? value : "";
    if (strlen(v) > TAXII_VALUE_MAX) return api_bad(msg, n, "%s: value too long%s", key, "");
    bool list = ep == TX_OBJECTS || ep == TX_OBJECT || ep == TX_VERSIONS || ep == TX_MANIFEST;
    if (!list) return 0; /* the other endpoints take no arguments: ignored */
    if (!strcmp(key, "added_after")) {
        if (stix_time_parse(v, &p->f.added_after))
            return api_bad(msg, n, "added_after: '%s' is not an RFC 3339 timestamp%s", v, "");
        p->f.have_added_after = true;
    } else if (!strcmp(key, "limit")) {
        int64_t x;
        if (!api_int(v, 1, INT64_MAX, &x))
            return api_bad(msg, n, "limit: '%s' is not a positive whole number%s", v, "");
        p->f.limit = x > TAXII_PAGE_MAX ? TAXII_PAGE_MAX : (size_t)x;
        p->have_limit = true;
    } else if (!strcmp(key, "next")) {
        if (!next_parse(v, &p->f.cursor_added, &p->f.cursor_row))
            return api_bad(msg, n, "next: '%s' is not a cursor this server gave%s", v, "");
        p->f.have_cursor = true;
    } else if (!strcmp(key, "match[id]")) {
        if (ep == TX_OBJECT || ep == TX_VERSIONS)
            return api_bad(msg, n, "%s: not a filter of this endpoint%s", key, "");
        if (!split(p, key, v, p->f.ids, &p->f.n_ids, msg, n)) return 400;
    } else if (!strcmp(key, "match[type]")) {
        if (ep == TX_OBJECT || ep == TX_VERSIONS)
            return api_bad(msg, n, "%s: not a filter of this endpoint%s", key, "");
        if (!split(p, key, v, p->f.types, &p->f.n_types, msg, n)) return 400;
    } else if (!strcmp(key, "match[version]")) {
        if (ep == TX_VERSIONS)
            return api_bad(msg, n, "%s: not a filter of this endpoint%s", key, "");
        return versions(p, v, msg, n);
    } else if (!strcmp(key, "match[spec_version]")) {
        if (!split(p, key, v, p->f.specs, &p->f.n_specs, msg, n)) return 400;
    } else if (!strncmp(key, "match[", 6)) {
        return api_bad(msg, n, "%s: not a filter this server supports%s", key, "");
    }
    return 0;
}

/* One media range: type/subtype and its parameters, spaces allowed around ';'. */
static bool range_ok(const char *r, size_t len, bool ranges)
{
    char buf[256];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < sizeof buf; i++)
        if (r[i] != ' ' && r[i] != '\t') buf[n++] = (char)tolower((unsigned char)r[i]);
    buf[n] = 0;
    char *semi = strchr(buf, ';');
    char *params = semi ? semi + 1 : NULL;
    if (semi) *semi = 0;
    if (ranges && (!strcmp(buf, "*/*") || !strcmp(buf, "application/*"))) return true;
    if (strcmp(buf, "application/taxii+json")) return false;
    /* no version means the newest this server speaks */
    for (char *t = params; t && *t;) {
        char *e = strchr(t, ';');
        if (e) *e = 0;
        if (!strncmp(t, "version=", 8) && strcmp(t + 8, "2.1")) return false;
        t = e ? e + 1 : NULL;
    }
    return true;
}

bool taxii_media_ok(const char *v, bool ranges)
{
    if (!v) return ranges; /* no Accept: anything; no Content-Type: not ours */
    while (*v) {
        const char *e = strchr(v, ',');
        size_t l = e ? (size_t)(e - v) : strlen(v);
        if (range_ok(v, l, ranges)) return true;
        if (!ranges) return false; /* a Content-Type is one type */
        v += l;
        if (*v) v++;
    }
    return false;
}
