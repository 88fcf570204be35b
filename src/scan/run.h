/* run — one scan: send threads, the receive thread, status, checkpoint.
 *
 * Each send thread walks its lanes of the permutation (perm.h) in batches:
 * build up to a batch of frames into its own buffers (no allocation), wait
 * until the token bucket's clock says the batch is due (clock_nanosleep to an
 * absolute deadline start + sent/rate: no busy wait, no drift), hand the batch
 * to sendmmsg, and only then count the lane's positions as done, so a
 * checkpoint never claims a probe that was not sent.  The receive thread
 * validates replies with the module (no per-probe state), marks repeats in a
 * paged bitmap over address x port, writes results and feeds the sinks.  The
 * main thread prints the status line and writes the checkpoint every second,
 * and after the last probe waits the cooldown for late replies. */
#ifndef MAMORI_SCAN_RUN_H
#define MAMORI_SCAN_RUN_H

#include "../core/target.h"
#include "../store/sink.h"
#include "module.h"
#include "net.h"
#include "output.h"
#include "perm.h"

#include <stdio.h>

#define SCAN_THREADS_MAX 16
#define SCAN_LANES_MAX SCAN_THREADS_MAX
#define SCAN_ELEMS_MAX (UINT64_C(1) << 40) /* targets x ports a run may hold */

struct scan_cfg {
    struct target_set *targets;
    uint16_t ports[65536];
    uint32_t nports;
    const char *ports_desc;
    const struct scan_module *mod;
    uint64_t rate; /* packets per second, 0: as fast as it goes */
    unsigned threads, shards, shard, batch;
    double max_runtime, cooldown;
    bool quiet, all_replies, qdisc_bypass;
    FILE *out;
    const struct scan_format *fmt;
    struct sinks *sinks;
    const char *round;
    const char *checkpoint; /* or NULL */
};

/* What a run keeps across a resume (the checkpoint's content). */
struct scan_state {
    struct perm perm;
    struct siphash_key key;
    unsigned lanes;
    uint64_t done[SCAN_LANES_MAX]; /* positions consumed, per lane */
    bool complete;
};

struct scan_totals {
    uint64_t sent, replies, hits, send_errors, drops, skipped;
    double elapsed;
};

/* Runs the scan on link l from state st (updated as it goes); 0 or an error. */
int scan_run(const struct scan_cfg *cfg, const struct scan_link *l, struct scan_state *st,
             struct scan_totals *tot);
/* Asks a running scan to stop sending (signal-safe). */
void scan_interrupt(void);

/* resume.c: the checkpoint file. */
int scan_ckpt_write(const char *path, const struct scan_cfg *cfg, const struct scan_state *st);
int scan_ckpt_read(const char *path, const struct scan_cfg *cfg, struct scan_state *st);

#endif
