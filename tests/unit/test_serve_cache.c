/* serve's response cache: generations, byte budget, least-recently-used
 * eviction, shared bodies outliving their entry. */
#include "serve/cache.h"
#include "testutil.h"

#include <stdio.h>

static struct blob *body(size_t n, char c)
{
    char buf[4096];
    memset(buf, c, n);
    return blob_new(200, "application/json", buf, n);
}

static void generations(void **state)
{
    (void)state;
    struct cache *c = cache_new(1 << 20);
    struct blob *b = body(100, 'a');
    cache_put(c, "k", 1, b);
    struct blob *g = cache_get(c, "k", 1);
    assert_ptr_equal(g, b);
    blob_unref(g);
    assert_null(cache_get(c, "k", 2)); /* computed before the last commit */
    assert_null(cache_get(c, "k", 1)); /* and dropped */
    assert_int_equal(cache_bytes(c), 0);
    assert_null(cache_get(c, "other", 1));
    blob_unref(b);
    cache_free(c);
}

static void budget(void **state)
{
    (void)state;
    struct cache *c = cache_new(4000);
    char key[16];
    for (int i = 0; i < 10; i++) {
        struct blob *b = body(900, (char)('a' + i));
        snprintf(key, sizeof key, "k%d", i);
        cache_put(c, key, 1, b);
        blob_unref(b);
        if (i == 7) blob_unref(cache_get(c, "k4", 1)); /* recently used: kept */
        assert_true(cache_bytes(c) <= 4000);
    }
    struct blob *b = cache_get(c, "k9", 1);
    assert_non_null(b);
    assert_int_equal(b->data[0], 'j');
    blob_unref(b);
    assert_null(cache_get(c, "k0", 1));
    assert_null(cache_get(c, "k5", 1)); /* the least recently used went first */
    b = cache_get(c, "k4", 1);
    assert_non_null(b);
    cache_free(c); /* a body in use outlives the cache */
    assert_int_equal(b->data[899], 'e');
    blob_unref(b);
    c = cache_new(4000);
    b = body(1001, 'x'); /* over a quarter of the budget: not kept */
    cache_put(c, "big", 1, b);
    assert_null(cache_get(c, "big", 1));
    blob_unref(b);
    cache_free(c);
    c = cache_new(0); /* --cache-mb 0 */
    b = body(1, 'x');
    cache_put(c, "k", 1, b);
    assert_null(cache_get(c, "k", 1));
    blob_unref(b);
    cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(generations), cmocka_unit_test(budget)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
