/* evpack — per-source events as packed fixed-size records.
 *
 * One SQLite row per source per event window cost the writer 2.4-2.9 CPU-s
 * for the 1.15M sources of 10M packets (text formatting, binding, a B-tree
 * insert into two indexes per row).  A record is instead 88 bytes, little
 * endian, written straight into a block buffer:
 *
 *    0 ip[16]        network order, IPv4 as ::ffff:a.b.c.d (memcmp = address order)
 *   16 first_us i64  24 last_us i64    packet times, µs since the epoch
 *   32 packets u64   40 bytes u64
 *   48 ports u16[8]  the first distinct destination ports, in order seen
 *   64 asn u32       (0: unknown)
 *   68 lat f32       72 lon f32         (meaningful when flags bit 6 is set)
 *   76 cc[2]         ISO country code ("\0\0": unknown)
 *   78 flags u8      bits 0-3 ports used, bit 6 located, bit 7 more ports seen
 *   79 fpmask u8     bit per enum fingerprint
 *   80 clsmask u8    bit per enum pkt_class
 *   81 reserved[7]   zero
 *
 * 64 bytes would need 32-bit counters or times relative to the window (an
 * event window may be any length); 88 keeps every field as wide as the row
 * it replaces.  Records of a window are sorted by address (IPv4 by an LSD
 * radix sort over the address bytes that differ, the few IPv6 by qsort, then
 * merged where ::ffff:0:0/96 falls in IPv6 order) so that a
 * block holds one address range and a reader finds one address by binary
 * search inside the few blocks whose range holds it. */
#include "evpack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(FP_COUNT <= 8 && CLS_COUNT <= 8, "fingerprint and class masks fit a byte");

static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void putf(uint8_t *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put32(p, v);
}

static inline float getf(const uint8_t *p)
{
    uint32_t v = get32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

void ev_pack(uint8_t out[EV_RECORD], const struct src_row *r)
{
    memcpy(out, r->ip.b, 16);
    put64(out + 16, (uint64_t)r->first_us);
    put64(out + 24, (uint64_t)r->last_us);
    put64(out + 32, r->packets);
    put64(out + 40, r->bytes);
    uint8_t np = r->nports > 8 ? 8 : r->nports;
    for (int i = 0; i < 8; i++) {
        uint16_t p = i < np ? r->ports[i] : 0;
        out[48 + 2 * i] = (uint8_t)p;
        out[49 + 2 * i] = (uint8_t)(p >> 8);
    }
    put32(out + 64, r->asn);
    putf(out + 68, r->has_loc ? r->lat : 0);
    putf(out + 72, r->has_loc ? r->lon : 0);
    out[76] = (uint8_t)r->cc[0];
    out[77] = r->cc[0] ? (uint8_t)r->cc[1] : 0;
    out[78] = (uint8_t)(np | (r->has_loc ? 0x40 : 0) | (r->more_ports ? 0x80 : 0));
    out[79] = r->fpmask;
    out[80] = r->clsmask;
    memset(out + 81, 0, EV_RECORD - 81);
}

void ev_unpack(const uint8_t in[EV_RECORD], struct src_row *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->ip.b, in, 16);
    r->first_us = (int64_t)get64(in + 16);
    r->last_us = (int64_t)get64(in + 24);
    r->packets = get64(in + 32);
    r->bytes = get64(in + 40);
    r->nports = in[78] & 0x0f;
    if (r->nports > 8) r->nports = 8; /* a hand-made blob may say anything */
    for (int i = 0; i < r->nports; i++)
        r->ports[i] = (uint16_t)(in[48 + 2 * i] | in[49 + 2 * i] << 8);
    r->asn = get32(in + 64);
    r->has_loc = (in[78] & 0x40) != 0;
    if (r->has_loc) {
        r->lat = getf(in + 68);
        r->lon = getf(in + 72);
    }
    r->more_ports = (in[78] & 0x80) != 0;
    r->cc[0] = (char)in[76];
    r->cc[1] = in[76] ? (char)in[77] : 0;
    r->fpmask = in[79];
    r->clsmask = in[80];
}

/* IPv4 sources (most of them): a stable LSD radix sort of (address << 32 |
 * input index) on the address bytes that differ, 8 bytes moved per pass. */
