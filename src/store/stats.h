/* stats — an interval's (or a bucket's) per-key stats as one blob, and the
 * in-memory union of many.
 *
 * Ports, backscatter ports, fingerprints, countries and ASNs of one interval
 * go to the database as one blob (interval_stats) instead of one row per key:
 * a row costs SQLite a B-tree insert per index, a blob costs one.  Hourly and
 * daily rollups (stats_rollups) are the same format, built by the writer from
 * the sketches in memory (stats_acc_add_rec) and carrying the bucket's union
 * of sources too.  Readers merge the blobs of a window into a stats_acc, in C:
 * sums add, sketches union, a key's label is the greatest seen (as SQL max()).
 *
 * Blob: "MS" 0x01, then records of
 *   kind u8 | proto u8 | key u32 LE | packets, bytes, label length (varints) |
 *   label | src sketch length (varint) | src sketch | dst length | dst sketch
 * where kind is an enum row_kind or STATS_SOURCES (the bucket's sources; key 0)
 * and a sketch is sketch_encode()'s blob (length 0: empty).  A reader rejects
 * any record that runs past the end or names an unknown kind. */
#ifndef MAMORI_STATS_H
#define MAMORI_STATS_H

#include "record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATS_SOURCES ROW_KINDS /* the record kind of a rollup's source union */

struct stats_entry {
    uint8_t kind, proto;
    uint8_t nlabel; /* strlen(label): labels are cut at 255 bytes (stats.c) */
    uint32_t key;
    uint64_t packets, bytes;
    char *label; /* owned copy; NULL when none */
    struct sketch src, dst;
};

struct stats_acc {
    struct stats_entry *e;
    size_t n, cap;
    uint32_t *slot; /* open addressing: entry index + 1, 0 empty */
    size_t nslot;
    struct sketch sources;
};

void stats_acc_init(struct stats_acc *a);
void stats_acc_free(struct stats_acc *a); /* and re-inits it */
/* Folds in an interval's rows and its sources sketch (the writer's rollups). */
int stats_acc_add_rec(struct stats_acc *a, const struct interval_rec *r);
/* Folds src into dst (an hour into its day). */
int stats_acc_merge(struct stats_acc *dst, const struct stats_acc *src);
/* Folds in an interval's or a rollup's blob; -EINVAL on a malformed one. */
int stats_acc_merge_blob(struct stats_acc *a, const void *blob, size_t len);
/* Folds in only the entries of one kind, proto and key (a time series). */
int stats_acc_merge_blob_key(struct stats_acc *a, const void *blob, size_t len, uint8_t kind,
                             uint8_t proto, uint32_t key);

/* One record of a blob, pointing into it (the mamori_stats table). */
struct stats_view {
    uint8_t kind, proto;
    uint32_t key;
    uint64_t packets, bytes;
    const char *label; /* nlabel bytes, not terminated */
    const uint8_t *src, *dst;
    size_t nlabel, nsrc, ndst;
};
struct stats_iter {
    const uint8_t *p, *end;
};
int stats_iter_init(struct stats_iter *it, const void *blob, size_t len);
/* 1 and *v filled, 0 at the end, or -EINVAL (set) on a malformed record. */
int stats_iter_next(struct stats_iter *it, struct stats_view *v);

/* An interval's rows as a blob (its sources stay in interval_sketches). */
int stats_encode_rec(const struct interval_rec *r, uint8_t **buf, size_t *len);
/* The same, folding r into a as stats_acc_add_rec() does, in one pass over
 * its rows; a NULL a folds nothing.  On failure a is partly folded. */
int stats_encode_rec_fold(const struct interval_rec *r, uint8_t **buf, size_t *len,
                          struct stats_acc *a);
/* A rollup: every entry and the source union. */
int stats_encode_acc(const struct stats_acc *a, uint8_t **buf, size_t *len);

#endif
