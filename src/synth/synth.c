/* synth — a deterministic, realistic darknet capture and its ground truth.
 *
 * The capture is what a telescope of the given prefixes would record: Mirai
 * bots (seq = destination, 9:1 ports 23/2323, fixed window and source port per
 * bot), Mirai variants on other IoT ports, a Mirai surge on one port (like
 * 2323/tcp in September 2016), ordinary OS-stack scanners, ZMap, masscan and
 * nmap probes built the way those tools build them, backscatter from DoS
 * victims (TCP SYN-ACK/RST, ICMP echo replies, ICMP unreachables quoting the
 * spoofed datagram), UDP and ICMP noise, IPv6, 802.1Q frames, ARP, packets
 * outside the darknet and four kinds of malformed frames.
 *
 * Time runs forward in one pass, so 10M packets stream straight to disk:
 * the main stream is evenly spaced at a base rate (plus the surge's extra
 * rate while it lasts), and the backscatter schedule, built up front, is
 * merged in.  Every choice comes from one seeded xoshiro256** stream, so the
 * same arguments give the same bytes.  The truth (truth.c) is counted from
 * the generator's own decisions, never by decoding its output. */
#include "../core/addr.h"
#include "../core/cli.h"
#include "../core/craft.h"
#include "../core/err.h"
#include "../core/portset.h"
#include "truth.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- random numbers ---------------------------------------------------- */

struct rng {
    uint64_t s[4];
};

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(struct rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        r->s[i] = hash_mix64(seed);
    }
}

static uint32_t below(struct rng *r, uint32_t n) /* uniform in [0, n) */
{
    return (uint32_t)(((rnd(r) >> 32) * (uint64_t)n) >> 32);
}

static double unit(struct rng *r)
{
    return (double)(rnd(r) >> 11) / 9007199254740992.0;
}

/* ---- entities ----------------------------------------------------------- */

enum kind {
    K_MIRAI,
    K_VARIANT,
    K_SURGE,
    K_ORD,
    K_ZMAP,
    K_MASSCAN,
    K_NMAP,
    K_UDP,
    K_ICMP,
    K_ACK,
    K_GRE,
    K_V6,
    K_MISC,
    K_VICTIM,
    K_ROUTER,
    K_KINDS
};

struct ent {
    struct ipaddr ip;
    uint32_t seq;
    uint16_t sport, win, port;
    uint8_t ttl, opt;
};

struct victim_plan {
    uint32_t ent, router; /* router: the ICMP sender for unreachables */
    uint8_t type;         /* 0 TCP, 1 ICMP echo reply, 2 ICMP unreachable quoting UDP */
    uint16_t port;
    uint32_t packets;
    int64_t t0_us, len_us;
    bool strong;
};

struct event {
    int64_t t_us;
    uint32_t victim, seqno;
};

struct gen {
    struct rng r;
    struct pfx_set darknet, special;
    struct pfx v4net, v6net;
    bool have_v6;
    struct portset iot;
    struct ent *e;
    size_t n_e;
    uint32_t first[K_KINDS], count[K_KINDS];
    struct table used_ips;
    struct truth truth;
    pcap_dumper_t *dump;
    int64_t start_us;
    uint8_t frame[256];
    uint64_t frames;
};

static const uint16_t variant_ports[] = {7547, 5555, 37215, 52869, 8080, 81, 443};
static const uint16_t popular_tcp[] = {22,   80,  443, 3389, 445,  1433, 3306, 5900,  8443,
                                       6379, 25,  21,  23,   8080, 5432, 9200, 27017, 11211,
                                       139,  110, 143, 993,  995,  7547, 5555, 8888};
static const uint16_t popular_udp[] = {53, 123,   161, 1900, 5683, 5060, 137,
                                       19, 11211, 389, 3702, 500,  1434};
static const uint16_t victim_ports[] = {80, 443, 53, 22, 25, 8080, 3074, 27015};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void random_in(struct gen *g, const struct pfx *p, struct ipaddr *out)
{
    *out = p->net;
    for (int i = 0; i < 16; i++) {
        int fixed = p->len - i * 8;
        if (fixed >= 8) continue;
        uint8_t r = (uint8_t)rnd(&g->r);
        uint8_t keep = fixed <= 0 ? 0 : (uint8_t)(0xff00 >> fixed);
        out->b[i] = (uint8_t)((out->b[i] & keep) | (r & ~keep));
    }
}

