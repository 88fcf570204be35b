/* gen — `--devices N --seed S`: a spec drawn deterministically from a seed.
 *
 * The mix is what a survey meets (and what each survey test needs a case of):
 * telnet devices that accept one of Mirai's 62 defaults (data/credentials/
 * mirai.tsv, weighted as in the list), telnet devices with other published
 * defaults that are not in Mirai's list (iot-exploits.md part B), telnet with
 * a strong unique password, HTTP admin pages with their model's default pair
 * and with a changed one, SSH with a default and a strong password, hosts up
 * with every port closed, and filtered addresses; spread over four owners
 * (the range cut into quarters, documentation ASNs 64500-64503).  The same N,
 * seed and range always give the same spec (splitmix64; no other input). */
#include "gen.h"

#include "../core/cli.h"
#include "../core/err.h"
#include "../core/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t below(struct rng *r, uint32_t n)
{
    return (uint32_t)(next(r) % n);
}

static void strong(struct rng *r, char *out, size_t len)
{
    static const char al[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    for (size_t i = 0; i < len; i++)
        out[i] = al[below(r, sizeof al - 1)];
    out[len] = 0;
}

/* Published defaults that Mirai's list lacks (iot-exploits.md, part B). */
static const struct tb_cred other_weak[] = {
    {"root", "cat1029"},      {"root", "h2014071"},  {"root", "antslq"},
    {"root", "tl789"},        {"root", "fxjvt1805"}, {"ZXDSL", "ZXDSL"},
    {"ADSL", "expert03"},     {"root", "ikwd"},      {"telecomadmin", "admintelecom"},
    {"admin", "CenturyL1nk"}, {"admin", "11111111"}, {"root", "camera"},
};

/* HTTP admin pages of real device families: Server header, <title>, realm,
 * factory pair. */
static const struct http_model {
    const char *server, *title, *realm;
    struct tb_cred def;
} models[] = {
    {"GoAhead-Webs", "NETSURVEILLANCE WEB", "GoAhead", {"admin", ""}},
    {"uc-httpd 1.0.0", "WEB SERVICE", "DVR", {"admin", "admin"}},
    {"lighttpd/1.4.35", "RT-N12", "RT-N12", {"admin", "admin"}},
    {"Boa/0.94.14rc21", "NETGEAR DGN1000", "NETGEAR DGN1000", {"admin", "password"}},
    {"mini_httpd/1.19 19dec2003",
     "TL-WR740N",
     "TP-LINK Wireless N Router WR740N",
     {"admin", "admin"}},
    {"Hikvision-Webs", "Hikvision Web Components", "DS-2CD2032-I", {"admin", "12345"}},
    {"thttpd/2.25b 29dec2003", "AXIS 2100 Network Camera", "AXIS_00408C1A2B3C", {"root", "pass"}},
    {"RomPager/4.07 UPnP/1.0", "ZyXEL P-660HW", "P-660HW", {"admin", "1234"}},
};
#define NMODELS (sizeof models / sizeof models[0])

static const char *const personas[] = {"dvr-armv7", "router-mips", "camera-arm"};

static const struct tb_owner owners[4] = {
    {0, 0, 64500, "Example Cable", "abuse@cable.example.net", 0},
    {0, 0, 64501, "Example Fiber", "abuse@fiber.example.net", 0},
    {0, 0, 64502, "Example Mobile", "abuse@mobile.example.org", 0},
    {0, 0, 64503, "Example DSL", "abuse@dsl.example.com", 0},
};

struct mirai {
    struct tb_cred c[64];
    unsigned w[64], total;
    int n;
};

static int load_mirai(struct mirai *m)
{
    char path[4096];
    if (!cli_data_file("credentials/mirai.tsv", path, sizeof path))
        return err_set(-ENOENT,
                       "credentials/mirai.tsv: not in any data directory (set MAMORI_DATA)");
    size_t len, pos = 0;
    char *text = text_load(path, 1 << 20, &len);
    if (!text) return -1;
    const char *l;
    size_t n;
    int lineno = 0;
    memset(m, 0, sizeof *m);
    while (text_line(text, len, &pos, &lineno, &l, &n) && m->n < 64) {
        char buf[256], *f[3];
        if (!n || *l == '#' || n >= sizeof buf) continue;
        memcpy(buf, l, n);
        buf[n] = 0;
        int k = 0;
        for (char *t = buf; t && k < 3;
             k++) { /* tabs split exactly: an empty password is a field */
            f[k] = t;
            if ((t = strchr(t, '\t'))) *t++ = 0;
        }
        if (k < 3 || !f[0][0]) continue;
        snprintf(m->c[m->n].user, sizeof m->c[0].user, "%s", f[0]);
        snprintf(m->c[m->n].pass, sizeof m->c[0].pass, "%s", f[1]);
        m->w[m->n] = (unsigned)atoi(f[2]) + 1;
        m->total += m->w[m->n++];
    }
    free(text);
    return m->n ? 0 : err_set(-EINVAL, "%s: no credentials", path);
}

static const struct tb_cred *pick_mirai(const struct mirai *m, struct rng *r)
{
    unsigned x = below(r, m->total);
    for (int i = 0; i < m->n; i++) {
        if (x < m->w[i]) return &m->c[i];
        x -= m->w[i];
    }
    return &m->c[0];
}

/* A default pair belongs to a device family: the persona follows the pair
 * (fewer honeypot groups, and realistic: one firmware, one default). */
static const char *family(const struct tb_cred *c)
{
    uint32_t h = 2166136261u;
    for (const char *p = c->user; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = c->pass; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return personas[h % 3];
}

static void accept1(struct tb_service *v, const struct tb_cred *c)
{
    v->acc[0] = *c;
    v->nacc = 1;
}

static int add_telnet(struct tb_spec *s, uint32_t ip, uint16_t port, const char *persona,
                      const struct tb_cred *c)
{
    struct tb_service *v = spec_add_service(s, ip, port, TB_TELNET);
    if (!v) return err_set(-E2BIG, "too many services");
    snprintf(v->persona, sizeof v->persona, "%s", persona);
    accept1(v, c);
    return 0;
}

static int add_http(struct tb_spec *s, uint32_t ip, uint16_t port, const struct http_model *m,
                    const struct tb_cred *c)
{
    struct tb_service *v = spec_add_service(s, ip, port, TB_HTTP);
    if (!v) return err_set(-E2BIG, "too many services");
    snprintf(v->server, sizeof v->server, "%s", m->server);
    snprintf(v->title, sizeof v->title, "%s", m->title);
    snprintf(v->realm, sizeof v->realm, "%s", m->realm);
    accept1(v, c);
    return 0;
}

/* One device at ip, of the class the roll picks. */
static int device(struct tb_spec *s, uint32_t ip, struct rng *r, const struct mirai *m, bool ssh)
{
    unsigned roll = below(r, 100);
    struct tb_cred c;
    const char *persona = personas[below(r, 3)];
    const struct http_model *hm = &models[below(r, NMODELS)];
    if (roll < 30) { /* Mirai default; some also on 2323 and with a web page */
        c = *pick_mirai(m, r);
        int rc = add_telnet(s, ip, 23, family(&c), &c);
        if (!rc && below(r, 4) == 0) rc = add_telnet(s, ip, 2323, family(&c), &c);
        if (!rc && below(r, 5) == 0) rc = add_http(s, ip, 80, hm, &hm->def);
        return rc;
    }
    if (roll < 40) {
        c = other_weak[below(r, sizeof other_weak / sizeof other_weak[0])];
        return add_telnet(s, ip, below(r, 3) ? 23 : 2323, family(&c), &c);
    }
    if (roll < 48) {
        snprintf(c.user, sizeof c.user, "%s", below(r, 2) ? "root" : "admin");
        strong(r, c.pass, 16);
        return add_telnet(s, ip, 23, persona, &c);
    }
    if (roll < 60) return add_http(s, ip, below(r, 4) ? 80 : 8080, hm, &hm->def);
    if (roll < 68 || (!ssh && roll < 76)) {
        c = hm->def;
        strong(r, c.pass, 16);
        return add_http(s, ip, 80, hm, &c);
    }
    if (roll < 76) {
        struct tb_service *v = spec_add_service(s, ip, 22, TB_SSH);
        if (!v) return err_set(-E2BIG, "too many services");
        c = below(r, 2) ? *pick_mirai(m, r) : (struct tb_cred){"root", ""};
        if (!c.pass[0]) strong(r, c.pass, 16); /* dropbear refuses empty passwords */
        accept1(v, &c);
        return 0;
    }
    return spec_add_host(s, ip, roll < 88 ? TB_CLOSED : TB_FILTERED)
               ? 0
               : err_set(-E2BIG, "too many hosts");
}

struct tb_spec *gen_spec(uint32_t net, int len, unsigned n, uint64_t seed, bool ssh)
{
    uint64_t size = len ? UINT64_C(1) << (32 - len) : 0;
    if (size < 4 || n > size - 2) {
        err_set(-EINVAL, "--devices %u: the range holds at most %llu devices", n,
                (unsigned long long)(size >= 2 ? size - 2 : 0));
        return NULL;
    }
    struct mirai m;
    struct tb_spec *s = spec_new();
    uint8_t *used = calloc((size_t)(size / 8 + 1), 1);
    if (!s || !used || load_mirai(&m) < 0) {
        if (!s || !used) err_set(-ENOMEM, "out of memory");
        goto fail;
    }
    s->net = net;
    s->len = len;
    int q = len <= 30 ? 2 : 0; /* quarters when the range is big enough */
    for (int i = 0; i < (1 << q); i++) {
        s->owners[i] = owners[i];
        s->owners[i].len = len + q;
        s->owners[i].net = net + (uint32_t)((size >> q) * (uint64_t)i);
    }
    s->nowners = (size_t)1 << q;
    struct rng r = {seed};
    for (unsigned i = 0; i < n; i++) {
        uint32_t off;
        do
            off = 1 + (uint32_t)(next(&r) % (size - 2));
        while (used[off / 8] & (1u << (off % 8)));
        used[off / 8] |= (uint8_t)(1u << (off % 8));
        if (device(s, net + off, &r, &m, ssh) < 0) goto fail;
    }
    free(used);
    if (spec_finish(s, "--devices") < 0) {
        spec_free(s);
        return NULL;
    }
    return s;
fail:
    free(used);
    spec_free(s);
    return NULL;
}
