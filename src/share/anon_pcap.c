/* anon_pcap — captures rewritten in place, block for block (anon.h).
 *
 * The file is walked here rather than through core/pcapfile: that reader
 * hands out read-only records (a mapping) with converted timestamps, and a
 * rewriter must give back every byte it does not change — the headers,
 * nanosecond times, pcapng options and unknown blocks.  Frames go through
 * pkt_network() (core/pkt.c's link layers) to the network header.
 *
 * Checksums are updated incrementally (RFC 1624: the old and new words of
 * what changed), never recomputed from the payload: that is exact whenever
 * the checksum field itself was captured, even when the snaplen cut the
 * payload, and a checksum that was wrong (offload, corruption) stays wrong
 * by the same amount instead of being made to look right.  A checksum whose
 * field lies beyond the captured bytes, or behind an IPv6 routing header
 * (its pseudo-header names the final hop, which is not rewritten), is left
 * and counted.  Rewritten: IPv4/IPv6 source and destination, IP-in-IP and
 * 6in4 inner headers, ICMP/ICMPv6 quoted headers (and their checksums),
 * NDP target addresses, ARP's IPv4 addresses, pcapng if_IPv4addr /
 * if_IPv6addr options.  pcapng name-resolution blocks (addresses and the
 * names they resolve to) are dropped.  Not rewritten: addresses inside
 * payloads (DNS answers, HTTP), IPv4 options, IPv6 routing headers. */
#include "anon.h"

#include "../core/err.h"
#include "../core/pcapfile.h"
#include "../core/pkt.h"

#include <errno.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') over the n bytes that changed
 * (starting at an even offset of what the checksum covers; an odd last byte
 * is the high half of a word, as the checksum pads it). */
