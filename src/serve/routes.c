/* routes — the registry of API endpoints (see routes.h for the model). */
#include "routes.h"
#include "../store/query.h"
#include "../store/survey.h"
#include "../store/share.h"
#include "serve.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *q_summary(struct store *s, const struct api_req *q)
{
    return query_summary(s, &q->w);
}

static json_t *q_section(struct store *s, const struct api_req *q)
{
    return query_section(s, q->section, &q->w);
}

static json_t *q_geo(struct store *s, const struct api_req *q)
{
    return query_geo(s, &q->w);
}

static json_t *q_survey(struct store *s, const struct api_req *q)
{
    (void)q;
    return query_survey(s);
}

static json_t *q_share(struct store *s, const struct api_req *q)
{
    (void)q;
    return query_share(s, (int64_t)time(NULL) * 1000000);
}

static enum MHD_Result now_metrics(struct server *s, struct conn *k, struct MHD_Connection *c)
{
    (void)k;
    struct blob *b = metrics_get(s);
    return b ? respond_blob(c, b) : send_error(c, 503, "database unavailable", 5);
}

static enum MHD_Result now_stream(struct server *s, struct conn *k, struct MHD_Connection *c)
{
    pthread_mutex_lock(&s->conns_mu); /* the guard reads it */
    k->stream = true;
    pthread_mutex_unlock(&s->conns_mu);
    return stream_open(s, c);
}

enum MHD_Result respond_json(struct MHD_Connection *c, json_t *doc)
{
    char *body = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    struct blob *b = body ? blob_new(200, "application/json", body, strlen(body)) : NULL;
    free(body);
    return b ? respond_blob(c, b) : send_error(c, 500, "out of memory", 0);
}

static enum MHD_Result now_index(struct server *s, struct conn *k, struct MHD_Connection *c)
{
    (void)s;
    (void)k;
    return respond_json(c, route_index_json());
}

#define SECTION(p, name, help)                                                                     \
    {                                                                                              \
        p, API_SECTION, name, "", help, NULL, NULL, q_section, NULL, true                          \
    }

/* How to add an endpoint: see routes.h.  One line each. */
/* clang-format off */
const struct api_route_def api_routes[] = {
    {"/api/v1/summary", API_SUMMARY, NULL, "?top=5", "the report contract of a window",
     NULL, NULL, q_summary, NULL, true},
    {"/api/v1/timeseries", API_TIMESERIES, NULL, "?proto=tcp&port=23&res=300",
     "packets and sources of one port per bucket, with its alerts",
     route_timeseries_arg, route_timeseries_check, route_timeseries, NULL, true},
    SECTION("/api/v1/top/ports", "ports", "top destination ports"),
    SECTION("/api/v1/top/backscatter_ports", "backscatter_ports", "backscatter by victim port"),
    SECTION("/api/v1/top/countries", "countries", "countries of sources"),
    SECTION("/api/v1/top/asns", "asns", "ASNs of sources"),
    SECTION("/api/v1/top/sources", "top_sources", "top sources"),
    SECTION("/api/v1/top/fingerprints", "fingerprints", "scanner fingerprints"),
    SECTION("/api/v1/alerts", "alerts", "surge alerts"),
    SECTION("/api/v1/dos", "dos", "DoS victims"),
    {"/api/v1/geo", API_GEO, NULL, "?n=50", "located sources per 1-degree cell",
     NULL, NULL, q_geo, NULL, true},
    {"/api/v1/survey", API_SURVEY, NULL, "", "survey rounds, logins accepted by protocol, notices by owner",
     NULL, NULL, q_survey, NULL, true},
    {"/api/v1/share", API_SHARE, NULL, "", "sharing: exchanges, sources and their trust, values several sources told, campaigns",
     NULL, NULL, q_share, NULL, true},
    {"/api/v1/stream", API_STREAM, NULL, "", "Server-Sent Events: live samples and alerts",
     NULL, NULL, NULL, now_stream, false},
    {"/api/v1/names", API_NAMES, NULL, "", "packet classes and scanner fingerprints",
     NULL, NULL, NULL, route_names, false},
    {"/api/v1/routes", API_ROUTES, NULL, "", "this list",
     NULL, NULL, NULL, now_index, false},
    {"/metrics", API_METRICS, NULL, "", "Prometheus text",
     NULL, NULL, NULL, now_metrics, false},
    {NULL, API_NONE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false},
};
/* clang-format on */

const struct api_route_def *api_route_find(const char *path)
{
    for (const struct api_route_def *r = api_routes; r->path; r++)
        if (!strcmp(r->path, path)) return r;
    return NULL;
}

json_t *route_index_json(void)
{
    json_t *arr = json_array();
    for (const struct api_route_def *r = api_routes; arr && r->path; r++)
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:s,s:b}", "path", r->path, "example", r->example,
                                        "help", r->help, "cacheable", r->cacheable));
    return arr ? json_pack("{s:o}", "routes", arr) : NULL;
}
