/* spec_model — a spec in memory: building it, the cross-line checks, writing it.
 *
 * Hosts and services grow in arrays allocated once at their bound's first
 * use in chunks; spec_finish sorts both, derives the "up" hosts from the
 * services, and checks what no single line can: one use of an (address,
 * port), a closed or filtered host without services, every host inside the
 * range and inside exactly one owner, owners inside the range and disjoint. */
#include "spec.h"

#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tb_spec *spec_new(void)
{
    struct tb_spec *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->owners = calloc(TB_MAX_OWNERS, sizeof *s->owners);
    if (!s->owners) {
        free(s);
        return NULL;
    }
    return s;
}

void spec_free(struct tb_spec *s)
{
    if (!s) return;
    free(s->owners);
    free(s->hosts);
    free(s->svcs);
    free(s);
}

/* Grows *arr (of *n elements of size sz, room for *cap) by one zeroed element,
 * doubling the room when it is full; NULL past max or out of memory. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t sz, size_t max)
{
    if (*n >= max) return NULL;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        void *p = realloc(*arr, c * sz);
        if (!p) return NULL;
        *arr = p;
        *cap = c;
    }
    void *e = (char *)*arr + (*n)++ * sz;
    memset(e, 0, sz);
    return e;
}

struct tb_host *spec_add_host(struct tb_spec *s, uint32_t ip, enum tb_state st)
{
    struct tb_host *h = grow((void **)&s->hosts, &s->nhosts, &s->hcap, sizeof *h, TB_MAX_HOSTS);
    if (h) h->ip = ip, h->state = st;
    return h;
}

struct tb_service *spec_add_service(struct tb_spec *s, uint32_t ip, uint16_t port, enum tb_proto p)
{
    struct tb_service *v = grow((void **)&s->svcs, &s->nsvcs, &s->scap, sizeof *v, TB_MAX_SERVICES);
    if (v) v->ip = ip, v->port = port, v->proto = p;
    return v;
}

static bool inside(uint32_t ip, uint32_t net, int len)
{
    uint32_t mask = len ? ~0u << (32 - len) : 0;
    return (ip & mask) == net;
}

const struct tb_owner *spec_owner_of(const struct tb_spec *s, uint32_t ip)
{
    for (size_t i = 0; i < s->nowners; i++)
        if (inside(ip, s->owners[i].net, s->owners[i].len)) return &s->owners[i];
    return NULL;
}

static int cmp_host(const void *a, const void *b)
{
    const struct tb_host *x = a, *y = b;
    return x->ip < y->ip ? -1 : x->ip > y->ip;
}

static int cmp_svc(const void *a, const void *b)
{
    const struct tb_service *x = a, *y = b;
    if (x->ip != y->ip) return x->ip < y->ip ? -1 : 1;
    return x->port < y->port ? -1 : x->port > y->port;
}

static int fail(const char *name, int line, const char *what, uint32_t ip)
{
    char b[16], where[32] = "";
    if (line) snprintf(where, sizeof where, ":%d", line);
    return err_set(-EINVAL, "%s%s: %s %s", name, where, spec_ip(ip, b), what);
}

static int check_owners(const struct tb_spec *s, const char *name)
{
    for (size_t i = 0; i < s->nowners; i++) {
        const struct tb_owner *o = &s->owners[i];
        if (o->len < s->len || !inside(o->net, s->net, s->len))
            return fail(name, o->line, "owner prefix lies outside the range", o->net);
        for (size_t j = 0; j < i; j++) {
            const struct tb_owner *p = &s->owners[j];
            int l = o->len < p->len ? o->len : p->len;
            if (inside(o->net, p->net & (l ? ~0u << (32 - l) : 0), l))
                return fail(name, o->line, "owner prefix overlaps another", o->net);
        }
    }
    return 0;
}

/* Adds an "up" host for every address with services; refuses services on
 * closed/filtered hosts and a host listed twice. */
