/* evtab — the mamori_events virtual table (see evtab.c). */
#ifndef MAMORI_EVTAB_H
#define MAMORI_EVTAB_H

#include <sqlite3.h>

/* Registers mamori_events on a connection (SQLite error code). */
int ev_table_register(sqlite3 *db);

#endif
