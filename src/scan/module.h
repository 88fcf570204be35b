/* module — scan probe modules: a const ops struct each, one registry line.
 *
 * As ZMap's probe modules: a module builds its probe for (address, port)
 * into the caller's frame with full checksums, and validates a reply against
 * the probe's cookie with no per-probe state.  The cookie of a probe to
 * (daddr, dport) from saddr is SipHash-2-4 under the run's key of
 * saddr|daddr|dport: its low 32 bits are the TCP sequence number and its high
 * bits pick the source port in the key's range, so a reply validates when its
 * ack - 1 is the cookie and it came to that port.  The key is random per run
 * and saved in the checkpoint, so a resumed run still validates late replies.
 *
 * To add a module: one file defining `const struct scan_module scan_mod_X`
 * and one line in scan_modules (module.c). */
#ifndef MAMORI_SCAN_MODULE_H
#define MAMORI_SCAN_MODULE_H

#include "../core/addr.h"
#include "../core/siphash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCAN_FRAME_MAX 128
#define SCAN_SPORT_SPAN 4096 /* source ports a run uses */

/* What a module needs to build and check probes (one per run, read-only). */
struct scan_probe_ctx {
    struct siphash_key key;
    uint8_t src_mac[6], gw_mac[6];
    struct ipaddr src4, src6; /* src6 all-zero: no IPv6 */
    uint16_t sport_base;      /* derived from the key: sport_base .. +SCAN_SPORT_SPAN-1 */
    uint8_t ttl;
    uint32_t pre[4]; /* what the module's init precomputed (partial checksums) */
};

/* A validated reply, with ZMap's fields. */
struct scan_reply {
    struct ipaddr saddr, daddr; /* the target, and us */
    uint16_t sport, dport;      /* the target's port, and ours */
    uint32_t seqnum, acknum;
    uint16_t window;
    uint8_t ttl;
    bool success;               /* SYN-ACK */
    const char *classification; /* "synack" or "rst" */
};

struct scan_module {
    const char *name, *help;
    /* Precomputes into c->pre once a run (may be NULL). */
    void (*init)(struct scan_probe_ctx *c);
    /* Writes what every IPv4 probe shares into f, once per buffer (may be NULL);
     * make_fast then fills in only what differs per target. */
    void (*prepare4)(const struct scan_probe_ctx *c, uint8_t *f);
    size_t (*make_fast4)(const struct scan_probe_ctx *c, uint8_t *f, uint32_t dst, uint16_t dport,
                         uint16_t ip_id);
    /* Builds the probe to (dst, dport) into f whole; its length. */
    size_t (*make)(const struct scan_probe_ctx *c, uint8_t *f, const struct ipaddr *dst,
                   uint16_t dport, uint16_t ip_id);
    /* 1 when the Ethernet frame f[0..n) is a valid reply (filled in), else 0. */
    int (*validate)(const struct scan_probe_ctx *c, const uint8_t *f, size_t n,
                    struct scan_reply *out);
};

extern const struct scan_module scan_mod_tcp_syn;
extern const struct scan_module *const scan_modules[]; /* NULL-terminated */
const struct scan_module *scan_module_find(const char *name);

/* The key's source port base, and a probe's cookie (shared by every TCP module). */
uint16_t scan_sport_base(const struct siphash_key *k);
uint64_t scan_cookie(const struct siphash_key *k, const struct ipaddr *src,
                     const struct ipaddr *dst, uint16_t dport);

#endif
