/* pkt — decode one captured frame into the fields a telescope needs.
 *
 * One call per frame, no allocation: link layer (Ethernet with 802.1Q/QinQ,
 * Linux cooked SLL and SLL2, raw IP, BSD loopback) → IPv4/IPv6 (extension
 * headers skipped) → TCP/UDP/ICMP/ICMPv6.  For ICMP errors the quoted IP
 * header and ports are decoded too, because backscatter names its victim
 * there.  Anything short or inconsistent is PKT_MALFORMED, never a crash:
 * every read is checked against the captured length. */
#ifndef MAMORI_PKT_H
#define MAMORI_PKT_H

#include "addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pkt_status { PKT_OK = 0, PKT_NON_IP, PKT_MALFORMED };

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

struct pkt_inner { /* the datagram quoted by an ICMP error */
    bool present;
    uint8_t proto;
    struct ipaddr src, dst;
    uint16_t sport, dport;
};

struct pkt {
    uint8_t ipver;          /* 4 or 6 */
    uint8_t proto;          /* IPPROTO_* of the transport header */
    uint8_t ttl;            /* TTL or hop limit */
    uint8_t later_fragment; /* a non-first fragment: no transport header, no ports */
    uint16_t ip_id;         /* IPv4 only */
    struct ipaddr src, dst;
    uint16_t sport, dport;
    /* TCP */
    uint8_t tcp_flags;
    uint32_t seq;
    uint16_t window;
    uint8_t tcp_opt_count; /* options other than NOP/EOL */
    uint16_t tcp_mss;      /* 0 when absent */
    /* ICMP / ICMPv6 */
    uint8_t icmp_type, icmp_code;
    struct pkt_inner inner;
};

/* Link types handled (libpcap DLT_ values). */
bool pkt_linktype_supported(int dlt);
enum pkt_status pkt_decode(int dlt, const uint8_t *data, size_t caplen, struct pkt *out);

/* Where the network header starts (*off), which one it is (*ver 4, 6 or 0)
 * and, for link types that name it, the ethertype (0 otherwise): for code
 * that rewrites a frame in place (share anonymize) rather than reads it.
 * PKT_OK for IPv4/IPv6, PKT_NON_IP (*off and *ethertype still set when the
 * link header was whole), PKT_MALFORMED. */
enum pkt_status pkt_network(int dlt, const uint8_t *data, size_t caplen, size_t *off, int *ver,
                            uint16_t *ethertype);

/* The source address alone, from the link header and the address's bytes:
 * false when the frame has none there.  When pkt_decode says PKT_OK, it finds
 * this same address (an aggregator shard tells its own frames by it before
 * decoding them). */
bool pkt_source(int dlt, const uint8_t *data, size_t caplen, struct ipaddr *src);

/* Capture times a telescope can believe: 1970-01-01 up to 2100-01-01. */
#define PKT_TIME_MAX_US (4102444800LL * 1000000)

/* A capture timestamp (seconds and microseconds as libpcap hands them over,
 * whatever the file's if_tsresol or if_tsoffset made of them) in µs since
 * 1970, or -1 when it lies outside 1970..2100 or the microseconds are not a
 * fraction of a second.  Checked before multiplying: a crafted pcapng can
 * carry any 64-bit second count. */
static inline int64_t pkt_time_us(int64_t sec, int64_t usec)
{
    if (sec < 0 || sec >= PKT_TIME_MAX_US / 1000000 || usec < 0 || usec >= 1000000) return -1;
    return sec * 1000000 + usec;
}

#endif
