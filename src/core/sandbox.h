/* sandbox — confinement for a server that faces the Internet.
 *
 * The order matters and is the caller's: open every file and bind every
 * socket first, then sandbox_enter() chroots, drops to an unprivileged user
 * and installs a seccomp allow-list.  The filter allows what an epoll server
 * with an SQLite database needs and nothing else: creating sockets,
 * connecting, execve and fork kill the process; any other syscall off the
 * list fails with EPERM.  Sanitizer builds also allow what their runtime
 * needs at exit (threads and ptrace for the leak checker). */
#ifndef MAMORI_SANDBOX_H
#define MAMORI_SANDBOX_H

#include <stdbool.h>

struct sandbox {
    const char *user;   /* NULL: keep the current user */
    const char *chroot; /* NULL: no chroot */
    bool seccomp;
};

/* Raises the soft limit on open files to the hard limit; returns the new limit. */
long sandbox_raise_nofile(void);
/* Looks up user now (before a chroot hides /etc/passwd); 0 or -errno with err_msg(). */
int sandbox_lookup(const char *user, unsigned *uid, unsigned *gid);
int sandbox_enter(const struct sandbox *sb);

#endif
