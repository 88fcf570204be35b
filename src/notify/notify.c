/* notify — `mamori notify`: the survey's findings, grouped by who can act on
 * them, as one package per ISP.
 *
 * Two kinds of finding, as NICT sends ISPs its darknet's infected hosts
 * beside NOTICE's vulnerable devices: devices that accepted a default
 * credential in a probe round (and, against the round before, those fixed
 * since and those not tested again), and hosts already infected — sources
 * observe saw with a Mirai-family fingerprint and honeypot attackers and
 * loaders — in a time window.  Each address goes to its owner: the longest
 * prefix of --owners (prefix → ISP, ASN, abuse contact), else the AS the ASN
 * data names (abuse then left to the RIR's record), else "unknown".  A
 * package per owner: findings.csv, findings.json and a letter per language
 * from editable templates; index.json and index.csv list them all.  The
 * notices are stored (survey_notices), which is what report's and the
 * dashboard's survey view group by ISP.  Nothing here sends mail: an operator
 * reads the packages and sends them. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "../core/geo.h"
#include "../store/store.h"
#include "../store/survey.h"
#include "owners.h"
#include "package.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_GEO_DIR "node_modules/@ip-location-db"
#define WEEK_US (7 * 86400 * (int64_t)1000000)

struct opts {
    const char *db, *round, *owners, *geo_dir, *out, *templates, *sender, *contact, *format;
    int64_t since, until; /* seconds; -1: default */
    bool no_geo, no_infected, quiet;
};

struct ctx {
    struct owners *owners;
    struct geo *geo;
    struct owner_group *g;
    size_t n, cap;
    size_t *by_owner, *by_slug, hcap; /* see group_of */
};

static void usage(FILE *f)
{
    fputs("usage: mamori notify [--db PATH] [--round NAME] [--owners FILE] [--out DIR]\n"
          "                     [--since TIME] [--until TIME] [--format text|json] [...]\n"
          "\n"
          "Group the survey's findings by owner (ISP) and write one package per owner:\n"
          "devices that accepted a default credential (probe), fixed since the previous\n"
          "round, and hosts already infected (Mirai-fingerprinted darknet sources, honeypot\n"
          "attackers and loaders), as CSV, JSON and a letter in English and Japanese.\n"
          "\n"
          "      --db PATH         database (default var/mamori.db)\n"
          "      --round NAME      probe round to report (default: the newest)\n"
          "      --owners FILE     prefix -> owner CSV: prefix,isp,asn,abuse (longest prefix wins)\n"
          "      --geo-dir DIR     ASN data for addresses --owners does not hold\n"
          "                        (default " DEFAULT_GEO_DIR ")\n"
          "      --no-geo          no ASN lookup\n"
          "      --since TIME      infected hosts seen from TIME (default: 7 days before --until)\n"
          "      --until TIME      ... until TIME (default: the round's end, or now)\n"
          "      --no-infected     vulnerable and fixed devices only\n"
          "      --out DIR         where packages go (default var/notify/ROUND)\n"
          "      --templates DIR   letter.en.txt and letter.ja.txt (default: the shipped ones)\n"
          "      --sender TEXT     who the letters are from (default \"mamori survey\")\n"
          "      --contact TEXT    where owners reply and opt out (default: the round's --contact)\n"
          "  -f, --format FMT      summary on stdout: text (default) or json\n"
          "  -q, --quiet           no summary\n",
          f);
}

/* A round names a directory under var/notify/ and appears in letters: no '/',
 * no control characters, not . or .., and short enough to be read whole. */
