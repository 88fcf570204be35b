/* libFuzzer: per-interval stats blobs and rollups as stored in the database
 * (a damaged or hostile database must not crash report or serve), and their
 * round trip: what decodes re-encodes to the same entries. */
#include "store/stats.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stats_iter it;
    struct stats_view v;
    if (stats_iter_init(&it, data, size) == 0)
        while (stats_iter_next(&it, &v) > 0)
            ;
    struct stats_acc a, b;
    stats_acc_init(&a);
    stats_acc_init(&b);
    (void)stats_acc_merge_blob_key(&a, data, size, 0, 6, 23);
    stats_acc_free(&a);
    if (stats_acc_merge_blob(&a, data, size) == 0) {
        uint8_t *buf;
        size_t len;
        if (stats_encode_acc(&a, &buf, &len) == 0) {
            if (stats_acc_merge_blob(&b, buf, len) != 0 || b.n != a.n ||
                sketch_count(&b.sources) != sketch_count(&a.sources))
                abort();
            for (size_t i = 0; i < a.n; i++)
                if (a.e[i].packets != b.e[i].packets || a.e[i].bytes != b.e[i].bytes ||
                    sketch_count(&a.e[i].src) != sketch_count(&b.e[i].src) ||
                    (a.e[i].label && strcmp(a.e[i].label, b.e[i].label)))
                    abort(); /* a round trip keeps every entry, in order */
            free(buf);
        }
    }
    stats_acc_free(&a);
    stats_acc_free(&b);
    return 0;
}
