/* query — the observatory summary of a time window, as a JSON document.
 *
 * This is the one implementation of the report contract (README "JSON
 * contract"): `mamori report` prints it and the dashboard API will serve it.
 * Distinct counts over a window are unions of the stored interval sketches,
 * computed inside SQLite by the aggregate mamori_distinct(blob) so a GROUP BY
 * does the work in one pass. */
#ifndef MAMORI_QUERY_H
#define MAMORI_QUERY_H

#include <jansson.h>
#include <stdint.h>

struct store;

struct query_window {
    int64_t from, to; /* seconds, [from, to) on interval start */
    int top;          /* list lengths; <= 0 means no limit */
};

/* Each reads a store opened read-only (store_open(path, false)) and returns
 * new JSON, or NULL with err_msg() set.  A store is used by one thread at a
 * time. */
json_t *query_summary(struct store *s, const struct query_window *w);
/* One list of the summary: fingerprints, ports, backscatter_ports, countries,
 * asns, top_sources, alerts or dos. */
json_t *query_section(struct store *s, const char *name, const struct query_window *w);
/* Packets and distinct sources of one (proto, port) per res-second bucket. */
json_t *query_timeseries(struct store *s, const struct query_window *w, const char *proto,
                         uint16_t port, int64_t res);
/* Located sources per 1-degree cell: lat, lon, cc, packets, sources, class. */
json_t *query_geo(struct store *s, const struct query_window *w);

#endif