static bool round_name_ok(const char *r)
{
    if (!*r || strlen(r) >= 64 || !strcmp(r, ".") || !strcmp(r, "..")) return false;
    for (const unsigned char *p = (const unsigned char *)r; *p; p++)
        if (*p == '/' || *p < 0x20 || *p == 0x7f) return false;
    return true;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"db", required_argument, 0, 'D'},        {"round", required_argument, 0, 'r'},
        {"owners", required_argument, 0, 'O'},    {"geo-dir", required_argument, 0, 'G'},
        {"no-geo", no_argument, 0, 'N'},          {"since", required_argument, 0, 'S'},
        {"until", required_argument, 0, 'U'},     {"no-infected", no_argument, 0, 'I'},
        {"out", required_argument, 0, 'o'},       {"templates", required_argument, 0, 'T'},
        {"sender", required_argument, 0, 's'},    {"contact", required_argument, 0, 'c'},
        {"format", required_argument, 0, 'f'},    {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    *o = (struct opts){.db = "var/mamori.db", .sender = "mamori survey", .format = "text",
                       .since = -1, .until = -1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'D': o->db = optarg; break;
        case 'r': o->round = optarg; break;
        case 'O': o->owners = optarg; break;
        case 'G': o->geo_dir = optarg; break;
        case 'N': o->no_geo = true; break;
        case 'I': o->no_infected = true; break;
        case 'o': o->out = optarg; break;
        case 'T': o->templates = optarg; break;
        case 's': o->sender = optarg; break;
        case 'c': o->contact = optarg; break;
        case 'f': o->format = optarg; break;
        case 'q': o->quiet = true; break;
        case 'S':
        case 'U':
            if (cli_parse_time(optarg, c == 'S' ? &o->since : &o->until) < 0) {
                cli_error("%s: '%s' is not an ISO 8601 UTC time or epoch seconds",
                          c == 'S' ? "--since" : "--until", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (strcmp(o->format, "text") && strcmp(o->format, "json")) {
        cli_error("--format: '%s' is not text or json", o->format);
        return EXIT_USAGE;
    }
    if (o->round && !round_name_ok(o->round)) {
        cli_error("--round: '%s' cannot name a package directory", o->round);
        return EXIT_USAGE;
    }
    return cli_no_operands("notify", argc, argv, optind) ? 0 : EXIT_USAGE;
}

/* A directory name for an owner: lower-case letters, digits and '-', plus its AS. */
static void slug(const char *owner, uint32_t asn, char *out, size_t cap)
{
    size_t o = 0;
    bool dash = false;
    for (const unsigned char *p = (const unsigned char *)owner; *p && o + 1 < cap && o < 48; p++) {
        if (isalnum(*p)) {
            if (dash && o) out[o++] = '-';
            out[o++] = (char)tolower(*p);
            dash = false;
        } else {
            dash = true;
        }
    }
    if (!o) o = (size_t)snprintf(out, cap, "unknown");
    if (asn) snprintf(out + o, cap - o, "-as%u", asn);
    else out[o] = 0;
}

/* src as valid UTF-8 (U+FFFD for what is not: AS names come from a feed), cut
 * at a whole character to fit cap — the form a group is kept and compared in. */
static void clean(char *dst, size_t cap, const char *src)
{
    char *u = esc_utf8(src, strlen(src));
    const char *s = u ? u : "";
    size_t n = 0, len = strlen(s), k;
    uint32_t cp;
    while (n < len && (k = esc_utf8_seq((const unsigned char *)s + n, len - n, &cp)) &&
           n + k < cap)
        n += k;
    memcpy(dst, s, n);
    dst[n] = 0;
    free(u);
}

/* The groups are found by hash — (owner, AS) and slug — so a table of 100k
 * owners costs a probe per finding, not a scan of the groups so far.  The
 * tables hold index + 1 into c->g (0: empty) and are rebuilt when half full. */
static uint64_t hash_str(const char *s, uint64_t h)
{
    h ^= 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return hash_mix64(h);
}

static size_t *slot_owner(const struct ctx *c, const char *owner, uint32_t asn)
{
    size_t m = c->hcap - 1, i = hash_str(owner, asn) & m;
    while (c->by_owner[i] &&
           (c->g[c->by_owner[i] - 1].asn != asn || strcmp(c->g[c->by_owner[i] - 1].owner, owner)))
        i = (i + 1) & m;
    return &c->by_owner[i];
}

static size_t *slot_slug(const struct ctx *c, const char *slug)
{
    size_t m = c->hcap - 1, i = hash_str(slug, 0) & m;
    while (c->by_slug[i] && strcmp(c->g[c->by_slug[i] - 1].slug, slug))
        i = (i + 1) & m;
    return &c->by_slug[i];
}

static int grow_groups(struct ctx *c)
{
    size_t ncap = c->cap ? 2 * c->cap : 16, hcap = 4 * ncap;
    struct owner_group *g = realloc(c->g, ncap * sizeof *g);
    if (!g) return -ENOMEM;
    c->g = g;
    c->cap = ncap;
    size_t *a = calloc(hcap, sizeof *a), *b = calloc(hcap, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return -ENOMEM;
    }
    free(c->by_owner);
    free(c->by_slug);
    c->by_owner = a;
    c->by_slug = b;
    c->hcap = hcap;
    for (size_t i = 0; i < c->n; i++) {
        *slot_owner(c, c->g[i].owner, c->g[i].asn) = i + 1;
        *slot_slug(c, c->g[i].slug) = i + 1;
    }
    return 0;
}

static struct owner_group *group_of(struct ctx *c, const char *owner_in, uint32_t asn,
                                    const char *abuse_in)
{
    char owner[sizeof c->g->owner], abuse[sizeof c->g->abuse];
    clean(owner, sizeof owner, owner_in);
    clean(abuse, sizeof abuse, abuse_in ? abuse_in : "");
    if (c->n == c->cap && grow_groups(c) < 0) return NULL;
    size_t *at = slot_owner(c, owner, asn);
    if (*at) return &c->g[*at - 1];
    struct owner_group *g = &c->g[c->n];
    memset(g, 0, sizeof *g);
    snprintf(g->owner, sizeof g->owner, "%s", owner);
    snprintf(g->abuse, sizeof g->abuse, "%s", abuse);
    g->asn = asn;
    char base[96];
    slug(owner, asn, base, sizeof base);
    snprintf(g->slug, sizeof g->slug, "%s", base);
    for (int k = 2; *slot_slug(c, g->slug); k++) /* two owners of one slug: the later gets a number */
        snprintf(g->slug, sizeof g->slug, "%.80s-%d", base, k);
    *at = ++c->n;
    *slot_slug(c, g->slug) = c->n;
    return g;
}

/* The owner of ip: --owners, else the ASN data, else what observe resolved (hint). */
static struct owner_group *owner_of(struct ctx *c, const char *ip, uint32_t hint_asn,
                                    const char *hint_name)
{
    struct ipaddr a;
    if (ip_parse(ip, &a) < 0) return group_of(c, "unknown", 0, NULL);
    const struct owner *w = c->owners ? owners_lookup(c->owners, &a) : NULL;
    if (w) {
        char name[40];
        if (!w->isp[0]) snprintf(name, sizeof name, w->asn ? "AS%u" : "unknown", w->asn);
        return group_of(c, w->isp[0] ? w->isp : name, w->asn, w->abuse);
    }
    struct geo_info gi = {0};
    if (c->geo) geo_lookup(c->geo, &a, &gi);
    if (!gi.asn) {
        gi.asn = hint_asn;
        gi.as_name = hint_name;
    }
    if (!gi.asn) return group_of(c, "unknown", 0, NULL);
    char name[40];
    snprintf(name, sizeof name, "AS%u", gi.asn);
    return group_of(c, gi.as_name && *gi.as_name ? gi.as_name : name, gi.asn, NULL);
}

static int add_note(struct owner_group *g, const struct note *x)
{
    if (g->n == g->cap) {
        size_t ncap = g->cap ? 2 * g->cap : 32;
        struct note *v = realloc(g->v, ncap * sizeof *v);
        if (!v) return err_set(-ENOMEM, "notify: out of memory");
        g->v = v;
        g->cap = ncap;
    }
    g->v[g->n++] = *x;
    if (strcmp(g->last_ip[x->kind], x->ip)) {
        g->counts[x->kind]++;
        snprintf(g->last_ip[x->kind], sizeof g->last_ip[x->kind], "%s", x->ip);
    }
    return 0;
}

static int collect_findings(struct ctx *c, const struct survey_findings *f)
{
    static const enum note_kind kind_of[] = {[SURVEY_VULNERABLE] = NOTE_VULNERABLE,
                                             [SURVEY_FIXED] = NOTE_FIXED,
                                             [SURVEY_NOT_RETESTED] = NOTE_NOT_RETESTED};
    for (size_t i = 0; i < f->n; i++) {
        const struct survey_finding *x = &f->v[i];
        struct note n = {.kind = kind_of[x->state], .port = x->port, .last_us = x->ts_us};
        snprintf(n.ip, sizeof n.ip, "%s", x->ip);
        snprintf(n.protocol, sizeof n.protocol, "%s", x->protocol);
        snprintf(n.cred_class, sizeof n.cred_class, "%s", x->cred_class);
        snprintf(n.device, sizeof n.device, "%s", x->device);
        struct owner_group *g = owner_of(c, x->ip, 0, NULL);
        if (!g) return err_set(-ENOMEM, "notify: out of memory");
        int rc = add_note(g, &n);
        if (rc < 0) return rc;
    }
    return 0;
}

static int collect_infected(struct ctx *c, const struct survey_infected *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct note x = {.kind = NOTE_INFECTED, .first_us = v[i].first_us,
                         .last_us = v[i].last_us, .packets = v[i].packets};
        snprintf(x.ip, sizeof x.ip, "%s", v[i].ip);
        snprintf(x.why, sizeof x.why, "%s", v[i].why);
        struct owner_group *g = owner_of(c, v[i].ip, v[i].asn, v[i].as_name);
        if (!g) return err_set(-ENOMEM, "notify: out of memory");
        int rc = add_note(g, &x);
        if (rc < 0) return rc;
    }
    return 0;
}

static int load_geo(const struct opts *o, struct geo **out)
{
    *out = NULL;
    if (o->no_geo) return 0;
    const char *dir = o->geo_dir ? o->geo_dir : getenv("MAMORI_GEO_DIR");
    if (!dir) dir = DEFAULT_GEO_DIR;
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (o->geo_dir) return err_set(-errno, "%s: %s", dir, strerror(errno));
        return 0; /* no ASN data: owners come from --owners or stay unknown */
    }
    struct geo *g = geo_new();
    if (!g) return err_set(-ENOMEM, "notify: out of memory");
    if (geo_add_dir(g, dir) < 0) {
        geo_free(g);
        return -EINVAL;
    }
    *out = g;
    return 0;
}

static int load_letters(const struct opts *o, struct letter *l[2], const char *const langs[2])
{
    for (int i = 0; i < 2; i++) {
        char rel[64], path[4200];
        snprintf(rel, sizeof rel, "letter.%s.txt", langs[i]);
        if (o->templates) {
            snprintf(path, sizeof path, "%s/%s", o->templates, rel);
            if (access(path, R_OK) < 0) continue; /* a site may keep one language */
        } else {
            char r2[80];
            snprintf(r2, sizeof r2, "notify/%s", rel);
            if (!cli_data_file(r2, path, sizeof path))
                return err_set(-ENOENT, "notify/%s: no data directory has it (set MAMORI_DATA)", rel);
        }
        if (!(l[i] = letter_load(path, package_placeholders, package_n_placeholders))) return -EINVAL;
    }
    if (!l[0] && !l[1])
        return err_set(-ENOENT, "%s: holds neither letter.en.txt nor letter.ja.txt", o->templates);
    return 0;
}

static int mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) return err_set(-errno, "%s: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) return err_set(-errno, "%s: %s", buf, strerror(errno));
    return 0;
}

