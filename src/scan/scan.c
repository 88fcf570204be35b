/* scan — `mamori scan`: a stateless SYN scanner in ZMap's manner.
 *
 * Order: options; targets (explicit, minus special ranges, blocklist and
 * opt-out file); the permutation and key (fresh, or from --resume); the link
 * (interface, source, gateway MAC); the audit line (no line, no scan); the
 * round's start record; the run (run.c); the round's end record.  The option
 * table below is the one source of --help and of getopt's table; a test
 * checks it against doc/mamori-scan.1. */
#include "../core/audit.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../store/store.h"
#include "run.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCAN_SINKS 16
#define WIRE_BITS_PER_PROBE (84 * 8) /* a minimum frame with preamble and gap, as ZMap counts */

enum {
    O_SHARDS = 256,
    O_SHARD,
    O_SEED,
    O_CKPT,
    O_RESUME,
    O_ALL,
    O_DB,
    O_SINK,
    O_ROUND,
    O_CONTACT,
    O_OPTOUT,
    O_TESTBED,
    O_AUDIT,
    O_MAXRT,
    O_NOBYPASS,
    O_BATCH,
};

static const struct cli_opt optdefs[] = {
    {"ports", 1, 'p', "LIST", "ports to probe: 23,80,8000-8100 (required)"},
    {"targets-file", 1, 'f', "FILE", "targets, one a line ('#' comments; - for stdin); repeatable"},
    {"rate", 1, 'r', "PPS", "probes per second, 0 for no limit (default 10000)"},
    {"bandwidth", 1, 'B', "BPS", "the rate as bits per second on the wire: 10M, 1G (K, M, G)"},
    {"threads", 1, 'T', "N", "send threads (default 1)"},
    {"shards", 1, O_SHARDS, "N", "split the scan into N shards (default 1)"},
    {"shard", 1, O_SHARD, "I", "run shard I of N (0-based, default 0)"},
    {"seed", 1, O_SEED, "N", "fixes the permutation (default random)"},
    {"checkpoint", 1, O_CKPT, "FILE", "write progress to FILE every second"},
    {"resume", 1, O_RESUME, "FILE", "go on from a checkpoint FILE (and keep writing it)"},
    {"max-runtime", 1, O_MAXRT, "SEC", "stop sending after SEC seconds (resumable)"},
    {"cooldown", 1, 'c', "SEC", "wait for replies after the last probe (default 3)"},
    {"output", 1, 'o', "FILE", "results (default -, standard output; appended on --resume)"},
    {"output-format", 1, 'O', "FMT", "csv (default) or json (JSON lines), ZMap's field names"},
    {"output-all", 0, O_ALL, NULL, "every reply (RSTs, repeats), not only new SYN-ACKs"},
    {"db", 1, O_DB, "PATH", "database (default var/mamori.db; - for none)"},
    {"sink", 1, O_SINK, "NAME[:ARG]", "where results go; repeatable (default sqlite, to --db)"},
    {"round", 1, O_ROUND, "NAME", "the survey round (default: the start time)"},
    {"contact", 1, O_CONTACT, "TEXT", "scanner identity (who scans, where to opt out)"},
    {"blocklist", 1, 'b', "FILE", "addresses never to probe (CIDRs, ranges, addresses)"},
    {"optout", 1, O_OPTOUT, "FILE", "the opt-out list (default " TARGET_OPTOUT_DEFAULT ")"},
    {"allow-testbed", 0, O_TESTBED, NULL,
     "let targets lie in 198.18.0.0/15, 2001:db8::/32 (testbeds)"},
    {"audit", 1, O_AUDIT, "FILE", "the audit log (default " AUDIT_DEFAULT ")"},
    {"interface", 1, 'i', "IF", "send on IF (default: the route's)"},
    {"source-ip", 1, 'S', "ADDR", "source IPv4 address (default: the interface's)"},
    {"gateway-mac", 1, 'G', "MAC", "the next hop's MAC (default: neighbour table or ARP)"},
    {"batch", 1, O_BATCH, "N", "frames per sendmmsg at full speed (default 64)"},
    {"no-qdisc-bypass", 0, O_NOBYPASS, NULL, "send through the interface's queueing discipline"},
    {"quiet", 0, 'q', NULL, "no status line"},
    {"help", 0, 'h', NULL, "this help"},
};
#define NOPTS (sizeof optdefs / sizeof optdefs[0])

static void usage(FILE *f)
{
    fputs("usage: mamori scan -p PORTS [options] TARGET... \n\n"
          "A stateless TCP SYN scan (ZMap's method): every target address x port once, in a\n"
          "random order; SYN-ACKs and RSTs validated by a keyed cookie. TARGET: a.b.c.d,\n"
          "a.b.c.d/len, a.b.c.d-e.f.g.h, IPv6 addresses or /112 and longer prefixes.\n\n",
          f);
    cli_opt_help(f, optdefs, NOPTS, 32);
}

