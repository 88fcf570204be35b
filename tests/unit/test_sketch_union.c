/* sketch_union (the writer's rollups, the shards' join) leaves exactly what
 * sketch_merge leaves: the same count and the same encoded bytes, for every
 * pairing of empty, small exact, near-limit exact, promoting and HyperLogLog
 * sketches, with overlapping and disjoint members; sketch_encode_fast writes
 * what sketch_encode_into writes. */
#include "core/addr.h"
#include "core/sketch.h"
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t item(uint64_t i)
{
    struct ipaddr a;
    ip_from_v4(&a, (uint32_t)(i * 2654435761u + 17));
    return ip_hash(&a, 1);
}

/* A sketch of n members starting at member `from`. */
static void make(struct sketch *s, uint64_t from, uint64_t n)
{
    sketch_init(s);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(sketch_add(s, item(from + i)), 0);
}

/* The same, sized ahead for n entries first when reserve. */
static void make_reserved(struct sketch *s, uint64_t from, uint64_t n, bool reserve)
{
    sketch_init(s);
    if (reserve) assert_int_equal(sketch_reserve(s, (uint32_t)(n < 5000 ? n : 5000)), 0);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(sketch_add(s, item(from + i)), 0);
}

static void assert_same(const struct sketch *a, const struct sketch *b)
{
    assert_int_equal(sketch_count(a), sketch_count(b));
    assert_int_equal(a->reg != NULL, b->reg != NULL);
    assert_int_equal(a->cap, b->cap);
    uint8_t *x, *y;
    size_t nx, ny;
    assert_int_equal(sketch_encode(a, &x, &nx), 0);
    assert_int_equal(sketch_encode(b, &y, &ny), 0);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
}

static void same_as_merge(void **state)
{
    (void)state;
    /* sizes around the growth steps, the exact limit and past it */
    /* 1 and 2: inline (no set) */
    static const uint64_t sizes[] = {0,   1,   2,    3,    4,    5,    100,   511,
                                     512, 513, 1000, 1024, 1025, 5000, 100000};
    static const uint64_t shifts[] = {0, 2, 300, 1u << 20}; /* overlap, then disjoint */
    size_t ns = sizeof sizes / sizeof sizes[0];
    unsigned hll_into_exact = 0, exact_fast = 0, inline_src = 0, inline_dst = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < ns; j++)
            for (size_t k = 0; k < 2 * sizeof shifts / sizeof shifts[0]; k++) {
                struct sketch d1, d2, s;
                /* the second half: sketches sized ahead (sketch_reserve), as the aggregator's */
                bool reserve = k >= sizeof shifts / sizeof shifts[0];
                uint64_t shift = shifts[k % (sizeof shifts / sizeof shifts[0])];
                make_reserved(&d1, 0, sizes[i], reserve);
                make_reserved(&d2, 0, sizes[i], reserve);
                make_reserved(&s, shift, sizes[j], reserve);
                inline_src += !s.reg && !s.cap && s.n;
                inline_dst += !d1.reg && !d1.cap && d1.n;
                hll_into_exact += s.reg && !d1.reg;
                exact_fast += !s.reg && d1.cap && !d1.reg && d1.n + s.n <= SKETCH_EXACT_MAX;
                assert_int_equal(sketch_merge(&d1, &s), 0);
                assert_int_equal(sketch_union(&d2, &s), 0);
                assert_same(&d1, &d2);
                /* a second union of the same source changes nothing either way */
                assert_int_equal(sketch_merge(&d1, &s), 0);
                assert_int_equal(sketch_union(&d2, &s), 0);
                assert_same(&d1, &d2);
                sketch_free(&d1);
                sketch_free(&d2);
                sketch_free(&s);
            }
    assert_true(hll_into_exact > 0); /* every path was taken */
    assert_true(exact_fast > 0);
    assert_true(inline_src > 0 && inline_dst > 0);
}

/* Dense registers: every register of the union is the greater of the two. */
static void registers_are_max(void **state)
{
    (void)state;
    struct sketch a, b, c;
    make(&a, 0, 200000);
    make(&b, 150000, 200000);
    assert_int_equal(sketch_copy(&c, &a), 0);
    assert_int_equal(sketch_union(&c, &b), 0);
    for (uint32_t i = 0; i < SKETCH_M; i++)
        assert_int_equal(c.reg[i], a.reg[i] > b.reg[i] ? a.reg[i] : b.reg[i]);
    sketch_free(&a);
    sketch_free(&b);
    sketch_free(&c);
}

/* sketch_encode_fast writes sketch_encode_into's bytes: exact, sparse and
 * dense HyperLogLogs, at and around the sparse/dense threshold. */
static void fast_encoding_same_bytes(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {0,    1,    2,    3,    7,    1024, 1025,
                                     2000, 4000, 6000, 6500, 7000, 9000, 50000};
    unsigned sparse = 0, dense = 0;
    for (size_t i = 0; i < 2 * sizeof sizes / sizeof sizes[0]; i++) {
        struct sketch s;
        size_t z = i % (sizeof sizes / sizeof sizes[0]);
        make_reserved(&s, 3 * i, sizes[z], i != z); /* inline, reserved, grown, HyperLogLog */
        size_t max = sketch_encoded_max(&s);
        uint8_t *a = malloc(max + 1), *b = malloc(max + 1);
        size_t na = sketch_encode_into(&s, a), nb = sketch_encode_fast(&s, b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        sparse += a[0] == 'S';
        dense += a[0] == 'D';
        free(a);
        free(b);
        sketch_free(&s);
    }
    /* registers set one by one across the threshold where sparse turns dense */
    struct sketch s;
    make(&s, 0, 1025);
    uint8_t *a = malloc(1 + SKETCH_M), *b = malloc(1 + SKETCH_M);
    for (uint32_t i = 0; i < SKETCH_M; i += 3) {
        s.reg[i] = (uint8_t)(1 + i % 50);
        if (i % 96 == 0 || (i > 5000 && i < 6000)) {
            size_t na = sketch_encode_into(&s, a), nb = sketch_encode_fast(&s, b);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na);
            sparse += a[0] == 'S';
            dense += a[0] == 'D';
        }
    }
    free(a);
    free(b);
    sketch_free(&s);
    assert_true(sparse > 0 && dense > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fast_encoding_same_bytes),
        cmocka_unit_test(same_as_merge),
        cmocka_unit_test(registers_are_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
