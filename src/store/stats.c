/* stats — per-key stats blobs and their union (see stats.h). */
#include "stats.h"
#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC0 'M'
#define MAGIC1 'S'
#define VERSION 1
#define LABEL_MAX 255 /* longer labels are cut: an AS name is data from outside */
_Static_assert(LABEL_MAX <= UINT8_MAX, "a label's length fits stats_entry.nlabel");

void stats_acc_init(struct stats_acc *a)
{
    memset(a, 0, sizeof *a);
    sketch_init(&a->sources);
}

void stats_acc_free(struct stats_acc *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->e[i].label);
        sketch_free(&a->e[i].src);
        sketch_free(&a->e[i].dst);
    }
    free(a->e);
    free(a->slot);
    sketch_free(&a->sources);
    stats_acc_init(a);
}

static uint64_t hash_key(uint8_t kind, uint8_t proto, uint32_t key)
{
    uint64_t h = ((uint64_t)kind << 40 | (uint64_t)proto << 32 | key) * 0x9e3779b97f4a7c15ull;
    return h ^ h >> 29;
}

static int rehash(struct stats_acc *a, size_t nslot)
{
    uint32_t *slot = calloc(nslot, sizeof *slot);
    if (!slot) return err_set(-ENOMEM, "stats: out of memory");
    for (size_t i = 0; i < a->n; i++) {
        size_t j = hash_key(a->e[i].kind, a->e[i].proto, a->e[i].key) & (nslot - 1);
        while (slot[j])
            j = (j + 1) & (nslot - 1);
        slot[j] = (uint32_t)i + 1;
    }
    free(a->slot);
    a->slot = slot;
    a->nslot = nslot;
    return 0;
}

/* The entry of (kind, proto, key), created empty when new; NULL on ENOMEM. */
static struct stats_entry *entry(struct stats_acc *a, uint8_t kind, uint8_t proto, uint32_t key)
{
    if ((a->n + 1) * 2 > a->nslot && rehash(a, a->nslot ? a->nslot * 2 : 256) < 0) return NULL;
    size_t j = hash_key(kind, proto, key) & (a->nslot - 1);
    for (; a->slot[j]; j = (j + 1) & (a->nslot - 1)) {
        struct stats_entry *e = &a->e[a->slot[j] - 1];
        if (e->kind == kind && e->proto == proto && e->key == key) return e;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 128;
        struct stats_entry *g = realloc(a->e, cap * sizeof *g);
        if (!g) {
            err_set(-ENOMEM, "stats: out of memory");
            return NULL;
        }
        a->e = g;
        a->cap = cap;
    }
    struct stats_entry *e = &a->e[a->n];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->proto = proto;
    e->key = key;
    sketch_init(&e->src);
    sketch_init(&e->dst);
    a->slot[j] = (uint32_t)++a->n;
    return e;
}

/* As SQL's max() over the labels: the greatest, byte-wise. */
static int keep_label(struct stats_entry *e, const char *label, size_t n)
{
    if (n > LABEL_MAX) n = LABEL_MAX;
    if (e->label) {
        size_t m = e->nlabel; /* kept, not measured: an hour folds in every AS row of it */
        int c = memcmp(label, e->label, n < m ? n : m);
        if (c < 0 || (c == 0 && n <= m)) return 0;
    }
    char *copy = malloc(n + 1);
    if (!copy) return err_set(-ENOMEM, "stats: out of memory");
    memcpy(copy, label, n);
    copy[n] = 0;
    free(e->label);
    e->label = copy;
    e->nlabel = (uint8_t)n;
    return 0;
}

/* Forward: an interval's rows are encoded and folded in one pass (below). */
static int fold_rec(struct stats_acc *a, const struct interval_rec *r, uint8_t *b, size_t *o);

int stats_acc_add_rec(struct stats_acc *a, const struct interval_rec *r)
{
    return fold_rec(a, r, NULL, NULL);
}

