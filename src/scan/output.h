/* output — scan results as ZMap writes them: CSV or JSON lines.
 *
 * The fields are ZMap's (saddr, daddr, sport, dport, seqnum, acknum, window,
 * ttl, classification, success, repeat, timestamp) in one table that every
 * format renders, so a ZMap pipeline reads either: CSV with a header row and
 * booleans as 1/0 (as zmap -O csv), JSON lines with booleans true/false (as
 * zmap -O json).  To add a format: one ops struct and one registry line. */
#ifndef MAMORI_SCAN_OUTPUT_H
#define MAMORI_SCAN_OUTPUT_H

#include "module.h"

#include <stdio.h>

struct scan_result {
    const struct scan_reply *r;
    bool repeat;
    int64_t ts_us;
};

struct scan_format {
    const char *name;
    void (*header)(FILE *f);
    void (*row)(FILE *f, const struct scan_result *res);
};

extern const struct scan_format *const scan_formats[]; /* NULL-terminated */
const struct scan_format *scan_format_find(const char *name);

#endif
