/* libFuzzer: the testbed's spec parser (mamori testbed up --spec FILE).
 * Whatever parses must write back to text that parses to the same spec:
 * `up` saves the spec it runs and `fix` and the device processes re-read it. */
#include "testbed/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same(const struct tb_spec *a, const struct tb_spec *b)
{
    if (a->net != b->net || a->len != b->len || a->nowners != b->nowners ||
        a->nhosts != b->nhosts || a->nsvcs != b->nsvcs)
        abort();
    for (size_t i = 0; i < a->nsvcs; i++) {
        const struct tb_service *x = &a->svcs[i], *y = &b->svcs[i];
        if (x->ip != y->ip || x->port != y->port || x->proto != y->proto || x->nacc != y->nacc ||
            strcmp(x->persona, y->persona) || strcmp(x->server, y->server) ||
            strcmp(x->title, y->title) || strcmp(x->realm, y->realm))
            abort();
        for (int k = 0; k < x->nacc; k++)
            if (strcmp(x->acc[k].user, y->acc[k].user) || strcmp(x->acc[k].pass, y->acc[k].pass))
                abort();
    }
    for (size_t i = 0; i < a->nowners; i++)
        if (strcmp(a->owners[i].isp, b->owners[i].isp) || a->owners[i].asn != b->owners[i].asn)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tb_spec *s = spec_parse((const char *)data, size, "fuzz");
    if (!s) return 0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        spec_write(s, f);
        fclose(f);
        struct tb_spec *again = spec_parse(text, len, "fuzz-again");
        if (!again) abort();
        same(s, again);
        spec_free(again);
    }
    free(text);
    spec_free(s);
    return 0;
}