int stats_acc_merge(struct stats_acc *dst, const struct stats_acc *src)
{
    int rc = sketch_union(&dst->sources, &src->sources);
    for (size_t i = 0; i < src->n && rc == 0; i++) {
        const struct stats_entry *s = &src->e[i];
        struct stats_entry *e = entry(dst, s->kind, s->proto, s->key);
        if (!e) return -ENOMEM;
        e->packets += s->packets;
        e->bytes += s->bytes;
        rc = sketch_union(&e->src, &s->src);
        if (rc == 0) rc = sketch_union(&e->dst, &s->dst);
        if (rc == 0 && s->label) rc = keep_label(e, s->label, s->nlabel);
    }
    return rc;
}

/* ---- encoding ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t sketch_len(const struct sketch *s)
{
    return sketch_used(s) ? sketch_encoded_max(s) : 0;
}

/* The most one record takes besides its label and sketches. */
#define RECORD_FIXED (6 + 5 * 10)

static size_t put_record(uint8_t *b, uint8_t kind, uint8_t proto, uint32_t key, uint64_t packets,
                         uint64_t bytes, const char *label, size_t nl, const struct sketch *src,
                         const struct sketch *dst)
{
    size_t o = 0;
    if (nl > LABEL_MAX) nl = LABEL_MAX;
    b[o++] = kind;
    b[o++] = proto;
    for (int i = 0; i < 4; i++)
        b[o++] = (uint8_t)(key >> (8 * i));
    o += put_varint(b + o, packets);
    o += put_varint(b + o, bytes);
    o += put_varint(b + o, nl);
    memcpy(b + o, label ? label : "", nl);
    o += nl;
    /* a sketch's length goes first as a 3-byte varint (continuation bits
     * set; a sketch is under 2^21 bytes), so that it is encoded in one go
     * rather than measured first (two passes over a HyperLogLog's registers) */
    const struct sketch *sk[2] = {src, dst};
    for (int i = 0; i < 2; i++) {
        size_t n = sk[i] && sketch_used(sk[i]) ? sketch_encode_fast(sk[i], b + o + 3) : 0;
        b[o] = (uint8_t)(n | 0x80);
        b[o + 1] = (uint8_t)(n >> 7 | 0x80);
        b[o + 2] = (uint8_t)(n >> 14);
        o += 3 + n;
    }
    return o;
}

/* nl bounds the label's length: an interval's rows are not measured twice
 * (their labels, an AS name each, are scattered over the geo data). */
static size_t bound(size_t nl, const struct sketch *src, const struct sketch *dst)
{
    return RECORD_FIXED + (nl > LABEL_MAX ? LABEL_MAX : nl) + (src ? sketch_len(src) : 0) +
           (dst ? sketch_len(dst) : 0);
}

static void prefetch_sketches(const struct sketch *src, const struct sketch *dst)
{
    __builtin_prefetch(src->set ? (const void *)src->set : (const void *)src->reg);
    __builtin_prefetch(dst->set ? (const void *)dst->set : (const void *)dst->reg);
}

/* Each sketch is an allocation of its own: reading the ones AHEAD records on
 * overlaps their cache misses with this record's encoding. */
#define AHEAD 8

/* Rows BATCH at a time, encoded into b at *o (when b) and folded into a (when
 * a) in the same pass, so that a row's sketches and AS name, scattered over
 * memory, are fetched once for both (twice cost the writer 0.1-0.2 s of the
 * 10M capture with geo).  The entries of a batch are looked up (and the
 * sketches they will touch prefetched) before any is merged, so the cache
 * misses of an hour's worth of entries overlap instead of following one
 * another. */
#define BATCH 16

