/* agg — the observe pipeline for one stream of frames: decode → classify → aggregate.
 *
 * Intervals are aligned to multiples of --interval on packet time.  One
 * table of sources per event window holds, per source, the window's row and
 * the open interval's counts beside a stamp (exact: packets, ports,
 * fingerprints; country and ASN looked up once per window), and per (proto,
 * port) counters with source and destination sketches are directly indexed
 * by port so the hot path is one array load.
 * Country, ASN, fingerprint and total distinct counts are derived from the
 * source table when the interval closes; the closed interval goes to the sink
 * as one interval_rec (see store/record.h), with its surge alerts and the DoS
 * vectors that ended in it.  Per-source events (first/last seen, packets,
 * ports) are folded over an event window (default an hour, like Merit's
 * darknet-events) and handed over with the interval that closes it, so the
 * database sees one upsert per source per hour instead of one per minute.
 * Memory is bounded by max_sources: past it, a new source of the interval
 * still counts in totals, ports and fingerprints (through overflow sketches),
 * but gets no per-source row, country or ASN; the event window closes early
 * when it holds max_sources sources.  Nothing allocates per packet except a new source
 * or a new port key.
 *
 * Time only moves forward, as a telescope operator expects (README "Packet
 * time"): a frame whose time is outside 1970..2100 is bad_time; a frame older
 * than the open interval's start by more than AGG_REORDER_US is late; both
 * are counted in the interval that is open and never aggregated.  A frame
 * more than AGG_JUMP_US ahead of the clock is held (copied) until
 * AGG_CONFIRM frames in a row agree that time jumped, or the wall clock
 * reaches it (agg_settle); a frame near the old clock proves the held ones
 * were lone frames far ahead, and they count as bad_time.  When a jump is
 * confirmed, a held frame far ahead of the frame after it is lone too, and
 * the confirming frame is judged against the new clock, not taken blindly:
 * after a gap (the next file, a quiet hour) a lone frame among the first
 * frames must not carry the clock years ahead and make the rest late.  So a
 * capture gap loses nothing and a lone frame dated 20 years ahead moves
 * nothing. */
#ifndef MAMORI_AGG_H
#define MAMORI_AGG_H

#include "../core/addr.h"
#include "../core/geo.h"
#include "../core/pcapfile.h"
#include "../core/portset.h"
#include "../store/record.h"
#include "dos.h"
#include "surge.h"

#include <stdbool.h>
#include <stdint.h>

#define AGG_MAX_SOURCES 1500000
#define AGG_LIVE_PER_SECOND 20 /* live-view samples per second of packet time */
#define AGG_LIVE_MAX 256       /* samples held until taken */

typedef int (*agg_sink_fn)(struct interval_rec *rec, void *ctx); /* takes ownership */

struct agg_cfg {
    int64_t interval;     /* seconds */
    int64_t event_window; /* seconds between per-source event flushes */
    size_t max_sources;   /* per-source detail kept for at most this many sources per interval
                             and per event window (0: AGG_MAX_SOURCES) */
    const struct pfx_set *darknet;
    const struct geo *geo; /* may be NULL */
    const struct portset *iot;
    struct surge *surge; /* may be NULL */
    struct dos *dos;     /* may be NULL */
    agg_sink_fn sink;
    void *sink_ctx;
    /* Sharding: n_shards aggregators are each given every frame; this one
     * counts only the sources whose hash falls to `shard`.  All of them run
     * the clock on every frame, so they open and close the same intervals,
     * and its counters (late, bad time, first/last time) are the same in
     * every shard.  A shard tells its frames by the source address alone
     * (pkt_source) and decodes no other: the owner of a frame counts it
     * whole, malformed, non-IP or outside too, and a frame with no source
     * address is shard 0's; shard 0 alone takes live samples (of every
     * shard's packets, decoding a foreign one while its second takes them).  Each
     * shard's record holds its part; agg_merge() joins them.  Per interval a
     * shard keeps detail for max_sources / n_shards sources; the event window
     * closes when all shards together hold max_sources.  sync() sums *v over
     * the shards, waiting for each (a barrier); not called with one shard. */
    unsigned shard, n_shards;
    int (*sync)(void *ctx, uint64_t *v);
    void *sync_ctx;
};

