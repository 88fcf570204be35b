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
 * table is far larger than the caches.  This file is the packet path and
 * the clock; closing an interval is agg_close.c, their shared state
 * agg_int.h. */
#include "agg_int.h"
#include "../core/err.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct agg *agg_new(const struct agg_cfg *cfg)
{
    struct agg *a = calloc(1, sizeof *a);
    if (!a) goto oom;
    a->cfg = *cfg;
    if (!a->cfg.max_sources) a->cfg.max_sources = AGG_MAX_SOURCES;
    if (a->cfg.n_shards < 1) a->cfg.n_shards = 1;
    a->budget = (a->cfg.max_sources + a->cfg.n_shards - 1) / a->cfg.n_shards; /* not per packet */
    if (getrandom(&a->idx_seed, sizeof a->idx_seed, GRND_NONBLOCK) != sizeof a->idx_seed)
        a->idx_seed = hash_mix64((uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)a); /* early boot */
    a->keys = calloc(NKEYS, sizeof *a->keys);
    a->used = malloc(NKEYS * sizeof *a->used);
    a->usedmap = calloc(NKEYS / 64, sizeof *a->usedmap);
    if ((a->cfg.geo && !(a->geo = geo_cache_new(a->cfg.geo))) || !a->keys || !a->used ||
        !a->usedmap || table_init(&a->cc_rows, sizeof(struct keyrow), sizeof(uint32_t), 64) < 0 ||
        table_init(&a->asn_rows, sizeof(struct keyrow), sizeof(uint32_t), 256) < 0 ||
        srctab_init(&a->srcs, sizeof(struct srcent), 1024, a->idx_seed) < 0) {
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

static int account(struct agg *a, const struct pkt *p, uint64_t hsrc, uint64_t hidx,
                   uint64_t hdst, int64_t ts, uint32_t len)
{
    enum pkt_class c = classify(p);
    enum fingerprint fp = c == CLS_TCP_SYN ? fingerprint(p) : FP_NONE;
    a->packets++;
    a->bytes += len;
    a->cls[c]++;
    bool full;
    struct ivrow *v = NULL;
    struct srcslot *s = src_get(a, &p->src, hidx, ts, &full, &v);
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

void agg_open_interval(struct agg *a, int64_t ts_us)
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
    uint64_t hsrc, hdst, hidx; /* hidx: the source's in the table's index (srctab_hash) */
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
    if (d->mine) {
        d->hdst = ip_hash(&d->p.dst, HASH_SEED_DST);
        d->hidx = srctab_hash(&a->srcs, &d->p.src);
    }
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
    if (!a->open) agg_open_interval(a, a->floor_set ? max64(ts, a->floor_us) : ts);
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
    return account(a, &d->p, d->hsrc, d->hidx, d->hdst, ts, len);
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
            __builtin_prefetch(srctab_first_slot(t, d[i].hidx));
            if (l4_proto(&d[i].p)) { /* the port's counters, when it is no backscatter */
                kidx[i] = key_index(0, d[i].p.proto, d[i].p.dport);
                __builtin_prefetch(&a->keys[kidx[i]]);
            }
        }
        for (size_t i = 0; i < k; i++) {
            if (!d[i].darknet || !d[i].mine) continue;
            if (kidx[i] != UINT32_MAX && a->keys[kidx[i]]) __builtin_prefetch(a->keys[kidx[i]]);
            const struct srcslot *e = srctab_find(t, &d[i].p.src, d[i].hidx);
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


const struct agg_totals *agg_totals(const struct agg *a)
{
    return &a->tot;
}

void agg_free(struct agg *a)
{
    if (!a) return;
    struct table *rows[2] = {&a->cc_rows, &a->asn_rows};
    for (int t = 0; t < 2; t++) {
        struct keyrow *k;
        for (size_t i = 0; (k = table_next(rows[t], &i));)
            sketch_free(&k->src);
        table_free(rows[t]);
    }
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
