/* target — the addresses an active run (scan, probe) may touch.
 *
 * A run names its targets explicitly: IPv4 CIDRs, a.b.c.d-e.f.g.h ranges and
 * single addresses, on the command line or in files (one a line, '#'
 * comments), and IPv6 addresses or small IPv6 prefixes (/112 or longer) in
 * the same lists.  From them it subtracts what it must never touch: the IANA
 * special-purpose ranges (pfx_set_add_special, always), a blocklist and the
 * opt-out file.  198.18.0.0/15 and 2001:db8::/32 (where the testbed lives)
 * stay excluded unless the caller allows the testbed explicitly.  An element
 * that lies wholly inside a special-purpose range is an error (it can only be
 * a mistake), named with the range; one that overlaps it is cut.
 *
 * IPv4 is kept as sorted, disjoint intervals with running counts, so a /8 costs
 * one interval and index -> address (what a permutation walks) is a binary
 * search over a few cache lines; IPv6 targets are few, so they are expanded
 * into a sorted array of single addresses (bounded by TARGET_V6_MAX).
 *
 * Use: target_new, target_add_* as often as needed, target_finish once (it
 * reads the blocklist and opt-out file, applies the exclusions and fails when
 * nothing is left), then target_count / target_get / target_allowed.  Errors
 * name the element, from a file as "FILE:LINE: element: problem". */
#ifndef MAMORI_TARGET_H
#define MAMORI_TARGET_H

#include "addr.h"

#include <stdbool.h>
#include <stdint.h>

/* The opt-out file read when the caller names none (a missing default file
 * means nobody has opted out yet; a missing named file is an error). */
#define TARGET_OPTOUT_DEFAULT "var/optout.txt"
#define TARGET_V6_MAX (1u << 22)    /* IPv6 addresses a run may hold */
#define TARGET_V6_MIN_PREFIX 112    /* the shortest IPv6 prefix a target may be */
#define TARGET_ELEMS_MAX (1u << 22) /* IPv4 elements (lines, operands) a run may hold */
#define TARGET_LINE_MAX 256         /* a list file's longest line */

struct target_set;

struct target_opts {
    const char *blocklist; /* --blocklist FILE, or NULL */
    const char *optout;    /* opt-out FILE, or NULL for TARGET_OPTOUT_DEFAULT */
    bool allow_testbed;    /* let 198.18.0.0/15 and 2001:db8::/32 be targets */
};

/* opts is copied (its strings must outlive target_finish). */
struct target_set *target_new(const struct target_opts *opts);
void target_free(struct target_set *t);
/* One element: "a.b.c.d", "a.b.c.d/len", "a.b.c.d-e.f.g.h", an IPv6 address or
 * "v6/len" (len >= TARGET_V6_MIN_PREFIX). */
int target_add(struct target_set *t, const char *elem);
/* Elements separated by commas or white space. */
int target_add_list(struct target_set *t, const char *list);
/* A file of elements, one a line ('#' starts a comment); "-" is standard input. */
int target_add_file(struct target_set *t, const char *path);
/* Reads opts' blocklist and opt-out file and applies every exclusion; fails when
 * no target was given or none is left.  Call once. */
int target_finish(struct target_set *t);

/* After target_finish: */
uint64_t target_count(const struct target_set *t);
uint64_t target_count_v4(const struct target_set *t); /* indices [0, this) are IPv4 */
/* The i-th address left, i < target_count(); ascending within each family. */
void target_get(const struct target_set *t, uint64_t i, struct ipaddr *out);
/* The i-th IPv4 address, host order, i < target_count_v4() (the scan's hot path). */
uint32_t target_get_v4(const struct target_set *t, uint64_t i);
/* The index of a among the targets left (target_get's inverse), or -1. */
int64_t target_index(const struct target_set *t, const struct ipaddr *a);
/* Whether a is one of the targets left (not excluded): a last check before sending. */
bool target_allowed(const struct target_set *t, const struct ipaddr *a);
bool target_allowed_v4(const struct target_set *t, uint32_t host_order);
/* Whether a is excluded (special, blocklist, opt-out), a target or not. */
bool target_excluded(const struct target_set *t, const struct ipaddr *a);
/* The targets as given (elements and file names, comma separated, capped), for audit and records.
 */
const char *target_desc(const struct target_set *t);
/* Addresses given that the exclusions removed. */
uint64_t target_removed(const struct target_set *t);

#endif
