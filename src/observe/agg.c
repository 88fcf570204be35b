/* agg — per-interval aggregation (see agg.h).
 *
 * One source table per event window (srctab.h: dense entries behind an
 * index of 16-byte slots).  Each entry holds the window's row; its slot
 * holds an IPv4 source's address and the index of its row in the open
 * interval, valid while that row names the entry back: a packet that finds
 * no such row starts one (lazily, no pass over the table), on the
 * interval's touched list, which is what closing the interval walks,
 * folding each row into its window's.  So an interval costs nothing per
 * source it did not see, and a packet reads one index line and writes only
 * its row.  The port counters live in a table indexed by key that is kept
 * from interval to interval (a stamp again), their sketches sized from the
 * last interval (and up to two hashes inline), so the packet path allocates
 * only for a new source, a growing sketch, or a key never seen before.
 * agg_frames() decodes a batch of frames and prefetches what each packet
 * will read, step by step, before counting them: at a million sources the
 * table is far larger than the caches. */
#include "agg.h"
#include "srctab.h"
#include "../core/err.h"
#include "../core/table.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS (2 * 2 * 65536) /* kind (dst/backscatter) x proto (tcp/udp) x port */
#define HASH_SEED_SRC 0x6d616d6f72690001ULL
#define HASH_SEED_DST 0x6d616d6f72690002ULL

/* A source's entry.  A packet does not read it: its index slot (srctab.h)
 * holds an IPv4 source's address and the index of its row in the open
 * interval, and the row its counts.  The entry has a row in the open
 * interval when the slot's index names a row of the interval and that row
 * names the entry back by number (row_of): no stamp to reset.  Its
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
    uint32_t last_src, last_dst; /* distinct entries its sketches held last interval */
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
    uint64_t *usedmap;     /* bit per key counted in this interval */
    uint32_t *used;        /* their indexes in key order, when the interval closes */
    size_t n_used;
};

static inline uint32_t key_index(int kind, uint8_t proto, uint16_t port)
{
    return (uint32_t)kind << 17 | (uint32_t)(proto == IPPROTO_UDP) << 16 | port;
}

struct agg *agg_new(const struct agg_cfg *cfg)
{
    struct agg *a = calloc(1, sizeof *a);
    if (!a) goto oom;
    a->cfg = *cfg;
    if (!a->cfg.max_sources) a->cfg.max_sources = AGG_MAX_SOURCES;
    if (a->cfg.n_shards < 1) a->cfg.n_shards = 1;
    a->budget = (a->cfg.max_sources + a->cfg.n_shards - 1) / a->cfg.n_shards; /* not per packet */
    a->keys = calloc(NKEYS, sizeof *a->keys);
    a->used = malloc(NKEYS * sizeof *a->used);
    a->usedmap = calloc(NKEYS / 64, sizeof *a->usedmap);
    if ((a->cfg.geo && !(a->geo = geo_cache_new(a->cfg.geo))) || !a->keys || !a->used ||
        !a->usedmap ||
        srctab_init(&a->srcs, sizeof(struct srcent), 1024) < 0) {
        agg_free(a);
        goto oom;
    }
    return a;
oom:
    err_set(-ENOMEM, "observe: out of memory");
    return NULL;
}

/* The shard a source belongs to: from the high half of its hash, as the
 * table indexes by the low bits. */
static inline unsigned shard_of(const struct agg *a, uint64_t h)
{
    return (unsigned)((h >> 32) * a->cfg.n_shards >> 32);
}

/* Per-interval source budget of this shard: max_sources split evenly. */
static inline size_t interval_budget(const struct agg *a)
{
    return a->budget;
}

static struct keystat *key_get(struct agg *a, uint32_t idx)
{
    struct keystat *k = a->keys[idx];
    if (!k) {
        if (!(k = calloc(1, sizeof *k))) return NULL;
        a->keys[idx] = k;
    }
    if (k->stamp != a->serial) { /* first use in this interval: its sketches moved out */
        k->stamp = a->serial;
        k->packets = k->bytes = 0;
        a->usedmap[idx >> 6] |= 1ull << (idx & 63);
        a->n_used++;
        /* sized for what it held last time: ports see much the same each minute */
        if (sketch_reserve(&k->src, k->last_src) < 0 || sketch_reserve(&k->dst, k->last_dst) < 0)
            return NULL;
    }
    return k;
}

static void geo_fill_info(const struct geo_info *g, struct src_row *o)
{
    memcpy(o->cc, g->cc, 3);
    o->asn = g->asn;
    o->as_name = g->as_name;
    o->has_loc = g->has_loc;
    o->lat = (float)g->lat;
    o->lon = (float)g->lon;
}

/* A row's geo fields from the source's ref. */
static void geo_fill(const struct agg *a, struct geo_ref ref, struct src_row *o)
{
    struct geo_info gi;
    geo_ref_info(a->geo, ref, &gi);
    geo_fill_info(&gi, o);
}

/* The entry as the window's row (its counts as folded so far). */
static struct src_row entry_row(const struct agg *a, const struct srcent *s)
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

static struct srcent *entry_at(const struct agg *a, size_t slot)
{
    return srctab_at(&a->srcs, slot);
}

/* The source's row in the open interval, or NULL. */
static struct ivrow *row_of(const struct agg *a, const struct srcslot *s)
{
    return s->user < a->n_touched && a->iv[s->user].slot == s->number - 1 ? &a->iv[s->user] : NULL;
}

static int touched_room(struct agg *a)
{
    if (a->n_touched < a->cap_touched) return 0;
    size_t cap = a->cap_touched ? 2 * a->cap_touched : 1024;
    /* on line boundaries: a packet's row is then one line, not two */
    struct ivrow *n = aligned_alloc(64, cap * sizeof *n);
    if (!n) return -ENOMEM;
    if (a->n_touched) memcpy(n, a->iv, a->n_touched * sizeof *n);
    free(a->iv);
    a->iv = n;
    a->cap_touched = cap;
    return 0;
}

