/* net — interface, route, neighbour and packet-socket plumbing (see net.h). */
#include "net.h"
#include "../core/craft.h"
#include "../core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

int net_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return err_set(-EINVAL, "%s: not a MAC address aa:bb:cc:dd:ee:ff", s);
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255) return err_set(-EINVAL, "%s: not a MAC address aa:bb:cc:dd:ee:ff", s);
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

/* The longest-prefix route for dst: interface and gateway (0: on-link). */
static int route_for(uint32_t dst, char ifname[IF_NAMESIZE], uint32_t *gw)
{
    FILE *f = fopen("/proc/net/route", "r");
    if (!f) return err_set(-errno, "/proc/net/route: %s", strerror(errno));
    char line[256], ifn[64];
    int best = -1;
    unsigned d, g, fl, m;
    if (!fgets(line, sizeof line, f)) line[0] = 0; /* the header */
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", ifn, &d, &g, &fl, &m) != 5) continue;
        if (!(fl & 1) || (ntohl(d) & ntohl(m)) != (dst & ntohl(m))) continue; /* RTF_UP */
        int len = __builtin_popcount(m);
        if (len <= best) continue;
        best = len;
        snprintf(ifname, IF_NAMESIZE, "%s", ifn);
        *gw = (fl & 2) ? ntohl(g) : 0; /* RTF_GATEWAY */
    }
    fclose(f);
    if (best < 0) return err_set(-ENETUNREACH, "no route to the targets (give --interface)");
    return 0;
}

/* The neighbour table's complete entry for ip on ifname. */
static bool neigh_mac(uint32_t ip, const char *ifname, uint8_t mac[6])
{
    FILE *f = fopen("/proc/net/arp", "r");
    if (!f) return false;
    char line[256], ips[64], macs[64], dev[64];
    unsigned fl;
    bool found = false;
    struct in_addr want = {htonl(ip)};
    while (!found && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %*s %x %63s %*s %63s", ips, &fl, macs, dev) != 4) continue;
        struct in_addr a;
        found = inet_pton(AF_INET, ips, &a) == 1 && a.s_addr == want.s_addr && (fl & 2) &&
                strcmp(dev, ifname) == 0 && net_parse_mac(macs, mac) == 0;
    }
    fclose(f);
    return found;
}

/* One ARP request for ip, waiting up to a second for the answer (three tries). */
static int arp_ask(const struct scan_link *l, uint32_t ip, uint8_t mac[6])
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) return err_set(-errno, "ARP socket: %s (needs root)", strerror(errno));
    struct sockaddr_ll sa = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = l->ifindex};
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    uint8_t req[42];
    memset(req, 0xff, 6);
    memcpy(req + 6, l->mac, 6);
    craft_put16(req + 12, ETH_P_ARP);
    static const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(req + 14, hdr, 8);
    memcpy(req + 22, l->mac, 6);
    memcpy(req + 28, l->src4.b + 12, 4);
    memset(req + 32, 0, 6);
    craft_put32(req + 38, ip);
    for (int tries = 0; tries < 3; tries++) {
        send(fd, req, sizeof req, 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while (poll(&p, 1, 333) > 0) {
            uint8_t r[128];
            ssize_t n = recv(fd, r, sizeof r, 0);
            if (n >= 42 && r[20] == 0 && r[21] == 2 &&
                (uint32_t)(r[28] << 24 | r[29] << 16 | r[30] << 8 | r[31]) == ip) {
                memcpy(mac, r + 22, 6);
                close(fd);
                return 0;
            }
        }
    }
    close(fd);
    char b[INET_ADDRSTRLEN];
    struct in_addr a = {htonl(ip)};
    return err_set(-EHOSTUNREACH, "gateway %s: no ARP answer on %s (give --gateway-mac)",
                   inet_ntop(AF_INET, &a, b, sizeof b), l->ifname);
}

