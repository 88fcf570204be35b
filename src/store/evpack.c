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
 * it replaces.  Records of a window are sorted by address (an LSD radix sort
 * over the key bytes that differ: for IPv4 only the last four) so that a
 * block holds one address range and a reader finds one address by binary
 * search inside the few blocks whose range holds it. */
#include "evpack.h"

#include <stdbool.h>
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

struct key {
    uint64_t k;
    uint32_t idx;
};

static uint64_t half(const struct src_row *r, int hi)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | r->ip.b[(hi ? 0 : 8) + i];
    return v;
}

/* Stable LSD radix sort of a[0..n) on k, one pass per byte that differs;
 * the passes alternate between a and tmp: returns the one holding the result. */
static struct key *radix(struct key *a, struct key *tmp, size_t n)
{
    static const size_t zero[8][256];
    size_t(*count)[256] = malloc(sizeof zero);
    if (!count) return NULL;
    memset(count, 0, sizeof zero);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            count[b][(a[i].k >> (8 * b)) & 0xff]++;
    for (int b = 0; b < 8; b++) {
        size_t *c = count[b], sum = 0;
        if (c[(a[0].k >> (8 * b)) & 0xff] == n) continue; /* every key has this byte */
        for (int v = 0; v < 256; v++) {
            size_t t = c[v];
            c[v] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++)
            tmp[c[(a[i].k >> (8 * b)) & 0xff]++] = a[i];
        struct key *t = a;
        a = tmp;
        tmp = t;
    }
    free(count);
    return a;
}

uint32_t *ev_order(const struct src_row *rows, size_t n)
{
    size_t m = n ? n : 1;
    uint32_t *order = malloc(m * sizeof *order);
    uint64_t *hi = malloc(m * sizeof *hi);
    struct key *a = malloc(m * sizeof *a), *tmp = malloc(m * sizeof *tmp), *s = a;
    bool mixed = false; /* the high halves differ (IPv6, or IPv4 with IPv6) */
    if (order && hi && a && tmp) {
        for (size_t i = 0; i < n; i++) { /* rows read once, in order */
            a[i] = (struct key){half(&rows[i], 0), (uint32_t)i};
            hi[i] = half(&rows[i], 1);
            mixed |= hi[i] != hi[0];
        }
        s = n ? radix(a, tmp, n) : a;
    }
    if (s && mixed) { /* then by the high half, keeping the low half's order */
        struct key *other = s == a ? tmp : a;
        for (size_t i = 0; i < n; i++) {
            if (i + 16 < n) __builtin_prefetch(&hi[s[i + 16].idx]);
            s[i].k = hi[s[i].idx];
        }
        s = radix(s, other, n);
    }
    if (s)
        for (size_t i = 0; i < n; i++)
            order[i] = s[i].idx;
    free(hi);
    free(a);
    free(tmp);
    if (!s) {
        free(order);
        return NULL;
    }
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
