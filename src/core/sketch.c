/* sketch — exact set then HyperLogLog (see sketch.h). */
#include "sketch.h"
#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define Q (64 - SKETCH_P)

void sketch_init(struct sketch *s)
{
    memset(s, 0, sizeof *s);
}

void sketch_free(struct sketch *s)
{
    free(s->set);
    free(s->reg);
    sketch_init(s);
}

int sketch_copy(struct sketch *dst, const struct sketch *src)
{
    *dst = *src; /* the same slots, not a re-insert: an exact blob lists them in slot order */
    dst->set = NULL;
    dst->reg = NULL;
    if (src->set && !(dst->set = malloc((size_t)src->cap * sizeof *src->set))) goto oom;
    if (src->set) memcpy(dst->set, src->set, (size_t)src->cap * sizeof *src->set);
    if (src->reg && !(dst->reg = malloc(SKETCH_M))) goto oom;
    if (src->reg) memcpy(dst->reg, src->reg, SKETCH_M);
    return 0;
oom:
    sketch_free(dst);
    return err_set(-ENOMEM, "sketch: out of memory");
}

static void hll_add(uint8_t *reg, uint64_t h)
{
    uint32_t idx = (uint32_t)(h >> Q);
    uint64_t w = h << SKETCH_P;
    uint8_t rank = w ? (uint8_t)(__builtin_clzll(w) + 1) : Q + 1;
    if (rank > Q + 1) rank = Q + 1;
    if (reg[idx] < rank) reg[idx] = rank;
}

static int to_hll(struct sketch *s)
{
    uint8_t *reg = calloc(SKETCH_M, 1);
    if (!reg) return err_set(-ENOMEM, "sketch: out of memory");
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->set[i]) hll_add(reg, s->set[i]);
    for (uint32_t i = 0; !s->cap && i < s->n; i++)
        hll_add(reg, s->one[i]);
    free(s->set);
    s->set = NULL;
    s->n = s->cap = 0;
    s->reg = reg;
    return 0;
}

static int set_insert(uint64_t *set, uint32_t cap, uint64_t h)
{
    uint32_t mask = cap - 1, i = (uint32_t)h & mask;
    while (set[i]) {
        if (set[i] == h) return 0;
        i = (i + 1) & mask;
    }
    set[i] = h;
    return 1;
}

static bool set_has(const uint64_t *set, uint32_t cap, uint64_t h)
{
    uint32_t mask = cap - 1, i = (uint32_t)h & mask;
    for (; set[i]; i = (i + 1) & mask)
        if (set[i] == h) return true;
    return false;
}

static int grow(struct sketch *s)
{
    uint32_t cap = s->cap ? s->cap * 2 : 8;
    uint64_t *set = calloc(cap, sizeof *set);
    if (!set) return err_set(-ENOMEM, "sketch: out of memory");
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->set[i]) set_insert(set, cap, s->set[i]);
    for (uint32_t i = 0; !s->cap && i < s->n; i++) /* out of the struct */
        set_insert(set, cap, s->one[i]);
    free(s->set);
    s->set = set;
    s->cap = cap;
    return 0;
}

int sketch_reserve(struct sketch *s, uint32_t n)
{
    if (s->reg || s->cap || s->n || n <= SKETCH_INLINE) return 0;
    if (n > SKETCH_EXACT_MAX) n = SKETCH_EXACT_MAX;
    uint32_t cap = 8;
    while (cap < 2 * n)
        cap *= 2;
    if (!(s->set = calloc(cap, sizeof *s->set))) return err_set(-ENOMEM, "sketch: out of memory");
    s->cap = cap;
    return 0;
}

int sketch_add(struct sketch *s, uint64_t h)
{
    if (!h) h = 1; /* 0 marks an empty slot */
    if (s->reg) {
        hll_add(s->reg, h);
        return 0;
    }
    if (!s->cap) { /* inline while it fits */
        for (uint32_t i = 0; i < s->n; i++)
            if (s->one[i] == h) return 0;
        if (s->n < SKETCH_INLINE) {
            s->one[s->n++] = h;
            return 0;
        }
    } else if (set_has(s->set, s->cap, h)) {
        return 0; /* a repeat never promotes */
    }
    if ((s->n + 1) * 2 > s->cap) {
        int rc = s->n + 1 > SKETCH_EXACT_MAX ? to_hll(s) : grow(s);
        if (rc < 0) return rc;
        if (s->reg) {
            hll_add(s->reg, h);
            return 0;
        }
    }
    s->n += (uint32_t)set_insert(s->set, s->cap, h);
    return 0;
}