struct opts {
    const char *ports, *output, *format, *db, *round, *contact, *audit, *ckpt, *resume, *seed;
    const char *files[64], *sinks[SCAN_SINKS];
    unsigned nfiles, nsinks;
    struct target_opts topts;
    struct scan_link link;
    bool have_src, have_gw, have_bw;
    uint64_t rate, bw, threads, shards, shard, batch;
    double max_runtime, cooldown;
    bool quiet, all, no_bypass;
};

static bool esc_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
    return false;
}

static bool parse_bw(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    double mult = *end == 'K' || *end == 'k'   ? 1e3
                  : *end == 'M' || *end == 'm' ? 1e6
                  : *end == 'G' || *end == 'g' ? 1e9
                                               : 1;
    if (mult > 1) end++;
    if (!*s || *end || !(v > 0) || v * mult > 1e12) {
        cli_error("--bandwidth: '%s' is not bits per second (10M, 1G)", s);
        return false;
    }
    *out = (uint64_t)(v * mult);
    return true;
}

static int parse_opt(int c, struct opts *o)
{
    switch (c) {
    case 'p':
        o->ports = optarg;
        break;
    case 'f':
        if (o->nfiles == 64) return cli_error("--targets-file: at most 64"), EXIT_USAGE;
        o->files[o->nfiles++] = optarg;
        break;
    case 'r':
        return cli_uint("--rate", optarg, 0, 100000000, &o->rate) ? 0 : EXIT_USAGE;
    case 'B':
        o->have_bw = true;
        return parse_bw(optarg, &o->bw) ? 0 : EXIT_USAGE;
    case 'T':
        return cli_uint("--threads", optarg, 1, SCAN_THREADS_MAX, &o->threads) ? 0 : EXIT_USAGE;
    case O_SHARDS:
        return cli_uint("--shards", optarg, 1, 65536, &o->shards) ? 0 : EXIT_USAGE;
    case O_SHARD:
        return cli_uint("--shard", optarg, 0, 65535, &o->shard) ? 0 : EXIT_USAGE;
    case O_SEED:
        o->seed = optarg;
        break;
    case O_CKPT:
        o->ckpt = optarg;
        break;
    case O_RESUME:
        o->resume = optarg;
        break;
    case O_MAXRT:
        return cli_seconds("--max-runtime", optarg, true, 1e7, &o->max_runtime) ? 0 : EXIT_USAGE;
    case 'c':
        return cli_seconds("--cooldown", optarg, true, 1e7, &o->cooldown) ? 0 : EXIT_USAGE;
    case 'o':
        o->output = optarg;
        break;
    case 'O':
        o->format = optarg;
        break;
    case O_ALL:
        o->all = true;
        break;
    case O_DB:
        o->db = optarg;
        break;
    case O_SINK:
        if (!strcmp(optarg, "help")) return sink_list(stdout), -1;
        if (o->nsinks == SCAN_SINKS) return cli_error("--sink: at most %d", SCAN_SINKS), EXIT_USAGE;
        if (sink_parse(optarg, &(const struct sink_ops *){0}, NULL, 0) < 0)
            return cli_error("%s", err_msg()), EXIT_USAGE;
        o->sinks[o->nsinks++] = optarg;
        break;
    case O_ROUND:
        o->round = optarg;
        if (!*optarg || strlen(optarg) > 64 || strpbrk(optarg, "/\\") ||
            strspn(optarg, ".") == strlen(optarg) || esc_has_control(optarg))
            return cli_error("--round: '%s' is not a name (1-64 characters, no / or control "
                             "characters: it names a directory)",
                             optarg),
                   EXIT_USAGE;
        break;
    case O_CONTACT:
        o->contact = optarg;
        break;
    case 'b':
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
    case 'i':
        snprintf(o->link.ifname, sizeof o->link.ifname, "%s", optarg);
        break;
    case 'S':
        if (ip_parse(optarg, &o->link.src4) < 0 || !ip_is_v4(&o->link.src4))
            return cli_error("--source-ip: '%s' is not an IPv4 address", optarg), EXIT_USAGE;
        o->have_src = true;
        break;
    case 'G':
        if (net_parse_mac(optarg, o->link.gw_mac) < 0)
            return cli_error("--gateway-mac: %s", err_msg()), EXIT_USAGE;
        o->have_gw = true;
        break;
    case O_BATCH:
        return cli_uint("--batch", optarg, 1, 256, &o->batch) ? 0 : EXIT_USAGE;
    case O_NOBYPASS:
        o->no_bypass = true;
        break;
    case 'q':
        o->quiet = true;
        break;
    case 'h':
        usage(stdout);
        return -1;
    default:
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    struct option lo[NOPTS + 1];
    char so[3 * NOPTS + 1];
    cli_opt_tables(optdefs, NOPTS, lo, so);
    int c, rc;
    while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1)
        if ((rc = parse_opt(c, o)) != 0) return rc;
    if (o->shard >= o->shards)
        return cli_error("--shard %llu: not below --shards %llu", (unsigned long long)o->shard,
                         (unsigned long long)o->shards),
               EXIT_USAGE;
    if (!o->ports) return cli_error("no ports given (--ports 23,80)"), EXIT_USAGE;
    if (!scan_format_find(o->format))
        return cli_error("--output-format: '%s' is not csv or json", o->format), EXIT_USAGE;
    if (o->have_bw) o->rate = o->bw / WIRE_BITS_PER_PROBE ? o->bw / WIRE_BITS_PER_PROBE : 1;
    return 0;
}

