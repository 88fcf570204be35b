/* Surge alerts and backscatter DoS inference. */
#include "observe/dos.h"
#include "observe/surge.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

/* Deterministic Poisson-like counts around mean m (normal approximation). */
static uint64_t noisy(uint32_t *st, double m)
{
    double u = 0;
    for (int i = 0; i < 12; i++) {
        *st = *st * 1103515245u + 12345u;
        u += (*st >> 8) / 16777216.0;
    }
    double x = m + (u - 6) * sqrt(m);
    return x < 0 ? 0 : (uint64_t)llround(x);
}

static struct surge *fresh(void)
{
    struct surge_cfg c;
    surge_cfg_default(&c);
    return surge_new(&c);
}

static void steady_traffic_never_alerts(void **state)
{
    (void)state;
    struct surge *s = fresh();
    uint32_t st = 1;
    struct alert_row a;
    for (int64_t i = 0; i < 2000; i++) {
        assert_int_equal(surge_observe(s, IPPROTO_TCP, 23, i, noisy(&st, 400), &a), 0);
        assert_int_equal(surge_observe(s, IPPROTO_TCP, 80, i, noisy(&st, 3), &a), 0);
        assert_int_equal(surge_observe(s, IPPROTO_UDP, 53, i, noisy(&st, 30), &a), 0);
    }
    surge_free(s);
}

static void surge_alerts_once_then_rearms(void **state)
{
    (void)state;
    struct surge *s = fresh();
    uint32_t st = 2;
    struct alert_row a;
    for (int64_t i = 0; i < 30; i++)
        assert_int_equal(surge_observe(s, IPPROTO_TCP, 2323, i, noisy(&st, 120), &a), 0);
    assert_int_equal(surge_observe(s, IPPROTO_TCP, 2323, 30, 480, &a), 1);
    assert_int_equal(a.port, 2323);
    assert_int_equal(a.sources, 480);
    assert_true(a.baseline > 100 && a.baseline < 140);
    assert_int_equal(surge_observe(s, IPPROTO_TCP, 2323, 31, 500, &a), 0); /* same episode */
    for (int64_t i = 32; i < 60; i++)
        surge_observe(s, IPPROTO_TCP, 2323, i, noisy(&st, 120), &a);
    assert_int_equal(surge_observe(s, IPPROTO_TCP, 2323, 60, 900, &a), 1); /* a new one */
    surge_free(s);
}

static void new_port_needs_real_mass(void **state)
{
    (void)state;
    struct surge *s = fresh();
    struct alert_row a;
    for (int64_t i = 0; i < 20; i++)
        surge_observe(s, IPPROTO_TCP, 23, i, 100, &a);
    assert_int_equal(surge_observe(s, IPPROTO_TCP, 37215, 20, 6, &a), 0);
    assert_int_equal(surge_observe(s, IPPROTO_TCP, 52869, 20, 200, &a), 1);
    assert_int_equal(surge_observe(s, IPPROTO_TCP, 5555, 2, 200, &a), 0); /* still warming up */
    surge_free(s);
}

static struct dos *dos_fresh(void)
{
    static struct dos d;
    struct dos_cfg c;
    dos_cfg_default(&c);
    assert_int_equal(dos_init(&d, &c), 0);
    return &d;
}

static void feed(struct dos *d, const char *victim, int n, int64_t t0, int64_t step_us)
{
    struct victim v = {.addr = T_IP(victim), .proto = IPPROTO_TCP, .port = 80};
    struct ipaddr dst = T_IP("198.18.0.1");
    for (int i = 0; i < n; i++) {
        dst.b[14] = (uint8_t)i;
        assert_int_equal(dos_add(d, &v, &dst, t0 + i * step_us, 60), 0);
    }
}

static void dos_thresholds(void **state)
{
    (void)state;
    struct dos *d = dos_fresh();
    int64_t t0 = 1000000000LL * 1000000;
    feed(d, "203.0.113.1", 31, t0, 2000000);  /* 31 packets over 60 s, 30 in a minute */
    feed(d, "203.0.113.2", 24, t0, 3000000);  /* too few packets */
    feed(d, "203.0.113.3", 200, t0, 200000);  /* 40 s: too short */
    feed(d, "203.0.113.4", 60, t0, 10000000); /* 590 s at 6/min: peak too low */
    struct dos_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(dos_expire(d, t0 + 100 * 1000000LL, &rows, &n), 0);
    assert_int_equal(n, 0); /* nothing idle for 300 s yet */
    assert_int_equal(dos_expire(d, -1, &rows, &n), 0);
    assert_int_equal(n, 1);
    char b[IP_STRLEN];
    assert_string_equal(ip_format(&rows[0].target, b), "203.0.113.1");
    assert_int_equal(rows[0].packets, 31);
    assert_int_equal(rows[0].peak_60s, 30); /* six 10 s buckets of 5 packets */
    assert_int_equal(rows[0].end_us - rows[0].start_us, 60000000);
    assert_int_equal(rows[0].attackers, 1); /* one darknet /16 */
    free(rows);
    dos_free(d);
}

static void dos_idle_expiry(void **state)
{
    (void)state;
    struct dos *d = dos_fresh();
    int64_t t0 = 1000000000LL * 1000000;
    feed(d, "203.0.113.9", 100, t0, 1000000);
    struct dos_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(dos_expire(d, t0 + 99 * 1000000LL + 299 * 1000000LL, &rows, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(dos_expire(d, t0 + 99 * 1000000LL + 300 * 1000000LL, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(dos_open(d), 0);
    free(rows);
    dos_free(d);
}

/* Times before 1970 (a crafted capture reaching dos directly) still land in
 * the six buckets, not before them: the same vector as dos_thresholds. */
static void dos_negative_time(void **state)
{
    (void)state;
    struct dos *d = dos_fresh();
    feed(d, "203.0.113.1", 31, -120 * 1000000LL, 2000000);
    struct dos_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(dos_expire(d, -1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].packets, 31);
    assert_int_equal(rows[0].peak_60s, 30);
    free(rows);
    dos_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(steady_traffic_never_alerts),
        cmocka_unit_test(surge_alerts_once_then_rearms),
        cmocka_unit_test(new_port_needs_real_mass),
        cmocka_unit_test(dos_thresholds),
        cmocka_unit_test(dos_idle_expiry),
        cmocka_unit_test(dos_negative_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
