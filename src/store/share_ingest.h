/* share_ingest — STIX objects from another organisation into the indicator
 * model (owner: the import part; used by share import, share pull and the
 * TAXII server's POST).
 *
 * One object at a time, in the caller's transaction (share_begin/commit):
 * an indicator's pattern, observed-data's SCOs and sightings become
 * share_put rows of the source, with the source's trust applied to the
 * object's own confidence, dropped when a warninglist (benign research
 * scanners, special-purpose ranges) holds the value, deduplicated by STIX id
 * and by value.  An object that is not valid STIX 2.1 is refused with a
 * one-line reason (-EINVAL) and changes nothing. */
#ifndef MAMORI_STORE_SHARE_INGEST_H
#define MAMORI_STORE_SHARE_INGEST_H

#include <jansson.h>
#include <stdint.h>

struct store;
struct share_warn; /* loaded warninglists */

/* The shipped warninglists (data/share/), or those in dir when not NULL; NULL and an error set. */
struct share_warn *share_warn_load(const char *dir);
void share_warn_free(struct share_warn *w);

struct share_ingest_opts {
    const char *source; /* a peer's name; its trust comes from share_sources (share_source_get) */
    int64_t now_us;
    const struct share_warn *warn; /* NULL: nothing dropped */
};

struct share_ingest_stats {
    uint64_t objects, indicators, fresh, duplicates, dropped, invalid;
};

int share_ingest_object(struct store *s, const json_t *obj, const struct share_ingest_opts *o,
                        struct share_ingest_stats *st);

#endif
