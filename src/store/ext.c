/* ext — mamori_sqlite, the loadable extension for the sqlite3 shell.
 *
 *   sqlite3 obs.db -cmd '.load build/mamori_sqlite' 'SELECT * FROM mamori_events LIMIT 5'
 *
 * It registers the same mamori_events virtual table mamori uses (evtab.c,
 * built here against the API table the shell passes, not linked to a second
 * SQLite).  Entry point as SQLite derives it from the file name. */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#include "evtab.h"
#include "stattab.h"

int sqlite3_mamorisqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

int sqlite3_mamorisqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    SQLITE_EXTENSION_INIT2(api);
    int rc = ev_table_register(db);
    if (rc == SQLITE_OK) rc = stats_table_register(db);
    if (rc != SQLITE_OK)
        *err = sqlite3_mprintf("mamori_sqlite: cannot register mamori_events, mamori_stats");
    return rc;
}