/* The source's slot and its row of this interval; NULL with *full set when
 * the interval already counts its budget of sources. */
static struct srcslot *src_get(struct agg *a, const struct ipaddr *ip, uint64_t h, int64_t ts,
                               bool *full, struct ivrow **ivp)
{
    bool created;
    *full = false;
    struct srcslot *s;
    if (a->n_touched >= interval_budget(a)) {
        s = srctab_find(&a->srcs, ip, h);
        *ivp = s ? row_of(a, s) : NULL;
        *full = !*ivp;
        return *full ? NULL : s;
    }
    if (touched_room(a) < 0) return NULL;
    /* an entry keeps its number when the table grows: the rows still name it */
    if (!(s = srctab_get(&a->srcs, ip, h, &created))) return NULL;
    if (created) { /* geo and ASN once per source and window */
        struct srcent *e = srctab_entry(&a->srcs, s);
        e->first_us = e->last_us = ts;
        if (a->cfg.geo && geo_cache_ref(a->geo, ip, &e->geo) < 0) return NULL;
    }
    struct ivrow *v = row_of(a, s);
    if (!v) {
        s->user = (uint32_t)a->n_touched;
        v = &a->iv[a->n_touched++];
        memset(v, 0, sizeof *v);
        v->slot = s->number - 1;
        v->first = v->last = ts;
    }
    *ivp = v;
    return s;
}

/* Its index in ports, or 8 when the list was already full without it. */
static unsigned ports_add(uint16_t *ports, uint8_t *n, uint8_t *more, uint16_t port)
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

/* A port the interval's full list has no room for still goes to the window's
 * list, after the interval's (in packet order, as if the window's list took
 * every packet); from then on the window's list takes them directly. */
static void ports_overflow(struct srcent *s, struct ivrow *v, uint16_t port)
{
    if (!v->spilled) {
        for (uint8_t j = 0; j < v->nports; j++)
            ports_add(s->ports, &s->nports, &s->more_ports, v->ports[j]);
        v->spilled = 1;
    }
    ports_add(s->ports, &s->nports, &s->more_ports, port);
}

/* The closing interval's counts of a source into its window's: sums, the
 * earliest and latest, the masks, and its ports after the window's (a port
 * already there, or spilled, changes nothing). */
static void fold_window(struct srcent *s, const struct ivrow *v)
{
    s->packets += v->packets;
    s->bytes += v->bytes;
    if (v->first < s->first_us) s->first_us = v->first;
    if (v->last > s->last_us) s->last_us = v->last;
    s->clsmask |= v->clsmask;
    s->fpmask |= v->fpmask;
    for (uint8_t j = 0; j < v->nports; j++)
        ports_add(s->ports, &s->nports, &s->more_ports, v->ports[j]);
}

static bool l4_proto(const struct pkt *p)
{
    return (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) && !p->later_fragment;
}

/* The per-key part of a packet: ports, backscatter ports, DoS vectors.  A
 * port's source sketch already holding this source (counted: the source's
 * interval row says so) is not asked again: adding it again changes nothing. */
static int account_keys(struct agg *a, const struct pkt *p, enum pkt_class c, uint64_t hsrc,
                        uint64_t hdst, int64_t ts, uint32_t len, bool counted)
{
    if (c == CLS_BACKSCATTER) {
        struct victim v;
        if (backscatter_victim(p, &v) < 0) return 0;
        if (a->cfg.dos && dos_add(a->cfg.dos, &v, &p->dst, ts, len) < 0) return -ENOMEM;
        if (v.proto != IPPROTO_TCP && v.proto != IPPROTO_UDP) return 0;
        struct keystat *k = key_get(a, key_index(1, v.proto, v.port));
        if (!k) return err_set(-ENOMEM, "observe: out of memory");
        k->packets++;
        k->bytes += len;
        if (sketch_add(&k->src, ip_hash(&v.addr, HASH_SEED_SRC)) < 0 ||
            sketch_add(&k->dst, hdst) < 0)
            return -ENOMEM;
        return 0;
    }
    if (!l4_proto(p)) return 0;
    if (portset_has(a->cfg.iot, p->proto, p->dport)) a->iot_packets++;
    struct keystat *k = key_get(a, key_index(0, p->proto, p->dport));
    if (!k) return err_set(-ENOMEM, "observe: out of memory");
    k->packets++;
    k->bytes += len;
    if ((!counted && sketch_add(&k->src, hsrc) < 0) ||
        sketch_add(&k->dst, hdst) < 0)
        return -ENOMEM;
    return 0;
}

/* A source past max_sources: counted everywhere a sketch can hold it. */
static int account_untracked(struct agg *a, enum fingerprint fp, uint64_t hsrc, uint32_t len)
{
    a->tot.untracked++;
    if (sketch_add(&a->over_src, hsrc) < 0) return -ENOMEM;
    if (fp != FP_NONE) {
        a->fp_packets[fp]++;
        a->fp_bytes[fp] += len;
        if (sketch_add(&a->over_fp[fp], hsrc) < 0) return -ENOMEM;
    }
    return 0;
}

/* The first AGG_LIVE_PER_SECOND packets of each second of packet time
 * (shard 0 samples every shard's packets, so the samples do not depend on
 * how many there are). */
static bool sample_due(struct agg *a, int64_t ts)
{
    if (ts < a->live_from || ts >= a->live_to) { /* a division only when the second changes */
        a->live_from = ts / 1000000 * 1000000;
        a->live_to = a->live_from + 1000000;
        a->live_in_second = 0;
    }
    return a->live_in_second++ < AGG_LIVE_PER_SECOND;
}

