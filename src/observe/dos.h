/* dos — infer DoS attacks from backscatter, with CAIDA corsaro3's defaults.
 *
 * A vector is keyed by victim address and protocol.  It gathers packets,
 * bytes, first and last time, distinct victim ports and distinct darknet
 * /16s (/48 for IPv6) that received backscatter (the "attackers" corsaro
 * counts), and its peak rate: packets in a 60 s window that slides every 10 s
 * (six 10 s buckets).  A vector that has been silent for 300 s is closed; it
 * is reported when it has >= 25 packets, lasts >= 60 s and peaked at >= 30
 * packets per 60 s.  Everything still open is closed at the end of a run. */
#ifndef MAMORI_DOS_H
#define MAMORI_DOS_H

#include "../core/classify.h"
#include "../core/table.h"
#include "../store/record.h"

struct dos_cfg {
    uint64_t min_packets;
    int64_t min_duration_us, idle_timeout_us;
    uint32_t min_peak;
};

struct dos {
    struct dos_cfg cfg;
    struct table vec;
};

void dos_cfg_default(struct dos_cfg *c);
int dos_init(struct dos *d, const struct dos_cfg *c);
int dos_add(struct dos *d, const struct victim *v, const struct ipaddr *darknet_dst, int64_t ts_us,
            uint32_t wirelen);
/* Closes vectors idle since before now_us (all of them when now_us < 0); appends
 * qualifying ones to *rows (realloc'd). */
int dos_expire(struct dos *d, int64_t now_us, struct dos_row **rows, size_t *n);
size_t dos_open(const struct dos *d);
void dos_free(struct dos *d);

#endif
