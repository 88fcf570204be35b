/* source_live — one interface through libpcap (TPACKET_V3 ring on Linux).
 *
 * A frame from libpcap's ring is only valid inside its callback, so each
 * batch is copied into the instance's own arena (snaplen 256: headers and an
 * ICMP quote are all a telescope reads; at live rates the copy is noise).
 * The read timeout makes next() return -EAGAIN at least every 200 ms, so the
 * caller's clock moves on a quiet link; wake() (pcap_breakloop) is
 * async-signal-safe and cuts a wait short. */
#include "../core/err.h"
#include "../core/pkt.h"
#include "source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_SNAPLEN 256
#define LIVE_TIMEOUT_MS 200
#define LIVE_BUFFER (64 << 20)

struct live_src {
    pcap_t *p;
    const char *ifname;
    int dlt;
    struct pcapf_rec *out;
    int n, max;
    uint8_t arena[PKT_SOURCE_BATCH * LIVE_SNAPLEN];
};

static void *live_open(const char *ifname)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    struct live_src *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(-ENOMEM, "interface %s: out of memory", ifname);
        return NULL;
    }
    s->ifname = ifname;
    if (!(s->p = pcap_create(ifname, errbuf))) {
        err_set(-EINVAL, "interface %s: %s", ifname, errbuf);
        free(s);
        return NULL;
    }
    pcap_set_snaplen(s->p, LIVE_SNAPLEN);
    pcap_set_promisc(s->p, 1);
    pcap_set_timeout(s->p, LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(s->p, LIVE_BUFFER);
    int act = pcap_activate(s->p);
    if (act < 0) {
        err_set(-EINVAL, "interface %s: cannot capture: %s", ifname,
                act == PCAP_ERROR ? pcap_geterr(s->p) : pcap_statustostr(act));
        pcap_close(s->p);
        free(s);
        return NULL;
    }
    s->dlt = pcap_datalink(s->p);
    return s;
}

static void take(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct live_src *s = (struct live_src *)user;
    if (s->n == s->max) return; /* cannot happen: pcap_dispatch's count is max */
    uint32_t cap = h->caplen < LIVE_SNAPLEN ? h->caplen : LIVE_SNAPLEN;
    uint8_t *dst = s->arena + (size_t)s->n * LIVE_SNAPLEN;
    memcpy(dst, data, cap);
    s->out[s->n++] = (struct pcapf_rec){.ts_us = pkt_time_us(h->ts.tv_sec, h->ts.tv_usec),
                                        .caplen = cap,
                                        .wirelen = h->len,
                                        .data = dst,
                                        .dlt = s->dlt};
}

static int live_next(void *st, struct pcapf_rec *r, int max)
{
    struct live_src *s = st;
    s->out = r;
    s->n = 0;
    s->max = max < PKT_SOURCE_BATCH ? max : PKT_SOURCE_BATCH;
    int rc = pcap_dispatch(s->p, s->max, take, (u_char *)s);
    if (rc == PCAP_ERROR) return err_set(-EIO, "interface %s: %s", s->ifname, pcap_geterr(s->p));
    return s->n > 0 ? s->n : -EAGAIN; /* a timeout, a wake() or nothing left to drain */
}

static int live_dlt(void *st)
{
    return ((struct live_src *)st)->dlt;
}

static double live_progress(void *st)
{
    (void)st;
    return -1;
}

static void live_wake(void *st)
{
    pcap_breakloop(((struct live_src *)st)->p); /* a flag and an eventfd write */
}

static int live_drain(void *st)
{
    struct live_src *s = st;
    char errbuf[PCAP_ERRBUF_SIZE];
    if (pcap_setnonblock(s->p, 1, errbuf) < 0)
        return err_set(-EIO, "interface %s: %s", s->ifname, errbuf);
    return 0;
}

static uint64_t live_drops(void *st)
{
    struct pcap_stat ps;
    if (pcap_stats(((struct live_src *)st)->p, &ps) != 0) return 0;
    return (uint64_t)ps.ps_drop + ps.ps_ifdrop;
}

static void live_close(void *st)
{
    struct live_src *s = st;
    pcap_close(s->p);
    free(s);
}

const struct pkt_source_ops pkt_source_live = {
    .name = "live",
    .help = "capture from a network interface (libpcap)",
    .open = live_open,
    .next = live_next,
    .dlt = live_dlt,
    .progress = live_progress,
    .wake = live_wake,
    .drain = live_drain,
    .drops = live_drops,
    .close = live_close,
    .live = true,
};