static int if_info(struct scan_link *l, bool have_src)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return err_set(-errno, "socket: %s", strerror(errno));
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", l->ifname);
    int rc = 0;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
        rc = err_set(-errno, "--interface %s: %s", l->ifname, strerror(errno));
    else
        memcpy(l->mac, ifr.ifr_hwaddr.sa_data, 6);
    if (rc == 0 && !have_src) {
        if (ioctl(fd, SIOCGIFADDR, &ifr) < 0)
            rc = err_set(-errno, "--interface %s: no IPv4 address (give --source-ip)", l->ifname);
        else
            ip_from_v4(&l->src4, ntohl(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr));
    }
    close(fd);
    l->ifindex = (int)if_nametoindex(l->ifname);
    if (rc == 0 && !l->ifindex)
        rc = err_set(-ENODEV, "--interface %s: no such interface", l->ifname);
    return rc;
}

/* The interface's first global IPv6 address, if any (for IPv6 targets). */
static void if_v6(struct scan_link *l)
{
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) < 0) return;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || strcmp(i->ifa_name, l->ifname))
            continue;
        const uint8_t *b = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr;
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) continue; /* link-local */
        ip_from_v6(&l->src6, b);
        break;
    }
    freeifaddrs(ifa);
}

int net_resolve(struct scan_link *l, uint32_t first, bool have_src, bool have_gw_mac)
{
    uint32_t gw = 0;
    char rif[IF_NAMESIZE] = "";
    int rc = route_for(first, rif, &gw);
    if (!l->ifname[0]) {
        if (rc < 0) return rc;
        snprintf(l->ifname, sizeof l->ifname, "%s", rif);
    } else if (rc < 0 || strcmp(rif, l->ifname) != 0) {
        gw = 0; /* another interface than the route's: its gateway is unknown */
    }
    if ((rc = if_info(l, have_src)) < 0) return rc;
    if_v6(l);
    ip_from_v4(&l->gw, gw);
    if (have_gw_mac) return 0;
    if (!gw)
        return err_set(-EINVAL, "%s: no gateway on the route to the targets (give --gateway-mac)",
                       l->ifname);
    if (neigh_mac(gw, l->ifname, l->gw_mac)) return 0;
    return arp_ask(l, gw, l->gw_mac);
}

int net_send_socket(const struct scan_link *l, bool qdisc_bypass)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: sees no input */
    if (fd < 0)
        return err_set(-errno, "packet socket: %s (needs root or CAP_NET_RAW)", strerror(errno));
    struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_ifindex = l->ifindex};
    int one = 1, buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (qdisc_bypass) setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return err_set(-e, "%s: bind: %s", l->ifname, strerror(e));
    }
    return fd;
}

static int attach_filter(int fd, const char *filter)
{
    pcap_t *pc = pcap_open_dead(DLT_EN10MB, 256);
    struct bpf_program prog;
    if (!pc) return err_set(-ENOMEM, "pcap_open_dead failed");
    if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        int rc = err_set(-EINVAL, "BPF filter '%s': %s", filter, pcap_geterr(pc));
        pcap_close(pc);
        return rc;
    }
    struct sock_fprog fp = {.len = (unsigned short)prog.bf_len,
                            .filter = (struct sock_filter *)prog.bf_insns};
    int rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) < 0
                 ? err_set(-errno, "SO_ATTACH_FILTER: %s", strerror(errno))
                 : 0;
    pcap_freecode(&prog);
    pcap_close(pc);
    return rc;
}

int net_recv_socket(const struct scan_link *l, const char *filter)
{
    /* protocol 0 until the filter is in place, so nothing unfiltered queues up */
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(-errno, "packet socket: %s (needs root or CAP_NET_RAW)", strerror(errno));
    int one = 1, buf = 16 << 20, rc;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
        rc = err_set(-errno, "PACKET_IGNORE_OUTGOING: %s", strerror(errno));
        goto fail;
    }
    if ((rc = attach_filter(fd, filter)) < 0) goto fail;
    struct sockaddr_ll sa = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = l->ifindex};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = err_set(-errno, "%s: bind: %s", l->ifname, strerror(errno));
        goto fail;
    }
    net_recv_drops(fd); /* start the count at zero */
    return fd;
fail:
    close(fd);
    return rc;
}

uint64_t net_recv_drops(int fd)
{
    struct tpacket_stats st;
    socklen_t len = sizeof st;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return 0;
    return st.tp_drops;
}
