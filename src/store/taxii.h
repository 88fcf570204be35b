/* taxii — the TAXII 2.1 server's collections in the database (schema v10;
 * owner: the TAXII part).
 *
 * A collection's objects are stored as the STIX JSON they were added as, one
 * row per (collection, id, version) with the time the server added it
 * (TAXII's date_added, microseconds, the paging key), so the same object
 * version added twice is one row and its date_added does not move.  POSTs'
 * status resources are kept too. */
#ifndef MAMORI_STORE_TAXII_H
#define MAMORI_STORE_TAXII_H

#include <jansson.h>
#include <stdint.h>

struct store;

extern const char taxii_schema_sql[];

/* Adds a bundle's (or an envelope's) objects to collection (an id) in one
 * transaction; *added how many versions were new.  0 or an error. */
int taxii_db_publish(struct store *s, const char *collection, const json_t *objects,
                     int64_t now_us, uint64_t *added);

#endif
