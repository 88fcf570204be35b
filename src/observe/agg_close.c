/* agg_close — closing an interval, and with it an event window (see agg.h).
 *
 * The interval's rows are built from what the packet path (agg.c) left: the
 * port counters of the keys it used, in key order (a bitmap of them); the
 * touched sources' rows, each folded into its window's entry, feeding the
 * interval's distinct sources, fingerprints, countries and ASes (kept rows,
 * sized from the last interval); the busiest sources by a heap.  Every kind
 * of row comes out in key order, so merge.c joins shards' records in one
 * pass.  When the window closes its entries become the record's per-source
 * events in place.  The record goes to the sink with its surge alerts and
 * the DoS vectors that ended in it. */
#include "agg_int.h"
#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

static int keyrow_add(struct agg *a, struct table *t, uint32_t key, const char *label,
                      const struct ivrow *s, uint64_t hash)
{
    struct keyrow *r = table_get(t, &key, hash_mix64(key + 1), NULL);
    if (!r) return -ENOMEM;
    if (r->stamp != a->serial) { /* first in this interval (its sketch moved out, or failed) */
        r->stamp = a->serial;
        r->packets = r->bytes = 0;
        r->label = label;
        sketch_free(&r->src);
        if (sketch_reserve(&r->src, r->last_n) < 0) return -ENOMEM;
    }
    r->packets += s->packets;
    r->bytes += s->bytes;
    return sketch_add(&r->src, hash);
}

static int by_key(const void *x, const void *y)
{
    const struct stat_row *a = x, *b = y;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* The interval's rows of the table, in key order (merge.c joins shards'
 * rows in one pass then). */
static int rows_from_table(struct agg *a, struct table *t, struct interval_rec *r, int kind)
{
    size_t n = 0; /* this interval's: the table holds every key of the run */
    struct keyrow *k;
    for (size_t i = 0; (k = table_next(t, &i));)
        n += k->stamp == a->serial;
    r->rows[kind] = calloc(n ? n : 1, sizeof(struct stat_row));
    if (!r->rows[kind]) return -ENOMEM;
    for (size_t i = 0; (k = table_next(t, &i));) {
        if (k->stamp != a->serial) continue;
        struct stat_row *o = &r->rows[kind][r->n_rows[kind]++];
        o->key = k->key;
        o->label = k->label;
        o->packets = k->packets;
        o->bytes = k->bytes;
        o->src = k->src; /* ownership moves */
        k->last_n = k->src.reg ? SKETCH_EXACT_MAX : k->src.n;
        sketch_init(&k->src);
        k->stamp = 0; /* counted out */
    }
    qsort(r->rows[kind], r->n_rows[kind], sizeof *r->rows[kind], by_key);
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
    if (srctab_init(t, sizeof(struct srcent), final ? 16 : n, a->idx_seed) < 0) return -ENOMEM;
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
    struct table *cc = &a->cc_rows, *asn = &a->asn_rows;
    struct keyrow fps[FP_COUNT];
    memset(fps, 0, sizeof fps);
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
            if (c2[0]) rc = keyrow_add(a, cc, (uint32_t)(c2[0] << 8 | c2[1]), NULL, v, h);
            if (rc == 0 && as) rc = keyrow_add(a, asn, as, as_name, v, h);
        }
    }
    if (rc == 0) rc = sketch_merge(&r->sources, &a->over_src);
    for (int f = 0; f < FP_COUNT && rc == 0; f++)
        rc = sketch_merge(&fps[f].src, &a->over_fp[f]);
    sketch_free(&a->over_src);
    for (int f = 0; f < FP_COUNT; f++)
        sketch_free(&a->over_fp[f]);
    if (rc == 0) rc = top_sources(a, r);
    if (rc == 0) rc = rows_from_table(a, cc, r, ROW_COUNTRY);
    if (rc == 0) rc = rows_from_table(a, asn, r, ROW_ASN);
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
    /* rows not handed over keep their sketches until their next use (keyrow_add) */
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
        agg_open_interval(a, dos ? a->end * 1000000 : at);
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
