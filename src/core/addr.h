/* addr — IP addresses and prefix sets.
 *
 * Every address is 16 bytes; IPv4 lives in its IPv4-mapped form (::ffff:a.b.c.d)
 * so one hash, one table and one prefix test serve both families.  Prefix
 * lengths are stored on the 128-bit scale (an IPv4 /24 is /120).  A prefix set
 * is a small array scanned linearly: darknets and blocklists hold tens of
 * prefixes, and a linear scan of a few cache lines beats a trie at that size. */
#ifndef MAMORI_ADDR_H
#define MAMORI_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define IP_STRLEN 46

struct ipaddr {
    uint8_t b[16];
};

/* Inline: the darknet test calls it for every packet. */
static inline bool ip_is_v4(const struct ipaddr *a)
{
    uint64_t hi;
    uint32_t mid;
    __builtin_memcpy(&hi, a->b, 8);
    __builtin_memcpy(&mid, a->b + 8, 4);
    return hi == 0 && mid == __builtin_bswap32(0x0000ffffu);
}
uint32_t ip_v4(const struct ipaddr *a); /* host byte order */
void ip_from_v4(struct ipaddr *a, uint32_t host_order);
void ip_from_v6(struct ipaddr *a, const uint8_t b[16]);
int ip_parse(const char *s, struct ipaddr *out);
const char *ip_format(const struct ipaddr *a, char buf[IP_STRLEN]);
/* Inline: every packet hashes its addresses a few times, and a call per mix
 * was ~5% of a shard's instructions. */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t ip_hash(const struct ipaddr *a, uint64_t seed)
{
    uint64_t hi, lo;
    memcpy(&hi, a->b, 8);
    memcpy(&lo, a->b + 8, 8);
    /* an IPv4 address (::ffff:a.b.c.d) has hi == 0: with a constant seed its
     * inner mix is a constant, one mix per address instead of two */
    uint64_t k = hi ? hash_mix64(hi ^ seed ^ 0x9e3779b97f4a7c15ULL)
                    : hash_mix64(seed ^ 0x9e3779b97f4a7c15ULL);
    return hash_mix64(lo ^ k);
}

struct pfx {
    struct ipaddr net;
    uint8_t len; /* 0..128, IPv4 prefixes are 96 + len */
    uint8_t v4;  /* an IPv4 prefix: matches IPv4 addresses only, and v6 ones never match it */
};

struct pfx_set {
    struct pfx *v;
    size_t n, cap;
};

int pfx_parse(const char *s, struct pfx *out);
const char *pfx_format(const struct pfx *p, char *buf, size_t n);
bool pfx_contains(const struct pfx *p, const struct ipaddr *a);
int pfx_set_add(struct pfx_set *s, const struct pfx *p);
/* Parse "CIDR[,CIDR...]"; on error names the offending element. */
int pfx_set_parse_list(struct pfx_set *s, const char *list);
bool pfx_set_contains(const struct pfx_set *s, const struct ipaddr *a);
/* Adds the IANA special-purpose ranges (RFC 6890 registries): never scanned,
 * never used as synthetic public sources. */
int pfx_set_add_special(struct pfx_set *s);
void pfx_set_free(struct pfx_set *s);

#endif
