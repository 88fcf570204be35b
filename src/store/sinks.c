/* sinks — the registry of sinks and a set of open ones (see sink.h). */
#include "../core/err.h"
#include "sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const struct sink_ops sink_sqlite, sink_jsonl;

/* The registry.  To add a sink: write src/store/sink_NAME.c defining
 * `const struct sink_ops sink_NAME` (name, one-line help, the kinds it takes,
 * open/put/flush/close over a state of its own), add the file to meson.build,
 * declare it above and add one line here.  Without --sink, commands open
 * sqlite (their --db). */
const struct sink_ops *const sink_registry[] = {
    &sink_sqlite,
    &sink_jsonl,
    NULL,
};

#define SINKS_MAX 16

struct sink_inst {
    const struct sink_ops *ops;
    char *arg; /* as given, to refuse the same sink twice */
    void *state;
    int rc; /* a sticky set's first failure of this sink */
};

struct sinks {
    struct sink_inst v[SINKS_MAX];
    size_t n;
    bool sticky;
    int rc; /* a sticky set's first failure, with its message */
    char err[512];
};

const struct sink_ops *sink_find(const char *name)
{
    for (size_t i = 0; sink_registry[i]; i++)
        if (!strcmp(sink_registry[i]->name, name)) return sink_registry[i];
    return NULL;
}

static void names(char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; sink_registry[i] && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "", sink_registry[i]->name);
}

int sink_parse(const char *spec, const struct sink_ops **ops, char *arg, size_t cap)
{
    char name[64], known[256];
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    names(known, sizeof known);
    if (!n || n >= sizeof name)
        return err_set(-EINVAL, "--sink %s: give NAME[:ARG] (sinks: %s; --sink help lists them)",
                       spec, known);
    memcpy(name, spec, n);
    name[n] = 0;
    if (!(*ops = sink_find(name)))
        return err_set(-EINVAL, "--sink %s: no sink named '%s' (sinks: %s)", spec, name, known);
    const char *a = colon ? colon + 1 : "";
    if (!arg) return 0;
    if (strlen(a) >= cap) return err_set(-EINVAL, "--sink %s: argument too long", spec);
    memcpy(arg, a, strlen(a) + 1);
    return 0;
}

static const char *const kind_names[] = {"intervals", "events",     "samples",
                                         "sessions",  "indicators", "survey"};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == 6, "a name per enum sink_kind bit");
_Static_assert(SINK_ALL_KINDS == (1u << (sizeof kind_names / sizeof kind_names[0])) - 1,
               "SINK_ALL_KINDS covers every kind");

void sink_list(FILE *f)
{
    fputs("sinks (--sink NAME[:ARG], repeatable; without one, sqlite):\n", f);
    for (size_t i = 0; sink_registry[i]; i++) {
        const struct sink_ops *o = sink_registry[i];
        char kinds[128] = "";
        size_t k = 0;
        for (size_t b = 0; b < sizeof kind_names / sizeof kind_names[0]; b++)
            if (o->kinds & (1u << b))
                k += (size_t)snprintf(kinds + k, sizeof kinds - k, "%s%s", k ? "," : "",
                                      kind_names[b]);
        fprintf(f, "  %-8s %s\n  %-8s takes: %s\n", o->name, o->help, "", kinds);
    }
}

struct sinks *sinks_new(bool sticky)
{
    struct sinks *s = calloc(1, sizeof *s);
    if (!s)
        err_set(-ENOMEM, "sinks: out of memory");
    else
        s->sticky = sticky;
    return s;
}

int sinks_add_ops(struct sinks *set, const struct sink_ops *ops, const char *arg,
                  const struct sink_env *env)
{
    if (set->n == SINKS_MAX) return err_set(-E2BIG, "--sink: at most %d sinks", SINKS_MAX);
    arg = arg && *arg ? arg : NULL;
    /* twice the same: every record written twice to one place */
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].ops == ops && !strcmp(set->v[i].arg ? set->v[i].arg : "", arg ? arg : ""))
            return err_set(-EINVAL, "--sink %s%s%s: given twice", ops->name, arg ? ":" : "",
                           arg ? arg : "");
    char *copy = arg ? strdup(arg) : NULL;
    if (arg && !copy) return err_set(-ENOMEM, "sinks: out of memory");
    void *state = NULL;
    int rc = ops->open(arg, env, &state);
    if (rc < 0) {
        free(copy);
        return rc;
    }
    /* the same file under another name (t.jsonl, ./t.jsonl, a link): its
     * lines written twice, so refused by what the file is, after open */
    struct stat me, other;
    if (ops->fd && fstat(ops->fd(state), &me) == 0)
        for (size_t i = 0; i < set->n; i++) {
            const struct sink_inst *s = &set->v[i];
            if (s->ops->fd && fstat(s->ops->fd(s->state), &other) == 0 &&
                me.st_dev == other.st_dev && me.st_ino == other.st_ino) {
                rc = err_set(-EINVAL, "--sink %s%s%s: the same file as --sink %s%s%s",
                             ops->name, arg ? ":" : "", arg ? arg : "", s->ops->name,
                             s->arg ? ":" : "", s->arg ? s->arg : "");
                char msg[512];
                snprintf(msg, sizeof msg, "%s", err_msg());
                ops->close(state);
                free(copy);
                return err_set(rc, "%s", msg);
            }
        }
    set->v[set->n++] = (struct sink_inst){.ops = ops, .arg = copy, .state = state};
    return 0;
}

