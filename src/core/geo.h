/* geo — source enrichment: country and coordinates (MaxMind DB), ASN (CSV ranges).
 *
 * Country/coordinates come from any number of .mmdb files through libmaxminddb
 * (both the ip-location-db layout {country_code, latitude, longitude} and
 * MaxMind's own {country.iso_code, location.*} are read).  ASNs come from
 * ip-location-db's CSV (start,end,asn,name with dotted or numeric addresses),
 * loaded once into sorted range arrays and found by binary search: ~20
 * comparisons per lookup, no per-lookup allocation. */
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

#endif
