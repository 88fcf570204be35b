/* addr — address parsing, hashing and prefix sets (see addr.h). */
#include "addr.h"
#include "err.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

uint32_t ip_v4(const struct ipaddr *a)
{
    return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}

void ip_from_v4(struct ipaddr *a, uint32_t v)
{
    memcpy(a->b, v4_mapped_prefix, 12);
    a->b[12] = v >> 24;
    a->b[13] = v >> 16;
    a->b[14] = v >> 8;
    a->b[15] = v;
}

void ip_from_v6(struct ipaddr *a, const uint8_t b[16])
{
    memcpy(a->b, b, 16);
}

int ip_parse(const char *s, struct ipaddr *out)
{
    struct in_addr v4;
    if (inet_pton(AF_INET, s, &v4) == 1) {
        ip_from_v4(out, ntohl(v4.s_addr));
        return 0;
    }
    if (strchr(s, ':') && inet_pton(AF_INET6, s, out->b) == 1) return 0;
    return -EINVAL;
}

const char *ip_format(const struct ipaddr *a, char buf[IP_STRLEN])
{
    if (ip_is_v4(a))
        inet_ntop(AF_INET, a->b + 12, buf, IP_STRLEN);
    else
        inet_ntop(AF_INET6, a->b, buf, IP_STRLEN);
    return buf;
}

/* murmur3's finaliser: cheap and passes avalanche tests, which HyperLogLog needs. */
static void mask_addr(struct ipaddr *a, unsigned len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = len > i * 8 ? len - i * 8 : 0;
        if (bits >= 8) continue;
        a->b[i] &= (uint8_t)(0xff00 >> bits);
    }
}

int pfx_parse(const char *s, struct pfx *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf) return err_set(-EINVAL, "%s: not a CIDR prefix", s);
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    long len = -1;
    if (slash) {
        *slash = 0;
        char *end;
        errno = 0;
        len = strtol(slash + 1, &end, 10);
        if (slash[1] == 0 || *end || errno || !isdigit((unsigned char)slash[1]))
            return err_set(-EINVAL, "%s: bad prefix length", s);
    }
    if (ip_parse(buf, &out->net) < 0) return err_set(-EINVAL, "%s: not an IP address", s);
    bool v4 = ip_is_v4(&out->net) && !strchr(buf, ':');
    long max = v4 ? 32 : 128;
    if (len < 0) len = max;
    if (len > max) return err_set(-EINVAL, "%s: prefix length over %ld", s, max);
    out->len = (uint8_t)(v4 ? 96 + len : len);
    out->v4 = v4;
    struct ipaddr masked = out->net;
    mask_addr(&masked, out->len);
    if (memcmp(&masked, &out->net, sizeof masked) != 0)
        return err_set(-EINVAL, "%s: host bits set (did you mean the network address?)", s);
    return 0;
}

const char *pfx_format(const struct pfx *p, char *buf, size_t n)
{
    char ip[IP_STRLEN];
    bool v4 = p->v4;
    snprintf(buf, n, "%s/%u", ip_format(&p->net, ip), v4 ? p->len - 96 : p->len);
    return buf;
}

bool pfx_contains(const struct pfx *p, const struct ipaddr *a)
{
    if (p->v4 != ip_is_v4(a)) return false; /* ::/8 must not swallow mapped IPv4 */
    unsigned full = p->len / 8, rem = p->len % 8;
    if (memcmp(p->net.b, a->b, full) != 0) return false;
    if (rem == 0) return true;
    uint8_t m = (uint8_t)(0xff00 >> rem);
    return (a->b[full] & m) == p->net.b[full];
}

int pfx_set_add(struct pfx_set *s, const struct pfx *p)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct pfx *v = realloc(s->v, cap * sizeof *v);
        if (!v) return err_set(-ENOMEM, "prefix set: out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *p;
    return 0;
}

int pfx_set_parse_list(struct pfx_set *s, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy) return err_set(-ENOMEM, "out of memory");
    int rc = 0, count = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        struct pfx p;
        if ((rc = pfx_parse(tok, &p)) < 0 || (rc = pfx_set_add(s, &p)) < 0) break;
        count++;
    }
    free(copy);
    if (rc == 0 && count == 0) rc = err_set(-EINVAL, "'%s': no CIDR prefix given", list);
    return rc;
}

bool pfx_set_contains(const struct pfx_set *s, const struct ipaddr *a)
{
    for (size_t i = 0; i < s->n; i++)
        if (pfx_contains(&s->v[i], a)) return true;
    return false;
}

int pfx_set_add_special(struct pfx_set *s)
{
    static const char *const special =
        "0.0.0.0/8,10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,169.254.0.0/16,172.16.0.0/12,"
        "192.0.0.0/24,192.0.2.0/24,192.31.196.0/24,192.52.193.0/24,192.88.99.0/24,"
        "192.168.0.0/16,192.175.48.0/24,198.18.0.0/15,198.51.100.0/24,203.0.113.0/24,"
        "224.0.0.0/4,240.0.0.0/4,"
        "::/8,64:ff9b::/96,64:ff9b:1::/48,100::/64,2001::/23,2001:db8::/32,2002::/16,"
        "3fff::/20,5f00::/16,fc00::/7,fe80::/10,ff00::/8";
    return pfx_set_parse_list(s, special);
}

void pfx_set_free(struct pfx_set *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