/* "23,80,8000-8100" into cfg's sorted unique port list. */
static int parse_ports(const char *s, struct scan_cfg *cfg)
{
    static uint8_t seen[65536];
    memset(seen, 0, sizeof seen);
    const char *p = s;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p) goto bad;
        if (*end == '-') {
            const char *q = end + 1;
            b = strtol(q, &end, 10);
            if (end == q) goto bad;
        }
        if (a < 1 || b > 65535 || a > b) goto bad;
        for (long v = a; v <= b; v++)
            seen[v] = 1;
        if (*end == ',')
            end++;
        else if (*end)
            goto bad;
        p = end;
    }
    cfg->nports = 0;
    for (unsigned v = 1; v < 65536; v++)
        if (seen[v]) cfg->ports[cfg->nports++] = (uint16_t)v;
    if (cfg->nports) return 0;
bad:
    return err_set(-EINVAL, "--ports: '%s' is not a list of ports 1-65535 (23,80,8000-8100)", s);
}

static void on_signal(int sig)
{
    (void)sig;
    scan_interrupt();
}

static int load_targets(struct opts *o, int argc, char **argv, struct scan_cfg *cfg)
{
    if (!(cfg->targets = target_new(&o->topts))) return -ENOMEM;
    for (int i = optind; i < argc; i++)
        if (target_add_list(cfg->targets, argv[i]) < 0) return -EINVAL;
    for (unsigned i = 0; i < o->nfiles; i++)
        if (target_add_file(cfg->targets, o->files[i]) < 0) return -EINVAL;
    return target_finish(cfg->targets);
}

/* A fresh state (permutation and key) or the checkpoint's. */
static int make_state(const struct opts *o, struct scan_cfg *cfg, struct scan_state *st)
{
    uint64_t n = target_count(cfg->targets) * cfg->nports;
    if (n > SCAN_ELEMS_MAX)
        return err_set(-E2BIG, "%llu targets x %u ports: more than 2^40 probes in one run",
                       (unsigned long long)target_count(cfg->targets), cfg->nports);
    if (o->resume) {
        int rc = scan_ckpt_read(o->resume, cfg, st);
        if (rc < 0) return rc;
        if (st->lanes != cfg->threads)
            cfg->threads = st->lanes; /* lanes are per thread: resume keeps the count */
        return 0;
    }
    uint64_t seed;
    uint8_t kb[16];
    if (getrandom(kb, sizeof kb, 0) != sizeof kb || getrandom(&seed, sizeof seed, 0) != sizeof seed)
        return err_set(-EIO, "getrandom: %s", strerror(errno));
    if (o->seed) {
        char *end;
        errno = 0;
        seed = strtoull(o->seed, &end, 0);
        if (!*o->seed || *end || errno)
            return err_set(-EINVAL, "--seed: '%s' is not a number", o->seed);
    }
    memset(st, 0, sizeof *st);
    siphash_key_from_bytes(&st->key, kb);
    st->lanes = cfg->threads;
    return perm_init(&st->perm, n, seed);
}

static int open_sinks(const struct opts *o, struct store **db, struct sinks **set)
{
    if (sinks_want_db(o->db, o->sinks, o->nsinks)) {
        const char *slash = strrchr(o->db, '/');
        if (slash && slash != o->db) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - o->db), o->db);
            mkdir(dir, 0755);
        }
        if (!(*db = store_open(o->db, true))) return -EIO;
    }
    struct sink_env env = {.store = *db, .kinds = SINK_SURVEY};
    return sinks_open_specs(o->sinks, o->nsinks, &env, true, set);
}

static int open_output(const struct opts *o, struct scan_cfg *cfg)
{
    if (!strcmp(o->output, "-")) {
        cfg->out = stdout;
    } else if (!(cfg->out = fopen(o->output, o->resume ? "a" : "w"))) {
        return err_set(-errno, "--output %s: %s", o->output, strerror(errno));
    }
    if (!o->resume || ftell(cfg->out) == 0) cfg->fmt->header(cfg->out);
    return 0;
}

