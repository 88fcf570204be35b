/* The ceiling for bench/observe: a bare libpcap loop over a capture that only
 * counts packets and bytes, read the same way observe reads (pcap_dispatch). */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static void count(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    uint64_t *c = (uint64_t *)user;
    c[0]++;
    c[1] += h->len + data[0] * 0; /* touch the frame like a decoder would */
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pcap_count FILE\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "pcap_count: %s: %s\n", argv[1], err);
        return 1;
    }
    uint64_t c[2] = {0, 0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (pcap_dispatch(p, 8192, count, (u_char *)c) > 0) {
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%llu packets %llu bytes %.3f s\n", (unsigned long long)c[0], (unsigned long long)c[1],
           s);
    pcap_close(p);
    return 0;
}
