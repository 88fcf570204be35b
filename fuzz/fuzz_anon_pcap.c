/* libFuzzer: share anonymize's capture rewriter on any bytes — the file walk
 * (pcap, pcapng) and, with the input as one frame of each link type, the
 * frame rewriter.  Checked: a classic pcap that is accepted comes out with
 * exactly its length (only bytes in place change), a pcapng never grows, the
 * same key gives the same output twice, and a frame keeps its length. */
#include "core/cryptopan.h"
#include "share/anon.h"

#include <assert.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cpan *key(void)
{
    static struct cpan *c;
    if (!c) {
        uint8_t k[32];
        for (int i = 0; i < 32; i++)
            k[i] = (uint8_t)(i * 7 + 1);
        c = cpan_new(k);
    }
    return c;
}

static int rewrite(const uint8_t *d, size_t n, char **out, size_t *outn)
{
    FILE *in = fmemopen((void *)d, n, "rb");
    FILE *o = open_memstream(out, outn);
    struct anon a = {.cpan = key()};
    int rc = anon_pcap(&a, in, o, "fuzz");
    fclose(in);
    fclose(o);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n == 0) return 0;
    char *o1 = NULL, *o2 = NULL;
    size_t n1 = 0, n2 = 0;
    int r1 = rewrite(d, n, &o1, &n1), r2 = rewrite(d, n, &o2, &n2);
    assert(r1 == r2 && n1 == n2 && !memcmp(o1, o2, n1));
    uint32_t m = 0;
    if (n >= 4) memcpy(&m, d, 4);
    if (r1 == 0 && m != 0x0A0D0D0A) assert(n1 == n);
    if (r1 == 0 && m == 0x0A0D0D0A) assert(n1 <= n);
    free(o1);
    free(o2);
    static const int dlts[] = {DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_NULL, 276};
    uint8_t *f = malloc(n);
    for (size_t i = 0; i < sizeof dlts / sizeof dlts[0]; i++) {
        memcpy(f, d, n);
        struct anon a = {.cpan = key()};
        anon_frame(&a, dlts[i], f, n);
    }
    free(f);
    return 0;
}
