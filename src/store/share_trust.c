/* share_trust — what received indicators are worth: the sources' trust, the
 * warninglists, decay and the cross-source view (see share_ingest.h).
 *
 * Trust: the Admiralty grade of a source (its reliability) maps to a
 * confidence on the STIX 2.1 spec's own Admiralty scale (Appendix A,
 * "Confidence scales": 1 confirmed 100, 2 probably true 80, 3 possibly true
 * 60, 4 doubtful 40, 5 improbable 20), the letters taking the numbers' places:
 * A 100, B 80, C 60, D 40, E 20.  F (reliability cannot be judged) is the
 * spec's "6 — cannot be judged", which it leaves without a number; mamori
 * gives it 50, the middle, so a new source neither vouches nor condemns.  A
 * row's confidence is the source's times the object's own (probabilities
 * that both the teller and the tale are right), the source's alone when the
 * object states none.
 *
 * Warninglists are files of prefixes, one list a file, held in core's prefix
 * sets (pfx_set, a linear scan: lists of tens to a few hundred prefixes, and
 * imports of thousands of values, make that cheaper than building a trie). */
#include "../core/addr.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "share.h"
#include "share_ingest.h"
#include "store_int.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- trust ------------------------------------------------------------------------------------ */

static const struct {
    char grade;
    int confidence;
} admiralty[] = {{'A', 100}, {'B', 80}, {'C', 60}, {'D', 40}, {'E', 20}, {'F', 50}};

int share_trust_confidence(const char *grade)
{
    if (grade && grade[0] && !grade[1])
        for (size_t i = 0; i < sizeof admiralty / sizeof *admiralty; i++)
            if ((grade[0] & ~32) == admiralty[i].grade) return admiralty[i].confidence;
    return err_set(-EINVAL, "reliability '%s': not an Admiralty grade A..F", grade ? grade : "");
}

int share_trust_combine(int src, int own)
{
    src = src < 0 ? 0 : src > 100 ? 100 : src;
    if (own < 0) return src;
    own = own > 100 ? 100 : own;
    return (src * own + 50) / 100;
}

static int db_err(sqlite3 *db, const char *what)
{
    return err_set(-EIO, "database: %s: %s", what, sqlite3_errmsg(db));
}

int share_trust_set(struct store *s, const char *name, const char *grade, int64_t now_us)
{
    int conf = share_trust_confidence(grade);
    if (conf < 0) return conf;
    char g[2] = {(char)(grade[0] & ~32), 0};
    struct share_source src = {.name = name, .reliability = g, .confidence = conf};
    int e = share_source_put(s, &src, now_us);
    if (e) return e;
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    /* clang-format off */
    if (sqlite3_prepare_v2(db,
            "UPDATE share_indicators SET confidence = CASE"
            " WHEN json_valid(labels) AND json_extract(labels, '$.own_confidence') IS NOT NULL"
            " THEN (?2 * min(100, max(0, json_extract(labels, '$.own_confidence'))) + 50) / 100"
            " ELSE ?2 END WHERE source = ?1",
            -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare");
    /* clang-format on */
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, conf);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(db, "share trust");
}

json_t *share_sources_list(struct store *s)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st;
    /* clang-format off */
    if (sqlite3_prepare_v2(db,
            "SELECT s.name, s.reliability, s.confidence, s.identity, s.last_us,"
            " (SELECT count(*) FROM share_indicators i WHERE i.source = s.name)"
            " FROM share_sources s ORDER BY s.name",
            -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "prepare"), NULL;
    /* clang-format on */
    json_t *out = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 3);
        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:i, s:o, s:I, s:I}", "name",
                                        (const char *)sqlite3_column_text(st, 0), "reliability",
                                        (const char *)sqlite3_column_text(st, 1), "confidence",
                                        sqlite3_column_int(st, 2), "identity",
                                        id ? json_string(id) : json_null(), "last_us",
                                        (json_int_t)sqlite3_column_int64(st, 4), "rows",
                                        (json_int_t)sqlite3_column_int64(st, 5)));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(out);
        return db_err(db, "share sources"), NULL;
    }
    return out;
}

/* --- warninglists ----------------------------------------------------------------------------- */

struct warn_list {
    char name[64];
    struct pfx_set set;
};

struct share_warn {
    struct warn_list *v;
    size_t n;
};

