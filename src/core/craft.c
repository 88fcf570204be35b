/* craft — header builders (see craft.h). */
#include "craft.h"

#include <string.h>

void craft_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void craft_put32(uint8_t *p, uint32_t v)
{
    craft_put16(p, (uint16_t)(v >> 16));
    craft_put16(p + 2, (uint16_t)v);
}

uint16_t craft_csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* RFC 1071's sum, not folded or inverted, so pieces can be added up. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)p[n - 1] << 8;
    return s;
}

uint16_t craft_l4_csum(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
                       const uint8_t *l4, size_t n)
{
    uint32_t s;
    if (ip_is_v4(src))
        s = sum16(src->b + 12, 4, 0) + sum16(dst->b + 12, 4, 0);
    else
        s = sum16(src->b, 16, 0) + sum16(dst->b, 16, 0);
    s += proto + (uint32_t)(n & 0xffff) + (uint32_t)(n >> 16);
    s = sum16(l4, n, s);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    uint16_t c = (uint16_t)~s;
    return proto == 17 && c == 0 ? 0xffff : c; /* UDP: zero means "none" */
}

void craft_l4_fill(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto, uint8_t *l4,
                   size_t n)
{
    size_t at = proto == 17 ? 6 : 16;
    craft_put16(l4 + at, 0);
    craft_put16(l4 + at, craft_l4_csum(src, dst, proto, l4, n));
}

size_t craft_eth(uint8_t *p, uint16_t ethertype, int vlan)
{
    /* documentation MACs (RFC 7042) */
    static const uint8_t macs[12] = {0, 0, 0x5e, 0, 0x53, 1, 0, 0, 0x5e, 0, 0x53, 2};
    memcpy(p, macs, 12);
    size_t o = 12;
    if (vlan > 0) {
        craft_put16(p + o, 0x8100);
        craft_put16(p + o + 2, (uint16_t)vlan);
        o += 4;
    }
    craft_put16(p + o, ethertype);
    return o + 2;
}

size_t craft_ip4(uint8_t *p, const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
                 uint16_t id, uint8_t ttl, size_t payload)
{
    p[0] = 0x45;
    p[1] = 0;
    craft_put16(p + 2, (uint16_t)(20 + payload));
    craft_put16(p + 4, id);
    craft_put16(p + 6, 0x4000);
    p[8] = ttl;
    p[9] = proto;
    craft_put16(p + 10, 0);
    memcpy(p + 12, src->b + 12, 4);
    memcpy(p + 16, dst->b + 12, 4);
    craft_put16(p + 10, craft_csum(p, 20));
    return 20;
}

size_t craft_ip6(uint8_t *p, const struct ipaddr *src, const struct ipaddr *dst, uint8_t nh,
                 uint8_t hops, size_t payload)
{
    memset(p, 0, 8);
    p[0] = 0x60;
    craft_put16(p + 4, (uint16_t)payload);
    p[6] = nh;
    p[7] = hops;
    memcpy(p + 8, src->b, 16);
    memcpy(p + 24, dst->b, 16);
    return 40;
}

size_t craft_tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                 uint8_t flags, uint16_t win, enum craft_tcp_opts opts)
{
    /* MSS 1460, SACK permitted, timestamps, NOP, window scale 7: a Linux SYN */
    static const uint8_t linux_opts[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0,
                                           0, 1, 0, 0,    0, 0, 1, 3,  3, 7};
    static const uint8_t mss[4] = {2, 4, 5, 0xb4};
    size_t optlen = opts == CRAFT_OPTS_MSS ? 4 : opts == CRAFT_OPTS_LINUX ? 20 : 0;
    craft_put16(p, sport);
    craft_put16(p + 2, dport);
    craft_put32(p + 4, seq);
    craft_put32(p + 8, ack);
    p[12] = (uint8_t)(((20 + optlen) / 4) << 4);
    p[13] = flags;
    craft_put16(p + 14, win);
    craft_put32(p + 16, 0);
    if (opts == CRAFT_OPTS_MSS) memcpy(p + 20, mss, 4);
    if (opts == CRAFT_OPTS_LINUX) memcpy(p + 20, linux_opts, 20);
    return 20 + optlen;
}

size_t craft_udp(uint8_t *p, uint16_t sport, uint16_t dport, size_t payload)
{
    craft_put16(p, sport);
    craft_put16(p + 2, dport);
    craft_put16(p + 4, (uint16_t)(8 + payload));
    craft_put16(p + 6, 0);
    return 8;
}