static int group_cmp(const void *a, const void *b)
{
    const struct owner_group *x = a, *y = b;
    return strcmp(x->slug, y->slug);
}

/* The notices to store: one per note, with its owner. */
static int store_notices(struct store *s, const char *round, const struct ctx *c)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < c->n; i++)
        total += c->g[i].n;
    struct survey_notice *v = calloc(total ? total : 1, sizeof *v);
    if (!v) return err_set(-ENOMEM, "notify: out of memory");
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->g[i].n; j++) {
            const struct note *x = &c->g[i].v[j];
            v[k++] = (struct survey_notice){.round = round, .kind = note_kind_names[x->kind],
                                            .ip = x->ip, .port = x->port,
                                            .protocol = x->protocol[0] ? x->protocol : NULL,
                                            .owner = c->g[i].owner, .asn = c->g[i].asn,
                                            .abuse = c->g[i].abuse[0] ? c->g[i].abuse : NULL,
                                            .detail = x->cred_class[0] ? x->cred_class : x->why,
                                            .ts_us = x->last_us};
        }
    int rc = survey_store_notices(s, round, v, total);
    free(v);
    return rc;
}

static json_t *index_json(const struct ctx *c, const struct package_ctx *p, const char *out)
{
    json_t *o = json_object(), *a = json_array();
    json_object_set_new(o, "round", p->round ? json_string(p->round) : json_null());
    json_object_set_new(o, "previous_round", p->prev && *p->prev ? json_string(p->prev) : json_null());
    json_object_set_new(o, "generated", json_string(p->date));
    json_object_set_new(o, "infected_window", json_string(p->window));
    json_object_set_new(o, "out", json_string(out));
    for (size_t i = 0; i < c->n; i++)
        json_array_append_new(a, package_json(&c->g[i], p, false));
    json_object_set_new(o, "owners", a);
    return o;
}

