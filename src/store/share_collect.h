/* share_collect — mamori's own ("local") indicators, derived from everything
 * it observed, into share_indicators (share.h).
 *
 * The local rows are a view of the observatory recomputed on each call, not
 * an accumulation: collecting twice gives the same rows (share_put adds
 * sightings, so the local rows are replaced as a whole in one transaction;
 * received rows of other sources are never touched).  Every value is one row
 * whatever the number of facets it has (an address can scan the darknet,
 * log in to the honeypot and serve its downloads): role is the strongest
 * facet, labels list all of them.
 *
 * Confidence (0..100), a documented rule, not a model:
 *   darknet scanner   by fingerprint: mirai 80 (seq = dst is the bot's own
 *                     code), zmap/masscan/nmap 60 (a known tool, often
 *                     research), unknown 40; +5 / +10 / +15 at 10 / 100 /
 *                     1000 packets; at most 95 (a one-way observation)
 *   honeypot attacker 80 (a completed TCP handshake and a login attempt)
 *   loader            90 (had the honeypot fetch or build malware)
 *   download URL      90, download host 85
 *   file hash         95 (the exact bytes a bot built)
 *   vulnerable device 90 (a default credential that worked)
 * An address with several facets takes the highest.
 * Times: first/last seen as observed; received_us = last seen (derived
 * from the data, so an export of the same data is the same bundle). */
#ifndef MAMORI_STORE_SHARE_COLLECT_H
#define MAMORI_STORE_SHARE_COLLECT_H

#include <stddef.h>
#include <stdint.h>

struct store;

struct share_collect_opts {
    const char *tlp;     /* the local rows' TLP 2.0 marking; NULL: clear */
    size_t max_scanners; /* the busiest darknet sources kept; 0: 100000 */
};

struct share_collect_counts {
    uint64_t scanners, attackers, loaders, urls, hosts, files, vulnerable;
    uint64_t rows; /* distinct local indicators put */
};

/* Replaces the local rows with what the database holds now; 0 or an error
 * (the earlier rows stay). */
int share_collect_local(struct store *s, const struct share_collect_opts *o,
                        struct share_collect_counts *out);

/* The TLP 2.0 names share uses ("clear", "green", "amber", "amber+strict",
 * "red"): their rank 0..4, or -1 for another name. */
int share_tlp_rank(const char *tlp);

#endif
