/* classify — packet classes and scanner fingerprints (rules in classify.h).
 *
 * The fingerprints are a table tried in order (fp_defs): a new scanner is one
 * test, one example probe and one line, and the example lets a test prove
 * every line is reachable (an earlier, broader rule would shadow it). */
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

/* ---- fingerprints: one test and one example probe each ---- */

static bool is_mirai(const struct pkt *p)
{
    return p->ipver == 4 && p->seq == ip_v4(&p->dst);
}

static void ex_mirai(uint32_t dst, uint16_t dport, struct fp_probe *o)
{
    (void)dport; /* raw SYN, TTL 64, no options, random window and ID (scanner.c) */
    *o = (struct fp_probe){.seq = dst, .ip_id = 4242, .window = 31337, .ttl = 64};
}

static bool is_zmap(const struct pkt *p)
{
    return p->ipver == 4 && p->ip_id == 54321;
}

static void ex_zmap(uint32_t dst, uint16_t dport, struct fp_probe *o)
{
    (void)dport;
    *o = (struct fp_probe){.seq = ~dst, .ip_id = 54321, .window = 65535, .ttl = 255};
}

static bool is_masscan(const struct pkt *p)
{
    return p->ipver == 4 && p->ip_id == ((ip_v4(&p->dst) ^ p->dport ^ p->seq) & 0xffff);
}

static void ex_masscan(uint32_t dst, uint16_t dport, struct fp_probe *o)
{
    uint32_t seq = 0x12345678u ^ dst;
    *o = (struct fp_probe){
        .seq = seq, .ip_id = (uint16_t)((dst ^ dport ^ seq) & 0xffff), .window = 1024, .ttl = 255};
}

static bool is_nmap(const struct pkt *p)
{
    return (p->window == 1024 || p->window == 2048 || p->window == 3072 || p->window == 4096) &&
           p->tcp_opt_count == 1 && p->tcp_mss;
}

static void ex_nmap(uint32_t dst, uint16_t dport, struct fp_probe *o)
{
    uint32_t seq = 0x9e3779b9u ^ dst;
    /* an ID that is none of the rules above */
    uint16_t id = (uint16_t)(((dst ^ dport ^ seq) + 1) & 0xffff);
    *o = (struct fp_probe){.seq = seq,
                           .ip_id = id == 54321 ? 54322 : id,
                           .window = 1024,
                           .ttl = 48,
                           .opts = CRAFT_OPTS_MSS};
}

static void ex_unknown(uint32_t dst, uint16_t dport, struct fp_probe *o)
{
    uint32_t seq = 0x0badf00du ^ dst; /* an ordinary Linux connect() */
    uint16_t id = (uint16_t)(((dst ^ dport ^ seq) + 7) & 0xffff);
    *o = (struct fp_probe){.seq = seq,
                           .ip_id = id == 54321 ? 54322 : id,
                           .window = 64240,
                           .ttl = 64,
                           .opts = CRAFT_OPTS_LINUX};
}

/* How to add one: see classify.h.  Order matters: the first match wins. */
const struct fp_def fp_defs[FP_COUNT] = {
    [FP_MIRAI] = {"mirai", "sequence number == destination IPv4 address (Mirai and variants)",
                  is_mirai, ex_mirai},
    [FP_ZMAP] = {"zmap", "IPv4 ID == 54321 (ZMap's fixed probe ID)", is_zmap, ex_zmap},
    [FP_MASSCAN] = {"masscan", "IPv4 ID == (dst ^ dst port ^ seq) & 0xffff (masscan's cookie)",
                    is_masscan, ex_masscan},
    [FP_NMAP] = {"nmap", "window 1024/2048/3072/4096 with one TCP option, MSS (nmap -sS)", is_nmap,
                 ex_nmap},
    [FP_UNKNOWN] = {"unknown", "a TCP SYN no rule above matches", NULL, ex_unknown},
};
_Static_assert(sizeof fp_defs / sizeof fp_defs[0] == FP_COUNT, "one fp_defs line per fingerprint");
_Static_assert(FP_UNKNOWN == FP_COUNT - 1, "FP_UNKNOWN is the fallback, last");

const struct class_def class_defs[CLS_COUNT] = {
    [CLS_TCP_SYN] = {"tcp_syn", "SYN without ACK: a scan probe"},
    [CLS_BACKSCATTER] = {"backscatter", "a reply to a spoofed packet (SYN-ACK, RST, ICMP reply)"},
    [CLS_UDP] = {"udp", "any UDP datagram"},
    [CLS_ICMP_REQUEST] = {"icmp_request", "ICMP echo/timestamp/info/mask request"},
    [CLS_OTHER] = {"other", "everything else (ACK/FIN probes, GRE, later fragments)"},
};

enum fingerprint fingerprint(const struct pkt *p)
{
    if (p->proto != IPPROTO_TCP || classify(p) != CLS_TCP_SYN) return FP_NONE;
    for (int i = 0; i < FP_UNKNOWN; i++)
        if (fp_defs[i].match(p)) return (enum fingerprint)i;
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

const char *class_name(enum pkt_class c)
{
    return c >= 0 && c < CLS_COUNT ? class_defs[c].name : "?";
}

const char *fingerprint_name(enum fingerprint f)
{
    return f >= 0 && f < FP_COUNT ? fp_defs[f].name : "none";
}

int fingerprint_from_name(const char *name)
{
    for (int i = 0; i < FP_COUNT; i++)
        if (strcmp(name, fp_defs[i].name) == 0) return i;
    return -1;
}

int class_from_name(const char *name)
{
    for (int i = 0; i < CLS_COUNT; i++)
        if (strcmp(name, class_defs[i].name) == 0) return i;
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
