/* store_int — what only src/store may see of the store: its SQLite handle.
 *
 * store.h is the capabilities' view (write an interval, open, close) and
 * names no SQLite type, so that observe, lure, report and serve cannot reach
 * the database around store's API (tools/layers.py refuses this header, and
 * any mention of sqlite3, outside src/store).  The store's own modules — the
 * read side (query.c), the honeypot tables, the stream, the sinks — take the
 * handle from here. */
#ifndef MAMORI_STORE_INT_H
#define MAMORI_STORE_INT_H

#include "store.h"

#include <sqlite3.h>

sqlite3 *store_db(struct store *s);

#endif