static void sample(struct agg *a, const struct pkt *p, const struct src_row *s, enum pkt_class c,
                   enum fingerprint fp, int64_t ts)
{
    struct live_sample *o = &a->live[(a->live_head + a->live_n) % AGG_LIVE_MAX];
    if (a->live_n == AGG_LIVE_MAX)
        a->live_head = (a->live_head + 1) % AGG_LIVE_MAX;
    else
        a->live_n++;
    o->ts_us = ts;
    o->src = p->src;
    o->has_loc = s && s->has_loc;
    o->lat = s ? s->lat : 0;
    o->lon = s ? s->lon : 0;
    memcpy(o->cc, s ? s->cc : "", s ? 3 : 1);
    o->proto = p->proto;
    o->cls = (uint8_t)c;
    o->fp = (int8_t)fp;
    struct victim v;
    o->port = c == CLS_BACKSCATTER ? (backscatter_victim(p, &v) == 0 ? v.port : 0) : p->dport;
}

/* Shard 0's sample of a packet another shard counts. */
static void sample_foreign(struct agg *a, const struct pkt *p, int64_t ts)
{
    if (!sample_due(a, ts)) return;
    enum pkt_class c = classify(p);
    struct src_row r = {.ip = p->src, .as_name = ""};
    if (a->cfg.geo) {
        struct geo_info gi;
        geo_cache_lookup(a->geo, &r.ip, &gi);
        geo_fill_info(&gi, &r);
    }
    sample(a, p, &r, c, c == CLS_TCP_SYN ? fingerprint(p) : FP_NONE, ts);
}

size_t agg_take_samples(struct agg *a, struct live_sample *out, size_t cap)
{
    size_t n = a->live_n < cap ? a->live_n : cap, skip = a->live_n - n;
    for (size_t i = 0; i < n; i++)
        out[i] = a->live[(a->live_head + skip + i) % AGG_LIVE_MAX];
    a->live_n = a->live_head = 0;
    return n;
}

static int account(struct agg *a, const struct pkt *p, uint64_t hsrc, uint64_t hdst, int64_t ts,
                   uint32_t len)
{
    enum pkt_class c = classify(p);
    enum fingerprint fp = c == CLS_TCP_SYN ? fingerprint(p) : FP_NONE;
    a->packets++;
    a->bytes += len;
    a->cls[c]++;
    bool full;
    struct ivrow *v = NULL;
    struct srcslot *s = src_get(a, &p->src, hsrc, ts, &full, &v);
    if (!s && !full) return err_set(-ENOMEM, "observe: out of memory");
    if (a->cfg.shard == 0 && sample_due(a, ts)) {
        struct src_row r;
        if (s) r = entry_row(a, srctab_entry(&a->srcs, s));
        sample(a, p, s ? &r : NULL, c, fp, ts);
    }
    if (!s) {
        int rc = account_untracked(a, fp, hsrc, len);
        return rc < 0 ? err_set(rc, "observe: out of memory")
                      : account_keys(a, p, c, hsrc, hdst, ts, len, false);
    }
    v->packets++;
    v->bytes += len;
    if (ts > v->last) v->last = ts;
    if (ts < v->first) v->first = ts;
    v->clsmask |= (uint8_t)(1u << c);
    if (fp != FP_NONE) {
        v->fpmask |= (uint8_t)(1u << fp);
        a->fp_packets[fp]++;
        a->fp_bytes[fp] += len;
    }
    bool counted = false;
    if (l4_proto(p) && c != CLS_BACKSCATTER) {
        unsigned i = ports_add(v->ports, &v->nports, &v->more, p->dport);
        if (i == 8) ports_overflow(srctab_entry(&a->srcs, s), v, p->dport);
        if (i < 8) {
            uint8_t *bits = &v->counted[p->proto == IPPROTO_UDP];
            counted = *bits >> i & 1;
            *bits |= (uint8_t)(1u << i);
        }
    }
    return account_keys(a, p, c, hsrc, hdst, ts, len, counted);
}

static int64_t max64(int64_t x, int64_t y)
{
    return x > y ? x : y;
}

/* The held frames are taken: the clock moves to the newest of them, but a
 * held frame far ahead of the frame after it (next, for the last) is a lone
 * one — its bit in the returned mask — and moves nothing. */
static uint32_t confirm(struct agg_clock *c, int64_t next)
{
    uint32_t lone = 0;
    for (size_t i = 0; i < c->n_held; i++) {
        int64_t after = i + 1 < c->n_held ? c->held[i + 1] : next;
        if (c->held[i] > after + AGG_JUMP_US)
            lone |= 1u << i;
        else
            c->now = c->started ? max64(c->now, c->held[i]) : c->held[i];
        c->started = c->started || !(lone >> i & 1);
    }
    return lone;
}

void agg_clock_feed(struct agg_clock *c, int64_t ts, struct agg_clock_step *st)
{
    *st = (struct agg_clock_step){0};
    if (!c->started) { /* the first frame has no neighbour before it: the second decides */
        if (c->n_held && ts < c->held[0] - AGG_JUMP_US) {
            st->drop = c->n_held; /* it was far ahead of everything after it */
        } else if (c->n_held) {
            st->take = c->n_held;
            c->started = true;
            c->now = c->held[0];
        }
        c->n_held = 0;
        if (!c->started) {
            c->held[c->n_held++] = ts;
            st->hold = true;
            return;
        }
    }
    bool ahead = ts > c->now + AGG_JUMP_US;
    if (!ahead) {
        if (c->n_held) st->drop = c->n_held; /* a neighbour near the clock: they were lone */
        c->n_held = 0;
        c->now = max64(c->now, ts);
        return;
    }
    if (c->n_held + 1 < AGG_CONFIRM) {
        c->held[c->n_held++] = ts;
        st->hold = true;
        return;
    }
    st->take = c->n_held; /* confirmed: time jumped */
    st->lone = confirm(c, ts);
    c->n_held = 0;
    if (ts > c->now + AGG_JUMP_US) { /* far ahead of the new clock too: held in turn */
        c->held[c->n_held++] = ts;
        st->hold = true;
    } else {
        c->now = max64(c->now, ts);
    }
}

