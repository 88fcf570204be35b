/* libFuzzer: the target parser (CIDRs, ranges, addresses, IPv6 prefixes; as a
 * list and as a file, also as a blocklist), then the set's invariants: every
 * index maps to an allowed address whose index is that index again. */
#include "core/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void walk(struct target_set *t)
{
    uint64_t n = target_count(t);
    for (uint64_t k = 0; k < 64 && n; k++) {
        uint64_t i = k < 32 ? k : n - 1 - (k - 32);
        if (i >= n) continue;
        struct ipaddr a;
        target_get(t, i, &a);
        if (!target_allowed(t, &a) || target_excluded(t, &a) || target_index(t, &a) != (int64_t)i)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct target_opts o = {.optout = "/dev/null", .allow_testbed = size && data[0] & 1};
    struct target_set *t = target_new(&o);
    if (t && target_add_list(t, s) == 0 && target_finish(t) == 0) walk(t);
    target_free(t);
    int fd = memfd_create("targets", 0);
    if (fd >= 0 && write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        struct target_opts b = {.optout = "/dev/null", .blocklist = path, .allow_testbed = true};
        t = target_new(&o);
        if (t && target_add_file(t, path) == 0 && target_finish(t) == 0) walk(t);
        target_free(t);
        t = target_new(&b);
        if (t && target_add(t, "198.18.0.0/24") == 0 && target_finish(t) == 0) walk(t);
        target_free(t);
    }
    if (fd >= 0) close(fd);
    free(s);
    return 0;
}
