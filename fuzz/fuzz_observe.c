/* libFuzzer: a whole capture file through observe's reader (core/pcapfile)
 * and aggregator (intervals, sketches, surge and DoS detection). */
#include "core/pcapfile.h"
#include "observe/agg.h"

#include <sys/mman.h>
#include <unistd.h>

static int drop(struct interval_rec *r, void *ctx)
{
    (void)ctx;
    interval_rec_free(r);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return 0;
    }
    struct pcapf *p = pcapf_open_fd_sized(fd, "fuzz", 1, 256); /* records straddle reads */
    if (!p) return 0;
    if (!pkt_linktype_supported(pcapf_dlt(p))) {
        pcapf_free(p);
        return 0;
    }
    static struct pfx_set dark;
    static struct portset iot;
    if (!dark.n) {
        pfx_set_parse_list(&dark, "198.18.0.0/15,2001:db8::/32,0.0.0.0/0");
        portset_iot_default(&iot);
    }
    struct surge_cfg sc;
    struct dos_cfg dc;
    surge_cfg_default(&sc);
    dos_cfg_default(&dc);
    struct surge *sg = surge_new(&sc);
    struct dos d;
    dos_init(&d, &dc);
    struct agg_cfg c = {.interval = 60,
                        .event_window = 600,
                        .darknet = &dark,
                        .iot = &iot,
                        .surge = sg,
                        .dos = &d,
                        .sink = drop};
    struct agg *a = agg_new(&c);
    struct pcapf_rec r;
    while (pcapf_next(p, &r) == 1)
        agg_frame(a, r.dlt, r.ts_us, r.data, r.caplen, r.wirelen);
    agg_settle(a, (int64_t)1800000000 * 1000000); /* a fixed wall clock */
    agg_flush(a, true);
    agg_free(a);
    dos_free(&d);
    surge_free(sg);
    pcapf_free(p);
    return 0;
}