static double ertl_sigma(double x)
{
    if (x == 1.0) return INFINITY;
    double y = 1, z = x, zp;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (z != zp);
    return z;
}

static double ertl_tau(double x)
{
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0, z = 1 - x, zp;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
    } while (z != zp);
    return z / 3;
}

uint64_t sketch_count(const struct sketch *s)
{
    if (!s->reg) return s->n;
    uint32_t c[Q + 2] = {0};
    for (uint32_t i = 0; i < SKETCH_M; i++)
        c[s->reg[i]]++;
    double m = SKETCH_M;
    double z = m * ertl_tau(1 - c[Q + 1] / m);
    for (int k = Q; k >= 1; k--)
        z = 0.5 * (z + c[k]);
    z += m * ertl_sigma(c[0] / m);
    double e = (0.5 / log(2)) * m * m / z;
    return (uint64_t)llround(e);
}

int sketch_merge(struct sketch *dst, const struct sketch *src)
{
    int rc = 0;
    if (src->reg) {
        if (!dst->reg && (rc = to_hll(dst)) < 0) return rc;
        for (uint32_t i = 0; i < SKETCH_M; i++)
            if (dst->reg[i] < src->reg[i]) dst->reg[i] = src->reg[i];
        return 0;
    }
    if (!src->n) return 0;
    if (!src->cap) { /* inline entries */
        for (uint32_t i = 0; i < src->n && rc == 0; i++)
            rc = sketch_add(dst, src->one[i]);
        return rc;
    }
    if (!dst->reg && !dst->cap && !dst->n) { /* into an empty sketch: a copy of the set */
        if (!(dst->set = malloc((size_t)src->cap * sizeof *dst->set)))
            return err_set(-ENOMEM, "sketch: out of memory");
        memcpy(dst->set, src->set, (size_t)src->cap * sizeof *dst->set);
        dst->cap = src->cap;
        dst->n = src->n;
        return 0;
    }
    /* room for both at once rather than doubling along the way (a union that
     * may pass SKETCH_EXACT_MAX grows as sketch_add decides) */
    while (!dst->reg && dst->n + src->n <= SKETCH_EXACT_MAX && (dst->n + src->n) * 2 > dst->cap)
        if ((rc = grow(dst)) < 0) return rc;
    for (uint32_t i = 0; i < src->cap && rc == 0; i++)
        if (src->set[i]) rc = sketch_add(dst, src->set[i]);
    return rc;
}

/* Blob formats: 'E' + n little-endian u64 hashes; 'S' + pairs (u16 index, u8 rank)
 * for a sparse HyperLogLog; 'D' + 2^14 ranks for a dense one.  The encoder
 * picks the smaller HyperLogLog form. */
static void put_u64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Eight registers a step: a byte's high bit set by (b & 0x7f) + 0x7f or by b
 * itself says b != 0 (an encoder scans a dense sketch three times). */
static size_t hll_nonzero(const struct sketch *s)
{
    const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full;
    size_t nz = 0;
    for (uint32_t i = 0; i < SKETCH_M; i += 8) {
        uint64_t x;
        memcpy(&x, s->reg + i, 8);
        nz += (size_t)__builtin_popcountll((((x & lo7) + lo7) | x) & ~lo7);
    }
    return nz;
}

size_t sketch_encoded_size(const struct sketch *s)
{
    if (!s->reg) return 1 + (size_t)s->n * 8;
    size_t nz = hll_nonzero(s);
    return 1 + nz * 3 < 1 + (size_t)SKETCH_M ? 1 + nz * 3 : 1 + (size_t)SKETCH_M;
}

size_t sketch_encoded_max(const struct sketch *s)
{
    return s->reg ? 1 + (size_t)SKETCH_M : 1 + (size_t)s->n * 8;
}

