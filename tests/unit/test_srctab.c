/* The aggregator's source table: every source found again after the index
 * grows many times, entries keeping their numbers (what the interval's rows
 * name them by) and their contents, colliding tags told apart by the key,
 * and the window's entries handed over in first-seen order. */
#include "core/addr.h"
#include "observe/srctab.h"
#include "testutil.h"

#include <stdlib.h>

struct ent {
    struct ipaddr ip;
    uint64_t n; /* what the "packets" wrote */
    uint32_t number;
};

static struct ipaddr addr(uint32_t i)
{
    struct ipaddr a;
    ip_from_v4(&a, 0xc6120000u + i * 7919u);
    return a;
}

static void numbers_survive_growth(void **state)
{
    (void)state;
    struct srctab t;
    assert_int_equal(srctab_init(&t, sizeof(struct ent), 16), 0);
    const uint32_t n = 300000; /* the index doubles from 1024 slots past 2^19 */
    for (uint32_t i = 0; i < n; i++) {
        struct ipaddr a = addr(i);
        bool created;
        struct ent *e = srctab_get(&t, &a, ip_hash(&a, 1), &created);
        assert_non_null(e);
        assert_true(created);
        e->n = i * 3 + 1;
        e->number = srctab_number(&t, e);
        assert_int_equal(e->number, i); /* numbered in arrival order */
    }
    assert_int_equal(t.n, n);
    assert_true(t.cap >= 2 * (size_t)n); /* at most half full */
    for (uint32_t i = 0; i < n; i += 7) { /* a repeat finds the same entry, unchanged */
        struct ipaddr a = addr(i);
        bool created;
        struct ent *e = srctab_get(&t, &a, ip_hash(&a, 1), &created);
        assert_false(created);
        assert_int_equal(e->n, i * 3 + 1);
        assert_int_equal(srctab_number(&t, e), i);
        assert_ptr_equal(srctab_find(&t, &a, ip_hash(&a, 1)), e);
    }
    struct ipaddr other = addr(n + 5);
    assert_null(srctab_find(&t, &other, ip_hash(&other, 1)));
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

/* Keys whose hashes share the tag and the first slot (a forced collision)
 * are still two entries: the key decides, not the hash. */
static void same_hash_two_keys(void **state)
{
    (void)state;
    struct srctab t;
    assert_int_equal(srctab_init(&t, sizeof(struct ent), 0), 0);
    struct ipaddr a = addr(1), b = addr(2);
    const uint64_t h = 0x1234567800000042ULL;
    struct ent *ea = srctab_get(&t, &a, h, NULL);
    ea->n = 10;
    struct ent *eb = srctab_get(&t, &b, h, NULL);
    eb->n = 20;
    assert_int_equal(t.n, 2);
    assert_int_equal(((struct ent *)srctab_find(&t, &a, h))->n, 10);
    assert_int_equal(((struct ent *)srctab_find(&t, &b, h))->n, 20);
    srctab_free(&t);
}

/* A table reserved for many sources holds few without filling anything:
 * reserving is address space, the index is sized for the reservation. */
static void reserve_then_fill(void **state)
{
    (void)state;
    struct srctab t;
    assert_int_equal(srctab_init(&t, sizeof(struct ent), 0), 0);
    assert_int_equal(srctab_reserve(&t, 100000), 0);
    size_t cap = t.cap;
    assert_true(cap >= 200000);
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
        cmocka_unit_test(same_hash_two_keys),
        cmocka_unit_test(reserve_then_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