static int fold_rows(struct stats_acc *a, int k, const struct stat_row *w, size_t n, uint8_t *b,
                     size_t *o)
{
    size_t idx[BATCH];
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += BATCH) {
        size_t m = n - i < BATCH ? n - i : BATCH;
        for (size_t j = 0; a && a->nslot && j < m; j++) /* the slots first: entry() reads them */
            __builtin_prefetch(
                &a->slot[hash_key((uint8_t)k, w[i + j].proto, w[i + j].key) & (a->nslot - 1)]);
        for (size_t j = 0; a && j < m; j++) {
            struct stats_entry *e = entry(a, (uint8_t)k, w[i + j].proto, w[i + j].key);
            if (!e) return -ENOMEM;
            idx[j] = (size_t)(e - a->e); /* entry() may move a->e: an index, not a pointer */
            __builtin_prefetch(e->src.set ? (const void *)e->src.set : (const void *)e->src.reg, 1);
            __builtin_prefetch(e->dst.set ? (const void *)e->dst.set : (const void *)e->dst.reg, 1);
            __builtin_prefetch(w[i + j].src.set);
            __builtin_prefetch(w[i + j].dst.set);
        }
        for (size_t j = 0; j < m && rc == 0; j++) {
            const struct stat_row *r = &w[i + j];
            if (!a && i + j + AHEAD < n) prefetch_sketches(&r[AHEAD].src, &r[AHEAD].dst);
            /* the interval table stores a missing AS name as '' */
            const char *label = k == ROW_ASN ? (r->label ? r->label : "") : NULL;
            size_t nl = label ? strlen(label) : 0;
            if (b)
                *o += put_record(b + *o, (uint8_t)k, r->proto, r->key, r->packets, r->bytes, label,
                                 nl, &r->src, &r->dst);
            if (!a) continue;
            struct stats_entry *e = &a->e[idx[j]];
            e->packets += r->packets;
            e->bytes += r->bytes;
            rc = sketch_union(&e->src, &r->src);
            if (rc == 0) rc = sketch_union(&e->dst, &r->dst);
            if (rc == 0 && label) rc = keep_label(e, label, nl);
        }
    }
    return rc;
}

static int fold_rec(struct stats_acc *a, const struct interval_rec *r, uint8_t *b, size_t *o)
{
    int rc = a ? sketch_union(&a->sources, &r->sources) : 0;
    for (int k = 0; k < ROW_KINDS && rc == 0; k++)
        rc = fold_rows(a, k, r->rows[k], r->n_rows[k], b, o);
    return rc;
}

/* A blob of at most cap bytes with its header written (3 bytes), or NULL. */
static uint8_t *blob_start(size_t cap)
{
    uint8_t *b = malloc(cap);
    if (!b) {
        err_set(-ENOMEM, "stats: out of memory");
        return NULL;
    }
    b[0] = MAGIC0;
    b[1] = MAGIC1;
    b[2] = VERSION;
    return b;
}

int stats_encode_rec_fold(const struct interval_rec *r, uint8_t **buf, size_t *len,
                          struct stats_acc *a)
{
    size_t cap = 3;
    for (int k = 0; k < ROW_KINDS; k++)
        for (size_t i = 0; i < r->n_rows[k]; i++)
            cap += bound(k == ROW_ASN ? LABEL_MAX : 0, &r->rows[k][i].src, &r->rows[k][i].dst);
    uint8_t *b = blob_start(cap);
    if (!b) return -ENOMEM;
    size_t o = 3;
    int rc = fold_rec(a, r, b, &o);
    if (rc < 0) {
        free(b);
        return rc == -ENOMEM ? err_set(rc, "stats: out of memory") : rc;
    }
    *buf = b;
    *len = o;
    return 0;
}

int stats_encode_rec(const struct interval_rec *r, uint8_t **buf, size_t *len)
{
    return stats_encode_rec_fold(r, buf, len, NULL);
}

int stats_encode_acc(const struct stats_acc *a, uint8_t **buf, size_t *len)
{
    size_t cap = 3 + bound(0, &a->sources, NULL);
    for (size_t i = 0; i < a->n; i++)
        cap += bound(a->e[i].nlabel, &a->e[i].src, &a->e[i].dst);
    uint8_t *b = blob_start(cap);
    if (!b) return -ENOMEM;
    size_t o = 3;
    if (sketch_used(&a->sources)) /* an interval's sources are in interval_sketches */
        o += put_record(b + o, STATS_SOURCES, 0, 0, 0, 0, NULL, 0, &a->sources, NULL);
    for (size_t i = 0; i < a->n; i++) {
        const struct stats_entry *e = &a->e[i];
        if (i + AHEAD < a->n) prefetch_sketches(&e[AHEAD].src, &e[AHEAD].dst);
        o += put_record(b + o, e->kind, e->proto, e->key, e->packets, e->bytes, e->label, e->nlabel,
                        &e->src, &e->dst);
    }
    *buf = b;
    *len = o;
    return 0;
}

