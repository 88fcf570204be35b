/* taxii_params — a TAXII 2.1 request's path and query, parsed before any
 * work (owner: the TAXII part; fuzzed by fuzz/fuzz_taxii_params.c).
 *
 * The path (as libmicrohttpd decoded it) names an endpoint of TAXII 2.1 §4
 * and §5 under /taxii2/: discovery, an API root, its status resources, its
 * collections, one collection's objects, one object, its versions and the
 * manifest.  Every segment is bounded and of a known alphabet (an API root a
 * name, a collection a UUID, an object a STIX id, a status a UUID), so what
 * is copied out can be put in SQL binds and JSON as it is.  The query's
 * arguments (added_after, limit, next, match[id|type|version|spec_version])
 * are checked one by one into a store filter; a bad value is a 400 with a
 * one-line reason whose echoed text is escaped.  Unknown arguments are
 * ignored (TAXII lets a server ignore what it does not support), an unknown
 * match[] field is refused (a filter silently not applied would hand the
 * client objects it asked not to get). */
#ifndef MAMORI_TAXII_PARAMS_H
#define MAMORI_TAXII_PARAMS_H

#include "../store/taxii.h"

#include <stdbool.h>
#include <stddef.h>

#define TAXII_PREFIX "/taxii2/"
#define TAXII_NAME_MAX 64
#define TAXII_VALUE_MAX 2048 /* one argument's value */
#define TAXII_PAGE_MAX 1000  /* the largest limit; also the default */

enum taxii_ep {
    TX_NONE,
    TX_DISCOVERY,   /* /taxii2/ */
    TX_ROOT,        /* /taxii2/{root}/ */
    TX_STATUS,      /* /taxii2/{root}/status/{id}/ */
    TX_COLLECTIONS, /* /taxii2/{root}/collections/ */
    TX_COLLECTION,  /* .../collections/{id}/ */
    TX_OBJECTS,     /* .../collections/{id}/objects/ */
    TX_OBJECT,      /* .../objects/{object-id}/ */
    TX_VERSIONS,    /* .../objects/{object-id}/versions/ */
    TX_MANIFEST,    /* .../collections/{id}/manifest/ */
};

struct taxii_path {
    enum taxii_ep ep;
    char root[TAXII_NAME_MAX + 1];
    char coll[40];   /* a UUID */
    char status[40]; /* a UUID */
    char obj[TAXII_NAME_MAX * 2 + 1];
};

/* Is url below /taxii2 (so the TAXII server answers it)? */
bool taxii_is_path(const char *url);
/* 0, or 404 for a path that is no endpoint. */
int taxii_path_parse(const char *url, struct taxii_path *p);
/* Which methods an endpoint takes ("GET, HEAD" ...), for 405's Allow header. */
const char *taxii_allowed(enum taxii_ep ep);
bool taxii_method_ok(enum taxii_ep ep, const char *method);

/* Parameters: a filter whose strings point into the struct itself. */
struct taxii_params {
    struct taxii_filter f;
    bool have_limit;
    char text[4 * TAXII_MATCH_MAX][TAXII_NAME_MAX * 2 + 1];
    size_t n_text;
};
/* A fresh set for endpoint ep (the default page size). */
void taxii_params_init(struct taxii_params *p);
/* One argument: 0, or 400 with msg filled.  Call taxii_params_fix() after. */
int taxii_params_arg(struct taxii_params *p, enum taxii_ep ep, const char *key, const char *value,
                     char *msg, size_t n);
/* The next cursor as text ("<date_added µs>.<row>") into out (>= 48 bytes). */
const char *taxii_next_format(int64_t added, int64_t row, char *out);
/* Does s look like a UUID (8-4-4-4-12 hex)? */
bool taxii_uuid_ok(const char *s);
/* A STIX id: type (lower-case letters, digits, '-') "--" UUID. */
bool taxii_stix_id_ok(const char *s);
/* Does the Accept (or Content-Type) value allow application/taxii+json;version=2.1?
 * ranges: whether "* / *"-style wildcards count (Accept) or not (Content-Type). */
bool taxii_media_ok(const char *v, bool ranges);

#endif
