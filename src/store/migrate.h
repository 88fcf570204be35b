/* migrate — the schema as an ordered list of steps (see migrate.c). */
#ifndef MAMORI_MIGRATE_H
#define MAMORI_MIGRATE_H

#include <sqlite3.h>

/* PRAGMA user_version of db: 0 for a new file, or a negative error. */
int store_schema_version(sqlite3 *db);
/* Brings db (named path in messages) to STORE_SCHEMA, one transaction per
 * step; refuses a schema newer than this mamori. */
int store_migrate(sqlite3 *db, const char *path);

#endif