int sinks_add(struct sinks *set, const char *spec, const struct sink_env *env)
{
    const struct sink_ops *ops;
    char arg[4096];
    int rc = sink_parse(spec, &ops, arg, sizeof arg);
    return rc < 0 ? rc : sinks_add_ops(set, ops, arg, env);
}

bool sinks_want_db(const char *db, const char *const *specs, size_t n)
{
    if (!strcmp(db, "-")) return false;
    if (!n) return true;
    const struct sink_ops *ops;
    for (size_t i = 0; i < n; i++)
        if (sink_parse(specs[i], &ops, NULL, 0) == 0 && !strcmp(ops->name, "sqlite")) return true;
    return false;
}

int sinks_open_specs(const char *const *specs, size_t n, const struct sink_env *env, bool sticky,
                     struct sinks **out)
{
    struct sinks *set = *out = sinks_new(sticky);
    if (!set) return -ENOMEM;
    int rc = !n && env->store ? sinks_add(set, "sqlite", env) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = sinks_add(set, specs[i], env);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", err_msg()); /* err_msg is err_set's own buffer */
        sinks_close(set);
        *out = NULL;
        err_set(rc, "%s", why);
    }
    return rc;
}

size_t sinks_count(const struct sinks *set)
{
    return set ? set->n : 0;
}

unsigned sinks_kinds(const struct sinks *set)
{
    unsigned k = 0;
    for (size_t i = 0; set && i < set->n; i++)
        k |= set->v[i].ops->kinds;
    return k;
}

/* Records one sink's failure; returns what the caller returns. */
static int failed(struct sinks *set, struct sink_inst *s, int rc)
{
    if (!set->sticky) return rc;
    s->rc = rc;
    if (!set->rc) {
        set->rc = rc;
        snprintf(set->err, sizeof set->err, "%s", err_msg());
    }
    return set->rc;
}

static int result(struct sinks *set, int rc)
{
    if (set->sticky && set->rc) return err_set(set->rc, "%s", set->err);
    return rc;
}

/* One put, as the fan-out hands it to a sink (NULL when the sink lacks it). */
typedef int (*put_fn)(const struct sink_ops *o, void *state, const void *arg);

/* Every sink taking kind (and not failed) gets the put; the first error is returned. */
static int fan_out(struct sinks *set, unsigned kind, put_fn put, const void *arg)
{
    int first = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct sink_inst *s = &set->v[i];
        if (s->rc || !(s->ops->kinds & kind)) continue;
        int rc = put(s->ops, s->state, arg);
        if (rc < 0 && failed(set, s, rc) < 0 && !first) first = rc;
    }
    return result(set, first);
}

struct batch {
    struct interval_rec *const *r;
    size_t n;
};

static int put_intervals(const struct sink_ops *o, void *state, const void *arg)
{
    const struct batch *b = arg;
    return o->put_intervals ? o->put_intervals(state, b->r, b->n) : 0;
}

static int put_session(const struct sink_ops *o, void *state, const void *arg)
{
    return o->put_session ? o->put_session(state, arg) : 0;
}

static int put_indicator(const struct sink_ops *o, void *state, const void *arg)
{
    return o->put_indicator ? o->put_indicator(state, arg) : 0;
}

int sinks_put_intervals(struct sinks *set, struct interval_rec *const *r, size_t n)
{
    struct batch b = {r, n};
    return n ? fan_out(set, SINK_INTERVALS | SINK_EVENTS, put_intervals, &b) : result(set, 0);
}

void sinks_put_samples(struct sinks *set, const struct live_sample *v, size_t n)
{
    for (size_t i = 0; n && i < set->n; i++) {
        struct sink_inst *s = &set->v[i];
        if (!s->rc && (s->ops->kinds & SINK_SAMPLES) && s->ops->put_samples)
            s->ops->put_samples(s->state, v, n);
    }
}

int sinks_put_session(struct sinks *set, const struct session_rec *r)
{
    return fan_out(set, SINK_SESSIONS, put_session, r);
}

int sinks_put_indicator(struct sinks *set, const struct indicator_rec *r)
{
    return fan_out(set, SINK_INDICATORS, put_indicator, r);
}

static int put_survey(const struct sink_ops *o, void *state, const void *arg)
{
    return o->put_survey ? o->put_survey(state, arg) : 0;
}

int sinks_put_survey(struct sinks *set, const struct survey_rec *r)
{
    return fan_out(set, SINK_SURVEY, put_survey, r);
}

int sinks_flush(struct sinks *set)
{
    int first = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct sink_inst *s = &set->v[i];
        if (s->rc || !s->ops->flush) continue;
        int rc = s->ops->flush(s->state);
        if (rc < 0 && failed(set, s, rc) < 0 && !first) first = rc;
    }
    return result(set, first);
}

int sinks_close(struct sinks *set)
{
    if (!set) return 0;
    int rc = sinks_flush(set);
    char err[512];
    snprintf(err, sizeof err, "%s", err_msg());
    for (size_t i = 0; i < set->n; i++) {
        int crc = set->v[i].ops->close(set->v[i].state);
        if (crc < 0 && rc == 0) {
            rc = crc;
            snprintf(err, sizeof err, "%s", err_msg());
        }
        free(set->v[i].arg);
    }
    free(set);
    if (rc < 0) err_set(rc, "%s", err);
    return rc;
}
