/* scan_sendmmsg — the ceiling bench/scan compares against: a bare sendmmsg
 * loop on an AF_PACKET socket (PACKET_QDISC_BYPASS, as mamori scan and zmap
 * use), sending 58-byte TCP SYN frames to the 198.18.0.0/15 addresses in turn
 * with only what makes them packets a receiver takes for IP: the destination
 * and the IP header checksum (a frame with a bad one is dropped at ip_rcv
 * before routing and socket lookup, which would make the ceiling cheaper than
 * any scan).  No permutation, no cookie, no TCP checksum, no rate limit.
 * Usage: scan_sendmmsg IFNAME DSTMAC PACKETS THREADS [BATCH]; prints pps. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 1024

static int ifindex;
static uint8_t mac[6];
static unsigned long per_thread, batch = 64;

static void *run(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;
    struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("packet socket");
        exit(1);
    }
    static __thread uint8_t fr[BATCH_MAX][64];
    struct iovec iov[BATCH_MAX];
    struct mmsghdr m[BATCH_MAX];
    memset(m, 0, sizeof m);
    for (unsigned i = 0; i < batch; i++) {
        uint8_t *f = fr[i];
        memset(f, 0, 64);
        memcpy(f, mac, 6);
        f[12] = 8;
        f[14] = 0x45;
        f[17] = 44;
        f[22] = 64;
        f[23] = 6;
        uint32_t src = htonl(0xc613ff01), dst = htonl(0xc6120000 + id * 4096 + i);
        memcpy(f + 26, &src, 4);
        memcpy(f + 30, &dst, 4);
        f[36] = 0x55;
        f[37] = 0x55;
        f[46] = 0x60;
        f[47] = 2;
        iov[i] = (struct iovec){f, 58};
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    uint32_t next = id * 65536;
    for (unsigned long sent = 0; sent < per_thread;) {
        for (unsigned i = 0; i < batch; i++) {
            uint8_t *f = fr[i];
            uint32_t dst = htonl(0xc6120000 + (next++ & 0x1ffff));
            memcpy(f + 30, &dst, 4);
            f[24] = f[25] = 0;
            uint32_t sum = 0;
            for (int k = 14; k < 34; k += 2)
                sum += (uint32_t)(f[k] << 8 | f[k + 1]);
            sum = (sum & 0xffff) + (sum >> 16);
            sum = (sum & 0xffff) + (sum >> 16);
            f[24] = (uint8_t)(~sum >> 8);
            f[25] = (uint8_t)~sum;
        }
        int n = sendmmsg(fd, m, (unsigned)batch, 0);
        if (n > 0) sent += (unsigned long)n;
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: scan_sendmmsg IFNAME DSTMAC PACKETS THREADS [BATCH]\n");
        return 2;
    }
    ifindex = (int)if_nametoindex(argv[1]);
    unsigned v[6];
    if (!ifindex ||
        sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return 2;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    unsigned threads = (unsigned)atoi(argv[4]);
    if (argc > 5) batch = strtoul(argv[5], NULL, 10);
    if (threads < 1 || threads > 16 || batch < 1 || batch > BATCH_MAX) return 2;
    per_thread = strtoul(argv[3], NULL, 10) / threads;
    pthread_t t[16];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.0f\n", (double)(per_thread * threads) / s);
    return 0;
}
