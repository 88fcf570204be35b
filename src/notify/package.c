/* package — one owner's notice files (see package.h). */
#include "package.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const note_kind_names[NOTE_KINDS] = {
    [NOTE_VULNERABLE] = "vulnerable",
    [NOTE_NOT_RETESTED] = "not-retested",
    [NOTE_INFECTED] = "infected",
    [NOTE_FIXED] = "fixed",
};

const char *const package_placeholders[] = {
    "owner",           "asn",           "abuse",         "round",          "previous_round",
    "date",            "sender",        "contact",       "method",         "window",
    "vulnerable_count", "infected_count", "fixed_count",  "vulnerable_list", "infected_list",
    "fixed_list",
};
const size_t package_n_placeholders = sizeof package_placeholders / sizeof package_placeholders[0];

static const char *iso(int64_t us, char *buf)
{
    return us > 0 ? cli_iso(us / 1000000, buf) : strcpy(buf, "-");
}

/* A list of the group's notes of the given kinds, one line each, terminal-safe. */
static char *list(const struct owner_group *g, unsigned kinds)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct note *x = &g->v[i];
        if (!(kinds & (1u << x->kind))) continue;
        char a[24], b[24], dev[400];
        esc_term(x->device, dev, sizeof dev);
        n++;
        if (x->kind == NOTE_INFECTED)
            fprintf(f, "  - %s  %s, %s .. %s%s%.0f%s\n", x->ip, x->why, iso(x->first_us, a),
                    iso(x->last_us, b), x->packets ? " (" : "", (double)x->packets,
                    x->packets ? " darknet packets)" : "");
        else
            fprintf(f, "  - %s  port %u/%s  %s%s%s%s  %s%s\n", x->ip, x->port, x->protocol,
                    x->cred_class[0] ? "credential class: " : "", x->cred_class,
                    dev[0] ? "; device: " : "", dev, iso(x->last_us, a),
                    x->kind == NOTE_NOT_RETESTED ? "  (not re-tested in this round)" : "");
    }
    if (!n) fputs("  (none)\n", f);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int write_letters(const char *dir, const struct owner_group *g, const struct package_ctx *c)
{
    char asn[24], counts[3][24], owner[4 * sizeof g->owner], abuse[4 * sizeof g->abuse];
    esc_term(g->owner, owner, sizeof owner); /* an AS name from a feed is data */
    esc_term(g->abuse, abuse, sizeof abuse);
    snprintf(asn, sizeof asn, g->asn ? "AS%u" : "AS unknown", g->asn);
    snprintf(counts[0], sizeof counts[0], "%zu",
             g->counts[NOTE_VULNERABLE] + g->counts[NOTE_NOT_RETESTED]);
    snprintf(counts[1], sizeof counts[1], "%zu", g->counts[NOTE_INFECTED]);
    snprintf(counts[2], sizeof counts[2], "%zu", g->counts[NOTE_FIXED]);
    char *vul = list(g, 1u << NOTE_VULNERABLE | 1u << NOTE_NOT_RETESTED);
    char *inf = list(g, 1u << NOTE_INFECTED), *fix = list(g, 1u << NOTE_FIXED);
    int rc = vul && inf && fix ? 0 : err_set(-ENOMEM, "notify: out of memory");
    const struct letter_var vars[] = {
        {"owner", owner},           {"asn", asn},
        {"abuse", abuse[0] ? abuse : "(abuse contact: see the RIR's WHOIS/RDAP record)"},
        {"round", c->round},        {"previous_round", c->prev && *c->prev ? c->prev : "-"},
        {"date", c->date},          {"sender", c->sender},
        {"contact", c->contact},    {"method", c->method},
        {"window", c->window},      {"vulnerable_count", counts[0]},
        {"infected_count", counts[1]}, {"fixed_count", counts[2]},
        {"vulnerable_list", vul},   {"infected_list", inf},
        {"fixed_list", fix},
    };
    for (size_t i = 0; rc == 0 && i < c->n_langs; i++) {
        if (!c->letters[i]) continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/letter.%s.txt", dir, c->langs[i]);
        FILE *f = fopen(path, "w");
        if (!f) {
            rc = err_set(-errno, "%s: %s", path, strerror(errno));
            break;
        }
        rc = letter_write(c->letters[i], vars, sizeof vars / sizeof vars[0], f);
        if (fclose(f) != 0 && rc == 0) rc = err_set(-EIO, "%s: write error", path);
    }
    free(vul);
    free(inf);
    free(fix);
    return rc;
}

