/* geoflat — building the flat IPv4 table (see geoflat.h). */
#include "geoflat.h"
#include "addr.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

uint32_t geoflat_record(const MMDB_s *m, uint64_t rec, uint8_t type, uint32_t off, bool *node)
{
    *node = false;
    switch (type) {
    case MMDB_RECORD_TYPE_SEARCH_NODE:
        *node = rec < m->metadata.node_count;
        return *node ? 0 : GEOFLAT_WALK;
    case MMDB_RECORD_TYPE_EMPTY:
        return GEOFLAT_EMPTY;
    case MMDB_RECORD_TYPE_DATA:
        return off <= UINT32_MAX - 2 ? off + 2 : GEOFLAT_WALK;
    default: /* corrupt: the walk reports it the same way for every address */
        return GEOFLAT_WALK;
    }
}

/* The codes given so far in the /8 being filled: entry -> code.  The walk
 * visits addresses in order, so each /8 is filled whole before the next,
 * and a map of one /8's records (a few thousand: L2-sized) replaces one of
 * every (/8, record) pair, whose misses were half the table's build time. */
struct build {
    struct geoflat *t;
    uint32_t s8;
    uint32_t *key; /* entry (>= 2), 0 empty */
    uint16_t *val;
    size_t n, cap;
};

static int map_grow(struct build *b, size_t cap)
{
    uint32_t *k = calloc(cap, sizeof *k);
    uint16_t *v = calloc(cap, sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < b->cap; i++) {
        if (!b->key[i]) continue;
        size_t j = hash_mix64(b->key[i]) & (cap - 1);
        while (k[j])
            j = (j + 1) & (cap - 1);
        k[j] = b->key[i];
        v[j] = b->val[i];
    }
    free(b->key);
    free(b->val);
    b->key = k;
    b->val = v;
    b->cap = cap;
    return 0;
}

static uint16_t code_of(struct build *b, uint32_t s8, uint32_t e)
{
    if (e == GEOFLAT_EMPTY || e == GEOFLAT_WALK) return (uint16_t)e;
    if (s8 != b->s8) { /* the next /8: its records start over */
        if (b->n) memset(b->key, 0, b->cap * sizeof *b->key);
        b->n = 0;
        b->s8 = s8;
    }
    if (b->n * 2 >= b->cap && map_grow(b, b->cap * 2) < 0)
        return GEOFLAT_WALK; /* out of memory: walked, the same answer */
    size_t j = hash_mix64(e) & (b->cap - 1);
    while (b->key[j] && b->key[j] != e)
        j = (j + 1) & (b->cap - 1);
    if (b->key[j]) return b->val[j];
    struct geoflat *t = b->t;
    uint32_t n = t->n_dict[s8];
    if (n == 65534) return GEOFLAT_WALK;
    if ((n & (n - 1)) == 0) { /* 0, 1, 2, 4, ...: double */
        uint32_t *d = realloc(t->dict[s8], (n ? 2 * n : 1) * sizeof *d);
        if (!d) return GEOFLAT_WALK;
        t->dict[s8] = d;
    }
    t->dict[s8][n] = e - 2;
    t->n_dict[s8] = n + 1;
    b->key[j] = e;
    b->val[j] = (uint16_t)(n + 2);
    b->n++;
    return (uint16_t)(n + 2);
}

/* The block of /16 k, made on first need (filled with what the directory
 * said for the whole /16); NULL when out of memory. */
static uint16_t *block(struct geoflat *t, uint32_t k)
{
    uint32_t d = t->dir[k];
    if (!(d & GEOFLAT_DIR_BLOCK)) {
        uint32_t n = t->n_blocks;
        if (n % GEOFLAT_SLAB_BLOCKS == 0) {
            void *p = aligned_alloc(GEOFLAT_SLAB, GEOFLAT_SLAB);
            if (!p) return NULL;
            madvise(p, GEOFLAT_SLAB, MADV_HUGEPAGE);
            t->slab[n / GEOFLAT_SLAB_BLOCKS] = p;
        }
        uint16_t *blk = t->slab[n / GEOFLAT_SLAB_BLOCKS] + (n % GEOFLAT_SLAB_BLOCKS) * 256;
        for (int i = 0; i < 256; i++)
            blk[i] = (uint16_t)d;
        t->dir[k] = d = GEOFLAT_DIR_BLOCK | n;
        t->n_blocks = n + 1;
    }
    d &= ~GEOFLAT_DIR_BLOCK;
    return t->slab[d / GEOFLAT_SLAB_BLOCKS] + (d % GEOFLAT_SLAB_BLOCKS) * 256;
}

/* /24s start .. start + n - 1 answer with entry e (the tree walk visits
 * each range once: nothing is overwritten).  0, or -ENOMEM. */
static int fill_range(struct build *b, uint32_t start, uint32_t n, uint32_t e)
{
    while (n > 0) {
        uint32_t in8 = 65536 - (start & 0xffff), k = n < in8 ? n : in8;
        uint16_t c = code_of(b, start >> 16, e);
        for (uint32_t j = start; j < start + k;) { /* by /16 */
            uint32_t in16 = 256 - (j & 255), m = start + k - j < in16 ? start + k - j : in16;
            if (m == 256) {
                b->t->dir[j >> 8] = c;
            } else if (c != GEOFLAT_EMPTY) {
                uint16_t *blk = block(b->t, j >> 8);
                if (!blk) return -ENOMEM;
                for (uint32_t i = 0; i < m; i++)
                    blk[(j & 255) + i] = c;
            }
            j += m;
        }
        start += k;
        n -= k;
    }
    return 0;
}

/* Fills the subtree at node (its prefix has depth bits): a record that ends
 * the walk at depth <= 24 answers its whole range of /24s. */
static int fill(const MMDB_s *m, struct build *b, uint32_t node, int depth, uint32_t prefix)
{
    MMDB_search_node_s sn;
    if (depth == 24 || MMDB_read_node(m, node, &sn) != MMDB_SUCCESS)
        /* one /24 holding longer networks, or damage the walk will report */
        return fill_range(b, prefix << (24 - depth), 1u << (24 - depth), GEOFLAT_WALK);
    for (int side = 0; side < 2; side++) {
        uint64_t rec = side ? sn.right_record : sn.left_record;
        uint8_t type = side ? sn.right_record_type : sn.left_record_type;
        uint32_t off = side ? sn.right_record_entry.offset : sn.left_record_entry.offset;
        uint32_t p = prefix << 1 | (uint32_t)side;
        bool down;
        uint32_t e = geoflat_record(m, rec, type, off, &down);
        int rc = down ? fill(m, b, (uint32_t)rec, depth + 1, p)
                      : fill_range(b, p << (24 - depth - 1), 1u << (24 - depth - 1), e);
        if (rc < 0) return rc;
    }
    return 0;
}

void geoflat_free(struct geoflat *t)
{
    if (!t) return;
    for (int i = 0; i < GEOFLAT_MAX_SLABS; i++)
        free(t->slab[i]);
    for (int i = 0; i < 256; i++)
        free(t->dict[i]);
    free(t);
}

struct geoflat *geoflat_build(const MMDB_s *m, uint32_t root)
{
    struct geoflat *t = calloc(1, sizeof *t);
    struct build b = {.t = t, .cap = 1u << 12};
    b.key = calloc(b.cap, sizeof *b.key);
    b.val = calloc(b.cap, sizeof *b.val);
    int rc = t && b.key && b.val ? fill(m, &b, root, 0, 0) : -ENOMEM;
    free(b.key);
    free(b.val);
    if (rc < 0) {
        geoflat_free(t);
        return NULL;
    }
    return t;
}
