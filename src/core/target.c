/* target — parse targets, subtract exclusions, index what is left (see target.h).
 *
 * Everything is parsed into one of two shapes: an IPv4 interval [lo, hi] or an
 * IPv6 prefix.  Targets' intervals and exclusions' intervals are each sorted
 * and merged once in target_finish, then subtracted in one two-pointer walk;
 * the result carries running counts for target_get's binary search. */
#include "target.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESC_MAX 4096

struct iv {
    uint32_t lo, hi;
};

struct ivs {
    struct iv *v;
    size_t n, cap;
};

struct target_set {
    struct target_opts opts;
    struct ivs given4, excl4, left4;
    uint64_t *cum; /* cum[i]: addresses in left4.v[0..i) */
    struct ipaddr *v6;
    size_t n6, cap6;
    struct pfx_set special, excl6;
    uint64_t count4, removed;
    size_t elems;
    char desc[DESC_MAX];
    size_t desc_len;
    bool finished;
};

/* A parsed element: an IPv4 interval, or an IPv6 prefix. */
struct elem {
    bool v6;
    struct iv iv;
    struct pfx p;
};

static int ivs_push(struct ivs *s, uint32_t lo, uint32_t hi)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct iv *v = realloc(s->v, cap * sizeof *v);
        if (!v) return err_set(-ENOMEM, "targets: out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (struct iv){lo, hi};
    return 0;
}

static int iv_cmp(const void *a, const void *b)
{
    const struct iv *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping or adjacent intervals in place. */
static void ivs_merge(struct ivs *s)
{
    if (s->n == 0) return;
    qsort(s->v, s->n, sizeof *s->v, iv_cmp);
    size_t w = 0;
    for (size_t r = 1; r < s->n; r++) {
        if (s->v[w].hi == UINT32_MAX || s->v[r].lo <= s->v[w].hi + 1) {
            if (s->v[r].hi > s->v[w].hi) s->v[w].hi = s->v[r].hi;
        } else {
            s->v[++w] = s->v[r];
        }
    }
    s->n = w + 1;
}

static uint64_t iv_len(const struct iv *v)
{
    return (uint64_t)v->hi - v->lo + 1;
}

static void pfx_to_iv(const struct pfx *p, struct iv *out)
{
    unsigned host = 128u - p->len; /* v4 prefixes are 96 + len */
    uint32_t lo = ip_v4(&p->net);
    uint32_t span = host >= 32 ? UINT32_MAX : (uint32_t)((1ull << host) - 1);
    out->lo = lo;
    out->hi = lo | span;
}

static int parse_range(const char *s, const char *dash, struct elem *e)
{
    char a[64], b[64];
    size_t la = (size_t)(dash - s), lb = strlen(dash + 1);
    if (la == 0 || lb == 0 || la >= sizeof a || lb >= sizeof b)
        return err_set(-EINVAL, "%s: not an address range a.b.c.d-e.f.g.h", s);
    memcpy(a, s, la);
    a[la] = 0;
    memcpy(b, dash + 1, lb + 1);
    struct ipaddr x, y;
    if (strchr(a, ':') || strchr(b, ':') || ip_parse(a, &x) < 0 || ip_parse(b, &y) < 0)
        return err_set(-EINVAL, "%s: not an IPv4 address range a.b.c.d-e.f.g.h", s);
    e->v6 = false;
    e->iv = (struct iv){ip_v4(&x), ip_v4(&y)};
    if (e->iv.lo > e->iv.hi) return err_set(-EINVAL, "%s: range ends before it starts", s);
    return 0;
}

static int parse_elem(const char *s, struct elem *e)
{
    const char *dash = strchr(s, '-');
    if (dash && !strchr(s, ':')) return parse_range(s, dash, e);
    if (pfx_parse(s, &e->p) < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", err_msg()); /* err_msg is the buffer err_set writes */
        return err_set(-EINVAL, "%s", msg);
    }
    e->v6 = !e->p.v4;
    if (!e->v6) pfx_to_iv(&e->p, &e->iv);
    return 0;
}

static void desc_add(struct target_set *t, const char *s)
{
    size_t n = strlen(s), room = DESC_MAX - 1 - t->desc_len;
    if (room < 5) return;
    if (t->desc_len) t->desc[t->desc_len++] = ',', room--;
    if (n + 4 > room) {
        memcpy(t->desc + t->desc_len, "...", 4);
        t->desc_len = DESC_MAX - 1;
        return;
    }
    memcpy(t->desc + t->desc_len, s, n + 1);
    t->desc_len += n;
}

struct target_set *target_new(const struct target_opts *opts)
{
    struct target_set *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(-ENOMEM, "targets: out of memory");
        return NULL;
    }
    if (opts) t->opts = *opts;
    if (pfx_set_add_special(&t->special) < 0) {
        target_free(t);
        return NULL;
    }
    return t;
}