static void put_round(const struct scan_cfg *cfg, const struct opts *o, int64_t t0, int64_t t1,
                      const struct scan_totals *tot)
{
    struct survey_rec r = {.kind = SURVEY_ROUND,
                           .round = cfg->round,
                           .ts_us = t0,
                           .tool = "scan",
                           .targets = target_desc(cfg->targets),
                           .contact = o->contact,
                           .rate = cfg->rate,
                           .ended_us = t1,
                           .sent = tot ? tot->sent : 0,
                           .hits = tot ? tot->hits : 0};
    if (sinks_put_survey(cfg->sinks, &r) < 0) cli_error("%s", err_msg());
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int run(struct opts *o, int argc, char **argv, struct scan_cfg *cfg)
{
    struct scan_state st;
    struct scan_totals tot = {0};
    struct store *db = NULL;
    int rc;
    char round[40];
    int64_t t0 = now_us();
    cfg->round = o->round ? o->round : cli_iso(t0 / 1000000, round);
    if ((rc = load_targets(o, argc, argv, cfg)) < 0 || (rc = parse_ports(o->ports, cfg)) < 0 ||
        (rc = make_state(o, cfg, &st)) < 0)
        return cli_error("%s", err_msg()), EXIT_USAGE;
    if (o->resume && !o->round && st.round[0]) cfg->round = st.round; /* the same round goes on */
    if (o->resume && st.complete) {
        fprintf(stderr, "mamori: --resume %s: that scan is complete\n", o->resume);
        return 0;
    }
    cfg->checkpoint = o->resume ? o->resume : o->ckpt;
    if ((rc = net_resolve(&o->link, target_get_v4(cfg->targets, 0), o->have_src, o->have_gw)) < 0)
        return cli_error("%s", err_msg()), 1;
    struct audit_rec ar = {.tool = "scan",
                           .round = cfg->round,
                           .targets = target_desc(cfg->targets),
                           .target_count = target_count(cfg->targets),
                           .ports = o->ports,
                           .rate = cfg->rate,
                           .contact = o->contact,
                           .ts_us = t0};
    if (audit_append(o->audit, &ar) < 0) return cli_error("%s", err_msg()), 1;
    if ((rc = open_sinks(o, &db, &cfg->sinks)) < 0 || (rc = open_output(o, cfg)) < 0) {
        cli_error("%s", err_msg());
        rc = 1;
        goto out;
    }
    put_round(cfg, o, t0, 0, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rc = scan_run(cfg, &o->link, &st, &tot);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc < 0) cli_error("%s", err_msg());
    put_round(cfg, o, t0, now_us(), &tot);
    if (!o->quiet)
        fprintf(stderr,
                "mamori: scan: sent %llu probes in %.2f s (%.0f pps), %llu replies, %llu hits, "
                "%llu send errors, %llu receive drops%s\n",
                (unsigned long long)tot.sent, tot.elapsed,
                tot.elapsed > 0 ? tot.sent / tot.elapsed : 0, (unsigned long long)tot.replies,
                (unsigned long long)tot.hits, (unsigned long long)tot.send_errors,
                (unsigned long long)tot.drops,
                st.complete ? "" : " (not complete: --resume goes on)");
    rc = rc < 0 ? 1 : 0;
out:
    if (cfg->out && cfg->out != stdout && fclose(cfg->out) != 0)
        rc = 1;
    else if (cfg->out == stdout && fflush(stdout) != 0)
        rc = 1;
    if (cfg->sinks && sinks_close(cfg->sinks) < 0) {
        cli_error("%s", err_msg());
        rc = 1;
    }
    store_close(db);
    return rc;
}

int cmd_scan(int argc, char **argv)
{
    struct opts o = {.output = "-",
                     .format = "csv",
                     .db = "var/mamori.db",
                     .rate = 10000,
                     .threads = 1,
                     .shards = 1,
                     .batch = 64,
                     .cooldown = 3};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    struct scan_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return 1;
    *cfg = (struct scan_cfg){.mod = &scan_mod_tcp_syn,
                             .rate = o.rate,
                             .threads = (unsigned)o.threads,
                             .shards = (unsigned)o.shards,
                             .shard = (unsigned)o.shard,
                             .batch = (unsigned)o.batch,
                             .max_runtime = o.max_runtime,
                             .cooldown = o.cooldown,
                             .quiet = o.quiet,
                             .all_replies = o.all,
                             .qdisc_bypass = !o.no_bypass,
                             .fmt = scan_format_find(o.format),
                             .ports_desc = o.ports};
    rc = run(&o, argc, argv, cfg);
    target_free(cfg->targets);
    free(cfg);
    return rc;
}
