/* anon_metrics — how far to anonymize, computed on the input's addresses.
 *
 * k-anonymity per released prefix: group the distinct addresses by their
 * true /n; an address in a group of g is one of g candidates to whoever
 * holds the released /n and knows who is behind which address, so "share
 * < k" is the fraction of addresses that releasing /n leaves identifiable
 * among fewer than k.  Crypto-PAn releases the whole tree (the /n groups
 * keep their sizes under new names), which is why these figures say what an
 * attacker who can de-anonymize a few addresses learns about the rest.
 *
 * What still works: the transforms are run, not assumed — Crypto-PAn with
 * this key, Crypto-PAn with a different key for the second source, and
 * truncation to /24 (v6 /48) and /16 (v6 /32) — and on their output: the
 * distinct addresses left, the duplicate records found (and how many of
 * them are true duplicates), the pairs of different addresses found in one
 * /24 (/48) network, and the records of the second source (B: the second
 * half of the records, or --join FILE) joinable with the first (A).
 * Everything is sorting arrays of at most METRICS_MAX records. */
#include "anon.h"

#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define METRICS_MAX (16u * 1024 * 1024)

struct anon_metrics {
    struct ipaddr *v;
    size_t n, cap, split; /* split: where source B starts (0: the middle) */
    int full;
};

struct anon_metrics *anon_metrics_new(void)
{
    return calloc(1, sizeof(struct anon_metrics));
}

void anon_metrics_free(struct anon_metrics *m)
{
    if (m) free(m->v);
    free(m);
}

void anon_metrics_add(void *arg, const struct ipaddr *a)
{
    struct anon_metrics *m = arg;
    if (m->n == m->cap) {
        size_t c = m->cap ? m->cap * 2 : 4096;
        struct ipaddr *v = m->n < METRICS_MAX ? realloc(m->v, c * sizeof *v) : NULL;
        if (!v) {
            m->full = 1;
            return;
        }
        m->v = v, m->cap = c;
    }
    m->v[m->n++] = *a;
}

void anon_metrics_split(struct anon_metrics *m)
{
    m->split = m->n;
}

static int cmp_ip(const void *x, const void *y)
{
    return memcmp(x, y, 16);
}

