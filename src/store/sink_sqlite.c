/* sink_sqlite — the default sink: the mamori database (--db).
 *
 * The database is the one the command opened (it also plans overlap,
 * replaces ranges and keeps the surge baselines there), so the sink takes
 * no argument and owns nothing but its statements.  Intervals go through
 * store_write_intervals() (a batch is one transaction: the writer's group
 * commit; returning 0 means committed), live samples through
 * store_write_samples(), honeypot rows through honeypot.c and survey rows
 * through survey.c, whose transactions flush commits. */
#include "../core/err.h"
#include "honeypot.h"
#include "sink.h"
#include "store.h"
#include "survey.h"

#include <errno.h>
#include <stdlib.h>

struct sqlite_sink {
    struct store *store;
    struct honeypot_db *hp; /* prepared on the first honeypot record */
    struct survey_db *sv;   /* prepared on the first survey record */
};

static int sq_open(const char *arg, const struct sink_env *env, void **state)
{
    if (arg)
        return err_set(-EINVAL, "--sink sqlite:%s: sqlite takes no argument (it writes to --db)",
                       arg);
    if (!env || !env->store) return err_set(-EINVAL, "--sink sqlite: no database (--db -)");
    struct sqlite_sink *s = calloc(1, sizeof *s);
    if (!s) return err_set(-ENOMEM, "sqlite sink: out of memory");
    s->store = env->store;
    *state = s;
    /* lure prepares its statements now, while files can still be opened (before the sandbox) */
    if ((env->kinds & (SINK_SESSIONS | SINK_INDICATORS)) && !(s->hp = honeypot_db_open(s->store))) {
        free(s);
        return -EIO;
    }
    return 0;
}

static int sq_intervals(void *state, struct interval_rec *const *r, size_t n)
{
    struct sqlite_sink *s = state;
    return store_write_intervals(s->store, (struct interval_rec **)r, n);
}

static int sq_samples(void *state, const struct live_sample *v, size_t n)
{
    struct sqlite_sink *s = state;
    return store_write_samples(s->store, v, n);
}

static int honeypot(struct sqlite_sink *s)
{
    /* prepared at open unless the command did not say it would put these */
    if (!s->hp && !(s->hp = honeypot_db_open(s->store))) return -EIO;
    return 0;
}

static int sq_session(void *state, const struct session_rec *r)
{
    struct sqlite_sink *s = state;
    int rc = honeypot(s);
    return rc < 0 ? rc : honeypot_db_session(s->hp, r);
}

static int sq_indicator(void *state, const struct indicator_rec *r)
{
    struct sqlite_sink *s = state;
    int rc = honeypot(s);
    return rc < 0 ? rc : honeypot_db_indicator(s->hp, r);
}

static int sq_survey(void *state, const struct survey_rec *r)
{
    struct sqlite_sink *s = state;
    if (!s->sv && !(s->sv = survey_db_open(s->store))) return -EIO;
    return survey_db_put(s->sv, r);
}

static int sq_flush(void *state)
{
    struct sqlite_sink *s = state;
    int rc = s->hp ? honeypot_db_commit(s->hp) : 0;
    int rs = s->sv ? survey_db_commit(s->sv) : 0;
    return rc < 0 ? rc : rs;
}

static int sq_close(void *state)
{
    struct sqlite_sink *s = state;
    honeypot_db_close(s->hp);
    survey_db_close(s->sv);
    free(s);
    return 0;
}

const struct sink_ops sink_sqlite = {
    .name = "sqlite",
    .help = "the mamori database given by --db (the default; no ARG)",
    .kinds = SINK_INTERVALS | SINK_EVENTS | SINK_SAMPLES | SINK_SESSIONS | SINK_INDICATORS |
             SINK_SURVEY,
    .open = sq_open,
    .put_intervals = sq_intervals,
    .put_samples = sq_samples,
    .put_session = sq_session,
    .put_indicator = sq_indicator,
    .put_survey = sq_survey,
    .flush = sq_flush,
    .close = sq_close,
};
