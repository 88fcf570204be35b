/* cmds — `down`, `status` and `fix`: talking to a running supervisor.
 *
 * down sends the supervisor SIGTERM and waits for it (a pidfd: no polling);
 * if the supervisor is gone (killed -9, a crash) it removes what is left
 * itself: every process in NAME-d (found by namespace, never by name) and both
 * namespaces.  fix rewrites the spec, sends SIGHUP and waits (inotify on the
 * state directory) until the supervisor reports the next generation up. */
#include "../core/cli.h"
#include "../core/err.h"
#include "net.h"
#include "spec.h"
#include "sup.h"
#include "testbed_int.h"
#include "truth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits up to timeout s for pid to exit; true if it did. */
static bool wait_exit(pid_t pid, double timeout)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return kill(pid, 0) < 0;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int r = poll(&pf, 1, (int)(timeout * 1000));
    close(fd);
    return r == 1;
}

/* The supervisor is the parent of the device processes: found from NAME-d
 * when the state directory is not the default one down was given. */
struct parent {
    pid_t pid;
};

static int parent_of(pid_t pid, void *ctx)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "r");
    int pp = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "PPid: %d", &pp) == 1) break;
    if (f) fclose(f);
    snprintf(p, sizeof p, "/proc/%d/cmdline", pp);
    FILE *c = pp > 1 ? fopen(p, "r") : NULL;
    size_t n = c ? fread(line, 1, sizeof line - 1, c) : 0;
    if (c) fclose(c);
    line[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!line[i]) line[i] = ' ';
    if (strstr(line, " testbed up")) ((struct parent *)ctx)->pid = pp;
    return -1;
}

static pid_t find_supervisor(const char *dir, const char *name)
{
    pid_t pid = sup_pid(dir);
    if (pid) return pid;
    struct parent par = {0};
    net_each_pid(name, 'd', parent_of, &par);
    return par.pid;
}

int tb_down(const struct args *a)
{
    char dir[4096];
    tb_state_dir(a, false, dir, sizeof dir);
    pid_t pid = find_supervisor(dir, a->name);
    bool was = pid || net_exists(a->name, 'c') || net_exists(a->name, 'd');
    double t0 = mono();
    if (pid) {
        kill(pid, SIGTERM);
        if (!wait_exit(pid, 20)) {
            cli_error("testbed down: supervisor %d did not stop in 20 s; killing it", (int)pid);
            kill(pid, SIGKILL);
            wait_exit(pid, 5);
        }
    }
    /* what a dead supervisor left behind */
    if (net_kill_all(a->name, SIGKILL) > 0 && !pid)
        fprintf(stderr, "mamori testbed: %s: stopped the processes left in %s-d\n", a->name,
                a->name);
    if (net_down(a->name) < 0) {
        cli_error("%s", err_msg());
        return 1;
    }
    if (was)
        printf("mamori testbed: %s down (%.2f s)\n", a->name, mono() - t0);
    else
        printf("mamori testbed: %s was not up\n", a->name);
    return 0;
}

static void print_text(json_t *t)
{
    size_t i, k;
    json_t *h, *s;
    json_array_foreach(json_object_get(t, "hosts"), i, h)
    {
        const char *ip = json_string_value(json_object_get(h, "ip"));
        json_t *svcs = json_object_get(h, "services");
        if (!json_array_size(svcs))
            printf("%-15s %s\n", ip,
                   strcmp(json_string_value(json_object_get(h, "state")), "up") ? "filtered"
                                                                                : "closed");
        json_array_foreach(svcs, k, s)
        {
            json_t *acc = json_object_get(s, "accepts"), *c;
            size_t j;
            printf("%-15s %5d %-6s", ip, (int)json_integer_value(json_object_get(s, "port")),
                   json_string_value(json_object_get(s, "protocol")));
            json_t *p = json_object_get(s, "persona");
            if (!p) p = json_object_get(s, "server");
            printf(" %-24s", p ? json_string_value(p) : "");
            json_array_foreach(acc, j, c)
                printf(" %s:%s", json_string_value(json_object_get(c, "username")),
                       json_string_value(json_object_get(c, "password")));
            putchar('\n');
        }
    }
}

