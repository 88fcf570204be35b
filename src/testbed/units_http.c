/* units_http — every HTTP device is served by one process (`mamori testbed
 * _http`, httpdev.c), which reads the http lines of the state directory's
 * spec; its key folds those lines in, so `fix` restarts it only when an HTTP
 * device changed. */
#include "../core/err.h"
#include "units.h"

#include <stdio.h>
#include <string.h>

static int build(const struct tb_spec *s, const struct tb_env *env, struct tb_units *out)
{
    struct tb_unit *u = NULL;
    for (size_t i = 0; i < s->nsvcs; i++) {
        const struct tb_service *v = &s->svcs[i];
        if (v->proto != TB_HTTP) continue;
        if (!u) {
            if (!(u = units_add(out, "http"))) return err_set(-12, "out of memory");
            if ((unit_arg(u, "%s", env->self) | unit_arg(u, "testbed") | unit_arg(u, "_http") |
                 unit_arg(u, "--spec") | unit_arg(u, "%s", env->spec_path)) < 0)
                return -1;
        }
        char line[1200];
        int n = snprintf(line, sizeof line, "%u:%u %s|%s|%s", v->ip, v->port, v->server, v->title,
                         v->realm);
        unit_key(u, line, (size_t)n);
        for (int a = 0; a < v->nacc; a++) {
            n = snprintf(line, sizeof line, "%s:%s", v->acc[a].user, v->acc[a].pass);
            unit_key(u, line, (size_t)n);
        }
        if (unit_serve(u, v->ip, v->port) < 0) return -1;
    }
    return 0;
}

const struct unit_kind unit_http = {"http", build};
