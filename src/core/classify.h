/* classify — what a darknet packet is, and which scanner sent it.
 *
 * Classes (one per packet):
 *   tcp_syn      SYN without ACK: a scan probe
 *   backscatter  a reply to a spoofed packet: TCP SYN-ACK or RST, ICMP echo
 *                reply, ICMP errors/replies (types 0,3,4,5,11,12,14,16,18;
 *                ICMPv6 errors 1-4 and echo reply 129)
 *   udp          any UDP datagram
 *   icmp_request ICMP echo/timestamp/info/mask requests, ICMPv6 echo request
 *   other        everything else (TCP ACK/FIN probes, GRE, non-first fragments, ...)
 *
 * Fingerprints (tcp_syn only; the first rule of fp_defs that matches wins):
 *   mirai    sequence number == destination IPv4 address (Mirai's scanner.c
 *            and its variants; the rule NICT and Japan's NPA use)
 *   zmap     IPv4 ID == 54321 (ZMap's fixed probe ID)
 *   masscan  IPv4 ID == (dst IPv4 ^ dst port ^ seq) & 0xffff (masscan's
 *            stateless cookie leaks into the ID)
 *   nmap     window 1024/2048/3072/4096 with exactly one TCP option, MSS
 *            (nmap's raw SYN probe)
 *   unknown  none of the above
 *
 * The victim of backscatter is its source, except for ICMP errors, where it
 * is the destination of the quoted datagram; the victim's port is the TCP
 * source port or the quoted destination port.
 *
 * Both lists are tables (class_defs, fp_defs): every name anyone prints or
 * stores comes from them.  To add a fingerprint: a constant before
 * FP_UNKNOWN below, and one fp_defs line in classify.c with its test and an
 * example of the probe the scanner sends (tests/unit/test_tables.c crafts
 * it and checks the table finds it, under its name, end to end). */
#ifndef MAMORI_CLASSIFY_H
#define MAMORI_CLASSIFY_H

#include "craft.h"
#include "pkt.h"

#include <stdbool.h>

enum pkt_class { CLS_TCP_SYN, CLS_BACKSCATTER, CLS_UDP, CLS_ICMP_REQUEST, CLS_OTHER, CLS_COUNT };
enum fingerprint { FP_NONE = -1, FP_MIRAI, FP_ZMAP, FP_MASSCAN, FP_NMAP, FP_UNKNOWN, FP_COUNT };

struct victim {
    struct ipaddr addr;
    uint8_t proto; /* IPPROTO_* of the attacked service */
    uint16_t port; /* service port, 0 when none */
};

enum pkt_class classify(const struct pkt *p);
enum fingerprint fingerprint(const struct pkt *p); /* FP_NONE unless tcp_syn */

struct class_def {
    const char *name, *help;
};
extern const struct class_def class_defs[CLS_COUNT]; /* in enum pkt_class order */

/* The TCP SYN a scanner sends to dst:dport, as fields for craft.h. */
struct fp_probe {
    uint32_t seq;
    uint16_t ip_id, window;
    uint8_t ttl;
    enum craft_tcp_opts opts;
};
struct fp_def {
    const char *name, *help;
    /* p is a TCP SYN (classify() said tcp_syn); NULL for FP_UNKNOWN, the
     * fallback when no rule before it matched */
    bool (*match)(const struct pkt *p);
    void (*example)(uint32_t dst_v4, uint16_t dport, struct fp_probe *out);
};
extern const struct fp_def fp_defs[FP_COUNT]; /* in enum fingerprint order, tried in order */
/* Fills v for backscatter; returns 0, or -1 when the victim is unknown. */
int backscatter_victim(const struct pkt *p, struct victim *v);

const char *class_name(enum pkt_class c);
const char *fingerprint_name(enum fingerprint f);
int fingerprint_from_name(const char *name);
int class_from_name(const char *name);
const char *proto_name(uint8_t proto);
int proto_from_name(const char *name);

#endif
