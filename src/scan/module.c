/* module — the probe module registry and the cookie (see module.h). */
#include "module.h"

#include <string.h>

/* How to add a module: define it in its own file, add its line here. */
const struct scan_module *const scan_modules[] = {
    &scan_mod_tcp_syn,
    NULL,
};

const struct scan_module *scan_module_find(const char *name)
{
    for (size_t i = 0; scan_modules[i]; i++)
        if (strcmp(scan_modules[i]->name, name) == 0) return scan_modules[i];
    return NULL;
}

uint16_t scan_sport_base(const struct siphash_key *k)
{
    static const char tag[] = "mamori-scan-sport";
    /* 32768 .. 61000 (Linux's default ephemeral range, as ZMap) holds the span */
    return (uint16_t)(32768 + siphash24(k, tag, sizeof tag) % (61000 - 32768 - SCAN_SPORT_SPAN));
}

uint64_t scan_cookie(const struct siphash_key *k, const struct ipaddr *src,
                     const struct ipaddr *dst, uint16_t dport)
{
    uint8_t m[34];
    memcpy(m, src->b, 16);
    memcpy(m + 16, dst->b, 16);
    m[32] = (uint8_t)(dport >> 8);
    m[33] = (uint8_t)dport;
    return siphash24(k, m, sizeof m);
}