/* ---- decoding ---- */

static int get_varint(struct stats_iter *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -EINVAL;
        uint8_t c = *r->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return 0;
    }
    return -EINVAL;
}

/* A span of n bytes at the cursor. */
static int get_span(struct stats_iter *r, uint64_t *n, const uint8_t **out)
{
    if (get_varint(r, n) < 0 || *n > (uint64_t)(r->end - r->p)) return -EINVAL;
    *out = r->p;
    r->p += *n;
    return 0;
}

int stats_iter_init(struct stats_iter *it, const void *blob, size_t len)
{
    const uint8_t *b = blob;
    if (!b || len < 3 || b[0] != MAGIC0 || b[1] != MAGIC1 || b[2] != VERSION)
        return err_set(-EINVAL, "stats: not a stats blob (or a newer version)");
    it->p = b + 3;
    it->end = b + len;
    return 0;
}

int stats_iter_next(struct stats_iter *r, struct stats_view *x)
{
    if (r->p == r->end) return 0;
    uint64_t nl, ns, nd;
    const uint8_t *label;
    if (r->end - r->p < 6) return err_set(-EINVAL, "stats: truncated record");
    x->kind = r->p[0];
    x->proto = r->p[1];
    x->key = (uint32_t)r->p[2] | (uint32_t)r->p[3] << 8 | (uint32_t)r->p[4] << 16 |
             (uint32_t)r->p[5] << 24;
    r->p += 6;
    if (x->kind > STATS_SOURCES || get_varint(r, &x->packets) || get_varint(r, &x->bytes) ||
        get_span(r, &nl, &label) || get_span(r, &ns, &x->src) || get_span(r, &nd, &x->dst))
        return err_set(-EINVAL, "stats: truncated or bad record");
    x->label = (const char *)label;
    x->nlabel = (size_t)nl;
    x->nsrc = (size_t)ns;
    x->ndst = (size_t)nd;
    return 1;
}

static int merge_record(struct stats_acc *a, const struct stats_view *x)
{
    if (x->kind == STATS_SOURCES)
        return x->nsrc ? sketch_merge_blob(&a->sources, x->src, x->nsrc) : 0;
    struct stats_entry *e = entry(a, x->kind, x->proto, x->key);
    if (!e) return -ENOMEM;
    e->packets += x->packets;
    e->bytes += x->bytes;
    int rc = x->nsrc ? sketch_merge_blob(&e->src, x->src, x->nsrc) : 0;
    if (rc == 0 && x->ndst) rc = sketch_merge_blob(&e->dst, x->dst, x->ndst);
    if (rc == 0 && x->kind == ROW_ASN)
        rc = memchr(x->label, 0, x->nlabel) ? -EINVAL : keep_label(e, x->label, x->nlabel);
    return rc;
}

static int merge_blob(struct stats_acc *a, const void *blob, size_t len, bool all, uint8_t kind,
                      uint8_t proto, uint32_t key)
{
    struct stats_iter it;
    struct stats_view x;
    int rc = stats_iter_init(&it, blob, len);
    while (rc == 0 && (rc = stats_iter_next(&it, &x)) > 0) {
        if (!all && (x.kind != kind || x.proto != proto || x.key != key)) {
            rc = 0;
            continue;
        }
        rc = merge_record(a, &x);
        if (rc == -EINVAL) return err_set(rc, "stats: bad record");
    }
    return rc;
}

int stats_acc_merge_blob(struct stats_acc *a, const void *blob, size_t len)
{
    return merge_blob(a, blob, len, true, 0, 0, 0);
}

int stats_acc_merge_blob_key(struct stats_acc *a, const void *blob, size_t len, uint8_t kind,
                             uint8_t proto, uint32_t key)
{
    return merge_blob(a, blob, len, false, kind, proto, key);
}
