/* json — the report contract itself (README "JSON contract"), indented, keys
 * in the order query.c builds them. */
#include "format.h"

static int json_print(FILE *out, json_t *doc)
{
    if (json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) < 0)
        return -5;
    fputc('\n', out);
    return 0;
}

const struct report_format report_json = {"json", "the JSON contract (README), for programs",
                                          json_print};
