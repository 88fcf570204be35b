/* sup — the supervisor's life: up, watch, reload, down (see sup.h).
 *
 * State directory: spec (what runs), truth.json, supervisor.pid, state
 * ("ready GEN" / "degraded GEN: why" / "down"), logs/UNIT.log, lure/ userdbs,
 * files/ (what the honeypots capture).  Units are started with
 * PR_SET_PDEATHSIG so that even a killed supervisor takes them along, in their
 * own process group so that a terminal's Ctrl-C reaches only the supervisor,
 * which then stops them in order. */
#include "sup.h"

#include "../core/err.h"
#include "net.h"
#include "ready.h"
#include "truth.h"
#include "units.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sup {
    struct sup_opts *o;
    struct tb_spec *spec;
    struct tb_units units;
    struct tb_env env;
    char spec_path[4200], self[4096], mac[18];
    int gen;
    char degraded[512];
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void sup_path(const char *dir, const char *file, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", dir, file);
}

static void write_file(const char *dir, const char *file, const char *text)
{
    char p[4200], tmp[4300];
    sup_path(dir, file, p, sizeof p);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fputs(text, f);
    if (fclose(f) == 0) rename(tmp, p);
}

static void set_state(struct sup *S)
{
    char line[700];
    if (S->degraded[0])
        snprintf(line, sizeof line, "degraded %d %s\n", S->gen, S->degraded);
    else
        snprintf(line, sizeof line, "ready %d\n", S->gen);
    write_file(S->o->dir, "state", line);
}

/* The last line of a unit's log, for the message when it died. */
static void last_line(const char *dir, const char *unit, char *out, size_t n)
{
    char p[4200], buf[2048];
    snprintf(p, sizeof p, "%s/logs/%s.log", dir, unit);
    *out = 0;
    FILE *f = fopen(p, "r");
    if (!f) return;
    while (fgets(buf, sizeof buf, f))
        if (buf[0] != '\n') snprintf(out, n, "%s", buf);
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
}

static void child_exec(struct sup *S, struct tb_unit *u, pid_t parent, int log)
{
    sigset_t none;
    sigemptyset(&none);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    setpgid(0, 0);
    if (u->nbinds) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
            dprintf(log, "mamori testbed: %s: private mount namespace: %s\n", u->name,
                    strerror(errno));
            _exit(1);
        }
        for (int i = 0; i < u->nbinds; i++)
            if (mount(u->binds[i].src, u->binds[i].dst, NULL, MS_BIND, NULL) < 0) {
                dprintf(log, "mamori testbed: %s: bind %s over %s: %s\n", u->name, u->binds[i].src,
                        u->binds[i].dst, strerror(errno));
                _exit(1);
            }
    }
    if (net_enter(S->o->name, 'd') < 0) {
        dprintf(log, "mamori testbed: %s: %s\n", u->name, err_msg());
        _exit(1);
    }
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    execv(u->argv[0], u->argv);
    dprintf(2, "mamori testbed: %s: exec %s: %s\n", u->name, u->argv[0], strerror(errno));
    _exit(127);
}

static int start_unit(struct sup *S, struct tb_unit *u)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/logs/%s.log", S->o->dir, u->name);
    int log = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) return err_set(-errno, "%s: %s", p, strerror(errno));
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        close(log);
        return err_set(-errno, "%s: fork: %s", u->name, strerror(errno));
    }
    if (pid == 0) child_exec(S, u, parent, log);
    close(log);
    u->pid = pid;
    return 0;
}

/* Stops the given units: SIGTERM, up to 3 s, then SIGKILL; all reaped. */
static void stop_units(struct tb_unit **us, size_t n)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < n; i++)
        if (us[i]->pid > 0) kill(us[i]->pid, SIGTERM);
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += 3;
    for (;;) {
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            if (us[i]->pid > 0) {
                if (waitpid(us[i]->pid, NULL, WNOHANG) == us[i]->pid)
                    us[i]->pid = 0;
                else
                    left++;
            }
        if (!left) return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            break;
        struct timespec ts = {0, 100 * 1000000};
        siginfo_t si;
        sigtimedwait(&set, &si, &ts);
    }
    for (size_t i = 0; i < n; i++)
        if (us[i]->pid > 0) {
            kill(us[i]->pid, SIGKILL);
            waitpid(us[i]->pid, NULL, 0);
            us[i]->pid = 0;
        }
}

