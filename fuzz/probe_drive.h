/* probe_drive — runs one of probe's stream modules over fuzzer bytes, as the loop would: the
 * first byte picks how the rest is split into reads, a split point with a zero byte ends the
 * connection (then the module reconnects or finishes).  Asserts the promises the loop relies on:
 * the send buffer stays in bounds, --max-attempts holds, and a login accepted ends the job. */
#ifndef MAMORI_FUZZ_PROBE_DRIVE_H
#define MAMORI_FUZZ_PROBE_DRIVE_H

#include "probe/probe.h"

#include <stdlib.h>
#include <string.h>

static inline void probe_drive(const struct probe_proto *p, const uint8_t *data, size_t size)
{
    static struct cred pairs[3] = {
        {"root", "xc3511", 0, 0}, {"admin", "admin", 0, 0}, {"support", "support", 0, 0}};
    static struct dict d = {.v = pairs,
                            .n = 3,
                            .classes = {(char *)"mirai-default"},
                            .n_classes = 1,
                            .files = {(char *)"mirai"},
                            .n_files = 1};
    static const struct probe_cfg cfg = {.max_attempts = 2, .user_agent = "fuzz", .http_path = "/"};
    struct probe_job job = {.port = 23, .accepted = -1};
    ip_from_v4(&job.ip, 0xc6120001);
    struct probe_conn *c = calloc(1, sizeof *c);
    if (!c || !size) {
        free(c);
        return;
    }
    c->job = &job;
    c->cfg = &cfg;
    c->dict = &d;
    size_t step = 1 + data[0] % 97, i = 1;
    job.conns = 1;
    enum probe_next nx = p->start(c);
    while (nx != PROBE_DONE && job.accepted < 0 && i < size && job.conns < 8) {
        if (nx == PROBE_RECONNECT) {
            job.conns++;
            c->out_len = 0;
            nx = p->start(c);
            continue;
        }
        if (c->out_len > sizeof c->out) abort();
        c->out_len = 0; /* "sent" */
        size_t n = size - i < step ? size - i : step;
        if (data[i] == 0 && n > 1) {
            c->timed_out = data[i + 1] & 1;
            nx = p->end(c);
            i += 2;
            continue;
        }
        nx = p->data(c, data + i, n);
        i += n;
    }
    if (nx != PROBE_DONE && job.accepted < 0) p->end(c);
    if (job.attempts > cfg.max_attempts || job.next > d.n) abort();
    if (job.accepted >= 0 && (uint32_t)job.accepted >= job.next) abort();
    free(c);
}

#endif
