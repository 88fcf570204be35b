/* sqlfn — the data model's SQL functions (see sqlfn.c). */
#ifndef MAMORI_SQLFN_H
#define MAMORI_SQLFN_H

#include <sqlite3.h>

int store_sql_register(sqlite3 *db);

#endif
