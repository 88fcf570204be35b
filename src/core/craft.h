/* craft — build packet headers into a caller's buffer.
 *
 * The writing side of pkt.c: synth builds its capture with these, the tests
 * build the exact probes each scanner documents, and the active scanner will
 * build its probes with them.  Each function writes one header at p and
 * returns its length; lengths and checksums are filled in (the TCP/UDP
 * checksums are left zero: a telescope never verifies them; craft_l4_fill
 * fills them for packets that go on a wire). */
#ifndef MAMORI_CRAFT_H
#define MAMORI_CRAFT_H

#include "addr.h"

#include <stddef.h>
#include <stdint.h>

enum craft_tcp_opts { CRAFT_OPTS_NONE, CRAFT_OPTS_MSS, CRAFT_OPTS_LINUX };

void craft_put16(uint8_t *p, uint16_t v);
void craft_put32(uint8_t *p, uint32_t v);
uint16_t craft_csum(const uint8_t *p, size_t n);
/* The TCP or UDP checksum over the IPv4 or IPv6 pseudo-header and the l4 bytes
 * [0, n) (their checksum field must be zero or is ignored when zeroed first);
 * craft_l4_fill writes it into the header at l4 (offset 16 for TCP, 6 for UDP). */
uint16_t craft_l4_csum(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
                       const uint8_t *l4, size_t n);
void craft_l4_fill(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto, uint8_t *l4,
                   size_t n);
/* Ethernet II, with an 802.1Q tag when vlan > 0. */
size_t craft_eth(uint8_t *p, uint16_t ethertype, int vlan);
size_t craft_ip4(uint8_t *p, const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
                 uint16_t id, uint8_t ttl, size_t payload);
size_t craft_ip6(uint8_t *p, const struct ipaddr *src, const struct ipaddr *dst, uint8_t nh,
                 uint8_t hops, size_t payload);
size_t craft_tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                 uint8_t flags, uint16_t win, enum craft_tcp_opts opts);
size_t craft_udp(uint8_t *p, uint16_t sport, uint16_t dport, size_t payload);

#endif
