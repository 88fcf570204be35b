/* libFuzzer: a whole capture file through libpcap's reader and observe's
 * aggregator (intervals, sketches, surge and DoS detection). */
#include "observe/agg.h"

#include <pcap/pcap.h>
#include <stdio.h>

static int drop(struct interval_rec *r, void *ctx)
{
    (void)ctx;
    interval_rec_free(r);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return 0;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_fopen_offline(f, err);
    if (!p) return 0; /* closes f on failure */
    int dlt = pcap_datalink(p);
    if (!pkt_linktype_supported(dlt)) {
        pcap_close(p);
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
    struct pcap_pkthdr *h;
    const u_char *pkt;
    while (pcap_next_ex(p, &h, &pkt) == 1)
        agg_frame(a, dlt, pkt_time_us(h->ts.tv_sec, h->ts.tv_usec), pkt, h->caplen, h->len);
    agg_settle(a, (int64_t)1800000000 * 1000000); /* a fixed wall clock */
    agg_flush(a, true);
    agg_free(a);
    dos_free(&d);
    surge_free(sg);
    pcap_close(p);
    return 0;
}
