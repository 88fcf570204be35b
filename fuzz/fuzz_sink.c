/* libFuzzer: what sinks do with outside text.  `--sink` specs go through
 * sink_parse; attacker text (a honeypot command, credentials, a URL) goes
 * through the JSON-lines sink, and every line it writes must parse, with the
 * text unchanged when it was valid UTF-8 (U+FFFD for bytes that are not). */
#include "core/esc.h"
#include "store/sink.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static bool valid_utf8(const char *s, size_t n)
{
    uint32_t cp;
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = esc_utf8_seq((const unsigned char *)s + i, n - i, &cp))) return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    const struct sink_ops *ops;
    char arg[256];
    (void)sink_parse(s, &ops, arg, sizeof arg);
    int fd = memfd_create("jsonl", 0);
    char path[64], spec[80];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    snprintf(spec, sizeof spec, "jsonl:%s", path);
    struct sinks *set = fd >= 0 ? sinks_new(true) : NULL;
    if (set && sinks_add(set, spec, NULL) == 0) {
        struct session_rec r = {.step = SESSION_COMMAND, .session = "s", .input = s, .size = -1};
        struct indicator_rec ind = {.type = "url", .value = s, .source = "lure"};
        if (sinks_put_session(set, &r) < 0 || sinks_put_indicator(set, &ind) < 0) abort();
    }
    if (sinks_close(set) < 0) abort();
    off_t len = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    char *out = len > 0 ? malloc((size_t)len + 1) : NULL;
    if (out && pread(fd, out, (size_t)len, 0) == len) {
        out[len] = 0;
        size_t nl = strlen(s);
        bool exact = valid_utf8(s, nl);
        int lines = 0;
        for (char *line = out, *end; *line; line = end + 1, lines++) {
            if (!(end = strchr(line, '\n'))) abort(); /* every record ends its line */
            json_error_t e;
            json_t *o = json_loadb(line, (size_t)(end - line), 0, &e);
            if (!o) abort();
            const char *got = json_string_value(json_object_get(o, lines ? "value" : "input"));
            if (!got || (exact && strcmp(got, s))) abort();
            json_decref(o);
        }
        if (lines != 2) abort();
    }
    free(out);
    if (fd >= 0) close(fd);
    free(s);
    return 0;
}
