/* siphash — SipHash-2-4 (Aumasson and Bernstein, 2012), a fast keyed PRF.
 *
 * The scanner's probe cookie: with a per-run random 128-bit key, nobody who
 * has not seen the key can forge a reply that validates, and a reply
 * validates with no per-probe state.  The reference vectors of the paper are
 * checked by the unit tests. */
#ifndef MAMORI_SIPHASH_H
#define MAMORI_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
    uint64_t k0, k1;
};

uint64_t siphash24(const struct siphash_key *k, const void *msg, size_t n);
/* The key from 16 bytes, little-endian halves as in the paper. */
void siphash_key_from_bytes(struct siphash_key *k, const uint8_t b[16]);

#endif
