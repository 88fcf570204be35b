/* anon — Crypto-PAn applied to values, JSON, CSV and STIX bundles (core:
 * share anonymize, share export/push and serve's anonymized TAXII
 * collections use it; captures and the metrics are share's, share/anon.h).
 *
 * One rule for every format: a value is rewritten when it is, as a whole,
 * an IPv4/IPv6 address, an address with a port ("192.0.2.1:23",
 * "[2001:db8::1]:23"), a CIDR prefix ("198.51.100.0/24": the prefix is
 * anonymized and its host bits stay zero; "198.51.100.7/24" keeps its host
 * part) or a URL whose host is an address literal.  Addresses inside free
 * text ("seen from 192.0.2.1 at ...") are not found: the formats carry
 * addresses as values, and a scanner of free text would also rewrite
 * version numbers.  Everything else passes unchanged.
 *
 * Each anonymized address can be handed to an observer (the metrics report
 * collects them); stats count what was rewritten and what could not be. */
#ifndef MAMORI_CORE_ANON_H
#define MAMORI_CORE_ANON_H

#include "addr.h"
#include "cryptopan.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

struct anon_stats {
    uint64_t values, addresses, prefixes, urls;        /* text formats */
    uint64_t sco_ids, other_ids, refs, patterns;       /* STIX */
    uint64_t ids_fallback;                             /* SCO ids stix_sco_id could not give */
    uint64_t records, records_changed;                 /* CSV rows, JSON lines/documents */
    uint64_t packets, ip_packets, arp_packets, non_ip; /* pcap */
    uint64_t ipv4_csums, l4_csums,
        l4_csums_truncated; /* checksums fixed (truncated: incrementally) */
    uint64_t csums_left, icmp_quoted, ndp_targets, nrb_dropped, idb_addresses;
    uint64_t clear_left; /* packets still holding addresses in clear (IPv4 options, IPv6 RH/HAO) */
};

struct anon {
    struct cpan *cpan;
    struct anon_stats st;
    /* every address anonymized (before), in input order; NULL: nobody asks */
    void (*seen)(void *arg, const struct ipaddr *a);
    void *seen_arg;
};

/* in anonymized into out (cap >= 128 or strlen(in) + 48): 1 when it was
 * rewritten, 0 when it is not an address form (out untouched), -ENOSPC. */
int anon_value(struct anon *a, const char *in, char *out, size_t cap);

/* Every string value (and object key) of v that is an address form, or,
 * with keys (NULL-terminated), only the values under those keys at any
 * depth: the number of values rewritten. */
uint64_t anon_json(struct anon *a, json_t *v, const char *const *keys);

/* A STIX 2.1 bundle in place: address forms in every property, address
 * literals in STIX patterns, the SCOs' deterministic ids recomputed
 * (stix_sco_id) and every other object whose content changed given a keyed
 * id (cpan_digest of its old id: the same for the same key, unlinkable
 * without it), and every *_ref / *_refs updated.  0, or -EINVAL with an
 * error set (not a bundle, refs nested deeper than 64); st may be NULL.
 * Export's --anonymize calls it. */
int anon_stix_bundle(struct cpan *c, json_t *bundle, struct anon_stats *st);
/* The same with an observer and stats (struct anon). */
int anon_stix(struct anon *a, json_t *bundle);

/* CSV (RFC 4180) from in to out: the named header columns (comma list), or
 * with columns NULL every field that is an address form.  Fields not
 * rewritten pass byte for byte.  0, or < 0 with an error naming name. */
int anon_csv(struct anon *a, FILE *in, FILE *out, const char *columns, const char *name);

#endif