size_t sketch_encode_into(const struct sketch *s, uint8_t *b)
{
    size_t o = 1;
    if (!s->reg) {
        b[0] = 'E';
        for (uint32_t i = 0; i < s->cap; i++)
            if (s->set[i]) put_u64(b + o, s->set[i]), o += 8;
        for (uint32_t i = 0; !s->cap && i < s->n; i++)
            put_u64(b + o, s->one[i]), o += 8;
        return o;
    }
    if (1 + hll_nonzero(s) * 3 >= 1 + (size_t)SKETCH_M) {
        b[0] = 'D';
        memcpy(b + 1, s->reg, SKETCH_M);
        return 1 + SKETCH_M;
    }
    b[0] = 'S';
    for (uint32_t i = 0; i < SKETCH_M; i++) {
        uint64_t x;
        if (!(i & 7) && (memcpy(&x, s->reg + i, 8), !x)) { /* eight empty registers */
            i += 7;
            continue;
        }
        if (!s->reg[i]) continue;
        b[o] = (uint8_t)i;
        b[o + 1] = (uint8_t)(i >> 8);
        b[o + 2] = s->reg[i];
        o += 3;
    }
    return o;
}

int sketch_encode(const struct sketch *s, uint8_t **buf, size_t *len)
{
    uint8_t *b = malloc(sketch_encoded_size(s));
    if (!b) return err_set(-ENOMEM, "sketch: out of memory");
    *len = sketch_encode_into(s, b);
    *buf = b;
    return 0;
}

int sketch_merge_blob(struct sketch *s, const void *blob, size_t len)
{
    const uint8_t *b = blob;
    int rc = 0;
    if (len < 1) return err_set(-EINVAL, "sketch: empty blob");
    switch (b[0]) {
    case 'E':
        if ((len - 1) % 8) return err_set(-EINVAL, "sketch: exact blob of odd length %zu", len);
        for (size_t o = 1; o < len && rc == 0; o += 8)
            rc = sketch_add(s, get_u64(b + o));
        return rc;
    case 'S':
    case 'D': {
        if (b[0] == 'S' ? (len - 1) % 3 : len != 1 + SKETCH_M)
            return err_set(-EINVAL, "sketch: HyperLogLog blob of bad length %zu", len);
        if (!s->reg && (rc = to_hll(s)) < 0) return rc;
        for (size_t o = 1; o < len; o += (b[0] == 'S' ? 3 : 1)) {
            uint32_t idx = b[0] == 'S' ? (uint32_t)(b[o] | b[o + 1] << 8) : (uint32_t)(o - 1);
            uint8_t r = b[0] == 'S' ? b[o + 2] : b[o];
            if (r > Q + 1 || idx >= SKETCH_M)
                return err_set(-EINVAL, "sketch: register out of range");
            if (s->reg[idx] < r) s->reg[idx] = r;
        }
        return 0;
    }
    default:
        return err_set(-EINVAL, "sketch: unknown blob type 0x%02x", b[0]);
    }
}

/* An exact set's n hashes, in slot order, into out[0..n): about half the
 * slots are empty, at random, so a test and branch per slot mispredicts half
 * the time; here every slot is stored and the cursor moves only past a
 * hash.  No slot past the last hash is read, so no store lands past out[n-1]. */
static uint32_t set_hashes(const struct sketch *s, uint64_t *out)
{
    uint32_t k = 0;
    if (!s->cap) { /* inline */
        memcpy(out, s->one, s->n * sizeof *out);
        return s->n;
    }
    for (uint32_t i = 0; k < s->n; i++) {
        uint64_t h = s->set[i];
        out[k] = h;
        k += h != 0;
    }
    return k;
}

/* As sketch_merge, for the writer's rollups and the shards' join, which union
 * the same hot keys' HyperLogLogs every interval: sixteen registers a step
 * by the vector max every x86-64 has (a compare and branch per register, as
 * gcc -O2 leaves sketch_merge's loop, cost 10-20 µs a union), and an exact
 * source's hashes go into an exact set without a lookup and a growth test
 * each.  The result is sketch_merge's, slot for slot. */
