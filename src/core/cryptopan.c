/* cryptopan — Crypto-PAn with AES-128 through OpenSSL's EVP (see cryptopan.h).
 *
 * Bit i of the output is bit i of the input XOR the first bit of
 * AES(prefix_i(addr) | pad), where the pad is AES(key[16..31]) and supplies
 * every bit after the prefix (IPv6: the same over 128 bits, which makes an
 * IPv6 address whose top 32 bits equal an IPv4 address share its first 32
 * flips).  The 32 (or 128) AES inputs of one address do not depend on each
 * other, so they go to OpenSSL as one ECB call: AES-NI pipelines them, and
 * EVP's per-call cost is paid once per address, not once per bit.
 *
 * Prefix cache: the flips of the first 16 bits depend on the top 16 bits
 * only, so they are computed once per key for all 65536 prefixes (65535 AES
 * blocks, ~1 ms) into flip16[].  Bits 16..23 are cached per /16 once it is
 * hot (HOT16 recent addresses; counts halve every 65536 addresses, see
 * age()): the 255 AES blocks of that /16's subtree give the flips of its
 * 256 /24s (256 bytes; at most 16 MiB when every /16 is hot), so an address
 * of a hot /16 costs 8 AES blocks, another one 16 (instead of 32); and a
 * hot /24 gets the flips of its low byte for all its 256 addresses (255
 * blocks; 65536 /24s at most, direct-mapped), so its addresses cost no AES
 * at all — a telescope's sources and destinations cluster so.  Uniformly
 * random addresses never get hot, so they neither pay for tables they
 * would not reuse nor touch the tables' memory (cache misses cost more
 * than the 16 AES blocks they would save).
 * A struct cpan is not shared between threads (its cipher context and its
 * tables are its own). */
#include "cryptopan.h"
#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANY_CHUNK 16
#define HOT16 16          /* recent addresses before a /16 gets its table (see age()) */
#define HOT24 16          /* and before a /24 does */
#define STEAL 256         /* lookups of a slot's other /24s before they take it over */
#define AGE_EVERY 65536u  /* addresses between two halvings of the counts */
#define BUILT 255
#define H24_SLOTS 65536
_Static_assert(HOT16 < BUILT && HOT24 < BUILT, "a count must never reach the BUILT mark");
_Static_assert(H24_SLOTS == 65536, "age() and the slot hash (>> 16) assume 65536 slots");

struct cpan {
    EVP_CIPHER_CTX *ctx;
    uint8_t key[32];
    uint8_t pad[16];
    uint32_t pad32; /* the pad's first 32 bits, host order */
    uint16_t flip16[65536];
    /* cpan_ipv4_many's AES inputs, the pad's last 12 bytes already in every
     * block (only the first 4 differ), and its outputs */
    uint8_t blk[MANY_CHUNK * 16 * 16], res[MANY_CHUNK * 16 * 16];
    uint8_t *flip24[65536]; /* per /16: the flips of bits 16..23 of its 256 /24s, or NULL */
    uint8_t seen16[65536];    /* recent addresses of each /16, or BUILT (age()) */
    uint8_t seen24[H24_SLOTS]; /* recent addresses of each h24 slot, or BUILT */
    uint32_t ticks;            /* addresses since the counts last halved */
    /* hot /24s (direct-mapped by a hash of the /24): once one has been seen
     * HOT24 times, the flips of bits 24..31 of its 256 addresses (255 AES
     * blocks), so its addresses need no AES at all */
    struct {
        uint32_t tag;    /* the /24 + 1, 0: empty */
        uint32_t misses; /* lookups of other /24s since this one's last */
        uint32_t hi; /* with low: the flips of bits 0..23 in place */
        uint8_t *low;
    } h24[H24_SLOTS];
};

/* n blocks in, n blocks out, one EVP call. */
static void aes_blocks(struct cpan *c, const uint8_t *in, uint8_t *out, size_t n)
{
    int len = 0;
    /* cannot fail for ECB without padding on a whole number of blocks */
    (void)EVP_EncryptUpdate(c->ctx, out, &len, in, (int)(n * 16));
}

