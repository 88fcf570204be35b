/* portset — bitmap of (proto, port) pairs (see portset.h). */
#include "portset.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int slot(uint8_t proto)
{
    return proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : -1;
}

void portset_clear(struct portset *s)
{
    memset(s, 0, sizeof *s);
}

void portset_add(struct portset *s, uint8_t proto, uint16_t port)
{
    int k = slot(proto);
    if (k >= 0) s->bits[k][port >> 6] |= 1ULL << (port & 63);
}

bool portset_has(const struct portset *s, uint8_t proto, uint16_t port)
{
    int k = slot(proto);
    return k >= 0 && (s->bits[k][port >> 6] >> (port & 63) & 1);
}

int portset_parse_line(struct portset *s, const char *line)
{
    char buf[64];
    size_t n = strcspn(line, "#\r\n");
    if (n >= sizeof buf) return err_set(-EINVAL, "'%.20s...': line too long", line);
    memcpy(buf, line, n);
    buf[n] = 0;
    char *p = buf, *e;
    while (isspace((unsigned char)*p))
        p++;
    for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
        *--e = 0;
    if (!*p) return 1;
    errno = 0;
    long port = strtol(p, &e, 10);
    if (e == p || errno || port < 0 || port > 65535)
        return err_set(-EINVAL, "'%s': not a port number", p);
    if (*e == 0) {
        portset_add(s, IPPROTO_TCP, (uint16_t)port);
        portset_add(s, IPPROTO_UDP, (uint16_t)port);
    } else if (strcmp(e, "/tcp") == 0) {
        portset_add(s, IPPROTO_TCP, (uint16_t)port);
    } else if (strcmp(e, "/udp") == 0) {
        portset_add(s, IPPROTO_UDP, (uint16_t)port);
    } else {
        return err_set(-EINVAL, "'%s': expected PORT, PORT/tcp or PORT/udp", p);
    }
    return 0;
}

int portset_load(struct portset *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return err_set(-errno, "%s: %s", path, strerror(errno));
    char line[256];
    int lineno = 0, rc = 0;
    portset_clear(s);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (portset_parse_line(s, line) < 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s", err_msg());
            rc = err_set(-EINVAL, "%s:%d: %s", path, lineno, msg);
            break;
        }
    }
    fclose(f);
    return rc;
}

void portset_iot_default(struct portset *s)
{
    /* telnet, Mirai's alternate telnet, ADB, TR-069, Huawei HG532, Realtek UPnP,
     * camera/router web UIs, SSDP, CoAP; see data/iot-ports.txt for the why */
    static const char *const def[] = {"23/tcp",    "2323/tcp",  "5555/tcp", "7547/tcp",
                                      "37215/tcp", "52869/tcp", "81/tcp",   "8080/tcp",
                                      "1900/udp",  "5683/udp",  "8081/tcp", "9527/tcp",
                                      "60001/tcp", "49152/tcp", "554/tcp",  "8000/tcp"};
    portset_clear(s);
    for (size_t i = 0; i < sizeof def / sizeof def[0]; i++)
        portset_parse_line(s, def[i]);
}
