/* Classes and scanner fingerprints, each against a probe built the way the
 * tool's source or documentation says it builds them (../shared/reference). */
#include "core/classify.h"
#include "testutil.h"

#define DARK "198.18.3.4"
#define DARK_U32 0xc6120304u

static enum fingerprint fp_of(struct tcp_probe q)
{
    struct pkt p = t_decode_tcp(&q);
    return fingerprint(&p);
}

static void mirai(void **state)
{
    (void)state;
    /* raw SYN, TTL 64, no options, seq = destination address, random window/ID */
    struct tcp_probe q = {.src = "1.2.3.4",
                          .dst = DARK,
                          .sport = 51234,
                          .dport = 23,
                          .seq = DARK_U32,
                          .flags = TCP_SYN,
                          .win = 31337,
                          .id = 4242};
    assert_int_equal(fp_of(q), FP_MIRAI);
    q.dport = 2323;
    assert_int_equal(fp_of(q), FP_MIRAI);
    q.dport = 7547; /* variants keep seq = dst on other IoT ports */
    assert_int_equal(fp_of(q), FP_MIRAI);
    q.id = 54321; /* the first rule wins even when the ID looks like ZMap */
    assert_int_equal(fp_of(q), FP_MIRAI);
    q.seq = DARK_U32 + 1;
    q.id = 4242;
    assert_int_equal(fp_of(q), FP_UNKNOWN);
}

static void zmap(void **state)
{
    (void)state;
    struct tcp_probe q = {.src = "1.2.3.4",
                          .dst = DARK,
                          .sport = 40001,
                          .dport = 443,
                          .seq = 99,
                          .flags = TCP_SYN,
                          .win = 65535,
                          .id = 54321,
                          .ttl = 255};
    assert_int_equal(fp_of(q), FP_ZMAP);
}

static void masscan(void **state)
{
    (void)state;
    uint32_t seq = 0x12345678;
    uint16_t dport = 3389;
    struct tcp_probe q = {.src = "1.2.3.4",
                          .dst = DARK,
                          .sport = 61000,
                          .dport = dport,
                          .seq = seq,
                          .flags = TCP_SYN,
                          .win = 1024,
                          .ttl = 255,
                          .id = (uint16_t)((DARK_U32 ^ dport ^ seq) & 0xffff)};
    assert_int_equal(fp_of(q), FP_MASSCAN);
    q.opts = CRAFT_OPTS_MSS; /* newer masscan adds MSS: still masscan, not nmap */
    assert_int_equal(fp_of(q), FP_MASSCAN);
    q.id ^= 1;
    assert_int_equal(fp_of(q), FP_NMAP);
}

static void nmap(void **state)
{
    (void)state;
    struct tcp_probe q = {.src = "1.2.3.4",
                          .dst = DARK,
                          .sport = 45000,
                          .dport = 22,
                          .seq = 0xdeadbeef,
                          .flags = TCP_SYN,
                          .ttl = 48,
                          .id = 1,
                          .opts = CRAFT_OPTS_MSS};
    for (uint16_t w = 1024; w <= 4096; w += 1024) {
        q.win = w;
        assert_int_equal(fp_of(q), FP_NMAP);
    }
    q.win = 5120;
    assert_int_equal(fp_of(q), FP_UNKNOWN);
    q.win = 1024;
    q.opts = CRAFT_OPTS_NONE; /* no MSS */
    assert_int_equal(fp_of(q), FP_UNKNOWN);
    q.opts = CRAFT_OPTS_LINUX; /* more than one option */
    assert_int_equal(fp_of(q), FP_UNKNOWN);
    q.src = "2001:db8::7";
    q.dst = "2001:db8:1::1";
    q.opts = CRAFT_OPTS_MSS;
    assert_int_equal(fp_of(q), FP_NMAP);
}

static void os_stack_is_unknown(void **state)
{
    (void)state;
    struct tcp_probe q = {.src = "1.2.3.4",
                          .dst = DARK,
                          .sport = 45000,
                          .dport = 80,
                          .seq = 7,
                          .flags = TCP_SYN,
                          .win = 64240,
                          .id = 100,
                          .opts = CRAFT_OPTS_LINUX};
    assert_int_equal(fp_of(q), FP_UNKNOWN);
}

