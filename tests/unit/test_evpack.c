/* Packed per-source events: records round-trip every field; a window's order
 * is address order (IPv6 below ::ffff:0:0/96, IPv4, IPv6 above, as memcmp
 * of the 16 bytes says), stable for equal addresses; binary search finds the
 * first record of an address; the old table's text fields parse back. */
#include "store/evpack.h"
#include "testutil.h"

#include <stdlib.h>

static void round_trip(void **state)
{
    (void)state;
    struct src_row r = {.ip = T_IP("2001:db8:1::7"),
                        .first_us = -5,
                        .last_us = INT64_MAX,
                        .packets = UINT64_MAX,
                        .bytes = 1ull << 40,
                        .ports = {23, 2323, 0, 65535},
                        .nports = 4,
                        .more_ports = 1,
                        .fpmask = 0x11,
                        .clsmask = 0x1f,
                        .cc = "JP",
                        .asn = 4294967295u,
                        .has_loc = 1,
                        .lat = -33.8688f,
                        .lon = 151.2093f,
                        .as_name = "x"};
    uint8_t rec[EV_RECORD];
    struct src_row b;
    ev_pack(rec, &r);
    ev_unpack(rec, &b);
    r.as_name = NULL; /* names live in as_names */
    assert_memory_equal(&r.ip, &b.ip, sizeof r.ip);
    assert_true(b.first_us == r.first_us && b.last_us == r.last_us);
    assert_true(b.packets == r.packets && b.bytes == r.bytes);
    assert_int_equal(b.nports, 4);
    assert_memory_equal(b.ports, r.ports, sizeof r.ports);
    assert_true(b.more_ports && b.has_loc && b.lat == r.lat && b.lon == r.lon);
    assert_int_equal(b.fpmask, 0x11);
    assert_int_equal(b.clsmask, 0x1f);
    assert_int_equal(b.asn, 4294967295u);
    assert_true(b.cc[0] == 'J' && b.cc[1] == 'P' && b.as_name == NULL);
    struct src_row none = {.ip =
                               T_IP("198.18.0.1")}; /* unknown location and country stay unknown */
    ev_pack(rec, &none);
    ev_unpack(rec, &b);
    assert_false(b.has_loc);
    assert_int_equal(b.cc[0], 0);
    assert_int_equal(b.nports, 0);
}

static int read_mem(void *ctx, size_t i, uint8_t *buf)
{
    memcpy(buf, (const uint8_t *)ctx + i * EV_RECORD, EV_RECORD);
    return 0;
}

static void order_and_search(void **state)
{
    (void)state;
    enum { N = 5000 };
    static const char *const v6[] = {"::1", "::fffe:1:2", "2001:db8::1", "fe80::1", "::ffff:0:0"};
    struct src_row *rows = calloc(N, sizeof *rows);
    uint64_t x = 42;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (i % 50 == 0)
            rows[i].ip = T_IP(v6[(x >> 8) % 5]);
        else
            ip_from_v4(&rows[i].ip, (uint32_t)(x % 3000)); /* many repeats */
        rows[i].first_us = (int64_t)i;                     /* the input order, to check stability */
    }
    uint32_t *o = ev_order(rows, N);
    assert_non_null(o);
    uint8_t *blk = malloc((size_t)N * EV_RECORD);
    for (size_t i = 0; i < N; i++)
        ev_pack(blk + i * EV_RECORD, &rows[o[i]]);
    char *seen = calloc(N, 1);
    for (size_t i = 0; i < N; i++) {
        assert_false(seen[o[i]]);
        seen[o[i]] = 1;
        if (!i) continue;
        int c = memcmp(rows[o[i - 1]].ip.b, rows[o[i]].ip.b, 16);
        assert_true(c < 0 || (c == 0 && rows[o[i - 1]].first_us < rows[o[i]].first_us));
    }
    for (size_t k = 0; k < N; k += 97) { /* the first record of each address searched */
        const uint8_t *ip = rows[k].ip.b;
        long at = ev_lower_bound(N, ip, read_mem, blk);
        assert_true(at >= 0 && at < N);
        assert_memory_equal(blk + (size_t)at * EV_RECORD, ip, 16);
        if (at > 0) assert_true(memcmp(blk + (size_t)(at - 1) * EV_RECORD, ip, 16) < 0);
    }
    struct ipaddr above = T_IP("ffff::1");
    assert_int_equal(ev_lower_bound(N, above.b, read_mem, blk), N);
    free(seen);
    free(blk);
    free(o);
    free(rows);
}

static void old_text(void **state)
{
    (void)state;
    struct src_row r = {0};
    char out[96];
    ev_ports_parse("23,2323,80,443,8080,5555,7547,37215,22", &r);
    assert_int_equal(r.nports, 8);
    assert_true(r.more_ports);
    ev_ports_text(&r, out, sizeof out);
    assert_string_equal(out, "23,2323,80,443,8080,5555,7547,37215");
    ev_ports_parse("", &r);
    assert_int_equal(r.nports, 0);
    ev_ports_parse("0,99999,x", &r); /* port 0 is a port; past 65535 is not */
    assert_int_equal(r.nports, 1);
    assert_int_equal(ev_mask_parse("mirai,nmap,bogus", FP_COUNT, ev_fp_name),
                     (1u << FP_MIRAI) | (1u << FP_NMAP));
    ev_mask_text((1u << CLS_TCP_SYN) | (1u << CLS_UDP), CLS_COUNT, ev_class_name, out, sizeof out);
    assert_int_equal(ev_mask_parse(out, CLS_COUNT, ev_class_name),
                     (1u << CLS_TCP_SYN) | (1u << CLS_UDP));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(order_and_search),
        cmocka_unit_test(old_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
