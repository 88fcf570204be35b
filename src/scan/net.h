/* net — the scanner's link: interface, addresses, gateway MAC, packet sockets.
 *
 * Probes leave as whole Ethernet frames on an AF_PACKET socket, addressed to
 * the gateway's MAC: the route for the first target (/proc/net/route) names
 * the interface and the gateway, the kernel's neighbour table
 * (/proc/net/arp) its MAC, and when the table has none one ARP exchange on
 * the interface asks for it (--gateway-mac skips all of that).  Replies come
 * in on a second packet socket that ignores our own outgoing frames
 * (PACKET_IGNORE_OUTGOING) behind a BPF filter compiled by libpcap. */
#ifndef MAMORI_SCAN_NET_H
#define MAMORI_SCAN_NET_H

#include "../core/addr.h"

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct scan_link {
    char ifname[IF_NAMESIZE];
    int ifindex;
    uint8_t mac[6], gw_mac[6];
    struct ipaddr src4, src6, gw;
};

int net_parse_mac(const char *s, uint8_t mac[6]);
/* Fills what the caller left empty (ifname "" , src4 zero, gw_mac zero) for
 * reaching first (an IPv4 target).  have_gw_mac: gw_mac was given. */
int net_resolve(struct scan_link *l, uint32_t first, bool have_src, bool have_gw_mac);
/* A send-only packet socket on the link (PACKET_QDISC_BYPASS when qdisc_bypass). */
int net_send_socket(const struct scan_link *l, bool qdisc_bypass);
/* The receive socket: filter a BPF expression (pcap syntax). */
int net_recv_socket(const struct scan_link *l, const char *filter);
/* Kernel drops on a receive socket since the last call (PACKET_STATISTICS). */
uint64_t net_recv_drops(int fd);

#endif