static int new_public_ip(struct gen *g, bool v6, struct ipaddr *out)
{
    for (int tries = 0; tries < 1000; tries++) {
        if (v6) {
            uint8_t b[16];
            for (int i = 0; i < 16; i += 8) {
                uint64_t x = rnd(&g->r);
                memcpy(b + i, &x, 8);
            }
            b[0] = (uint8_t)(0x24 + below(&g->r, 7)); /* 2400::/8 .. 2a00::/8: RIR space */
            b[1] = (uint8_t)(b[1] & 0x0f);
            b[0] = (uint8_t)(0x20 | (b[0] & 0x0f));
            ip_from_v6(out, b);
        } else {
            ip_from_v4(out, (uint32_t)rnd(&g->r));
        }
        if (pfx_set_contains(&g->special, out) || pfx_set_contains(&g->darknet, out)) continue;
        bool created;
        if (!table_get(&g->used_ips, out, ip_hash(out, 7), &created))
            return err_set(-ENOMEM, "synth: out of memory");
        if (created) return 0;
    }
    return err_set(-EAGAIN, "synth: cannot find a fresh public address");
}

static uint16_t eph_port(struct gen *g)
{
    return (uint16_t)(1024 + below(&g->r, 64511));
}

static int make_entities(struct gen *g, uint64_t n)
{
    uint64_t cnt[K_KINDS] = {0};
    cnt[K_MIRAI] = n / 400 > 50 ? n / 400 : 50;
    cnt[K_VARIANT] = n / 4000 > 10 ? n / 4000 : 10;
    cnt[K_SURGE] = cnt[K_MIRAI];
    cnt[K_ORD] = n / 8 > 100 ? n / 8 : 100;
    cnt[K_ZMAP] = cnt[K_MASSCAN] = n / 100000 > 4 ? n / 100000 : 4;
    cnt[K_NMAP] = n / 200000 > 4 ? n / 200000 : 4;
    cnt[K_UDP] = n / 50 > 50 ? n / 50 : 50;
    cnt[K_ICMP] = n / 100 > 20 ? n / 100 : 20;
    cnt[K_ACK] = n / 1000 > 10 ? n / 1000 : 10;
    cnt[K_GRE] = n / 10000 > 5 ? n / 10000 : 5;
    cnt[K_V6] = g->have_v6 ? (n / 2000 > 10 ? n / 2000 : 10) : 0;
    cnt[K_MISC] = 64;
    uint64_t strong = n / 100000 < 3 ? 3 : n / 100000 > 100 ? 100 : n / 100000;
    cnt[K_VICTIM] = strong * 2;
    cnt[K_ROUTER] = strong * 2;
    size_t total = 0;
    for (int k = 0; k < K_KINDS; k++)
        total += cnt[k];
    if (!(g->e = calloc(total, sizeof *g->e))) return err_set(-ENOMEM, "synth: out of memory");
    if (table_init(&g->used_ips, sizeof(struct ipaddr), sizeof(struct ipaddr), total * 2) < 0)
        return -ENOMEM;
    for (int k = 0; k < K_KINDS; k++) {
        g->first[k] = (uint32_t)g->n_e;
        g->count[k] = (uint32_t)cnt[k];
        for (uint64_t i = 0; i < cnt[k]; i++) {
            struct ent *e = &g->e[g->n_e++];
            int rc = new_public_ip(g, k == K_V6, &e->ip);
            if (rc < 0) return rc;
            e->sport = eph_port(g);
            e->win = (uint16_t)(1 + below(&g->r, 65535));
            e->ttl = 64;
            switch (k) {
            case K_VARIANT:
                e->port = variant_ports[below(&g->r, NELEM(variant_ports))];
                break;
            case K_ORD:
            case K_V6:
                e->win = (uint16_t[]){29200, 64240, 65535, 14600}[below(&g->r, 4)];
                e->ttl = (uint8_t)(40 + below(&g->r, 88));
                break;
            case K_ZMAP:
                e->port = (uint16_t[]){80, 443, 22, 7547, 8080, 23}[below(&g->r, 6)];
                break;
            case K_MASSCAN:
                e->opt = (uint8_t)below(&g->r, 2);
                break;
            case K_NMAP:
                e->win = (uint16_t)(1024 * (1 + below(&g->r, 4)));
                e->ttl = (uint8_t)(37 + below(&g->r, 28));
                do { /* one seq for the whole scan, never a darknet address */
                    e->seq = (uint32_t)rnd(&g->r);
                    struct ipaddr a;
                    ip_from_v4(&a, e->seq);
                    if (!pfx_set_contains(&g->darknet, &a)) break;
                } while (1);
                break;
            default:
                break;
            }
        }
    }
    return 0;
}

/* ---- frames ------------------------------------------------------------- */

#define put16 craft_put16
#define csum craft_csum
#define ip4 craft_ip4
#define ip6 craft_ip6

/* Ethernet header, every 16th frame 802.1Q-tagged; returns the payload offset. */
static size_t eth(struct gen *g, uint16_t ethertype)
{
    return craft_eth(g->frame, ethertype, (g->frames & 15) == 7 ? 42 : 0);
}

static size_t tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                  uint8_t flags, uint16_t win, int opts)
{
    return craft_tcp(p, sport, dport, seq, ack, flags, win, (enum craft_tcp_opts)opts);
}

