/* testbed — `mamori testbed up|down|status|fix`: emulated IoT devices in two
 * network namespaces, for the survey's scan, probe and notify to be tested on.
 *
 * This file is the command line: one option table (which generates --help and
 * which the man page is checked against), the choice of spec (a file or
 * generated), and the daemon hand-off: `up` forks the supervisor (sup.c),
 * which reports "ok" or the one-line error through a pipe once every device
 * answers or everything it made is removed again.  down/status/fix talk to a
 * running supervisor through its state directory and signals. */
#include "../core/cli.h"
#include "../core/err.h"
#include "gen.h"
#include "httpdev.h"
#include "net.h"
#include "spec.h"
#include "sup.h"
#include "testbed_int.h"
#include "truth.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { O_SPEC = 256, O_DEVICES, O_SEED, O_NAME, O_RANGE, O_DIR, O_FG, O_JSON, O_NOSSH, O_HELP };

/* The one option table: getopt's array, --help and the man page's check. */
static const struct opt {
    const char *name, *arg, *help;
    int val, cmds;
} opts[] = {
    {"spec", "FILE", "the devices to emulate (mamori-testbed(1) gives the format)", O_SPEC, UP},
    {"devices", "N", "generate N devices instead (default 200 when no --spec)", O_DEVICES, UP},
    {"seed", "S", "seed of the generated spec (default 1)", O_SEED, UP},
    {"range", "CIDR", "range of a generated spec, inside 198.18.0.0/15 (default 198.18.0.0/20)",
     O_RANGE, UP},
    {"no-ssh", NULL, "a generated spec has no SSH devices", O_NOSSH, UP},
    {"name", "NAME", "testbed name: namespaces NAME-c and NAME-d (default mtb)", O_NAME, ALL},
    {"dir", "DIR", "state directory (default var/testbed/NAME)", O_DIR, ALL},
    {"foreground", NULL, "stay in the foreground; Ctrl-C or SIGTERM takes it down", O_FG, UP},
    {"json", NULL, "print JSON (up: the summary; status: the truth with its health)", O_JSON,
     UP | STATUS},
    {"help", NULL, "this help", O_HELP, ALL},
};
#define NOPTS (sizeof opts / sizeof opts[0])

static const struct sub {
    const char *name, *args, *help;
    int bit;
} subs[] = {
    {"up", "", "bring a testbed up; returns once every device answers", UP},
    {"down", "", "stop its processes and remove its namespaces", DOWN},
    {"status", "", "whether it is up and healthy, and its truth", STATUS},
    {"fix", " IP[:PORT]...", "give these devices a strong password (for a second survey round)",
     FIX},
};

static void usage(FILE *f)
{
    fputs("usage: mamori testbed up|down|status|fix [options]\n\n"
          "Emulated IoT devices (telnet honeypots, HTTP admin pages, SSH, closed and filtered\n"
          "hosts) in two network namespaces, NAME-c (run scan and probe there) and NAME-d,\n"
          "inside 198.18.0.0/15; the truth (who listens, which login works) in DIR/truth.json.\n\n",
          f);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        fprintf(f, "  %-7s%-15s %s\n", subs[i].name, subs[i].args, subs[i].help);
    fputs("\noptions:\n", f);
    for (size_t i = 0; i < NOPTS; i++) {
        char left[40];
        snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        char where[40] = "";
        if (opts[i].cmds != ALL)
            for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++)
                if (opts[i].cmds & subs[k].bit)
                    snprintf(where + strlen(where), sizeof where - strlen(where), "%s%s",
                             *where ? "," : " [", subs[k].name);
        fprintf(f, "  %-18s %s%s%s\n", left, opts[i].help, where, *where ? "]" : "");
    }
}

