/* units — building the unit list (see units.h): the shared helpers and the
 * registry of kinds.  To add a kind of device process: a `struct unit_kind`
 * in its own file and one line in kinds[] below. */
#include "units.h"

#include "../core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct unit_kind *const kinds[] = {&unit_lure, &unit_http, &unit_ssh};

struct tb_unit *units_add(struct tb_units *us, const char *name)
{
    if (us->n == us->cap) {
        size_t c = us->cap ? us->cap * 2 : 16;
        struct tb_unit *p = realloc(us->u, c * sizeof *p);
        if (!p) return NULL;
        us->u = p;
        us->cap = c;
    }
    struct tb_unit *u = &us->u[us->n++];
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    u->key = 14695981039346656037ull;
    return u;
}

void unit_key(struct tb_unit *u, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        u->key = (u->key ^ p[i]) * 1099511628211ull;
    u->key = (u->key ^ 0xff) * 1099511628211ull; /* separates "ab","c" from "a","bc" */
}

int unit_arg(struct tb_unit *u, const char *fmt, ...)
{
    if (u->argc == UNIT_ARGS - 1) return err_set(-E2BIG, "%s: too many arguments", u->name);
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) return err_set(-ENOMEM, "out of memory");
    u->argv[u->argc++] = s;
    u->argv[u->argc] = NULL;
    unit_key(u, s, (size_t)n);
    return 0;
}

int unit_serve(struct tb_unit *u, uint32_t ip, uint16_t port)
{
    if (!(u->nsvc & (u->nsvc + 1)) || !u->ip) { /* grow at 0, 1, 3, 7, ... */
        size_t c = (u->nsvc + 1) * 2;
        uint32_t *a = realloc(u->ip, c * sizeof *a);
        if (!a) return err_set(-ENOMEM, "out of memory");
        u->ip = a;
        uint16_t *b = realloc(u->port, c * sizeof *b);
        if (!b) return err_set(-ENOMEM, "out of memory");
        u->port = b;
    }
    u->ip[u->nsvc] = ip;
    u->port[u->nsvc++] = port;
    return 0;
}

int unit_file(struct tb_unit *u, const char *path, const char *text, size_t n)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return err_set(-errno, "%s: %s", tmp, strerror(errno));
    size_t w = fwrite(text, 1, n, f);
    if (fclose(f) != 0 || w != n) {
        unlink(tmp);
        return err_set(-EIO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) < 0) return err_set(-errno, "%s: %s", path, strerror(errno));
    unit_key(u, text, n);
    return 0;
}

void units_free(struct tb_units *us)
{
    for (size_t i = 0; i < us->n; i++) {
        struct tb_unit *u = &us->u[i];
        for (int a = 0; a < u->argc; a++)
            free(u->argv[a]);
        free(u->ip);
        free(u->port);
    }
    free(us->u);
    memset(us, 0, sizeof *us);
}

int units_build(const struct tb_spec *s, const struct tb_env *env, struct tb_units *out)
{
    memset(out, 0, sizeof *out);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (kinds[k]->build(s, env, out) < 0) {
            units_free(out);
            return -1;
        }
    return 0;
}