static int emit(struct gen *g, int64_t t_us, size_t len)
{
    struct pcap_pkthdr h;
    if (len < 60) { /* Ethernet pads short frames; observe must ignore the padding */
        memset(g->frame + len, 0, 60 - len);
        len = 60;
    }
    h.ts.tv_sec = (time_t)(t_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(t_us % 1000000);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)g->dump, &h, g->frame);
    g->frames++;
    return (int)len;
}

static uint16_t safe_ipid(struct gen *g, uint32_t dst, uint16_t dport, uint32_t seq)
{
    for (;;) { /* a random ID that no fingerprint rule would claim */
        uint16_t id = (uint16_t)rnd(&g->r);
        if (id != 54321 && id != ((dst ^ dport ^ seq) & 0xffff)) return id;
    }
}

static uint32_t safe_seq(struct gen *g, uint32_t dst)
{
    uint32_t s;
    while ((s = (uint32_t)rnd(&g->r)) == dst) {
    }
    return s;
}

static uint32_t pick(struct gen *g, enum kind k)
{
    return g->first[k] + below(&g->r, g->count[k]);
}

/* One TCP SYN probe from entity e of kind k to a random darknet address. */
static int syn_probe(struct gen *g, int64_t t, enum kind k, uint32_t ei)
{
    struct ent *e = &g->e[ei];
    struct ipaddr dst;
    bool v6 = k == K_V6;
    random_in(g, v6 ? &g->v6net : &g->v4net, &dst);
    uint32_t d = ip_v4(&dst);
    uint16_t dport, win = e->win, id, sport = e->sport;
    uint32_t seq;
    uint8_t ttl = e->ttl;
    int opts = 0;
    enum fingerprint fp = FP_UNKNOWN;
    switch (k) {
    case K_MIRAI:
    case K_SURGE:
    case K_VARIANT:
        dport = k == K_SURGE ? 2323 : k == K_VARIANT ? e->port : below(&g->r, 10) == 0 ? 2323 : 23;
        seq = d;
        id = (uint16_t)rnd(&g->r);
        fp = FP_MIRAI;
        break;
    case K_ZMAP:
        dport = e->port;
        seq = safe_seq(g, d);
        id = 54321;
        ttl = 255;
        win = 65535;
        sport = eph_port(g);
        fp = FP_ZMAP;
        break;
    case K_MASSCAN:
        dport = popular_tcp[below(&g->r, NELEM(popular_tcp))];
        do { /* an ID of 54321 would read as ZMap: masscan's cookie rarely lands there */
            seq = safe_seq(g, d);
            id = (uint16_t)((d ^ dport ^ seq) & 0xffff);
        } while (id == 54321);
        ttl = 255;
        win = 1024;
        opts = e->opt; /* newer masscan adds an MSS option */
        fp = FP_MASSCAN;
        break;
    case K_NMAP:
        dport = popular_tcp[below(&g->r, NELEM(popular_tcp))];
        seq = e->seq;
        id = safe_ipid(g, d, dport, seq);
        opts = 1;
        fp = FP_NMAP;
        break;
    default: /* ordinary OS stacks, IPv4 and IPv6 */
        dport = below(&g->r, 4) ? popular_tcp[below(&g->r, NELEM(popular_tcp))]
                                : (uint16_t)(1 + below(&g->r, 65535));
        seq = v6 ? (uint32_t)rnd(&g->r) : safe_seq(g, d);
        id = safe_ipid(g, d, dport, seq);
        sport = eph_port(g);
        opts = 2;
        break;
    }
    size_t o = eth(g, v6 ? 0x86dd : 0x0800);
    size_t tl = tcp(g->frame + o + (v6 ? 40 : 20), sport, dport, seq, 0, TCP_SYN, win, opts);
    if (v6)
        o += ip6(g->frame + o, &e->ip, &dst, IPPROTO_TCP, ttl, tl);
    else
        o += ip4(g->frame + o, &e->ip, &dst, IPPROTO_TCP, id, ttl, tl);
    int len = emit(g, t, o + tl);
    return truth_packet(&g->truth, ei, (uint32_t)len, CLS_TCP_SYN, fp, 0, IPPROTO_TCP, dport, ei,
                        portset_has(&g->iot, IPPROTO_TCP, dport));
}

