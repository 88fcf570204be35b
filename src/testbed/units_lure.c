/* units_lure — telnet devices are the honeypot: one `mamori lure` per
 * (persona, accepted pairs) group, listening on every address of the group
 * (at most LURE_MAX_LISTEN a process), with a generated Cowrie userdb that
 * accepts exactly the group's pairs.  The honeypot's own limits are opened up
 * (no rate limit, no per-source cap) because a prober makes thousands of
 * connections from one address; its events go to DIR/lure-GROUP.json. */
#include "../core/err.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Addresses one lure serves: lure's LURE_MAX_LISTEN (a capability cannot
 * include another's header; the lure test of many listeners guards it). */
#define LURE_MAX_LISTEN 256

/* The group of a telnet service: its persona and pairs, as one string. */
static void group_of(const struct tb_service *v, char *buf, size_t n)
{
    size_t o = (size_t)snprintf(buf, n, "%s", v->persona);
    for (int i = 0; i < v->nacc && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "\n%s:%s", v->acc[i].user, v->acc[i].pass);
}

/* A telnet service by its group's hash (64 bits: equal means the same group). */
struct member {
    uint64_t group;
    size_t i;
};

static int cmp_member(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* One lure process for svcs[idx[0..n)] (all of one group). */
static int one_unit(const struct tb_spec *s, const struct tb_env *env, const size_t *idx, size_t n,
                    int chunk, struct tb_units *out)
{
    const struct tb_service *g = &s->svcs[idx[0]];
    char key[1024], name[96], path[4200], events[4200];
    group_of(g, key, sizeof key);
    snprintf(name, sizeof name, "lure-%s-%08x-%d", g->persona, (unsigned)(fnv(key) & 0xffffffffu),
             chunk);
    struct tb_unit *u = units_add(out, name);
    if (!u) return err_set(-ENOMEM, "out of memory");
    char udb[TB_MAX_ACCEPT * 110 + 128];
    size_t o = (size_t)snprintf(udb, sizeof udb, "# %s: written by mamori testbed\n", name);
    for (int i = 0; i < g->nacc; i++)
        o += (size_t)snprintf(udb + o, sizeof udb - o, "%s:x:%s\n", g->acc[i].user, g->acc[i].pass);
    snprintf(path, sizeof path, "%s/lure/%s.userdb", env->dir, name);
    snprintf(events, sizeof events, "%s/%s.json", env->dir, name);
    if (unit_file(u, path, udb, o) < 0) return -1;
    char *listen = malloc(n * 24 + 1);
    if (!listen) return err_set(-ENOMEM, "out of memory");
    size_t lo = 0;
    for (size_t i = 0; i < n; i++) {
        const struct tb_service *v = &s->svcs[idx[i]];
        char b[16];
        lo += (size_t)sprintf(listen + lo, "%s%s:%u", i ? "," : "", spec_ip(v->ip, b), v->port);
        if (unit_serve(u, v->ip, v->port) < 0) {
            free(listen);
            return -1;
        }
    }
    int rc = unit_arg(u, "%s", env->self) | unit_arg(u, "lure") | unit_arg(u, "--listen") |
             unit_arg(u, "%s", listen) | unit_arg(u, "--persona") | unit_arg(u, "%s", g->persona) |
             unit_arg(u, "--userdb") | unit_arg(u, "%s", path) | unit_arg(u, "--db") |
             unit_arg(u, "-") | unit_arg(u, "--events") | unit_arg(u, "%s", events) |
             unit_arg(u, "--files") | unit_arg(u, "%s/files", env->dir) | unit_arg(u, "--rate") |
             unit_arg(u, "0") | unit_arg(u, "--per-source") | unit_arg(u, "0") |
             unit_arg(u, "--max-sessions") | unit_arg(u, "100000") | unit_arg(u, "--sensor") |
             unit_arg(u, "%s", env->name) | unit_arg(u, "--quiet");
    free(listen);
    return rc < 0 ? -1 : 0;
}

static int build(const struct tb_spec *s, const struct tb_env *env, struct tb_units *out)
{
    size_t n = 0;
    struct member *m = malloc((s->nsvcs + 1) * sizeof *m);
    size_t *idx = malloc((s->nsvcs + 1) * sizeof *idx);
    int rc = 0;
    if (!m || !idx) rc = err_set(-ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < s->nsvcs; i++)
        if (s->svcs[i].proto == TB_TELNET) {
            char key[1024];
            group_of(&s->svcs[i], key, sizeof key);
            m[n++] = (struct member){fnv(key), i};
        }
    if (!rc) qsort(m, n, sizeof *m, cmp_member);
    for (size_t i = 0; i < n && !rc;) {
        size_t j = i;
        for (int chunk = 0; !rc && j < n && m[j].group == m[i].group; chunk++) {
            size_t k = 0;
            while (j < n && m[j].group == m[i].group && k < LURE_MAX_LISTEN)
                idx[k++] = m[j++].i;
            rc = one_unit(s, env, idx, k, chunk, out);
        }
        i = j;
    }
    free(m);
    free(idx);
    return rc;
}

const struct unit_kind unit_lure = {"lure", build};
