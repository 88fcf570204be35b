/* record — release and copy closed intervals (see record.h).
 *
 * A record as the aggregator hands it borrows its labels (AS names) from the
 * geo handle, which outlives the writer.  interval_rec_dup() is for a sink
 * that keeps a record past its put call: the copy owns its arrays, its
 * sketches and, in one string arena, every label. */
#include "record.h"

#include <stdlib.h>
#include <string.h>

void interval_rec_free(struct interval_rec *r)
{
    if (!r) return;
    sketch_free(&r->sources);
    for (int k = 0; k < ROW_KINDS; k++) {
        for (size_t i = 0; i < r->n_rows[k]; i++) {
            sketch_free(&r->rows[k][i].src);
            sketch_free(&r->rows[k][i].dst);
        }
        free(r->rows[k]);
    }
    free(r->srcs);
    free(r->events);
    free(r->alerts);
    free(r->dos);
    free(r->names);
    free(r);
}

static void *dup_array(const void *src, size_t n, size_t size, bool *oom)
{
    if (!n || *oom) return NULL;
    void *d = malloc(n * size);
    if (d)
        memcpy(d, src, n * size);
    else
        *oom = true;
    return d;
}

static size_t len0(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *put(char **o, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*o, s, n);
    *o += n;
    return *o - n;
}

/* Every label of d into one arena d owns; false when out of memory. */
static bool copy_labels(struct interval_rec *d)
{
    size_t n = 0;
    for (int k = 0; k < ROW_KINDS; k++)
        for (size_t i = 0; i < d->n_rows[k]; i++)
            n += len0(d->rows[k][i].label);
    for (size_t i = 0; i < d->n_srcs; i++)
        n += len0(d->srcs[i].as_name);
    for (size_t i = 0; i < d->n_events; i++)
        n += len0(d->events[i].as_name);
    for (size_t i = 0; i < d->n_alerts; i++)
        n += len0(d->alerts[i].kind);
    char *o = d->names = malloc(n ? n : 1);
    if (!o) return false;
    for (int k = 0; k < ROW_KINDS; k++)
        for (size_t i = 0; i < d->n_rows[k]; i++)
            d->rows[k][i].label = put(&o, d->rows[k][i].label);
    for (size_t i = 0; i < d->n_srcs; i++)
        d->srcs[i].as_name = put(&o, d->srcs[i].as_name);
    for (size_t i = 0; i < d->n_events; i++)
        d->events[i].as_name = put(&o, d->events[i].as_name);
    for (size_t i = 0; i < d->n_alerts; i++)
        d->alerts[i].kind = put(&o, d->alerts[i].kind);
    return true;
}

struct interval_rec *interval_rec_dup(const struct interval_rec *r)
{
    struct interval_rec *d = malloc(sizeof *d);
    if (!d) return NULL;
    *d = *r;
    bool oom = false;
    d->names = NULL;
    d->srcs = dup_array(r->srcs, r->n_srcs, sizeof *r->srcs, &oom);
    d->events = dup_array(r->events, r->n_events, sizeof *r->events, &oom);
    d->alerts = dup_array(r->alerts, r->n_alerts, sizeof *r->alerts, &oom);
    d->dos = dup_array(r->dos, r->n_dos, sizeof *r->dos, &oom);
    for (int k = 0; k < ROW_KINDS; k++)
        d->rows[k] = dup_array(r->rows[k], r->n_rows[k], sizeof *r->rows[k], &oom);
    /* from here interval_rec_free(d) must be able to run: no sketch shared with r */
    if (sketch_copy(&d->sources, &r->sources) < 0) {
        sketch_init(&d->sources);
        oom = true;
    }
    for (int k = 0; k < ROW_KINDS; k++) {
        if (!d->rows[k]) d->n_rows[k] = 0;
        for (size_t i = 0; i < d->n_rows[k]; i++) {
            struct stat_row *w = &d->rows[k][i];
            if (oom || sketch_copy(&w->src, &r->rows[k][i].src) < 0) {
                sketch_init(&w->src);
                oom = true;
            }
            if (oom || sketch_copy(&w->dst, &r->rows[k][i].dst) < 0) {
                sketch_init(&w->dst);
                oom = true;
            }
        }
    }
    if (!d->srcs) d->n_srcs = 0;
    if (!d->events) d->n_events = 0;
    if (!d->alerts) d->n_alerts = 0;
    if (!d->dos) d->n_dos = 0;
    if (oom || !copy_labels(d)) { /* labels still r's: nothing of d's to free there */
        interval_rec_free(d);
        return NULL;
    }
    return d;
}

void baselines_free(struct baselines *b)
{
    free(b->rows);
    b->rows = NULL;
    b->n = 0;
}