void agg_clock_settle(struct agg_clock *c, int64_t now_us, bool final, struct agg_clock_step *st)
{
    *st = (struct agg_clock_step){0};
    bool reached = c->n_held > 0;
    for (size_t i = 0; i < c->n_held; i++)
        reached = reached && c->held[i] <= now_us;
    if (!reached && !final) return;
    if (reached) {
        st->take = c->n_held;
        st->lone = confirm(c, INT64_MIN / 2); /* the last one has nothing after it */
        st->lone &= ~(1u << (c->n_held - 1));
        if (!c->started) c->now = c->held[c->n_held - 1];
        c->now = max64(c->now, c->held[c->n_held - 1]);
        c->started = true;
    } else {
        st->drop = c->n_held;
    }
    c->n_held = 0;
}

static void open_interval(struct agg *a, int64_t ts_us)
{
    int64_t iv = a->cfg.interval, sec = ts_us >= 0 ? ts_us / 1000000 : (ts_us - 999999) / 1000000;
    a->start = sec >= 0 ? sec / iv * iv : (sec - iv + 1) / iv * iv;
    a->end = a->start + iv;
    a->end_us = a->end * 1000000;
    a->open = true;
    a->floor_us = a->start * 1000000;
    a->floor_set = true;
    a->first_us = a->last_us = -1;
    a->serial++;
    if (a->n_used) /* an interval that did not close normally left its keys */
        memset(a->usedmap, 0, NKEYS / 8);
    a->n_touched = a->n_used = 0;
    if (!a->srcs.n) a->events_from = a->start;
}

/* A frame decoded ahead of the clock's verdict (decoding depends on the
 * bytes alone), with its source's hash and, when this shard counts it, its
 * destination's (hashed once for every sketch it feeds).  A frame of another
 * shard's source is foreign: told by its source address alone (pkt_source)
 * and not decoded, as its owner counts it whole — packets, and malformed,
 * non-IP and outside the darknet alike (merge.c adds those up).  A frame
 * with no source address to tell is shard 0's. */
struct decoded {
    struct pkt p;
    enum pkt_status st;
    bool darknet, mine, foreign;
    uint64_t hsrc, hdst;
    int dlt; /* the frame, for a foreign one shard 0 may yet sample */
    const uint8_t *data;
    size_t caplen;
};

static void decode(const struct agg *a, int dlt, const uint8_t *data, size_t caplen,
                   struct decoded *d)
{
    d->darknet = d->mine = d->foreign = false;
    bool hashed = false;
    if (a->cfg.n_shards > 1) {
        struct ipaddr src;
        hashed = pkt_source(dlt, data, caplen, &src);
        if (hashed) d->hsrc = ip_hash(&src, HASH_SEED_SRC);
        if (hashed ? shard_of(a, d->hsrc) != a->cfg.shard : a->cfg.shard != 0) {
            d->foreign = true;
            d->dlt = dlt;
            d->data = data;
            d->caplen = caplen;
            return;
        }
    }
    d->st = pkt_decode(dlt, data, caplen, &d->p);
    if (d->st != PKT_OK || !(d->darknet = pfx_set_contains(a->cfg.darknet, &d->p.dst))) return;
    if (!hashed) d->hsrc = ip_hash(&d->p.src, HASH_SEED_SRC); /* else: the same address's */
    d->mine = a->cfg.n_shards <= 1 || shard_of(a, d->hsrc) == a->cfg.shard;
    if (d->mine) d->hdst = ip_hash(&d->p.dst, HASH_SEED_DST);
}

/* Shard 0 samples every shard's packets: a foreign frame is decoded after
 * all while its second of packet time still takes samples (sample_due would
 * only count it past them). */
static void sample_foreign_frame(struct agg *a, const struct decoded *d, int64_t ts)
{
    if (ts >= a->live_from && ts < a->live_to && a->live_in_second >= AGG_LIVE_PER_SECOND) return;
    struct pkt p;
    if (pkt_decode(d->dlt, d->data, d->caplen, &p) == PKT_OK &&
        pfx_set_contains(a->cfg.darknet, &p.dst))
        sample_foreign(a, &p, ts);
}

/* A frame the clock lets in: late when older than the newest interval. */
static int take(struct agg *a, int64_t ts, const struct decoded *d, uint32_t len)
{
    int rc;
    if ((a->floor_set && ts < a->floor_us - AGG_REORDER_US) || ts < a->min_us - AGG_REORDER_US) {
        a->late++;
        return 0;
    }
    if (a->open && ts >= a->end_us && (rc = agg_flush(a, false)) < 0) return rc;
    if (!a->open) open_interval(a, a->floor_set ? max64(ts, a->floor_us) : ts);
    if (a->first_us < 0 || ts < a->first_us) a->first_us = ts;
    if (ts > a->last_us) a->last_us = ts;
    if (d->foreign) {
        if (a->cfg.shard == 0) sample_foreign_frame(a, d, ts);
        return 0;
    }
    switch (d->st) {
    case PKT_MALFORMED:
        a->malformed++;
        return 0;
    case PKT_NON_IP:
        a->non_ip++;
        return 0;
    case PKT_OK:
        break;
    }
    if (!d->darknet) {
        a->outside++;
        return 0;
    }
    if (!d->mine) {
        if (a->cfg.shard == 0) sample_foreign(a, &d->p, ts);
        return 0;
    }
    return account(a, &d->p, d->hsrc, d->hdst, ts, len);
}

