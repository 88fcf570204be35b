/* libFuzzer: the HTTP response parser (status, headers, challenges, bodies, titles) on its own,
 * with the peer open and closed, then the probe's HTTP module over the bytes in any split
 * (probe_drive.h), which answers Basic and Digest challenges the input makes up. */
#include "probe/httpc.h"
#include "probe_drive.h"

extern const struct probe_proto probe_http;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_resp r;
    size_t n = size < HTTPC_BUF ? size : HTTPC_BUF;
    char *copy = malloc(n ? n : 1); /* exactly n bytes: a read past them is caught */
    if (!copy) return 0;
    memcpy(copy, data, n);
    for (int eof = 0; eof < 2; eof++)
        if (http_resp_parse(&r, copy, n, eof) == 1 && r.auth == HTTPC_AUTH_DIGEST) {
            char out[1024];
            http_auth_digest(out, sizeof out, &r, "admin", "admin", "GET", "/", "0a4f113b", 1);
        }
    free(copy);
    probe_drive(&probe_http, data, size);
    return 0;
}
