/* params — API route and argument validation (see params.h). */
#include "params.h"
#include "../core/cli.h"
#include "routes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Request text as printable ASCII: anything else (invalid UTF-8, control
 * characters, and the backslash that introduces an escape) becomes "\xNN". */
static const char *esc(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u && o + 5 < cap; u++) {
        if (*u >= 0x20 && *u < 0x7f && *u != '\\')
            out[o++] = (char)*u;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *u);
    }
    out[o] = 0;
    return out;
}

int api_bad(char *msg, size_t n, const char *fmt, const char *a, const char *b)
{
    char ea[96], eb[4 * API_MAX_VALUE + 8];
    snprintf(msg, n, fmt, esc(a, ea, sizeof ea), esc(b, eb, sizeof eb));
    return 400;
}

static int hex(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

void api_scan_uri(const char *uri, struct api_uri *out)
{
    memset(out, 0, sizeof *out);
    for (const char *p = uri; *p; p++) {
        if (*p == '?' && !out->query) {
            out->query = p + 1;
            out->args = p[1] ? 1 : 0;
        } else if (*p == '&' && out->query) {
            out->args++;
        } else if (*p == '%' && hex(p[1]) >= 0 && hex(p[2]) >= 0) {
            if (hex(p[1]) == 0 && hex(p[2]) == 0) out->nul = true;
            p += 2;
        }
    }
}

void api_key(const struct api_req *r, char *key, size_t n)
{
    snprintf(key, n, "%d/%s/%lld/%lld/%d/%s/%u/%lld", (int)r->route, r->section,
             (long long)r->w.from, (long long)r->w.to, r->w.top, r->proto, (unsigned)r->port,
             (long long)r->res);
}

bool api_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (!*s || strspn(s, "0123456789") != strlen(s)) return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || v < min || v > max) return false;
    *out = v;
    return true;
}

/* The table's line for path (routes.c); 0 for a path outside the API
 * (static files), 404 for an unknown one under /api/. */
static int route(const char *path, struct api_req *r)
{
    const struct api_route_def *d = api_route_find(path);
    if (!d) return strncmp(path, "/api/", 5) ? 0 : 404;
    r->def = d;
    r->route = d->id;
    if (d->section) snprintf(r->section, sizeof r->section, "%s", d->section);
    return 0;
}

int api_parse(const char *path, const struct api_arg *args, size_t n, struct api_req *r, char *msg,
              size_t msglen)
{
    memset(r, 0, sizeof *r);
    r->w.from = 0;
    r->w.to = (int64_t)1 << 40;
    r->w.top = 10;
    r->res = 300;
    int rc = route(path, r);
    if (rc || !r->def) return rc;
    if (n > API_MAX_ARGS)
        return api_bad(msg, msglen, "too many query arguments (at most %s)%s", "16", "");
    for (size_t i = 0; i < n; i++) {
        const char *k = args[i].key, *v = args[i].value ? args[i].value : "";
        int64_t x;
        if (strlen(v) > API_MAX_VALUE) return api_bad(msg, msglen, "%s: value too long%s", k, "");
        if (!strcmp(k, "from") || !strcmp(k, "to")) {
            if (cli_parse_time(v, !strcmp(k, "from") ? &r->w.from : &r->w.to) < 0)
                return api_bad(msg, msglen, "%s: '%s' is not an ISO 8601 UTC time or epoch seconds",
                               k, v);
        } else if (!strcmp(k, "top") || !strcmp(k, "n")) {
            if (!api_int(v, 0, 100000, &x))
                return api_bad(msg, msglen, "%s: '%s' is not a whole number from 0 to 100000", k,
                               v);
            r->w.top = (int)x;
        } else if (r->def->arg && (rc = r->def->arg(r, k, v, msg, msglen)) >= 0) {
            if (rc) return rc;
        } else {
            return api_bad(msg, msglen, "unknown query argument '%s'%s", k, "");
        }
    }
    if (r->w.from >= r->w.to) return api_bad(msg, msglen, "from must be before to%s%s", "", "");
    return r->def->check ? r->def->check(r, msg, msglen) : 0;
}
