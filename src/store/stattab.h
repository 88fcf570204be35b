/* stattab — the mamori_stats virtual table (see stattab.c). */
#ifndef MAMORI_STATTAB_H
#define MAMORI_STATTAB_H

#ifdef MAMORI_SQLITE_EXT
#include <sqlite3ext.h>
#else
#include <sqlite3.h>
#endif

/* Registers mamori_stats on db: SQLITE_OK or an SQLite error code. */
int stats_table_register(sqlite3 *db);

#endif