static void stop_units_of(struct tb_units *us)
{
    struct tb_unit **all = malloc((us->n + 1) * sizeof *all);
    if (!all) {
        for (size_t i = 0; i < us->n; i++)
            if (us->u[i].pid > 0) kill(us->u[i].pid, SIGKILL);
        return;
    }
    for (size_t i = 0; i < us->n; i++)
        all[i] = &us->u[i];
    stop_units(all, us->n);
    free(all);
}

static void stop_all(struct sup *S)
{
    stop_units_of(&S->units);
    /* anything else in NAME-d (a unit's own children) goes too */
    net_kill_all(S->o->name, SIGKILL);
}

/* ready_wait's check: a unit that exited while coming up fails the wait. */
static int units_alive(void *ctx)
{
    struct sup *S = ctx;
    for (size_t i = 0; i < S->units.n; i++) {
        struct tb_unit *u = &S->units.u[i];
        int st;
        if (u->pid > 0 && waitpid(u->pid, &st, WNOHANG) == u->pid) {
            u->pid = 0;
            char last[300];
            last_line(S->o->dir, u->name, last, sizeof last);
            return err_set(-ECHILD, "device process %s exited%s%s", u->name, *last ? ": " : "",
                           last);
        }
    }
    return 0;
}

/* Waits until the services of the units started in this generation answer. */
static int wait_units(struct sup *S)
{
    size_t n = 0;
    for (size_t i = 0; i < S->units.n; i++)
        if (S->units.u[i].gen == S->gen) n += S->units.u[i].nsvc;
    uint32_t *ip = malloc((n + 1) * sizeof *ip);
    uint16_t *port = malloc((n + 1) * sizeof *port);
    if (!ip || !port) {
        free(ip);
        free(port);
        return err_set(-ENOMEM, "out of memory");
    }
    n = 0;
    for (size_t i = 0; i < S->units.n; i++)
        for (size_t k = 0; S->units.u[i].gen == S->gen && k < S->units.u[i].nsvc; k++) {
            ip[n] = S->units.u[i].ip[k];
            port[n++] = S->units.u[i].port[k];
        }
    int rc = ready_wait(S->o->name, ip, port, n, 20.0 + (double)n / 200, units_alive, S);
    free(ip);
    free(port);
    return rc;
}

/* Generated device configuration of an earlier run in the same directory
 * (userdbs, account files) goes; logs, events, captured files and host keys
 * stay. */
static void clear_generated(const char *dir)
{
    static const struct {
        const char *sub, *suffix;
    } gen[] = {{"lure", ".userdb"}, {"ssh", ".passwd"}, {"ssh", ".shadow"},
               {"ssh", ".group"},   {"ssh", ".shells"}, {"ssh", ".pid"}};
    for (size_t i = 0; i < sizeof gen / sizeof gen[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, gen[i].sub);
        DIR *d = opendir(p);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t n = strlen(e->d_name), k = strlen(gen[i].suffix);
            if (n <= k || strcmp(e->d_name + n - k, gen[i].suffix)) continue;
            char f[4500];
            snprintf(f, sizeof f, "%s/%s", p, e->d_name);
            unlink(f);
        }
        if (d) closedir(d);
    }
}

static int make_dirs(const char *dir)
{
    clear_generated(dir);
    static const char *const sub[] = {"", "/logs", "/lure", "/files"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", dir, sub[i]);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return err_set(-errno, "%s: %s", p, strerror(errno));
    }
    return 0;
}

/* Starts the units not running yet, as this generation's. */
static int start_all(struct sup *S)
{
    for (size_t i = 0; i < S->units.n; i++) {
        struct tb_unit *u = &S->units.u[i];
        if (u->pid > 0) continue;
        u->gen = S->gen;
        if (start_unit(S, u) < 0) return -1;
    }
    return 0;
}

