/* rowjson — one SQL result row as a JSON object: the one routine behind every
 * list the REST API serves (query.c) and every event the live stream sends
 * (stream.c), so the two cannot spell the same row differently.
 *
 * The column name says how a value is shown (SQL picks the name with AS):
 *   name_list  comma-separated text -> array of integers or strings, key "name"
 *   name_us    microseconds -> ISO 8601 with microseconds, key "name" (NULL stays null)
 *   at         seconds -> ISO 8601
 *   anything else: integer, real, text (always valid UTF-8: a hand-edited
 *   database may hold any bytes) or null.
 * Internal to store: callers outside it get JSON from query.h / stream.h. */
#ifndef MAMORI_ROWJSON_H
#define MAMORI_ROWJSON_H

#include <jansson.h>
#include <sqlite3.h>

/* The current row of st from column first on; a new object, or NULL when out
 * of memory. */
json_t *rowjson(sqlite3_stmt *st, int first);
/* Steps st to its end, one object per row, into a new array; NULL with
 * err_set() on a SQL error (st is finalised either way). */
json_t *rowjson_all(sqlite3_stmt *st);

#endif