static int udp_probe(struct gen *g, int64_t t, uint32_t ei)
{
    struct ent *e = &g->e[ei];
    struct ipaddr dst;
    random_in(g, &g->v4net, &dst);
    uint16_t dport = below(&g->r, 5) ? popular_udp[below(&g->r, NELEM(popular_udp))]
                                     : (uint16_t)(1 + below(&g->r, 65535));
    size_t payload = 8 + 12 + below(&g->r, 40);
    size_t o = eth(g, 0x0800);
    o += ip4(g->frame + o, &e->ip, &dst, IPPROTO_UDP, (uint16_t)rnd(&g->r), e->ttl, payload);
    craft_udp(g->frame + o, e->sport, dport, payload - 8);
    memset(g->frame + o + 8, 0x41, payload - 8);
    int len = emit(g, t, o + payload);
    return truth_packet(&g->truth, ei, (uint32_t)len, CLS_UDP, FP_NONE, 0, IPPROTO_UDP, dport, ei,
                        portset_has(&g->iot, IPPROTO_UDP, dport));
}

static int icmp_echo(struct gen *g, int64_t t, uint32_t ei, bool v6)
{
    struct ent *e = &g->e[ei];
    struct ipaddr dst;
    random_in(g, v6 ? &g->v6net : &g->v4net, &dst);
    size_t o = eth(g, v6 ? 0x86dd : 0x0800), n = 8 + 32;
    uint8_t *p = g->frame + o + (v6 ? 40 : 20);
    memset(p, 0, n);
    p[0] = v6 ? 128 : 8;
    put16(p + 4, (uint16_t)ei);
    put16(p + 6, (uint16_t)g->frames);
    if (!v6) put16(p + 2, csum(p, n));
    if (v6)
        o += ip6(g->frame + o, &e->ip, &dst, IPPROTO_ICMPV6, 64, n);
    else
        o += ip4(g->frame + o, &e->ip, &dst, IPPROTO_ICMP, (uint16_t)rnd(&g->r), e->ttl, n);
    int len = emit(g, t, o + n);
    return truth_packet(&g->truth, ei, (uint32_t)len, CLS_ICMP_REQUEST, FP_NONE, -1, 0, 0, ei, 0);
}

static int ack_probe(struct gen *g, int64_t t, uint32_t ei)
{
    struct ent *e = &g->e[ei];
    struct ipaddr dst;
    random_in(g, &g->v4net, &dst);
    uint16_t dport = popular_tcp[below(&g->r, NELEM(popular_tcp))];
    size_t o = eth(g, 0x0800);
    size_t tl = tcp(g->frame + o + 20, eph_port(g), dport, (uint32_t)rnd(&g->r),
                    (uint32_t)rnd(&g->r), TCP_ACK, 1024, 0);
    o += ip4(g->frame + o, &e->ip, &dst, IPPROTO_TCP, (uint16_t)rnd(&g->r), e->ttl, tl);
    int len = emit(g, t, o + tl);
    return truth_packet(&g->truth, ei, (uint32_t)len, CLS_OTHER, FP_NONE, 0, IPPROTO_TCP, dport, ei,
                        portset_has(&g->iot, IPPROTO_TCP, dport));
}

static int gre_packet(struct gen *g, int64_t t, uint32_t ei)
{
    struct ent *e = &g->e[ei];
    struct ipaddr dst;
    random_in(g, &g->v4net, &dst);
    size_t o = eth(g, 0x0800);
    memset(g->frame + o + 20, 0, 24);
    put16(g->frame + o + 22, 0x0800);
    o += ip4(g->frame + o, &e->ip, &dst, IPPROTO_GRE, (uint16_t)rnd(&g->r), e->ttl, 24);
    int len = emit(g, t, o + 24);
    return truth_packet(&g->truth, ei, (uint32_t)len, CLS_OTHER, FP_NONE, -1, 0, 0, ei, 0);
}

/* Frames that are not darknet packets: ARP, a probe to an address outside the
 * darknet, and malformed IPv4 (IHL 4, total length < header, TCP doff 3, runt). */
static int misc_frame(struct gen *g, int64_t t, int what)
{
    struct ent *e = &g->e[pick(g, K_MISC)];
    struct ipaddr dst;
    random_in(g, &g->v4net, &dst);
    size_t o;
    if (what == 0) {
        o = eth(g, 0x0806);
        memcpy(g->frame + o, (uint8_t[]){0, 1, 8, 0, 6, 4, 0, 1}, 8);
        memset(g->frame + o + 8, 0, 20);
        memcpy(g->frame + o + 14, e->ip.b + 12, 4);
        memcpy(g->frame + o + 24, dst.b + 12, 4);
        emit(g, t, o + 28);
        truth_extra(&g->truth, TRUTH_NON_IP);
        return 0;
    }
    if (what == 1) {
        do
            new_public_ip(g, false, &dst);
        while (pfx_set_contains(&g->darknet, &dst));
    }
    o = eth(g, 0x0800);
    size_t tl = tcp(g->frame + o + 20, e->sport, 23, ip_v4(&dst), 0, TCP_SYN, e->win, 0);
    ip4(g->frame + o, &e->ip, &dst, IPPROTO_TCP, (uint16_t)rnd(&g->r), 64, tl);
    size_t len = o + 20 + tl;
    switch (what) {
    case 1:
        truth_extra(&g->truth, TRUTH_OUTSIDE);
        break;
    case 2:
        g->frame[o] = 0x44;
        break;
    case 3:
        put16(g->frame + o + 2, 12);
        break;
    case 4:
        g->frame[o + 20 + 12] = 0x30;
        break;
    case 5:
        len = o + 12;
        break;
    }
    if (what >= 2) truth_extra(&g->truth, TRUTH_MALFORMED);
    if (what == 5) { /* a runt: the capture holds only part of the IP header */
        struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};
        h.ts.tv_sec = (time_t)(t / 1000000);
        h.ts.tv_usec = (suseconds_t)(t % 1000000);
        pcap_dump((u_char *)g->dump, &h, g->frame);
        g->frames++;
        return 0;
    }
    emit(g, t, len);
    return 0;
}

