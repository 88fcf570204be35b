/* geo — source enrichment: country and coordinates (MaxMind DB), ASN (CSV ranges).
 *
 * Country/coordinates come from any number of .mmdb files through libmaxminddb
 * (both the ip-location-db layout {country_code, latitude, longitude} and
 * MaxMind's own {country.iso_code, location.*} are read).  ASNs come from
 * ip-location-db's CSV (start,end,asn,name with dotted or numeric addresses),
 * loaded once into sorted range arrays and found by binary search: ~20
 * comparisons per lookup, no per-lookup allocation.
 *
 * geo_lookup() walks the MaxMind tree, decodes the record and searches the
 * ranges every time (~300 ns).  A packet path resolves through a geo_cache
 * instead: one per thread (the geo handle itself is read-only and shared),
 * answering exactly what geo_lookup() answers (see geo_cache_lookup). */
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
/* Loads what a directory laid out like node_modules/@ip-location-db holds;
 * returns the number of files loaded (0 when none). */
int geo_add_dir(struct geo *g, const char *dir);
bool geo_has_country(const struct geo *g);
bool geo_has_asn(const struct geo *g);
void geo_lookup(const struct geo *g, const struct ipaddr *a, struct geo_info *out);
void geo_free(struct geo *g);

/* A per-thread cache in front of geo_lookup(), with the same answers.
 * IPv4: a flat table of every /24, filled lazily (calloc'ed: pages no source
 * touched cost no memory; at most 64 MiB when sources cover the whole
 * space), whose entry is only kept when every database consulted found (or
 * missed) a network of /24 or shorter and one ASN range covers (or none
 * touches) the whole /24; otherwise, and for IPv6, a bounded direct-mapped
 * cache of single addresses.  Decoded MaxMind records are cached by their data
 * offset, so a record is decoded once however many networks point to it.
 * The as_name pointers are the geo handle's (valid while it lives).  The
 * cache reads g without locking: it must outlive no geo_free(g), and g must
 * not change (no geo_add_*) while caches use it. */
struct geo_cache;
struct geo_cache *geo_cache_new(const struct geo *g); /* NULL and err_set() on failure */
void geo_cache_lookup(struct geo_cache *c, const struct ipaddr *a, struct geo_info *out);
/* A hint a few sources ahead of geo_cache_lookup(a): starts loading the
 * table entries a's lookup will read (IPv4; nothing for IPv6). */
void geo_cache_prefetch(const struct geo_cache *c, const struct ipaddr *a);
void geo_cache_free(struct geo_cache *c);

#endif