void share_warn_free(struct share_warn *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++)
        pfx_set_free(&w->v[i].set);
    free(w->v);
    free(w);
}

size_t share_warn_count(const struct share_warn *w)
{
    return w ? w->n : 0;
}

/* One list file: "# name: X" in its header names it (else the file name); then
 * one prefix a line, '#' comments. */
static int load_list(const char *path, const char *fname, struct warn_list *l)
{
    FILE *f = fopen(path, "r");
    if (!f) return err_set(-errno, "%s: %s", path, strerror(errno));
    snprintf(l->name, sizeof l->name, "%.*s", (int)strcspn(fname, "."), fname);
    char line[256];
    int lineno = 0, e = 0;
    while (!e && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strncmp(line, "# name:", 7)) {
            const char *v = line + 7 + strspn(line + 7, " \t");
            snprintf(l->name, sizeof l->name, "%.*s", (int)strcspn(v, " \t\r\n"), v);
        }
        line[strcspn(line, "#")] = 0;
        char *t = line + strspn(line, " \t\r\n");
        t[strcspn(t, " \t\r\n")] = 0;
        if (!*t) continue;
        struct pfx p;
        if (pfx_parse(t, &p) || pfx_set_add(&l->set, &p)) {
            char why[512];
            snprintf(why, sizeof why, "%s", err_msg());
            e = err_set(-EINVAL, "%s:%d: %s", path, lineno, why);
        }
    }
    fclose(f);
    return e;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct share_warn *share_warn_load(const char *dir)
{
    char shipped[4096];
    if (!dir) {
        if (!cli_data_file("share/special-iana.txt", shipped, sizeof shipped))
            return err_set(-ENOENT, "warninglists: the shipped data/share is not found"), NULL;
        *strrchr(shipped, '/') = 0;
        dir = shipped;
    }
    DIR *d = opendir(dir);
    if (!d) return err_set(-errno, "warninglists: %s: %s", dir, strerror(errno)), NULL;
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < sizeof names / sizeof *names) {
        size_t len = strlen(de->d_name);
        if (len > 4 && !strcmp(de->d_name + len - 4, ".txt") && de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    struct share_warn *w = calloc(1, sizeof *w);
    if (w) w->v = calloc(n ? n : 1, sizeof *w->v);
    int e = w && w->v ? 0 : err_set(-ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i] ? names[i] : "");
        if (!e && !names[i]) e = err_set(-ENOMEM, "out of memory");
        if (!e && !(e = load_list(path, names[i], &w->v[w->n])))
            w->n++;
        else if (w && w->v)
            pfx_set_free(&w->v[w->n].set);
        free(names[i]);
    }
    if (e) {
        share_warn_free(w);
        return NULL;
    }
    return w;
}

const char *share_warn_match(const struct share_warn *w, const char *kind, const char *value)
{
    if (!w || (strcmp(kind, "ipv4-addr") && strcmp(kind, "ipv6-addr"))) return NULL;
    struct pfx p;
    if (pfx_parse(value, &p)) return NULL;
    for (size_t i = 0; i < w->n; i++)
        for (size_t j = 0; j < w->v[i].set.n; j++) {
            const struct pfx *q = &w->v[i].set.v[j];
            /* a prefix indicator is dropped only when the list holds all of it */
            if (q->len <= p.len && pfx_contains(q, &p.net)) return w->v[i].name;
        }
    return NULL;
}

/* --- decay ------------------------------------------------------------------------------------ */

struct decay_row {
    char kind[32];
    double tau_s, delta;
};

struct share_decay {
    struct decay_row v[32];
    size_t n;
};

struct share_decay *share_decay_load(const char *path)
{
    char shipped[4096];
    if (!path) {
        if (!cli_data_file("share/decay.tsv", shipped, sizeof shipped))
            return err_set(-ENOENT, "decay: the shipped data/share/decay.tsv is not found"), NULL;
        path = shipped;
    }
    FILE *f = fopen(path, "r");
    if (!f) return err_set(-errno, "decay: %s: %s", path, strerror(errno)), NULL;
    struct share_decay *d = calloc(1, sizeof *d);
    char line[256];
    int lineno = 0, e = d ? 0 : err_set(-ENOMEM, "out of memory");
    while (!e && fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == 0) continue;
        struct decay_row r;
        double days;
        if (sscanf(line, "%31s %lf %lf", r.kind, &days, &r.delta) != 3 || !(days > 0) ||
            !(r.delta > 0) || d->n == sizeof d->v / sizeof *d->v)
            e = err_set(-EINVAL, "%s:%d: want KIND TAU_DAYS DELTA (both > 0)", path, lineno);
        r.tau_s = days * 86400;
        if (!e) d->v[d->n++] = r;
    }
    fclose(f);
    if (e) {
        free(d);
        return NULL;
    }
    return d;
}