static int parse(int argc, char **argv, int cmd, struct args *a)
{
    struct option lo[NOPTS + 1];
    for (size_t i = 0; i < NOPTS; i++)
        lo[i] = (struct option){opts[i].name, opts[i].arg ? required_argument : no_argument, 0,
                                opts[i].val};
    lo[NOPTS] = (struct option){0, 0, 0, 0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (c == 'h' || c == O_HELP) {
            usage(stdout);
            return -1;
        }
        const struct opt *o = NULL;
        for (size_t i = 0; i < NOPTS; i++)
            if (opts[i].val == c) o = &opts[i];
        if (!o) {
            usage(stderr);
            return EXIT_USAGE;
        }
        if (!(o->cmds & cmd)) {
            cli_error("testbed: --%s does not apply here", o->name);
            return EXIT_USAGE;
        }
        switch (c) {
        case O_SPEC:
            a->spec = optarg;
            break;
        case O_DEVICES:
            if (!cli_uint("--devices", optarg, 1, TB_MAX_HOSTS, &a->devices)) return EXIT_USAGE;
            a->have_devices = true;
            break;
        case O_SEED:
            if (!cli_uint("--seed", optarg, 0, UINT64_MAX, &a->seed)) return EXIT_USAGE;
            break;
        case O_NAME:
            a->name = optarg;
            break;
        case O_RANGE:
            a->range = optarg;
            break;
        case O_DIR:
            a->dir = optarg;
            break;
        case O_FG:
            a->fg = true;
            break;
        case O_JSON:
            a->json = true;
            break;
        case O_NOSSH:
            a->nossh = true;
            break;
        }
    }
    a->rest = argv + optind;
    a->nrest = argc - optind;
    if (cmd != FIX && a->nrest) {
        cli_error("testbed: unexpected argument '%s'", a->rest[0]);
        return EXIT_USAGE;
    }
    if (cmd == FIX && !a->nrest) {
        cli_error("testbed fix: which devices? (IP or IP:PORT operands)");
        return EXIT_USAGE;
    }
    return 0;
}

/* Names become namespace names and file names: a short, plain word. */
static bool name_ok(const char *n)
{
    size_t l = strlen(n);
    if (!l || l > 24 || n[0] == '-') return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return true;
}

/* The state directory: --dir, or var/testbed/NAME (made when making is asked). */
int tb_state_dir(const struct args *a, bool make, char *out, size_t n)
{
    char d[4096];
    if (a->dir)
        snprintf(d, sizeof d, "%s", a->dir);
    else
        snprintf(d, sizeof d, "var/testbed/%s", a->name);
    if (make)
        for (char *p = d + 1;; p++) {
            if (*p && *p != '/') continue;
            char c = *p;
            *p = 0;
            if (mkdir(d, 0755) < 0 && errno != EEXIST)
                return err_set(-errno, "--dir %s: %s", d, strerror(errno));
            if (!(*p = c)) break;
        }
    if (!realpath(d, out)) {
        if (!make) {
            snprintf(out, n, "%s", d);
            return 0;
        }
        return err_set(-errno, "--dir %s: %s", d, strerror(errno));
    }
    return 0;
}

static struct tb_spec *choose_spec(const struct args *a)
{
    uint32_t net = 0xC6120000u; /* 198.18.0.0/20 */
    int len = 20;
    if (a->range) {
        if (spec_parse_cidr(a->range, &net, &len) < 0) {
            err_set(-EINVAL, "--range %s: not a CIDR (a.b.c.d/len, host bits zero)", a->range);
            return NULL;
        }
        if (!spec_range_ok(net, len)) {
            err_set(-EINVAL, "--range %s: must lie inside 198.18.0.0/15 (off 198.19.255.0/30)",
                    a->range);
            return NULL;
        }
    }
    if (a->spec && a->have_devices) {
        err_set(-EINVAL, "--spec and --devices: give one of them");
        return NULL;
    }
    if (!a->spec)
        return gen_spec(net, len, a->have_devices ? (unsigned)a->devices : 200, a->seed,
                        !a->nossh && units_ssh_available());
    struct tb_spec *s = spec_load(a->spec);
    if (s && a->range && (s->net != net || s->len != len)) {
        err_set(-EINVAL, "--range %s differs from the range of %s", a->range, a->spec);
        spec_free(s);
        return NULL;
    }
    return s;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static void print_up(const struct args *a, const char *dir, const char *ok)
{
    if (!a->json) {
        printf("mamori testbed: %s up: %s", a->name, ok);
        printf("mamori testbed: truth %s/truth.json; run tools with: ip netns exec %s-c ...\n", dir,
               a->name);
        return;
    }
    size_t hosts = 0, svcs = 0, procs = 0;
    double secs = 0;
    sscanf(ok, "%zu hosts, %zu services, %zu processes, up in %lf", &hosts, &svcs, &procs, &secs);
    char truth[4200], cns[64];
    snprintf(truth, sizeof truth, "%s/truth.json", dir);
    snprintf(cns, sizeof cns, "%s-c", a->name);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:f}", "name", a->name, "dir", dir,
                          "truth", truth, "client_ns", cns, "hosts", (json_int_t)hosts, "services",
                          (json_int_t)svcs, "processes", (json_int_t)procs, "seconds", secs);
    char *t = json_dumps(j, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
    puts(t ? t : "{}");
    free(t);
    json_decref(j);
}

