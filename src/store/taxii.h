/* taxii — the TAXII 2.1 server's collections in the database (schema v10;
 * owner: the TAXII part).
 *
 * A collection's objects are stored as the STIX JSON they were added as, one
 * row per (collection, id, version) with the time the server added it
 * (TAXII's date_added, microseconds, the paging key), so the same object
 * version added twice is one row and its date_added does not move.  Within a
 * collection date_added strictly increases (a new row gets max + 1 µs when
 * the clock has not moved on), so a client that pages with added_after set to
 * the last X-TAXII-Date-Added-Last never skips or repeats a row.  An object's
 * version is its modified, else created, else its date_added (TAXII 2.1
 * §3.4); versions are kept as µs too so that match[version] compares
 * instants, not spellings.  POSTs' status resources are kept whole (their
 * JSON) with their counts.
 *
 * The read side takes a filter (added_after, a cursor, match[id|type|version|
 * spec_version], a limit) and returns a page of rows in date_added order,
 * with whether more follow and the cursor of the next page. */
#ifndef MAMORI_STORE_TAXII_H
#define MAMORI_STORE_TAXII_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

extern const char taxii_schema_sql[];

/* Adds a bundle's (or an envelope's) objects to collection (an id) in one
 * transaction; objects is the bundle/envelope or its "objects" array; *added
 * how many versions were new.  0 or an error (nothing added then). */
int taxii_db_publish(struct store *s, const char *collection, const json_t *objects, int64_t now_us,
                     uint64_t *added);

/* One object in the caller's transaction (share_begin/commit): 1 when this
 * version is new, 0 when it was there already, or an error (-EINVAL: no
 * string type/id). */
int taxii_db_add(struct store *s, const char *collection, const json_t *obj, int64_t now_us);

/* match[version] */
enum { TAXII_V_LAST = 1, TAXII_V_FIRST = 2, TAXII_V_ALL = 4 };

#define TAXII_MATCH_MAX 16 /* values of one match[...] */

struct taxii_filter {
    bool have_added_after;
    int64_t added_after;
    bool have_cursor; /* rows after (cursor_added, cursor_row) */
    int64_t cursor_added, cursor_row;
    size_t limit; /* rows in a page; 0 is taken as 1 */
    const char *ids[TAXII_MATCH_MAX];
    size_t n_ids;
    const char *types[TAXII_MATCH_MAX];
    size_t n_types;
    const char *specs[TAXII_MATCH_MAX]; /* none: the newest spec_version of each object */
    size_t n_specs;
    unsigned vflags; /* TAXII_V_*; with no flag and no version: last */
    int64_t versions[TAXII_MATCH_MAX];
    size_t n_versions;
};

struct taxii_row {
    int64_t row, added_us, version_us;
    char *id, *type, *version, *spec_version, *json;
};

struct taxii_page {
    struct taxii_row *v;
    size_t n;
    bool more;
    int64_t next_added, next_row; /* the cursor after the last row, when more */
};

/* A page of collection's rows matching f (date_added order): 0 or an error. */
int taxii_db_query(struct store *s, const char *collection, const struct taxii_filter *f,
                   struct taxii_page *out);
void taxii_page_free(struct taxii_page *p);
/* How many versions of object id collection holds (0: none), or an error. */
int64_t taxii_db_count(struct store *s, const char *collection, const char *id);
/* Deletes the versions of id that f selects (its ids are ignored; version
 * defaults to all): how many, or an error. */
int64_t taxii_db_delete(struct store *s, const char *collection, const char *id,
                        const struct taxii_filter *f);

/* Status resources: status is the whole resource (id, status, counts,
 * successes, failures, pendings); kept by its "id". */
int taxii_db_status_put(struct store *s, const char *collection, const json_t *status,
                        int64_t request_us);
/* 1 and *status (a new reference) and collection into coll (cap bytes), 0
 * when unknown, or an error. */
int taxii_db_status_get(struct store *s, const char *id, json_t **status, char *coll, size_t cap);

/* The client's memory (share pull): the newest X-TAXII-Date-Added-Last seen
 * from a collection's objects URL, so that the next pull asks only for what
 * is newer.  get: 1 and last filled, 0 when never pulled, or an error. */
int taxii_db_pull_get(struct store *s, const char *url, char *last, size_t cap);
int taxii_db_pull_put(struct store *s, const char *url, const char *last, int64_t now_us);

#endif
