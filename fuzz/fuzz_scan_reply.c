/* libFuzzer: scan reply validation (the frames a stateless scanner must
 * judge from anyone on the wire), and the checkpoint file --resume reads.
 * The first byte picks which; a frame that validates must be the answer of a
 * probe the module would have made (its cookie recomputes). */
#include "scan/module.h"
#include "scan/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct scan_probe_ctx ctx(void)
{
    struct scan_probe_ctx c = {.key = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL}, .ttl = 255};
    c.sport_base = scan_sport_base(&c.key);
    ip_from_v4(&c.src4, 0xc613ff01); /* 198.19.255.1 */
    ip_parse("2001:db8:ffff::1", &c.src6);
    return c;
}

static void reply(const uint8_t *data, size_t size)
{
    static struct scan_probe_ctx c;
    static int ready;
    if (!ready) c = ctx(), ready = 1;
    struct scan_reply r;
    if (scan_mod_tcp_syn.validate(&c, data, size, &r) != 1) return;
    const struct ipaddr *us = ip_is_v4(&r.daddr) ? &c.src4 : &c.src6;
    uint64_t h = scan_cookie(&c.key, us, &r.saddr, r.sport);
    if (r.acknum - 1 != (uint32_t)h || !r.classification) abort();
}

static void checkpoint(const uint8_t *data, size_t size)
{
    static struct scan_cfg cfg;
    static struct target_set *t;
    if (!t) {
        struct target_opts o = {.optout = "/dev/null", .allow_testbed = true};
        t = target_new(&o);
        target_add(t, "198.18.0.0/24");
        target_finish(t);
        cfg.targets = t;
        cfg.ports[0] = 23;
        cfg.nports = 1;
        cfg.ports_desc = "23";
        cfg.shards = 1;
    }
    int fd = memfd_create("ckpt", 0);
    if (fd < 0) return;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        struct scan_state st;
        if (scan_ckpt_read(path, &cfg, &st) == 0) {
            struct perm_lane w;
            uint64_t e;
            perm_lane_init(&w, &st.perm, 0, st.lanes, st.done[0]);
            for (int i = 0; i < 16 && perm_next(&w, &e); i++)
                if (e >= st.perm.n) abort();
        }
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (data[0] & 1)
        checkpoint(data + 1, size - 1);
    else
        reply(data + 1, size - 1);
    return 0;
}
