/* core/pcapfile against the bare libpcap loop (bench/pcap_count): the same
 * capture counted both ways, packets, bytes and a touch of each frame, with
 * the time of each and the ratio.  The counts must agree, or it says so. */
#include "core/err.h"
#include "core/pcapfile.h"

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void count(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    uint64_t *c = (uint64_t *)user;
    c[0]++;
    c[1] += h->len + data[0] * 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pcapf_count FILE\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "pcapf_count: %s: %s\n", argv[1], err);
        return 1;
    }
    uint64_t a[2] = {0, 0}, b[2] = {0, 0};
    double t0 = now();
    while (pcap_dispatch(p, 8192, count, (u_char *)a) > 0) {
    }
    double t_pcap = now() - t0;
    pcap_close(p);

    t0 = now();
    struct pcapf *f = pcapf_open(argv[1]);
    if (!f) {
        fprintf(stderr, "pcapf_count: %s\n", err_msg());
        return 1;
    }
    struct pcapf_rec r[256];
    int n;
    while ((n = pcapf_next_batch(f, r, 256)) > 0)
        for (int i = 0; i < n; i++) {
            b[0]++;
            b[1] += r[i].wirelen + r[i].data[0] * 0;
        }
    double t_f = now() - t0;
    pcapf_free(f);
    if (n < 0) {
        fprintf(stderr, "pcapf_count: %s\n", err_msg());
        return 1;
    }
    printf("libpcap loop  %llu packets %llu bytes %.3f s (%.1f Mpps)\n", (unsigned long long)a[0],
           (unsigned long long)a[1], t_pcap, (double)a[0] / t_pcap / 1e6);
    printf("pcapfile loop %llu packets %llu bytes %.3f s (%.1f Mpps)\n", (unsigned long long)b[0],
           (unsigned long long)b[1], t_f, (double)b[0] / t_f / 1e6);
    printf("pcapfile / libpcap speed: %.2fx\n", t_pcap / t_f);
    if (a[0] != b[0] || a[1] != b[1]) {
        fprintf(stderr, "pcapf_count: the counts differ\n");
        return 1;
    }
    return 0;
}
