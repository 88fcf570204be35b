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

struct share_ind;

struct store;
struct share_warn; /* loaded warninglists */

/* The shipped warninglists (data/share/), or those in dir when not NULL; NULL and an error set. */
struct share_warn *share_warn_load(const char *dir);
void share_warn_free(struct share_warn *w);

struct share_ingest_opts {
    const char *source; /* a peer's name; its trust comes from share_sources (share_source_get) */
    int64_t now_us;
    const struct share_warn *warn; /* NULL: nothing dropped */
    /* The rest (import part): the bundle's objects by id (a JSON object id -> object), so
     * observed-data's object_refs find their SCOs; NULL: only its deprecated "objects". */
    const json_t *by_id;
};

struct share_ingest_stats {
    uint64_t objects, indicators, fresh, duplicates, dropped, invalid;
};

int share_ingest_object(struct store *s, const json_t *obj, const struct share_ingest_opts *o,
                        struct share_ingest_stats *st);
/* A bundle's or envelope's objects (an array), as share import, share pull and
 * TAXII POSTs take them: by_id built from them (o->by_id is ignored), every
 * sighting after the objects it may sight; on_invalid (may be NULL) told of
 * each object refused (-EINVAL: err_msg() says why).  0, or the first
 * database error (the caller rolls its transaction back). */
int share_ingest_objects(struct store *s, const json_t *objs, const struct share_ingest_opts *o,
                         struct share_ingest_stats *st,
                         void (*on_invalid)(void *ctx, size_t index, const json_t *obj), void *ctx);

/* --- the import part's additions -------------------------------------------------------------
 *
 * Ingest details: an object is refused (-EINVAL) when stix_check_object refuses it, when it
 * nests deeper than SHARE_OBJ_DEPTH or holds a string longer than SHARE_OBJ_STRING.  An object
 * this source already gave (the same id, not newer by "modified") is a duplicate and changes
 * nothing, so importing a file twice is idempotent (share_seen: one row per source and id).  A
 * sighting adds its count to the rows of the indicator it names (by STIX id), as the sighting
 * source's rows; call it after the indicators it names (share import does a second pass). */
#define SHARE_OBJ_DEPTH 32
#define SHARE_OBJ_STRING (1u << 20)

/* Admiralty source reliability (A completely reliable, B usually reliable, C fairly reliable,
 * D not usually reliable, E unreliable, F reliability cannot be judged) to a confidence 0..100,
 * or -EINVAL (share_trust.c has the table). */
int share_trust_confidence(const char *grade);
/* The confidence a row of a source gets: the source's confidence times the object's own
 * (own < 0: the object states none, the source's alone), on 0..100, rounded. */
int share_trust_combine(int source_confidence, int own_confidence);
/* Sets a source's grade and re-scores its rows from their objects' own confidences. */
int share_trust_set(struct store *s, const char *name, const char *grade, int64_t now_us);
/* Sources with grade, confidence, rows and last exchange: a JSON array (NULL and an error). */
json_t *share_sources_list(struct store *s);

/* Which warninglist holds a value (kind as in share.h, value canonical), or NULL. */
const char *share_warn_match(const struct share_warn *w, const char *kind, const char *value);
size_t share_warn_count(const struct share_warn *w); /* lists loaded */

/* Decay, MISP's model: score = base * (1 - (t / tau)^(1 / delta)), 0 once t >= tau, with t the
 * time since the value was last seen, base the row's confidence (trust and the object's own),
 * tau and delta per kind from data/share/decay.tsv. */
struct share_decay;
struct share_decay *share_decay_load(const char *path); /* NULL: the shipped table */
void share_decay_free(struct share_decay *d);
double share_decay_score(double base, double t_s, double tau_s, double delta);
/* A row's current score 0..100 (kinds the table lacks use its "default" line, else never decay). */
double share_score(const struct share_decay *d, const struct share_ind *row, int64_t now_us);

/* The cross-source view: per (kind, value), its sources (confidence, score, sightings, last
 * seen), the best score and the sightings in all; best score first, at most limit (0: all). */
json_t *share_values_view(struct store *s, const struct share_decay *d, int64_t now_us,
                          size_t limit);

#endif
