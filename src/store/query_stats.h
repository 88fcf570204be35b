/* query_stats — per-key lists and port series from stats blobs and rollups
 * (see query_stats.c); used by query.c only. */
#ifndef MAMORI_QUERY_STATS_H
#define MAMORI_QUERY_STATS_H

#include "stats.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* One summary list (kind) of a window's merged stats; top <= 0: all. */
json_t *query_stats_list(const struct stats_acc *a, enum row_kind kind, int top);
/* Packets and sources of one port per res-second bucket over [from, to). */
json_t *query_stats_series(sqlite3 *db, int64_t from, int64_t to, const char *proto, uint16_t port,
                           int64_t res);

/* The rows of st (ip, packets, bytes, ports, fingerprints, cc, asn, lat, lon)
 * grouped by ip as SQL would (sums, and max() of the rest), the busiest top
 * (<= 0: all) by packets then ip: a JSON array of those nine-value arrays
 * (free() it), or NULL with err_msg() set. */
char *query_top_merge(sqlite3_stmt *st, int top);
/* The same list for top > 0 without reading every row: big yields every row
 * but some each holding at most slack / (the hours they were left out of)
 * packets, so a source with none of its rows in big holds <= slack; rest
 * (its ?4 bound to a JSON array of addresses) yields the left-out rows of
 * those addresses.  *decided is false (and NULL returned, no error) when the
 * bound cannot settle the list: read every row with query_top_merge then. */
char *query_top_bounded(sqlite3_stmt *big, sqlite3_stmt *rest, int top, int64_t slack,
                        bool *decided);

#endif
