/* libFuzzer: the frame decoder and classifier on arbitrary bytes, under every
 * supported link type (first byte picks it); and pkt_source, which must find
 * the very source address pkt_decode finds (the shards split frames by it). */
#include "core/classify.h"

#include <pcap/dlt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int dlts[] = {DLT_EN10MB,    DLT_RAW, DLT_IPV4, DLT_IPV6,
                               DLT_LINUX_SLL, 276,     DLT_NULL, DLT_LOOP};
    if (size < 1) return 0;
    int dlt = dlts[data[0] % (sizeof dlts / sizeof dlts[0])];
    struct pkt p;
    struct ipaddr src;
    bool has = pkt_source(dlt, data + 1, size - 1, &src);
    if (pkt_decode(dlt, data + 1, size - 1, &p) != PKT_OK) return 0;
    if (!has || memcmp(&src, &p.src, sizeof src) != 0) abort();
    enum pkt_class c = classify(&p);
    (void)fingerprint(&p);
    struct victim v;
    if (c == CLS_BACKSCATTER) (void)backscatter_victim(&p, &v);
    return 0;
}
