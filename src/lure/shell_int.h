/* shell_int — what the interpreter (shell.c) and the applets (applets.c) share. */
#ifndef MAMORI_LURE_SHELL_INT_H
#define MAMORI_LURE_SHELL_INT_H

#include "shell.h"

#include <signal.h>

#define SH_MAX_VARS 16
#define SH_MAX_ARGS 256
#define SH_WORD_MAX 4096
#define SH_PIPE_CAP (1u << 20)
/* The work one command line may do, in bytes touched (read, written, compared,
 * copied): a few tens of milliseconds at most, so one session cannot hold the
 * event loop.  Every step also costs SH_STEP_COST (its fixed overhead, about
 * what touching that many bytes costs), so `while true; do :; done` ends too. */
#define SH_WORK (16u << 20)
#define SH_STEP_COST 256

struct sh_var {
    char name[24];
    char *value;
};

struct shell {
    const struct persona *p;
    struct vfs fs;
    struct shell_hooks hooks;
    void *ctx;
    char cwd[VFS_PATH_MAX];
    struct sh_var vars[SH_MAX_VARS];
    int status, depth;
    size_t work;                       /* spent by the current line */
    const volatile sig_atomic_t *stop; /* set by SIGTERM: stop the line now */
    bool exited;
};

/* Charges work to the current line; false once its budget is spent (or the
 * process is stopping), and then the rest of the line is skipped. */
static inline bool sh_spend(struct shell *sh, size_t bytes)
{
    sh->work += bytes;
    return sh->work <= SH_WORK && !(sh->stop && *sh->stop);
}

static inline bool sh_spent(const struct shell *sh)
{
    return sh->work > SH_WORK || (sh->stop && *sh->stop);
}

/* A command's standard streams: input is a byte range with a cursor that
 * commands of one loop share (so `while read` walks through a file). */
struct io {
    const uint8_t *in;
    size_t in_len, *in_pos;
    struct buf *out, *err;
};

typedef int (*applet_fn)(struct shell *sh, int argc, char **argv, struct io *io);

/* The applet's C implementation, or NULL (the applet then does nothing). */
applet_fn applet_find(const char *name);
/* Runs argv[0] as an applet or builtin; prints "-sh: X: not found" when neither. */
int sh_dispatch(struct shell *sh, int argc, char **argv, struct io *io);
/* Runs a whole script (sh -c, sh FILE) in this shell. */
int sh_script(struct shell *sh, const char *text, size_t len, struct io *io);
void sh_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Resolves a path argument against the working directory; prints
 * "NAME: X: File name too long" and returns false when it cannot. */
bool sh_path(struct shell *sh, const char *arg, char out[VFS_PATH_MAX]);
const char *sh_strerror(int err);
/* The last component of a path ("a/b" -> "b"; "a/" stays "a/"). */
const char *sh_base_name(const char *p);
/* BusyBox's usage message for an applet called wrongly. */
void sh_usage(struct shell *sh, struct io *io, const char *text);
/* The downloaders (fetch.c). */
int ap_wget(struct shell *sh, int argc, char **argv, struct io *io);
int ap_tftp(struct shell *sh, int argc, char **argv, struct io *io);
int ap_curl(struct shell *sh, int argc, char **argv, struct io *io);
int ap_ftpget(struct shell *sh, int argc, char **argv, struct io *io);
const char *sh_getvar(struct shell *sh, const char *name);
void sh_setvar(struct shell *sh, const char *name, const char *value);

#endif
