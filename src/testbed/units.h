/* units — the device processes a spec needs, as argv lists the supervisor runs.
 *
 * A unit is one process in NAME-d serving many (address, port)s: a `mamori
 * lure` per (persona, accepted pairs) group, one HTTP process for every HTTP
 * device, a dropbear per SSH account set.  Each unit has a key (a hash of its
 * argv and the files it reads), so after `fix` rewrites the spec only the
 * units whose key changed are restarted.  Unit kinds are a table (units.c). */
#ifndef MAMORI_TESTBED_UNITS_H
#define MAMORI_TESTBED_UNITS_H

#include "spec.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define UNIT_ARGS 48
#define UNIT_BINDS 4

struct tb_bind {
    char src[4200], dst[64];
};

struct tb_unit {
    char name[96];
    uint64_t key;
    char *argv[UNIT_ARGS]; /* owned; argv[0] is the program's path */
    int argc;
    struct tb_bind binds[UNIT_BINDS]; /* files bind-mounted over dst, in a private mount ns */
    int nbinds;
    uint32_t *ip; /* the (address, port)s it serves, for readiness */
    uint16_t *port;
    size_t nsvc;
    pid_t pid;
    int gen;      /* the supervisor's generation that started it */
    int restarts; /* after exiting on its own */
};

struct tb_units {
    struct tb_unit *u;
    size_t n, cap;
};

/* Context the unit builders need. */
struct tb_env {
    const char *name, *dir, *self; /* self: this binary */
    const char *spec_path;
};

/* Builds the units for s, writing their config files under env->dir. */
int units_build(const struct tb_spec *s, const struct tb_env *env, struct tb_units *out);
void units_free(struct tb_units *us);
/* Helpers for the kind builders (units_*.c). */
struct tb_unit *units_add(struct tb_units *us, const char *name);
int unit_arg(struct tb_unit *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int unit_serve(struct tb_unit *u, uint32_t ip, uint16_t port);
void unit_key(struct tb_unit *u, const void *data, size_t n);
/* Writes text to path (atomically) and folds it into u's key. */
int unit_file(struct tb_unit *u, const char *path, const char *text, size_t n);

struct unit_kind {
    const char *name;
    int (*build)(const struct tb_spec *s, const struct tb_env *env, struct tb_units *out);
};
extern const struct unit_kind unit_lure, unit_http, unit_ssh;
/* Whether SSH devices can be served here (dropbear installed). */
bool units_ssh_available(void);

#endif