/* ---- backscatter -------------------------------------------------------- */

static int backscatter(struct gen *g, int64_t t, const struct victim_plan *v, uint32_t seqno)
{
    struct ent *ve = &g->e[v->ent];
    struct ipaddr dst;
    random_in(g, &g->v4net, &dst);
    size_t o = eth(g, 0x0800);
    int len;
    if (v->type == 0) {
        uint8_t flags = seqno % 3 ? (TCP_SYN | TCP_ACK) : (TCP_RST | TCP_ACK);
        size_t tl = tcp(g->frame + o + 20, v->port, eph_port(g), (uint32_t)rnd(&g->r),
                        (uint32_t)rnd(&g->r), flags, 65535, 0);
        o += ip4(g->frame + o, &ve->ip, &dst, IPPROTO_TCP, (uint16_t)rnd(&g->r), 58, tl);
        len = emit(g, t, o + tl);
        return truth_packet(&g->truth, v->ent, (uint32_t)len, CLS_BACKSCATTER, FP_NONE, 1,
                            IPPROTO_TCP, v->port, v->ent, 0);
    }
    uint8_t *p = g->frame + o + 20;
    size_t n;
    if (v->type == 1) {
        n = 8 + 32;
        memset(p, 0, n);
        put16(p + 4, (uint16_t)v->ent);
        put16(p + 6, (uint16_t)seqno);
        put16(p + 2, csum(p, n));
        o += ip4(g->frame + o, &ve->ip, &dst, IPPROTO_ICMP, (uint16_t)rnd(&g->r), 58, n);
        len = emit(g, t, o + n);
        return truth_packet(&g->truth, v->ent, (uint32_t)len, CLS_BACKSCATTER, FP_NONE, -1, 0, 0,
                            v->ent, 0);
    }
    /* unreachable from a router, quoting the spoofed datagram darknet -> victim */
    struct ent *router = &g->e[v->router];
    n = 8 + 20 + 8;
    memset(p, 0, n);
    p[0] = 3;
    p[1] = 3;
    ip4(p + 8, &dst, &ve->ip, IPPROTO_UDP, (uint16_t)rnd(&g->r), 50, 8 + 64);
    put16(p + 28, eph_port(g));
    put16(p + 30, v->port);
    put16(p + 32, 72);
    put16(p + 2, csum(p, n));
    o += ip4(g->frame + o, &router->ip, &dst, IPPROTO_ICMP, (uint16_t)rnd(&g->r), 250, n);
    len = emit(g, t, o + n);
    return truth_packet(&g->truth, v->router, (uint32_t)len, CLS_BACKSCATTER, FP_NONE, 1,
                        IPPROTO_UDP, v->port, v->ent, 0);
}

static int ev_cmp(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->t_us != y->t_us) return x->t_us < y->t_us ? -1 : 1;
    return x->victim != y->victim ? (x->victim < y->victim ? -1 : 1)
                                  : (x->seqno < y->seqno ? -1 : 1);
}

