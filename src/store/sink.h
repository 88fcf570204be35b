/* sink — where records go: the one seam between a capability and storage.
 *
 * As ZMap's output modules: each sink is a constant ops struct in a file of
 * its own (sink_sqlite.c, sink_jsonl.c, ...) and one line in the registry
 * (sinks.c).  An instance is opened from "NAME[:ARG]" (`--sink`, repeatable)
 * and keeps everything in its own state: a sink has no statics, so two of
 * the same kind never meet.  A sink says which record kinds it takes; the
 * others never reach it.
 *
 * Records are lent: a put call may read them until it returns, and a sink
 * that keeps one longer keeps a copy (interval_rec_dup() owns every byte,
 * labels included; the other records are flat or carry only strings to copy).
 * put calls hand records over in order; flush makes what was put durable as
 * far as that sink can (a commit, a write to the kernel); close flushes.
 * Every call returns 0 or a negative errno-style code with err_set().
 *
 * A set of sinks (struct sinks) fans each record out to every sink that
 * takes its kind, in the order they were given.  A sticky set (observe's
 * writer) stops feeding a sink after its first failure and keeps feeding the
 * others, so what was accepted still reaches every healthy sink, and returns
 * that first failure from then on; a set that is not sticky (lure, which
 * must keep answering attackers) reports each failure and tries the next
 * record again. */
#ifndef MAMORI_SINK_H
#define MAMORI_SINK_H

#include "record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Record kinds, a bit each (struct sink_ops.kinds). */
enum sink_kind {
    SINK_INTERVALS = 1u << 0, /* closed intervals: totals, port/fingerprint/country/ASN rows,
                                 top sources, surge alerts, DoS victims */
    SINK_EVENTS = 1u << 1,    /* per-source events; they travel inside the interval that closes
                                 their window (interval_rec.events), so a store commits both in
                                 one transaction */
    SINK_SAMPLES = 1u << 2,   /* live-view packet samples (best effort) */
    SINK_SESSIONS = 1u << 3,  /* honeypot session steps: open, logins, commands, downloads, close */
    SINK_INDICATORS = 1u << 4, /* indicator sightings (url, host, sha256, attacker/loader ip) */
    SINK_SURVEY = 1u << 5,     /* survey rounds, scan replies and probe results (record.h) */
    SINK_ALL_KINDS = (1u << 6) - 1,
};

struct store;

/* What a command hands every sink it opens. */
struct sink_env {
    struct store *store; /* the database the command opened (--db), or NULL */
    unsigned kinds;      /* what the command will put (a sink may prepare for it at open) */
};

struct sink_ops {
    const char *name, *help; /* help: one line, what ARG means */
    unsigned kinds;          /* enum sink_kind bits it takes */
    /* arg: what followed "NAME:", or NULL.  *state is handed to every call. */
    int (*open)(const char *arg, const struct sink_env *env, void **state);
    /* Whole closed intervals, in order; n > 1 when they queued up (one group commit). */
    int (*put_intervals)(void *state, struct interval_rec *const *r, size_t n);
    int (*put_samples)(void *state, const struct live_sample *v, size_t n);
    int (*put_session)(void *state, const struct session_rec *r);
    int (*put_indicator)(void *state, const struct indicator_rec *r);
    int (*put_survey)(void *state, const struct survey_rec *r);
    int (*flush)(void *state);
    /* The file descriptor the sink writes to, or NULL: two sinks on one file
     * (st_dev/st_ino, however it was spelled) are refused. */
    int (*fd)(void *state);
    /* Flushes what is left and frees; the first error (a sink that lost records). */
    int (*close)(void *state);
};

/* The registry, NULL-terminated (sinks.c says how to add one). */
extern const struct sink_ops *const sink_registry[];
const struct sink_ops *sink_find(const char *name);
/* Splits "NAME[:ARG]" into the sink it names and its argument (copied into
 * arg, "" when none; arg may be NULL to check the name only); 0, or -EINVAL
 * with a one-line message. */
int sink_parse(const char *spec, const struct sink_ops **ops, char *arg, size_t cap);
/* `--sink help`: one line per sink with the kinds it takes. */
void sink_list(FILE *f);

struct sinks;

/* What a command's `--db PATH` and repeated `--sink SPEC` mean, in one place:
 * whether the database must be opened (PATH is not "-", and no --sink was
 * given, sqlite being the default, or one names sqlite) ... */
bool sinks_want_db(const char *db, const char *const *specs, size_t n);
/* ... and the set they make in *out: every spec in order, or sqlite alone when
 * none was given and env->store is open.  0, or the first sink's error (-EINVAL:
 * a bad spec) with err_set(), nothing left open. */
int sinks_open_specs(const char *const *specs, size_t n, const struct sink_env *env, bool sticky,
                     struct sinks **out);

struct sinks *sinks_new(bool sticky);
/* Opens the sink spec names and appends it; 0 or an error (nothing added). */
int sinks_add(struct sinks *set, const char *spec, const struct sink_env *env);
/* The same with the ops given (tests, or a capability's own sink). */
int sinks_add_ops(struct sinks *set, const struct sink_ops *ops, const char *arg,
                  const struct sink_env *env);
size_t sinks_count(const struct sinks *set);
/* Bits of enum sink_kind some sink in the set takes. */
unsigned sinks_kinds(const struct sinks *set);
int sinks_put_intervals(struct sinks *set, struct interval_rec *const *r, size_t n);
/* Best effort, as the live view is: a failure here fails no sink. */
void sinks_put_samples(struct sinks *set, const struct live_sample *v, size_t n);
int sinks_put_session(struct sinks *set, const struct session_rec *r);
int sinks_put_indicator(struct sinks *set, const struct indicator_rec *r);
int sinks_put_survey(struct sinks *set, const struct survey_rec *r);
int sinks_flush(struct sinks *set);
/* Flushes and closes every sink; returns the first error (also an earlier one of a sticky set). */
int sinks_close(struct sinks *set);

#endif
