/* libFuzzer: the surge baselines blob as read back from a database (a
 * damaged or hostile database must not crash observe), and its round trip:
 * what decodes re-encodes to the same bytes. */
#include "store/baselines.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct baselines b = {0};
    if (baselines_decode(data, size, &b) == 0) {
        uint8_t *out;
        size_t len;
        if (baselines_encode(&b, &out, &len) == 0) {
            if (len != size || memcmp(out, data, size) != 0) abort();
            free(out);
        }
    }
    baselines_free(&b);
    return 0;
}
