/* libFuzzer: the telnet decoder as a session drives it — bytes in any split,
 * subnegotiations handed to the NAWS, TTYPE and NEW-ENVIRON parsers, output
 * escaping of whatever came in. */
#include "lure/telnet.h"

#include <stdlib.h>
#include <string.h>

static void on_var(void *ctx, const char *name, const char *value)
{
    size_t *n = ctx;
    *n += strlen(name) + strlen(value);
}

static void on_sb(void *ctx, uint8_t opt, const uint8_t *d, size_t n)
{
    uint16_t w, h;
    char term[16];
    size_t total = 0;
    (void)ctx;
    if (opt == TN_OPT_NAWS)
        telnet_naws(d, n, &w, &h);
    else if (opt == TN_OPT_TTYPE)
        telnet_ttype(d, n, term, sizeof term);
    else if (opt == TN_OPT_ENVIRON)
        telnet_environ(d, n, on_var, &total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct telnet t;
    struct buf reply = {.cap = 1 << 16}, out = {.cap = 1 << 16};
    uint8_t *plain = malloc(size + 1);
    if (!plain) return 0;
    telnet_init(&t);
    telnet_greet(&t, &reply);
    /* the first byte picks where reads split, as TCP may split them */
    size_t step = size ? data[0] % 7 + 1 : 1, n = 0;
    for (size_t i = 0; i < size; i += step) {
        size_t k = size - i < step ? size - i : step;
        n += telnet_feed(&t, data + i, k, plain + n, &reply, on_sb, NULL);
        if (n > size) abort();
    }
    telnet_escape(&out, plain, n, true);
    buf_free(&reply);
    buf_free(&out);
    free(plain);
    return 0;
}