static inline uint32_t mask32(int i)
{
    return i == 0 ? 0 : ~0u << (32 - i);
}

/* The AES input for bit i (0..31) of an IPv4 address. */
static inline void block_v4(const struct cpan *c, uint32_t a, int i, uint8_t *b)
{
    uint32_t w = htonl((a & mask32(i)) | (c->pad32 & ~mask32(i)));
    memcpy(b, &w, 4);
    memcpy(b + 4, c->pad + 4, 12);
}

static int build_flip16(struct cpan *c)
{
    /* node bits: prefix length i (0..15), prefix value q < 2^i, at index 2^i - 1 + q */
    uint8_t *bits = calloc(65535, 1);
    uint8_t *in = malloc(4096 * 16), *out = malloc(4096 * 16);
    if (!bits || !in || !out) {
        free(bits), free(in), free(out);
        return err_set(-ENOMEM, "cryptopan: out of memory");
    }
    for (int i = 0; i < 16; i++) {
        uint32_t count = 1u << i;
        for (uint32_t q0 = 0; q0 < count; q0 += 4096) {
            uint32_t k = count - q0 < 4096 ? count - q0 : 4096;
            for (uint32_t j = 0; j < k; j++)
                block_v4(c, i ? (q0 + j) << (32 - i) : 0, i, in + j * 16);
            aes_blocks(c, in, out, k);
            for (uint32_t j = 0; j < k; j++)
                bits[count - 1 + q0 + j] = out[j * 16] >> 7;
        }
    }
    for (uint32_t p = 0; p < 65536; p++) {
        uint16_t f = 0;
        for (int i = 0; i < 16; i++)
            f |= (uint16_t)(bits[(1u << i) - 1 + (p >> (16 - i))] << (15 - i));
        c->flip16[p] = f;
    }
    free(bits), free(in), free(out);
    return 0;
}

