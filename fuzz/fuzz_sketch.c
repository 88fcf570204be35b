/* libFuzzer: sketch blobs as stored in the database (a damaged or hostile
 * database must not crash report). */
#include "core/sketch.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sketch s;
    sketch_init(&s);
    if (sketch_merge_blob(&s, data, size) == 0) {
        (void)sketch_count(&s);
        uint8_t *buf;
        size_t len;
        if (sketch_encode(&s, &buf, &len) == 0) {
            struct sketch t;
            sketch_init(&t);
            if (sketch_merge_blob(&t, buf, len) != 0 || sketch_count(&t) != sketch_count(&s))
                abort(); /* a round trip must preserve the count */
            sketch_free(&t);
            free(buf);
        }
    }
    sketch_free(&s);
    return 0;
}