/* bits on the 128-bit scale kept (an IPv4 /n is 96 + n) */
static struct ipaddr masked(const struct ipaddr *a, int bits)
{
    struct ipaddr r = *a;
    for (int i = bits; i < 128; i++)
        r.b[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
    return r;
}

static int net_bits(const struct ipaddr *a, int v4, int v6)
{
    return ip_is_v4(a) ? 96 + v4 : v6;
}

static int cmp_size(const void *x, const void *y)
{
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    return a < b ? -1 : a > b;
}

static struct ipaddr net_of(const struct ipaddr *a)
{
    return masked(a, net_bits(a, 24, 48));
}

struct kstat {
    size_t groups, min, median;
    double below[3];
};

static const int KS[3] = {2, 5, 10};

/* distinct addresses d[0..n) of one family, sorted: the groups of their /bits */
static void kanon(const struct ipaddr *d, size_t n, int bits, struct kstat *k)
{
    memset(k, 0, sizeof *k);
    if (!n) return;
    size_t *g = malloc(n * sizeof *g), below[3] = {0};
    if (!g) return;
    k->min = n;
    for (size_t i = 0; i < n;) {
        struct ipaddr p = masked(&d[i], bits);
        size_t j = i + 1;
        while (j < n) {
            struct ipaddr q = masked(&d[j], bits);
            if (memcmp(&p, &q, 16)) break;
            j++;
        }
        size_t sz = j - i;
        k->groups++;
        if (sz < k->min) k->min = sz;
        for (size_t t = i; t < j; t++)
            g[t] = sz;
        for (int t = 0; t < 3; t++)
            if (sz < (size_t)KS[t]) below[t] += sz;
        i = j;
    }
    /* the median address's group size */
    qsort(g, n, sizeof *g, cmp_size);
    k->median = g[n / 2];
    for (int t = 0; t < 3; t++)
        k->below[t] = (double)below[t] / (double)n;
    free(g);
}

enum tf { TF_NONE, TF_CPAN, TF_CPAN2, TF_T24, TF_T16, TF_N };
static const char *const tf_name[TF_N] = {"original", "cryptopan", "cryptopan_other_key",
                                          "truncate_24", "truncate_16"};

static struct ipaddr transform(enum tf t, struct cpan *c, struct cpan *c2, const struct ipaddr *a,
                               int source_b)
{
    struct ipaddr r = *a;
    struct cpan *k = t == TF_CPAN2 && source_b ? c2 : c;
    switch (t) {
    case TF_CPAN:
    case TF_CPAN2:
        if (ip_is_v4(a))
            ip_from_v4(&r, cpan_ipv4(k, ip_v4(a)));
        else
            cpan_ipv6(k, a->b, r.b);
        return r;
    case TF_T24:
        return masked(a, net_bits(a, 24, 48));
    case TF_T16:
        return masked(a, net_bits(a, 16, 32));
    default:
        return r;
    }
}

struct pair_rec {
    struct ipaddr orig, t; /* t: transformed */
};

static int cmp_t(const void *x, const void *y)
{
    const struct pair_rec *a = x, *b = y;
    int r = memcmp(&a->t, &b->t, 16);
    return r ? r : memcmp(&a->orig, &b->orig, 16);
}

static int cmp_orig(const void *x, const void *y)
{
    const struct pair_rec *a = x, *b = y;
    return memcmp(&a->orig, &b->orig, 16);
}

struct analysis {
    size_t distinct, dup_found, dup_true, pairs_found, pairs_right, join_found, join_right;
};

/* Pairs of distinct originals whose transformed values differ but share a
 * network; with by_orig, only those whose originals share one too. */
static size_t net_pairs(struct pair_rec *r, size_t n, int by_orig)
{
    /* key: (orig net if by_orig, t net), then t */
    size_t total = 0;
    for (size_t i = 0; i < n;) {
        struct ipaddr tn = masked(&r[i].t, net_bits(&r[i].t, 24, 48));
        struct ipaddr on = masked(&r[i].orig, net_bits(&r[i].orig, 24, 48));
        size_t j = i, sum = 0, sq = 0;
        while (j < n) {
            struct ipaddr tn2 = masked(&r[j].t, net_bits(&r[j].t, 24, 48));
            struct ipaddr on2 = masked(&r[j].orig, net_bits(&r[j].orig, 24, 48));
            if (memcmp(&tn, &tn2, 16) || (by_orig && memcmp(&on, &on2, 16))) break;
            size_t k = j + 1; /* run of one t value */
            while (k < n && !memcmp(&r[k].t, &r[j].t, 16)) {
                struct ipaddr on3 = net_of(&r[k].orig);
                if (by_orig && memcmp(&on3, &on, 16)) break;
                k++;
            }
            sum += k - j;
            sq += (k - j) * (k - j);
            j = k;
        }
        total += (sum * sum - sq) / 2;
        i = j;
    }
    return total;
}

static int cmp_on_t(const void *x, const void *y)
{
    const struct pair_rec *a = x, *b = y;
    struct ipaddr p = masked(&a->orig, net_bits(&a->orig, 24, 48));
    struct ipaddr q = masked(&b->orig, net_bits(&b->orig, 24, 48));
    int r = memcmp(&p, &q, 16);
    if (r) return r;
    p = masked(&a->t, net_bits(&a->t, 24, 48));
    q = masked(&b->t, net_bits(&b->t, 24, 48));
    r = memcmp(&p, &q, 16);
    return r ? r : memcmp(&a->t, &b->t, 16);
}

static int in_sorted(const struct ipaddr *v, size_t n, const struct ipaddr *x)
{
    return bsearch(x, v, n, sizeof *v, cmp_ip) != NULL;
}

static int analyse(const struct anon_metrics *m, enum tf t, struct cpan *c, struct cpan *c2,
                   struct analysis *out)
{
    size_t n = m->n, split = m->split ? m->split : n / 2;
    memset(out, 0, sizeof *out);
    struct ipaddr *tv = malloc((n + 1) * sizeof *tv), *seen_o = malloc((n + 1) * sizeof *tv);
    struct pair_rec *pr = malloc((n + 1) * sizeof *pr);
    if (!tv || !seen_o || !pr) {
        free(tv), free(seen_o), free(pr);
        return err_set(-ENOMEM, "metrics: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        tv[i] = transform(t, c, c2, &m->v[i], i >= split);
    /* duplicates: sort (value, index) — by pairs: orig = index order is not needed, a record
     * is a duplicate when its value occurred before, i.e. count - distinct */
    for (size_t i = 0; i < n; i++)
        pr[i] = (struct pair_rec){m->v[i], tv[i]};
    qsort(pr, n, sizeof *pr, cmp_t);
    size_t distinct_t = 0, distinct_pairs = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || memcmp(&pr[i].t, &pr[i - 1].t, 16)) distinct_t++;
        if (i == 0 || memcmp(&pr[i].t, &pr[i - 1].t, 16) ||
            memcmp(&pr[i].orig, &pr[i - 1].orig, 16))
            distinct_pairs++;
    }
    out->distinct = distinct_t;
    out->dup_found = n - distinct_t;
    out->dup_true = n - distinct_pairs; /* found and the same original */
    /* pairs: distinct originals */
    qsort(pr, n, sizeof *pr, cmp_orig);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || memcmp(&pr[i].orig, &pr[u - 1].orig, 16)) pr[u++] = pr[i];
    qsort(pr, u, sizeof *pr, cmp_t);
    out->pairs_found = net_pairs(pr, u, 0);
    qsort(pr, u, sizeof *pr, cmp_on_t);
    out->pairs_right = net_pairs(pr, u, 1);
    /* joins: records of B whose value is among A's values */
    memcpy(seen_o, tv, split * sizeof *tv);
    qsort(seen_o, split, sizeof *seen_o, cmp_ip);
    struct ipaddr *ao = malloc((split + 1) * sizeof *ao);
    if (ao) {
        memcpy(ao, m->v, split * sizeof *ao);
        qsort(ao, split, sizeof *ao, cmp_ip);
        for (size_t i = split; i < n; i++) {
            int f = in_sorted(seen_o, split, &tv[i]);
            out->join_found += (size_t)f;
            out->join_right += (size_t)(f && in_sorted(ao, split, &m->v[i]));
        }
    }
    free(ao), free(tv), free(seen_o), free(pr);
    return ao ? 0 : err_set(-ENOMEM, "metrics: out of memory");
}

