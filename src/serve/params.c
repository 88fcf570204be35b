/* params — API route and argument validation (see params.h). */
#include "params.h"
#include "../core/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_sections[] = {"ports", "backscatter_ports", "countries",
                                           "asns",  "sources",           "fingerprints"};

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

static int bad(char *msg, size_t n, const char *fmt, const char *a, const char *b)
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

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (!*s || strspn(s, "0123456789") != strlen(s)) return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || v < min || v > max) return false;
    *out = v;
    return true;
}

static int route(const char *path, struct api_req *r)
{
    static const char prefix[] = "/api/v1/";
    if (!strcmp(path, "/metrics")) return r->route = API_METRICS, 0;
    if (strncmp(path, prefix, sizeof prefix - 1) != 0) return strncmp(path, "/api/", 5) ? 0 : 404;
    const char *p = path + sizeof prefix - 1;
    if (!strcmp(p, "summary")) return r->route = API_SUMMARY, 0;
    if (!strcmp(p, "timeseries")) return r->route = API_TIMESERIES, 0;
    if (!strcmp(p, "geo")) return r->route = API_GEO, 0;
    if (!strcmp(p, "stream")) return r->route = API_STREAM, 0;
    if (!strcmp(p, "alerts") || !strcmp(p, "dos")) {
        r->route = API_SECTION;
        snprintf(r->section, sizeof r->section, "%s", p);
        return 0;
    }
    if (!strncmp(p, "top/", 4)) {
        for (size_t i = 0; i < sizeof top_sections / sizeof top_sections[0]; i++) {
            if (strcmp(p + 4, top_sections[i]) != 0) continue;
            r->route = API_SECTION;
            snprintf(r->section, sizeof r->section, "%s",
                     !strcmp(top_sections[i], "sources") ? "top_sources" : top_sections[i]);
            return 0;
        }
    }
    return 404;
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
    if (rc || r->route == API_NONE) return rc;
    if (n > API_MAX_ARGS)
        return bad(msg, msglen, "too many query arguments (at most %s)%s", "16", "");
    bool have_proto = false, have_port = false;
    for (size_t i = 0; i < n; i++) {
        const char *k = args[i].key, *v = args[i].value ? args[i].value : "";
        int64_t x;
        if (strlen(v) > API_MAX_VALUE) return bad(msg, msglen, "%s: value too long%s", k, "");
        if (!strcmp(k, "from") || !strcmp(k, "to")) {
            if (cli_parse_time(v, !strcmp(k, "from") ? &r->w.from : &r->w.to) < 0)
                return bad(msg, msglen, "%s: '%s' is not an ISO 8601 UTC time or epoch seconds", k,
                           v);
        } else if (!strcmp(k, "top") || !strcmp(k, "n")) {
            if (!parse_int(v, 0, 100000, &x))
                return bad(msg, msglen, "%s: '%s' is not a whole number from 0 to 100000", k, v);
            r->w.top = (int)x;
        } else if (!strcmp(k, "proto") && r->route == API_TIMESERIES) {
            if (strcmp(v, "tcp") && strcmp(v, "udp"))
                return bad(msg, msglen, "%s: '%s' is not tcp or udp", k, v);
            snprintf(r->proto, sizeof r->proto, "%s", v);
            have_proto = true;
        } else if (!strcmp(k, "port") && r->route == API_TIMESERIES) {
            if (!parse_int(v, 0, 65535, &x))
                return bad(msg, msglen, "%s: '%s' is not a port from 0 to 65535", k, v);
            r->port = (uint16_t)x;
            have_port = true;
        } else if (!strcmp(k, "res") && r->route == API_TIMESERIES) {
            if (!parse_int(v, 1, 86400, &x) || (x != 60 && x != 300 && x != 3600 && x != 86400))
                return bad(msg, msglen, "%s: '%s' is not 60, 300, 3600 or 86400", k, v);
            r->res = x;
        } else {
            return bad(msg, msglen, "unknown query argument '%s'%s", k, "");
        }
    }
    if (r->w.from >= r->w.to) return bad(msg, msglen, "from must be before to%s%s", "", "");
    if (r->route == API_TIMESERIES && (!have_proto || !have_port))
        return bad(msg, msglen, "timeseries needs proto and port%s%s", "", "");
    return 0;
}
