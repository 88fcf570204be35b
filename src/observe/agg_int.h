/* agg_int — what the aggregator's two halves share (agg.c: the packet
 * path and the clock; agg_close.c: closing an interval and an event window):
 * its state and the entry helpers both use.  Not for use outside them. */
#ifndef MAMORI_AGG_INT_H
#define MAMORI_AGG_INT_H

#include "agg.h"
#include "srctab.h"
#include "../core/table.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NKEYS (2 * 2 * 65536) /* kind (dst/backscatter) x proto (tcp/udp) x port */
#define HASH_SEED_SRC 0x6d616d6f72690001ULL
#define HASH_SEED_DST 0x6d616d6f72690002ULL

/* A source's entry.  A packet from an IPv4 source does not read it: its
 * index slot (srctab.h) holds the address and the index of its row in the
 * open interval, and the row its counts (an IPv6 source's key is compared
 * here, and a full port list or a live sample reads it too).  The entry
 * has a row in the open interval when the slot's index names a row of the
 * interval and that row names the entry back by number (row_of): no stamp
 * to reset.  Its
 * country, location and AS are two indexes of decoded records (geo_ref:
 * the geo handle's, or this aggregator's geo cache's), resolved where rows
 * are built (entry_row, build_sources): 8 bytes instead of 24, so 80-byte
 * entries, a sixth less memory and fewer lines for every pass over a
 * million of them.
 * The window's counts are not kept per packet but folded in from the
 * interval's row when it closes (fold_window), as its ports are when the
 * interval's own list of them is full (ports_overflow). */
struct srcent {
    struct ipaddr ip; /* the key: the first member */
    int64_t first_us, last_us;
    uint64_t packets, bytes;
    uint16_t ports[8];
    uint8_t nports, more_ports, fpmask, clsmask;
    struct geo_ref geo; /* {0, 0} without geo */
};
_Static_assert(offsetof(struct srcent, ip) == 0, "the table's key is the entry's start");
_Static_assert(sizeof(struct srcent) % 16 == 0, "keys on 16-byte boundaries");
_Static_assert(sizeof(struct srcent) == 80, "a sixth smaller than a src_row");

/* A source's counts in the open interval, in a dense array apart from the
 * window's table: the table's entries stay small (it is the memory of a
 * million sources) and closing an interval walks only this array. */
struct ivrow {
    uint32_t slot; /* of the source's entry in the table */
    uint8_t nports, more, fpmask, clsmask;
    uint8_t counted[2]; /* bit i: the port key (TCP, UDP) of ports[i] holds this source */
    uint8_t spilled;    /* its full list of ports went to the window early */
    uint16_t ports[8];
    uint64_t packets, bytes;
    int64_t first, last;
};

_Static_assert(sizeof(struct ivrow) == 64, "an interval row is one cache line");

struct keystat {
    uint64_t packets, bytes;
    struct sketch src, dst;
    uint32_t stamp;              /* serial of the interval it counts in */
    uint32_t last_src, last_dst; /* entries its sketches held the last interval it was used
                                    (SKETCH_EXACT_MAX: a HyperLogLog) */
};

/* A (packets, sources) row of a country or an AS, kept from interval to
 * interval like the port counters: its sketch starts each interval sized
 * for what it held in the last (an AS sees much the same sources each
 * minute), so thousands of rows do not grow from 8 every interval. */
struct keyrow {
    uint32_t key;
    uint32_t stamp;  /* serial of the interval it counts in */
    uint32_t last_n; /* entries its sketch held the last time (SKETCH_EXACT_MAX: a HyperLogLog) */
    const char *label;
    uint64_t packets, bytes;
    struct sketch src;
};

struct held_frame { /* a frame far ahead, copied until the clock decides */
    uint8_t *data;
    size_t cap, caplen;
    uint32_t len;
    int dlt;
    int64_t ts;
};