static bool interrupted(void)
{
    sigset_t p;
    sigpending(&p);
    if (!sigismember(&p, SIGTERM) && !sigismember(&p, SIGINT)) return false;
    err_set(-EINTR, "interrupted");
    return true;
}

static int save_truth(struct sup *S)
{
    char p[4200];
    sup_path(S->o->dir, "owners.csv", p, sizeof p);
    if (tb_owners_csv(p, S->spec) < 0) return -1;
    sup_path(S->o->dir, "truth.json", p, sizeof p);
    return tb_truth_write(p, S->spec, S->o->name, S->mac, S->o->dir);
}

static int bring_up(struct sup *S)
{
    if (spec_save(S->spec, S->spec_path) < 0 || interrupted()) return -1;
    if (net_up(S->o->name, S->spec, S->o->dir, S->mac) < 0 || interrupted()) return -1;
    if (units_build(S->spec, &S->env, &S->units) < 0 || interrupted()) return -1;
    if (start_all(S) < 0 || wait_units(S) < 0) return -1;
    return save_truth(S);
}

/* After `fix`: the new spec's units; those with an old unit's key keep its
 * process, the old ones left over stop before the new ones bind. */
static int reload(struct sup *S)
{
    struct tb_spec *ns = spec_load(S->spec_path);
    struct tb_units nu;
    if (!ns) return -1;
    if (units_build(ns, &S->env, &nu) < 0) {
        spec_free(ns);
        return -1;
    }
    for (size_t i = 0; i < nu.n; i++)
        for (size_t k = 0; k < S->units.n; k++)
            if (S->units.u[k].pid > 0 && S->units.u[k].key == nu.u[i].key) {
                nu.u[i].pid = S->units.u[k].pid;
                nu.u[i].gen = S->units.u[k].gen;
                S->units.u[k].pid = 0;
                break;
            }
    stop_units_of(&S->units);
    units_free(&S->units);
    S->units = nu;
    spec_free(S->spec);
    S->spec = ns;
    S->gen++;
    if (start_all(S) < 0 || wait_units(S) < 0) return -1;
    return save_truth(S);
}

/* A unit that exits on its own is started again, up to UNIT_RESTARTS times
 * (a device that crashes under a prober's input should not end a survey);
 * after that the testbed is degraded and status says which and why. */
#define UNIT_RESTARTS 3

static void reap(struct sup *S)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        for (size_t i = 0; i < S->units.n; i++) {
            struct tb_unit *u = &S->units.u[i];
            if (u->pid != pid) continue;
            u->pid = 0;
            char last[300];
            last_line(S->o->dir, u->name, last, sizeof last);
            fprintf(stderr, "mamori testbed: %s exited (%s %d)%s%s\n", u->name,
                    WIFEXITED(st) ? "status" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), *last ? ": " : "", last);
            if (u->restarts < UNIT_RESTARTS && start_unit(S, u) == 0) {
                u->restarts++;
                fprintf(stderr, "mamori testbed: %s started again (%d of %d)\n", u->name,
                        u->restarts, UNIT_RESTARTS);
                continue;
            }
            snprintf(S->degraded, sizeof S->degraded, "%s exited %d times (%s %d)%s%s", u->name,
                     u->restarts + 1, WIFEXITED(st) ? "status" : "signal",
                     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), *last ? ": " : "", last);
            set_state(S);
        }
}

static void watch(struct sup *S, const sigset_t *set)
{
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(set, &si);
        if (sig == SIGTERM || sig == SIGINT) return;
        if (sig == SIGCHLD) reap(S);
        if (sig != SIGHUP) continue;
        int before = S->gen;
        if (reload(S) < 0) {
            snprintf(S->degraded, sizeof S->degraded, "reload failed: %s", err_msg());
            if (S->gen == before) S->gen++; /* fix waits for the next generation either way */
        }
        set_state(S);
    }
}

