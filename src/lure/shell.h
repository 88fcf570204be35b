/* shell — an emulated BusyBox ash over a persona: it parses and interprets, never executes.
 *
 * What a bot types is parsed by shparse and walked here.  Commands are
 * BusyBox applets written in C (echo with -e/-ne escapes, cat, cp, dd, …)
 * that act on the session's copy-on-write vfs; downloaders (wget, tftp,
 * curl, ftpget) record their URL through a hook and pretend to succeed
 * without touching the network; running a file only reports it through a
 * hook.  Which applets exist, and so what `/bin/busybox wget` answers, comes
 * from the persona, as do every version string and error message style.
 * A command line gets a work budget in bytes touched (every applet charges
 * what it reads, writes and compares, every step a fixed cost; no applet is
 * worse than linear) and an output cap, so `while true`, a 1 GB dd or grep
 * with a 4 KB pattern over a 1 MB file ends quietly within a few tens of
 * milliseconds instead of eating the honeypot; a stop flag (SIGTERM) ends
 * the line at its next step. */
#ifndef MAMORI_LURE_SHELL_H
#define MAMORI_LURE_SHELL_H

#include "buf.h"
#include "persona.h"
#include "vfs.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct shell_hooks {
    /* tool is wget/tftp/curl/ftpget; dest is the file written, or "-" for stdout */
    void (*download)(void *ctx, const char *tool, const char *url, const char *host,
                     const char *dest);
    /* a file of the session's (or a busybox link) was run */
    void (*exec)(void *ctx, const char *path);
    /* a command that does not exist here ("-sh: X: not found"), with its arguments */
    void (*failed)(void *ctx, const char *command);
};

struct shell;

struct shell *shell_new(const struct persona *p, struct vfs_limits *lim,
                        const struct shell_hooks *hooks, void *ctx);
/* Runs one command line, appending what the terminal shows to term.
 * Returns the exit status of the line. */
int shell_run(struct shell *sh, const char *line, size_t len, struct buf *term);
bool shell_exited(const struct shell *sh);
/* Bytes of work the last shell_run spent (the server's fair-share unit). */
size_t shell_work(const struct shell *sh);
/* A flag (set from a signal handler) that ends a running line at its next step. */
void shell_set_stop(struct shell *sh, const volatile sig_atomic_t *stop);
const char *shell_cwd(const struct shell *sh);
struct vfs *shell_vfs(struct shell *sh);
void shell_free(struct shell *sh);

#endif
