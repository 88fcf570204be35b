/* probe — `mamori probe`: application-layer checks of scan results, default-credential logins.
 *
 * Order of a run: options; dictionaries; targets (scan output or explicit addresses with
 * --ports), every address through the exclusion set (special-purpose ranges, --blocklist, the
 * opt-out file; the testbed's range only with --allow-testbed); the audit line (no line, no run);
 * the sinks and the round's opening record; then the loop (loop.c) and the round's closing
 * record.  The option table below is the one source of --help and of the man page's list (a test
 * diffs them). */
#include "probe.h"
#include "../core/audit.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/sandbox.h"
#include "../core/target.h"
#include "../store/sink.h"
#include "../store/store.h"
#include "input.h"
#include "out.h"

#include <errno.h>
#include <getopt.h>
#include <libssh/libssh.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define PROBE_SINKS 16
#define PROBE_DICTS 16
#define PROBE_PORTS 64
#define PROBE_JOBS_MAX ((size_t)1 << 24)

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

enum {
    O_DB = 256,
    O_SINK,
    O_ROUND,
    O_CONTACT,
    O_CONC,
    O_PERHOST,
    O_RATE,
    O_MAXATT,
    O_CTO,
    O_RTO,
    O_HTO,
    O_SSHW,
    O_PATH,
    O_BLOCK,
    O_OPTOUT,
    O_TESTBED,
    O_AUDIT,
    O_PROTO,
    O_TFILE
};

static const struct cli_opt optdefs[] = {
    {"input", 1, 'i', "FILE",
     "scan output to probe: CSV or JSON lines (saddr, sport, success); - for stdin"},
    {"ports", 1, 'p', "LIST",
     "ports for explicit targets or bare address lists; PORT/PROTO names a protocol "
     "(23,2323,8081/http)"},
    {"target-file", 1, O_TFILE, "FILE", "explicit targets, one a line (besides TARGET operands)"},
    {"protocol", 1, O_PROTO, "NAME", "telnet, ssh or http for every port (default: by port)"},
    {"dictionary", 1, 'd', "FILE", "credential list, user:pass or TSV; repeatable (default mirai)"},
    {"max-attempts", 1, O_MAXATT, "N", "login attempts per host:port at most (default 10)"},
    {"output", 1, 'o', "FILE", "JSON lines of results (default - for stdout)"},
    {"db", 1, O_DB, "PATH", "database (default var/mamori.db; - for none)"},
    {"sink", 1, O_SINK, "NAME[:ARG]", "where survey records go; repeatable (default sqlite)"},
    {"round", 1, O_ROUND, "NAME", "survey round (default: the start time, ISO 8601 UTC)"},
    {"contact", 1, O_CONTACT, "TEXT", "scanner identity: who scans, where to opt out (User-Agent)"},
    {"concurrency", 1, O_CONC, "N", "connections open at once (default 256)"},
    {"per-host", 1, O_PERHOST, "N", "connections open to one address at once (default 2)"},
    {"rate", 1, O_RATE, "N", "new connections per second, 0 = no limit (default 200)"},
    {"connect-timeout", 1, O_CTO, "SEC", "to connect (default 5)"},
    {"read-timeout", 1, O_RTO, "SEC", "silence before giving up a step (default 5)"},
    {"host-timeout", 1, O_HTO, "SEC", "for one host:port in all (default 60)"},
    {"ssh-workers", 1, O_SSHW, "N", "threads running SSH checks (default 8)"},
    {"http-path", 1, O_PATH, "PATH", "the page to request (default /)"},
    {"blocklist", 1, O_BLOCK, "FILE", "addresses never to touch, one a line"},
    {"optout", 1, O_OPTOUT, "FILE", "the opt-out list (default var/optout.txt)"},
    {"allow-testbed", 0, O_TESTBED, NULL, "let 198.18.0.0/15 and 2001:db8::/32 be targets"},
    {"audit", 1, O_AUDIT, "FILE",
     "the audit log this run is appended to (default var/audit.jsonl)"},
    {"quiet", 0, 'q', NULL, "no progress line on a terminal"},
    {"help", 0, 'h', NULL, "this help"},
};
#define N_OPTS (sizeof optdefs / sizeof optdefs[0])

