/* surge — per-port surge alerts on distinct sources per interval.
 *
 * Each (proto, port) keeps an exponentially weighted mean and variance of its
 * distinct sources per interval (alpha 0.2, roughly the last 10 intervals).
 * Intervals are numbered by the detector as the sensor closes them, so time
 * when the sensor saw nothing at all (down, or between two captures) is not
 * mistaken for silence.  Intervals in which a port saw nothing count as
 * zeros, applied lazily when the port shows up again, so a port first seen
 * late has a zero baseline.
 * An interval alerts when, after a warm-up of 5 intervals,
 *     x >= mean + max(4 sd, 5 sqrt(max(mean,1))),  x >= 1.5 mean,  x - mean >= 10
 * The sqrt term is a Poisson floor: a steady population of scanners varies
 * about sqrt(mean), and a young variance estimate is too small to trust.
 * One alert per episode: the port re-arms once it drops below the threshold. */
#ifndef MAMORI_SURGE_H
#define MAMORI_SURGE_H

#include "../store/record.h"

#include <stdint.h>

struct surge_cfg {
    int warmup;
    double alpha, k_sigma, poisson_k, min_ratio, min_delta;
};

struct surge_state {
    double mean, var;
    int64_t last_idx; /* last interval folded in */
    uint32_t n;       /* intervals folded in */
    uint8_t alerted, used;
};

struct surge;

void surge_cfg_default(struct surge_cfg *c);
struct surge *surge_new(const struct surge_cfg *c);
/* Starts the next interval; returns its number. */
int64_t surge_next_interval(struct surge *s);
/* Intervals numbered so far (restored from the store on re-runs). */
int64_t surge_intervals(const struct surge *s);
void surge_set_intervals(struct surge *s, int64_t n);
/* Feed one port's distinct sources for interval idx (intervals fed in order).
 * Returns 1 and fills *a when this is the start of a surge. */
int surge_observe(struct surge *s, uint8_t proto, uint16_t port, int64_t idx, uint64_t sources,
                  struct alert_row *a);
struct surge_state *surge_state_at(struct surge *s, uint8_t proto, uint16_t port);
/* The learned baselines as plain data for the store (rows allocated; free
 * with baselines_free), and back. */
int surge_export(struct surge *s, struct baselines *out);
void surge_import(struct surge *s, const struct baselines *b);
void surge_free(struct surge *s);

#endif
