/* libFuzzer: API request validation on arbitrary paths and query arguments
 * (input: path NUL key NUL value NUL key NUL value ...), the cache key of what
 * passes, and the raw-target scan of the path. */
#include "serve/params.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *parts[2 * API_MAX_ARGS + 4];
    size_t n = 0;
    for (char *p = buf; p <= buf + size && n < sizeof parts / sizeof parts[0]; p += strlen(p) + 1)
        parts[n++] = p;
    struct api_arg args[API_MAX_ARGS + 1];
    size_t na = 0;
    for (size_t i = 1; i + 1 < n && na <= API_MAX_ARGS; i += 2)
        args[na++] = (struct api_arg){parts[i], parts[i + 1]};
    struct api_req r;
    char msg[128], key[160];
    if (api_parse(parts[0], args, na, &r, msg, sizeof msg) == 0) api_key(&r, key, sizeof key);
    struct api_uri u; /* the whole input as a raw request target */
    api_scan_uri(parts[0], &u);
    if (u.query && (u.query < parts[0] || u.query > parts[0] + strlen(parts[0]))) abort();
    free(buf);
    return 0;
}