static int write_csv(const char *dir, const struct owner_group *g)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/findings.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return err_set(-errno, "%s: %s", path, strerror(errno));
    fputs("kind,ip,port,protocol,credential_class,device,first_seen,last_seen,packets,seen_by\n", f);
    for (size_t i = 0; i < g->n; i++) {
        const struct note *x = &g->v[i];
        char a[24], b[24], port[8];
        snprintf(port, sizeof port, "%u", x->port);
        const char *cells[] = {note_kind_names[x->kind], x->ip, x->port ? port : "", x->protocol,
                               x->cred_class, x->device, iso(x->first_us, a), iso(x->last_us, b)};
        for (size_t k = 0; k < sizeof cells / sizeof cells[0]; k++) {
            esc_csv(f, cells[k]);
            fputc(',', f);
        }
        fprintf(f, "%llu,", (unsigned long long)x->packets);
        esc_csv(f, x->why);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : err_set(-EIO, "%s: write error", path);
}

/* A jansson string of text that came from outside: valid UTF-8 always. */
static json_t *outside(const char *s)
{
    char *u = esc_utf8(s, strlen(s));
    json_t *v = json_string(u ? u : "");
    free(u);
    return v;
}

json_t *package_json(const struct owner_group *g, const struct package_ctx *c, bool findings)
{
    json_t *o = json_object(), *counts = json_object();
    json_object_set_new(o, "owner", json_string(g->owner));
    json_object_set_new(o, "asn", g->asn ? json_integer(g->asn) : json_null());
    json_object_set_new(o, "abuse", g->abuse[0] ? json_string(g->abuse) : json_null());
    json_object_set_new(o, "package", json_string(g->slug));
    for (int k = 0; k < NOTE_KINDS; k++)
        json_object_set_new(counts, note_kind_names[k], json_integer((json_int_t)g->counts[k]));
    json_object_set_new(o, "counts", counts);
    if (!findings) return o;
    json_object_set_new(o, "round", c->round ? json_string(c->round) : json_null());
    json_object_set_new(o, "previous_round", c->prev && *c->prev ? json_string(c->prev) : json_null());
    json_object_set_new(o, "generated", json_string(c->date));
    json_t *a = json_array();
    for (size_t i = 0; i < g->n; i++) {
        const struct note *x = &g->v[i];
        json_t *f = json_object();
        char t[24];
        json_object_set_new(f, "kind", json_string(note_kind_names[x->kind]));
        json_object_set_new(f, "ip", json_string(x->ip));
        json_object_set_new(f, "port", x->port ? json_integer(x->port) : json_null());
        json_object_set_new(f, "protocol", x->protocol[0] ? json_string(x->protocol) : json_null());
        json_object_set_new(f, "credential_class",
                            x->cred_class[0] ? json_string(x->cred_class) : json_null());
        json_object_set_new(f, "device", x->device[0] ? outside(x->device) : json_null());
        json_object_set_new(f, "seen_by", x->why[0] ? json_string(x->why) : json_null());
        json_object_set_new(f, "first_seen", x->first_us > 0 ? json_string(iso(x->first_us, t)) : json_null());
        json_object_set_new(f, "last_seen", x->last_us > 0 ? json_string(iso(x->last_us, t)) : json_null());
        json_object_set_new(f, "packets", json_integer((json_int_t)x->packets));
        json_array_append_new(a, f);
    }
    json_object_set_new(o, "findings", a);
    return o;
}

int package_write(const char *dir, const struct owner_group *g, const struct package_ctx *c)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%s", dir, g->slug);
    if (mkdir(sub, 0755) < 0 && errno != EEXIST) return err_set(-errno, "%s: %s", sub, strerror(errno));
    int rc = write_csv(sub, g);
    if (rc == 0) {
        json_t *j = package_json(g, c, true);
        char path[4200];
        snprintf(path, sizeof path, "%s/findings.json", sub);
        if (!j || json_dump_file(j, path, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0)
            rc = err_set(-EIO, "%s: cannot write", path);
        json_decref(j);
    }
    if (rc == 0) rc = write_letters(sub, g, c);
    return rc;
}
