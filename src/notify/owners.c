/* owners — the prefix → contact table (see owners.h). */
#include "owners.h"
#include "../core/err.h"
#include "../core/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OWNERS_MAX_FILE (64u << 20)
#define OWNERS_FIELDS 16

/* The owners of one prefix length, sorted by network. */
struct by_len {
    uint8_t len;
    struct owner **v;
    size_t n;
};

struct owners {
    struct owner *v;
    size_t n, cap;
    struct by_len lens[129];
    size_t n_lens; /* lens[0..n_lens) used, longest first */
};

enum col { C_PREFIX, C_ISP, C_ASN, C_ABUSE, C_N };

static int column(const char *h)
{
    static const struct {
        const char *name;
        enum col col;
    } names[] = {{"prefix", C_PREFIX}, {"cidr", C_PREFIX}, {"isp", C_ISP},
                 {"owner", C_ISP},     {"org", C_ISP},     {"organisation", C_ISP},
                 {"organization", C_ISP}, {"asn", C_ASN},  {"abuse", C_ABUSE},
                 {"contact", C_ABUSE}, {"email", C_ABUSE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(h, names[i].name)) return (int)names[i].col;
    return -1;
}

static int add(struct owners *o, const struct owner *w)
{
    if (o->n == o->cap) {
        size_t ncap = o->cap ? 2 * o->cap : 64;
        struct owner *g = realloc(o->v, ncap * sizeof *g);
        if (!g) return err_set(-ENOMEM, "owners: out of memory");
        o->v = g;
        o->cap = ncap;
    }
    o->v[o->n++] = *w;
    return 0;
}

static int net_cmp(const void *a, const void *b)
{
    const struct owner *x = *(const struct owner *const *)a, *y = *(const struct owner *const *)b;
    int c = memcmp(x->prefix.net.b, y->prefix.net.b, 16);
    return c ? c : x->line - y->line;
}

static bool same_owner(const struct owner *x, const struct owner *y)
{
    return x->asn == y->asn && !strcmp(x->isp, y->isp) && !strcmp(x->abuse, y->abuse);
}

/* A prefix listed twice must name one owner (an exact repeat is harmless). */
static int check_repeats(const struct by_len *b, const char *name)
{
    for (size_t i = 1; i < b->n; i++) {
        const struct owner *x = b->v[i - 1], *y = b->v[i];
        if (memcmp(x->prefix.net.b, y->prefix.net.b, 16) || x->prefix.v4 != y->prefix.v4 ||
            same_owner(x, y))
            continue;
        char p[64];
        return err_set(-EINVAL, "%s:%d: %s is listed again with another owner (first at line %d)",
                       name, y->line, pfx_format(&y->prefix, p, sizeof p), x->line);
    }
    return 0;
}

/* Groups the owners by prefix length, longest first, each sorted by network. */
static int index_lengths(struct owners *o, const char *name)
{
    size_t count[129] = {0};
    for (size_t i = 0; i < o->n; i++)
        count[o->v[i].prefix.len]++;
    for (int len = 128; len >= 0; len--) {
        if (!count[len]) continue;
        struct by_len *b = &o->lens[o->n_lens++];
        b->len = (uint8_t)len;
        if (!(b->v = malloc(count[len] * sizeof *b->v)))
            return err_set(-ENOMEM, "owners: out of memory");
        for (size_t i = 0; i < o->n; i++)
            if (o->v[i].prefix.len == len) b->v[b->n++] = &o->v[i];
        qsort(b->v, b->n, sizeof *b->v, net_cmp);
        int rc = check_repeats(b, name);
        if (rc < 0) return rc;
    }
    return 0;
}

static int parse_row(char **f, int nf, const int *map, const char *name, int line,
                     struct owner *w)
{
    const char *cell[C_N] = {NULL};
    for (int i = 0; i < nf; i++)
        if (map[i] >= 0) cell[map[i]] = f[i];
    if (!cell[C_PREFIX] || !*cell[C_PREFIX])
        return err_set(-EINVAL, "%s:%d: no prefix", name, line);
    memset(w, 0, sizeof *w);
    if (pfx_parse(cell[C_PREFIX], &w->prefix) < 0)
        return err_set(-EINVAL, "%s:%d: '%s' is not a prefix", name, line, cell[C_PREFIX]);
    if (cell[C_ASN] && *cell[C_ASN]) {
        const char *a = cell[C_ASN];
        if (!strncasecmp(a, "AS", 2)) a += 2;
        char *end;
        errno = 0;
        unsigned long v = strtoul(a, &end, 10);
        if (errno || *end || end == a || v > UINT32_MAX)
            return err_set(-EINVAL, "%s:%d: '%s' is not an AS number", name, line, cell[C_ASN]);
        w->asn = (uint32_t)v;
    }
    w->isp = strdup(cell[C_ISP] ? cell[C_ISP] : "");
    w->abuse = strdup(cell[C_ABUSE] ? cell[C_ABUSE] : "");
    w->line = line;
    if (!w->isp || !w->abuse) {
        free(w->isp);
        free(w->abuse);
        return err_set(-ENOMEM, "owners: out of memory");
    }
    return 0;
}

struct owners *owners_parse(const char *text, size_t len, const char *name)
{
    struct owners *o = calloc(1, sizeof *o);
    char *buf = malloc(len + 1);
    if (!o || !buf) {
        free(o);
        free(buf);
        err_set(-ENOMEM, "owners: out of memory");
        return NULL;
    }
    size_t pos = 0, n;
    int lineno = 0, map[OWNERS_FIELDS], nmap = 0, rc = 0;
    const char *l;
    while (rc == 0 && text_line(text, len, &pos, &lineno, &l, &n)) {
        while (n && (*l == ' ' || *l == '\t')) l++, n--;
        if (!n || *l == '#') continue;
        memcpy(buf, l, n);
        buf[n] = 0;
        if (memchr(buf, 0, n)) {
            rc = err_set(-EINVAL, "%s:%d: a NUL byte", name, lineno);
            break;
        }
        char *f[OWNERS_FIELDS];
        int nf = text_csv_fields(buf, f, OWNERS_FIELDS);
        if (nf < 0) {
            rc = err_set(-EINVAL, "%s:%d: an unterminated quote", name, lineno);
        } else if (!nmap) { /* the header */
            bool prefix = false;
            for (int i = 0; i < nf; i++) {
                map[i] = column(f[i]);
                prefix |= map[i] == C_PREFIX;
            }
            nmap = nf;
            if (!prefix)
                rc = err_set(-EINVAL, "%s:%d: the header names no 'prefix' column", name, lineno);
        } else {
            struct owner w;
            if ((rc = parse_row(f, nf < nmap ? nf : nmap, map, name, lineno, &w)) == 0 &&
                (rc = add(o, &w)) < 0) {
                free(w.isp);
                free(w.abuse);
            }
        }
    }
    free(buf);
    if (rc == 0 && !nmap) rc = err_set(-EINVAL, "%s: empty (expected a header: prefix,isp,asn,abuse)", name);
    if (rc == 0) rc = index_lengths(o, name);
    if (rc < 0) {
        owners_free(o);
        return NULL;
    }
    return o;
}

struct owners *owners_load(const char *path)
{
    size_t n;
    char *text = text_load(path, OWNERS_MAX_FILE, &n);
    if (!text) return NULL;
    struct owners *o = owners_parse(text, n, path);
    free(text);
    return o;
}

static void mask(struct ipaddr *a, unsigned len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
        a->b[i] &= (uint8_t)(0xff00u >> keep);
    }
}

const struct owner *owners_lookup(const struct owners *o, const struct ipaddr *a)
{
    bool v4 = ip_is_v4(a);
    for (size_t i = 0; i < o->n_lens; i++) {
        const struct by_len *b = &o->lens[i];
        struct ipaddr key = *a;
        mask(&key, b->len);
        size_t lo = 0, hi = b->n;
        while (lo < hi) { /* the first network >= key */
            size_t mid = (lo + hi) / 2;
            if (memcmp(b->v[mid]->prefix.net.b, key.b, 16) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t j = lo; j < b->n && !memcmp(b->v[j]->prefix.net.b, key.b, 16); j++)
            if (!b->v[j]->prefix.v4 == !v4) return b->v[j];
    }
    return NULL;
}

size_t owners_count(const struct owners *o)
{
    return o->n;
}

void owners_free(struct owners *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].isp);
        free(o->v[i].abuse);
    }
    for (size_t i = 0; i < o->n_lens; i++)
        free(o->lens[i].v);
    free(o->v);
    free(o);
}
