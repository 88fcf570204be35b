/* rfc3339 — the UTC timestamps TAXII 2.1 speaks (owner: the TAXII part).
 *
 * TAXII's date_added, added_after and match[version] are RFC 3339 times in
 * UTC ("2016-11-01T03:04:05.123456Z"); the server keeps them as µs since the
 * epoch, so a fraction finer than µs is cut (as the spec allows a server its
 * own precision) and every spelling of the same instant compares equal.
 * Strict: a 'Z' or a numeric offset is required, fields are range-checked,
 * nothing may follow.  Separate from stix.h's stix_time_parse because the
 * server and the client use it on their own, before any STIX is involved. */
#ifndef MAMORI_RFC3339_H
#define MAMORI_RFC3339_H

#include <stdint.h>

/* s to µs since the epoch: 0, or -EINVAL. */
int rfc3339_parse(const char *s, int64_t *us);
/* µs as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" into out (>= 32 bytes). */
const char *rfc3339_format(int64_t us, char *out);

#endif
