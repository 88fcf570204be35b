/* geoflat — a MaxMind DB's IPv4 tree flattened into a table of every /24.
 *
 * A tree walk ends at some depth on a record (or on nothing); when that depth
 * is 24 or less, every address of the /24 ends on the same record, so one
 * table entry answers for all of them.  Where the tree goes deeper than /24
 * the entry says "walk", and the caller walks as before: the table never
 * approximates.  An entry is GEOFLAT_EMPTY, GEOFLAT_WALK, or a record's data
 * offset + 2 (libmaxminddb's MMDB_entry_s offset).
 *
 * Stored as 16-bit codes: 0 empty, 1 walk, else an index (+ 2) into its /8's
 * list of data offsets.  GeoLite2 City's IPv4 tree has 94k distinct records,
 * too many for 16 bits overall but never 65k in one /8; if one did, its extra
 * records would be walked (the same answer).  Half the /16s answer alike
 * throughout (one network, or none): their directory entry is the code
 * itself; the others point to a block of 256 codes in huge-page slabs (a
 * lookup is one random read, which with 4 KiB pages would miss the TLB as
 * well as the cache), so the table takes ~17 MiB instead of 32.  Built once
 * at load (~0.1 s), then read-only: any number of threads may read it. */
#ifndef MAMORI_GEOFLAT_H
#define MAMORI_GEOFLAT_H

#include <maxminddb.h>
#include <stdbool.h>
#include <stdint.h>

#define GEOFLAT_EMPTY 0u
#define GEOFLAT_WALK 1u
#define GEOFLAT_SLAB (1u << 21) /* blocks come in huge-page slabs of 4096 */
#define GEOFLAT_SLAB_BLOCKS (GEOFLAT_SLAB / 512)
#define GEOFLAT_MAX_SLABS 16 /* 65536 blocks: every /16 */
#define GEOFLAT_DIR_BLOCK 0x80000000u

struct geoflat {
    uint32_t dir[65536];               /* a code, or GEOFLAT_DIR_BLOCK | block index */
    uint16_t *slab[GEOFLAT_MAX_SLABS]; /* blocks of 256 codes */
    uint32_t n_blocks;
    uint32_t *dict[256];
    uint32_t n_dict[256];
};

/* A tree record (as MMDB_read_node gives it) as an entry; *node when it is a
 * search node to descend into instead. */
uint32_t geoflat_record(const MMDB_s *m, uint64_t rec, uint8_t type, uint32_t off, bool *node);
/* The table of the IPv4 subtree at root (node 0 of an IPv4 tree, or the node
 * 96 zero bits lead to in an IPv6 one); NULL when out of memory. */
struct geoflat *geoflat_build(const MMDB_s *m, uint32_t root);
void geoflat_free(struct geoflat *t);

/* The code of the /24 x24 (an IPv4 address >> 8): GEOFLAT_EMPTY,
 * GEOFLAT_WALK, or k + 2 for record k of t->dict[x24 >> 16]. */
static inline uint32_t geoflat_code(const struct geoflat *t, uint32_t x24)
{
    uint32_t d = t->dir[x24 >> 8];
    if (!(d & GEOFLAT_DIR_BLOCK)) return d;
    d &= ~GEOFLAT_DIR_BLOCK;
    return t->slab[d / GEOFLAT_SLAB_BLOCKS][(d % GEOFLAT_SLAB_BLOCKS) * 256 + (x24 & 255)];
}

/* The entry of the /24 x24. */
static inline uint32_t geoflat_entry(const struct geoflat *t, uint32_t x24)
{
    uint32_t code = geoflat_code(t, x24);
    return code < 2 ? code : t->dict[x24 >> 16][code - 2] + 2;
}

#endif