void target_free(struct target_set *t)
{
    if (!t) return;
    free(t->given4.v);
    free(t->excl4.v);
    free(t->left4.v);
    free(t->cum);
    free(t->v6);
    pfx_set_free(&t->special);
    pfx_set_free(&t->excl6);
    free(t);
}

static bool is_testbed(const struct pfx *p)
{
    char buf[64];
    pfx_format(p, buf, sizeof buf);
    return strcmp(buf, "198.18.0.0/15") == 0 || strcmp(buf, "2001:db8::/32") == 0;
}

/* An element wholly inside one special-purpose range is refused, naming it. */
static int check_special(const struct target_set *t, const char *s, const struct elem *e)
{
    for (size_t i = 0; i < t->special.n; i++) {
        const struct pfx *sp = &t->special.v[i];
        bool inside;
        if (e->v6) {
            inside = !sp->v4 && sp->len <= e->p.len && pfx_contains(sp, &e->p.net);
        } else {
            struct iv r;
            if (!sp->v4) continue;
            pfx_to_iv(sp, &r);
            inside = e->iv.lo >= r.lo && e->iv.hi <= r.hi;
        }
        if (!inside) continue;
        bool bed = is_testbed(sp);
        if (bed && t->opts.allow_testbed) return 0;
        char buf[64];
        pfx_format(sp, buf, sizeof buf);
        if (bed)
            return err_set(-EPERM, "%s: inside %s, the testbed's range (needs --allow-testbed)", s,
                           buf);
        return err_set(-EPERM, "%s: inside the special-purpose range %s (never scanned)", s, buf);
    }
    return 0;
}

static int add_v6(struct target_set *t, const char *s, const struct pfx *p)
{
    if (p->len < TARGET_V6_MIN_PREFIX)
        return err_set(-EINVAL, "%s: IPv6 prefix shorter than /%d (list the addresses instead)", s,
                       TARGET_V6_MIN_PREFIX);
    uint32_t n = 1u << (128 - p->len);
    if (t->n6 + n > TARGET_V6_MAX)
        return err_set(-E2BIG, "%s: more than %u IPv6 targets", s, TARGET_V6_MAX);
    if (t->n6 + n > t->cap6) {
        size_t cap = t->cap6 ? t->cap6 : 256;
        while (cap < t->n6 + n)
            cap *= 2;
        struct ipaddr *v = realloc(t->v6, cap * sizeof *v);
        if (!v) return err_set(-ENOMEM, "targets: out of memory");
        t->v6 = v;
        t->cap6 = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct ipaddr a = p->net;
        a.b[14] |= (uint8_t)(i >> 8);
        a.b[15] |= (uint8_t)i;
        t->v6[t->n6++] = a;
    }
    return 0;
}

int target_add(struct target_set *t, const char *elem)
{
    struct elem e;
    int rc;
    if (t->finished) return err_set(-EINVAL, "targets: added after target_finish");
    if ((rc = parse_elem(elem, &e)) < 0 || (rc = check_special(t, elem, &e)) < 0) return rc;
    if (e.v6) return add_v6(t, elem, &e.p);
    if (t->elems >= TARGET_ELEMS_MAX)
        return err_set(-E2BIG, "%s: more than %u target elements", elem, TARGET_ELEMS_MAX);
    t->elems++;
    return ivs_push(&t->given4, e.iv.lo, e.iv.hi);
}

