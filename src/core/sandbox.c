/* sandbox — chroot, privilege drop and a seccomp allow-list (see sandbox.h). */
#include "sandbox.h"
#include "err.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

long sandbox_raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0) return -errno;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    getrlimit(RLIMIT_NOFILE, &r);
    return (long)r.rlim_cur;
}

int sandbox_lookup(const char *user, unsigned *uid, unsigned *gid)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) return err_set(-ENOENT, "--user: no user '%s'", user);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* clang-format off */
static const char *const allowed[] = {
    /* files that are already open, and the few the server makes (stored files, SQLite's) */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "fstat", "newfstatat",
    "stat", "lstat", "statx", "lseek", "fcntl", "fsync", "fdatasync", "ftruncate", "openat",
    "open", "unlink", "unlinkat", "renameat", "renameat2", "access", "faccessat", "fchown",
    "fchmod", "fstatfs",
    /* memory */
    "mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
    /* the event loop on sockets it was handed */
    "epoll_wait", "epoll_pwait", "epoll_ctl", "accept", "accept4", "recvfrom", "recvmsg",
    "shutdown", "setsockopt", "getsockopt", "getsockname", "getpeername",
    /* time, identity, signals, threads of libc, exit */
    "clock_gettime", "gettimeofday", "time", "nanosleep", "clock_nanosleep", "getpid", "gettid",
    "getuid", "geteuid", "getgid", "getegid", "rt_sigreturn", "rt_sigprocmask", "rt_sigaction",
    "sigaltstack", "futex", "getrandom", "exit", "exit_group", "restart_syscall", "sched_yield",
    "uname", "prlimit64", "getrlimit", "tgkill", "set_robust_list", "rseq",
};
/* clang-format on */

static const char *const killed[] = {
    "execve", "execveat", "fork",       "vfork",       "socket", "connect", "socketpair", "bind",
    "listen", "ptrace",   "kexec_load", "init_module", "mount",  "chroot",  "setuid",     "setgid"};

#ifdef SANDBOX_SANITIZER
/* LeakSanitizer stops the world from a thread that ptraces the others. */
/* clang-format off */
static const char *const sanitizer_extra[] = {
    "clone", "clone3", "ptrace", "wait4", "waitid", "prctl", "sched_getaffinity", "readlinkat",
    "readlink", "getppid", "kill", "setrlimit", "pipe2", "dup", "dup2", "dup3",
    "process_vm_readv", "getdents", "getdents64", "ioctl",
};
/* clang-format on */
#endif

static int install_seccomp(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx) return err_set(-ENOMEM, "seccomp: cannot create a filter");
    int rc = 0;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0] && !rc; i++) {
        int nr = seccomp_syscall_resolve_name(allowed[i]);
        if (nr != __NR_SCMP_ERROR) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    /* send() only on a connected socket: sendto with an address is a datagram out */
    int sendto = seccomp_syscall_resolve_name("sendto");
    struct scmp_arg_cmp no_addr = {.arg = 4, .op = SCMP_CMP_EQ, .datum_a = 0, .datum_b = 0};
    if (!rc) rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, sendto, 1, &no_addr);
#ifdef SANDBOX_SANITIZER
    for (size_t i = 0; i < sizeof sanitizer_extra / sizeof sanitizer_extra[0] && !rc; i++) {
        int nr = seccomp_syscall_resolve_name(sanitizer_extra[i]);
        if (nr != __NR_SCMP_ERROR) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
#endif
    for (size_t i = 0; i < sizeof killed / sizeof killed[0] && !rc; i++) {
        int nr = seccomp_syscall_resolve_name(killed[i]);
#ifdef SANDBOX_SANITIZER
        if (!strcmp(killed[i], "ptrace")) continue;
#endif
        if (nr != __NR_SCMP_ERROR) rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
    }
    if (!rc) rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc ? err_set(rc, "seccomp: cannot install the filter: %s", strerror(-rc)) : 0;
}

int sandbox_enter(const struct sandbox *sb)
{
    unsigned uid = 0, gid = 0;
    if (sb->user && sandbox_lookup(sb->user, &uid, &gid) < 0) return -ENOENT;
    if (sb->chroot) {
        if (chroot(sb->chroot) < 0 || chdir("/") < 0)
            return err_set(-errno, "--chroot %s: %s", sb->chroot, strerror(errno));
    }
    if (sb->user) {
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            return err_set(-errno, "--user %s: cannot drop privileges: %s", sb->user,
                           strerror(errno));
        if (uid != 0 && setuid(0) == 0)
            return err_set(-EPERM, "--user %s: could regain root", sb->user);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return err_set(-errno, "no_new_privs: %s", strerror(errno));
    return sb->seccomp ? install_seccomp() : 0;
}
