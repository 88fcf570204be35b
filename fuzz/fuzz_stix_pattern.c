/* libFuzzer: the STIX 2.1 pattern parser (core/stixpat) on any bytes.  A
 * pattern it accepts names only values of the kinds it keeps, each a string;
 * one it refuses says where (a message starting "at byte" or naming the
 * length). */
#include "core/stixpat.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct stixpat p;
    char msg[160];
    int rc = stixpat_parse(s, &p, msg, sizeof msg);
    if (rc == 0) {
        if (p.n > STIXPAT_MAX_VALUES) abort();
        for (size_t i = 0; i < p.n; i++)
            if (!p.v[i].kind || !p.v[i].value || (!strcmp(p.v[i].kind, "file") && !p.v[i].algo))
                abort();
    } else if (rc == -EINVAL && strncmp(msg, "at byte ", 8) && !strstr(msg, "longer than")) {
        abort();
    }
    stixpat_free(&p);
    free(s);
    return 0;
}
