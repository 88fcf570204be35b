/* stix — STIX 2.1 building blocks every part of sharing uses.
 *
 * Owners: identifiers, canonical JSON and timestamps (stix.c) — the export
 * part; the object check (stixcheck.c) — the import part; the pattern
 * grammar (stixpat.h) — the import part.
 *
 * Deterministic ids: an SCO's id is UUIDv5 in the spec's namespace
 * 00abedb4-aa42-466c-9c01-fed23315a9b7 over the canonical JSON (RFC 8785,
 * JCS) of its id-contributing properties (STIX 2.1 §2.9), so the same fact
 * has the same id wherever it is written.  Timestamps are UTC with
 * millisecond precision ("2016-10-21T11:10:00.000Z"). */
#ifndef MAMORI_STIX_H
#define MAMORI_STIX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STIX_SCO_NAMESPACE "00abedb4-aa42-466c-9c01-fed23315a9b7"
#define STIX_ID_MAX 96 /* "type--uuid" with the longest type */

/* RFC 4122 version 5 (SHA-1) UUID of name in namespace ns (text UUID), as
 * lower-case text into out (>= 37 bytes): 0, or -EINVAL for a bad ns. */
int stix_uuid5(const char *ns, const void *name, size_t n, char *out);
/* A random (version 4) UUID into out (>= 37 bytes). */
void stix_uuid4(char *out);
/* RFC 8785 canonical JSON of v (malloc'd, NUL-terminated), or NULL. */
char *stix_canonical(const json_t *v);
/* The deterministic id of an SCO (obj holds its type and properties) into
 * out (STIX_ID_MAX): 0, or -EINVAL when the type is unknown or it has no
 * id-contributing property. */
int stix_sco_id(const json_t *obj, char *out);
/* µs since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (>= 25 bytes). */
const char *stix_time(int64_t us, char *out);
/* A STIX timestamp (RFC 3339, "Z", any fraction) to µs: 0, or -EINVAL. */
int stix_time_parse(const char *s, int64_t *us);
/* "type--uuid" with a valid type name and UUID (and, when type is not NULL,
 * that type). */
bool stix_id_valid(const char *id, const char *type);

/* stixcheck.c: does obj follow the STIX 2.1 rules for its type (required
 * properties, id form, timestamps, refs' types, spec_version "2.1")?  0, or
 * -EINVAL with a one-line reason in msg (cap bytes). */
int stix_check_object(const json_t *obj, char *msg, size_t cap);

#endif