static int take_raw(struct agg *a, int dlt, int64_t ts, const uint8_t *data, size_t caplen,
                    uint32_t len)
{
    struct decoded d;
    decode(a, dlt, data, caplen, &d);
    return take(a, ts, &d, len);
}

static int hold(struct agg *a, int dlt, int64_t ts, const uint8_t *data, size_t caplen,
                uint32_t len)
{
    struct held_frame *h = &a->held[a->clock.n_held - 1];
    if (h->cap < caplen) {
        uint8_t *n = realloc(h->data, caplen);
        if (!n) return err_set(-ENOMEM, "observe: out of memory");
        h->data = n;
        h->cap = caplen;
    }
    if (caplen) memcpy(h->data, data, caplen); /* an empty frame may come with no buffer */
    h->caplen = caplen;
    h->len = len;
    h->dlt = dlt;
    h->ts = ts;
    return 0;
}

static int apply(struct agg *a, const struct agg_clock_step *st)
{
    int rc = 0;
    a->bad_time += st->drop;
    for (size_t i = st->drop; i < st->drop + st->take && rc == 0; i++) {
        struct held_frame *h = &a->held[i];
        if (st->lone >> i & 1)
            a->bad_time++;
        else
            rc = take_raw(a, h->dlt, h->ts, h->data, h->caplen, h->len);
    }
    return rc;
}

static int frame(struct agg *a, int dlt, int64_t ts, const uint8_t *data, size_t caplen,
                 uint32_t len, const struct decoded *d)
{
    a->tot.frames++;
    if (ts < 0 || ts >= PKT_TIME_MAX_US) {
        a->bad_time++;
        return 0;
    }
    struct agg_clock *c = &a->clock;
    if (c->started && !c->n_held && ts <= c->now + AGG_JUMP_US) {
        /* nearly every frame: near the clock, nothing held — all that
         * agg_clock_feed would do is move the clock */
        c->now = max64(c->now, ts);
        return d ? take(a, ts, d, len) : take_raw(a, dlt, ts, data, caplen, len);
    }
    struct agg_clock_step st;
    agg_clock_feed(c, ts, &st);
    int rc = apply(a, &st);
    if (rc < 0) return rc;
    if (st.hold) return hold(a, dlt, ts, data, caplen, len);
    return d ? take(a, ts, d, len) : take_raw(a, dlt, ts, data, caplen, len);
}

int agg_frame(struct agg *a, int dlt, int64_t ts, const uint8_t *data, size_t caplen, uint32_t len)
{
    return frame(a, dlt, ts, data, caplen, len, NULL);
}

#define BATCH 32

int agg_frames(struct agg *a, const struct pcapf_rec *f, size_t n)
{
    struct decoded d[BATCH];
    for (size_t at = 0; at < n; at += BATCH) {
        size_t k = n - at < BATCH ? n - at : BATCH;
        for (size_t i = 0; i < k; i++) /* decode and hash, then fetch their slots */
            decode(a, f[at + i].dlt, f[at + i].data, f[at + i].caplen, &d[i]);
        /* Each step fetches what the next one reads, for the whole batch, so
         * that the misses of 32 packets overlap and no step waits on a line
         * nobody asked for: first the source's index slot and the port's
         * pointer; then the port's counters, and the interval row the slot
         * names (or, for a new source, its geo lookup); then the port's
         * sketch lines.  Written out rather than through inline helpers:
         * gcc 12 drops prefetches that come through an inline call in these
         * loops. */
        const struct srctab *t = &a->srcs;
        uint32_t kidx[BATCH];
        for (size_t i = 0; i < k; i++) {
            kidx[i] = UINT32_MAX;
            if (!d[i].darknet || !d[i].mine) continue;
            __builtin_prefetch(srctab_first_slot(t, d[i].hsrc));
            if (l4_proto(&d[i].p)) { /* the port's counters, when it is no backscatter */
                kidx[i] = key_index(0, d[i].p.proto, d[i].p.dport);
                __builtin_prefetch(&a->keys[kidx[i]]);
            }
        }
        for (size_t i = 0; i < k; i++) {
            if (!d[i].darknet || !d[i].mine) continue;
            if (kidx[i] != UINT32_MAX && a->keys[kidx[i]]) __builtin_prefetch(a->keys[kidx[i]]);
            const struct srcslot *e = srctab_find(t, &d[i].p.src, d[i].hsrc);
            if (e && e->user < a->n_touched) /* its row, if it is the source's */
                __builtin_prefetch(&a->iv[e->user]);
            else if (!e && a->geo) /* a new source: it will be looked up */
                geo_cache_prefetch(a->geo, &d[i].p.src);
        }
        for (size_t i = 0; i < k; i++) {
            const struct keystat *ks = kidx[i] != UINT32_MAX ? a->keys[kidx[i]] : NULL;
            if (ks && ks->stamp == a->serial) {
                sketch_prefetch(&ks->dst, d[i].hdst);
                sketch_prefetch(&ks->src, d[i].hsrc);
            }
        }
        for (size_t i = 0; i < k; i++) {
            const struct pcapf_rec *x = &f[at + i];
            int rc = frame(a, x->dlt, x->ts_us, x->data, x->caplen, x->wirelen, &d[i]);
            if (rc < 0) return rc;
        }
    }
    return 0;
}

int agg_expect_sources(struct agg *a, size_t sources)
{
    size_t budget = interval_budget(a);
    if (a->srcs.n) return 0;
    if (srctab_reserve(&a->srcs, sources < budget ? sources : budget) < 0)
        return err_set(-ENOMEM, "observe: out of memory");
    return 0;
}