/* index.csv: one row per owner, for the spreadsheet the letters are sent from. */
static int write_index_csv(const struct ctx *c, const char *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.csv", out);
    FILE *f = fopen(path, "w");
    if (!f) return err_set(-errno, "%s: %s", path, strerror(errno));
    fputs("owner,asn,abuse,package,vulnerable,not_retested,infected,fixed\n", f);
    for (size_t i = 0; i < c->n; i++) {
        const struct owner_group *g = &c->g[i];
        esc_csv(f, g->owner);
        fprintf(f, g->asn ? ",%u," : ",,", g->asn);
        esc_csv(f, g->abuse);
        fputc(',', f);
        esc_csv(f, g->slug);
        fprintf(f, ",%zu,%zu,%zu,%zu\n", g->counts[NOTE_VULNERABLE], g->counts[NOTE_NOT_RETESTED],
                g->counts[NOTE_INFECTED], g->counts[NOTE_FIXED]);
    }
    return fclose(f) == 0 ? 0 : err_set(-EIO, "%s: write error", path);
}

static size_t to_fix(const struct owner_group *g)
{
    return g->counts[NOTE_VULNERABLE] + g->counts[NOTE_NOT_RETESTED] + g->counts[NOTE_FIXED];
}

static int by_findings(const void *a, const void *b)
{
    const struct owner_group *x = *(const struct owner_group *const *)a,
                             *y = *(const struct owner_group *const *)b;
    if (to_fix(x) != to_fix(y)) return to_fix(x) < to_fix(y) ? 1 : -1;
    if (x->counts[NOTE_INFECTED] != y->counts[NOTE_INFECTED])
        return x->counts[NOTE_INFECTED] < y->counts[NOTE_INFECTED] ? 1 : -1;
    return strcmp(x->slug, y->slug);
}

