/* routes_timeseries — GET /api/v1/timeseries: one port's packets and
 * distinct sources per bucket, with that port's surge alerts for the chart's
 * markers.  Its own arguments: proto (tcp|udp) and port, both required, and
 * res (60, 300, 3600 or 86400 s). */
#include "../store/query.h"
#include "routes.h"

#include <stdio.h>
#include <string.h>

int route_timeseries_arg(struct api_req *r, const char *k, const char *v, char *msg, size_t n)
{
    int64_t x;
    if (!strcmp(k, "proto")) {
        if (strcmp(v, "tcp") && strcmp(v, "udp"))
            return api_bad(msg, n, "%s: '%s' is not tcp or udp", k, v);
        snprintf(r->proto, sizeof r->proto, "%s", v);
    } else if (!strcmp(k, "port")) {
        if (!api_int(v, 0, 65535, &x))
            return api_bad(msg, n, "%s: '%s' is not a port from 0 to 65535", k, v);
        r->port = (uint16_t)x;
        r->have_port = true;
    } else if (!strcmp(k, "res")) {
        if (!api_int(v, 1, 86400, &x) || (x != 60 && x != 300 && x != 3600 && x != 86400))
            return api_bad(msg, n, "%s: '%s' is not 60, 300, 3600 or 86400", k, v);
        r->res = x;
    } else {
        return -1;
    }
    return 0;
}

int route_timeseries_check(const struct api_req *r, char *msg, size_t n)
{
    if (!r->proto[0] || !r->have_port)
        return api_bad(msg, n, "timeseries needs proto and port%s%s", "", "");
    return 0;
}

json_t *route_timeseries(struct store *db, const struct api_req *q)
{
    json_t *doc = NULL, *pts = query_timeseries(db, &q->w, q->proto, q->port, q->res);
    json_t *alerts = pts ? query_section(db, "alerts", &q->w) : NULL;
    if (pts && alerts) {
        json_t *mine = json_array(), *a;
        size_t i;
        json_array_foreach(alerts, i, a)
        {
            if (!strcmp(json_string_value(json_object_get(a, "proto")), q->proto) &&
                json_integer_value(json_object_get(a, "port")) == q->port)
                json_array_append(mine, a);
        }
        doc = json_pack("{s:s,s:i,s:I,s:o,s:o}", "proto", q->proto, "port", q->port, "resolution",
                        (json_int_t)q->res, "points", pts, "alerts", mine);
        pts = NULL;
    }
    json_decref(pts);
    json_decref(alerts);
    return doc;
}
