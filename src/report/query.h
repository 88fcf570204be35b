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
#include <sqlite3.h>
#include <stdint.h>

struct query_window {
    int64_t from, to; /* seconds, [from, to) on interval start */
    int top;          /* list lengths; <= 0 means no limit */
};

/* Registers mamori_distinct() on a connection. */
int query_register(sqlite3 *db);
/* Returns a new JSON object, or NULL with err_msg() set. */
json_t *query_summary(sqlite3 *db, const struct query_window *w);

#endif