int tb_status(const struct args *a)
{
    char dir[4096], state[600] = "", p[4200];
    tb_state_dir(a, false, dir, sizeof dir);
    pid_t pid = sup_pid(dir);
    int gen = 0;
    bool have_state = sup_state(dir, state, sizeof state, &gen);
    bool up = net_exists(a->name, 'c') && net_exists(a->name, 'd') && pid;
    bool healthy = up && have_state && !strncmp(state, "ready ", 6);
    snprintf(p, sizeof p, "%s/truth.json", dir);
    json_t *t = up ? json_load_file(p, 0, NULL) : NULL;
    if (a->json) {
        if (!t) t = json_pack("{s:s}", "name", a->name);
        json_object_set_new(t, "status",
                            json_pack("{s:b, s:b, s:s, s:i, s:i}", "up", up, "healthy", healthy,
                                      "state", up ? state : "down", "generation", gen, "supervisor",
                                      (int)pid));
        char *s = json_dumps(t, JSON_PRESERVE_ORDER | JSON_INDENT(1));
        puts(s ? s : "{}");
        free(s);
    } else if (!up && (net_exists(a->name, 'c') || net_exists(a->name, 'd'))) {
        printf("%s: down, but its namespaces are left (mamori testbed down --name %s)\n", a->name,
               a->name);
    } else if (!up) {
        printf("%s: down\n", a->name);
    } else {
        printf("%s: up, %s (supervisor %d, generation %d), %zu hosts; truth %s\n", a->name,
               healthy ? "healthy" : state, (int)pid, gen,
               json_array_size(json_object_get(t, "hosts")), p);
        if (t) print_text(t);
    }
    json_decref(t);
    return healthy ? 0 : 1;
}

static void random_password(char *out, size_t len)
{
    static const char al[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    unsigned char r[64];
    if (getrandom(r, len, 0) != (ssize_t)len)
        for (size_t i = 0; i < len; i++) /* getrandom cannot fail for 64 bytes; belt and braces */
            r[i] = (unsigned char)(rand() ^ (int)getpid());
    for (size_t i = 0; i < len; i++)
        out[i] = al[r[i] % (sizeof al - 1)];
    out[len] = 0;
}

/* Marks the services matching "IP" or "IP:PORT"; their count. */
static int fix_one(struct tb_spec *s, const char *arg)
{
    char ip_s[32];
    unsigned long port = 0;
    const char *colon = strchr(arg, ':');
    snprintf(ip_s, sizeof ip_s, "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
    struct in_addr in;
    char *end = NULL;
    if (colon) port = strtoul(colon + 1, &end, 10);
    if (inet_pton(AF_INET, ip_s, &in) != 1 || (colon && (*end || !port || port > 65535)))
        return err_set(-EINVAL, "testbed fix: '%s' is not IP or IP:PORT", arg);
    uint32_t ip = ntohl(in.s_addr);
    int n = 0;
    for (size_t i = 0; i < s->nsvcs; i++) {
        struct tb_service *v = &s->svcs[i];
        if (v->ip != ip || (port && v->port != port)) continue;
        v->nacc = 1;
        random_password(v->acc[0].pass, 20);
        printf("mamori testbed: fixed %s:%u (%s): %s now needs a strong password\n", ip_s, v->port,
               tb_proto_name[v->proto], v->acc[0].user);
        n++;
    }
    return n ? n : err_set(-ENOENT, "testbed fix: %s: no such device in the testbed", arg);
}

/* Waits until the state file names a generation after old (inotify on dir). */
static int wait_generation(const char *dir, int old, double timeout)
{
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in >= 0) inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE);
    double end = mono() + timeout;
    for (;;) {
        char state[600];
        int gen;
        if (sup_state(dir, state, sizeof state, &gen) && gen > old) {
            if (in >= 0) close(in);
            if (!strncmp(state, "ready ", 6)) return 0;
            return err_set(-EIO, "testbed fix: %s", state);
        }
        double left = end - mono();
        if (left <= 0 || !sup_pid(dir)) break;
        struct pollfd pf = {.fd = in, .events = POLLIN};
        char buf[4096];
        if (in >= 0 && poll(&pf, 1, (int)(left * 1000) + 1) > 0)
            while (read(in, buf, sizeof buf) > 0) {
            }
    }
    if (in >= 0) close(in);
    return err_set(-ETIMEDOUT, "testbed fix: the supervisor did not report the change in %.0f s",
                   timeout);
}

int tb_fix(const struct args *a)
{
    char dir[4096], path[4200], state[600];
    tb_state_dir(a, false, dir, sizeof dir);
    pid_t pid = sup_pid(dir);
    int gen = 0;
    if (!pid || !sup_state(dir, state, sizeof state, &gen)) {
        cli_error("testbed fix: %s is not up (no supervisor in %s)", a->name, dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/spec", dir);
    struct tb_spec *s = spec_load(path);
    if (!s) {
        cli_error("%s", err_msg());
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < a->nrest && !rc; i++)
        if (fix_one(s, a->rest[i]) < 0) rc = EXIT_USAGE;
    if (!rc && spec_save(s, path) < 0) rc = 1;
    spec_free(s);
    if (!rc && (kill(pid, SIGHUP) < 0 || wait_generation(dir, gen, 60) < 0)) rc = 1;
    if (rc) cli_error("%s", err_msg());
    return rc;
}
