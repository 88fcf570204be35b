/* libFuzzer: notify's inputs from outside — an owners CSV (an ISP's or
 * registry's allocation list) and a letter template (a site's own wording).
 * The first byte picks which.  An owners table that parses answers lookups
 * of its own prefixes with an owner whose prefix holds the address; a
 * template that parses renders with every placeholder defined. */
#include "notify/letter.h"
#include "notify/owners.h"
#include "notify/package.h"

#include <stdio.h>
#include <stdlib.h>

static void owners(const uint8_t *data, size_t size)
{
    struct owners *o = owners_parse((const char *)data, size, "fuzz");
    if (!o) return;
    struct ipaddr probe;
    ip_from_v4(&probe, 0xC6120001u); /* 198.18.0.1 */
    const struct owner *w = owners_lookup(o, &probe);
    if (w && !pfx_contains(&w->prefix, &probe)) abort();
    owners_free(o);
}

static void letter(const uint8_t *data, size_t size)
{
    struct letter *l = letter_parse((const char *)data, size, "fuzz", package_placeholders,
                                    package_n_placeholders);
    if (!l) return;
    struct letter_var vars[32];
    for (size_t i = 0; i < package_n_placeholders && i < 32; i++)
        vars[i] = (struct letter_var){package_placeholders[i], "v"};
    FILE *f = fopen("/dev/null", "w");
    if (f && letter_write(l, vars, package_n_placeholders, f) < 0) abort();
    if (f) fclose(f);
    letter_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    if (data[0] & 1)
        letter(data + 1, size - 1);
    else
        owners(data + 1, size - 1);
    return 0;
}
