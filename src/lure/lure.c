/* lure — `mamori lure`: an IoT telnet honeypot (BusyBox personas, Cowrie events).
 *
 * Set-up happens while privileged and in this order: load persona and
 * userdb, open the event file, the database and the file store, bind every
 * listener; then chroot, drop to --user and install the seccomp filter;
 * only then accept the first connection.  The loop itself is server.c. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/sandbox.h"
#include "../store/sink.h"
#include "../store/store.h"
#include "log.h"
#include "persona.h"
#include "server.h"
#include "userdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LURE_SINKS 16

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fputs("usage: mamori lure [options]\n\n"
          "An IoT telnet honeypot: emulates a BusyBox device, records logins, commands,\n"
          "download URLs and the files bots build, as Cowrie JSON lines and in the database.\n\n"
          "  -l, --listen ADDR:PORT[,..]  where to listen (default 0.0.0.0:2323; [::]:2323 for "
          "IPv6)\n"
          "  -p, --persona NAME|FILE      device to emulate (default dvr-armv7; also router-mips,\n"
          "                               camera-arm, or a .persona file)\n"
          "  -u, --userdb FILE            accepted logins, Cowrie userdb.txt format\n"
          "                               (default lure/userdb.txt of the data directory:\n"
          "                               Mirai's 62 defaults)\n"
          "  -e, --events FILE            Cowrie JSON lines (default var/lure.json; - for none)\n"
          "      --db PATH                database (default var/mamori.db; - for none)\n"
          "      --sink NAME[:ARG]        where sessions and indicators go; repeatable (default\n"
          "                               sqlite, to --db; jsonl:FILE or jsonl:- for JSON\n"
          "                               lines; --sink help lists them)\n"
          "      --files DIR              where captured files go, named by SHA-256\n"
          "                               (default var/lure-files)\n"
          "      --files-cap BYTES        what DIR may hold in all; past it files are logged,\n"
          "                               not stored (default 1073741824)\n"
          "      --sensor NAME            sensor name in events (default: host name)\n"
          "      --user NAME              drop to this user after binding\n"
          "      --chroot DIR             chroot into DIR after opening files\n"
          "      --no-seccomp             do not install the seccomp filter\n"
          "      --login-timeout SEC      close sessions that have not logged in (default 30)\n"
          "      --idle-timeout SEC       close idle shells (default 180)\n"
          "      --max-sessions N         concurrent sessions (default 20000)\n"
          "      --per-source N           concurrent sessions per source address (default 64)\n"
          "      --rate N                 new sessions per source per minute, 0 = no limit\n"
          "                               (default 60)\n"
          "      --max-input BYTES        input a session may send (default 1048576)\n"
          "      --fs-cap BYTES           files a session may write (default 2097152)\n"
          "      --list-personas          print the bundled personas and exit\n"
          "  -q, --quiet                  no progress line on a terminal\n",
          f);
}

/* Parses "ADDR:PORT" ("[v6]:PORT" for IPv6) and opens a listening socket. */
static int open_listener(const char *spec, char *shown, size_t shown_len)
{
    char host[128];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host)
        return err_set(-EINVAL, "--listen: '%s' is not ADDR:PORT", spec);
    snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || !colon[1] || port < 0 || port > 65535)
        return err_set(-EINVAL, "--listen: '%s' has a bad port", spec);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    bool v6 = host[0] == '[';
    if (v6) {
        size_t hl = strlen(host);
        if (host[hl - 1] != ']') return err_set(-EINVAL, "--listen: '%s' is not [ADDR]:PORT", spec);
        host[hl - 1] = 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            return err_set(-EINVAL, "--listen: '%s' is not an IPv6 address", host + 1);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return err_set(-EINVAL, "--listen: '%s' is not an IPv4 address", host);
        len = sizeof *a;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return err_set(-errno, "--listen %s: %s", spec, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
        int e = errno;
        close(fd);
        return err_set(-e, "--listen %s: %s", spec, strerror(e));
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    char ip[INET6_ADDRSTRLEN];
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(shown, shown_len, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(shown, shown_len, "%s:%u", ip, ntohs(a->sin_port));
    }
    return fd;
}

static void tick(void *ctx, const struct lure_stats *st, size_t open)
{
    (void)ctx;
    fprintf(stderr,
            "\rlure: %zu open, %llu sessions, %llu logins ok, %llu commands, %llu urls, "
            "%llu files, %llu refused   ",
            open, (unsigned long long)st->sessions, (unsigned long long)st->logins_ok,
            (unsigned long long)st->commands, (unsigned long long)st->urls,
            (unsigned long long)st->files,
            (unsigned long long)(st->refused_rate + st->refused_full));
}

struct opts {
    const char *listen, *persona, *userdb, *events, *db, *files, *sensor, *user, *chroot;
    const char *sinks[LURE_SINKS];
    int n_sinks;
    bool seccomp, quiet;
    struct lure_config cfg;
};

static int parse(int argc, char **argv, struct opts *o)
{
    enum {
        O_DB = 256,
        O_FILES,
        O_SENSOR,
        O_USER,
        O_CHROOT,
        O_NOSEC,
        O_LOGIN_T,
        O_IDLE_T,
        O_MAXS,
        O_PERSRC,
        O_RATE,
        O_MAXIN,
        O_FSCAP,
        O_FILESCAP,
        O_LIST,
        O_SINK
    };
    static const struct option lo[] = {{"listen", required_argument, 0, 'l'},
                                       {"persona", required_argument, 0, 'p'},
                                       {"userdb", required_argument, 0, 'u'},
                                       {"events", required_argument, 0, 'e'},
                                       {"db", required_argument, 0, O_DB},
                                       {"files", required_argument, 0, O_FILES},
                                       {"sensor", required_argument, 0, O_SENSOR},
                                       {"user", required_argument, 0, O_USER},
                                       {"chroot", required_argument, 0, O_CHROOT},
                                       {"no-seccomp", no_argument, 0, O_NOSEC},
                                       {"login-timeout", required_argument, 0, O_LOGIN_T},
                                       {"idle-timeout", required_argument, 0, O_IDLE_T},
                                       {"max-sessions", required_argument, 0, O_MAXS},
                                       {"per-source", required_argument, 0, O_PERSRC},
                                       {"rate", required_argument, 0, O_RATE},
                                       {"max-input", required_argument, 0, O_MAXIN},
                                       {"fs-cap", required_argument, 0, O_FSCAP},
                                       {"files-cap", required_argument, 0, O_FILESCAP},
                                       {"list-personas", no_argument, 0, O_LIST},
                                       {"sink", required_argument, 0, O_SINK},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    int c;
    uint64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:p:u:e:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'l':
            o->listen = optarg;
            break;
        case 'p':
            o->persona = optarg;
            break;
        case 'u':
            o->userdb = optarg;
            break;
        case 'e':
            o->events = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case O_DB:
            o->db = optarg;
            break;
        case O_SINK: {
            const struct sink_ops *ops;
            if (!strcmp(optarg, "help")) {
                sink_list(stdout);
                return -1;
            }
            if (o->n_sinks == LURE_SINKS) {
                cli_error("--sink: at most %d sinks", LURE_SINKS);
                return EXIT_USAGE;
            }
            if (sink_parse(optarg, &ops, NULL, 0) < 0) {
                cli_error("%s", err_msg());
                return EXIT_USAGE;
            }
            o->sinks[o->n_sinks++] = optarg;
            break;
        }
        case O_FILES:
            o->files = optarg;
            break;
        case O_SENSOR:
            o->sensor = optarg;
            break;
        case O_USER:
            o->user = optarg;
            break;
        case O_CHROOT:
            o->chroot = optarg;
            break;
        case O_NOSEC:
            o->seccomp = false;
            break;
#define NUM(opt, min, max, dst)                                                                    \
    if (!cli_uint(opt, optarg, min, max, &v)) return EXIT_USAGE;                                   \
    dst = v;                                                                                       \
    break
        case O_LOGIN_T:
            NUM("--login-timeout", 1, 86400, o->cfg.login_timeout);
        case O_IDLE_T:
            NUM("--idle-timeout", 1, 86400, o->cfg.idle_timeout);
        case O_MAXS:
            NUM("--max-sessions", 1, 1000000, o->cfg.max_sessions);
        case O_PERSRC:
            NUM("--per-source", 0, 1000000, o->cfg.per_source);
        case O_RATE:
            NUM("--rate", 0, 1000000, o->cfg.rate);
        case O_MAXIN:
            NUM("--max-input", 64, 1u << 30, o->cfg.max_input);
        case O_FSCAP:
            NUM("--fs-cap", 0, 1u << 30, o->cfg.fs_session);
        case O_FILESCAP:
            NUM("--files-cap", 0, UINT64_C(1) << 60, o->cfg.files_cap);
#undef NUM
        case O_LIST:
            for (int i = 0; persona_builtin[i]; i++) {
                struct persona *p = persona_load(persona_builtin[i]);
                printf("%-12s %s\n", persona_builtin[i], p ? p->description : err_msg());
                persona_free(p);
            }
            return -1;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    return cli_no_operands("lure", argc, argv, optind) ? 0 : EXIT_USAGE;
}

/* The database is opened when a sink writes to it: by default, unless --db -. */
/* Opened before the sandbox: a sink's file stays open across chroot. */
static struct sinks *open_sinks(const struct opts *o, struct store *db, int *rc)
{
    struct sink_env env = {.store = db, .kinds = SINK_SESSIONS | SINK_INDICATORS};
    struct sinks *set;
    *rc = sinks_open_specs(o->sinks, (size_t)o->n_sinks, &env, false, &set);
    return set;
}

/* mkdir -p of path (of its parent only when parent_only), as --db does for
 * its file: a fresh directory runs with the defaults (var/...). */
static int make_dirs(const char *opt, const char *path, bool parent_only)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    if (parent_only) {
        char *slash = strrchr(dir, '/');
        if (!slash) return 0;
        slash[slash == dir] = 0;
    }
    for (char *p = dir + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return err_set(-errno, "%s %s: cannot create directory %s: %s", opt, path, dir,
                           strerror(errno));
        if (!(*p = c)) return 0;
    }
}

/* Lets the unprivileged user write what root opened for it. */
static void hand_over(const char *user, const char *db, const char *events, const char *files)
{
    unsigned uid, gid;
    if (!user || sandbox_lookup(user, &uid, &gid) < 0) return;
    char p[4200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; db && i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", db, suffix[i]);
        if (chown(p, uid, gid) < 0 && errno != ENOENT)
            cli_error("%s: chown: %s", p, strerror(errno));
    }
    if (events && chown(events, uid, gid) < 0) cli_error("%s: chown: %s", events, strerror(errno));
    if (files && chown(files, uid, gid) < 0) cli_error("%s: chown: %s", files, strerror(errno));
}

int cmd_lure(int argc, char **argv)
{
    struct opts o = {.listen = "0.0.0.0:2323",
                     .persona = "dvr-armv7",
                     .events = "var/lure.json",
                     .db = "var/mamori.db",
                     .files = "var/lure-files",
                     .seccomp = true,
                     .cfg = {.login_timeout = 30,
                             .idle_timeout = 180,
                             .max_sessions = 20000,
                             .per_source = 64,
                             .rate = 60,
                             .max_input = 1 << 20,
                             .max_commands = 2000,
                             .login_tries = 3,
                             .fs_session = 2 << 20,
                             .fs_total = 512u << 20,
                             .files_cap = UINT64_C(1) << 30}};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    char userdb_path[4096], sensor[64];
    if (!o.userdb) {
        if (!cli_data_file("lure/userdb.txt", userdb_path, sizeof userdb_path)) {
            cli_error("--userdb: no default userdb (lure/userdb.txt) in any data directory: "
                      "set MAMORI_DATA or give --userdb");
            return 1;
        }
        o.userdb = userdb_path;
    }
    if (o.sensor)
        snprintf(sensor, sizeof sensor, "%s", o.sensor);
    else if (gethostname(sensor, sizeof sensor) < 0)
        strcpy(sensor, "mamori");
    sensor[sizeof sensor - 1] = 0;
    if (o.user) {
        unsigned uid, gid;
        if (sandbox_lookup(o.user, &uid, &gid) < 0) {
            cli_error("%s", err_msg());
            return EXIT_USAGE;
        }
    }

    struct persona *p = NULL;
    struct userdb *udb = NULL;
    struct store *db = NULL;
    struct sinks *sinks = NULL;
    struct lure_log *log = NULL;
    struct lure_server *srv = NULL;
    rc = 1;
    if (!(p = persona_load(o.persona)) || !(udb = userdb_load(o.userdb))) {
        cli_error("%s", err_msg());
        goto out;
    }
    if (sinks_want_db(o.db, o.sinks, (size_t)o.n_sinks) && !(db = store_open(o.db, true))) {
        cli_error("%s", err_msg());
        goto out;
    }
    int src = 0;
    if (!(sinks = open_sinks(&o, db, &src))) {
        cli_error("%s", err_msg());
        rc = src == -EINVAL ? EXIT_USAGE : 1;
        goto out;
    }
    const char *events = strcmp(o.events, "-") ? o.events : NULL;
    if ((events && make_dirs("--events", events, true) < 0) ||
        !(log = lure_log_open(events, sinks, sensor, p->name))) {
        cli_error("%s", err_msg());
        goto out;
    }
    o.cfg.files_dir = -1;
    if (strcmp(o.files, "-")) {
        if (make_dirs("--files", o.files, false) < 0) {
            cli_error("%s", err_msg());
            goto out;
        }
        o.cfg.files_dir = open(o.files, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (o.cfg.files_dir < 0) {
            cli_error("--files %s: %s", o.files, strerror(errno));
            goto out;
        }
        o.cfg.files_path = o.files;
    }
    long nofile = sandbox_raise_nofile();
    if (nofile > 0 && o.cfg.max_sessions > (unsigned long)nofile - 64)
        o.cfg.max_sessions = nofile > 128 ? (unsigned)(nofile - 64) : 64;
    o.cfg.persona = p;
    o.cfg.userdb = udb;
    o.cfg.log = log;
    if (!o.quiet && isatty(2)) o.cfg.tick = tick;
    if (!(srv = lure_server_new(&o.cfg))) {
        cli_error("lure: cannot create the event loop: %s", strerror(errno));
        goto out;
    }
    char shown[1024] = "", one[160];
    char *specs = strdup(o.listen);
    for (char *save, *spec = strtok_r(specs, ",", &save); spec; spec = strtok_r(NULL, ",", &save)) {
        int fd = open_listener(spec, one, sizeof one);
        if (fd < 0 || lure_server_listen(srv, fd) < 0) {
            cli_error("%s", fd < 0 ? err_msg() : "--listen: too many addresses");
            if (fd >= 0) close(fd);
            free(specs);
            rc = fd == -EINVAL ? EXIT_USAGE : 1;
            goto out;
        }
        snprintf(shown + strlen(shown), sizeof shown - strlen(shown), "%s%s", *shown ? "," : "",
                 one);
    }
    free(specs);
    /* warm up what would otherwise open files after the sandbox closes */
    unsigned char md[32];
    EVP_Digest("", 0, md, NULL, EVP_sha256(), NULL);
    lure_log_flush(log, 0, true);
    hand_over(o.user, db ? o.db : NULL, events, o.cfg.files_dir >= 0 ? o.files : NULL);
    struct sandbox sb = {.user = o.user, .chroot = o.chroot, .seccomp = o.seccomp};
    if (sandbox_enter(&sb) < 0) {
        cli_error("%s", err_msg());
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "mamori lure: %s on %s (events %s, db %s, files %s)%s%s\n", p->name, shown,
            events ? events : "-", db ? o.db : "-", o.files, o.user ? " as " : "",
            o.user ? o.user : "");
    const struct lure_stats *st = lure_server_stats(srv);
    if (st->recovered_stored || st->recovered_removed)
        fprintf(stderr,
                "mamori lure: %llu staging files left by an earlier run: %llu stored, %llu "
                "removed\n",
                (unsigned long long)(st->recovered_stored + st->recovered_removed),
                (unsigned long long)st->recovered_stored,
                (unsigned long long)st->recovered_removed);
    if (st->recovered_left)
        fprintf(stderr,
                "mamori lure: %llu staging files left alone: another mamori lure uses --files %s\n",
                (unsigned long long)st->recovered_left, o.files);
    if (lure_server_run(srv, &stop_flag) < 0) {
        cli_error("lure: event loop: %s", strerror(errno));
        goto out;
    }
    fprintf(stderr,
            "%smamori lure: %llu sessions (peak %zu open), %llu logins ok, %llu failed, "
            "%llu commands, %llu urls, %llu files, %llu refused by rate, %llu when full%s\n",
            o.cfg.tick ? "\n" : "", (unsigned long long)st->sessions, st->peak_sessions,
            (unsigned long long)st->logins_ok, (unsigned long long)st->logins_failed,
            (unsigned long long)st->commands, (unsigned long long)st->urls,
            (unsigned long long)st->files, (unsigned long long)st->refused_rate,
            (unsigned long long)st->refused_full,
            st->files_unstored ? "; some files not stored: --files-cap reached" : "");
    rc = 0;
out:
    lure_server_free(srv);
    /* records lost by a sink or the events file make the exit non-zero, as observe's */
    if (lure_log_close(log) < 0 && rc == 0) rc = 1;
    if (sinks_close(sinks) < 0) {
        if (rc == 0) cli_error("lure: %s", err_msg());
        if (rc == 0) rc = 1;
    }
    if (o.cfg.files_dir >= 0) close(o.cfg.files_dir);
    store_close(db);
    userdb_free(udb);
    persona_free(p);
    return rc;
}
