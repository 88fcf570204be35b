/* baselines — the surge baselines blob (see baselines.h). */
#include "baselines.h"
#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint64_t dbits(double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    return v;
}

static double bitsd(uint64_t v)
{
    double d;
    memcpy(&d, &v, 8);
    return d;
}

int baselines_encode(const struct baselines *b, uint8_t **blob, size_t *len)
{
    if (b->n > UINT32_MAX) return err_set(-EINVAL, "surge baselines: %zu rows", b->n);
    size_t n = BASELINES_HEAD + b->n * BASELINES_ROW;
    uint8_t *o = malloc(n);
    if (!o) return err_set(-ENOMEM, "surge baselines: out of memory");
    memcpy(o, "MSB\1", 4);
    put32(o + 4, (uint32_t)b->n);
    for (size_t i = 0; i < b->n; i++) {
        const struct baseline_row *r = &b->rows[i];
        uint8_t *p = o + BASELINES_HEAD + i * BASELINES_ROW;
        p[0] = r->proto;
        p[1] = r->alerted;
        put16(p + 2, r->port);
        put32(p + 4, r->n);
        put64(p + 8, dbits(r->mean));
        put64(p + 16, dbits(r->var));
        put64(p + 24, (uint64_t)r->last_idx);
    }
    *blob = o;
    *len = n;
    return 0;
}

int baselines_decode(const void *blob, size_t len, struct baselines *out)
{
    const uint8_t *b = blob;
    out->rows = NULL;
    out->n = 0;
    if (len < BASELINES_HEAD || memcmp(b, "MSB", 3) != 0)
        return err_set(-EINVAL, "surge baselines: not a baselines blob (%zu bytes)", len);
    if (b[3] != 1) return err_set(-EINVAL, "surge baselines: unknown version %u", b[3]);
    uint64_t n = get(b + 4, 4);
    if ((len - BASELINES_HEAD) % BASELINES_ROW || (len - BASELINES_HEAD) / BASELINES_ROW != n)
        return err_set(-EINVAL, "surge baselines: %zu bytes do not hold %llu rows", len,
                       (unsigned long long)n);
    if (!n) return 0;
    if (!(out->rows = calloc(n, sizeof *out->rows)))
        return err_set(-ENOMEM, "surge baselines: out of memory");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = b + BASELINES_HEAD + i * BASELINES_ROW;
        out->rows[i] = (struct baseline_row){.proto = p[0],
                                             .alerted = p[1],
                                             .port = (uint16_t)get(p + 2, 2),
                                             .n = (uint32_t)get(p + 4, 4),
                                             .mean = bitsd(get(p + 8, 8)),
                                             .var = bitsd(get(p + 16, 8)),
                                             .last_idx = (int64_t)get(p + 24, 8)};
    }
    out->n = n;
    return 0;
}