static int derive_hosts(struct tb_spec *s, const char *name)
{
    size_t explicit = s->nhosts;
    if (explicit) qsort(s->hosts, explicit, sizeof *s->hosts, cmp_host);
    for (size_t i = 1; i < explicit; i++)
        if (s->hosts[i].ip == s->hosts[i - 1].ip)
            return fail(name, s->hosts[i].line, "is listed twice", s->hosts[i].ip);
    if (s->nsvcs) qsort(s->svcs, s->nsvcs, sizeof *s->svcs, cmp_svc);
    for (size_t i = 0; i < s->nsvcs; i++) {
        const struct tb_service *v = &s->svcs[i];
        if (i && v->ip == s->svcs[i - 1].ip && v->port == s->svcs[i - 1].port)
            return fail(name, v->line, "port is used twice", v->ip);
        if (i && v->ip == s->svcs[i - 1].ip) continue;
        struct tb_host key = {.ip = v->ip}, *h;
        if (explicit && (h = bsearch(&key, s->hosts, explicit, sizeof key, cmp_host))) {
            char what[96];
            snprintf(what, sizeof what, "is listed %s but has a service (line %d)",
                     h->state == TB_CLOSED ? "closed" : "filtered", v->line);
            return fail(name, h->line, what, v->ip);
        }
        if (!spec_add_host(s, v->ip, TB_UP)) return err_set(-E2BIG, "%s: too many hosts", name);
        s->hosts[s->nhosts - 1].line = v->line;
    }
    if (s->nhosts) qsort(s->hosts, s->nhosts, sizeof *s->hosts, cmp_host);
    return 0;
}

int spec_finish(struct tb_spec *s, const char *name)
{
    if (!spec_range_ok(s->net, s->len))
        return err_set(-EINVAL, "%s: the range must lie inside 198.18.0.0/15, off 198.19.255.0/30",
                       name);
    if (check_owners(s, name) < 0 || derive_hosts(s, name) < 0) return -EINVAL;
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct tb_host *h = &s->hosts[i];
        if (!inside(h->ip, s->net, s->len))
            return fail(name, h->line, "lies outside the range", h->ip);
        if (!spec_owner_of(s, h->ip)) return fail(name, h->line, "lies in no owner prefix", h->ip);
    }
    return 0;
}

/* Writes a value quoted when it needs to be (spaces, quotes, empty). */
static void put_val(FILE *f, const char *v)
{
    if (*v && !strpbrk(v, " \t\"\\#=")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') fputc('\\', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void put_service(FILE *f, const struct tb_service *v)
{
    char b[16];
    fprintf(f, "%s %s %u", tb_proto_name[v->proto], spec_ip(v->ip, b), v->port);
    if (v->proto == TB_TELNET) fprintf(f, " persona=%s", v->persona);
    char acc[TB_MAX_ACCEPT * 100];
    size_t o = 0;
    for (int i = 0; i < v->nacc; i++)
        o += (size_t)snprintf(acc + o, sizeof acc - o, "%s%s:%s", i ? "," : "", v->acc[i].user,
                              v->acc[i].pass);
    fputs(" accept=", f);
    put_val(f, acc);
    if (v->proto == TB_HTTP) {
        fputs(" server=", f);
        put_val(f, v->server);
        fputs(" title=", f);
        put_val(f, v->title);
        fputs(" realm=", f);
        put_val(f, v->realm);
    }
    fputc('\n', f);
}

int spec_write(const struct tb_spec *s, FILE *f)
{
    char b[16];
    fprintf(f, "# mamori testbed spec (mamori-testbed(1) describes the format)\nrange %s/%d\n",
            spec_ip(s->net, b), s->len);
    for (size_t i = 0; i < s->nowners; i++) {
        const struct tb_owner *o = &s->owners[i];
        fprintf(f, "owner %s/%d %u ", spec_ip(o->net, b), o->len, o->asn);
        put_val(f, o->isp);
        fputc(' ', f);
        put_val(f, o->abuse);
        fputc('\n', f);
    }
    for (size_t i = 0; i < s->nhosts; i++)
        if (s->hosts[i].state != TB_UP)
            fprintf(f, "%s %s\n", s->hosts[i].state == TB_CLOSED ? "closed" : "filtered",
                    spec_ip(s->hosts[i].ip, b));
    for (size_t i = 0; i < s->nsvcs; i++)
        put_service(f, &s->svcs[i]);
    return ferror(f) ? -EIO : 0;
}

/* Written to PATH.tmp and renamed, so a reader sees the old or the new spec. */
int spec_save(const struct tb_spec *s, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return err_set(-errno, "%s: %s", tmp, strerror(errno));
    int rc = spec_write(s, f);
    if (fclose(f) != 0 || rc < 0) {
        unlink(tmp);
        return err_set(-EIO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) < 0) return err_set(-errno, "%s: %s", path, strerror(errno));
    return 0;
}
