/* pkt — bounds-checked frame decoder (see pkt.h). */
#include "pkt.h"

#include <netinet/in.h>
#include <pcap/dlt.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool pkt_linktype_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

static void tcp_options(const uint8_t *o, size_t n, struct pkt *p)
{
    size_t i = 0;
    while (i < n) {
        uint8_t kind = o[i];
        if (kind == 0) break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) break;
        p->tcp_opt_count++;
        if (kind == 2 && o[i + 1] == 4) p->tcp_mss = rd16(o + i + 2);
        i += o[i + 1];
    }
}

static enum pkt_status transport(const uint8_t *d, size_t n, struct pkt *p, int depth);

/* Decode the IP datagram quoted in an ICMP error; only header fields matter. */
static void quoted(const uint8_t *d, size_t n, struct pkt *p)
{
    struct pkt q;
    memset(&q, 0, sizeof q);
    enum pkt_status st = PKT_MALFORMED;
    if (n >= 1 && (d[0] >> 4) == 4 && n >= 20) {
        size_t ihl = (size_t)(d[0] & 15) * 4;
        if (ihl >= 20 && ihl <= n) {
            ip_from_v4(&q.src, rd32(d + 12));
            ip_from_v4(&q.dst, rd32(d + 16));
            q.proto = d[9];
            st = transport(d + ihl, n - ihl, &q, 1);
        }
    } else if (n >= 40 && (d[0] >> 4) == 6) {
        ip_from_v6(&q.src, d + 8);
        ip_from_v6(&q.dst, d + 24);
        q.proto = d[6];
        st = transport(d + 40, n - 40, &q, 1);
    }
    if (st != PKT_OK) return;
    p->inner.present = true;
    p->inner.proto = q.proto;
    p->inner.src = q.src;
    p->inner.dst = q.dst;
    p->inner.sport = q.sport;
    p->inner.dport = q.dport;
}

/* depth 1 = inside an ICMP quote: the quote holds only the first 8 bytes of
 * the transport header, so ports are enough and nothing more is demanded. */
static enum pkt_status transport(const uint8_t *d, size_t n, struct pkt *p, int depth)
{
    switch (p->proto) {
    case IPPROTO_TCP: {
        if (depth) {
            if (n < 4) return PKT_MALFORMED;
            p->sport = rd16(d);
            p->dport = rd16(d + 2);
            return PKT_OK;
        }
        if (n < 20) return PKT_MALFORMED;
        size_t doff = (size_t)(d[12] >> 4) * 4;
        if (doff < 20) return PKT_MALFORMED;
        p->sport = rd16(d);
        p->dport = rd16(d + 2);
        p->seq = rd32(d + 4);
        p->tcp_flags = d[13];
        p->window = rd16(d + 14);
        tcp_options(d + 20, (doff <= n ? doff : n) - 20, p);
        return PKT_OK;
    }
    case IPPROTO_UDP:
        if (n < (depth ? 4u : 8u)) return PKT_MALFORMED;
        p->sport = rd16(d);
        p->dport = rd16(d + 2);
        return PKT_OK;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
        if (n < (depth ? 2u : 8u)) return PKT_MALFORMED;
        p->icmp_type = d[0];
        p->icmp_code = d[1];
        if (depth) return PKT_OK;
        bool err = p->proto == IPPROTO_ICMP
                       ? (p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 5 ||
                          p->icmp_type == 11 || p->icmp_type == 12)
                       : p->icmp_type < 128;
        if (err) quoted(d + 8, n - 8, p);
        return PKT_OK;
    default:
        return PKT_OK;
    }
}

static enum pkt_status ipv4(const uint8_t *d, size_t n, struct pkt *p)
{
    if (n < 20) return PKT_MALFORMED;
    size_t ihl = (size_t)(d[0] & 15) * 4;
    size_t total = rd16(d + 2);
    if (ihl < 20 || total < ihl || ihl > n) return PKT_MALFORMED;
    p->ipver = 4;
    p->ip_id = rd16(d + 4);
    p->ttl = d[8];
    p->proto = d[9];
    ip_from_v4(&p->src, rd32(d + 12));
    ip_from_v4(&p->dst, rd32(d + 16));
    if (rd16(d + 6) & 0x1fff) { /* later fragment: no transport header */
        p->later_fragment = 1;
        return PKT_OK;
    }
    size_t end = total < n ? total : n; /* ignore link-layer padding */
    return transport(d + ihl, end - ihl, p, 0);
}