static int plan_victims(struct gen *g, int64_t dur_us, struct victim_plan **vout, size_t *nv,
                        struct event **evout, size_t *nev)
{
    size_t n = g->count[K_VICTIM];
    struct victim_plan *v = calloc(n, sizeof *v);
    size_t total = 0;
    if (!v) return err_set(-ENOMEM, "synth: out of memory");
    for (size_t i = 0; i < n; i++) {
        v[i].ent = g->first[K_VICTIM] + (uint32_t)i;
        v[i].router = g->first[K_ROUTER] + (uint32_t)i;
        v[i].strong = i % 2 == 0;
        v[i].type = (uint8_t)(i / 2 % 3);
        if (!v[i].strong) v[i].type = 0;
        v[i].port = victim_ports[below(&g->r, NELEM(victim_ports))];
        if (v[i].strong) { /* >= 100 packets at >= 1/s over >= 90 s: over every threshold */
            v[i].packets = 100 + below(&g->r, 400);
            v[i].len_us = (int64_t)(90 + below(&g->r, v[i].packets - 89)) * 1000000;
        } else if (i % 4 == 1) { /* too few packets */
            v[i].packets = 10;
            v[i].len_us = 100 * 1000000LL;
        } else { /* too short */
            v[i].packets = 60;
            v[i].len_us = 20 * 1000000LL;
        }
        if (v[i].len_us >= dur_us) v[i].len_us = dur_us / 2;
        v[i].t0_us = (int64_t)(unit(&g->r) * (double)(dur_us - v[i].len_us - 1));
        total += v[i].packets;
    }
    struct event *ev = malloc(total * sizeof *ev);
    if (!ev) {
        free(v);
        return err_set(-ENOMEM, "synth: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < v[i].packets; j++)
            ev[k++] =
                (struct event){v[i].t0_us + v[i].len_us * j / (v[i].packets - 1), (uint32_t)i, j};
    qsort(ev, total, sizeof *ev, ev_cmp);
    *vout = v;
    *nv = n;
    *evout = ev;
    *nev = total;
    return 0;
}

/* ---- main stream -------------------------------------------------------- */

struct mix {
    enum kind k;
    double w;
};

static const struct mix base_mix[] = {
    {K_MIRAI, 0.45},   {K_VARIANT, 0.05}, {K_ORD, 0.13}, {K_ZMAP, 0.06},
    {K_MASSCAN, 0.05}, {K_NMAP, 0.02},    {K_UDP, 0.09}, {K_ICMP, 0.04},
    {K_ACK, 0.015},    {K_GRE, 0.005},    {K_V6, 0.03},  {K_MISC, 0.012},
};

static int main_packet(struct gen *g, int64_t t, enum kind k)
{
    switch (k) {
    case K_UDP:
        return udp_probe(g, t, pick(g, k));
    case K_ICMP:
        return icmp_echo(g, t, pick(g, k), false);
    case K_ACK:
        return ack_probe(g, t, pick(g, k));
    case K_GRE:
        return gre_packet(g, t, pick(g, k));
    case K_MISC: {
        uint32_t r = below(&g->r, 12); /* 2 ARP : 4 outside : 6 malformed */
        return misc_frame(g, t, r < 2 ? 0 : r < 6 ? 1 : 2 + (int)(r - 6) % 4);
    }
    case K_V6:
        if (below(&g->r, 3) == 0) return icmp_echo(g, t, pick(g, k), true);
        return syn_probe(g, t, k, pick(g, k));
    default:
        return syn_probe(g, t, k, pick(g, k));
    }
}

struct synth_opts {
    const char *out, *truth, *darknet;
    uint64_t packets, seed, duration, surge_port;
    int64_t start;
    double surge_at, surge_len, surge_factor;
    bool quiet;
};

static json_t *plan_json(struct gen *g, const struct victim_plan *v, size_t nv)
{
    json_t *arr = json_array();
    char ip[IP_STRLEN], a[32], b[32];
    for (size_t i = 0; i < nv; i++) {
        if (!v[i].strong) continue;
        const char *proto = v[i].type == 0 ? "tcp" : v[i].type == 1 ? "icmp" : "udp";
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:I,s:s,s:s}", "target", ip_format(&g->e[v[i].ent].ip, ip),
                           "proto", proto, "packets", (json_int_t)v[i].packets, "start",
                           cli_iso_us(g->start_us + v[i].t0_us, a), "end",
                           cli_iso_us(g->start_us + v[i].t0_us + v[i].len_us, b)));
    }
    return arr;
}