static void usage(FILE *f)
{
    fputs("usage: mamori probe [options] (--input FILE | --ports LIST TARGET...)\n\n"
          "Checks telnet, SSH and HTTP services for logins with default credentials: banner,\n"
          "device hints, and whether a dictionary pair is accepted (then disconnects at once).\n"
          "Results are JSON lines and survey records; passwords never appear in either.\n\n",
          f);
    cli_opt_help(f, optdefs, N_OPTS, 28);
}

struct opts {
    const char *input, *ports, *tfile, *protocol, *output, *db, *round, *contact, *http_path;
    const char *dicts[PROBE_DICTS], *sinks[PROBE_SINKS], *audit;
    int n_dicts, n_sinks, proto;
    bool quiet;
    struct target_opts topts;
    struct probe_cfg cfg;
    uint16_t portv[PROBE_PORTS];
    int port_proto[PROBE_PORTS]; /* PORT/PROTO, or -1: by --protocol or the port */
    size_t n_ports;
};

/* "23,2323,8081/http": a port may name its protocol. */
static bool parse_ports(struct opts *o)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", o->ports);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        uint64_t v;
        char *slash = strchr(t, '/');
        int proto = -1;
        if (slash) {
            *slash = 0;
            if ((proto = probe_proto_find(slash + 1)) < 0) {
                cli_error("--ports: '%s' is not telnet, ssh or http", slash + 1);
                return false;
            }
        }
        if (!cli_uint("--ports", t, 1, 65535, &v)) return false;
        if (o->n_ports == PROBE_PORTS) {
            cli_error("--ports: more than %d ports", PROBE_PORTS);
            return false;
        }
        o->port_proto[o->n_ports] = proto;
        o->portv[o->n_ports++] = (uint16_t)v;
    }
    return true;
}

static bool num_opt(int c, const char *arg, struct opts *o)
{
    uint64_t v;
    switch (c) {
    case O_CONC:
        if (!cli_uint("--concurrency", arg, 1, 65536, &v)) return false;
        o->cfg.concurrency = (unsigned)v;
        return true;
    case O_PERHOST:
        if (!cli_uint("--per-host", arg, 1, 64, &v)) return false;
        o->cfg.per_host = (unsigned)v;
        return true;
    case O_RATE:
        return cli_uint("--rate", arg, 0, 10000000, &o->cfg.rate);
    case O_MAXATT:
        if (!cli_uint("--max-attempts", arg, 1, 100000, &v)) return false;
        o->cfg.max_attempts = (unsigned)v;
        return true;
    case O_SSHW:
        if (!cli_uint("--ssh-workers", arg, 1, 256, &v)) return false;
        o->cfg.ssh_workers = (unsigned)v;
        return true;
    case O_CTO:
        return cli_seconds("--connect-timeout", arg, false, 86400, &o->cfg.connect_timeout);
    case O_RTO:
        return cli_seconds("--read-timeout", arg, false, 86400, &o->cfg.read_timeout);
    default:
        return cli_seconds("--host-timeout", arg, false, 86400, &o->cfg.host_timeout);
    }
}

