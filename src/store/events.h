/* events — per-source event windows in packed blocks (see events.c). */
#ifndef MAMORI_EVENTS_H
#define MAMORI_EVENTS_H

#include "record.h"

#include <sqlite3.h>

struct ev_writer {
    sqlite3 *db;
    const char *path; /* for messages */
    sqlite3_stmt *ins_block, *ins_name;
    uint32_t *asns; /* AS numbers whose name is stored (open addressing, 0 free) */
    size_t cap, n;
    uint8_t *buf; /* one block's records */
};

/* Schema step to the packed events (migrate.c's list). */
extern const char ev_schema_sql[];
int ev_migrate_rows(sqlite3 *db, const char *path);

int ev_writer_init(struct ev_writer *w, sqlite3 *db, const char *path);
/* Stores one event window [from, to) of n sources, inside the caller's
 * transaction: blocks of address-sorted records and the AS names new to it. */
int ev_write_window(struct ev_writer *w, int64_t from, int64_t to, const struct src_row *rows,
                    size_t n);
void ev_writer_free(struct ev_writer *w);

#endif