void agg_set_floor(struct agg *a, int64_t us)
{
    a->min_us = max64(a->min_us, us);
}

int agg_tick(struct agg *a, int64_t now_us)
{
    struct agg_clock_step st;
    agg_clock_settle(&a->clock, now_us, false, &st);
    int rc = apply(a, &st);
    if (rc == 0 && a->open && now_us >= a->end * 1000000) return agg_flush(a, false);
    return rc;
}

int agg_settle(struct agg *a, int64_t now_us)
{
    struct agg_clock_step st;
    agg_clock_settle(&a->clock, now_us, true, &st);
    return apply(a, &st);
}

/* Upsert a (packets, sources) row into a small table keyed by u32. */
struct keyrow {
    uint32_t key;
    const char *label;
    uint64_t packets, bytes;
    struct sketch src;
};

static int keyrow_add(struct table *t, uint32_t key, const char *label, const struct ivrow *s,
                      uint64_t hash)
{
    struct keyrow *r = table_get(t, &key, hash_mix64(key + 1), NULL);
    if (!r) return -ENOMEM;
    if (!r->label) r->label = label;
    r->packets += s->packets;
    r->bytes += s->bytes;
    return sketch_add(&r->src, hash);
}

static int rows_from_table(struct table *t, struct interval_rec *r, int kind)
{
    r->rows[kind] = calloc(t->n ? t->n : 1, sizeof(struct stat_row));
    if (!r->rows[kind]) return -ENOMEM;
    struct keyrow *k;
    for (size_t i = 0; (k = table_next(t, &i));) {
        struct stat_row *o = &r->rows[kind][r->n_rows[kind]++];
        o->key = k->key;
        o->label = k->label;
        o->packets = k->packets;
        o->bytes = k->bytes;
        o->src = k->src; /* ownership moves */
    }
    return 0;
}

/* The window's rows go to the record in the table's own storage (grown
 * when its reservation has no room: a row is larger than an entry): each
 * entry becomes its src_row from the last one back, so that a row only
 * overwrites entries already made rows; and the table starts over, sized
 * for as many.  Every interval of the window has been folded
 * into its entries (build_sources ran before). */
static int flush_events(struct agg *a, struct interval_rec *r, bool final)
{
    struct srctab *t = &a->srcs;
    if (!t->n) return 0;
    size_t n, room = t->ecap * t->esize;
    uint8_t *ent = srctab_take(t, &n);
    if (n * sizeof(struct src_row) > room) { /* rows are larger than entries */
        uint8_t *p = realloc(ent, n * sizeof(struct src_row));
        if (!p) {
            free(ent);
            return err_set(-ENOMEM, "observe: out of memory");
        }
        ent = p;
    }
    /* in first-seen order, from the last: a row overlaps its own entry and
     * the next ones, already rows */
    for (size_t i = n; i-- > 0;) {
        if (i >= 8) geo_ref_prefetch(a->geo, ((const struct srcent *)ent)[i - 8].geo);
        struct src_row o = entry_row(a, (const struct srcent *)(ent + i * sizeof(struct srcent)));
        memcpy(ent + i * sizeof(struct src_row), &o, sizeof o);
    }
    struct src_row *rows = realloc(ent, n * sizeof *rows);
    r->events = rows ? rows : (struct src_row *)ent;
    r->n_events = n;
    a->n_touched = 0;
    if (srctab_init(t, sizeof(struct srcent), final ? 16 : n) < 0) return -ENOMEM;
    return 0;
}

/* Busiest first; among equals, the lower address, so that the choice does
 * not depend on table order (one aggregator or several agree). */
static bool busier(const struct agg *a, const struct ivrow *x, const struct ivrow *y)
{
    if (x->packets != y->packets) return x->packets > y->packets;
    return memcmp(&entry_at(a, x->slot)->ip, &entry_at(a, y->slot)->ip,
                  sizeof(struct ipaddr)) < 0;
}

static int by_rank(const void *x, const void *y)
{
    const struct src_row *a = x, *b = y;
    if (a->packets != b->packets) return a->packets < b->packets ? 1 : -1;
    return memcmp(&a->ip, &b->ip, sizeof a->ip);
}

/* The RECORD_TOP_SOURCES busiest sources of the interval, by a min-heap
 * (the least busy on top) over its rows. */
static void heap_down(const struct agg *a, const struct ivrow **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && busier(a, h[m], h[l])) m = l;
        if (l + 1 < n && busier(a, h[m], h[l + 1])) m = l + 1;
        if (m == i) return;
        const struct ivrow *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* The interval's view of a source: its own counts, the window's identity. */
static struct src_row interval_row(const struct agg *a, const struct ivrow *v)
{
    struct src_row o = entry_row(a, entry_at(a, v->slot));
    o.first_us = v->first;
    o.last_us = v->last;
    o.packets = v->packets;
    o.bytes = v->bytes;
    memcpy(o.ports, v->ports, sizeof o.ports);
    o.nports = v->nports;
    o.more_ports = v->more;
    o.fpmask = v->fpmask;
    o.clsmask = v->clsmask;
    return o;
}

static int top_sources(struct agg *a, struct interval_rec *r)
{
    const struct ivrow *heap[RECORD_TOP_SOURCES];
    size_t k = 0;
    for (size_t i = 0; i < a->n_touched; i++) {
        const struct ivrow *v = &a->iv[i];
        if (k < RECORD_TOP_SOURCES) {
            heap[k++] = v;
            if (k == RECORD_TOP_SOURCES)
                for (size_t j = k / 2; j-- > 0;)
                    heap_down(a, heap, k, j);
        } else if (v->packets >= heap[0]->packets && busier(a, v, heap[0])) {
            heap[0] = v;
            heap_down(a, heap, k, 0);
        }
    }
    if (!(r->srcs = malloc((k ? k : 1) * sizeof *r->srcs)))
        return err_set(-ENOMEM, "observe: out of memory");
    for (size_t i = 0; i < k; i++)
        r->srcs[i] = interval_row(a, heap[i]);
    r->n_srcs = k;
    qsort(r->srcs, k, sizeof *r->srcs, by_rank);
    return 0;
}

