/* mod_tcp_syn — the TCP SYN probe (ZMap's tcp_synscan): one SYN with an MSS
 * option, sequence number and source port from the cookie; a SYN-ACK is a
 * listening port ("synack", success), an RST a closed one ("rst").
 *
 * Replies are parsed by hand rather than through pkt_decode: the receive
 * thread sees only what the BPF filter let through, and the checks here are
 * the whole of what a stateless scanner trusts, so they sit in one screen. */
#include "../core/craft.h"
#include "module.h"

#include <string.h>

#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static size_t make(const struct scan_probe_ctx *c, uint8_t *f, const struct ipaddr *dst,
                   uint16_t dport, uint16_t ip_id)
{
    bool v4 = ip_is_v4(dst);
    const struct ipaddr *src = v4 ? &c->src4 : &c->src6;
    uint64_t h = scan_cookie(&c->key, src, dst, dport);
    uint16_t sport = (uint16_t)(c->sport_base + (h >> 32) % SCAN_SPORT_SPAN);
    memcpy(f, c->gw_mac, 6);
    memcpy(f + 6, c->src_mac, 6);
    craft_put16(f + 12, v4 ? 0x0800 : 0x86dd);
    size_t o = 14;
    uint8_t *tcp = f + o + (v4 ? 20 : 40);
    size_t tl = craft_tcp(tcp, sport, dport, (uint32_t)h, 0, TCP_SYN, 65535, CRAFT_OPTS_MSS);
    o += v4 ? craft_ip4(f + o, src, dst, 6, ip_id, c->ttl, tl)
            : craft_ip6(f + o, src, dst, 6, c->ttl, tl);
    craft_l4_fill(src, dst, 6, tcp, tl);
    return o + tl;
}

/* The sending fast path: every IPv4 probe shares its Ethernet header, most of
 * its IP and TCP headers and the sums of those parts, so a probe costs its
 * cookie, six stores and two folds of a partial checksum. */
static uint32_t sum16(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    return s;
}

static void init(struct scan_probe_ctx *c)
{
    uint8_t f[SCAN_FRAME_MAX];
    struct ipaddr zero;
    ip_from_v4(&zero, 0);
    /* a probe to 0.0.0.0, port 0, id 0, with seq, sport and checksums zeroed: its sums are the
     * shared part */
    memcpy(f + 6, c->src_mac, 6);
    craft_ip4(f + 14, &c->src4, &zero, 6, 0, c->ttl, 24);
    craft_tcp(f + 34, 0, 0, 0, 0, TCP_SYN, 65535, CRAFT_OPTS_MSS);
    f[24] = f[25] = 0;
    c->pre[0] = sum16(f + 14, 20); /* IP header without id, dst */
    c->pre[1] = sum16(c->src4.b + 12, 4) + 6 + 24 + sum16(f + 34, 24); /* pseudo-header + TCP */
}

static void prepare4(const struct scan_probe_ctx *c, uint8_t *f)
{
    struct ipaddr zero;
    ip_from_v4(&zero, 0);
    memcpy(f, c->gw_mac, 6);
    memcpy(f + 6, c->src_mac, 6);
    craft_put16(f + 12, 0x0800);
    craft_ip4(f + 14, &c->src4, &zero, 6, 0, c->ttl, 24);
    craft_tcp(f + 34, 0, 0, 0, 0, TCP_SYN, 65535, CRAFT_OPTS_MSS);
}

static uint16_t fold(uint32_t s)
{
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static size_t make_fast4(const struct scan_probe_ctx *c, uint8_t *f, uint32_t dst, uint16_t dport,
                         uint16_t ip_id)
{
    struct ipaddr d;
    ip_from_v4(&d, dst);
    uint64_t h = scan_cookie(&c->key, &c->src4, &d, dport);
    uint16_t sport = (uint16_t)(c->sport_base + (h >> 32) % SCAN_SPORT_SPAN);
    uint32_t seq = (uint32_t)h, dhi = dst >> 16, dlo = dst & 0xffff;
    craft_put16(f + 18, ip_id);
    craft_put32(f + 30, dst);
    craft_put16(f + 24, fold(c->pre[0] + ip_id + dhi + dlo));
    craft_put16(f + 34, sport);
    craft_put16(f + 36, dport);
    craft_put32(f + 38, seq);
    craft_put16(f + 50, fold(c->pre[1] + dhi + dlo + sport + dport + (seq >> 16) + (seq & 0xffff)));
    return 14 + 20 + 24;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The IP header: addresses, TTL and where TCP starts, or 0. */
static size_t ip_hdr(const uint8_t *f, size_t n, struct scan_reply *r)
{
    if (n < 14) return 0;
    uint16_t et = get16(f + 12);
    const uint8_t *ip = f + 14;
    if (et == 0x0800) {
        if (n < 14 + 20 || ip[0] >> 4 != 4 || ip[9] != 6) return 0;
        size_t ihl = (size_t)(ip[0] & 15) * 4;
        if (ihl < 20 || n < 14 + ihl + 20 || (get16(ip + 6) & 0x3fff)) return 0; /* no fragments */
        ip_from_v4(&r->saddr, get32(ip + 12));
        ip_from_v4(&r->daddr, get32(ip + 16));
        r->ttl = ip[8];
        return 14 + ihl;
    }
    if (et == 0x86dd) {
        if (n < 14 + 40 + 20 || ip[0] >> 4 != 6 || ip[6] != 6) return 0;
        ip_from_v6(&r->saddr, ip + 8);
        ip_from_v6(&r->daddr, ip + 24);
        r->ttl = ip[7];
        return 14 + 40;
    }
    return 0;
}

static int validate(const struct scan_probe_ctx *c, const uint8_t *f, size_t n,
                    struct scan_reply *r)
{
    size_t o = ip_hdr(f, n, r);
    if (!o) return 0;
    const struct ipaddr *us = ip_is_v4(&r->daddr) ? &c->src4 : &c->src6;
    if (memcmp(&r->daddr, us, sizeof *us) != 0) return 0;
    const uint8_t *t = f + o;
    r->sport = get16(t);
    r->dport = get16(t + 2);
    r->seqnum = get32(t + 4);
    r->acknum = get32(t + 8);
    r->window = get16(t + 14);
    uint8_t fl = t[13];
    uint64_t h = scan_cookie(&c->key, us, &r->saddr, r->sport);
    if (r->dport != (uint16_t)(c->sport_base + (h >> 32) % SCAN_SPORT_SPAN)) return 0;
    if (!(fl & TCP_ACK) || r->acknum - 1 != (uint32_t)h) return 0;
    if ((fl & (TCP_SYN | TCP_RST)) == TCP_SYN) {
        r->success = true;
        r->classification = "synack";
        return 1;
    }
    if (fl & TCP_RST) {
        r->success = false;
        r->classification = "rst";
        return 1;
    }
    return 0;
}

const struct scan_module scan_mod_tcp_syn = {
    .name = "tcp_syn",
    .help = "TCP SYN: a SYN-ACK is an open port (synack), an RST a closed one (rst)",
    .init = init,
    .prepare4 = prepare4,
    .make_fast4 = make_fast4,
    .make = make,
    .validate = validate,
};
