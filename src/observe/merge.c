/* merge — joins the records of one interval from several aggregator shards.
 *
 * Shards count disjoint sets of sources (agg.h "Sharding"), so per-source
 * counts add, distinct counts are sketch unions, the top sources of the whole
 * are among the shards' top sources, and per-source events and DoS vectors
 * are simply put together.  Frames that are malformed, not IP or outside
 * the darknet are counted by the shard that owns them (agg.c), so they add
 * up too; the clock's counters (late, bad time, first and last) are the same
 * in every shard and are taken from the first.  Rows in key order in every
 * part (agg makes port, country and AS rows so) are joined in one pass and
 * stay in key order; rows in any other order keep the first part's order,
 * then the keys only later parts had. */
#include "../core/err.h"
#include "../core/table.h"
#include "agg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int by_rank(const void *x, const void *y)
{
    const struct src_row *a = x, *b = y;
    if (a->packets != b->packets) return a->packets < b->packets ? 1 : -1;
    return memcmp(&a->ip, &b->ip, sizeof a->ip);
}

struct slot {
    uint32_t key; /* proto << 24 | key, as a row's identity */
    uint32_t at;  /* index in the joined rows */
};

static uint32_t row_id(const struct stat_row *r)
{
    return (uint32_t)r->proto << 24 ^ r->key;
}

/* o's counts into t, its sketches unioned (o keeps its own, freed with it). */
static int add_row(struct stat_row *t, const struct stat_row *o)
{
    t->packets += o->packets;
    t->bytes += o->bytes;
    if (!t->label) t->label = o->label;
    return sketch_union(&t->src, &o->src) < 0 || sketch_union(&t->dst, &o->dst) < 0 ? -ENOMEM : 0;
}

static bool ordered(const struct stat_row *r, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (row_id(&r[i - 1]) >= row_id(&r[i])) return false;
    return true;
}

/* Rows of one kind both in key order (as agg makes them): one pass, and the
 * joined rows stay in key order. */
static int join_ordered(struct interval_rec *dst, struct interval_rec *src, int kind)
{
    size_t n = dst->n_rows[kind], m = src->n_rows[kind], i = 0, j = 0, k = 0;
    struct stat_row *a = dst->rows[kind], *b = src->rows[kind];
    struct stat_row *out = malloc((n + m) * sizeof *out);
    if (!out) return -ENOMEM;
    int rc = 0;
    while (i < n || j < m) {
        uint32_t x = i < n ? row_id(&a[i]) : UINT32_MAX, y = j < m ? row_id(&b[j]) : UINT32_MAX;
        if (j >= m || (i < n && x < y)) {
            out[k++] = a[i++];
        } else if (i >= n || y < x) { /* moves, sketches and all */
            out[k++] = b[j];
            memset(&b[j++], 0, sizeof *b);
        } else {
            out[k] = a[i++];
            if (rc == 0) rc = add_row(&out[k], &b[j]);
            k++, j++;
        }
    }
    free(a);
    dst->rows[kind] = out;
    dst->n_rows[kind] = k;
    return rc;
}

/* Appends src's rows of one kind to dst's, adding into rows of the same key. */
static int join_rows(struct interval_rec *dst, struct interval_rec *src, int kind)
{
    size_t n = dst->n_rows[kind], m = src->n_rows[kind];
    if (!m) return 0;
    if (ordered(dst->rows[kind], n) && ordered(src->rows[kind], m)) return join_ordered(dst, src, kind);
    struct stat_row *rows = realloc(dst->rows[kind], (n + m) * sizeof *rows);
    if (!rows) return -ENOMEM;
    dst->rows[kind] = rows;
    struct table idx;
    if (table_init(&idx, sizeof(struct slot), sizeof(uint32_t), (n + m) * 2) < 0) return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint32_t id = row_id(&rows[i]);
        struct slot *s = table_get(&idx, &id, hash_mix64(id + 1), NULL);
        if (!s) rc = -ENOMEM;
        else s->at = (uint32_t)i;
    }
    for (size_t i = 0; i < m && rc == 0; i++) {
        struct stat_row *o = &src->rows[kind][i];
        uint32_t id = row_id(o);
        bool created;
        struct slot *s = table_get(&idx, &id, hash_mix64(id + 1), &created);
        if (!s) {
            rc = -ENOMEM;
            break;
        }
        if (created) { /* moves, sketches and all */
            s->at = (uint32_t)n;
            rows[n++] = *o;
            memset(o, 0, sizeof *o);
            continue;
        }
        rc = add_row(&rows[s->at], o);
    }
    dst->n_rows[kind] = n;
    table_free(&idx);
    return rc;
}

static int append(void **dst, size_t *n, void **src, size_t *m, size_t size)
{
    if (!*m) return 0;
    uint8_t *p = realloc(*dst, (*n + *m) * size);
    if (!p) return -ENOMEM;
    memcpy(p + *n * size, *src, *m * size);
    *dst = p;
    *n += *m;
    free(*src);
    *src = NULL;
    *m = 0;
    return 0;
}

static int join(struct interval_rec *d, struct interval_rec *s)
{
    d->packets += s->packets;
    d->bytes += s->bytes;
    d->iot_packets += s->iot_packets;
    d->malformed += s->malformed;
    d->non_ip += s->non_ip;
    d->outside += s->outside;
    for (int c = 0; c < CLS_COUNT; c++)
        d->cls[c] += s->cls[c];
    if (sketch_union(&d->sources, &s->sources) < 0) return -ENOMEM;
    for (int k = 0; k < ROW_KINDS; k++)
        if (join_rows(d, s, k) < 0) return -ENOMEM;
    if (append((void **)&d->srcs, &d->n_srcs, (void **)&s->srcs, &s->n_srcs, sizeof *d->srcs) < 0 ||
        append((void **)&d->events, &d->n_events, (void **)&s->events, &s->n_events,
               sizeof *d->events) < 0 ||
        append((void **)&d->dos, &d->n_dos, (void **)&s->dos, &s->n_dos, sizeof *d->dos) < 0)
        return -ENOMEM;
    return 0;
}

int agg_merge(struct interval_rec **parts, size_t n)
{
    int rc = 0;
    for (size_t i = 1; i < n; i++) {
        if (rc == 0) rc = join(parts[0], parts[i]);
        interval_rec_free(parts[i]);
    }
    struct interval_rec *r = parts[0];
    if (rc == 0 && n > 1) {
        qsort(r->srcs, r->n_srcs, sizeof *r->srcs, by_rank);
        if (r->n_srcs > RECORD_TOP_SOURCES) r->n_srcs = RECORD_TOP_SOURCES;
    }
    return rc < 0 ? err_set(rc, "observe: out of memory") : 0;
}