int target_add_list(struct target_set *t, const char *list)
{
    char tok[TARGET_LINE_MAX];
    const char *p = list;
    int rc = 0;
    size_t added = 0;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        size_t n = strcspn(p, ", \t\r\n");
        if (n == 0) break;
        if (n >= sizeof tok) return err_set(-EINVAL, "%.40s...: target element too long", p);
        memcpy(tok, p, n);
        tok[n] = 0;
        if ((rc = target_add(t, tok)) < 0) return rc;
        p += n;
        added++;
    }
    if (added == 0) return err_set(-EINVAL, "'%s': no target given", list);
    desc_add(t, list);
    return 0;
}

/* Strips a comment and surrounding space; returns the element or NULL when blank. */
static char *line_elem(char *line)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    while (isspace((unsigned char)*line))
        line++;
    size_t n = strlen(line);
    while (n && isspace((unsigned char)line[n - 1]))
        line[--n] = 0;
    return n ? line : NULL;
}

typedef int (*elem_fn)(struct target_set *t, const char *elem);

/* Reads a list file, one element a line, each handed to fn; errors are "FILE:LINE: ...". */
static int read_list(struct target_set *t, const char *path, elem_fn fn, bool *missing)
{
    bool std = strcmp(path, "-") == 0;
    FILE *f = std ? stdin : fopen(path, "r");
    if (!f) {
        int e = errno;
        if (missing && e == ENOENT) {
            *missing = true;
            return 0;
        }
        return err_set(-e, "%s: %s", path, strerror(e));
    }
    char line[TARGET_LINE_MAX + 2];
    unsigned long no = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        no++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            rc = err_set(-EINVAL, "%s:%lu: line longer than %d bytes", path, no, TARGET_LINE_MAX);
            break;
        }
        char *el = line_elem(line);
        if (!el) continue;
        if ((rc = fn(t, el)) < 0) {
            char msg[320];
            snprintf(msg, sizeof msg, "%s", err_msg());
            rc = err_set(rc, "%s:%lu: %s", path, no, msg);
            break;
        }
    }
    if (rc == 0 && ferror(f)) rc = err_set(-EIO, "%s: read error", path);
    if (!std) fclose(f);
    return rc;
}

int target_add_file(struct target_set *t, const char *path)
{
    int rc = read_list(t, path, target_add, NULL);
    if (rc == 0) desc_add(t, path);
    return rc;
}

static int exclude_elem(struct target_set *t, const char *s)
{
    struct elem e;
    int rc = parse_elem(s, &e);
    if (rc < 0) return rc;
    if (e.v6) return pfx_set_add(&t->excl6, &e.p);
    return ivs_push(&t->excl4, e.iv.lo, e.iv.hi);
}

static int add_exclusions(struct target_set *t)
{
    for (size_t i = 0; i < t->special.n; i++) {
        const struct pfx *p = &t->special.v[i];
        if (t->opts.allow_testbed && is_testbed(p)) continue;
        struct iv r;
        int rc;
        if (p->v4) {
            pfx_to_iv(p, &r);
            rc = ivs_push(&t->excl4, r.lo, r.hi);
        } else {
            rc = pfx_set_add(&t->excl6, p);
        }
        if (rc < 0) return rc;
    }
    int rc;
    if (t->opts.blocklist && (rc = read_list(t, t->opts.blocklist, exclude_elem, NULL)) < 0)
        return rc;
    bool missing = false;
    const char *opt = t->opts.optout ? t->opts.optout : TARGET_OPTOUT_DEFAULT;
    return read_list(t, opt, exclude_elem, t->opts.optout ? NULL : &missing);
}

/* left4 = given4 - excl4, both merged. */
static int subtract(struct target_set *t)
{
    const struct ivs *g = &t->given4, *x = &t->excl4;
    size_t j = 0;
    for (size_t i = 0; i < g->n; i++) {
        uint64_t lo = g->v[i].lo, hi = g->v[i].hi;
        while (j < x->n && x->v[j].hi < lo)
            j++;
        for (size_t k = j; k < x->n && x->v[k].lo <= hi && lo <= hi; k++) {
            if (x->v[k].lo > lo && ivs_push(&t->left4, (uint32_t)lo, x->v[k].lo - 1) < 0)
                return -ENOMEM;
            lo = (uint64_t)x->v[k].hi + 1;
        }
        if (lo <= hi && ivs_push(&t->left4, (uint32_t)lo, (uint32_t)hi) < 0) return -ENOMEM;
    }
    t->cum = malloc((t->left4.n + 1) * sizeof *t->cum);
    if (!t->cum) return err_set(-ENOMEM, "targets: out of memory");
    uint64_t c = 0, given = 0;
    for (size_t i = 0; i < t->left4.n; i++) {
        t->cum[i] = c;
        c += iv_len(&t->left4.v[i]);
    }
    t->cum[t->left4.n] = c;
    for (size_t i = 0; i < g->n; i++)
        given += iv_len(&g->v[i]);
    t->count4 = c;
    t->removed = given - c;
    return 0;
}