static void print_text(const struct ctx *c, const struct package_ctx *p, const char *out)
{
    size_t t[NOTE_KINDS] = {0};
    for (size_t i = 0; i < c->n; i++)
        for (int k = 0; k < NOTE_KINDS; k++)
            t[k] += c->g[i].counts[k];
    printf("notify: round %s (previous %s): %zu vulnerable, %zu not re-tested, %zu fixed, "
           "%zu infected, %zu owners -> %s/\n",
           p->round ? p->round : "-", p->prev && *p->prev ? p->prev : "-", t[NOTE_VULNERABLE],
           t[NOTE_NOT_RETESTED], t[NOTE_FIXED], t[NOTE_INFECTED], c->n, out);
    printf("%-32s %-9s %-28s %6s %6s %6s %s\n", "owner", "asn", "abuse", "vuln", "infect", "fixed",
           "package");
    /* people read the owners with devices to fix first: by vulnerable + fixed, then infected */
    const struct owner_group **order = malloc((c->n ? c->n : 1) * sizeof *order);
    for (size_t i = 0; order && i < c->n; i++)
        order[i] = &c->g[i];
    if (order && c->n) qsort(order, c->n, sizeof *order, by_findings);
    for (size_t i = 0; i < c->n; i++) {
        const struct owner_group *g = order ? order[i] : &c->g[i];
        char name[200], abuse[200], asn[16];
        esc_term(g->owner, name, sizeof name);
        esc_term(g->abuse, abuse, sizeof abuse);
        snprintf(asn, sizeof asn, g->asn ? "AS%u" : "-", g->asn);
        printf("%-32.32s %-9s %-28.28s %6zu %6zu %6zu %s/\n", name, asn, abuse[0] ? abuse : "-",
               g->counts[NOTE_VULNERABLE] + g->counts[NOTE_NOT_RETESTED], g->counts[NOTE_INFECTED],
               g->counts[NOTE_FIXED], g->slug);
    }
    free(order);
}

/* Which round, its metadata and the window for infected hosts. */
static int plan(struct store *s, const struct opts *o, char *round, size_t cap,
                struct survey_round_info *ri, int64_t *since_us, int64_t *until_us)
{
    int rc = 0;
    round[0] = 0;
    if (o->round) {
        snprintf(round, cap, "%s", o->round);
    } else if ((rc = survey_latest_round(s, round, cap)) < 0) {
        return rc;
    } else if (rc > 0 && !round_name_ok(round)) { /* the database is not only probe's */
        char e[4 * 64];
        return err_set(-EINVAL, "%s: the newest probe round '%s' cannot name a package directory",
                       o->db, esc_term(round, e, sizeof e));
    }
    if (round[0] && (rc = survey_read_round(s, round, "probe", ri)) <= 0)
        return rc < 0 ? rc : err_set(-ENOENT, "%s: no probe round '%s' (mamori probe --round)", o->db, round);
    int64_t end = round[0] ? (ri->ended_us ? ri->ended_us : ri->started_us) : (int64_t)time(NULL) * 1000000;
    *until_us = o->until >= 0 ? o->until * 1000000 : end;
    *since_us = o->since >= 0 ? o->since * 1000000 : *until_us - WEEK_US;
    if (*since_us >= *until_us)
        return err_set(-EINVAL, "--since must be before --until");
    return 0;
}

