/* cryptopan — placeholder until the anonymization part lands (see cryptopan.h). */
#include "cryptopan.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>

struct cpan {
    int unused;
};

struct cpan *cpan_new(const uint8_t key[32])
{
    (void)key;
    err_set(-ENOSYS, "anonymization is not built yet");
    return NULL;
}

struct cpan *cpan_load(const char *path)
{
    (void)path;
    err_set(-ENOSYS, "anonymization is not built yet");
    return NULL;
}

void cpan_free(struct cpan *c)
{
    free(c);
}

uint32_t cpan_ipv4(struct cpan *c, uint32_t addr)
{
    (void)c;
    return addr;
}

void cpan_ipv6(struct cpan *c, const uint8_t in[16], uint8_t out[16])
{
    (void)c;
    for (int i = 0; i < 16; i++) out[i] = in[i];
}

int cpan_text(struct cpan *c, const char *in, char *out, size_t cap)
{
    (void)c;
    (void)in;
    (void)out;
    (void)cap;
    return -ENOSYS;
}
