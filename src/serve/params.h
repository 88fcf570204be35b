/* params — one API request, parsed and validated before any database work.
 *
 * Input is the request path and its query arguments as the HTTP library
 * decoded them; output is a route (a line of the table in routes.c, found by
 * its exact path) and typed parameters, or a one-line error for a 400.  Everything is bounded: at
 * most API_MAX_ARGS arguments of at most API_MAX_VALUE bytes, known names only, integers and times
 * range-checked. Text echoed into a reason is escaped (bytes outside printable ASCII become
 * "\xNN"), so a reason is always valid UTF-8 for the JSON error body.
 * api_scan_uri() looks at the raw request target before the library decodes
 * it, which is the only place an encoded NUL ("%00") or a flood of arguments
 * can still be seen.  Fuzzed by fuzz/fuzz_params.c. */
#ifndef MAMORI_PARAMS_H
#define MAMORI_PARAMS_H

#include "../store/query.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_MAX_ARGS 16
#define API_MAX_VALUE 64

enum api_route {
    API_NONE, /* not an API path: static files */
    API_SUMMARY,
    API_TIMESERIES,
    API_SECTION, /* /api/v1/top/<name>, /api/v1/alerts, /api/v1/dos */
    API_GEO,
    API_METRICS,
    API_STREAM, /* Server-Sent Events: live samples and alerts */
    API_NAMES,  /* classify's tables */
    API_ROUTES, /* the route table */
    API_SURVEY, /* the survey view: rounds, findings by protocol, notices by owner */
    API_SHARE,  /* the share view: exchanges, sources and trust, agreed values, campaigns */
};

struct api_arg {
    const char *key, *value;
};

struct api_route_def;

struct api_req {
    enum api_route route;
    const struct api_route_def *def; /* its line of the route table (routes.h); NULL: static */
    struct query_window w;
    char section[24];
    char proto[4];
    uint16_t port;
    bool have_port;
    int64_t res;
};

/* 0 on success; 404 for an unknown API path; 400 with msg filled for a bad
 * request. */
int api_parse(const char *path, const struct api_arg *args, size_t n, struct api_req *out,
              char *msg, size_t msglen);

/* Fills msg from fmt with a and b escaped; returns 400 (for route parsers). */
int api_bad(char *msg, size_t n, const char *fmt, const char *a, const char *b);

/* A decimal argument in [min, max] (digits only); false otherwise. */
bool api_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* What the raw request target (path and query, still percent-encoded) holds:
 * the number of query arguments, where the query starts (NULL without one) and
 * whether any part decodes to a NUL byte. */
struct api_uri {
    size_t args;
    const char *query; /* just after the '?' */
    bool nul;
};
void api_scan_uri(const char *uri, struct api_uri *out);

/* The cache key of a parsed request: the same for every spelling of the same
 * arguments (top=05 and top=5, an epoch and its ISO 8601 time). */
void api_key(const struct api_req *r, char *key, size_t n);

#endif
