/* anon — Crypto-PAn over captures, and the metrics report (share
 * anonymize); values, JSON, CSV and STIX bundles are core/anon.h's. */
#ifndef MAMORI_SHARE_ANON_H
#define MAMORI_SHARE_ANON_H

#include "../core/anon.h"

/* A capture (pcap or pcapng) from in to out, every block kept, addresses in
 * IPv4/IPv6 headers (tunnelled ones too), ICMP/ICMPv6 quoted headers, NDP
 * targets, ARP and pcapng interface options rewritten and checksums fixed;
 * pcapng name-resolution blocks dropped.  0, or < 0 with an error. */
int anon_pcap(struct anon *a, FILE *in, FILE *out, const char *name);
/* One frame in place (the fuzzer's entry): caplen bytes captured. */
void anon_frame(struct anon *a, int dlt, uint8_t *d, size_t caplen);

/* anon_metrics.c: the addresses of a run (anon.seen = anon_metrics_add,
 * seen_arg = the metrics); _split marks where the second source starts. */
struct anon_metrics;
struct anon_metrics *anon_metrics_new(void);
void anon_metrics_add(void *arg, const struct ipaddr *a);
void anon_metrics_split(struct anon_metrics *m);
/* The report (text or JSON) on out; c is the key the run used. */
int anon_metrics_report(struct anon_metrics *m, struct cpan *c, FILE *out, int json);
void anon_metrics_free(struct anon_metrics *m);

#endif
