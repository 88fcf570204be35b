/* cryptopan — prefix-preserving address anonymization (Crypto-PAn; Xu, Fan,
 * Ammar, Moon 2002), IPv4 and IPv6, with one 32-byte key (owner: the
 * anonymization part).
 *
 * The key's first 16 bytes are the AES-128 key, the last 16 the pad (as the
 * original distribution).  Two addresses sharing a k-bit prefix map to two
 * sharing exactly a k-bit prefix; the same key always gives the same
 * mapping.  IPv6 extends the construction to 128 bits. */
#ifndef MAMORI_CRYPTOPAN_H
#define MAMORI_CRYPTOPAN_H

#include <stddef.h>
#include <stdint.h>

struct cpan;

#define CPAN_KEY_LEN 32

/* A 32-byte key. */
struct cpan *cpan_new(const uint8_t key[32]);
/* A key file: 32 raw bytes, or 64 hex digits (and a newline); NULL and an
 * error set.  Refused too: a file others may read (mode & 077: with the key
 * every address can be undone) and 32 bytes that are all hex digits (a
 * 128-bit key in hex, not 32 raw bytes). */
struct cpan *cpan_load(const char *path);
/* A fresh key from getrandom() written to path (mode 0600, never over an
 * existing file) as 64 hex digits and a newline: 0, or an error set. */
int cpan_new_key_file(const char *path);
void cpan_free(struct cpan *c);

/* Host byte order in and out. */
uint32_t cpan_ipv4(struct cpan *c, uint32_t addr);
/* n addresses at once (in and out may be the same array): fewer AES calls
 * through OpenSSL, the same results as cpan_ipv4 one by one. */
void cpan_ipv4_many(struct cpan *c, const uint32_t *in, uint32_t *out, size_t n);
/* The textbook construction (one AES call per bit, no cache): the baseline
 * bench/share measures against, and the unit test's cross-check. */
uint32_t cpan_ipv4_plain(struct cpan *c, uint32_t addr);
void cpan_ipv6(struct cpan *c, const uint8_t in[16], uint8_t out[16]);
/* An address as text ("192.0.2.1", "2001:db8::1") anonymized into out (>= 46
 * bytes): 0, or -EINVAL when it is not an address. */
int cpan_text(struct cpan *c, const char *in, char *out, size_t cap);
/* A keyed digest (16 bytes) of data: ids derived from anonymized values are
 * replaced by it, so they cannot be recomputed from the original values. */
void cpan_digest(struct cpan *c, const void *data, size_t n, uint8_t out[16]);

#endif
