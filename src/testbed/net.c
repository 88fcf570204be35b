/* net — namespaces and addresses through iproute2 (fork/exec, argv arrays).
 *
 * iproute2 rather than raw netlink: it is what an operator would type, its
 * messages are the ones people search for, and `-batch` assigns thousands of
 * addresses in one exec.  Each failure names the step ("ip netns add tbt-d:
 * File exists").  Processes are found by their namespace (the inode of
 * /proc/PID/ns/net against /run/netns/NAME-d), never by name. */
#include "net.h"

#include "../core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *find_prog(const char *name, char *buf, size_t n)
{
    static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(buf, n, "%s/%s", dirs[i], name);
        if (access(buf, X_OK) == 0) return buf;
    }
    return NULL;
}

/* The first two lines of what the command said, joined, for the message. */
static void gist(char *out, size_t n)
{
    char *nl = strchr(out, '\n');
    if (nl && nl[1]) {
        *nl = ' ';
        char *nl2 = strchr(nl + 1, '\n');
        if (nl2) *nl2 = 0;
    } else if (nl) {
        *nl = 0;
    }
    (void)n;
}

int net_run(const char *what, char *const argv[])
{
    char path[256];
    if (!find_prog(argv[0], path, sizeof path))
        return err_set(-ENOENT, "%s: %s not found (install iproute2)", what, argv[0]);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return err_set(-errno, "%s: pipe: %s", what, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return err_set(-errno, "%s: fork: %s", what, strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(p[1], 2);
        execv(path, argv);
        _exit(127);
    }
    close(p[1]);
    char out[512];
    size_t got = 0;
    ssize_t r;
    while ((r = read(p[0], out + got, sizeof out - 1 - got)) > 0 && got < sizeof out - 1)
        got += (size_t)r;
    char sink[256];
    while (read(p[0], sink, sizeof sink) > 0) {
    }
    close(p[0]);
    out[got] = 0;
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    gist(out, sizeof out);
    if (!*out) snprintf(out, sizeof out, "exit status %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128);
    return err_set(-EIO, "%s: %s", what, out);
}

void net_mac(const char *name, char mac[18])
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    /* locally administered, unicast */
    snprintf(mac, 18, "02:6d:62:%02x:%02x:%02x", h >> 16 & 0xff, h >> 8 & 0xff, h & 0xff);
}

static int ns_path(const char *name, char side, char *buf, size_t n)
{
    return snprintf(buf, n, "/run/netns/%s-%c", name, side);
}

bool net_exists(const char *name, char side)
{
    char p[300];
    ns_path(name, side, p, sizeof p);
    return access(p, F_OK) == 0;
}

int net_enter(const char *name, char side)
{
    char p[300];
    ns_path(name, side, p, sizeof p);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_set(-errno, "%s: %s", p, strerror(errno));
    int rc = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    if (rc < 0) return err_set(-e, "setns %s: %s", p, strerror(e));
    return 0;
}

static int batch(const char *name, char side, const char *file)
{
    char ns[200], what[300];
    snprintf(ns, sizeof ns, "%s-%c", name, side);
    snprintf(what, sizeof what, "ip -n %s -batch %s", ns, file);
    char *argv[] = {"ip", "-n", ns, "-batch", (char *)file, NULL};
    return net_run(what, argv);
}

static int write_batches(const char *name, const struct tb_spec *s, const char *dir, char *fc,
                         char *fd, size_t n)
{
    char b[16];
    snprintf(fc, n, "%s/net-c.batch", dir);
    snprintf(fd, n, "%s/net-d.batch", dir);
    FILE *c = fopen(fc, "w"), *d = fopen(fd, "w");
    if (!c || !d) {
        if (c) fclose(c);
        if (d) fclose(d);
        return err_set(-errno, "%s: %s", dir, strerror(errno));
    }
    fprintf(c, "link set lo up\naddr add %s/30 dev tb0\nlink set tb0 up\nroute add %s/%d via %s\n",
            TB_CLIENT_IP, spec_ip(s->net, b), s->len, TB_GATEWAY_IP);
    fprintf(d, "link set lo up\naddr add %s/30 dev tb1\nlink set tb1 up\n", TB_GATEWAY_IP);
    for (size_t i = 0; i < s->nhosts; i++)
        if (s->hosts[i].state != TB_FILTERED)
            fprintf(d, "addr add %s/32 dev lo\n", spec_ip(s->hosts[i].ip, b));
    (void)name;
    int bad = ferror(c) || ferror(d);
    bad |= fclose(c) != 0;
    bad |= fclose(d) != 0;
    return bad ? err_set(-EIO, "%s: cannot write the batch files", dir) : 0;
}

/* A new namespace does not forward (its sysctls start at their defaults), but
 * the silence of filtered addresses depends on it, so it is set, not assumed.
 * /proc/sys/net is the opener's namespace: a child enters NAME-d and writes. */
static int no_forwarding(const char *name)
{
    pid_t pid = fork();
    if (pid < 0) return err_set(-errno, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (net_enter(name, 'd') < 0) _exit(2);
        int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
        _exit(fd < 0 || write(fd, "0\n", 2) != 2 ? 1 : 0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    return err_set(-EIO, "%s-d: cannot set net.ipv4.ip_forward=0", name);
}

int net_up(const char *name, const struct tb_spec *s, const char *dir, char mac[18])
{
    char c[200], d[200], what[300], fc[4200], fd[4200];
    snprintf(c, sizeof c, "%s-c", name);
    snprintf(d, sizeof d, "%s-d", name);
    net_mac(name, mac);
    if (net_exists(name, 'c') || net_exists(name, 'd'))
        return err_set(-EEXIST,
                       "namespace %s or %s exists already (mamori testbed down --name %s?)", c, d,
                       name);
    char *add_c[] = {"ip", "netns", "add", c, NULL};
    char *add_d[] = {"ip", "netns", "add", d, NULL};
    char *veth[] = {"ip",   "-n",   c,     "link",    "add", "tb0",   "type", "veth",
                    "peer", "name", "tb1", "address", mac,   "netns", d,      NULL};
    snprintf(what, sizeof what, "ip netns add %s", c);
    if (net_run(what, add_c) < 0) return -EIO;
    snprintf(what, sizeof what, "ip netns add %s", d);
    if (net_run(what, add_d) < 0) goto fail;
    if (net_run("ip link add tb0 type veth peer name tb1 (the testbed link)", veth) < 0) goto fail;
    if (write_batches(name, s, dir, fc, fd, sizeof fc) < 0) goto fail;
    if (batch(name, 'd', fd) < 0 || batch(name, 'c', fc) < 0 || no_forwarding(name) < 0) goto fail;
    return 0;
fail:;
    char keep[512];
    snprintf(keep, sizeof keep, "%s", err_msg());
    net_down(name);
    return err_set(-EIO, "%s", keep);
}

int net_down(const char *name)
{
    int rc = 0;
    char keep[512] = "";
    for (const char *side = "dc"; *side; side++) {
        if (!net_exists(name, *side)) continue;
        char ns[200], what[300];
        snprintf(ns, sizeof ns, "%s-%c", name, *side);
        snprintf(what, sizeof what, "ip netns del %s", ns);
        char *argv[] = {"ip", "netns", "del", ns, NULL};
        if (net_run(what, argv) < 0 && !rc) {
            rc = -EIO;
            snprintf(keep, sizeof keep, "%s", err_msg());
        }
    }
    if (rc) err_set(rc, "%s", keep);
    return rc;
}

static bool same_ns(const char *a, const struct stat *b)
{
    struct stat st;
    return stat(a, &st) == 0 && st.st_ino == b->st_ino && st.st_dev == b->st_dev;
}

bool net_pid_in(pid_t pid, const char *name, char side)
{
    char p[300], q[64];
    struct stat ns;
    ns_path(name, side, p, sizeof p);
    if (stat(p, &ns) < 0) return false;
    snprintf(q, sizeof q, "/proc/%d/ns/net", (int)pid);
    return same_ns(q, &ns);
}

int net_each_pid(const char *name, char side, int (*fn)(pid_t pid, void *ctx), void *ctx)
{
    char p[300];
    struct stat ns;
    ns_path(name, side, p, sizeof p);
    if (stat(p, &ns) < 0) return 0;
    DIR *dir = opendir("/proc");
    if (!dir) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == getpid()) continue;
        char q[64];
        snprintf(q, sizeof q, "/proc/%ld/ns/net", pid);
        if (same_ns(q, &ns) && fn((pid_t)pid, ctx) == 0) n++;
    }
    closedir(dir);
    return n;
}

static int kill_one(pid_t pid, void *ctx)
{
    return kill(pid, *(int *)ctx);
}

int net_kill_all(const char *name, int sig)
{
    return net_each_pid(name, 'd', kill_one, &sig);
}
