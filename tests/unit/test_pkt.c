/* Decoder: link types, VLANs, IPv6 extension headers, ICMP quotes, and every
 * kind of malformed header counted rather than crashed on. */
#include "testutil.h"

static const struct tcp_probe syn = {.src = "203.0.113.9",
                                     .dst = "198.18.7.1",
                                     .sport = 40000,
                                     .dport = 23,
                                     .seq = 12345,
                                     .flags = TCP_SYN,
                                     .win = 5840,
                                     .id = 77};

static void ethernet_ipv4_tcp(void **state)
{
    (void)state;
    struct pkt p = t_decode_tcp(&syn);
    char b[IP_STRLEN];
    assert_int_equal(p.ipver, 4);
    assert_int_equal(p.proto, IPPROTO_TCP);
    assert_string_equal(ip_format(&p.src, b), "203.0.113.9");
    assert_string_equal(ip_format(&p.dst, b), "198.18.7.1");
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 23);
    assert_int_equal(p.seq, 12345);
    assert_int_equal(p.ip_id, 77);
    assert_int_equal(p.window, 5840);
    assert_int_equal(p.tcp_flags, TCP_SYN);
    assert_int_equal(p.tcp_opt_count, 0);
}

static void vlan_and_options(void **state)
{
    (void)state;
    struct tcp_probe q = syn;
    q.vlan = 100;
    q.opts = CRAFT_OPTS_LINUX;
    struct pkt p = t_decode_tcp(&q);
    assert_int_equal(p.dport, 23);
    assert_int_equal(p.tcp_opt_count, 4); /* MSS, SACK-permitted, timestamps, window scale */
    assert_int_equal(p.tcp_mss, 1460);
    q.opts = CRAFT_OPTS_MSS;
    p = t_decode_tcp(&q);
    assert_int_equal(p.tcp_opt_count, 1);
}

static void qinq(void **state)
{
    (void)state;
    uint8_t f[128];
    size_t n = t_tcp_frame(f, &syn);
    uint8_t g[132];
    memcpy(g, f, 12);
    g[12] = 0x88, g[13] = 0xa8, g[14] = 0, g[15] = 5; /* outer 802.1ad tag */
    memcpy(g + 16, f + 12, n - 12);
    struct pkt p;
    assert_int_equal(pkt_decode(DLT_EN10MB, g, n + 4, &p), PKT_OK);
    assert_int_equal(p.dport, 23);
}

static void other_link_types(void **state)
{
    (void)state;
    uint8_t f[128], g[160];
    size_t n = t_tcp_frame(f, &syn) - 14; /* the IP datagram at f + 14 */
    struct pkt p;
    assert_int_equal(pkt_decode(DLT_RAW, f + 14, n, &p), PKT_OK);
    assert_int_equal(p.dport, 23);
    memset(g, 0, 16); /* Linux cooked v1: protocol at 14 */
    g[14] = 0x08;
    memcpy(g + 16, f + 14, n);
    assert_int_equal(pkt_decode(DLT_LINUX_SLL, g, n + 16, &p), PKT_OK);
    assert_int_equal(p.dport, 23);
    memset(g, 0, 20); /* Linux cooked v2: protocol first */
    g[0] = 0x08;
    memcpy(g + 20, f + 14, n);
    assert_int_equal(pkt_decode(276, g, n + 20, &p), PKT_OK);
    assert_int_equal(p.sport, 40000);
    assert_false(pkt_linktype_supported(105)); /* 802.11 */
}

static void ipv6_with_extension_header(void **state)
{
    (void)state;
    uint8_t f[200];
    struct ipaddr s = T_IP("2001:db8::1"), d = T_IP("2001:db8:1::99");
    size_t o = craft_eth(f, 0x86dd, 0);
    uint8_t *ip = f + o;
    size_t tl = craft_tcp(ip + 48, 1234, 2323, 1, 0, TCP_SYN, 1024, CRAFT_OPTS_NONE);
    craft_ip6(ip, &s, &d, 60 /* destination options */, 64, 8 + tl);
    memset(ip + 40, 0, 8);
    ip[40] = IPPROTO_TCP; /* next header; length 0 = 8 bytes */
    struct pkt p;
    assert_int_equal(pkt_decode(DLT_EN10MB, f, o + 48 + tl, &p), PKT_OK);
    assert_int_equal(p.ipver, 6);
    assert_int_equal(p.proto, IPPROTO_TCP);
    assert_int_equal(p.dport, 2323);
}

static void icmp_error_quote(void **state)
{
    (void)state;
    uint8_t f[200];
    struct ipaddr router = T_IP("192.0.2.1"), dark = T_IP("198.18.0.5"),
                  victim = T_IP("203.0.113.80");
    size_t o = craft_eth(f, 0x0800, 0);
    uint8_t *icmp = f + o + 20;
    memset(icmp, 0, 36);
    icmp[0] = 3;
    icmp[1] = 3;
    craft_ip4(icmp + 8, &dark, &victim, IPPROTO_UDP, 1, 50, 8);
    craft_udp(icmp + 28, 5555, 53, 0);
    craft_ip4(f + o, &router, &dark, IPPROTO_ICMP, 2, 250, 36);
    struct pkt p;
    char b[IP_STRLEN];
    assert_int_equal(pkt_decode(DLT_EN10MB, f, o + 56, &p), PKT_OK);
    assert_true(p.inner.present);
    assert_int_equal(p.inner.proto, IPPROTO_UDP);
    assert_string_equal(ip_format(&p.inner.dst, b), "203.0.113.80");
    assert_int_equal(p.inner.dport, 53);
}

