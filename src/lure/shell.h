/* shell — an emulated BusyBox ash over a persona: it parses and interprets, never executes.
 *
 * What a bot types is parsed by shparse and walked here.  Commands are
 * BusyBox applets written in C (echo with -e/-ne escapes, cat, cp, dd, …)
 * that act on the session's copy-on-write vfs; downloaders (wget, tftp,
 * curl, ftpget) record their URL through a hook and pretend to succeed
 * without touching the network; running a file only reports it through a
 * hook.  Which applets exist, and so what `/bin/busybox wget` answers, comes
 * from the persona, as do every version string and error message style.
 * A command line gets a step budget and an output cap, so `while true` or a
 * 1 GB dd ends quietly instead of eating the honeypot. */
#ifndef MAMORI_LURE_SHELL_H
#define MAMORI_LURE_SHELL_H

#include "buf.h"
#include "persona.h"
#include "vfs.h"

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
const char *shell_cwd(const struct shell *sh);
struct vfs *shell_vfs(struct shell *sh);
void shell_free(struct shell *sh);

#endif
