/* spec — the testbed's line format: parse, check, write back (see spec.h).
 *
 * A line is split into words; a word is bare, "quoted" (\" and \\ escape) or
 * key=value with either kind of value.  Statements are a table (one row per
 * keyword, each with its handler), so a new kind of line is one function and
 * one row.  Values are printable ASCII only: they end up in JSON, userdb files
 * and HTTP headers, where anything else would need escaping rules of its own.
 * Cross-line rules (hosts inside the range and an owner, one use of an
 * (address, port), filtered hosts without services) are checked once at the
 * end, on sorted arrays. */
#include "spec.h"

#include "../core/err.h"
#include "../core/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const tb_proto_name[TB_NPROTO] = {"telnet", "http", "ssh"};

#define MAX_WORDS 16
#define MAX_LINE 4096

struct word {
    const char *key; /* NULL for a bare word */
    char *val;
};

struct line {
    struct word w[MAX_WORDS];
    int n;
    char buf[MAX_LINE + 1];
};

const char *spec_ip(uint32_t ip, char buf[16])
{
    struct in_addr a = {htonl(ip)};
    return inet_ntop(AF_INET, &a, buf, 16);
}

static int parse_ip(const char *s, uint32_t *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) return -1;
    *ip = ntohl(a.s_addr);
    return 0;
}

int spec_parse_cidr(const char *s, uint32_t *net, int *len)
{
    char b[32];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof b) return -1;
    snprintf(b, sizeof b, "%.*s", (int)(slash - s), s);
    char *end;
    long l = strtol(slash + 1, &end, 10);
    if (*end || !slash[1] || l < 0 || l > 32 || parse_ip(b, net) < 0) return -1;
    uint32_t mask = l ? ~0u << (32 - l) : 0;
    if (*net & ~mask) return -1;
    *len = (int)l;
    return 0;
}

static bool inside(uint32_t ip, uint32_t net, int len)
{
    uint32_t mask = len ? ~0u << (32 - len) : 0;
    return (ip & mask) == net;
}

bool spec_range_ok(uint32_t net, int len)
{
    if (len < 15 || !inside(net, 0xC6120000u, 15)) return false;
    /* the client link 198.19.255.0/30 must stay outside the device range (and
     * a range smaller than the link must not lie inside it) */
    return !inside(TB_LINK_NET, net, len) && !inside(net, TB_LINK_NET, 30);
}

/* Splits buf into words in place; -1 with a message in *why. */
static int split(struct line *L, const char **why)
{
    char *p = L->buf, *out;
    L->n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#') return 0;
        if (L->n == MAX_WORDS) return *why = "too many words", -1;
        struct word *w = &L->w[L->n++];
        w->key = NULL;
        char *eq = NULL;
        for (char *q = p; *q && *q != ' ' && *q != '\t' && *q != '"'; q++)
            if (*q == '=') {
                eq = q;
                break;
            }
        if (eq) {
            *eq = 0;
            w->key = p;
            p = eq + 1;
        }
        w->val = out = p;
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p) return *why = "unterminated quote", -1;
                if (*p == '"') break;
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
                *out++ = *p;
            }
            p++;
            if (*p && *p != ' ' && *p != '\t') return *why = "text after a closing quote", -1;
        } else {
            while (*p && *p != ' ' && *p != '\t') {
                if (*p == '"') return *why = "a quote inside a word", -1;
                *out++ = *p++;
            }
        }
        char *end = p;
        if (*p) p++;
        *out = 0;
        (void)end;
    }
}

static int copy(char *dst, size_t cap, const char *src, const char *what, const char **why)
{
    static char msg[80];
    if (strlen(src) >= cap) {
        snprintf(msg, sizeof msg, "%s longer than %zu characters", what, cap - 1);
        return *why = msg, -1;
    }
    strcpy(dst, src);
    return 0;
}

/* "user:pass[,user:pass]"; users and passwords are words of printable ASCII
 * without ',' (and ':' in the user); passwords may be empty.  A userdb reads
 * "*", "!..." and "/.../" specially, so such passwords are refused. */