/* Background: the supervisor is a daemon child; we wait for its word. */
static int up_daemon(const struct args *a, struct sup_opts *so)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        cli_error("testbed: pipe: %s", strerror(errno));
        return 1;
    }
    char log[4200];
    snprintf(log, sizeof log, "%s/supervisor.log", so->dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("testbed: fork: %s", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        close(p[0]);
        setsid();
        int null = open("/dev/null", O_RDWR);
        int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(null, 0);
        dup2(lf >= 0 ? lf : null, 1);
        dup2(lf >= 0 ? lf : null, 2);
        so->ready_fd = p[1];
        so->quiet = true;
        _exit(sup_run(so));
    }
    close(p[1]);
    spec_free(so->spec);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char msg[1024];
    size_t got = 0;
    bool forwarded = false;
    for (;;) {
        ssize_t r = read(p[0], msg + got, sizeof msg - 1 - got);
        if (r > 0 && (got += (size_t)r) < sizeof msg - 1) continue;
        if (r < 0 && errno == EINTR) {
            if (got_signal && !forwarded) kill(pid, SIGTERM), forwarded = true;
            continue;
        }
        break;
    }
    close(p[0]);
    msg[got] = 0;
    if (!strncmp(msg, "ok ", 3) && !forwarded) {
        print_up(a, so->dir, msg + 3);
        return 0;
    }
    int st;
    waitpid(pid, &st, 0);
    msg[strcspn(msg, "\n")] = 0;
    cli_error("%s", *msg ? msg : "testbed: the supervisor exited before it was up (see its log)");
    return 1;
}

static int tb_up(const struct args *a)
{
    static struct sup_opts so;
    so.name = a->name;
    so.ready_fd = -1;
    if (geteuid() != 0) {
        cli_error("testbed up: needs root (network namespaces)");
        return 1;
    }
    struct tb_spec *s = choose_spec(a);
    if (!s) {
        cli_error("%s", err_msg());
        return EXIT_USAGE;
    }
    if (net_exists(a->name, 'c') || net_exists(a->name, 'd')) {
        cli_error("testbed up: %s is up already (its namespaces exist: mamori testbed down "
                  "--name %s)",
                  a->name, a->name);
        spec_free(s);
        return 1;
    }
    if (tb_state_dir(a, true, so.dir, sizeof so.dir) < 0) {
        cli_error("%s", err_msg());
        spec_free(s);
        return 1;
    }
    so.spec = s;
    if (a->fg) return sup_run(&so);
    return up_daemon(a, &so);
}

int cmd_testbed(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "_http")) { /* the HTTP devices' process (units_http.c) */
        if (argc != 4 || strcmp(argv[2], "--spec")) return EXIT_USAGE;
        if (httpdev_run(argv[3]) < 0) {
            cli_error("%s", err_msg());
            return 1;
        }
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    int bit = 0;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(argv[1], subs[i].name)) bit = subs[i].bit;
    if (!bit) {
        cli_error("testbed: '%s' is not up, down, status or fix", argv[1]);
        return EXIT_USAGE;
    }
    struct args a = {.name = "mtb", .seed = 1};
    int rc = parse(argc - 1, argv + 1, bit, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (!name_ok(a.name)) {
        cli_error("--name %s: use up to 24 of a-z, 0-9, '-', '_'", a.name);
        return EXIT_USAGE;
    }
    switch (bit) {
    case UP:
        return tb_up(&a);
    case DOWN:
        return tb_down(&a);
    case STATUS:
        return tb_status(&a);
    default:
        return tb_fix(&a);
    }
}