static void tcp_classes_and_victims(void **state)
{
    (void)state;
    struct tcp_probe q = {.src = "203.0.113.80",
                          .dst = DARK,
                          .sport = 443,
                          .dport = 5000,
                          .seq = 7,
                          .flags = TCP_SYN | TCP_ACK,
                          .win = 65535};
    struct pkt p = t_decode_tcp(&q);
    struct victim v;
    char b[IP_STRLEN];
    assert_int_equal(classify(&p), CLS_BACKSCATTER);
    assert_int_equal(fingerprint(&p), FP_NONE);
    assert_int_equal(backscatter_victim(&p, &v), 0);
    assert_string_equal(ip_format(&v.addr, b), "203.0.113.80");
    assert_int_equal(v.proto, IPPROTO_TCP);
    assert_int_equal(v.port, 443);
    q.flags = TCP_RST;
    p = t_decode_tcp(&q);
    assert_int_equal(classify(&p), CLS_BACKSCATTER);
    q.flags = TCP_RST | TCP_ACK;
    p = t_decode_tcp(&q);
    assert_int_equal(classify(&p), CLS_BACKSCATTER);
    q.flags = TCP_ACK;
    p = t_decode_tcp(&q);
    assert_int_equal(classify(&p), CLS_OTHER);
    q.flags = TCP_SYN;
    p = t_decode_tcp(&q);
    assert_int_equal(classify(&p), CLS_TCP_SYN);
}

static struct pkt icmp_pkt(uint8_t proto, uint8_t type)
{
    struct pkt p;
    memset(&p, 0, sizeof p);
    p.proto = proto;
    p.icmp_type = type;
    p.src = T_IP("203.0.113.7");
    return p;
}

static void icmp_and_other_classes(void **state)
{
    (void)state;
    struct pkt p = icmp_pkt(IPPROTO_ICMP, 8);
    assert_int_equal(classify(&p), CLS_ICMP_REQUEST);
    static const uint8_t bs[] = {0, 3, 4, 5, 11, 12, 14, 16, 18};
    for (size_t i = 0; i < sizeof bs; i++) {
        p = icmp_pkt(IPPROTO_ICMP, bs[i]);
        assert_int_equal(classify(&p), CLS_BACKSCATTER);
    }
    p = icmp_pkt(IPPROTO_ICMP, 0);
    struct victim v;
    char b[IP_STRLEN];
    assert_int_equal(backscatter_victim(&p, &v), 0); /* echo reply: the victim answered */
    assert_string_equal(ip_format(&v.addr, b), "203.0.113.7");
    p = icmp_pkt(IPPROTO_ICMP, 3); /* an error without a readable quote names nobody */
    assert_int_equal(backscatter_victim(&p, &v), -1);
    p = icmp_pkt(IPPROTO_ICMPV6, 128);
    assert_int_equal(classify(&p), CLS_ICMP_REQUEST);
    p = icmp_pkt(IPPROTO_ICMPV6, 129);
    assert_int_equal(classify(&p), CLS_BACKSCATTER);
    p = icmp_pkt(IPPROTO_ICMPV6, 1);
    assert_int_equal(classify(&p), CLS_BACKSCATTER);
    p = icmp_pkt(IPPROTO_ICMPV6, 135); /* neighbour solicitation */
    assert_int_equal(classify(&p), CLS_OTHER);
    p = icmp_pkt(IPPROTO_UDP, 0);
    assert_int_equal(classify(&p), CLS_UDP);
    p = icmp_pkt(IPPROTO_GRE, 0);
    assert_int_equal(classify(&p), CLS_OTHER);
    p = icmp_pkt(IPPROTO_UDP, 0);
    p.later_fragment = 1; /* a UDP fragment without its header is not a UDP probe */
    assert_int_equal(classify(&p), CLS_OTHER);
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int f = 0; f < FP_COUNT; f++)
        assert_int_equal(fingerprint_from_name(fingerprint_name((enum fingerprint)f)), f);
    assert_int_equal(fingerprint_from_name("mirai2"), -1);
    assert_int_equal(proto_from_name(proto_name(IPPROTO_UDP)), IPPROTO_UDP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mirai),
        cmocka_unit_test(zmap),
        cmocka_unit_test(masscan),
        cmocka_unit_test(nmap),
        cmocka_unit_test(os_stack_is_unknown),
        cmocka_unit_test(tcp_classes_and_victims),
        cmocka_unit_test(icmp_and_other_classes),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