int sketch_union(struct sketch *dst, const struct sketch *src)
{
    int rc;
    if (!src->reg) {
        uint64_t h[SKETCH_EXACT_MAX];
        /* exact into a HyperLogLog: sketch_merge's sketch_add of each hash */
        if (dst->reg && src->n) {
            uint32_t n = set_hashes(src, h);
            for (uint32_t i = 0; i < n; i++)
                hll_add(dst->reg, h[i]);
            return 0;
        }
        /* a set into a set with room for both: sketch_merge grows dst first
         * and then sketch_add never grows it, so inserting straight away
         * leaves the same slots (an exact blob lists them in slot order).
         * Inline sketches (either side) go through sketch_merge, which adds
         * an inline source's few hashes one by one, growing as it goes. */
        if (dst->reg || !dst->cap || !src->cap || !src->n || dst->n + src->n > SKETCH_EXACT_MAX)
            return sketch_merge(dst, src);
        while ((dst->n + src->n) * 2 > dst->cap)
            if ((rc = grow(dst)) < 0) return rc;
        uint32_t n = set_hashes(src, h);
        for (uint32_t i = 0; i < n; i++)
            dst->n += (uint32_t)set_insert(dst->set, dst->cap, h[i]);
        return 0;
    }
    if (!dst->reg && (rc = to_hll(dst)) < 0) return rc;
    uint8_t *d = dst->reg;
    const uint8_t *s = src->reg;
#if defined(__SSE2__)
    for (uint32_t i = 0; i < SKETCH_M; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(d + i)),
                y = _mm_loadu_si128((const __m128i *)(s + i));
        _mm_storeu_si128((__m128i *)(d + i), _mm_max_epu8(x, y));
    }
#else
    for (uint32_t i = 0; i < SKETCH_M; i++)
        if (d[i] < s[i]) d[i] = s[i];
#endif
    return 0;
}

/* sketch_encode_into's bytes: an exact set's hashes without a branch per
 * slot (as set_hashes), a HyperLogLog sixteen registers a step: the zeros
 * are counted by vector compares (not a popcount call per eight) and a
 * sparse blob's registers are found by a mask of the non-zero ones (not a
 * test per register).  The writer encodes every interval's rows so. */
size_t sketch_encode_fast(const struct sketch *s, uint8_t *b)
{
    if (!s->reg && !s->cap) return sketch_encode_into(s, b); /* inline: at most two */
    if (!s->reg) { /* the hashes without a branch per slot (set_hashes) */
        b[0] = 'E';
        size_t o = 1, k = 0;
        for (uint32_t i = 0; k < s->n; i++) {
            uint64_t h = s->set[i];
            put_u64(b + o, h);
            o += h ? 8 : 0;
            k += h != 0;
        }
        return o;
    }
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    size_t zeros = 0;
    for (uint32_t i = 0; i < SKETCH_M;) {
        __m128i acc = zero; /* per byte lane, at most 255 steps */
        for (uint32_t k = 0; k < 255 && i < SKETCH_M; k++, i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(s->reg + i));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, zero));
        }
        __m128i sum = _mm_sad_epu8(acc, zero);
        zeros += (size_t)_mm_cvtsi128_si32(sum) + (size_t)_mm_extract_epi16(sum, 4);
    }
    size_t nz = SKETCH_M - zeros;
    if (1 + nz * 3 >= 1 + (size_t)SKETCH_M) {
        b[0] = 'D';
        memcpy(b + 1, s->reg, SKETCH_M);
        return 1 + SKETCH_M;
    }
    size_t o = 1;
    b[0] = 'S';
    for (uint32_t i = 0; i < SKETCH_M; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s->reg + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, zero)) ^ 0xffffu;
        while (m) {
            uint32_t idx = i + (uint32_t)__builtin_ctz(m);
            b[o] = (uint8_t)idx;
            b[o + 1] = (uint8_t)(idx >> 8);
            b[o + 2] = s->reg[idx];
            o += 3;
            m &= m - 1;
        }
    }
    return o;
#else
    return sketch_encode_into(s, b);
#endif
}