static int build_sources(struct agg *a, struct interval_rec *r)
{
    struct table cc, asn;
    struct keyrow fps[FP_COUNT];
    memset(fps, 0, sizeof fps);
    if (table_init(&cc, sizeof(struct keyrow), sizeof(uint32_t), 64) < 0) return -ENOMEM;
    if (table_init(&asn, sizeof(struct keyrow), sizeof(uint32_t), 256) < 0) {
        table_free(&cc);
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->n_touched; i++) {
        if (i + 32 < a->n_touched) { /* the lines of the entry read below */
            const uint8_t *e = (const uint8_t *)entry_at(a, a->iv[i + 32].slot);
            __builtin_prefetch(e, 1);
            __builtin_prefetch(e + sizeof(struct srcent) - 1, 1);
        }
        if (i + 8 < a->n_touched) /* its country and AS (the entry has arrived) */
            geo_ref_prefetch_keys(a->geo, entry_at(a, a->iv[i + 8].slot)->geo);
        const struct ivrow *v = &a->iv[i];
        struct srcent *s = entry_at(a, v->slot);
        uint64_t h = ip_hash(&s->ip, HASH_SEED_SRC); /* as the packets' (cheaper than a miss) */
        fold_window(s, v);
        rc = sketch_add(&r->sources, h);
        for (int f = 0; f < FP_COUNT && rc == 0; f++)
            if (v->fpmask & (1u << f)) rc = sketch_add(&fps[f].src, h);
        if (rc == 0 && a->geo) {
            char c2[2];
            uint32_t as;
            const char *as_name;
            geo_ref_keys(a->geo, s->geo, c2, &as, &as_name);
            if (c2[0]) rc = keyrow_add(&cc, (uint32_t)(c2[0] << 8 | c2[1]), NULL, v, h);
            if (rc == 0 && as) rc = keyrow_add(&asn, as, as_name, v, h);
        }
    }
    if (rc == 0) rc = sketch_merge(&r->sources, &a->over_src);
    for (int f = 0; f < FP_COUNT && rc == 0; f++)
        rc = sketch_merge(&fps[f].src, &a->over_fp[f]);
    sketch_free(&a->over_src);
    for (int f = 0; f < FP_COUNT; f++)
        sketch_free(&a->over_fp[f]);
    if (rc == 0) rc = top_sources(a, r);
    if (rc == 0) rc = rows_from_table(&cc, r, ROW_COUNTRY);
    if (rc == 0) rc = rows_from_table(&asn, r, ROW_ASN);
    if (rc == 0 && !(r->rows[ROW_FINGERPRINT] = calloc(FP_COUNT, sizeof(struct stat_row))))
        rc = -ENOMEM;
    for (int f = 0; f < FP_COUNT; f++) {
        if (rc == 0 && a->fp_packets[f]) {
            struct stat_row *o = &r->rows[ROW_FINGERPRINT][r->n_rows[ROW_FINGERPRINT]++];
            o->key = (uint32_t)f;
            o->packets = a->fp_packets[f];
            o->bytes = a->fp_bytes[f];
            o->src = fps[f].src;
        } else {
            sketch_free(&fps[f].src);
        }
    }
    struct keyrow *k;
    if (rc < 0) { /* rows not handed over still own their sketches */
        for (size_t i = 0; (k = table_next(&cc, &i));)
            sketch_free(&k->src);
        for (size_t i = 0; (k = table_next(&asn, &i));)
            sketch_free(&k->src);
    }
    table_free(&cc);
    table_free(&asn);
    return rc < 0 ? err_set(-ENOMEM, "observe: out of memory") : 0;
}

/* The interval's port rows in key order (protocol, then port), as every
 * shard makes them: merge.c then joins shards' rows in one pass, and the
 * surge baselines and the store's rollups are walked in order. */
