/* owners — who to tell about an address: a prefix → contact table.
 *
 * Read from CSV (`--owners FILE`, the shape `mamori testbed` writes and an
 * ISP's allocation list takes without work): a header line naming at least
 * `prefix`, and any of `isp` (or `owner`/`org`), `asn`, `abuse` (or
 * `contact`/`email`), in any order; RFC 4180 quoting; `#` comment lines.
 * The longest prefix holding an address wins; a prefix listed twice with
 * different owners is an error (which one a host goes to must not depend on
 * sort order).  Lookups go per prefix length
 * present, longest first, as a binary search over that length's sorted
 * networks: an ISP's list of thousands of allocations costs a few probes per
 * host, not a scan of the list. */
#ifndef MAMORI_NOTIFY_OWNERS_H
#define MAMORI_NOTIFY_OWNERS_H

#include "../core/addr.h"

#include <stddef.h>
#include <stdint.h>

struct owner {
    struct pfx prefix;
    char *isp, *abuse; /* "" when the table has none */
    uint32_t asn;      /* 0 when none */
    int line;          /* in the CSV, for messages */
};

struct owners;

/* Parses CSV text (name in messages: "NAME:LINE: problem"); NULL with err_set(). */
struct owners *owners_parse(const char *text, size_t len, const char *name);
struct owners *owners_load(const char *path);
/* The owner of a, or NULL. */
const struct owner *owners_lookup(const struct owners *o, const struct ipaddr *a);
size_t owners_count(const struct owners *o);
void owners_free(struct owners *o);

#endif