static int parse(int argc, char **argv, struct opts *o)
{
    struct option lo[N_OPTS + 1];
    char shorts[3 * N_OPTS + 1];
    cli_opt_tables(optdefs, N_OPTS, lo, shorts);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        switch (c) {
        case 'i':
            o->input = optarg;
            break;
        case 'p':
            o->ports = optarg;
            break;
        case O_TFILE:
            o->tfile = optarg;
            break;
        case O_PROTO:
            o->protocol = optarg;
            break;
        case 'd':
            if (o->n_dicts == PROBE_DICTS)
                return cli_error("--dictionary: at most %d", PROBE_DICTS), EXIT_USAGE;
            o->dicts[o->n_dicts++] = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case O_DB:
            o->db = optarg;
            break;
        case O_SINK:
            if (!strcmp(optarg, "help")) return sink_list(stdout), -1;
            if (o->n_sinks == PROBE_SINKS)
                return cli_error("--sink: at most %d", PROBE_SINKS), EXIT_USAGE;
            o->sinks[o->n_sinks++] = optarg;
            break;
        case O_ROUND:
            o->round = optarg;
            break;
        case O_CONTACT:
            o->contact = optarg;
            break;
        case O_PATH:
            o->http_path = optarg;
            break;
        case O_BLOCK:
            o->topts.blocklist = optarg;
            break;
        case O_OPTOUT:
            o->topts.optout = optarg;
            break;
        case O_TESTBED:
            o->topts.allow_testbed = true;
            break;
        case O_AUDIT:
            o->audit = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case '?':
            return EXIT_USAGE;
        default:
            if (!num_opt(c, optarg, o)) return EXIT_USAGE;
        }
    }
    if (o->protocol && (o->proto = probe_proto_find(o->protocol)) < 0)
        return cli_error("--protocol: '%s' is not telnet, ssh or http", o->protocol), EXIT_USAGE;
    if (o->ports && !parse_ports(o)) return EXIT_USAGE;
    if (o->http_path && o->http_path[0] != '/')
        return cli_error("--http-path: '%s' does not start with /", o->http_path), EXIT_USAGE;
    for (const char *p = o->http_path ? o->http_path : ""; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return cli_error("--http-path: a space or control byte"), EXIT_USAGE;
    if (o->contact)
        for (const char *p = o->contact; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return cli_error("--contact: a control byte"), EXIT_USAGE;
    if (o->round) { /* notify makes a directory of it */
        bool bad = !*o->round || strlen(o->round) > 128 || !strcmp(o->round, ".") ||
                   !strcmp(o->round, "..");
        for (const char *p = o->round; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == '/' || *p == 0x7f) bad = true;
        if (bad)
            return cli_error("--round: '%s' cannot name a directory (no '/', controls, . or ..)",
                             o->round),
                   EXIT_USAGE;
    }
    bool operands = optind < argc;
    if (!o->input && !operands && !o->tfile)
        return cli_error("probe: no targets (give --input FILE, or --ports and TARGETs)"),
               EXIT_USAGE;
    if (o->input && (operands || o->tfile))
        return cli_error("probe: --input and explicit targets are exclusive"), EXIT_USAGE;
    if (!o->input && !o->n_ports)
        return cli_error("probe: explicit targets need --ports"), EXIT_USAGE;
    return 0;
}

struct jobs {
    struct probe_job *v;
    size_t n, cap;
    uint64_t no_proto, excluded;
    struct target_set *t;
    const struct opts *o;
};

static int push_job(struct jobs *js, const struct ipaddr *ip, uint16_t port, int proto)
{
    if (js->n == PROBE_JOBS_MAX)
        return err_set(-E2BIG, "more than %zu host:port targets in one run", PROBE_JOBS_MAX);
    if (js->n == js->cap) {
        size_t cap = js->cap ? js->cap * 2 : 1024;
        struct probe_job *v = realloc(js->v, cap * sizeof *v);
        if (!v) return err_set(-ENOMEM, "out of memory for targets");
        js->v = v;
        js->cap = cap;
    }
    js->v[js->n++] =
        (struct probe_job){.ip = *ip, .port = port, .proto = (uint8_t)proto, .accepted = -1};
    return 0;
}

static int proto_of(const struct opts *o, uint16_t port)
{
    if (o->protocol) return o->proto;
    for (size_t i = 0; i < o->n_ports; i++)
        if (o->portv[i] == port && o->port_proto[i] >= 0) return o->port_proto[i];
    return probe_proto_for_port(port);
}

/* A result line of the input: its address becomes a target (so it meets every exclusion). */
static int input_add(void *ctx, const char *ip, uint16_t port, const char *where, int no)
{
    struct jobs *js = ctx;
    struct ipaddr a;
    if (ip_parse(ip, &a) < 0)
        return err_set(-EINVAL, "%s:%d: '%s' is not an address", where, no, ip);
    int proto = proto_of(js->o, port);
    if (proto < 0) {
        js->no_proto++;
        return 0;
    }
    if (target_add(js->t, ip) < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", err_msg());
        return err_set(-EPERM, "%s:%d: %s", where, no, msg);
    }
    return push_job(js, &a, port, proto);
}

static int cmp_job(const void *a, const void *b)
{
    const struct probe_job *x = a, *y = b;
    int c = memcmp(&x->ip, &y->ip, sizeof x->ip);
    return c ? c : (int)x->port - (int)y->port;
}

/* Sorted, one job per (address, port), only those the exclusions leave. */
static void keep_allowed(struct jobs *js)
{
    qsort(js->v, js->n, sizeof *js->v, cmp_job);
    size_t w = 0;
    for (size_t i = 0; i < js->n; i++) {
        if (w && !cmp_job(&js->v[w - 1], &js->v[i])) continue;
        if (!target_allowed(js->t, &js->v[i].ip)) {
            js->excluded++;
            continue;
        }
        js->v[w++] = js->v[i];
    }
    js->n = w;
}

static int build_jobs(struct jobs *js, const struct opts *o, int argc, char **argv)
{
    int rc = 0;
    if (o->input) {
        struct input_sink s = {input_add, js, o->portv, o->n_ports};
        rc = input_read(o->input, &s);
        if (rc == 0 && !js->n)
            return err_set(-EINVAL, "%s: no successful results to probe", o->input);
    } else {
        for (int i = optind; rc == 0 && i < argc; i++)
            rc = target_add(js->t, argv[i]);
        if (rc == 0 && o->tfile) rc = target_add_file(js->t, o->tfile);
        for (size_t i = 0; rc == 0 && i < o->n_ports; i++)
            if (proto_of(o, o->portv[i]) < 0)
                rc = err_set(-EINVAL, "--ports: %u has no protocol (give --protocol)", o->portv[i]);
    }
    if (rc == 0) rc = target_finish(js->t);
    if (rc < 0) return rc;
    if (!o->input) {
        uint64_t n = target_count(js->t);
        if (n * o->n_ports > PROBE_JOBS_MAX)
            return err_set(-E2BIG, "%llu addresses x %zu ports: more than %zu targets",
                           (unsigned long long)n, o->n_ports, PROBE_JOBS_MAX);
        for (uint64_t i = 0; rc == 0 && i < n; i++) {
            struct ipaddr a;
            target_get(js->t, i, &a);
            for (size_t p = 0; rc == 0 && p < o->n_ports; p++)
                rc = push_job(js, &a, o->portv[p], proto_of(o, o->portv[p]));
        }
    }
    keep_allowed(js);
    return rc;
}

struct run_ctx {
    struct probe_out out;
    size_t total;
    bool progress;
};

static void on_result(void *ctx, const struct probe_conn *c)
{
    probe_out_result(&((struct run_ctx *)ctx)->out, c);
}

static void tick(void *ctx, const struct probe_stats *st, double elapsed)
{
    struct run_ctx *r = ctx;
    if (r->out.sinks) sinks_flush(r->out.sinks);
    if (r->out.f) fflush(r->out.f);
    if (!r->progress) return;
    double rate = elapsed > 0 ? (double)st->done / elapsed : 0;
    double eta = rate > 0 ? (double)(r->total - st->done) / rate : 0;
    fprintf(stderr,
            "\rprobe: %llu/%zu done (%.1f%%), %.0f hosts/s, %llu connections, %llu accepted, "
            "ETA %.0fs   ",
            (unsigned long long)st->done, r->total,
            r->total ? 100.0 * (double)st->done / (double)r->total : 100.0, rate,
            (unsigned long long)st->conns, (unsigned long long)st->accepted, eta);
}

static struct sinks *open_sinks(const struct opts *o, struct store *db)
{
    struct sink_env env = {.store = db, .kinds = SINK_SURVEY};
    struct sinks *set;
    return sinks_open_specs(o->sinks, (size_t)o->n_sinks, &env, false, &set) < 0 ? NULL : set;
}

static int64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static int load_dicts(struct dict *d, const struct opts *o)
{
    if (!o->n_dicts) return dict_load_default(d);
    for (int i = 0; i < o->n_dicts; i++)
        if (dict_load(d, o->dicts[i]) < 0) return -1;
    return 0;
}

/* Everything after the targets are known: audit, sinks, the loop, the round's records. */
static int run(struct opts *o, struct jobs *js, const struct dict *d)
{
    char round[64], ports[400] = "", iso[40];
    int64_t t0 = wall_us();
    if (!o->round) o->round = cli_iso(t0 / 1000000, round);
    for (size_t i = 0; i < o->n_ports; i++)
        snprintf(ports + strlen(ports), sizeof ports - strlen(ports), "%s%u", i ? "," : "",
                 o->portv[i]);
    struct audit_rec ar = {.tool = "probe",
                           .round = o->round,
                           .targets = target_desc(js->t),
                           .target_count = js->n,
                           .ports = o->n_ports ? ports : "by input",
                           .rate = o->cfg.rate,
                           .dict_size = d->n,
                           .contact = o->contact,
                           .ts_us = t0};
    if (audit_append(o->audit, &ar) < 0) return cli_error("%s", err_msg()), 1;
    struct store *db = NULL;
    struct sinks *sinks = NULL;
    FILE *out = stdout;
    int rc = 1;
    if (sinks_want_db(o->db, o->sinks, (size_t)o->n_sinks) && !(db = store_open(o->db, true))) goto fail;
    if (!(sinks = open_sinks(o, db))) goto fail;
    if (strcmp(o->output, "-") && !(out = fopen(o->output, "w"))) {
        err_set(-errno, "--output %s: %s", o->output, strerror(errno));
        goto fail;
    }
    struct survey_rec rr = {.kind = SURVEY_ROUND,
                            .round = o->round,
                            .ts_us = t0,
                            .tool = "probe",
                            .targets = target_desc(js->t),
                            .contact = o->contact,
                            .rate = o->cfg.rate,
                            .dict_size = d->n};
    if (sinks_put_survey(sinks, &rr) < 0) goto fail;
    struct run_ctx ctx = {.out = {.f = out, .sinks = sinks, .round = o->round},
                          .total = js->n,
                          .progress = !o->quiet && isatty(2)};
    struct probe_run r = {.cfg = &o->cfg,
                          .dict = d,
                          .jobs = js->v,
                          .n_jobs = js->n,
                          .result = on_result,
                          .tick = tick,
                          .ctx = &ctx};
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (probe_loop(&r, &stop_flag) < 0) goto fail;
    if (ctx.progress) fputc('\n', stderr);
    rr.ended_us = wall_us();
    rr.sent = r.st.done;
    rr.hits = r.st.accepted;
    if (sinks_put_survey(sinks, &rr) < 0) goto fail;
    if (!o->quiet)
        fprintf(
            stderr,
            "probe: round %s: %llu of %zu checked, %llu accepted a login, %llu connections, %s\n",
            o->round, (unsigned long long)r.st.done, js->n, (unsigned long long)r.st.accepted,
            (unsigned long long)r.st.conns, cli_iso(rr.ended_us / 1000000, iso));
    rc = stop_flag ? 130 : ctx.out.lost ? 1 : 0;
    if (fflush(out) != 0) rc = (cli_error("--output: write error"), 1);
    goto done;
fail:
    cli_error("%s", err_msg());
done:
    if (out && out != stdout) fclose(out);
    if (sinks && sinks_close(sinks) < 0 && rc == 0) rc = (cli_error("%s", err_msg()), 1);
    if (db) store_close(db);
    return rc;
}

int cmd_probe(int argc, char **argv)
{
    struct opts o = {.output = "-",
                     .db = "var/mamori.db",
                     .http_path = "/",
                     .proto = -1,
                     .cfg = {.concurrency = 256,
                             .per_host = 2,
                             .max_attempts = 10,
                             .ssh_workers = 8,
                             .rate = 200,
                             .connect_timeout = 5,
                             .read_timeout = 5,
                             .host_timeout = 60}};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    o.cfg.http_path = o.http_path;
    o.cfg.stop = &stop_flag;
    snprintf(o.cfg.user_agent, sizeof o.cfg.user_agent, "mamori-probe/%s (%s)", MAMORI_VERSION,
             o.contact ? o.contact : "research survey; no contact given");
    struct dict d = {0};
    struct jobs js = {.o = &o};
    rc = 1;
    if (load_dicts(&d, &o) < 0) {
        cli_error("%s", err_msg());
        rc = EXIT_USAGE;
        goto out;
    }
    if (!(js.t = target_new(&o.topts)) || build_jobs(&js, &o, argc, argv) < 0) {
        cli_error("%s", err_msg());
        rc = EXIT_USAGE;
        goto out;
    }
    if (js.no_proto && !o.quiet)
        fprintf(stderr, "probe: %llu results on ports with no protocol left out (see --protocol)\n",
                (unsigned long long)js.no_proto);
    if (js.excluded && !o.quiet)
        fprintf(stderr,
                "probe: %llu host:port targets excluded (special ranges, blocklist, opt-out)\n",
                (unsigned long long)js.excluded);
    if (!js.n) {
        cli_error("probe: nothing left to probe");
        goto out;
    }
    long nofile = sandbox_raise_nofile();
    if (nofile > 0 && o.cfg.concurrency > (unsigned long)nofile - 64)
        o.cfg.concurrency = nofile > 128 ? (unsigned)(nofile - 64) : 64;
    ssh_init();
    rc = run(&o, &js, &d);
    ssh_finalize();
out:
    free(js.v);
    if (js.t) target_free(js.t);
    dict_free(&d);
    return rc;
}