#define AGG_REORDER_US (2 * 1000000LL) /* older than the open interval by this much: late */
#define AGG_JUMP_US (300 * 1000000LL)  /* ahead of the clock by more: held until confirmed */
#define AGG_CONFIRM 8                  /* frames ahead in a row that confirm a jump */

/* The clock rule on times alone (observe's pre-scan of files uses it too). */
struct agg_clock {
    bool started;
    int64_t now;               /* newest time taken, µs */
    int64_t held[AGG_CONFIRM]; /* times held ahead, in arrival order */
    size_t n_held;
};

/* What to do with a frame: first drop the oldest `drop` held frames (bad
 * time), then take the next `take` held ones in order — except those whose
 * bit (1 << index into held) is set in `lone`: far ahead of the frame after
 * them, they are bad time too — then hold the new frame or take it.  drop
 * and take each consume every held frame. */
struct agg_clock_step {
    size_t drop, take;
    uint32_t lone;
    bool hold;
};

void agg_clock_feed(struct agg_clock *c, int64_t ts_us, struct agg_clock_step *st);
/* The held frames once the wall clock reads now_us: taken when it has
 * reached them; otherwise kept, or dropped when final. */
void agg_clock_settle(struct agg_clock *c, int64_t now_us, bool final, struct agg_clock_step *st);

struct agg_totals { /* over the whole run, for the summary line */
    uint64_t frames, packets, malformed, non_ip, outside, intervals, alerts, dos;
    uint64_t late, bad_time; /* frames never aggregated: see "Time only moves forward" */
    uint64_t untracked;      /* packets from sources past max_sources in their interval */
};

struct agg;

struct agg *agg_new(const struct agg_cfg *cfg);
int agg_frame(struct agg *a, int dlt, int64_t ts_us, const uint8_t *data, size_t caplen,
              uint32_t wirelen);
/* The same for n records whose data stay valid until it returns: decoded and
 * their table slots fetched in batches before they are counted. */
int agg_frames(struct agg *a, const struct pcapf_rec *f, size_t n);
/* Frames older than us (beyond the reorder tolerance) are late from now on:
 * a live capture starts after what the database already holds. */
void agg_set_floor(struct agg *a, int64_t us);
/* A hint before the frames of a file: at most this many sources to come.
 * An empty source table is sized for them (up to this shard's budget of
 * max_sources) at once, so a million-source window does not double its way
 * there (each doubling rehashes the table into freshly zeroed pages). */
int agg_expect_sources(struct agg *a, size_t sources);
/* Closes the open interval if now_us is past its end (for quiet live captures),
 * and takes held frames the wall clock has reached. */
int agg_tick(struct agg *a, int64_t now_us);
/* At the end of input: held frames the wall clock has reached are taken, the
 * others (a lone frame far in the future) count as bad_time. */
int agg_settle(struct agg *a, int64_t now_us);
/* Closes the open interval; with final, also every open DoS vector. */
int agg_flush(struct agg *a, bool final);
const struct agg_totals *agg_totals(const struct agg *a);
/* Joins the records shards made of one interval into parts[0] (see
 * merge.c); parts[1..n) are freed, also on failure. */
int agg_merge(struct interval_rec **parts, size_t n);
/* Surge alerts of a (merged) record, as agg does for cfg.surge. */
int agg_surge(struct surge *sg, struct interval_rec *r);
/* Moves the samples gathered since the last call into out (at most cap, the
 * newest kept); returns how many. */
size_t agg_take_samples(struct agg *a, struct live_sample *out, size_t cap);
void agg_free(struct agg *a);

#endif