void share_decay_free(struct share_decay *d)
{
    free(d);
}

double share_decay_score(double base, double t_s, double tau_s, double delta)
{
    if (t_s <= 0) return base;
    if (t_s >= tau_s) return 0;
    return base * (1 - pow(t_s / tau_s, 1 / delta));
}

double share_score(const struct share_decay *d, const struct share_ind *row, int64_t now_us)
{
    const struct decay_row *r = NULL;
    for (size_t i = 0; d && i < d->n && !r; i++)
        if (!strcmp(d->v[i].kind, row->kind)) r = &d->v[i];
    for (size_t i = 0; d && i < d->n && !r; i++)
        if (!strcmp(d->v[i].kind, "default")) r = &d->v[i];
    if (!r) return row->confidence;
    return share_decay_score(row->confidence, (double)(now_us - row->last_us) / 1e6, r->tau_s,
                             r->delta);
}

/* --- the cross-source view -------------------------------------------------------------------- */

static int by_value(const void *a, const void *b)
{
    const struct share_ind *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    if (!c) c = strcmp(x->value, y->value);
    return c ? c : strcmp(x->source, y->source);
}

static int by_best(const void *a, const void *b)
{
    double x = json_real_value(json_object_get(*(json_t *const *)a, "best_score"));
    double y = json_real_value(json_object_get(*(json_t *const *)b, "best_score"));
    if (x != y) return x < y ? 1 : -1;
    int c = strcmp(json_string_value(json_object_get(*(json_t *const *)a, "kind")),
                   json_string_value(json_object_get(*(json_t *const *)b, "kind")));
    return c ? c
             : strcmp(json_string_value(json_object_get(*(json_t *const *)a, "value")),
                      json_string_value(json_object_get(*(json_t *const *)b, "value")));
}

static double round2(double x)
{
    return round(x * 100) / 100;
}

json_t *share_values_view(struct store *s, const struct share_decay *d, int64_t now_us,
                          size_t limit)
{
    struct share_ind_list l;
    if (share_read(s, NULL, &l)) return NULL;
    qsort(l.v, l.n, sizeof *l.v, by_value);
    size_t ng = 0;
    json_t **groups = calloc(l.n ? l.n : 1, sizeof *groups);
    for (size_t i = 0; groups && i < l.n;) {
        size_t j = i;
        json_t *srcs = json_array();
        double best = 0;
        json_int_t sightings = 0;
        for (; j < l.n && !strcmp(l.v[j].kind, l.v[i].kind) && !strcmp(l.v[j].value, l.v[i].value);
             j++) {
            double sc = share_score(d, &l.v[j], now_us);
            best = sc > best ? sc : best;
            sightings += (json_int_t)l.v[j].sightings;
            char iso[32];
            json_array_append_new(
                srcs, json_pack("{s:s, s:i, s:f, s:I, s:s, s:o}", "source", l.v[j].source,
                                "confidence", l.v[j].confidence, "score", round2(sc), "sightings",
                                (json_int_t)l.v[j].sightings, "last_seen",
                                cli_iso_us(l.v[j].last_us, iso), "stix_id",
                                l.v[j].stix_id ? json_string(l.v[j].stix_id) : json_null()));
        }
        groups[ng++] = json_pack("{s:s, s:s, s:I, s:f, s:I, s:o}", "kind", l.v[i].kind, "value",
                                 l.v[i].value, "sources", (json_int_t)(j - i), "best_score",
                                 round2(best), "sightings", sightings, "by_source", srcs);
        i = j;
    }
    share_ind_list_free(&l);
    if (!groups) return err_set(-ENOMEM, "out of memory"), NULL;
    qsort(groups, ng, sizeof *groups, by_best);
    json_t *out = json_array();
    for (size_t i = 0; i < ng; i++) {
        if (!limit || i < limit) json_array_append(out, groups[i]);
        json_decref(groups[i]);
    }
    free(groups);
    return out;
}