static double pct(size_t a, size_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0.0;
}

int anon_metrics_report(struct anon_metrics *m, struct cpan *c, FILE *out, int json)
{
    size_t n = m->n, split = m->split ? m->split : n / 2;
    struct ipaddr *d = malloc((n + 1) * sizeof *d);
    if (!d) return err_set(-ENOMEM, "metrics: out of memory");
    memcpy(d, m->v, n * sizeof *d);
    qsort(d, n, sizeof *d, cmp_ip);
    size_t nd = 0, n4 = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || memcmp(&d[i], &d[nd - 1], 16)) d[nd++] = d[i];
    for (size_t i = 0; i < nd; i++)
        n4 += ip_is_v4(&d[i]); /* v4 (::ffff:0:0/96) sort first */
    size_t v4start = 0;
    while (v4start < nd && !ip_is_v4(&d[v4start]))
        v4start++;
    /* v4-mapped sort after ::/80 and before the rest of v6: find the run */
    const struct ipaddr *d4 = d + v4start, *d6a = d, *d6b = d + v4start + n4;
    size_t n6a = v4start, n6b = nd - v4start - n4;
    struct ipaddr *d6 = malloc((n6a + n6b + 1) * sizeof *d6);
    if (!d6) {
        free(d);
        return err_set(-ENOMEM, "metrics: out of memory");
    }
    memcpy(d6, d6a, n6a * sizeof *d6);
    memcpy(d6 + n6a, d6b, n6b * sizeof *d6);
    size_t n6 = n6a + n6b;

    uint8_t k2[32];
    if (getrandom(k2, sizeof k2, 0) != sizeof k2)
        for (int i = 0; i < 32; i++)
            k2[i] = (uint8_t)(i * 37 + 11);
    struct cpan *c2 = cpan_new(k2);
    struct analysis an[TF_N];
    int rc = c2 ? 0 : -ENOMEM;
    for (int t = 0; t < TF_N && !rc; t++)
        rc = analyse(m, (enum tf)t, c, c2, &an[t]);
    cpan_free(c2);
    if (rc) {
        free(d), free(d6);
        return rc;
    }
    static const int p4[4] = {8, 16, 24, 32}, p6[4] = {32, 48, 64, 128};
    struct kstat ks[2][4];
    for (int i = 0; i < 4; i++) {
        kanon(d4, n4, 96 + p4[i], &ks[0][i]);
        kanon(d6, n6, p6[i], &ks[1][i]);
    }
    if (json) {
        json_t *o = json_pack("{sIsIsIsIsIsb}", "records", (json_int_t)n, "distinct",
                              (json_int_t)nd, "ipv4", (json_int_t)n4, "ipv6", (json_int_t)n6,
                              "source_b_from", (json_int_t)split, "capped", m->full);
        json_t *ka = json_array();
        for (int f = 0; f < 2; f++)
            for (int i = 0; i < 4; i++) {
                struct kstat *k = &ks[f][i];
                if (!(f ? n6 : n4)) continue;
                json_array_append_new(
                    ka,
                    json_pack("{sssisIsIsIs{sfsfsf}}", "family", f ? "ipv6" : "ipv4", "prefix",
                              f ? p6[i] : p4[i], "groups", (json_int_t)k->groups, "min",
                              (json_int_t)k->min, "median", (json_int_t)k->median, "share_below",
                              "2", k->below[0], "5", k->below[1], "10", k->below[2]));
            }
        json_object_set_new(o, "k_anonymity", ka);
        json_t *aj = json_object();
        for (int t = 0; t < TF_N; t++)
            json_object_set_new(
                aj, tf_name[t],
                json_pack(
                    "{sIsIsIsIsIsIsI}", "distinct", (json_int_t)an[t].distinct, "duplicates_found",
                    (json_int_t)an[t].dup_found, "duplicates_true", (json_int_t)an[t].dup_true,
                    "net_pairs_found", (json_int_t)an[t].pairs_found, "net_pairs_true",
                    (json_int_t)an[t].pairs_right, "joins_found", (json_int_t)an[t].join_found,
                    "joins_true", (json_int_t)an[t].join_right));
        json_object_set_new(o, "analysis", aj);
        json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', out);
        json_decref(o);
    } else {
        fprintf(out,
                "metrics: %zu address records%s, %zu distinct (IPv4 %zu, IPv6 %zu); source A = "
                "records 1..%zu, B = the rest\n\n",
                n, m->full ? " (capped)" : "", nd, n4, n6, split);
        fprintf(out, "k-anonymity if the true prefix is released (group: the distinct addresses "
                     "sharing it)\n  family prefix   groups    min median   <2    <5   <10\n");
        for (int f = 0; f < 2; f++)
            for (int i = 0; i < 4; i++) {
                struct kstat *k = &ks[f][i];
                if (!(f ? n6 : n4)) continue;
                fprintf(out, "  %-6s /%-4d %8zu %6zu %6zu %4.0f%% %4.0f%% %4.0f%%\n",
                        f ? "IPv6" : "IPv4", f ? p6[i] : p4[i], k->groups, k->min, k->median,
                        100 * k->below[0], 100 * k->below[1], 100 * k->below[2]);
            }
        fprintf(out, "  (<k: the share of addresses one of fewer than k candidates behind their "
                     "released prefix)\n\nwhat analysis still works (found / right)\n");
        fprintf(out, "  %-22s %10s %14s %14s %14s\n", "transform", "distinct", "duplicates",
                "same-/24 pairs", "A-B joins");
        for (int t = 0; t < TF_N; t++) {
            char dd[48], pp[48], jj[48];
            snprintf(dd, sizeof dd, "%zu/%zu", an[t].dup_found, an[t].dup_true);
            snprintf(pp, sizeof pp, "%zu/%zu", an[t].pairs_found, an[t].pairs_right);
            snprintf(jj, sizeof jj, "%zu/%zu", an[t].join_found, an[t].join_right);
            fprintf(out, "  %-22s %10zu %14s %14s %14s\n", tf_name[t], an[t].distinct, dd, pp, jj);
        }
        fprintf(out,
                "  duplicates kept: %.1f%% with Crypto-PAn, A-B joins kept: %.1f%% with one key, "
                "%.1f%% with two keys\n",
                pct(an[TF_CPAN].dup_true, an[TF_NONE].dup_found),
                pct(an[TF_CPAN].join_right, an[TF_NONE].join_found),
                pct(an[TF_CPAN2].join_right, an[TF_NONE].join_found));
    }
    free(d), free(d6);
    return 0;
}