static int generate(struct gen *g, const struct synth_opts *o)
{
    int64_t dur_us = (int64_t)o->duration * 1000000;
    struct victim_plan *v = NULL;
    struct event *ev = NULL;
    size_t nv = 0, nev = 0, ei = 0;
    int rc = plan_victims(g, dur_us, &v, &nv, &ev, &nev);
    if (rc < 0) return rc;
    if (nev >= o->packets / 2) {
        free(v);
        free(ev);
        return err_set(-EINVAL, "--packets %llu is too few for the backscatter plan (%zu packets)",
                       (unsigned long long)o->packets, nev);
    }
    double wsum = 0, w_mirai = 0;
    for (size_t i = 0; i < NELEM(base_mix); i++) {
        if (base_mix[i].k == K_V6 && !g->have_v6) continue;
        wsum += base_mix[i].w;
        if (base_mix[i].k == K_MIRAI) w_mirai = base_mix[i].w;
    }
    /* Surge bots probe at a Mirai bot's rate: the surge adds surge_factor x the
     * Mirai rate for its duration, and the base rate shrinks to keep N packets. */
    double d = (double)o->duration, s0 = o->surge_at * d, s1 = s0 + o->surge_len * d;
    if (s1 > d) s1 = d;
    double extra = o->surge_factor * (w_mirai / wsum); /* surge rate / base rate */
    uint64_t n_main = o->packets - nev;
    double base_rate = (double)n_main / (d + extra * (s1 - s0));
    double t = 0, p_surge = extra / (1 + extra);
    double last_print = cli_now();
    bool progress = !o->quiet && isatty(STDERR_FILENO);
    for (uint64_t i = 0; i < n_main && rc >= 0; i++) {
        bool in_surge = o->surge_factor > 0 && t >= s0 && t < s1;
        int64_t t_us = (int64_t)(t * 1e6);
        while (ei < nev && ev[ei].t_us <= t_us && rc >= 0) {
            rc = backscatter(g, g->start_us + ev[ei].t_us, &v[ev[ei].victim], ev[ei].seqno);
            ei++;
        }
        if (in_surge && unit(&g->r) < p_surge) {
            rc = syn_probe(g, g->start_us + t_us, K_SURGE, pick(g, K_SURGE));
        } else {
            double x = unit(&g->r) * wsum;
            enum kind k = K_MIRAI;
            for (size_t m = 0; m < NELEM(base_mix); m++) {
                if (base_mix[m].k == K_V6 && !g->have_v6) continue;
                k = base_mix[m].k;
                if ((x -= base_mix[m].w) < 0) break;
            }
            rc = main_packet(g, g->start_us + t_us, k);
        }
        t += 1.0 / (in_surge ? base_rate * (1 + extra) : base_rate);
        if (progress && (i & 0xffff) == 0 && cli_now() - last_print > 0.5) {
            last_print = cli_now();
            fprintf(stderr, "\r\033[K  synth %s  %5.1f%%", o->out,
                    100.0 * (double)i / (double)n_main);
        }
    }
    while (ei < nev && rc >= 0) {
        rc = backscatter(g, g->start_us + ev[ei].t_us, &v[ev[ei].victim], ev[ei].seqno);
        ei++;
    }
    if (progress) fprintf(stderr, "\r\033[K");
    if (rc >= 0) {
        json_t *truth = truth_json(&g->truth);
        char a[32], b[32], dn[128];
        json_object_set_new(truth, "dos", plan_json(g, v, nv));
        if (o->surge_factor > 0) {
            json_t *s =
                json_pack("{s:s,s:I,s:s,s:s}", "proto", "tcp", "port", (json_int_t)o->surge_port,
                          "start", cli_iso(g->start_us / 1000000 + (int64_t)s0, a), "end",
                          cli_iso(g->start_us / 1000000 + (int64_t)s1, b));
            json_object_set_new(truth, "surge", s);
        }
        json_object_set_new(truth, "generator",
                            json_pack("{s:s,s:I,s:I,s:I,s:s,s:s,s:I}", "darknet", o->darknet,
                                      "packets", (json_int_t)o->packets, "seed",
                                      (json_int_t)o->seed, "duration", (json_int_t)o->duration,
                                      "start", cli_iso(g->start_us / 1000000, a), "v4_prefix",
                                      pfx_format(&g->v4net, dn, sizeof dn), "frames",
                                      (json_int_t)g->frames));
        if (json_dump_file(truth, o->truth, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0)
            rc = err_set(-EIO, "%s: cannot write ground truth", o->truth);
        json_decref(truth);
    }
    free(v);
    free(ev);
    return rc;
}

static void usage(FILE *f)
{
    fputs("usage: mamori synth --out FILE.pcap --darknet CIDR[,CIDR6] [--packets N] [--seed S]\n"
          "                    [--duration SEC] [--start TIME] [--truth FILE]\n"
          "                    [--surge-at FRACTION] [--surge-length FRACTION] [--surge-factor F]\n"
          "\n"
          "Write a deterministic synthetic telescope capture and its ground truth (JSON).\n"
          "\n"
          "  -o, --out FILE         capture to write (pcap, Ethernet)\n"
          "  -d, --darknet LIST     telescope prefixes: one IPv4, optionally one IPv6 (required)\n"
          "  -n, --packets N        frames to write (default 1000000, at least 10000)\n"
          "  -s, --seed S           random seed (default 1)\n"
          "      --duration SEC     capture length (default 3600)\n"
          "      --start TIME       first timestamp (default 2016-09-20T00:00:00Z)\n"
          "      --truth FILE       ground truth (default FILE.pcap.truth.json)\n"
          "      --surge-at F       surge start as a fraction of the duration (default 0.6)\n"
          "      --surge-length F   surge length as a fraction (default 0.25)\n"
          "      --surge-factor F   surge bots per Mirai bot (default 1; 0 = no surge)\n"
          "  -q, --quiet            no progress line\n",
          f);
}

static bool parse_fraction(const char *opt, const char *s, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || !(v >= 0 && v <= max)) {
        cli_error("%s: '%s' is not a number from 0 to %g", opt, s, max);
        return false;
    }
    *out = v;
    return true;
}