static int parse_accept(struct tb_service *sv, char *v, const char **why)
{
    sv->nacc = 0;
    for (char *save, *pair = strtok_r(v, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(pair, ':');
        if (!colon || colon == pair) return *why = "accept= wants user:password pairs", -1;
        if (sv->nacc == TB_MAX_ACCEPT) return *why = "more than 8 accepted pairs", -1;
        *colon = 0;
        struct tb_cred *c = &sv->acc[sv->nacc++];
        if (copy(c->user, sizeof c->user, pair, "user name", why) < 0 ||
            copy(c->pass, sizeof c->pass, colon + 1, "password", why) < 0)
            return -1;
        if (!strcmp(c->user, "*") || c->user[0] == '/' || !strcmp(c->pass, "*") ||
            c->pass[0] == '!' || c->pass[0] == '/')
            return *why = "user '*' or '/..', password '*', '!..' or '/..' is not literal", -1;
    }
    if (!sv->nacc) return *why = "accept= is empty", -1;
    return 0;
}

struct ctx {
    struct tb_spec *s;
    struct line *L;
    const char *why;
    int lineno;
    bool have_range;
};

static int want(struct ctx *c, int n, const char *usage)
{
    if (c->L->n < n) return c->why = usage, -1;
    for (int i = 0; i < n; i++)
        if (c->L->w[i].key) return c->why = usage, -1;
    return 0;
}

static int st_range(struct ctx *c)
{
    if (want(c, 2, "usage: range CIDR") < 0) return -1;
    if (c->L->n > 2) return c->why = "range takes one CIDR", -1;
    if (c->have_range) return c->why = "a second range line", -1;
    if (spec_parse_cidr(c->L->w[1].val, &c->s->net, &c->s->len) < 0)
        return c->why = "not a CIDR (a.b.c.d/len, host bits zero)", -1;
    if (!spec_range_ok(c->s->net, c->s->len))
        return c->why = "the range must lie inside 198.18.0.0/15, off 198.19.255.0/30", -1;
    c->have_range = true;
    return 0;
}

static int st_owner(struct ctx *c)
{
    const char *u = "usage: owner PREFIX ASN \"ISP\" ABUSE-EMAIL";
    struct tb_spec *s = c->s;
    if (want(c, 5, u) < 0 || c->L->n > 5) return c->why = u, -1;
    if (s->nowners == TB_MAX_OWNERS) return c->why = "more than 256 owners", -1;
    struct tb_owner *o = &s->owners[s->nowners];
    char *end;
    unsigned long asn = strtoul(c->L->w[2].val, &end, 10);
    if (spec_parse_cidr(c->L->w[1].val, &o->net, &o->len) < 0)
        return c->why = "owner: not a CIDR", -1;
    if (*end || !c->L->w[2].val[0] || asn == 0 || asn > UINT32_MAX)
        return c->why = "owner: ASN is not a number in 1..4294967295", -1;
    o->asn = (uint32_t)asn;
    o->line = c->lineno;
    if (copy(o->isp, sizeof o->isp, c->L->w[3].val, "ISP name", &c->why) < 0 ||
        copy(o->abuse, sizeof o->abuse, c->L->w[4].val, "abuse contact", &c->why) < 0)
        return -1;
    if (!o->isp[0] || !strchr(o->abuse, '@'))
        return c->why = "owner: empty ISP or no '@' in abuse", -1;
    s->nowners++;
    return 0;
}

static int host_word(struct ctx *c, uint32_t *ip)
{
    if (parse_ip(c->L->w[1].val, ip) < 0) return c->why = "not an IPv4 address", -1;
    return 0;
}

static int st_state(struct ctx *c, enum tb_state st)
{
    uint32_t ip;
    if (want(c, 2, st == TB_CLOSED ? "usage: closed IP" : "usage: filtered IP") < 0) return -1;
    if (c->L->n > 2) return c->why = "one address a line", -1;
    if (host_word(c, &ip) < 0) return -1;
    struct tb_host *h = spec_add_host(c->s, ip, st);
    if (!h) return c->why = "too many hosts", -1;
    h->line = c->lineno;
    return 0;
}

static int st_closed(struct ctx *c)
{
    return st_state(c, TB_CLOSED);
}
static int st_filtered(struct ctx *c)
{
    return st_state(c, TB_FILTERED);
}

static int service_opt(struct ctx *c, struct tb_service *sv, struct word *w)
{
    if (!w->key) return c->why = "expected key=value", -1;
    const char *k = w->key;
    if (!strcmp(k, "accept")) return parse_accept(sv, w->val, &c->why);
    if (!strcmp(k, "persona") && sv->proto == TB_TELNET) {
        if (strspn(w->val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                strlen(w->val) ||
            w->val[0] == '.' || w->val[0] == '-')
            return c->why = "persona= is a persona name (letters, digits, '.', '_', '-')", -1;
        return copy(sv->persona, sizeof sv->persona, w->val, "persona", &c->why);
    }
    if (sv->proto == TB_HTTP) {
        if (!strcmp(k, "server"))
            return copy(sv->server, sizeof sv->server, w->val, "server", &c->why);
        if (!strcmp(k, "title")) return copy(sv->title, sizeof sv->title, w->val, "title", &c->why);
        if (!strcmp(k, "realm")) return copy(sv->realm, sizeof sv->realm, w->val, "realm", &c->why);
    }
    static char msg[80];
    snprintf(msg, sizeof msg, "%s lines take no %.20s=", tb_proto_name[sv->proto], k);
    return c->why = msg, -1;
}

static int st_service(struct ctx *c, enum tb_proto p)
{
    static const char *const u[TB_NPROTO] = {
        "usage: telnet IP PORT persona=NAME accept=USER:PASS[,..]",
        "usage: http IP PORT accept=USER:PASS[,..] server=\"..\" title=\"..\" [realm=\"..\"]",
        "usage: ssh IP PORT accept=USER:PASS[,..]"};
    uint32_t ip;
    char *end;
    if (want(c, 3, u[p]) < 0 || host_word(c, &ip) < 0) return -1;
    long port = strtol(c->L->w[2].val, &end, 10);
    if (*end || port < 1 || port > 65535) return c->why = "port is not a number in 1..65535", -1;
    struct tb_service *sv = spec_add_service(c->s, ip, (uint16_t)port, p);
    if (!sv) return c->why = "too many services", -1;
    sv->line = c->lineno;
    for (int i = 3; i < c->L->n; i++)
        if (service_opt(c, sv, &c->L->w[i]) < 0) return -1;
    if (!sv->nacc) return c->why = "no accept=USER:PASS", -1;
    if (p == TB_TELNET && !sv->persona[0]) return c->why = "telnet needs persona=NAME", -1;
    if (p == TB_HTTP && (!sv->server[0] || !sv->title[0]))
        return c->why = "http needs server=\"..\" and title=\"..\"", -1;
    for (int i = 0; p == TB_SSH && i < sv->nacc; i++) {
        if (!sv->acc[i].pass[0]) return c->why = "ssh accounts need a password", -1;
        for (int k = 0; k < i; k++)
            if (!strcmp(sv->acc[k].user, sv->acc[i].user))
                return c->why = "ssh: one password per user name", -1;
    }
    if (p == TB_HTTP && !sv->realm[0]) snprintf(sv->realm, sizeof sv->realm, "%.64s", sv->title);
    return 0;
}

static int st_telnet(struct ctx *c)
{
    return st_service(c, TB_TELNET);
}
static int st_http(struct ctx *c)
{
    return st_service(c, TB_HTTP);
}
static int st_ssh(struct ctx *c)
{
    return st_service(c, TB_SSH);
}

/* The statements: to add one, a handler above and a row here. */
static const struct statement {
    const char *word;
    int (*fn)(struct ctx *);
} statements[] = {
    {"range", st_range}, {"owner", st_owner},   {"telnet", st_telnet},     {"http", st_http},
    {"ssh", st_ssh},     {"closed", st_closed}, {"filtered", st_filtered},
};

static bool printable(const char *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)l[i] < 0x20 || (unsigned char)l[i] > 0x7e) {
            if (l[i] != '\t') return false;
        }
    return true;
}

