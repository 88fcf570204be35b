/* testutil — small helpers for the cmocka unit tests: build frames the way a
 * given scanner documents its probes, and decode them. */
#ifndef MAMORI_TESTUTIL_H
#define MAMORI_TESTUTIL_H

#include <setjmp.h> /* cmocka.h needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/addr.h"
#include "core/craft.h"
#include "core/pkt.h"

#include <netinet/in.h>
#include <pcap/dlt.h>
#include <string.h>

static inline struct ipaddr T_IP(const char *s) {
    struct ipaddr a;
    assert_int_equal(ip_parse(s, &a), 0);
    return a;
}

struct tcp_probe {
    const char *src, *dst;
    uint16_t sport, dport, id, win;
    uint32_t seq;
    uint8_t flags, ttl;
    enum craft_tcp_opts opts;
    int vlan;
};

/* An Ethernet frame carrying one IPv4 (or IPv6) TCP segment; returns its length. */
static inline size_t t_tcp_frame(uint8_t *f, const struct tcp_probe *p)
{
    struct ipaddr s = T_IP(p->src), d = T_IP(p->dst);
    bool v6 = !ip_is_v4(&s);
    size_t o = craft_eth(f, v6 ? 0x86dd : 0x0800, p->vlan);
    size_t tl =
        craft_tcp(f + o + (v6 ? 40 : 20), p->sport, p->dport, p->seq, 0, p->flags, p->win, p->opts);
    o += v6 ? craft_ip6(f + o, &s, &d, IPPROTO_TCP, p->ttl ? p->ttl : 64, tl)
            : craft_ip4(f + o, &s, &d, IPPROTO_TCP, p->id, p->ttl ? p->ttl : 64, tl);
    return o + tl;
}

static inline struct pkt t_decode_tcp(const struct tcp_probe *p)
{
    uint8_t f[256];
    size_t n = t_tcp_frame(f, p);
    struct pkt out;
    assert_int_equal(pkt_decode(DLT_EN10MB, f, n, &out), PKT_OK);
    return out;
}

#endif
