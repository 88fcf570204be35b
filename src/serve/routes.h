/* routes — the API as a table: one line per endpoint (routes.c).
 *
 * A line names the path, the section of the summary it serves (if any), an
 * example query for tests and the index, the parser of its own arguments
 * (from, to and top/n every route takes), and how it is answered:
 *   query  run by a query thread on a pooled read-only store (never in a
 *          libmicrohttpd callback); cached until the next commit when
 *          cacheable;
 *   now    answered at once in the callback, without the database (kept-ready
 *          bodies, the stream, the tables' own JSON).
 * params.c finds a request's line (exact path match), serve.c and work.c
 * answer by it, and GET /api/v1/routes lists it.  To add an endpoint: a file
 * with its handler (and argument parser), and one line in api_routes[]; its
 * id (enum api_route in params.h) is what the cache key and tests name. */
#ifndef MAMORI_ROUTES_H
#define MAMORI_ROUTES_H

#include "params.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>

struct server;
struct conn;
struct store;

struct api_route_def {
    const char *path;
    enum api_route id;
    const char *section; /* the query section it serves, or NULL */
    const char *example; /* a query string that answers 200 ("" for none) */
    const char *help;
    /* One argument of the route's own: 0 taken, 400 with msg filled, or -1
     * when it is not one of its arguments. */
    int (*arg)(struct api_req *r, const char *k, const char *v, char *msg, size_t n);
    /* After all arguments: 0, or 400 with msg filled (what is missing). */
    int (*check)(const struct api_req *r, char *msg, size_t n);
    json_t *(*query)(struct store *s, const struct api_req *q);
    enum MHD_Result (*now)(struct server *s, struct conn *k, struct MHD_Connection *c);
    bool cacheable;
};

/* NULL-terminated by a line with path NULL. */
extern const struct api_route_def api_routes[];
/* The line of this exact path, or NULL. */
const struct api_route_def *api_route_find(const char *path);

/* Answers doc (taken) as a 200 application/json. */
enum MHD_Result respond_json(struct MHD_Connection *c, json_t *doc);

/* routes_*.c: handlers the table names */
json_t *route_timeseries(struct store *s, const struct api_req *q);
int route_timeseries_arg(struct api_req *r, const char *k, const char *v, char *msg, size_t n);
int route_timeseries_check(const struct api_req *r, char *msg, size_t n);
enum MHD_Result route_names(struct server *s, struct conn *k, struct MHD_Connection *c);
/* the JSON of GET /api/v1/names and /api/v1/routes (also for tests) */
json_t *route_names_json(void);
json_t *route_index_json(void);

#endif