static int one_line(struct ctx *c, const char *l, size_t n)
{
    if (n > MAX_LINE) return c->why = "line longer than 4096 bytes", -1;
    if (!printable(l, n)) return c->why = "a control or non-ASCII character", -1;
    memcpy(c->L->buf, l, n);
    c->L->buf[n] = 0;
    if (split(c->L, &c->why) < 0) return -1;
    if (!c->L->n) return 0;
    if (c->L->w[0].key) return c->why = "a line starts with a keyword", -1;
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++)
        if (!strcmp(c->L->w[0].val, statements[i].word)) return statements[i].fn(c);
    static char msg[64];
    snprintf(msg, sizeof msg, "unknown statement '%.20s'", c->L->w[0].val);
    return c->why = msg, -1;
}

struct tb_spec *spec_parse(const char *text, size_t len, const char *name)
{
    struct tb_spec *s = spec_new();
    struct line *L = malloc(sizeof *L);
    if (!s || !L) {
        free(L);
        spec_free(s);
        err_set(-ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    struct ctx c = {.s = s, .L = L};
    size_t pos = 0;
    int lineno = 0;
    const char *l;
    size_t n;
    while (text_line(text, len, &pos, &lineno, &l, &n) && ((c.lineno = lineno), 1))
        if (one_line(&c, l, n) < 0) {
            err_set(-EINVAL, "%s:%d: %s", name, lineno, c.why);
            free(L);
            spec_free(s);
            return NULL;
        }
    free(L);
    if (!c.have_range) {
        err_set(-EINVAL, "%s: no range line", name);
        spec_free(s);
        return NULL;
    }
    if (spec_finish(s, name) < 0) {
        spec_free(s);
        return NULL;
    }
    return s;
}

struct tb_spec *spec_load(const char *path)
{
    size_t len;
    char *text = text_load(path, TB_MAX_SPEC, &len);
    if (!text) return NULL;
    struct tb_spec *s = spec_parse(text, len, path);
    free(text);
    return s;
}
