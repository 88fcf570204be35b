/* dos — backscatter vectors and corsaro's thresholds (see dos.h). */
#include "dos.h"
#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET_US 10000000LL
#define NBUCKETS 6
#define MAX_NETS 64
#define MAX_PORTS 16

struct vector {
    struct ipaddr target; /* key: target + proto */
    uint8_t proto;
    uint8_t n_nets, n_ports;
    uint64_t packets, bytes;
    int64_t start_us, end_us;
    int64_t cur_bucket;
    uint32_t bucket[NBUCKETS];
    uint32_t peak;
    uint32_t nets[MAX_NETS];
    uint16_t ports[MAX_PORTS];
};

#define VKEY (offsetof(struct vector, proto) + 1)

void dos_cfg_default(struct dos_cfg *c)
{
    c->min_packets = 25;
    c->min_duration_us = 60 * 1000000LL;
    c->min_peak = 30;
    c->idle_timeout_us = 300 * 1000000LL;
}

int dos_init(struct dos *d, const struct dos_cfg *c)
{
    d->cfg = *c;
    return table_init(&d->vec, sizeof(struct vector), VKEY, 64);
}

static void add_u32(uint32_t *set, uint8_t *n, uint8_t cap, uint32_t v)
{
    for (uint8_t i = 0; i < *n; i++)
        if (set[i] == v) return;
    if (*n < cap) set[(*n)++] = v;
}

static int slot(int64_t bucket)
{
    return (int)((bucket % NBUCKETS + NBUCKETS) % NBUCKETS);
}

int dos_add(struct dos *d, const struct victim *v, const struct ipaddr *dst, int64_t ts,
            uint32_t len)
{
    struct vector key;
    memset(&key, 0, sizeof key);
    key.target = v->addr;
    key.proto = v->proto;
    bool created;
    struct vector *e = table_get(&d->vec, &key, ip_hash(&v->addr, v->proto), &created);
    if (!e) return err_set(-ENOMEM, "dos: out of memory");
    /* floor division and a non-negative slot: observe hands over no time
     * before 1970, but a negative one must not index before the buckets */
    int64_t b = ts >= 0 ? ts / BUCKET_US : -((-(ts + 1)) / BUCKET_US) - 1;
    if (created) {
        e->start_us = e->end_us = ts;
        e->cur_bucket = b;
    }
    e->packets++;
    e->bytes += len;
    if (ts < e->start_us) e->start_us = ts;
    if (ts > e->end_us) e->end_us = ts;
    if (b > e->cur_bucket) {
        int64_t shift = b - e->cur_bucket;
        for (int64_t i = 1; i <= shift && i <= NBUCKETS; i++)
            e->bucket[slot(e->cur_bucket + i)] = 0;
        e->cur_bucket = b;
    }
    if (b > e->cur_bucket - NBUCKETS) e->bucket[slot(b)]++;
    uint32_t sum = 0;
    for (int i = 0; i < NBUCKETS; i++)
        sum += e->bucket[i];
    if (sum > e->peak) e->peak = sum;
    uint32_t net;
    if (ip_is_v4(dst)) {
        net = ip_v4(dst) >> 16;
    } else { /* a /48, hashed to 32 bits */
        struct ipaddr n48 = *dst;
        memset(n48.b + 6, 0, 10);
        net = (uint32_t)ip_hash(&n48, 48);
    }
    add_u32(e->nets, &e->n_nets, MAX_NETS, net);
    for (uint8_t i = 0; i <= e->n_ports; i++) {
        if (i == e->n_ports) {
            if (e->n_ports < MAX_PORTS) e->ports[e->n_ports++] = v->port;
            break;
        }
        if (e->ports[i] == v->port) break;
    }
    return 0;
}

struct expire_ctx {
    struct dos *d;
    int64_t now;
    struct dos_row **rows;
    size_t *n;
    int rc;
};

static bool keep_vector(void *entry, void *vctx)
{
    struct expire_ctx *c = vctx;
    struct vector *e = entry;
    if (c->now >= 0 && e->end_us + c->d->cfg.idle_timeout_us > c->now) return true;
    const struct dos_cfg *cfg = &c->d->cfg;
    if (e->packets >= cfg->min_packets && e->end_us - e->start_us >= cfg->min_duration_us &&
        e->peak >= cfg->min_peak && c->rc == 0) {
        struct dos_row *r = realloc(*c->rows, (*c->n + 1) * sizeof *r);
        if (!r) {
            c->rc = err_set(-ENOMEM, "dos: out of memory");
            return true;
        }
        *c->rows = r;
        r += (*c->n)++;
        r->target = e->target;
        r->proto = e->proto;
        r->packets = e->packets;
        r->bytes = e->bytes;
        r->peak_60s = e->peak;
        r->attackers = e->n_nets;
        r->ports = e->n_ports;
        r->start_us = e->start_us;
        r->end_us = e->end_us;
    }
    return false;
}

int dos_expire(struct dos *d, int64_t now_us, struct dos_row **rows, size_t *n)
{
    struct expire_ctx c = {d, now_us, rows, n, 0};
    int rc = table_filter(&d->vec, keep_vector, &c);
    return c.rc ? c.rc : rc;
}

size_t dos_open(const struct dos *d)
{
    return d->vec.n;
}

void dos_free(struct dos *d)
{
    table_free(&d->vec);
}