static void tell(int fd, const char *msg)
{
    if (fd < 0) return;
    size_t n = strlen(msg);
    if (write(fd, msg, n) != (ssize_t)n) {
        /* the parent went away: nobody to tell */
    }
}

/* "ok ..." or the error, to the waiting parent (or the terminal in the foreground). */
static void report(const struct sup_opts *o, int rc, const char *msg)
{
    if (o->ready_fd >= 0) {
        tell(o->ready_fd, msg);
        close(o->ready_fd);
    } else if (rc < 0) {
        fprintf(stderr, "mamori: %s", msg);
    } else if (!o->quiet) {
        fprintf(stderr, "mamori testbed: %s %s", o->name, msg + 3);
        fprintf(stderr, "mamori testbed: %s: Ctrl-C (or mamori testbed down --name %s) stops it\n",
                o->name, o->name);
    }
}

static void sup_init(struct sup *S, struct sup_opts *o, sigset_t *set)
{
    memset(S, 0, sizeof *S);
    S->o = o;
    S->spec = o->spec;
    o->spec = NULL;
    ssize_t l = readlink("/proc/self/exe", S->self, sizeof S->self - 1);
    S->self[l > 0 ? l : 0] = 0;
    sup_path(o->dir, "spec", S->spec_path, sizeof S->spec_path);
    S->env =
        (struct tb_env){.name = o->name, .dir = o->dir, .self = S->self, .spec_path = S->spec_path};
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
    sigprocmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int sup_run(struct sup_opts *o)
{
    static struct sup S; /* one supervisor a process */
    sigset_t set;
    sup_init(&S, o, &set);
    char pid[32], msg[700];
    snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    double t0 = mono();
    int rc = make_dirs(o->dir);
    if (!rc) write_file(o->dir, "supervisor.pid", pid);
    if (!rc) write_file(o->dir, "state", "starting\n");
    if (!rc) rc = bring_up(&S);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "%s\n", err_msg());
        stop_all(&S);
        net_down(o->name);
    } else {
        S.gen = 1;
        set_state(&S);
        snprintf(msg, sizeof msg, "ok %zu hosts, %zu services, %zu processes, up in %.2f s\n",
                 S.spec->nhosts, S.spec->nsvcs, S.units.n, mono() - t0);
    }
    report(o, rc, msg);
    if (rc == 0) {
        watch(&S, &set);
        stop_all(&S);
        if (net_down(o->name) < 0) fprintf(stderr, "mamori: %s\n", err_msg());
    }
    write_file(o->dir, "state", "down\n");
    char p[4200];
    sup_path(o->dir, "supervisor.pid", p, sizeof p);
    unlink(p);
    units_free(&S.units);
    spec_free(S.spec);
    return rc < 0 ? 1 : 0;
}

bool sup_state(const char *dir, char *buf, size_t n, int *gen)
{
    char p[4200];
    sup_path(dir, "state", p, sizeof p);
    FILE *f = fopen(p, "r");
    if (!f) return false;
    bool ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (!ok) return false;
    buf[strcspn(buf, "\n")] = 0;
    *gen = 0;
    sscanf(buf, "%*s %d", gen);
    return true;
}

pid_t sup_pid(const char *dir)
{
    char p[4200], cmd[512];
    sup_path(dir, "supervisor.pid", p, sizeof p);
    FILE *f = fopen(p, "r");
    int pid = 0;
    if (!f) return 0;
    if (fscanf(f, "%d", &pid) != 1) pid = 0;
    fclose(f);
    if (pid <= 1 || kill(pid, 0) < 0) return 0;
    /* a recycled pid is some other program: the supervisor's argv says testbed */
    snprintf(p, sizeof p, "/proc/%d/cmdline", pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t r = read(fd, cmd, sizeof cmd - 1);
    close(fd);
    if (r <= 0) return 0;
    cmd[r] = 0;
    for (ssize_t i = 0; i < r; i++)
        if (!cmd[i]) cmd[i] = ' ';
    return strstr(cmd, " testbed ") ? (pid_t)pid : 0;
}