static int ip_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct ipaddr));
}

static void finish_v6(struct target_set *t)
{
    if (t->n6 == 0) return;
    qsort(t->v6, t->n6, sizeof *t->v6, ip_cmp);
    size_t w = 0;
    for (size_t r = 0; r < t->n6; r++) {
        if (w && memcmp(&t->v6[w - 1], &t->v6[r], sizeof *t->v6) == 0) continue;
        if (pfx_set_contains(&t->excl6, &t->v6[r])) {
            t->removed++;
            continue;
        }
        t->v6[w++] = t->v6[r];
    }
    t->n6 = w;
}

int target_finish(struct target_set *t)
{
    if (t->finished) return err_set(-EINVAL, "targets: finished twice");
    t->finished = true;
    if (t->given4.n == 0 && t->n6 == 0)
        return err_set(-EINVAL, "no targets given (name them explicitly: CIDR, range or file)");
    int rc = add_exclusions(t);
    if (rc < 0) return rc;
    ivs_merge(&t->given4);
    ivs_merge(&t->excl4);
    if ((rc = subtract(t)) < 0) return rc;
    finish_v6(t);
    if (target_count(t) == 0)
        return err_set(-EPERM, "%s: no target left after the blocklist, opt-out and special ranges",
                       t->desc_len ? t->desc : "targets");
    return 0;
}

uint64_t target_count(const struct target_set *t)
{
    return t->count4 + t->n6;
}

uint64_t target_count_v4(const struct target_set *t)
{
    return t->count4;
}

uint64_t target_removed(const struct target_set *t)
{
    return t->removed;
}

const char *target_desc(const struct target_set *t)
{
    return t->desc;
}

uint32_t target_get_v4(const struct target_set *t, uint64_t i)
{
    size_t lo = 0, hi = t->left4.n; /* the last k with cum[k] <= i */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->cum[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return t->left4.v[lo].lo + (uint32_t)(i - t->cum[lo]);
}

void target_get(const struct target_set *t, uint64_t i, struct ipaddr *out)
{
    if (i < t->count4)
        ip_from_v4(out, target_get_v4(t, i));
    else
        *out = t->v6[i - t->count4];
}

/* Whether x lies in one of s's merged intervals. */
static bool ivs_has(const struct ivs *s, uint32_t x)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].hi < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->v[lo].lo <= x;
}

bool target_allowed_v4(const struct target_set *t, uint32_t a)
{
    return t->finished && ivs_has(&t->left4, a) && !ivs_has(&t->excl4, a);
}

bool target_allowed(const struct target_set *t, const struct ipaddr *a)
{
    if (!t->finished) return false;
    if (ip_is_v4(a)) return target_allowed_v4(t, ip_v4(a));
    return bsearch(a, t->v6, t->n6, sizeof *t->v6, ip_cmp) && !pfx_set_contains(&t->excl6, a);
}

bool target_excluded(const struct target_set *t, const struct ipaddr *a)
{
    if (ip_is_v4(a)) return ivs_has(&t->excl4, ip_v4(a));
    return pfx_set_contains(&t->excl6, a);
}

int64_t target_index(const struct target_set *t, const struct ipaddr *a)
{
    if (!t->finished) return -1;
    if (!ip_is_v4(a)) {
        const struct ipaddr *hit = bsearch(a, t->v6, t->n6, sizeof *t->v6, ip_cmp);
        return hit ? (int64_t)(t->count4 + (uint64_t)(hit - t->v6)) : -1;
    }
    uint32_t x = ip_v4(a);
    size_t lo = 0, hi = t->left4.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->left4.v[mid].hi < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->left4.n || t->left4.v[lo].lo > x) return -1;
    return (int64_t)(t->cum[lo] + (x - t->left4.v[lo].lo));
}
