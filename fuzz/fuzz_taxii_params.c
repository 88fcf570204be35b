/* libFuzzer: the TAXII server's request parsing (owner: the TAXII part).
 * Input: path NUL key NUL value NUL ... — the path parser, every argument
 * through taxii_params_arg (added_after, limit, next, match[...]) for the
 * endpoint the path names (or each list endpoint when it names none), the
 * media-type checks and stix_time_parse on each value, and the
 * Authorization header parser (Basic's base64, Bearer) on each value against
 * a configuration of one token user.  Invariants: what the parsers accept is
 * bounded and well-formed (ids of the alphabet, at most 16 values, limit in
 * [1, TAXII_PAGE_MAX]), and a 400's reason is printable ASCII. */
#include "core/cli.h"
#include "core/stix.h"
#include "serve/taxii_conf.h"
#include "serve/taxii_params.h"

#include <stdlib.h>
#include <string.h>

static void reason_ok(const char *msg)
{
    for (const char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *parts[40];
    size_t n = 0;
    for (char *p = buf; p <= buf + size && n < sizeof parts / sizeof parts[0]; p += strlen(p) + 1)
        parts[n++] = p;
    struct taxii_path path;
    enum taxii_ep ep = TX_OBJECTS;
    if (taxii_path_parse(parts[0], &path) == 0) {
        if (path.ep == TX_NONE) abort();
        if (path.coll[0] && !taxii_uuid_ok(path.coll)) abort();
        if (path.obj[0] && !taxii_stix_id_ok(path.obj)) abort();
        ep = path.ep;
    }
    (void)taxii_is_path(parts[0]);
    struct taxii_params p;
    taxii_params_init(&p);
    char msg[256];
    for (size_t i = 1; i + 1 < n; i += 2) {
        msg[0] = 0;
        if (taxii_params_arg(&p, ep, parts[i], parts[i + 1], msg, sizeof msg)) reason_ok(msg);
        int64_t us;
        (void)stix_time_parse(parts[i + 1], &us);
        (void)taxii_media_ok(parts[i + 1], true);
        (void)taxii_media_ok(parts[i + 1], false);
    }
    if (p.f.limit < 1 || p.f.limit > TAXII_PAGE_MAX || p.f.n_ids > TAXII_MATCH_MAX ||
        p.f.n_types > TAXII_MATCH_MAX || p.f.n_specs > TAXII_MATCH_MAX ||
        p.f.n_versions > TAXII_MATCH_MAX)
        abort();
    if (n > 1 && parts[1][0] == 'A') { /* the Authorization parser, now and then: crypt is slow */
        struct taxii_user u = {.name = "t", .has_token = true};
        struct taxii_conf c = {.users = &u, .n_users = 1};
        (void)taxii_auth(&c, parts[1] + 1);
    }
    free(buf);
    return 0;
}
