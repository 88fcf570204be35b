/* format — the registry of report formats (see format.h). */
#include "format.h"

#include <string.h>

/* How to add a format: see format.h.  One line each; the first is the default. */
const struct report_format *const report_formats[] = {
    &report_text,
    &report_json,
    &report_csv,
    NULL,
};

const struct report_format *report_format_find(const char *name)
{
    for (size_t i = 0; report_formats[i]; i++)
        if (!strcmp(report_formats[i]->name, name)) return report_formats[i];
    return NULL;
}

const char *report_str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

long long report_int(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}
