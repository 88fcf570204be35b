/* libFuzzer: what import hands stix.c from outside — timestamps, ids and
 * whole JSON values (canonical JSON and SCO ids).  Beyond not crashing, it
 * checks two properties: canonical JSON reads back to the same canonical
 * text (the form is a fixed point), and a parsed timestamp prints and parses
 * back to itself cut to milliseconds. */
#include "core/stix.h"

#include <stdlib.h>
#include <string.h>

static void check_time(const char *s)
{
    int64_t us, back;
    char t[25];
    if (stix_time_parse(s, &us)) return;
    stix_time(us, t);
    if (stix_time_parse(t, &back)) abort();
    int64_t ms = us / 1000 * 1000 - (us % 1000 < 0 ? 1000 : 0);
    if (us >= 0 && us < 253402300800000000LL && back != ms) abort();
}

static void check_json(const uint8_t *data, size_t size)
{
    json_error_t e;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v) return;
    char *c = stix_canonical(v);
    if (c) {
        json_t *again =
            json_loads(c, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &e);
        if (!again) abort();
        char *c2 = stix_canonical(again);
        /* Integers beyond 2^53 print as doubles, which read back as reals: same text. */
        if (!c2 || strcmp(c, c2)) abort();
        free(c2);
        json_decref(again);
    }
    free(c);
    char id[STIX_ID_MAX];
    if (json_is_object(v) && !stix_sco_id(v, id) && !stix_id_valid(id, NULL)) abort();
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    check_time(s);
    (void)stix_id_valid(s, NULL);
    (void)stix_id_valid(s, "indicator");
    check_json(data, size);
    free(s);
    return 0;
}