static void csum_adjust(uint8_t *field, const uint8_t *old, const uint8_t *new, size_t n)
{
    uint32_t sum = (uint16_t)~rd16(field);
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (uint16_t)~rd16(old + i) + (uint32_t)rd16(new + i);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if (n & 1) sum += (uint16_t) ~(old[n - 1] << 8) + (uint32_t)(new[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    wr16(field, (uint16_t)~sum);
}

/* One address (4 or 16 bytes) in place; old keeps the original. */
static void anon_addr(struct anon *a, uint8_t *p, int len, uint8_t *old, int report)
{
    memcpy(old, p, (size_t)len);
    struct ipaddr ip;
    if (len == 4) {
        uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        ip_from_v4(&ip, v);
        v = cpan_ipv4(a->cpan, v);
        p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
        p[3] = (uint8_t)v;
    } else {
        ip_from_v6(&ip, p);
        uint8_t o[16];
        cpan_ipv6(a->cpan, p, o);
        memcpy(p, o, 16);
    }
    if (report && a->seen) a->seen(a->seen_arg, &ip);
}

/* An address of which only the first have bytes were captured: Crypto-PAn's
 * first k output bits depend on the first k input bits only, so those bytes
 * get exactly what the whole address would have got. */
static void anon_partial(struct anon *a, uint8_t *p, size_t len, size_t have)
{
    uint8_t t[16] = {0}, old[16];
    if (have == 0) return;
    memcpy(t, p, have);
    anon_addr(a, t, (int)len, old, 0);
    memcpy(p, t, have);
}

/* What changed in a header, for the checksums that cover it. */
struct delta {
    uint8_t old[64], new[64];
    size_t n;
};

static void delta_add(struct delta *d, const uint8_t *old, const uint8_t *new, size_t n)
{
    if (d->n + n > sizeof d->old) return; /* cannot happen: at most 2 x 16 + 2 x 2 bytes */
    memcpy(d->old + d->n, old, n);
    memcpy(d->new + d->n, new, n);
    d->n += n;
}

/* A transport checksum at p + at (n bytes captured from p) adjusted by d. */
static void l4_fix(struct anon *a, uint8_t *p, size_t n, size_t at, const struct delta *d, int udp,
                   int complete)
{
    if (at + 2 > n) {
        a->st.csums_left++;
        return;
    }
    if (udp && rd16(p + at) == 0) return; /* IPv4 UDP without a checksum */
    csum_adjust(p + at, d->old, d->new, d->n);
    if (udp && rd16(p + at) == 0) wr16(p + at, 0xffff);
    if (complete)
        a->st.l4_csums++;
    else
        a->st.l4_csums_truncated++;
}

static void ip_packet(struct anon *a, uint8_t *d, size_t n, int ver, int depth,
                      struct delta *outer);

#define QUOTE_MAX 2048

/* ICMP/ICMPv6 after the addresses: quoted datagrams (rewritten within their
 * first QUOTE_MAX bytes), NDP targets; then the message's checksum by what
 * changed in it (a snapshot's words against the new ones) and, for ICMPv6,
 * in the pseudo-header. */
static void icmp(struct anon *a, uint8_t *p, size_t n, int v6, struct delta *d, int depth)
{
    if (n < 8) return;
    uint8_t type = p[0], snap[QUOTE_MAX + 4];
    size_t m = n - 4 < QUOTE_MAX + 4 ? n - 4 : QUOTE_MAX + 4; /* from byte 4 on */
    memcpy(snap, p + 4, m);
    int err = v6 ? type >= 1 && type <= 4
                 : type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    int changed = 0;
    uint8_t old[16];
    if (!v6 && type == 5) { /* redirect: the gateway */
        anon_addr(a, p + 4, 4, old, 0);
        changed = 1;
    }
    if (err && m > 4 && depth < 2) {
        struct delta inner = {0};
        ip_packet(a, p + 8, m - 4, v6 ? 6 : 4, depth + 1, &inner);
        a->st.icmp_quoted++;
        changed = 1;
    } else if (v6 && (type == 135 || type == 136 || type == 137)) {
        for (size_t off = 8; off <= (type == 137 ? 24u : 8u); off += 16) {
            if (off + 16 > m + 4) break;
            anon_addr(a, p + off, 16, old, 0);
            a->st.ndp_targets++;
            changed = 1;
        }
    } else if (v6 && type == 134) { /* RA: prefix information and RDNSS options */
        for (size_t o = 16; o + 8 <= m + 4 && p[o + 1];) {
            size_t len = (size_t)p[o + 1] * 8;
            if (o + len > m + 4) break;
            if (p[o] == 3 && len == 32) { /* the prefix, its host bits kept zero */
                uint8_t pl = p[o + 2] > 128 ? 128 : p[o + 2];
                anon_addr(a, p + o + 16, 16, old, 0);
                for (int i = pl; i < 128; i++)
                    p[o + 16 + i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
                a->st.ndp_targets++;
                changed = 1;
            } else if (p[o] == 25 && len >= 24) { /* RDNSS: the servers' addresses */
                for (size_t k = o + 8; k + 16 <= o + len; k += 16)
                    anon_addr(a, p + k, 16, old, 0);
                a->st.ndp_targets++;
                changed = 1;
            }
            o += len;
        }
    }
    if (!changed && !v6) return; /* ICMPv4: no pseudo-header */
    if (v6) csum_adjust(p + 2, d->old, d->new, d->n);
    if (changed) csum_adjust(p + 2, snap, p + 4, m);
    a->st.l4_csums++;
}

static void transport(struct anon *a, uint8_t *p, size_t n, uint8_t proto, int v6, size_t full,
                      struct delta *d, int depth, int routed)
{
    if (proto == 4 || proto == 41) { /* IP in IP, 6in4 */
        if (depth < 2) {
            struct delta none = {0};
            ip_packet(a, p, n, proto == 4 ? 4 : 6, depth + 1, &none);
        }
        return;
    }
    struct delta src_only;
    if (routed) { /* the pseudo-header names the final hop (not rewritten): the source's change */
        src_only = *d;
        src_only.n = 16;
        d = &src_only;
        a->st.clear_left++; /* the routing header's addresses */
    }
    if (proto == 6)
        l4_fix(a, p, n, 16, d, 0, n >= full);
    else if (proto == 17)
        l4_fix(a, p, n, 6, d, !v6, n >= full);
    else if (proto == 1 && !v6)
        icmp(a, p, n, 0, d, depth);
    else if (proto == 58 && v6)
        icmp(a, p, n, 1, d, depth);
}

/* IPv4 options that carry addresses (record route, source routes, timestamps
 * with addresses): not rewritten (a source route changes the pseudo-header),
 * counted as addresses left in clear. */
static int ipv4_opts_with_addresses(const uint8_t *o, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (o[i] == 0) break;
        if (o[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n || o[i + 1] < 2) break;
        if (o[i] == 7 || o[i] == 131 || o[i] == 137 || (o[i] == 68 && i + 3 < n && (o[i + 3] & 15)))
            return 1;
        i += o[i + 1];
    }
    return 0;
}

/* A destination-options header holding a Home Address option (its address
 * is not rewritten): 1. */
static int dstopt_home(const uint8_t *h, size_t n)
{
    size_t len = ((size_t)h[1] + 1) * 8;
    for (size_t i = 2; i < len && i < n;) {
        if (h[i] == 0) {
            i++;
            continue;
        }
        if (h[i] == 201) return 1;
        if (i + 1 >= n) break;
        i += 2 + (size_t)h[i + 1];
    }
    return 0;
}

/* An IPv4/IPv6 datagram at d (n captured); the address changes are added to
 * outer (for the checksum of whatever quotes it). */
static void ip_packet(struct anon *a, uint8_t *d, size_t n, int ver, int depth, struct delta *outer)
{
    struct delta dl = {0};
    uint8_t old[16];
    int report = depth == 0;
    if (n < (ver == 4 ? 20u : 40u)) { /* cut inside the header: the captured address bytes */
        size_t at = ver == 4 ? 12 : 8, len = ver == 4 ? 4 : 16;
        for (int k = 0; k < 2; k++, at += len)
            if (n > at) anon_partial(a, d + at, len, n - at < len ? n - at : len);
        a->st.csums_left++;
        return;
    }
    if (ver == 4) {
        if (d[0] >> 4 != 4) return;
        size_t ihl = (size_t)(d[0] & 15) * 4, total = rd16(d + 2);
        anon_addr(a, d + 12, 4, old, report);
        delta_add(&dl, old, d + 12, 4);
        anon_addr(a, d + 16, 4, old, report);
        delta_add(&dl, old, d + 16, 4);
        csum_adjust(d + 10, dl.old, dl.new, dl.n);
        a->st.ipv4_csums++;
        delta_add(outer, dl.old, dl.new, dl.n);
        if (total == 0) total = n; /* TSO capture: the length was left to the NIC */
        if (ihl > 20 && ihl <= n) a->st.clear_left += ipv4_opts_with_addresses(d + 20, ihl - 20);
        if (ihl < 20 || ihl > n || total < ihl || (rd16(d + 6) & 0x1fff)) return;
        transport(a, d + ihl, (total < n ? total : n) - ihl, d[9], 0, total - ihl, &dl, depth, 0);
        return;
    }
    if (d[0] >> 4 != 6) return;
    anon_addr(a, d + 8, 16, old, report);
    delta_add(&dl, old, d + 8, 16);
    anon_addr(a, d + 24, 16, old, report);
    delta_add(&dl, old, d + 24, 16);
    delta_add(outer, dl.old, dl.new, dl.n);
    size_t full = 40 + (size_t)rd16(d + 4), end = full < n ? full : n, off = 40;
    uint8_t nh = d[6];
    int routed = 0;
    for (int hops = 0; hops < 8; hops++) {
        if (nh == 0 || nh == 43 || nh == 60) {
            if (off + 8 > end) return;
            if (nh == 43 && d[off + 3]) routed = 1; /* segments left */
            if (nh == 60) a->st.clear_left += dstopt_home(d + off, end - off);
            nh = d[off];
            off += ((size_t)d[off + 1] + 1) * 8;
        } else if (nh == 44) {
            if (off + 8 > end) return;
            if (rd16(d + off + 2) & 0xfff8) return; /* a later fragment */
            nh = d[off];
            off += 8;
        } else {
            break;
        }
    }
    if (off > end) return;
    transport(a, d + off, end - off, nh, 1, full - off, &dl, depth, routed);
}

static void arp(struct anon *a, uint8_t *p, size_t n)
{
    if (n < 8 || rd16(p + 2) != 0x0800 || p[5] != 4) return;
    size_t hl = p[4], spa = 8 + hl, tpa = spa + 4 + hl;
    uint8_t old[4];
    if (spa + 4 <= n) anon_addr(a, p + spa, 4, old, 1);
    if (tpa + 4 <= n) anon_addr(a, p + tpa, 4, old, 1);
    a->st.arp_packets++;
}

void anon_frame(struct anon *a, int dlt, uint8_t *d, size_t caplen)
{
    size_t off;
    int ver;
    uint16_t et;
    a->st.packets++;
    enum pkt_status st = pkt_network(dlt, d, caplen, &off, &ver, &et);
    if (st == PKT_OK) {
        struct delta none = {0};
        ip_packet(a, d + off, caplen - off, ver, 0, &none);
        a->st.ip_packets++;
    } else if (st == PKT_NON_IP && (et == 0x0806 || et == 0x8035) && off <= caplen) {
        arp(a, d + off, caplen - off);
    } else {
        a->st.non_ip++;
    }
}

/* ---- files ---- */

static inline uint32_t get32(const uint8_t *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

static inline uint16_t get16(const uint8_t *p, int swap)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return swap ? __builtin_bswap16(v) : v;
}

static int read_all(FILE *in, uint8_t *p, size_t n)
{
    return fread(p, 1, n, in) == n;
}

static int classic(struct anon *a, FILE *in, FILE *out, const char *name, const uint8_t *hdr,
                   int swap)
{
    uint8_t rh[16];
    uint8_t *buf = malloc(PCAPF_MAX_CAPLEN);
    int dlt = (int)(get32(hdr + 20, swap) & 0x0fffffff), rc = 0;
    uint64_t off = 24;
    if (!buf) return err_set(-ENOMEM, "%s: out of memory", name);
    if (fwrite(hdr, 1, 24, out) != 24) rc = err_set(-EIO, "writing: %s", strerror(errno));
    for (size_t got; !rc && (got = fread(rh, 1, 16, in)) > 0; off += 16) {
        uint32_t cap = get32(rh + 8, swap);
        if (got < 16 || cap > PCAPF_MAX_CAPLEN) {
            rc = err_set(-EINVAL, "%s: %s at byte %llu", name,
                         got < 16 ? "truncated record" : "record longer than 262144 bytes",
                         (unsigned long long)off);
            break;
        }
        if (!read_all(in, buf, cap)) {
            rc = err_set(-EINVAL, "%s: truncated record at byte %llu", name,
                         (unsigned long long)off);
            break;
        }
        off += cap;
        anon_frame(a, dlt, buf, cap);
        if (fwrite(rh, 1, 16, out) != 16 || fwrite(buf, 1, cap, out) != cap)
            rc = err_set(-EIO, "writing: %s", strerror(errno));
    }
    free(buf);
    return rc;
}

/* pcapng options of an IDB from o (n bytes): addresses rewritten. */
static void idb_options(struct anon *a, uint8_t *o, size_t n, int swap)
{
    for (size_t i = 0; i + 4 <= n;) {
        uint16_t code = get16(o + i, swap), len = get16(o + i + 2, swap);
        if (code == 0 || i + 4 + len > n) break;
        uint8_t old[16];
        if (code == 4 && len == 8) anon_addr(a, o + i + 4, 4, old, 0), a->st.idb_addresses++;
        if (code == 5 && len == 17) anon_addr(a, o + i + 4, 16, old, 0), a->st.idb_addresses++;
        i += 4 + (((size_t)len + 3) & ~(size_t)3);
    }
}

static int pcapng(struct anon *a, FILE *in, FILE *out, const char *name, const uint8_t *first)
{
    uint8_t *b = NULL;
    size_t cap = 0;
    int swap = 0, rc = 0, ndlt = 0;
    int dlts[256];
    uint32_t snap0 = 0;
    uint64_t off = 0;
    uint8_t h[8];
    memcpy(h, first, 8);
    for (int firstblk = 1;; firstblk = 0) {
        if (!firstblk) {
            size_t got = fread(h, 1, 8, in);
            if (got == 0) break;
            if (got < 8) {
                rc = err_set(-EINVAL, "%s: truncated block at byte %llu", name,
                             (unsigned long long)off);
                break;
            }
        }
        uint32_t type = get32(h, 0);
        if (type == 0x0A0D0D0A) { /* the section's byte order, from its magic */
            uint8_t m[4];
            if (!read_all(in, m, 4)) {
                rc = err_set(-EINVAL, "%s: truncated section header", name);
                break;
            }
            uint32_t bom;
            memcpy(&bom, m, 4);
            if (bom != 0x1A2B3C4D && bom != 0x4D3C2B1A) {
                rc = err_set(-EINVAL, "%s: bad byte-order magic at byte %llu", name,
                             (unsigned long long)off);
                break;
            }
            swap = bom == 0x4D3C2B1A;
            ndlt = 0;
            if (cap < 12) {
                free(b);
                b = malloc(cap = 65536);
                if (!b) {
                    rc = err_set(-ENOMEM, "%s: out of memory", name);
                    break;
                }
            }
            memcpy(b, h, 8);
            memcpy(b + 8, m, 4);
        } else {
            type = get32(h, swap);
        }
        uint32_t len = get32(h + 4, swap);
        if (len < 12 || len % 4 || len > PCAPF_MAX_BLOCK) {
            rc = err_set(-EINVAL, "%s: bad block length %u at byte %llu", name, len,
                         (unsigned long long)off);
            break;
        }
        if (len > cap) {
            uint8_t *nb = realloc(b, len);
            if (!nb) {
                rc = err_set(-ENOMEM, "%s: out of memory", name);
                break;
            }
            b = nb, cap = len;
        }
        memcpy(b, h, 8);
        size_t have = type == 0x0A0D0D0A ? 12 : 8;
        if (!read_all(in, b + have, len - have)) {
            rc =
                err_set(-EINVAL, "%s: truncated block at byte %llu", name, (unsigned long long)off);
            break;
        }
        off += len;
        if (type == 1 && len >= 20) { /* IDB */
            if (ndlt < 256) dlts[ndlt++] = get16(b + 8, swap);
            if (ndlt == 1) snap0 = get32(b + 12, swap);
            idb_options(a, b + 16, len - 20, swap);
        } else if (type == 6 && len >= 32) { /* EPB */
            uint32_t ifc = get32(b + 8, swap), cl = get32(b + 20, swap);
            if (ifc < (uint32_t)ndlt && cl <= len - 32) anon_frame(a, dlts[ifc], b + 28, cl);
        } else if (type == 3 && len >= 16 && ndlt) { /* SPB: caplen from the block and snaplen */
            uint32_t cl = get32(b + 8, swap);
            if (cl > len - 16) cl = len - 16;
            if (snap0 && cl > snap0) cl = snap0;
            anon_frame(a, dlts[0], b + 12, cl);
        } else if (type == 2 && len >= 32) { /* obsolete PB */
            uint32_t ifc = get16(b + 8, swap), cl = get32(b + 20, swap);
            if (ifc < (uint32_t)ndlt && cl <= len - 32) anon_frame(a, dlts[ifc], b + 28, cl);
        } else if (type == 4) { /* NRB: addresses and their names */
            a->st.nrb_dropped++;
            continue;
        }
        if (fwrite(b, 1, len, out) != len) {
            rc = err_set(-EIO, "writing: %s", strerror(errno));
            break;
        }
    }
    free(b);
    return rc;
}

int anon_pcap(struct anon *a, FILE *in, FILE *out, const char *name)
{
    uint8_t hdr[24];
    if (!read_all(in, hdr, 8)) return err_set(-EINVAL, "%s: not a capture (too short)", name);
    uint32_t m;
    memcpy(&m, hdr, 4);
    if (m == 0x0A0D0D0A) return pcapng(a, in, out, name, hdr);
    int swap = m == 0xd4c3b2a1 || m == 0x4d3cb2a1;
    if (!swap && m != 0xa1b2c3d4 && m != 0xa1b23c4d)
        return err_set(-EINVAL, "%s: not a pcap or pcapng file", name);
    if (!read_all(in, hdr + 8, 16)) return err_set(-EINVAL, "%s: truncated file header", name);
    return classic(a, in, out, name, hdr, swap);
}
