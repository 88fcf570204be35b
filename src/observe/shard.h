/* shard — capture files through one or more aggregator threads, split by source.
 *
 * With n threads each reads the whole file itself (a "file" packet source,
 * core/pcapfile: read() into a large buffer, so a second pass over a file in
 * the page cache costs little) and feeds every frame to its own aggregator, which runs the clock
 * on every frame's time but counts only the sources that hash to it (agg.h
 * "Sharding").  No queue sits between reading and counting, and nothing is
 * shared on the packet path.  At each interval close the shards meet: the
 * last to arrive joins their records (agg_merge), runs the surge detector on
 * the joined port counts and hands the record to the sink.  DoS vectors are
 * keyed by the victim, which is the source of the backscatter, so each lives
 * in one shard.  The result is the same as one thread's, which is what
 * n = 1 runs (the same code without the meeting).
 *
 * A stop request is turned into one frame position that every shard stops
 * at, so their intervals still line up. */
#ifndef MAMORI_SHARD_H
#define MAMORI_SHARD_H

#include "agg.h"

#include <stdbool.h>

#define SHARD_MAX 8

struct shard_cfg {
    struct agg_cfg agg; /* sink: where joined records go; surge: run on them; dos: see dos_new */
    unsigned n;         /* threads, 1..SHARD_MAX */
    /* Each shard's DoS detector (they must not share one); NULL: none. */
    struct dos *dos[SHARD_MAX];
    /* Called by shard 0's thread after each batch of the file being read
     * (done: the fraction of it read). */
    void (*poll)(void *ctx, struct agg *first, const char *path, double done, bool last);
    void *poll_ctx;
    bool (*stopping)(void); /* a stop was requested (read between batches) */
};

struct shards;

/* How many threads "auto" means here: 2 when two CPUs are ours, else 1. */
unsigned shard_auto(void);
struct shards *shards_new(const struct shard_cfg *c);
/* Reads one file through every shard.  0 when it was read to its end or
 * stopped; 1 when the file is damaged or unreadable (message printed, the
 * records before the damage counted); < 0 when counting or the sink failed
 * (err_set; the run should end). */
int shards_read(struct shards *s, const char *path);
/* At the end of input: agg_settle and the final agg_flush in every shard. */
int shards_finish(struct shards *s, int64_t now_us);
/* The totals over the shards. */
void shards_totals(const struct shards *s, struct agg_totals *t);
/* CPU seconds each shard's thread spent reading and finishing; returns n. */
unsigned shards_cpu(const struct shards *s, double *cpu_s);
/* Shard 0's aggregator: the live samples and the clock's counters. */
struct agg *shards_first(struct shards *s);
void shards_free(struct shards *s);

#endif