struct agg {
    struct agg_cfg cfg;
    struct geo_cache *geo; /* this aggregator's (thread's) cache of cfg.geo */
    struct agg_totals tot;
    bool open, floor_set;
    uint32_t serial;    /* of the open interval, from 1 */
    int64_t start, end; /* seconds */
    int64_t end_us;     /* end, in µs: what every frame is compared with */
    size_t budget;      /* interval_budget() */
    uint64_t idx_seed;  /* the source table's index hash (srctab.h): random per run */
    int64_t floor_us;   /* start of the newest interval opened: older is late */
    int64_t min_us;     /* agg_set_floor(): older is late too (0: none) */
    int64_t first_us, last_us;
    struct agg_clock clock;
    struct held_frame held[AGG_CONFIRM];
    uint64_t packets, bytes, malformed, non_ip, outside, iot_packets, late, bad_time;
    uint64_t cls[CLS_COUNT];
    uint64_t fp_packets[FP_COUNT], fp_bytes[FP_COUNT];
    struct srctab srcs;                        /* struct srcent per source of the event window */
    struct ivrow *iv;                          /* the sources the interval counted */
    size_t n_touched, cap_touched;
    struct sketch over_src, over_fp[FP_COUNT]; /* sources past max_sources */
    struct live_sample live[AGG_LIVE_MAX];     /* ring of samples for the live view */
    size_t live_n, live_head;
    int64_t live_from, live_to; /* [from, to) µs: the second of packet time being sampled */
    int live_in_second;
    int64_t events_from;   /* start of the event window */
    struct keystat **keys; /* NKEYS lazily allocated, kept across intervals */
    struct table cc_rows, asn_rows; /* struct keyrow per country / AS, kept across intervals */
    uint64_t *usedmap;     /* bit per key counted in this interval */
    uint32_t *used;        /* their indexes in key order, when the interval closes */
    size_t n_used;
};

static inline uint32_t key_index(int kind, uint8_t proto, uint16_t port)
{
    return (uint32_t)kind << 17 | (uint32_t)(proto == IPPROTO_UDP) << 16 | port;
}

static inline void geo_fill_info(const struct geo_info *g, struct src_row *o)
{
    memcpy(o->cc, g->cc, 3);
    o->asn = g->asn;
    o->as_name = g->as_name;
    o->has_loc = g->has_loc;
    o->lat = (float)g->lat;
    o->lon = (float)g->lon;
}

/* A row's geo fields from the source's ref. */
static inline void geo_fill(const struct agg *a, struct geo_ref ref, struct src_row *o)
{
    struct geo_info gi;
    geo_ref_info(a->geo, ref, &gi);
    geo_fill_info(&gi, o);
}

/* The entry as the window's row (its counts as folded so far). */
static inline struct src_row entry_row(const struct agg *a, const struct srcent *s)
{
    struct src_row o = {.ip = s->ip,
                        .first_us = s->first_us,
                        .last_us = s->last_us,
                        .packets = s->packets,
                        .bytes = s->bytes,
                        .nports = s->nports,
                        .more_ports = s->more_ports,
                        .fpmask = s->fpmask,
                        .clsmask = s->clsmask};
    memcpy(o.ports, s->ports, sizeof o.ports);
    geo_fill(a, s->geo, &o);
    return o;
}

static inline struct srcent *entry_at(const struct agg *a, size_t slot)
{
    return srctab_at(&a->srcs, slot);
}

/* Its index in ports, or 8 when the list was already full without it. */
static inline unsigned ports_add(uint16_t *ports, uint8_t *n, uint8_t *more, uint16_t port)
{
    for (uint8_t i = 0; i < *n; i++)
        if (ports[i] == port) return i;
    if (*n < 8) {
        ports[*n] = port;
        return (*n)++;
    }
    *more = 1;
    return 8;
}

static inline int64_t max64(int64_t x, int64_t y)
{
    return x > y ? x : y;
}

/* Opens the interval holding ts_us (agg.c). */
void agg_open_interval(struct agg *a, int64_t ts_us);

#endif