struct cpan *cpan_new(const uint8_t key[32])
{
    struct cpan *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(-ENOMEM, "cryptopan: out of memory");
        return NULL;
    }
    memcpy(c->key, key, 32);
    c->ctx = EVP_CIPHER_CTX_new();
    if (!c->ctx || EVP_EncryptInit_ex(c->ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(c->ctx, 0) != 1) {
        err_set(-EIO, "cryptopan: OpenSSL cannot set up AES-128");
        cpan_free(c);
        return NULL;
    }
    aes_blocks(c, key + 16, c->pad, 1);
    uint32_t w;
    memcpy(&w, c->pad, 4);
    c->pad32 = ntohl(w);
    for (size_t i = 0; i < sizeof c->blk; i += 16)
        memcpy(c->blk + i, c->pad, 16);
    if (build_flip16(c) < 0) {
        cpan_free(c);
        return NULL;
    }
    return c;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* 32 raw bytes, or 64 hex digits and at most one line end. */
static int parse_key(const uint8_t *buf, size_t n, uint8_t key[32])
{
    if (n == 32) {
        memcpy(key, buf, 32);
        return 0;
    }
    size_t end = n;
    if (end && buf[end - 1] == '\n') end--;
    if (end && buf[end - 1] == '\r') end--;
    if (end != 64) return -EINVAL;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
        if (hi < 0 || lo < 0) return -EINVAL;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

struct cpan *cpan_load(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(-errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077)) { /* the key undoes the anonymization */
        err_set(-EPERM, "%s: key file readable by others (mode %04o; chmod 600 it)", path,
                (unsigned)(st.st_mode & 07777));
        close(fd);
        return NULL;
    }
    uint8_t buf[80];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf && (r = read(fd, buf + n, sizeof buf - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            err_set(-errno, "%s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        n += (size_t)r;
    }
    close(fd);
    uint8_t key[32];
    int hex32 = n == 32;
    for (size_t i = 0; i < n && hex32; i++)
        hex32 = hexval(buf[i]) >= 0;
    int bad = n >= sizeof buf || hex32 || parse_key(buf, n, key) < 0;
    memset(buf, 0, sizeof buf);
    if (bad) {
        err_set(-EINVAL, "%s: not a Crypto-PAn key (32 raw bytes or 64 hex digits expected%s)",
                path, hex32 ? "; this is 32 hex digits, a 128-bit key" : "");
        return NULL;
    }
    struct cpan *c = cpan_new(key);
    memset(key, 0, sizeof key);
    return c;
}

int cpan_new_key_file(const char *path)
{
    uint8_t key[32];
    size_t got = 0;
    while (got < sizeof key) {
        ssize_t r = getrandom(key + got, sizeof key - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return err_set(-errno, "getrandom: %s", strerror(errno));
        }
        got += (size_t)r;
    }
    char hex[66];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    hex[64] = '\n';
    memset(key, 0, sizeof key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return err_set(-errno, "%s: %s", path, strerror(errno));
    int rc = 0;
    if (write(fd, hex, 65) != 65 || fsync(fd) < 0)
        rc = err_set(-EIO, "%s: cannot write the key: %s", path, strerror(errno));
    if (close(fd) < 0 && !rc) rc = err_set(-EIO, "%s: %s", path, strerror(errno));
    if (rc) unlink(path);
    memset(hex, 0, sizeof hex);
    return rc;
}

void cpan_free(struct cpan *c)
{
    if (!c) return;
    EVP_CIPHER_CTX_free(c->ctx);
    for (int i = 0; i < 65536; i++)
        free(c->flip24[i]);
    for (int i = 0; i < H24_SLOTS; i++)
        free(c->h24[i].low);
    memset(c->key, 0, sizeof c->key);
    free(c);
}

/* Heat: seen16[] counts the addresses of each /16, seen24[] those of each
 * h24 slot; every AGE_EVERY addresses all counts halve, so a count is a
 * recent rate, not a total: a telescope's /16s and /24s come back often
 * enough to get tables, uniformly random addresses (each /16 about once per
 * 65536) never do, and never touch the tables' memory.  BUILT marks a /16
 * whose table exists, or a slot that holds a /24's. */
static void age(struct cpan *c)
{
    if (++c->ticks & (AGE_EVERY - 1)) return;
    for (size_t i = 0; i < 65536; i++) {
        c->seen16[i] = c->seen16[i] == BUILT ? BUILT : c->seen16[i] >> 1;
        c->seen24[i] = c->seen24[i] == BUILT ? BUILT : c->seen24[i] >> 1;
    }
}

/* The /16's table of bits 16..23: 255 AES blocks (prefix lengths 16..23
 * under it) in one call; NULL when out of memory. */
static const uint8_t *build24(struct cpan *c, uint32_t a)
{
    uint8_t *t = malloc(256), *in = malloc(255 * 16), *out = malloc(255 * 16);
    if (!t || !in || !out) {
        free(t), free(in), free(out);
        return NULL;
    }
    uint32_t hi = a & 0xffff0000u;
    for (int i = 16, idx = 0; i < 24; i++)
        for (uint32_t q = 0; q < 1u << (i - 16); q++, idx++)
            block_v4(c, hi | (i > 16 ? q << (32 - i) : 0), i, in + idx * 16);
    aes_blocks(c, in, out, 255);
    for (uint32_t p = 0; p < 256; p++) { /* bits 16..23 of the address are p */
        uint8_t f = 0;
        for (int i = 16; i < 24; i++) {
            uint32_t node = (1u << (i - 16)) - 1 + (p >> (24 - i));
            f |= (uint8_t)((out[node * 16] >> 7) << (23 - i));
        }
        t[p] = f;
    }
    free(in), free(out);
    return c->flip24[a >> 16] = t;
}

/* Blocks for bits from..31 of a into b (whose last 12 bytes hold the pad
 * already); returns how many. */
static inline int blocks_low(const struct cpan *c, uint32_t a, int from, uint8_t *b)
{
    for (int i = from; i < 32; i++) {
        uint32_t w = htonl((a & mask32(i)) | (c->pad32 & ~mask32(i)));
        memcpy(b + (i - from) * 16, &w, 4);
    }
    return 32 - from;
}

static inline uint32_t flips_from(const uint8_t *out, int from)
{
    uint32_t f = 0;
    for (int i = from; i < 32; i++)
        f |= (uint32_t)(out[(i - from) * 16] >> 7) << (31 - i);
    return f;
}

/* The low byte's flips of a hot /24 into its slot (the 255 blocks of its
 * subtree; t24: its /16's table, for the flips above), replacing what the
 * slot held; NULL when out of memory. */
static const uint8_t *build_low(struct cpan *c, uint32_t a, uint32_t slot, const uint8_t *t24)
{
    uint8_t *t = malloc(256), *in = malloc(255 * 16), *out = malloc(255 * 16);
    if (!t || !in || !out) {
        free(t), free(in), free(out);
        return NULL;
    }
    uint32_t hi = a & 0xffffff00u;
    for (int i = 24, idx = 0; i < 32; i++)
        for (uint32_t q = 0; q < 1u << (i - 24); q++, idx++)
            block_v4(c, hi | (i > 24 ? q << (32 - i) : 0), i, in + idx * 16);
    aes_blocks(c, in, out, 255);
    for (uint32_t p = 0; p < 256; p++) {
        uint8_t f = 0;
        for (int i = 24; i < 32; i++) {
            uint32_t node = (1u << (i - 24)) - 1 + (p >> (32 - i));
            f |= (uint8_t)((out[node * 16] >> 7) << (31 - i));
        }
        t[p] = f;
    }
    free(in), free(out);
    free(c->h24[slot].low);
    c->h24[slot].tag = (a >> 8) + 1;
    c->h24[slot].misses = 0;
    c->h24[slot].hi = (uint32_t)c->flip16[a >> 16] << 16 | (uint32_t)t24[(a >> 8) & 255] << 8;
    return c->h24[slot].low = t;
}

/* The flips of a's bits that tables give, and from which bit AES must do
 * the rest (16, 24 or 32: none). */
static inline uint32_t cached_flips(struct cpan *c, uint32_t a, int *from)
{
    uint32_t net = a >> 8, slot = (net * 2654435761u) >> 16;
    age(c);
    if (c->seen24[slot] == BUILT) { /* a slot holding a /24's table: is it a's? */
        if (c->h24[slot].tag == net + 1) {
            c->h24[slot].misses = 0;
            *from = 32;
            return c->h24[slot].hi | c->h24[slot].low[a & 255];
        }
        c->h24[slot].misses++;
    }
    uint32_t f = (uint32_t)c->flip16[a >> 16] << 16;
    *from = 16;
    uint8_t *h16 = &c->seen16[a >> 16];
    const uint8_t *t = NULL;
    if (*h16 == BUILT)
        t = c->flip24[a >> 16];
    else if (++*h16 >= HOT16)
        *h16 = (t = build24(c, a)) ? BUILT : 0;
    if (!t) return f;
    f |= (uint32_t)t[net & 255] << 8;
    *from = 24;
    uint8_t *h = &c->seen24[slot];
    /* a slot another /24 holds changes hands when that one has gone quiet */
    bool take = *h == BUILT ? c->h24[slot].misses >= STEAL : ++*h >= HOT24;
    if (!take) return f;
    const uint8_t *low = build_low(c, a, slot, t);
    *h = low ? BUILT : 0;
    if (!low) return f;
    *from = 32;
    return f | low[a & 255];
}

void cpan_ipv4_many(struct cpan *c, const uint32_t *in, uint32_t *out, size_t n)
{
    uint8_t *blk = c->blk, *res = c->res;
    for (size_t base = 0; base < n; base += MANY_CHUNK) {
        size_t k = n - base < MANY_CHUNK ? n - base : MANY_CHUNK;
        int from[MANY_CHUNK];
        size_t nb = 0;
        uint32_t f[MANY_CHUNK];
        for (size_t j = 0; j < k; j++) {
            f[j] = cached_flips(c, in[base + j], &from[j]);
            nb += (size_t)blocks_low(c, in[base + j], from[j], blk + nb * 16);
        }
        if (nb) aes_blocks(c, blk, res, nb);
        nb = 0;
        for (size_t j = 0; j < k; j++) {
            out[base + j] = in[base + j] ^ f[j] ^ flips_from(res + nb * 16, from[j]);
            nb += (size_t)(32 - from[j]);
        }
    }
}

uint32_t cpan_ipv4(struct cpan *c, uint32_t addr)
{
    uint32_t out;
    cpan_ipv4_many(c, &addr, &out, 1);
    return out;
}

uint32_t cpan_ipv4_plain(struct cpan *c, uint32_t addr)
{
    uint32_t f = 0;
    uint8_t b[16], o[16];
    for (int i = 0; i < 32; i++) {
        block_v4(c, addr, i, b);
        aes_blocks(c, b, o, 1);
        f |= (uint32_t)(o[0] >> 7) << (31 - i);
    }
    return addr ^ f;
}

void cpan_ipv6(struct cpan *c, const uint8_t in[16], uint8_t out[16])
{
    uint8_t blk[112 * 16], res[112 * 16];
    for (int i = 16; i < 128; i++) {
        uint8_t *b = blk + (i - 16) * 16;
        int full = i / 8, rem = i % 8;
        memcpy(b, in, (size_t)full);
        memcpy(b + full, c->pad + full, (size_t)(16 - full));
        if (rem) {
            uint8_t m = (uint8_t)(0xff << (8 - rem));
            b[full] = (uint8_t)((in[full] & m) | (c->pad[full] & ~m));
        }
    }
    aes_blocks(c, blk, res, 112);
    uint8_t f[16] = {0};
    uint16_t top = c->flip16[in[0] << 8 | in[1]];
    f[0] = (uint8_t)(top >> 8);
    f[1] = (uint8_t)top;
    for (int i = 16; i < 128; i++)
        f[i / 8] |= (uint8_t)((res[(i - 16) * 16] >> 7) << (7 - i % 8));
    for (int i = 0; i < 16; i++)
        out[i] = in[i] ^ f[i];
}

int cpan_text(struct cpan *c, const char *in, char *out, size_t cap)
{
    uint8_t b[16];
    if (inet_pton(AF_INET, in, b) == 1) {
        uint32_t a;
        memcpy(&a, b, 4);
        a = htonl(cpan_ipv4(c, ntohl(a)));
        return inet_ntop(AF_INET, &a, out, (socklen_t)cap) ? 0 : -ENOSPC;
    }
    if (inet_pton(AF_INET6, in, b) == 1) {
        uint8_t o[16];
        cpan_ipv6(c, b, o);
        return inet_ntop(AF_INET6, o, out, (socklen_t)cap) ? 0 : -ENOSPC;
    }
    return -EINVAL;
}

void cpan_digest(struct cpan *c, const void *data, size_t n, uint8_t out[16])
{
    static const char label[] = "mamori-anon-id";
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(m, c->key, sizeof c->key) == 1 &&
        EVP_DigestUpdate(m, label, sizeof label) == 1 && EVP_DigestUpdate(m, data, n) == 1 &&
        EVP_DigestFinal_ex(m, md, &mdlen) == 1 && mdlen >= 16) {
        memcpy(out, md, 16);
    } else {
        /* OpenSSL out of memory: fall back to AES of a fold (still keyed) */
        uint8_t b[16] = {0};
        for (size_t i = 0; i < n; i++)
            b[i % 16] ^= ((const uint8_t *)data)[i];
        aes_blocks(c, b, out, 1);
    }
    EVP_MD_CTX_free(m);
}
