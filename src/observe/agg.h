/* agg — the observe pipeline for one stream of frames: decode → classify → aggregate.
 *
 * Intervals are aligned to multiples of --interval on packet time.  Per
 * interval it keeps a table of sources (exact: packets, ports, fingerprints,
 * country, ASN) and per (proto, port) counters with source and destination
 * sketches, directly indexed by port so the hot path is one array load.
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
 * or a new port key. */
#ifndef MAMORI_AGG_H
#define MAMORI_AGG_H

#include "../core/addr.h"
#include "../core/geo.h"
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
};

struct agg_totals { /* over the whole run, for the summary line */
    uint64_t frames, packets, malformed, non_ip, outside, intervals, alerts, dos;
    uint64_t untracked; /* packets from sources past max_sources in their interval */
};

struct agg;

struct agg *agg_new(const struct agg_cfg *cfg);
int agg_frame(struct agg *a, int dlt, int64_t ts_us, const uint8_t *data, size_t caplen,
              uint32_t wirelen);
/* Closes the open interval if now_us is past its end (for quiet live captures). */
int agg_tick(struct agg *a, int64_t now_us);
/* Closes the open interval; with final, also every open DoS vector. */
int agg_flush(struct agg *a, bool final);
const struct agg_totals *agg_totals(const struct agg *a);
/* Moves the samples gathered since the last call into out (at most cap, the
 * newest kept); returns how many. */
size_t agg_take_samples(struct agg *a, struct live_sample *out, size_t cap);
void agg_free(struct agg *a);

#endif
