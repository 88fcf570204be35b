/* Distinct counting: exact while small, HyperLogLog within 2% at a million,
 * unions that do not double count, and blobs that survive a round trip. */
#include "core/addr.h"
#include "core/sketch.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

static uint64_t item(uint64_t i)
{
    struct ipaddr a;
    ip_from_v4(&a, (uint32_t)(i * 2654435761u + 17));
    if (i >> 32) a.b[3] = (uint8_t)(i >> 32);
    return ip_hash(&a, 1);
}

static void exact_while_small(void **state)
{
    (void)state;
    struct sketch s;
    sketch_init(&s);
    assert_int_equal(sketch_count(&s), 0);
    for (int rep = 0; rep < 3; rep++)
        for (uint64_t i = 0; i < SKETCH_EXACT_MAX; i++)
            sketch_add(&s, item(i));
    assert_int_equal(sketch_count(&s), SKETCH_EXACT_MAX);
    assert_null(s.reg);
    sketch_add(&s, item(SKETCH_EXACT_MAX));
    assert_non_null(s.reg); /* promoted */
    sketch_free(&s);
}

/* A sketch given room ahead (the size a port's sketch had last interval)
 * counts exactly what one grown from empty counts, promotes at the same
 * entry, and its blob merges into the same union. */
static void reserved_same_as_grown(void **state)
{
    (void)state;
    const uint32_t hints[] = {1, 7, 100, SKETCH_EXACT_MAX, 5 * SKETCH_EXACT_MAX};
    for (size_t h = 0; h < sizeof hints / sizeof *hints; h++) {
        struct sketch r, g;
        sketch_init(&r);
        sketch_init(&g);
        assert_int_equal(sketch_reserve(&r, hints[h]), 0);
        if (hints[h] > SKETCH_INLINE) /* fewer fit in the struct: nothing to reserve */
            assert_true(r.cap >= 2 * (hints[h] < SKETCH_EXACT_MAX ? hints[h] : SKETCH_EXACT_MAX));
        else
            assert_int_equal(r.cap, 0);
        for (uint64_t i = 0; i <= SKETCH_EXACT_MAX; i++) {
            for (uint64_t x = i / 3; x <= i; x += i - i / 3 + !(i - i / 3)) { /* repeats too */
                assert_int_equal(sketch_add(&r, item(x)), 0);
                assert_int_equal(sketch_add(&g, item(x)), 0);
            }
            assert_int_equal(sketch_count(&r), sketch_count(&g));
            assert_true((r.reg == NULL) == (g.reg == NULL));
        }
        assert_non_null(r.reg); /* both promoted past SKETCH_EXACT_MAX entries */
        assert_memory_equal(r.reg, g.reg, SKETCH_M);
        sketch_free(&r);
        sketch_free(&g);
    }
    struct sketch s;
    sketch_init(&s);
    assert_int_equal(sketch_reserve(&s, 0), 0); /* nothing to make room for */
    assert_null(s.set);
    sketch_add(&s, item(1));
    uint64_t *before = s.set;
    assert_int_equal(sketch_reserve(&s, 500), 0); /* not empty: left as it is */
    assert_ptr_equal(s.set, before);
    assert_int_equal(sketch_count(&s), 1);
    sketch_free(&s);
}

/* The first SKETCH_INLINE entries need no allocation; the next one moves
 * them out, and nothing is lost or counted twice on the way, in unions
 * (both ways) and blobs alike. */