static int run(const struct opts *o, struct store *s, struct ctx *c)
{
    char round[64], out[4096], date[24], a[24], b[24], window[64], method[600];
    struct survey_round_info ri = {0};
    int64_t since_us, until_us;
    int rc = plan(s, o, round, sizeof round, &ri, &since_us, &until_us);
    if (rc < 0) return rc;
    struct survey_findings f = {0};
    if (round[0] && (rc = survey_read_findings(s, round, &f)) < 0) return rc;
    if (rc == 0) rc = collect_findings(c, &f);
    struct survey_infected *inf = NULL;
    size_t n_inf = 0;
    if (rc == 0 && !o->no_infected && (rc = survey_read_infected(s, since_us, until_us, &inf, &n_inf)) == 0)
        rc = collect_infected(c, inf, n_inf);
    free(inf);
    snprintf(out, sizeof out, "%s", o->out ? o->out : "");
    if (!o->out) snprintf(out, sizeof out, "var/notify/%s", round[0] ? round : "infected");
    cli_iso(time(NULL), date);
    snprintf(window, sizeof window, "%s .. %s", cli_iso(since_us / 1000000, a), cli_iso(until_us / 1000000, b));
    snprintf(method, sizeof method,
             "login attempts over telnet, SSH and HTTP with a dictionary of %llu default"
             " ID/password pairs, from %s to %s (round %s)",
             (unsigned long long)ri.dict_size, round[0] ? cli_iso(ri.started_us / 1000000, a) : "-",
             round[0] && ri.ended_us ? cli_iso(ri.ended_us / 1000000, b) : "-", round[0] ? round : "-");
    static const char *const langs[2] = {"en", "ja"};
    struct letter *letters[2] = {NULL, NULL};
    if (rc == 0) rc = load_letters(o, letters, langs);
    struct package_ctx p = {.round = round[0] ? round : NULL, .prev = f.prev, .sender = o->sender,
                            .contact = o->contact ? o->contact : ri.contact[0] ? ri.contact : "-",
                            .method = method, .window = window, .date = date,
                            .letters = {letters[0], letters[1]}, .langs = langs, .n_langs = 2};
    if (c->n) qsort(c->g, c->n, sizeof *c->g, group_cmp);
    if (rc == 0) rc = mkdirs(out);
    for (size_t i = 0; rc == 0 && i < c->n; i++)
        rc = package_write(out, &c->g[i], &p);
    json_t *idx = rc == 0 ? index_json(c, &p, out) : NULL;
    if (rc == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/index.json", out);
        if (json_dump_file(idx, path, JSON_INDENT(2)) != 0) rc = err_set(-EIO, "%s: cannot write", path);
    }
    if (rc == 0) rc = write_index_csv(c, out);
    if (rc == 0 && round[0]) rc = store_notices(s, round, c);
    if (rc == 0 && !o->quiet) {
        if (!strcmp(o->format, "json")) {
            json_dumpf(idx, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            print_text(c, &p, out);
        }
    }
    json_decref(idx);
    letter_free(letters[0]);
    letter_free(letters[1]);
    survey_findings_free(&f);
    return rc;
}

int cmd_notify(int argc, char **argv)
{
    struct opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    struct ctx c = {0};
    if (o.owners && !(c.owners = owners_load(o.owners))) {
        cli_error("%s", err_msg());
        return EXIT_FAILURE;
    }
    if (load_geo(&o, &c.geo) < 0) {
        cli_error("%s", err_msg());
        owners_free(c.owners);
        return EXIT_FAILURE;
    }
    struct store *s = NULL;
    if (access(o.db, F_OK) < 0)
        rc = err_set(-errno, "%s: %s (observe, lure, scan or probe make it)", o.db, strerror(errno));
    else
        rc = (s = store_open(o.db, true)) ? run(&o, s, &c) : -EIO;
    if (rc < 0) cli_error("%s", err_msg());
    store_close(s);
    for (size_t i = 0; i < c.n; i++)
        free(c.g[i].v);
    free(c.g);
    free(c.by_owner);
    free(c.by_slug);
    geo_free(c.geo);
    owners_free(c.owners);
    return rc < 0 ? EXIT_FAILURE : 0;
}