static enum pkt_status ipv6(const uint8_t *d, size_t n, struct pkt *p)
{
    if (n < 40) return PKT_MALFORMED;
    p->ipver = 6;
    p->ttl = d[7];
    ip_from_v6(&p->src, d + 8);
    ip_from_v6(&p->dst, d + 24);
    size_t end = 40 + (size_t)rd16(d + 4);
    if (end > n) end = n;
    uint8_t nh = d[6];
    size_t off = 40;
    for (int hops = 0; hops < 8; hops++) {
        if (nh == 0 || nh == 43 || nh == 60) { /* hop-by-hop, routing, destination options */
            if (off + 8 > end) return PKT_MALFORMED;
            nh = d[off];
            off += ((size_t)d[off + 1] + 1) * 8;
        } else if (nh == 44) { /* fragment */
            if (off + 8 > end) return PKT_MALFORMED;
            uint16_t fo = rd16(d + off + 2) & 0xfff8;
            nh = d[off];
            off += 8;
            if (fo) {
                p->proto = nh;
                p->later_fragment = 1;
                return PKT_OK;
            }
        } else {
            break;
        }
    }
    if (off > end) return PKT_MALFORMED;
    p->proto = nh;
    return transport(d + off, end - off, p, 0);
}

/* The link layer: where the network header starts and which one it is (4, 6,
 * or 0 for none of them).  Shared by pkt_decode and pkt_source, so that both
 * read every link type the same way. */
static enum pkt_status link_layer(int dlt, const uint8_t *d, size_t n, const uint8_t **l3,
                                  size_t *l3n, int *ver, uint16_t *ethertype)
{
    uint16_t et;
    size_t off;
    *ver = 0;
    *ethertype = 0;
    switch (dlt) {
    case DLT_EN10MB:
        if (n < 14) return PKT_MALFORMED;
        off = 12;
        et = rd16(d + off);
        for (int tags = 0; (et == 0x8100 || et == 0x88a8 || et == 0x9100) && tags < 4; tags++) {
            off += 4;
            if (off + 2 > n) return PKT_MALFORMED;
            et = rd16(d + off);
        }
        off += 2;
        break;
    case DLT_LINUX_SLL:
        if (n < 16) return PKT_MALFORMED;
        et = rd16(d + 14);
        off = 16;
        break;
    case DLT_LINUX_SLL2:
        if (n < 20) return PKT_MALFORMED;
        et = rd16(d);
        off = 20;
        break;
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        off = dlt == DLT_NULL || dlt == DLT_LOOP ? 4 : 0;
        if (n < off + 1) return PKT_MALFORMED;
        *l3 = d + off;
        *l3n = n - off;
        *ver = d[off] >> 4 == 4 ? 4 : d[off] >> 4 == 6 ? 6 : 0;
        return *ver ? PKT_OK : PKT_NON_IP;
    default:
        return PKT_NON_IP;
    }
    *l3 = d + off;
    *l3n = n - off;
    *ethertype = et;
    *ver = et == ETH_IPV4 ? 4 : et == ETH_IPV6 ? 6 : 0;
    return *ver ? PKT_OK : PKT_NON_IP;
}

enum pkt_status pkt_network(int dlt, const uint8_t *d, size_t n, size_t *off, int *ver,
                            uint16_t *ethertype)
{
    const uint8_t *l3 = NULL;
    size_t l3n = 0;
    enum pkt_status st = link_layer(dlt, d, n, &l3, &l3n, ver, ethertype);
    *off = l3 ? (size_t)(l3 - d) : 0;
    return st;
}

enum pkt_status pkt_decode(int dlt, const uint8_t *d, size_t n, struct pkt *p)
{
    memset(p, 0, sizeof *p);
    const uint8_t *l3 = NULL;
    size_t l3n = 0;
    int ver;
    uint16_t et;
    enum pkt_status st = link_layer(dlt, d, n, &l3, &l3n, &ver, &et);
    if (st != PKT_OK) return st;
    return ver == 4 ? ipv4(l3, l3n, p) : ipv6(l3, l3n, p);
}

bool pkt_source(int dlt, const uint8_t *d, size_t n, struct ipaddr *src)
{
    const uint8_t *l3 = NULL;
    size_t l3n = 0;
    int ver;
    uint16_t et;
    if (link_layer(dlt, d, n, &l3, &l3n, &ver, &et) != PKT_OK) return false;
    if (ver == 4) {
        if (l3n < 20) return false;
        ip_from_v4(src, rd32(l3 + 12));
        return true;
    }
    if (l3n < 40) return false;
    ip_from_v6(src, l3 + 8);
    return true;
}
