/* format — report output formats: one const ops struct per format, in its
 * own file, and one line in the registry (format.c).
 *
 * Every format renders the one JSON document query_summary() builds, so the
 * formats cannot disagree; a format only decides how it looks.  To add one:
 * a file defining `const struct report_format report_NAME`, its extern below
 * and its line in report_formats[] (--help and --format come from there). */
#ifndef MAMORI_REPORT_FORMAT_H
#define MAMORI_REPORT_FORMAT_H

#include <jansson.h>
#include <stdio.h>

struct report_format {
    const char *name, *help;
    /* writes doc to out; 0, or a negative errno when out failed */
    int (*print)(FILE *out, json_t *doc);
};

extern const struct report_format report_text, report_json, report_csv;
/* NULL-terminated, in --help order; the first is the default. */
extern const struct report_format *const report_formats[];

/* The format of that name, or NULL. */
const struct report_format *report_format_find(const char *name);
/* The string fields of a document as strings ("" when absent or not one). */
const char *report_str(json_t *o, const char *k);
long long report_int(json_t *o, const char *k);

#endif
