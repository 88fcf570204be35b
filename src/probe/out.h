/* out — where probe's results go: JSON lines (stdout or --output) and the sinks.
 *
 * One object per (address, port) checked, ZGrab2-like but flat, so jq and notify read it without
 * a schema: ip, port, protocol, status, timestamp, banner, device (the hints as an object),
 * login_accepted, credential_class, credential_dict, attempts, connections.  Never a password or
 * a user name: a finding names the pair only by its list and class.  Banners are outside text:
 * made valid UTF-8 (jansson escapes control characters). */
#ifndef MAMORI_PROBE_OUT_H
#define MAMORI_PROBE_OUT_H

#include "probe.h"

#include <stdio.h>

struct sinks;

struct probe_out {
    FILE *f;             /* JSON lines, or NULL */
    struct sinks *sinks; /* or NULL */
    const char *round;
    bool lost; /* a sink refused a record (said once on stderr) */
};

void probe_out_result(struct probe_out *o, const struct probe_conn *c);

#endif
