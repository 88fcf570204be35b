/* export — the STIX 2.1 bundle of share's indicators (export_bundle.c), for
 * `mamori share export` (export.c) and whoever else publishes (TAXII).
 *
 * Ids are UUIDv5 over stable inputs: SCOs in the spec's namespace (§2.9),
 * mamori's SDOs and SROs in MAMORI_STIX_NAMESPACE over the canonical JSON
 * of what makes them that object (an indicator: its producer and pattern; a
 * relationship: its ends and type), an indicator that came with an id keeps
 * it.  created/modified are the facts' first/last seen.  The same rows give
 * the same bundle, byte for byte. */
#ifndef MAMORI_SHARE_EXPORT_H
#define MAMORI_SHARE_EXPORT_H

#include "../store/share.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MAMORI_STIX_NAMESPACE "ee30c547-b16e-4d40-948a-ad81063d6b96"

struct cpan;

struct export_opts {
    const char *org;   /* the producer identity's name */
    struct cpan *anon; /* survey hosts anonymized with it, or NULL: only counts */
};

struct export_counts {
    size_t objects, indicators, sightings, observed, relationships, malware, infrastructure,
        attack_patterns, markings;
    size_t withheld_tlp; /* received amber/red rows: never re-exported */
    size_t vulnerable;   /* survey hosts: counted (or anonymized), never indicators */
    size_t bad;          /* rows with a value no pattern can hold */
};

/* The bundle of rows (share_read's order is fine: objects are sorted): a new
 * object, or NULL and an error set. */
json_t *export_bundle(const struct share_ind_list *rows, const struct export_opts *o,
                      struct export_counts *n);

/* The STIX pattern that matches kind/value ("[ipv4-addr:value = '...']",
 * quotes and backslashes escaped) into out: 0, or -EINVAL. */
int export_pattern(const char *kind, const char *value, char *out, size_t cap);

/* TLP 2.0: the OASIS marking-definition id of a share TLP name, or NULL. */
const char *export_tlp_marking(const char *tlp);

#endif