static void sort_v4(uint64_t *a, uint64_t *tmp, size_t n)
{
    size_t count[4][256] = {{0}};
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 4; d++)
            count[d][(a[i] >> (32 + 8 * d)) & 0xff]++;
    for (int d = 0; d < 4; d++) {
        size_t *c = count[d], sum = 0;
        int shift = 32 + 8 * d;
        if (c[(a[0] >> shift) & 0xff] == n) continue; /* every address has this byte */
        for (int v = 0; v < 256; v++) {
            size_t t = c[v];
            c[v] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++)
            tmp[c[(a[i] >> shift) & 0xff]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* IPv6 sources (few): compared whole, then by input index (stable). */
static int by_v6(const void *x, const void *y, void *ctx)
{
    const struct src_row *rows = ctx;
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    int c = memcmp(rows[i].ip.b, rows[j].ip.b, 16);
    return c ? c : (i > j) - (i < j);
}

uint32_t *ev_order(const struct src_row *rows, size_t n)
{
    size_t m = n ? n : 1, n4 = 0, n6 = 0;
    uint32_t *order = malloc(m * sizeof *order), *v6 = malloc(m * sizeof *v6);
    uint64_t *v4 = malloc(m * sizeof *v4), *tmp = malloc(m * sizeof *tmp);
    if (!order || !v6 || !v4 || !tmp) {
        free(order);
        order = NULL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (ip_is_v4(&rows[i].ip))
            v4[n4++] = (uint64_t)ip_v4(&rows[i].ip) << 32 | i;
        else
            v6[n6++] = (uint32_t)i;
    }
    if (n4) sort_v4(v4, tmp, n4);
    qsort_r(v6, n6, sizeof *v6, by_v6, (void *)rows);
    /* ::ffff:0.0.0.0/96 sits inside the IPv6 order: the addresses below it first */
    static const uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff};
    size_t below = 0, o = 0;
    while (below < n6 && memcmp(rows[v6[below]].ip.b, mapped, 16) < 0)
        below++;
    for (size_t i = 0; i < below; i++)
        order[o++] = v6[i];
    for (size_t i = 0; i < n4; i++)
        order[o++] = (uint32_t)v4[i];
    for (size_t i = below; i < n6; i++)
        order[o++] = v6[i];
out:
    free(v6);
    free(v4);
    free(tmp);
    return order;
}

long ev_lower_bound(size_t n, const uint8_t ip[16], int (*read)(void *ctx, size_t i, uint8_t *buf),
                    void *ctx)
{
    size_t lo = 0, hi = n;
    uint8_t rec[EV_RECORD];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (read(ctx, mid, rec) < 0) return -1;
        if (memcmp(ev_ip(rec), ip, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo;
}

void ev_ports_text(const struct src_row *r, char *out, size_t n)
{
    size_t o = 0; /* at most 8 ports of 5 digits and commas: 48 bytes */
    for (uint8_t i = 0; i < r->nports && i < 8 && o + 7 < n; i++) {
        if (i) out[o++] = ',';
        char d[6];
        int k = 0;
        unsigned v = r->ports[i];
        do
            d[k++] = (char)('0' + v % 10);
        while ((v /= 10));
        while (k)
            out[o++] = d[--k];
    }
    out[o] = 0;
}

void ev_mask_text(uint8_t mask, int count, const char *(*name)(int), char *out, size_t n)
{
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < count && o < n; i++)
        if (mask & (1u << i)) o += (size_t)snprintf(out + o, n - o, "%s%s", o ? "," : "", name(i));
}

const char *ev_fp_name(int i)
{
    return fingerprint_name((enum fingerprint)i);
}

const char *ev_class_name(int i)
{
    return class_name((enum pkt_class)i);
}

void ev_ports_parse(const char *s, struct src_row *r)
{
    r->nports = 0;
    r->more_ports = 0;
    while (s && *s) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s) break;
        if (v <= 65535 && r->nports < 8)
            r->ports[r->nports++] = (uint16_t)v;
        else if (v <= 65535)
            r->more_ports = 1;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') break;
    }
}

uint8_t ev_mask_parse(const char *s, int count, const char *(*name)(int))
{
    uint8_t mask = 0;
    while (s && *s) {
        size_t n = strcspn(s, ",");
        for (int i = 0; i < count; i++)
            if (strlen(name(i)) == n && memcmp(name(i), s, n) == 0) mask |= (uint8_t)(1u << i);
        s += n + (s[n] == ',');
    }
    return mask;
}