static void malformed_headers(void **state)
{
    (void)state;
    uint8_t f[128];
    struct pkt p;
    size_t n = t_tcp_frame(f, &syn);
    uint8_t g[128];
    memcpy(g, f, n);
    g[14] = 0x44; /* IHL 4 */
    assert_int_equal(pkt_decode(DLT_EN10MB, g, n, &p), PKT_MALFORMED);
    memcpy(g, f, n);
    g[16] = 0, g[17] = 12; /* total length < header */
    assert_int_equal(pkt_decode(DLT_EN10MB, g, n, &p), PKT_MALFORMED);
    memcpy(g, f, n);
    g[14 + 20 + 12] = 0x30; /* TCP data offset 3 */
    assert_int_equal(pkt_decode(DLT_EN10MB, g, n, &p), PKT_MALFORMED);
    for (size_t cut = 0; cut < n; cut++) { /* every truncation is malformed, never a read past */
        enum pkt_status st = pkt_decode(DLT_EN10MB, f, cut, &p);
        assert_true(st == PKT_MALFORMED || (cut >= 14 + 20 + 20 && st == PKT_OK));
    }
    uint8_t arp[60] = {0};
    craft_eth(arp, 0x0806, 0);
    assert_int_equal(pkt_decode(DLT_EN10MB, arp, sizeof arp, &p), PKT_NON_IP);
}

static void later_fragments_have_no_ports(void **state)
{
    (void)state;
    uint8_t f[128];
    struct tcp_probe q = syn;
    size_t n = t_tcp_frame(f, &q);
    f[14 + 6] = 0x20, f[14 + 7] = 0x10; /* MF set, offset 16 * 8 bytes */
    struct pkt p;
    assert_int_equal(pkt_decode(DLT_EN10MB, f, n, &p), PKT_OK);
    assert_true(p.later_fragment);
    assert_int_equal(p.dport, 0);
    f[14 + 6] = 0x20, f[14 + 7] = 0; /* the first fragment keeps its header */
    assert_int_equal(pkt_decode(DLT_EN10MB, f, n, &p), PKT_OK);
    assert_false(p.later_fragment);
    assert_int_equal(p.dport, 23);
}

static void padding_is_ignored(void **state)
{
    (void)state;
    uint8_t f[128] = {0};
    struct tcp_probe q = syn;
    size_t n = t_tcp_frame(f, &q);
    assert_true(n < 60);
    struct pkt p;
    f[n] = 0xff; /* garbage in the Ethernet padding */
    assert_int_equal(pkt_decode(DLT_EN10MB, f, 60, &p), PKT_OK);
    assert_int_equal(p.tcp_opt_count, 0);
}

/* A shard tells its frames by pkt_source alone: wherever pkt_decode finds an
 * IP packet — every link type, tags, either version, every truncation — it
 * finds the same source address; a frame with no IP header has none. */
static void check_source(int dlt, const uint8_t *f, size_t n)
{
    for (size_t cut = 0; cut <= n; cut++) {
        struct pkt p;
        struct ipaddr src;
        bool has = pkt_source(dlt, f, cut, &src);
        if (pkt_decode(dlt, f, cut, &p) != PKT_OK) continue;
        assert_true(has);
        assert_memory_equal(&src, &p.src, sizeof src);
    }
}

static void source_address_alone(void **state)
{
    (void)state;
    uint8_t f[160], g[200];
    struct tcp_probe q = syn;
    size_t n = t_tcp_frame(f, &q);
    check_source(DLT_EN10MB, f, n);
    q.vlan = 7;
    check_source(DLT_EN10MB, f, t_tcp_frame(f, &q));
    q.vlan = 0;
    q.src = "2001:db8:9::5";
    q.dst = "2001:db8:1::7";
    n = t_tcp_frame(f, &q);
    check_source(DLT_EN10MB, f, n);
    check_source(DLT_RAW, f + 14, n - 14);
    check_source(DLT_IPV6, f + 14, n - 14);
    n = t_tcp_frame(f, &syn) - 14; /* the IPv4 datagram at f + 14 */
    check_source(DLT_RAW, f + 14, n);
    memset(g, 0, 20);
    g[14] = 0x08; /* Linux cooked v1 */
    memcpy(g + 16, f + 14, n);
    check_source(DLT_LINUX_SLL, g, n + 16);
    memset(g, 0, 20);
    g[0] = 0x08; /* v2 */
    memcpy(g + 20, f + 14, n);
    check_source(276, g, n + 20);
    memset(g, 0, 4); /* BSD loopback */
    g[0] = 2;
    memcpy(g + 4, f + 14, n);
    check_source(DLT_NULL, g, n + 4);
    struct ipaddr src;
    uint8_t arp[60] = {0};
    craft_eth(arp, 0x0806, 0);
    assert_false(pkt_source(DLT_EN10MB, arp, sizeof arp, &src));
    assert_false(pkt_source(105, f, sizeof f, &src));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ethernet_ipv4_tcp),
        cmocka_unit_test(vlan_and_options),
        cmocka_unit_test(qinq),
        cmocka_unit_test(other_link_types),
        cmocka_unit_test(ipv6_with_extension_header),
        cmocka_unit_test(icmp_error_quote),
        cmocka_unit_test(malformed_headers),
        cmocka_unit_test(padding_is_ignored),
        cmocka_unit_test(later_fragments_have_no_ports),
        cmocka_unit_test(source_address_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
