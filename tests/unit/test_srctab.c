/* The aggregator's source table: every source found again after the index
 * grows many times, entries keeping their numbers (what the interval's rows
 * name them by), their contents and their slot's word for the caller (the
 * row index), IPv4 sources told apart by address and IPv6 ones by key even
 * when their hashes collide, and the window's entries handed over in
 * first-seen order. */
#include "core/addr.h"
#include "observe/srctab.h"
#include "testutil.h"

#include <stdlib.h>

struct ent {
    struct ipaddr ip;
    uint64_t n; /* what the "packets" wrote */
};

static struct ipaddr addr(uint32_t i)
{
    struct ipaddr a;
    if (i % 5 == 4) { /* every fifth an IPv6 source */
        memset(&a, 0, sizeof a);
        a.b[0] = 0x20, a.b[1] = 0x01, a.b[2] = 0x0d, a.b[3] = 0xb8;
        memcpy(a.b + 12, &i, 4);
    } else {
        ip_from_v4(&a, 0xc6120000u + i * 7919u);
    }
    return a;
}

static void numbers_survive_growth(void **state)
{
    (void)state;
    struct srctab t;
    assert_int_equal(srctab_init(&t, sizeof(struct ent), 16), 0);
    const uint32_t n = 300000; /* the index doubles from 2048 slots past 2^19 */
    for (uint32_t i = 0; i < n; i++) {
        struct ipaddr a = addr(i);
        bool created;
        struct srcslot *s = srctab_get(&t, &a, ip_hash(&a, 1), &created);
        assert_non_null(s);
        assert_true(created);
        assert_int_equal(s->user, 0);
        assert_int_equal(s->number - 1, i); /* numbered in arrival order */
        s->user = i ^ 0x5a5a;
        struct ent *e = srctab_entry(&t, s);
        assert_memory_equal(&e->ip, &a, sizeof a);
        e->n = i * 3 + 1;
    }
    assert_int_equal(t.n, n);
    assert_true(3 * t.cap >= 4 * (size_t)n); /* at most 3/4 full */
    for (uint32_t i = 0; i < n; i += 7) { /* a repeat finds the same entry, unchanged */
        struct ipaddr a = addr(i);
        bool created;
        struct srcslot *s = srctab_get(&t, &a, ip_hash(&a, 1), &created);
        assert_false(created);
        assert_int_equal(s->number - 1, i);
        assert_int_equal(s->user, i ^ 0x5a5a); /* moved with the slot on every growth */
        assert_int_equal(((struct ent *)srctab_entry(&t, s))->n, i * 3 + 1);
        assert_ptr_equal(srctab_find(&t, &a, ip_hash(&a, 1)), s);
    }
    struct ipaddr other = addr(n + 5), other6 = addr(n + 4);
    assert_null(srctab_find(&t, &other, ip_hash(&other, 1)));
    assert_null(srctab_find(&t, &other6, ip_hash(&other6, 1)));
    size_t got;
    struct ent *all = srctab_take(&t, &got);
    assert_int_equal(got, n);
    for (uint32_t i = 0; i < n; i++) {
        struct ipaddr a = addr(i);
        assert_memory_equal(&all[i].ip, &a, sizeof a); /* first-seen order */
        assert_int_equal(all[i].n, i * 3 + 1);
    }
    free(all);
    assert_int_equal(t.n, 0);
    assert_null(srctab_take(&t, &got)); /* nothing left to hand over */
    assert_int_equal(got, 0);
}

/* Keys whose hashes are equal (a forced collision) are still different
 * entries: IPv4 by the address in the slot, IPv6 by the key in the entry,
 * and an IPv4 address never matches the IPv6 key that ends in its bytes. */
static void same_hash_different_keys(void **state)
{
    (void)state;
    struct srctab t;
    assert_int_equal(srctab_init(&t, sizeof(struct ent), 0), 0);
    struct ipaddr k[4] = {addr(1), addr(2), addr(4), addr(9)}; /* v4, v4, v6, v6 */
    struct ipaddr v6_of_v4 = k[0];
    memset(v6_of_v4.b, 0, 12);
    v6_of_v4.b[0] = 0x20; /* 2000::<the IPv4 address's bytes> */
    const uint64_t h = 0x1234567800000042ULL;
    for (int i = 0; i < 4; i++) {
        struct srcslot *s = srctab_get(&t, &k[i], h, NULL);
        ((struct ent *)srctab_entry(&t, s))->n = 10 + (uint64_t)i;
    }
    assert_null(srctab_find(&t, &v6_of_v4, h));
    assert_non_null(srctab_get(&t, &v6_of_v4, h, NULL));
    assert_int_equal(t.n, 5);
    for (int i = 0; i < 4; i++)
        assert_int_equal(((struct ent *)srctab_entry(&t, srctab_find(&t, &k[i], h)))->n, 10 + i);
    srctab_free(&t);
}

/* A table reserved for many sources holds them without growing: reserving
 * is address space, the index is sized for the reservation. */
static void reserve_then_fill(void **state)
{
    (void)state;
    struct srctab t;
    assert_int_equal(srctab_init(&t, sizeof(struct ent), 0), 0);
    assert_int_equal(srctab_reserve(&t, 100000), 0);
    size_t cap = t.cap;
    assert_true(3 * cap >= 4 * 100000);
    for (uint32_t i = 0; i < 100000; i++) {
        struct ipaddr a = addr(i);
        assert_non_null(srctab_get(&t, &a, ip_hash(&a, 9), NULL));
    }
    assert_int_equal(t.cap, cap); /* no growth on the way */
    srctab_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_survive_growth),
        cmocka_unit_test(same_hash_different_keys),
        cmocka_unit_test(reserve_then_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