static int parse(int argc, char **argv, struct synth_opts *o, char *truthbuf, size_t tn)
{
    static const struct option lo[] = {{"out", required_argument, 0, 'o'},
                                       {"darknet", required_argument, 0, 'd'},
                                       {"packets", required_argument, 0, 'n'},
                                       {"seed", required_argument, 0, 's'},
                                       {"duration", required_argument, 0, 'D'},
                                       {"start", required_argument, 0, 'S'},
                                       {"truth", required_argument, 0, 'T'},
                                       {"surge-at", required_argument, 0, 'A'},
                                       {"surge-length", required_argument, 0, 'L'},
                                       {"surge-factor", required_argument, 0, 'F'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    o->packets = 1000000;
    o->seed = 1;
    o->duration = 3600;
    o->start = 1474329600; /* 2016-09-20T00:00:00Z, the week Mirai hit Krebs on Security */
    o->surge_at = 0.6;
    o->surge_len = 0.25;
    o->surge_factor = 1;
    o->surge_port = 2323;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:d:n:s:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 'd':
            o->darknet = optarg;
            break;
        case 'n':
            if (!cli_uint("--packets", optarg, 10000, 2000000000, &o->packets)) return 2;
            break;
        case 's':
            if (!cli_uint("--seed", optarg, 0, UINT64_MAX, &o->seed)) return 2;
            break;
        case 'D':
            if (!cli_uint("--duration", optarg, 60, 366 * 86400, &o->duration)) return 2;
            break;
        case 'S':
            if (cli_parse_time(optarg, &o->start) < 0) {
                cli_error("--start: '%s' is not an ISO 8601 UTC time", optarg);
                return 2;
            }
            break;
        case 'T':
            o->truth = optarg;
            break;
        case 'A':
            if (!parse_fraction("--surge-at", optarg, 1, &o->surge_at)) return 2;
            break;
        case 'L':
            if (!parse_fraction("--surge-length", optarg, 1, &o->surge_len)) return 2;
            break;
        case 'F':
            if (!parse_fraction("--surge-factor", optarg, 100, &o->surge_factor)) return 2;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!cli_no_operands("synth", argc, argv, optind)) return 2;
    if (!o->out || !o->darknet) {
        cli_error("synth: --out and --darknet are required");
        return 2;
    }
    if (!o->truth) {
        snprintf(truthbuf, tn, "%s.truth.json", o->out);
        o->truth = truthbuf;
    }
    return 0;
}

int cmd_synth(int argc, char **argv)
{
    struct synth_opts o = {0};
    char truthbuf[4096];
    int rc = parse(argc, argv, &o, truthbuf, sizeof truthbuf);
    if (rc) return rc < 0 ? 0 : rc;
    struct gen *g = calloc(1, sizeof *g);
    if (!g) return 1;
    int status = 2;
    if (pfx_set_parse_list(&g->darknet, o.darknet) < 0) {
        cli_error("--darknet: %s", err_msg());
        goto out;
    }
    bool have_v4 = false;
    for (size_t i = 0; i < g->darknet.n; i++) {
        const struct pfx *p = &g->darknet.v[i];
        bool v4 = p->v4;
        if (v4 && !have_v4) g->v4net = *p, have_v4 = true;
        if (!v4 && !g->have_v6) g->v6net = *p, g->have_v6 = true;
    }
    if (!have_v4 || g->v4net.len > 96 + 30 || (g->have_v6 && g->v6net.len > 120)) {
        cli_error("--darknet: needs an IPv4 prefix of at least /30 (and optionally an IPv6 one)");
        goto out;
    }
    status = 1;
    pfx_set_add_special(&g->special);
    portset_iot_default(&g->iot);
    rng_seed(&g->r, o.seed);
    g->start_us = o.start * 1000000;
    if (make_entities(g, o.packets) < 0 || truth_init(&g->truth, g->n_e) < 0) {
        cli_error("%s", err_msg());
        goto out;
    }
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (!(g->dump = pcap_dump_open(dead, o.out))) {
        cli_error("%s: cannot write: %s", o.out, pcap_geterr(dead));
        pcap_close(dead);
        goto out;
    }
    rc = generate(g, &o);
    if (pcap_dump_flush(g->dump) < 0 && rc >= 0) rc = err_set(-EIO, "%s: write failed", o.out);
    pcap_dump_close(g->dump);
    pcap_close(dead);
    if (rc < 0) {
        cli_error("%s", err_msg());
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "mamori: wrote %llu frames to %s, ground truth in %s\n",
                (unsigned long long)g->frames, o.out, o.truth);
    status = 0;
out:
    truth_free(&g->truth);
    table_free(&g->used_ips);
    free(g->e);
    pfx_set_free(&g->darknet);
    pfx_set_free(&g->special);
    free(g);
    return status;
}
