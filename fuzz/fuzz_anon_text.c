/* libFuzzer: share anonymize's text formats on any bytes — the value rule
 * (a rewritten value is still an address form, and rewriting is the same
 * twice), JSON and STIX bundles through jansson, and the CSV reader.  The
 * first byte picks the column list for CSV and the key list for JSON. */
#include "core/cryptopan.h"
#include "share/anon.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cpan *key(void)
{
    static struct cpan *c;
    if (!c) {
        uint8_t k[32];
        for (int i = 0; i < 32; i++)
            k[i] = (uint8_t)(i * 13 + 5);
        c = cpan_new(k);
    }
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 1) return 0;
    int sel = d[0];
    d++, n--;
    struct anon a = {.cpan = key()};
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = 0;
    char out[512], again[512], twice[512];
    if (n < 300) {
        int r = anon_value(&a, s, out, sizeof out);
        assert(r == 0 || r == 1);
        if (r == 1) {
            assert(anon_value(&a, out, again, sizeof again) == 1);
            assert(anon_value(&a, s, twice, sizeof twice) == 1 && !strcmp(out, twice));
        }
    }
    free(s);
    json_error_t e;
    json_t *v = json_loadb((const char *)d, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (v) {
        static const char *const keys[] = {"src_ip", "value", NULL};
        if (sel & 1)
            (void)anon_json(&a, v, sel & 2 ? keys : NULL);
        else
            (void)anon_stix(&a, v);
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        free(t);
        json_decref(v);
    }
    FILE *in = fmemopen((void *)d, n, "rb");
    char *o = NULL;
    size_t on = 0;
    FILE *of = open_memstream(&o, &on);
    if (in && of) (void)anon_csv(&a, in, of, sel & 4 ? "src,dst" : NULL, "fuzz");
    if (in) fclose(in);
    if (of) fclose(of);
    free(o);
    return 0;
}