static void inline_then_set(void **state)
{
    (void)state;
    struct sketch s, u, b;
    sketch_init(&s);
    sketch_init(&u);
    sketch_init(&b);
    for (uint64_t i = 0; i < SKETCH_INLINE; i++) {
        sketch_add(&s, item(i));
        sketch_add(&s, item(i)); /* a repeat */
    }
    assert_int_equal(sketch_count(&s), SKETCH_INLINE);
    assert_null(s.set);
    assert_true(sketch_used(&s));
    assert_int_equal(sketch_merge(&u, &s), 0); /* inline into empty */
    assert_int_equal(sketch_count(&u), SKETCH_INLINE);
    uint8_t *blob;
    size_t len;
    assert_int_equal(sketch_encode(&s, &blob, &len), 0);
    assert_int_equal(len, 1 + 8 * SKETCH_INLINE);
    assert_int_equal(sketch_merge_blob(&b, blob, len), 0);
    assert_int_equal(sketch_count(&b), SKETCH_INLINE);
    free(blob);
    for (uint64_t i = 0; i < 50; i++) /* past inline: into a set */
        sketch_add(&s, item(i));
    assert_non_null(s.set);
    assert_int_equal(sketch_count(&s), 50);
    assert_int_equal(sketch_merge(&u, &s), 0); /* a set into inline */
    assert_int_equal(sketch_count(&u), 50);
    struct sketch one;
    sketch_init(&one);
    sketch_add(&one, item(1000));
    assert_int_equal(sketch_merge(&s, &one), 0); /* inline into a set */
    assert_int_equal(sketch_count(&s), 51);
    struct sketch c;
    assert_int_equal(sketch_copy(&c, &one), 0);
    assert_int_equal(sketch_count(&c), 1);
    struct sketch empty;
    sketch_init(&empty);
    assert_false(sketch_used(&empty));
    sketch_free(&c);
    sketch_free(&one);
    sketch_free(&s);
    sketch_free(&u);
    sketch_free(&b);
}

static double rel_err(uint64_t n)
{
    struct sketch s;
    sketch_init(&s);
    for (uint64_t i = 0; i < n; i++)
        sketch_add(&s, item(i));
    double e = fabs((double)sketch_count(&s) - (double)n) / (double)n;
    sketch_free(&s);
    return e;
}

static void hll_accuracy(void **state)
{
    (void)state;
    const uint64_t sizes[] = {2000, 20000, 100000, 1000000};
    for (size_t i = 0; i < 4; i++) {
        double e = rel_err(sizes[i]);
        print_message("n=%llu relative error %.4f\n", (unsigned long long)sizes[i], e);
        assert_true(e <= 0.02);
    }
}

static void union_not_sum(void **state)
{
    (void)state;
    struct sketch a, b, u;
    sketch_init(&a);
    sketch_init(&b);
    sketch_init(&u);
    for (uint64_t i = 0; i < 600; i++)
        sketch_add(&a, item(i));
    for (uint64_t i = 300; i < 900; i++)
        sketch_add(&b, item(i));
    sketch_merge(&u, &a);
    sketch_merge(&u, &b);
    assert_int_equal(sketch_count(&u), 900); /* still exact */
    for (uint64_t i = 900; i < 200000; i++)
        sketch_add(&b, item(i));
    sketch_merge(&u, &b);
    double e = fabs((double)sketch_count(&u) - 200000) / 200000;
    assert_true(e <= 0.02);
    sketch_free(&a);
    sketch_free(&b);
    sketch_free(&u);
}

static void blob_round_trip(void **state)
{
    (void)state;
    const uint64_t sizes[] = {0, 5, 1024, 3000, 500000}; /* exact, sparse HLL, dense HLL */
    for (size_t k = 0; k < 5; k++) {
        struct sketch s, t;
        sketch_init(&s);
        sketch_init(&t);
        for (uint64_t i = 0; i < sizes[k]; i++)
            sketch_add(&s, item(i));
        uint8_t *buf;
        size_t len;
        assert_int_equal(sketch_encode(&s, &buf, &len), 0);
        assert_int_equal(sketch_merge_blob(&t, buf, len), 0);
        assert_int_equal(sketch_count(&t), sketch_count(&s));
        free(buf);
        sketch_free(&s);
        sketch_free(&t);
    }
}

static void bad_blobs_rejected(void **state)
{
    (void)state;
    struct sketch s;
    sketch_init(&s);
    assert_true(sketch_merge_blob(&s, "", 0) < 0);
    assert_true(sketch_merge_blob(&s, "X123", 4) < 0);
    assert_true(sketch_merge_blob(&s, "E123", 4) < 0);          /* not whole hashes */
    assert_true(sketch_merge_blob(&s, "S\xff\xff\x01", 4) < 0); /* register index past 2^14 */
    assert_true(sketch_merge_blob(&s, "S\x01\x00\x63", 4) < 0); /* rank past 51 */
    assert_true(sketch_merge_blob(&s, "D\x01", 2) < 0);         /* dense of wrong size */
    sketch_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_while_small),  cmocka_unit_test(hll_accuracy),
        cmocka_unit_test(union_not_sum),      cmocka_unit_test(blob_round_trip),
        cmocka_unit_test(bad_blobs_rejected), cmocka_unit_test(reserved_same_as_grown),
        cmocka_unit_test(inline_then_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
