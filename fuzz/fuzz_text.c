/* libFuzzer: the text parsers of outside input: CIDR lists, IoT port lists,
 * times, and ip-location-db ASN CSV files. */
#include "core/addr.h"
#include "core/cli.h"
#include "core/geo.h"
#include "core/portset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct pfx_set set = {0};
    (void)pfx_set_parse_list(&set, s);
    pfx_set_free(&set);
    struct portset ps;
    portset_clear(&ps);
    (void)portset_parse_line(&ps, s);
    int64_t t;
    (void)cli_parse_time(s, &t);
    int fd = memfd_create("asn", 0);
    if (fd >= 0) {
        if (write(fd, data, size) == (ssize_t)size) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            struct geo *g = geo_new();
            if (geo_add_asn_csv(g, path) == 0) {
                struct geo_info gi;
                struct ipaddr a;
                ip_from_v4(&a, 0x01020304);
                geo_lookup(g, &a, &gi);
            }
            geo_free(g);
        }
        close(fd);
    }
    free(s);
    return 0;
}