static int build_ports(struct agg *a, struct interval_rec *r)
{
    for (int kind = 0; kind < 2; kind++) {
        r->rows[kind] = calloc(a->n_used ? a->n_used : 1, sizeof(struct stat_row));
        if (!r->rows[kind]) return err_set(-ENOMEM, "observe: out of memory");
    }
    size_t n = 0;
    for (size_t w = 0; w < NKEYS / 64 && n < a->n_used; w++) {
        for (uint64_t x = a->usedmap[w]; x; x &= x - 1)
            a->used[n++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
        a->usedmap[w] = 0;
    }
    for (size_t i = 0; i < a->n_used; i++) {
        uint32_t idx = a->used[i];
        if (i + 8 < a->n_used) __builtin_prefetch(a->keys[a->used[i + 8]]);
        struct keystat *k = a->keys[idx];
        int kind = (int)(idx >> 17);
        struct stat_row *o = &r->rows[kind][r->n_rows[kind]++];
        o->proto = (idx >> 16 & 1) ? IPPROTO_UDP : IPPROTO_TCP;
        o->key = idx & 0xffff;
        o->packets = k->packets;
        o->bytes = k->bytes;
        o->src = k->src; /* ownership moves: the key starts the next interval empty */
        o->dst = k->dst;
        k->last_src = k->src.reg ? SKETCH_EXACT_MAX : k->src.n;
        k->last_dst = k->dst.reg ? SKETCH_EXACT_MAX : k->dst.n;
        sketch_init(&k->src);
        sketch_init(&k->dst);
    }
    a->n_used = 0;
    return 0;
}
int agg_surge(struct surge *sg, struct interval_rec *r)
{
    int64_t idx = surge_next_interval(sg);
    for (size_t i = 0; i < r->n_rows[ROW_PORT]; i++) {
        struct stat_row *row = &r->rows[ROW_PORT][i];
        struct alert_row al;
        if (!surge_observe(sg, row->proto, (uint16_t)row->key, idx, sketch_count(&row->src), &al))
            continue;
        al.at = r->start;
        struct alert_row *n = realloc(r->alerts, (r->n_alerts + 1) * sizeof *n);
        if (!n) return err_set(-ENOMEM, "observe: out of memory");
        r->alerts = n;
        r->alerts[r->n_alerts++] = al;
    }
    return 0;
}

/* Sums *v over the shards (each waits for the others); alone, nothing to do. */
static int sync_sum(struct agg *a, uint64_t *v)
{
    if (a->cfg.n_shards <= 1 || !a->cfg.sync) return 0;
    return a->cfg.sync(a->cfg.sync_ctx, v);
}

static int detect(struct agg *a, struct interval_rec *r, bool final)
{
    if (a->cfg.surge) {
        int rc = agg_surge(a->cfg.surge, r);
        if (rc < 0) return rc;
    }
    if (a->cfg.dos) {
        int rc = dos_expire(a->cfg.dos, final ? -1 : r->end * 1000000, &r->dos, &r->n_dos);
        if (rc < 0) return rc;
    }
    return 0;
}

int agg_flush(struct agg *a, bool final)
{
    if (final && a->clock.n_held) { /* never confirmed, and the caller did not settle */
        struct agg_clock_step st;
        agg_clock_settle(&a->clock, INT64_MIN, true, &st);
        a->bad_time += st.drop;
    }
    if (!a->open) {
        uint64_t open_dos = final && a->cfg.dos ? dos_open(a->cfg.dos) : 0;
        if (final && sync_sum(a, &open_dos) < 0) return -ECANCELED;
        bool dos = open_dos > 0;
        /* frames counted apart since the last interval closed (a live capture
         * whose clock is behind the database takes nothing) are in the
         * contract only in a row: the interval they are older than */
        int64_t at = a->floor_set ? a->floor_us : a->min_us > 0 ? a->min_us : -1;
        bool apart = final && (a->late || a->bad_time) && at >= 0;
        if (!dos && !apart) { /* no interval to count them in */
            a->tot.late += a->late;
            a->tot.bad_time += a->bad_time;
            a->late = a->bad_time = 0;
            return 0;
        }
        /* a last, empty interval carries the DoS rows, or those frames */
        open_interval(a, dos ? a->end * 1000000 : at);
    }
    struct interval_rec *r = calloc(1, sizeof *r);
    if (!r) return err_set(-ENOMEM, "observe: out of memory");
    r->start = a->start;
    r->end = a->end;
    r->packets = a->packets;
    r->bytes = a->bytes;
    r->malformed = a->malformed;
    r->non_ip = a->non_ip;
    r->outside = a->outside;
    r->iot_packets = a->iot_packets;
    r->late = a->late;
    r->bad_time = a->bad_time;
    r->first_us = a->first_us;
    r->last_us = a->last_us;
    memcpy(r->cls, a->cls, sizeof r->cls);
    int rc = build_ports(a, r);
    if (rc == 0) rc = build_sources(a, r);
    if (rc == 0) rc = detect(a, r, final);
    uint64_t window = a->srcs.n; /* of every shard */
    if (sync_sum(a, &window) < 0 && rc == 0) rc = -ECANCELED;
    if (rc == 0 && (final || a->end - a->events_from >= a->cfg.event_window ||
                    window >= a->cfg.max_sources)) {
        r->events_from = a->events_from;
        rc = flush_events(a, r, final);
        a->events_from = a->end;
    }
    a->tot.packets += a->packets;
    a->tot.malformed += a->malformed;
    a->tot.non_ip += a->non_ip;
    a->tot.outside += a->outside;
    a->tot.late += a->late;
    a->tot.bad_time += a->bad_time;
    a->tot.intervals++;
    a->tot.alerts += r->n_alerts;
    a->tot.dos += r->n_dos;
    a->n_touched = 0;
    a->packets = a->bytes = a->malformed = a->non_ip = a->outside = a->iot_packets = 0;
    a->late = a->bad_time = 0;
    memset(a->cls, 0, sizeof a->cls);
    memset(a->fp_packets, 0, sizeof a->fp_packets);
    memset(a->fp_bytes, 0, sizeof a->fp_bytes);
    a->open = false;
    if (rc < 0) {
        interval_rec_free(r);
        return rc;
    }
    return a->cfg.sink ? a->cfg.sink(r, a->cfg.sink_ctx) : (interval_rec_free(r), 0);
}

const struct agg_totals *agg_totals(const struct agg *a)
{
    return &a->tot;
}

void agg_free(struct agg *a)
{
    if (!a) return;
    for (size_t i = 0; a->keys && i < NKEYS; i++) {
        struct keystat *k = a->keys[i];
        if (k) {
            sketch_free(&k->src);
            sketch_free(&k->dst);
            free(k);
        }
    }
    free(a->keys);
    free(a->used);
    free(a->usedmap);
    for (size_t i = 0; i < AGG_CONFIRM; i++)
        free(a->held[i].data);
    srctab_free(&a->srcs);
    free(a->iv);
    geo_cache_free(a->geo);
    sketch_free(&a->over_src);
    for (int f = 0; f < FP_COUNT; f++)
        sketch_free(&a->over_fp[f]);
    free(a);
}
