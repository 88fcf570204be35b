/* surge — EWMA baseline per port with a Poisson floor (see surge.h). */
#include "surge.h"
#include "../core/err.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>

struct surge {
    struct surge_cfg cfg;
    int64_t intervals;
    struct surge_state st[2][65536];
};

void surge_cfg_default(struct surge_cfg *c)
{
    c->warmup = 5;
    c->alpha = 0.2;
    c->k_sigma = 4;
    c->poisson_k = 5;
    c->min_ratio = 1.5;
    c->min_delta = 10;
}

struct surge *surge_new(const struct surge_cfg *c)
{
    struct surge *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(-ENOMEM, "surge: out of memory");
        return NULL;
    }
    s->cfg = *c;
    return s;
}

int64_t surge_next_interval(struct surge *s)
{
    return s->intervals++;
}

int64_t surge_intervals(const struct surge *s)
{
    return s->intervals;
}

void surge_set_intervals(struct surge *s, int64_t n)
{
    s->intervals = n;
}

struct surge_state *surge_state_at(struct surge *s, uint8_t proto, uint16_t port)
{
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return NULL;
    return &s->st[proto == IPPROTO_UDP][port];
}

static void fold(struct surge_state *st, double alpha, double x)
{
    double diff = x - st->mean, incr = alpha * diff;
    st->mean += incr;
    st->var = (1 - alpha) * (st->var + diff * incr);
    st->n++;
}

int surge_observe(struct surge *s, uint8_t proto, uint16_t port, int64_t idx, uint64_t sources,
                  struct alert_row *a)
{
    struct surge_state *st = surge_state_at(s, proto, port);
    if (!st) return 0;
    if (!st->used) {
        st->used = 1;
        st->last_idx = idx - 1;
        int64_t prior = idx;
        st->n = prior > 0 ? (uint32_t)(prior > 1000000 ? 1000000 : prior) : 0;
    }
    if (idx <= st->last_idx) return 0; /* the same interval twice: ignore */
    int64_t gap = idx - st->last_idx - 1;
    if (gap > 0) st->alerted = 0;
    for (int64_t i = 0; i < gap && i < 200; i++)
        fold(st, s->cfg.alpha, 0);
    if (gap >= 200) st->mean = st->var = 0; /* long silence: the weights are gone anyway */
    st->last_idx = idx;

    double x = (double)sources, mean = st->mean, sd = sqrt(st->var);
    double floor = s->cfg.poisson_k * sqrt(mean > 1 ? mean : 1);
    double margin = s->cfg.k_sigma * sd > floor ? s->cfg.k_sigma * sd : floor;
    int over = st->n >= (uint32_t)s->cfg.warmup && x >= mean + margin &&
               x >= s->cfg.min_ratio * mean && x - mean >= s->cfg.min_delta;
    int fire = over && !st->alerted;
    st->alerted = (uint8_t)over;
    fold(st, s->cfg.alpha, x);
    if (fire && a) {
        a->kind = "surge";
        a->proto = proto;
        a->port = port;
        a->sources = sources;
        a->baseline = mean;
    }
    return fire;
}

void surge_free(struct surge *s)
{
    free(s);
}

int surge_export(struct surge *s, struct baselines *out)
{
    size_t n = 0;
    for (int p = 0; p < 2; p++)
        for (uint32_t port = 0; port < 65536; port++)
            n += s->st[p][port].used;
    out->intervals = s->intervals;
    out->n = 0;
    out->rows = n ? calloc(n, sizeof *out->rows) : NULL;
    if (n && !out->rows) return err_set(-ENOMEM, "surge baselines: out of memory");
    const uint8_t protos[2] = {IPPROTO_TCP, IPPROTO_UDP};
    for (int p = 0; p < 2; p++) {
        for (uint32_t port = 0; port < 65536; port++) {
            const struct surge_state *x = &s->st[p][port];
            if (!x->used) continue;
            out->rows[out->n++] = (struct baseline_row){.proto = protos[p],
                                                        .port = (uint16_t)port,
                                                        .alerted = x->alerted,
                                                        .n = x->n,
                                                        .mean = x->mean,
                                                        .var = x->var,
                                                        .last_idx = x->last_idx};
        }
    }
    return 0;
}

void surge_import(struct surge *s, const struct baselines *b)
{
    s->intervals = b->intervals;
    for (size_t i = 0; i < b->n; i++) {
        const struct baseline_row *r = &b->rows[i];
        struct surge_state *x = surge_state_at(s, r->proto, r->port);
        if (!x) continue;
        *x = (struct surge_state){.mean = r->mean,
                                  .var = r->var,
                                  .last_idx = r->last_idx,
                                  .n = r->n,
                                  .alerted = r->alerted,
                                  .used = 1};
    }
}
