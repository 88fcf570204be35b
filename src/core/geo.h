/* geo — source enrichment: country and coordinates (MaxMind DB), ASN (CSV ranges).
 *
 * Country/coordinates come from any number of .mmdb files through libmaxminddb
 * (both the ip-location-db layout {country_code, latitude, longitude} and
 * MaxMind's own {country.iso_code, location.*} are read).  ASNs come from
 * ip-location-db's CSV (start,end,asn,name with dotted or numeric addresses),
 * loaded once into sorted range arrays and found by binary search: ~20
 * comparisons per lookup, no per-lookup allocation.  Each AS name is stored
 * once and each (AS number, name) pair has an id (515k ranges, 81k pairs
 * in ip-location-db): ~10 MiB less than a name per range.
 *
 * geo_lookup_walk() walks the MaxMind tree, decodes the record and searches
 * all ranges every time (1.3 us per new source on the bench capture).
 * geo_lookup() gives the same answers through tables built at load; a packet
 * path resolves through a geo_cache, one per thread (the geo handle itself is
 * read-only and shared), and what it keeps per source is a geo_ref: two
 * 32-bit indexes of decoded records, not the decoded fields. */
#ifndef MAMORI_GEO_H
#define MAMORI_GEO_H

#include "addr.h"

#include <stdbool.h>
#include <stdint.h>

struct geo;

struct geo_info {
    char cc[3]; /* "" when unknown */
    bool has_loc;
    double lat, lon;
    uint32_t asn;        /* 0 when unknown */
    const char *as_name; /* owned by the geo handle; "" when unknown */
};

struct geo *geo_new(void);
int geo_add_mmdb(struct geo *g, const char *path);
int geo_add_asn_csv(struct geo *g, const char *path);
/* Loads what a directory laid out like node_modules/@ip-location-db holds
 * (the ASN files in a thread of their own while the MaxMind ones load:
 * about half the wall time); returns the number of files loaded (0 when
 * none). */
int geo_add_dir(struct geo *g, const char *dir);
bool geo_has_country(const struct geo *g);
bool geo_has_asn(const struct geo *g);
/* Through the shared IPv4 tables and the /16 ASN index (see below), decoding
 * the record each time; thread-safe on a shared handle. */
void geo_lookup(const struct geo *g, const struct ipaddr *a, struct geo_info *out);
/* The reference the tables must agree with: a MaxMind tree walk per
 * database and a binary search of all ASN ranges (tests compare). */
void geo_lookup_walk(const struct geo *g, const struct ipaddr *a, struct geo_info *out);
void geo_free(struct geo *g);

/* How the tables work (geo_lookup and the cache alike): geo_add_mmdb()
 * flattens a database's IPv4 tree into a table of every /24 (geoflat.h:
 * ~17 MiB for GeoLite2 City) saying which record the walk would reach,
 * "none", or "walk" where a network longer than /24 lies, and decodes every
 * record the table names once (~0.1 s at load, 94k records); an IPv4 ASN
 * search looks only among the ranges of the address's /16.  All of it
 * belongs to the geo handle, read-only after loading, shared by threads.
 * Once flattened, the database's mapped pages are let go (MADV_DONTNEED):
 * only walks read the file afterwards, so its ~28 MiB are not resident for
 * the whole run.
 *
 * A geo_cache adds per thread what cannot be shared without locks: records
 * reached by a walk (networks longer than /24, IPv6) decoded once by their
 * data offset, and a bounded direct-mapped cache of IPv6 answers.  The
 * as_name pointers are the geo handle's.  Caches read g without locking: g
 * must outlive them and not change (no geo_add_*) while they are in use. */
struct geo_cache;
struct geo_cache *geo_cache_new(const struct geo *g); /* NULL and err_set() on failure */
void geo_cache_lookup(struct geo_cache *c, const struct ipaddr *a, struct geo_info *out);
/* The same answer as two indexes, for a caller that keeps one per source
 * (8 bytes instead of geo_info's 40): loc names a decoded MaxMind record
 * (the geo handle's, or this cache's for one a walk reached or two
 * databases' answers merged), as an (AS number, name) pair of the handle;
 * 0 is "none" in both.  {0, 0} without a cache.  A ref is valid with the
 * cache it came from, until that is freed; 0, or -ENOMEM (err_set). */
struct geo_ref {
    uint32_t loc, as;
};
int geo_cache_ref(struct geo_cache *c, const struct ipaddr *a, struct geo_ref *out);
/* What geo_cache_lookup() gives, from the ref (c may be NULL: nothing). */
void geo_ref_info(const struct geo_cache *c, struct geo_ref r, struct geo_info *out);
/* Starts loading the records geo_ref_info(c, r) will read. */
void geo_ref_prefetch(const struct geo_cache *c, struct geo_ref r);
/* Only the country (geo_info's cc[0], cc[1]) and the AS (number, name), from
 * arrays a tenth of the records' size: what per-interval rows are keyed by. */
void geo_ref_keys(const struct geo_cache *c, struct geo_ref r, char cc[2], uint32_t *asn,
                  const char **as_name);
void geo_ref_prefetch_keys(const struct geo_cache *c, struct geo_ref r);
/* A hint a few sources ahead of geo_cache_lookup(a): starts loading the
 * table entries a's lookup will read (IPv4; nothing for IPv6). */
void geo_cache_prefetch(const struct geo_cache *c, const struct ipaddr *a);
void geo_cache_free(struct geo_cache *c);

#endif
