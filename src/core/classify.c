/* classify — packet classes and scanner fingerprints (rules in classify.h). */
#include "classify.h"

#include <netinet/in.h>
#include <string.h>

static bool icmp4_backscatter(uint8_t t)
{
    return t == 0 || t == 3 || t == 4 || t == 5 || t == 11 || t == 12 || t == 14 || t == 16 ||
           t == 18;
}

enum pkt_class classify(const struct pkt *p)
{
    if (p->later_fragment) return CLS_OTHER; /* its header went with the first fragment */
    switch (p->proto) {
    case IPPROTO_TCP: {
        uint8_t f = p->tcp_flags;
        if ((f & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) || (f & TCP_RST))
            return CLS_BACKSCATTER;
        if (f & TCP_SYN) return CLS_TCP_SYN;
        return CLS_OTHER;
    }
    case IPPROTO_UDP:
        return CLS_UDP;
    case IPPROTO_ICMP:
        if (icmp4_backscatter(p->icmp_type)) return CLS_BACKSCATTER;
        if (p->icmp_type == 8 || p->icmp_type == 13 || p->icmp_type == 15 || p->icmp_type == 17)
            return CLS_ICMP_REQUEST;
        return CLS_OTHER;
    case IPPROTO_ICMPV6:
        if (p->icmp_type <= 4 || p->icmp_type == 129) return CLS_BACKSCATTER;
        if (p->icmp_type == 128) return CLS_ICMP_REQUEST;
        return CLS_OTHER;
    default:
        return CLS_OTHER;
    }
}

enum fingerprint fingerprint(const struct pkt *p)
{
    if (p->proto != IPPROTO_TCP || classify(p) != CLS_TCP_SYN) return FP_NONE;
    if (p->ipver == 4) {
        uint32_t dst = ip_v4(&p->dst);
        if (p->seq == dst) return FP_MIRAI;
        if (p->ip_id == 54321) return FP_ZMAP;
        if (p->ip_id == ((dst ^ p->dport ^ p->seq) & 0xffff)) return FP_MASSCAN;
    }
    if ((p->window == 1024 || p->window == 2048 || p->window == 3072 || p->window == 4096) &&
        p->tcp_opt_count == 1 && p->tcp_mss)
        return FP_NMAP;
    return FP_UNKNOWN;
}

int backscatter_victim(const struct pkt *p, struct victim *v)
{
    memset(v, 0, sizeof *v);
    if (p->proto == IPPROTO_TCP) {
        v->addr = p->src;
        v->proto = IPPROTO_TCP;
        v->port = p->sport;
        return 0;
    }
    if (p->inner.present) {
        v->addr = p->inner.dst;
        v->proto = p->inner.proto;
        v->port =
            (p->inner.proto == IPPROTO_TCP || p->inner.proto == IPPROTO_UDP) ? p->inner.dport : 0;
        return 0;
    }
    bool err4 =
        p->proto == IPPROTO_ICMP && (p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 5 ||
                                     p->icmp_type == 11 || p->icmp_type == 12);
    bool err6 = p->proto == IPPROTO_ICMPV6 && p->icmp_type <= 4;
    if (err4 || err6) return -1; /* an error without a readable quote names no victim */
    v->addr = p->src;            /* echo and other replies come from the victim itself */
    v->proto = p->proto;
    return 0;
}

static const char *const class_names[CLS_COUNT] = {"tcp_syn", "backscatter", "udp", "icmp_request",
                                                   "other"};
static const char *const fp_names[FP_COUNT] = {"mirai", "zmap", "masscan", "nmap", "unknown"};

const char *class_name(enum pkt_class c)
{
    return c >= 0 && c < CLS_COUNT ? class_names[c] : "?";
}

const char *fingerprint_name(enum fingerprint f)
{
    return f >= 0 && f < FP_COUNT ? fp_names[f] : "none";
}

int fingerprint_from_name(const char *name)
{
    for (int i = 0; i < FP_COUNT; i++)
        if (strcmp(name, fp_names[i]) == 0) return i;
    return -1;
}

const char *proto_name(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_ICMPV6:
        return "icmpv6";
    case IPPROTO_GRE:
        return "gre";
    default:
        return "ip";
    }
}

int proto_from_name(const char *name)
{
    static const struct {
        const char *n;
        int p;
    } t[] = {{"tcp", IPPROTO_TCP},
             {"udp", IPPROTO_UDP},
             {"icmp", IPPROTO_ICMP},
             {"icmpv6", IPPROTO_ICMPV6},
             {"gre", IPPROTO_GRE}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].n, name) == 0) return t[i].p;
    return -1;
}
