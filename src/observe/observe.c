/* observe — the darknet sensor command: capture source → agg → SQLite.
 *
 * Sources are pcap/pcapng files (several in order; "-" or a FIFO streams) or
 * one live interface, opened through the packet source table (source.h).
 * Frames go to the aggregator in batches, file records with no copy; each
 * closed interval is committed in one transaction.  SIGINT and
 * SIGTERM stop the loop, and the open interval is still flushed.  A damaged
 * capture stops that file with an error, but every complete record before
 * the damage is kept and committed.
 *
 * Packet time only moves forward (agg.h, README "Packet time").  Files are
 * scanned once ahead: they are read in the order of their first timestamps,
 * files that overlap each other are refused, and so is a file whose packets
 * overlap what the database already holds from this sensor, before anything
 * is written (--replace deletes that range first); one file into a database
 * with no interval from this sensor is not scanned.  A stream (stdin, a FIFO)
 * cannot be scanned: each of its intervals is checked just before it is
 * written, and the run stops at the first that overlaps.  A live capture
 * cannot be replayed either, so it never stops for overlap: what is older
 * than the newest packet stored is late. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../store/sink.h"
#include "../store/store.h"
#include "../store/writer.h"
#include "agg.h"
#include "shard.h"
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_GEO_DIR "node_modules/@ip-location-db"
#define LIVE_TIMEOUT_MS 200 /* source_live's read timeout: the drain lasts two of them */
#define LIVE_AHEAD_US (86400 * 1000000LL) /* stored time this far ahead is not our clock's */

static int64_t wall_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static volatile sig_atomic_t stop_requested; /* signals received */

static struct pkt_source *volatile live_src; /* woken by the handler: poll() would not return */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = stop_requested + 1;
    struct pkt_source *s = live_src;
    if (s && s->ops->wake) s->ops->wake(s->st); /* async-signal-safe */
}

struct run {
    struct agg *agg;
    struct store *store; /* NULL when no sqlite sink writes to --db */
    struct sinks *sinks;
    struct writer *writer;
    struct pkt_source *src; /* the input being read */
    int rc;
    bool progress;
    const char *name;
    double t0, last_print, last_live;
    uint64_t drops; /* kernel and interface drops of a live capture */
    uint64_t frames_at_t0;
    bool warned_late, warned_bad_time;
    bool opened; /* some capture was opened: the summary line is due, even of zeros */
    double done; /* of the file being read through the shards, or -1 */
    /* for the MAMORI_STATS line (bench/observe) */
    uint64_t event_rows;
    unsigned threads;
    double read_done; /* when the last packet was read */
    double shard_cpu[SHARD_MAX];
};

/* Once per run each: frames counted apart are a sign the input is not what
 * the operator thinks. */
static void warn_time(struct run *run)
{
    const struct agg_totals *t = agg_totals(run->agg);
    if (t->late && !run->warned_late) {
        run->warned_late = true;
        cli_error("%s: packets older than the interval being counted (beyond %d s of "
                  "reordering) are late: counted in 'late', not aggregated",
                  run->name, (int)(AGG_REORDER_US / 1000000));
    }
    if (t->bad_time && !run->warned_bad_time) {
        run->warned_bad_time = true;
        cli_error("%s: frames dated outside 1970..2100, or alone far ahead of their "
                  "neighbours, are counted in 'bad_time', not aggregated",
                  run->name);
    }
}

static int sink(struct interval_rec *r, void *ctx)
{
    struct run *run = ctx;
    run->event_rows += r->n_events;
    return writer_put(run->writer, r);
}

/* Live-view samples go to the writer four times a second of wall time. */
static void pass_samples(struct run *run, bool force)
{
    double now = cli_now();
    if (!force && now - run->last_live < 0.25) return;
    run->last_live = now;
    struct live_sample v[WRITER_SAMPLES];
    writer_put_samples(run->writer, v, agg_take_samples(run->agg, v, WRITER_SAMPLES));
}

static void show_progress(struct run *run, bool done)
{
    double now = cli_now();
    if (!done && now - run->last_print < 0.5) return;
    run->last_print = now;
    uint64_t frames = agg_totals(run->agg)->frames;
    double rate = now > run->t0 ? (double)(frames - run->frames_at_t0) / (now - run->t0) : 0;
    char pct[16] = "";
    double done_part = run->src ? run->src->ops->progress(run->src->st) : run->done;
    if (done_part >= 0) snprintf(pct, sizeof pct, "%5.1f%% ", 100.0 * done_part);
    fprintf(stderr, "\r\033[K  %s  %s%llu frames  %.2f Mpps", run->name, pct,
            (unsigned long long)frames, rate / 1e6);
    if (done) fputc('\n', stderr);
}

static int feed(struct run *run, const struct pcapf_rec *r, int n)
{
    int rc = run->rc == 0 && n > 0 ? agg_frames(run->agg, r, (size_t)n) : 0;
    if (rc < 0) run->rc = rc;
    return run->rc;
}

/* Opens kind on arg and checks that its link type is one pkt_decode reads;
 * 0, or 1 after saying why not. */
static int open_source(struct run *run, struct pkt_source *src, const char *kind, const char *arg)
{
    if (pkt_source_open(src, kind, arg) < 0) {
        cli_error("%s", err_msg());
        return 1;
    }
    run->src = src;
    run->opened = true;
    run->name = arg;
    int dlt = src->ops->dlt(src->st);
    if (!pkt_linktype_supported(dlt)) {
        const char *nm = pcap_datalink_val_to_name(dlt);
        if (src->ops->live)
            cli_error("interface %s: unsupported link type %d", arg, dlt);
        else
            cli_error("%s: unsupported link type %d (%s)", arg, dlt, nm ? nm : "?");
        pkt_source_close(src);
        run->src = NULL;
        return 1;
    }
    return 0;
}

static int read_file(struct run *run, const char *path)
{
    struct pkt_source src;
    if (open_source(run, &src, "file", path)) return 1;
    struct pcapf_rec r[PKT_SOURCE_BATCH];
    int n, status = 0;
    for (;;) {
        n = pkt_source_next(&src, r, PKT_SOURCE_BATCH);
        if (n == -EAGAIN && !stop_requested) continue; /* a signal interrupted a blocked read */
        if (n <= 0) break;
        feed(run, r, n);
        warn_time(run);
        pass_samples(run, false);
        if (run->progress) show_progress(run, false);
        if (stop_requested || run->rc < 0) break;
    }
    pass_samples(run, true);
    if (run->progress) show_progress(run, true);
    if (run->rc < 0) {
        cli_error("%s", err_msg());
        status = 1;
    } else if (n < 0 && n != -EAGAIN) {
        cli_error("%s", err_msg()); /* "PATH: damaged capture after N complete records: …" */
        status = 1;
    }
    pkt_source_close(&src);
    run->src = NULL;
    return status;
}

/* Shard 0's thread, between batches: what read_file does between dispatches. */
static void shard_poll(void *ctx, struct agg *first, const char *path, double done, bool last)
{
    struct run *run = ctx;
    run->agg = first;
    run->name = path;
    run->done = done;
    run->opened = true;
    warn_time(run);
    pass_samples(run, last);
    if (run->progress) show_progress(run, last);
}

static bool shard_stopping(void)
{
    return stop_requested != 0;
}

struct input {
    const char *path;
    bool scanned;              /* a regular file, read ahead */
    int64_t first_us, last_us; /* packet times the clock will take (-1: none) */
    int64_t floor_us;          /* while scanning: agg's floor, older is late (-1: none) */
};

/* A time the clock takes: in the span unless agg will count it late (older
 * than the start of the newest interval beyond the tolerance), so that one
 * late frame does not make a file overlap the database or the file before. */
static void span(struct input *in, int64_t ts, int64_t iv_us)
{
    if (in->floor_us >= 0 && ts < in->floor_us - AGG_REORDER_US) return;
    if (ts / iv_us * iv_us > in->floor_us) in->floor_us = ts / iv_us * iv_us;
    if (in->first_us < 0 || ts < in->first_us) in->first_us = ts;
    if (ts > in->last_us) in->last_us = ts;
}

static void span_step(struct input *in, const int64_t *held, const struct agg_clock_step *st,
                      int64_t iv_us)
{
    for (size_t i = st->drop; i < st->drop + st->take; i++)
        if (!(st->lone >> i & 1)) span(in, held[i], iv_us);
}

/* The times a regular file's packets will be counted at, through the same
 * clock rule as agg (a lone frame far ahead does not widen the span, nor does
 * a late one).  A file that cannot be read is left to read_file, which says
 * why. */
static void scan_file(struct input *in, int64_t iv_us)
{
    struct stat st;
    in->first_us = in->last_us = in->floor_us = -1;
    if (strcmp(in->path, "-") == 0 || stat(in->path, &st) < 0 || !S_ISREG(st.st_mode)) return;
    struct pcapf *p = pcapf_open(in->path);
    if (!p) return;
    in->scanned = true;
    struct agg_clock c = {0};
    struct agg_clock_step cs;
    int64_t held[AGG_CONFIRM];
    struct pcapf_rec r;
    while (!stop_requested && pcapf_next(p, &r) == 1) {
        int64_t ts = r.ts_us;
        if (ts < 0) continue;
        memcpy(held, c.held, sizeof held);
        agg_clock_feed(&c, ts, &cs);
        span_step(in, held, &cs, iv_us);
        if (!cs.hold) span(in, ts, iv_us);
    }
    memcpy(held, c.held, sizeof held);
    agg_clock_settle(&c, wall_us(), true, &cs);
    span_step(in, held, &cs, iv_us);
    pcapf_free(p);
}

static int64_t max_i64(int64_t x, int64_t y)
{
    return x > y ? x : y;
}

/* Where input packets from first to last start to overlap stored ones: the
 * first AGG_REORDER_US may reorder with the end of what is stored, but an
 * input shorter than that (a few packets) still overlaps at its last. */
static int64_t seam(int64_t first, int64_t last)
{
    return first + AGG_REORDER_US < last ? first + AGG_REORDER_US : last;
}

static int by_first_time(const void *x, const void *y)
{
    const struct input *a = x, *b = y;
    if (a->scanned != b->scanned) return a->scanned ? -1 : 1; /* streams last, as given */
    if (a->first_us != b->first_us) return a->first_us < b->first_us ? -1 : 1;
    return a < b ? -1 : a > b; /* stable */
}

/* One regular file into a database that holds no interval from this sensor:
 * there is nothing to order, overlap or replace, so its span is not needed
 * and the file is not read twice (the scan is a full pass over it).  The
 * header is still opened: a file pcapf cannot read goes to read_file, as a
 * scanned one would, for libpcap's message.  1 when the scan may be skipped. */
static int skip_scan(struct store *store, struct input *in, int n)
{
    struct stat st;
    int64_t f, l;
    if (n != 1 || strcmp(in->path, "-") == 0 || stat(in->path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    /* no database among the sinks: nothing stored to overlap either */
    int k = store ? store_overlap(store, -(INT64_C(1) << 62), INT64_C(1) << 62, &f, &l) : 0;
    if (k != 0) return k < 0 ? k : 0;
    in->first_us = in->last_us = in->floor_us = -1;
    struct pcapf *p = pcapf_open(in->path);
    in->scanned = p != NULL;
    pcapf_free(p);
    return 1;
}

/* Scans the files, sorts them by first packet time and checks their spans
 * against each other and against the database; 0 when the run may start. */
static int plan_inputs(struct store *store, struct input *in, int n, bool replace, int64_t iv)
{
    int skip = skip_scan(store, in, n);
    if (skip < 0) {
        cli_error("%s", err_msg());
        return -1;
    }
    if (skip) return 0;
    for (int i = 0; i < n; i++)
        scan_file(&in[i], iv * 1000000);
    qsort(in, (size_t)n, sizeof *in, by_first_time);
    char a[32], b[32], c[32], d[32];
    const struct input *prev = NULL;
    for (int i = 0; i < n; i++) {
        if (!in[i].scanned || in[i].first_us < 0) continue;
        if (prev && seam(in[i].first_us, in[i].last_us) <= prev->last_us) {
            cli_error("%s (%s .. %s) and %s (%s .. %s) overlap in time: merge them first "
                      "(mergecap); nothing written",
                      prev->path, cli_iso_us(prev->first_us, a), cli_iso_us(prev->last_us, b),
                      in[i].path, cli_iso_us(in[i].first_us, c), cli_iso_us(in[i].last_us, d));
            return -1;
        }
        if (!prev || in[i].last_us > prev->last_us) prev = &in[i];
    }
    if (!store) return 0; /* no database among the sinks: nothing stored to overlap */
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (!in[i].scanned || in[i].first_us < 0) continue;
        int64_t f = 0, l = 0, from = seam(in[i].first_us, in[i].last_us);
        int k = store_overlap(store, from, in[i].last_us, &f, &l);
        if (k < 0) {
            cli_error("%s", err_msg());
            return -1;
        }
        if (k > 0 && !replace) {
            cli_error("%s: its packets (%s .. %s) overlap what the database already holds from "
                      "this sensor (%s .. %s); nothing written (--replace replaces that range)",
                      in[i].path, cli_iso_us(in[i].first_us, a), cli_iso_us(in[i].last_us, b),
                      cli_iso_us(f, c), cli_iso_us(l, d));
            return -1;
        }
        any = any || k > 0;
    }
    if (!any) return 0;
    /* --replace deletes stored rows whole (intervals, per-source event windows,
     * DoS victims): first make sure nothing it would take holds packets the
     * input does not (runs of files that follow each other count together),
     * then delete.  Otherwise a re-capture of a few minutes would silently
     * take the rest of the intervals and event windows at its edges, or a
     * second file's refusal would come after the first file's range was gone. */
    int64_t(*cover)[2] = calloc((size_t)n, sizeof *cover);
    size_t nc = 0;
    if (!cover) {
        cli_error("observe: out of memory");
        return -1;
    }
    for (int i = 0, j; i < n; i = j) {
        j = i + 1;
        if (!in[i].scanned || in[i].first_us < 0) continue;
        int64_t last = in[i].last_us;
        for (; j < n && in[j].scanned && in[j].first_us >= 0 &&
               in[j].first_us <= last + AGG_REORDER_US;
             j++)
            last = max_i64(last, in[j].last_us);
        cover[nc][0] = in[i].first_us;
        cover[nc++][1] = last;
    }
    int64_t f = 0, l = 0;
    int k = store_replace_loss(store, cover, nc, AGG_REORDER_US, &f, &l);
    for (size_t i = 0; i < nc && k == 0; i++)
        k = store_replace_range(store, seam(cover[i][0], cover[i][1]), cover[i][1]);
    free(cover);
    if (k < 0) {
        cli_error("%s", err_msg());
        return -1;
    }
    if (k > 0) {
        cli_error("--replace would delete stored packets from %s to %s that the input does not "
                  "hold (intervals, per-source event windows and DoS victims go whole): give "
                  "input that covers them; nothing written",
                  cli_iso_us(f, a), cli_iso_us(l, b));
        return -1;
    }
    return 0;
}

static int read_live(struct run *run, const char *ifname)
{
    struct pkt_source src;
    if (open_source(run, &src, "live", ifname)) return 1;
    live_src = &src;
    int dlt = src.ops->dlt(src.st);
    /* like tcpdump's "listening on": the capture is armed from here on */
    fprintf(stderr, "mamori: capturing on %s (%s)\n", ifname, pcap_datalink_val_to_name(dlt));
    struct pcapf_rec r[PKT_SOURCE_BATCH];
    int status = 0;
    while (!stop_requested && run->rc == 0) {
        int n = pkt_source_next(&src, r, PKT_SOURCE_BATCH);
        if (n < 0 && n != -EAGAIN) {
            cli_error("%s", err_msg());
            status = 1;
            break;
        }
        if (n > 0) feed(run, r, n);
        if (run->rc == 0) run->rc = agg_tick(run->agg, wall_us());
        warn_time(run);
        pass_samples(run, false);
        if (run->progress) show_progress(run, false);
    }
    pass_samples(run, true);
    /* Stopping: what the kernel already holds was accepted too.  Blocks of the
     * capture ring are handed over at the latest after the read timeout, so
     * drain for two of them without blocking. */
    if (status == 0 && run->rc == 0 && src.ops->drain && src.ops->drain(src.st) == 0) {
        double until = cli_now() + 2 * LIVE_TIMEOUT_MS / 1000.0;
        while (cli_now() < until && run->rc == 0 && stop_requested < 2) {
            int n = pkt_source_next(&src, r, PKT_SOURCE_BATCH);
            if (n > 0) {
                feed(run, r, n);
                continue;
            }
            if (n != -EAGAIN) break;
            struct timespec pause = {0, 5 * 1000000};
            nanosleep(&pause, NULL);
        }
    }
    live_src = NULL;
    if (run->progress) show_progress(run, true);
    run->drops = src.ops->drops ? src.ops->drops(src.st) : 0;
    if (run->drops)
        cli_error("interface %s: %llu packets dropped before observe saw them", ifname,
                  (unsigned long long)run->drops);
    if (run->rc < 0) {
        cli_error("%s", err_msg());
        status = 1;
    }
    pkt_source_close(&src);
    run->src = NULL;
    return status;
}

/* Regular files through `threads` aggregator threads split by source
 * (shard.h); the summary's totals into *t. */
static int read_sharded(struct run *run, const struct input *in, int n, unsigned threads,
                        const struct agg_cfg *acfg, struct agg_totals *t)
{
    struct shard_cfg c = {.agg = *acfg, .n = threads, .poll = shard_poll, .poll_ctx = run,
                          .stopping = shard_stopping};
    struct dos extra[SHARD_MAX];
    struct dos_cfg dcfg;
    dos_cfg_default(&dcfg);
    int status = 0, rc = 0;
    unsigned made = 1;
    struct agg *own = run->agg; /* unused here: shard 0 stands in for it */
    c.dos[0] = acfg->dos;
    for (; made < threads && rc == 0; made++) {
        rc = dos_init(&extra[made], &dcfg);
        c.dos[made] = &extra[made];
    }
    struct shards *sh = rc == 0 ? shards_new(&c) : NULL;
    if (!sh) {
        cli_error("%s", err_msg());
        status = 1;
        rc = -ENOMEM;
    }
    for (int i = 0; i < n && sh && !stop_requested && rc == 0; i++) {
        run->done = -1;
        rc = shards_read(sh, in[i].path);
        if (rc > 0) status |= 1;
        if (rc < 0) {
            run->rc = rc;
            cli_error("%s", err_msg());
            status = 1;
        }
        rc = rc < 0 ? rc : 0;
    }
    run->read_done = cli_now();
    if (sh) {
        if (run->progress) fputs("  committing the last interval and the per-source events...", stderr);
        if (rc == 0 && (rc = shards_finish(sh, wall_us())) < 0) {
            run->rc = rc;
            cli_error("%s", err_msg());
            status = 1;
        }
        run->agg = shards_first(sh);
        warn_time(run);
        shards_totals(sh, t);
        run->threads = shards_cpu(sh, run->shard_cpu);
        shards_free(sh);
    }
    for (unsigned i = 1; i < made; i++)
        dos_free(&extra[i]);
    run->agg = own;
    return status;
}

static void usage(FILE *f)
{
    fputs("usage: mamori observe --darknet CIDR[,CIDR...] (--read FILE... | --interface IF)\n"
          "                      [--db PATH] [--interval SECONDS] [--geo MMDB]... [--asn CSV]...\n"
          "                      [--geo-dir DIR] [--no-geo] [--iot-ports FILE] [--event-window S]\n"
          "                      [--max-sources N] [--threads N] [--replace]\n"
          "                      [--sink NAME[:ARG]]... [--quiet]\n"
          "\n"
          "Watch a darknet: count what reaches unused address space per interval and\n"
          "store it in SQLite (ports, sources, scanner fingerprints, countries, ASNs,\n"
          "surge alerts, backscatter DoS victims).\n"
          "\n"
          "  -d, --darknet LIST    monitored prefixes, IPv4 and/or IPv6 (required)\n"
          "  -r, --read FILE       pcap or pcapng file; repeatable; '-' reads stdin\n"
          "  -i, --interface IF    capture live from IF instead\n"
          "      --db PATH         database (default var/mamori.db)\n"
          "      --interval SEC    interval length on packet time (default 60)\n"
          "      --geo MMDB        MaxMind DB for country and coordinates; repeatable\n"
          "      --asn CSV         ip-location-db ASN ranges (start,end,asn,name); repeatable\n"
          "      --geo-dir DIR     load both from DIR (default " DEFAULT_GEO_DIR ")\n"
          "      --no-geo          no enrichment\n"
          "      --iot-ports FILE  IoT port list (default: built in, see data/iot-ports.txt)\n"
          "      --event-window S  fold per-source events over S seconds (default 3600)\n"
          "      --max-sources N   per-source detail for at most N sources per interval and\n"
          "                        per event window (default 1500000); bounds memory\n"
          "      --threads N       aggregator threads for capture files, split by source\n"
          "                        (default: 2 when two CPUs are free, 1 with --max-sources)\n"
          "      --replace         input overlapping what the database holds from this\n"
          "                        sensor replaces it (default: refused, nothing written)\n"
          "      --sink NAME[:ARG] where records go; repeatable (default sqlite, to --db;\n"
          "                        jsonl:FILE or jsonl:- for JSON lines; --sink help lists them)\n"
          "  -q, --quiet           no progress line\n",
          f);
}

struct opts {
    const char *darknet, *iface, *db, *geo_dir, *iot_file;
    const char **reads, **geos, **asns, **sinks;
    int n_reads, n_geos, n_asns, n_sinks;
    bool use_db; /* some sink writes to --db */
    uint64_t interval, event_window, max_sources, threads;
    bool no_geo, quiet, replace, max_sources_set;
};

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"darknet", required_argument, 0, 'd'},
                                       {"read", required_argument, 0, 'r'},
                                       {"interface", required_argument, 0, 'i'},
                                       {"db", required_argument, 0, 'D'},
                                       {"interval", required_argument, 0, 'I'},
                                       {"geo", required_argument, 0, 'g'},
                                       {"asn", required_argument, 0, 'a'},
                                       {"geo-dir", required_argument, 0, 'G'},
                                       {"no-geo", no_argument, 0, 'N'},
                                       {"iot-ports", required_argument, 0, 'P'},
                                       {"event-window", required_argument, 0, 'E'},
                                       {"max-sources", required_argument, 0, 'M'},
                                       {"threads", required_argument, 0, 'T'},
                                       {"replace", no_argument, 0, 'R'},
                                       {"sink", required_argument, 0, 'S'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    o->db = "var/mamori.db";
    o->interval = 60;
    o->event_window = 3600;
    o->max_sources = AGG_MAX_SOURCES;
    o->reads = calloc((size_t)argc, sizeof *o->reads);
    o->geos = calloc((size_t)argc, sizeof *o->geos);
    o->asns = calloc((size_t)argc, sizeof *o->asns);
    o->sinks = calloc((size_t)argc, sizeof *o->sinks);
    if (!o->reads || !o->geos || !o->asns || !o->sinks) return EXIT_FAILURE;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:r:i:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->darknet = optarg;
            break;
        case 'r':
            o->reads[o->n_reads++] = optarg;
            break;
        case 'i':
            o->iface = optarg;
            break;
        case 'D':
            o->db = optarg;
            break;
        case 'I':
            if (!cli_uint("--interval", optarg, 1, 86400, &o->interval)) return EXIT_USAGE;
            break;
        case 'E':
            if (!cli_uint("--event-window", optarg, 1, 7 * 86400, &o->event_window))
                return EXIT_USAGE;
            break;
        case 'M':
            if (!cli_uint("--max-sources", optarg, 1, 1000000000, &o->max_sources))
                return EXIT_USAGE;
            o->max_sources_set = true;
            break;
        case 'T':
            if (!cli_uint("--threads", optarg, 1, SHARD_MAX, &o->threads)) return EXIT_USAGE;
            break;
        case 'g':
            o->geos[o->n_geos++] = optarg;
            break;
        case 'a':
            o->asns[o->n_asns++] = optarg;
            break;
        case 'G':
            o->geo_dir = optarg;
            break;
        case 'N':
            o->no_geo = true;
            break;
        case 'P':
            o->iot_file = optarg;
            break;
        case 'R':
            o->replace = true;
            break;
        case 'S':
            if (!strcmp(optarg, "help")) {
                sink_list(stdout);
                return -1;
            }
            o->sinks[o->n_sinks++] = optarg;
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
    }
    if (!cli_no_operands("observe", argc, argv, optind)) return EXIT_USAGE;
    if (!o->darknet) {
        cli_error("observe: --darknet is required (the unused prefixes this sensor watches)");
        return EXIT_USAGE;
    }
    if (!o->n_reads == !o->iface) {
        cli_error("observe: give --read FILE or --interface IF (exactly one kind)");
        return EXIT_USAGE;
    }
    if (!o->n_sinks) o->sinks[o->n_sinks++] = "sqlite";
    for (int i = 0; i < o->n_sinks; i++) {
        const struct sink_ops *ops;
        if (sink_parse(o->sinks[i], &ops, NULL, 0) < 0) {
            cli_error("%s", err_msg());
            return EXIT_USAGE;
        }
        o->use_db = o->use_db || !strcmp(ops->name, "sqlite");
    }
    return 0;
}

/* The surge detector's baselines travel to and from the store as plain data. */
static int load_baselines(struct store *st, struct surge *sg, int64_t interval)
{
    struct baselines b;
    int rc = store_load_baselines(st, interval, &b);
    if (rc > 0) surge_import(sg, &b);
    baselines_free(&b);
    return rc < 0 ? rc : 0;
}

static int save_baselines(struct store *st, struct surge *sg, int64_t interval)
{
    struct baselines b;
    int rc = surge_export(sg, &b);
    if (rc == 0) rc = store_save_baselines(st, interval, &b);
    baselines_free(&b);
    return rc;
}

/* The sinks --sink names, in order, over the database when one writes to
 * --db: opened before anything is read or replaced, so a sink that cannot
 * open stops the run while nothing is written. */
static int open_sinks(const struct opts *o, struct run *run)
{
    struct sink_env env = {.store = run->store,
                           .kinds = SINK_INTERVALS | SINK_EVENTS | SINK_SAMPLES};
    if (!(run->sinks = sinks_new(true))) return -ENOMEM;
    for (int i = 0; i < o->n_sinks; i++) {
        int rc = sinks_add(run->sinks, o->sinks[i], &env);
        if (rc < 0) return rc;
    }
    return 0;
}

/* What can be refused without the database, before it is opened (and
 * migrated, or created): the --sink specs and every --read file.  A refused
 * command leaves no trace.  A stream ("-", a FIFO) is not opened here: what
 * it holds would be consumed.  EXIT_USAGE or EXIT_FAILURE after saying why,
 * 0 when the run may open the database. */
/* A file a sink writes to, as dev/inode: of the file, or when it is not
 * there yet of its directory plus its name (t.jsonl, ./t.jsonl, d/../t.jsonl
 * are one file).  0, or -1 when neither can be found (open will say why). */
static int file_key(const char *path, dev_t *dev, ino_t *ino, const char **name)
{
    struct stat st;
    *name = "";
    if (stat(path, &st) == 0) {
        *dev = st.st_dev;
        *ino = st.st_ino;
        return 0;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    *name = slash ? slash + 1 : path;
    if (stat(dir, &st) < 0) return -1;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

static bool same_file(const char *a, const char *b)
{
    dev_t da, db;
    ino_t ia, ib;
    const char *na, *nb;
    return file_key(a, &da, &ia, &na) == 0 && file_key(b, &db, &ib, &nb) == 0 && da == db &&
           ia == ib && !strcmp(na, nb);
}

static int check_args(const struct opts *o)
{
    for (int i = 0; i < o->n_sinks; i++) {
        const struct sink_ops *ops, *other;
        char arg[4096], arg2[4096];
        if (sink_parse(o->sinks[i], &ops, arg, sizeof arg) < 0) {
            cli_error("%s", err_msg());
            return EXIT_USAGE;
        }
        if (!strcmp(ops->name, "sqlite") && *arg) { /* as sq_open says it */
            cli_error("--sink sqlite:%s: sqlite takes no argument (it writes to --db)", arg);
            return EXIT_USAGE;
        }
        for (int k = 0; k < i; k++)
            if (sink_parse(o->sinks[k], &other, arg2, sizeof arg2) == 0 && other == ops &&
                !strcmp(arg, arg2)) {
                cli_error("--sink %s: given twice", o->sinks[i]);
                return EXIT_USAGE;
            } else if (other == ops && !strcmp(ops->name, "jsonl") && strcmp(arg, "-") &&
                       strcmp(arg2, "-") && same_file(arg, arg2)) {
                /* sinks_add_ops checks the files opened; this, before anything is created */
                cli_error("--sink %s: the same file as --sink %s", o->sinks[i], o->sinks[k]);
                return EXIT_USAGE;
            }
    }
    /* A --read that does not open (a typo, no permission) refuses the run.  A
     * file that opens but is no capture refuses it only when nothing else is
     * to be read: among good files it is said and skipped at its turn, the
     * good ones still counted (tests/integration/bad_input.sh). */
    int files = 0, bad = 0, streams = 0;
    char why[512] = "";
    for (int i = 0; i < o->n_reads; i++) {
        struct stat st;
        const char *path = o->reads[i];
        if (!strcmp(path, "-") || (stat(path, &st) == 0 && !S_ISREG(st.st_mode))) {
            streams++;
            continue;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cli_error("%s: %s", path, strerror(errno));
            return EXIT_FAILURE;
        }
        close(fd);
        files++;
        struct pkt_source src;
        if (pkt_source_open(&src, "file", path) < 0) {
            if (!bad++) snprintf(why, sizeof why, "%s", err_msg());
            continue;
        }
        int dlt = src.ops->dlt(src.st);
        pkt_source_close(&src);
        if (!pkt_linktype_supported(dlt) && !bad++) {
            const char *nm = pcap_datalink_val_to_name(dlt);
            snprintf(why, sizeof why, "%s: unsupported link type %d (%s)", path, dlt,
                     nm ? nm : "?");
        }
    }
    if (files && bad == files && !streams) {
        cli_error("%s", why);
        return EXIT_FAILURE;
    }
    return 0;
}

static int load_geo(const struct opts *o, struct geo **out)
{
    *out = NULL;
    if (o->no_geo) return 0;
    struct geo *g = geo_new();
    if (!g) return -ENOMEM;
    int rc = 0;
    for (int i = 0; i < o->n_geos && rc == 0; i++)
        rc = geo_add_mmdb(g, o->geos[i]);
    for (int i = 0; i < o->n_asns && rc == 0; i++)
        rc = geo_add_asn_csv(g, o->asns[i]);
    if (rc == 0 && (o->geo_dir || (!o->n_geos && !o->n_asns))) {
        const char *dir = o->geo_dir ? o->geo_dir : getenv("MAMORI_GEO_DIR");
        if (!dir) dir = DEFAULT_GEO_DIR;
        struct stat st;
        if (o->geo_dir && stat(dir, &st) < 0)
            rc = err_set(-errno, "%s: %s", dir, strerror(errno));
        else if (rc == 0)
            rc = geo_add_dir(g, dir) < 0 ? -EINVAL : 0;
    }
    if (rc < 0) {
        geo_free(g);
        return rc;
    }
    if (!geo_has_country(g) && !geo_has_asn(g)) {
        cli_error("geo/ASN enrichment is off: no --geo/--asn given and nothing in %s "
                  "(`make deps` installs it)",
                  DEFAULT_GEO_DIR);
        geo_free(g);
        return 0;
    }
    if (!geo_has_country(g)) cli_error("country enrichment is off: no MaxMind DB loaded");
    if (!geo_has_asn(g)) cli_error("ASN enrichment is off: no ASN ranges loaded");
    *out = g;
    return 0;
}

int cmd_observe(int argc, char **argv)
{
    struct opts o = {0};
    struct pfx_set darknet = {0};
    struct portset iot;
    struct geo *geo = NULL;
    struct surge *surge = NULL;
    struct dos dos = {0};
    struct run run = {0};
    int rc, status = parse(argc, argv, &o);
    if (status) {
        status = status < 0 ? 0 : status;
        goto out;
    }
    status = EXIT_USAGE;
    if (pfx_set_parse_list(&darknet, o.darknet) < 0) {
        cli_error("--darknet: %s", err_msg());
        goto out;
    }
    portset_iot_default(&iot);
    if (o.iot_file && portset_load(&iot, o.iot_file) < 0) {
        cli_error("--iot-ports: %s", err_msg());
        goto out;
    }
    if ((status = check_args(&o))) goto out;
    status = EXIT_FAILURE;
    if (load_geo(&o, &geo) < 0) {
        cli_error("%s", err_msg());
        goto out;
    }
    struct surge_cfg scfg;
    struct dos_cfg dcfg;
    surge_cfg_default(&scfg);
    dos_cfg_default(&dcfg);
    if (!(surge = surge_new(&scfg)) || dos_init(&dos, &dcfg) < 0) {
        cli_error("%s", err_msg());
        goto out;
    }
    if (o.use_db && (!(run.store = store_open(o.db, true)) ||
                     store_background_checkpoints(run.store) < 0 ||
                     load_baselines(run.store, surge, (int64_t)o.interval) < 0)) {
        cli_error("%s", err_msg());
        goto out;
    }
    if ((rc = open_sinks(&o, &run)) < 0) {
        cli_error("%s", err_msg());
        status = rc == -EINVAL ? EXIT_USAGE : EXIT_FAILURE;
        goto out;
    }
    struct input *in = calloc((size_t)o.n_reads + 1, sizeof *in);
    if (!in) goto out;
    for (int i = 0; i < o.n_reads; i++)
        in[i].path = o.reads[i];
    if (plan_inputs(run.store, in, o.n_reads, o.replace, (int64_t)o.interval) < 0) {
        free(in);
        goto out;
    }
    if (run.store) {
        store_set_overlap(run.store, o.replace ? STORE_OVERLAP_REPLACE : STORE_OVERLAP_REFUSE,
                          AGG_REORDER_US);
        store_set_meta(run.store, "darknet", o.darknet);
    }
    struct agg_cfg acfg = {.interval = (int64_t)o.interval,
                           .event_window = (int64_t)o.event_window,
                           .max_sources = (size_t)o.max_sources,
                           .darknet = &darknet,
                           .geo = geo,
                           .iot = &iot,
                           .surge = surge,
                           .dos = &dos,
                           .sink = sink,
                           .sink_ctx = &run};
    if (!(run.writer = writer_start(run.sinks)) || !(run.agg = agg_new(&acfg))) {
        cli_error("%s", err_msg());
        free(in);
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* a sink on a pipe whose reader left (jsonl:- | head) fails with EPIPE and
     * stops the run with its error, the other sinks keeping what was accepted */
    signal(SIGPIPE, SIG_IGN);
    run.progress = !o.quiet && isatty(STDERR_FILENO);
    run.t0 = run.last_print = cli_now();
    status = 0;
    /* Regular files go through the sharded reader (also with one thread: it
     * reads faster than libpcap); a stream among them keeps the whole run on
     * one aggregator fed by libpcap, since a stream cannot be read twice. */
    bool files = o.n_reads > 0;
    for (int i = 0; i < o.n_reads; i++)
        files = files && in[i].scanned;
    unsigned threads = o.threads ? (unsigned)o.threads : o.max_sources_set ? 1 : shard_auto();
    struct agg_totals sharded = {0};
    if (files) status |= read_sharded(&run, in, o.n_reads, threads, &acfg, &sharded);
    for (int i = 0; i < o.n_reads && !files && !stop_requested && run.rc == 0; i++)
        status |= read_file(&run, in[i].path);
    free(in);
    if (o.iface) {
        /* A live capture cannot be refused and replayed: what is older than
         * the database's newest packet (this host's clock went back, say a
         * board without a battery clock before NTP) is late, not a stop.  A
         * stored time more than a day ahead is not this sensor's clock. */
        int64_t now = wall_us(), newest = -1;
        if (run.store && store_newest_time(run.store, now + LIVE_AHEAD_US, &newest) < 0) {
            cli_error("%s", err_msg());
            status = 1;
        } else {
            if (newest > now + AGG_REORDER_US) {
                char a[32], b[32];
                cli_error("%s: the database holds packets up to %s, after this host's clock (%s): "
                          "packets older than that count as late",
                          o.iface, cli_iso_us(newest, a), cli_iso_us(now, b));
            }
            if (newest >= 0) agg_set_floor(run.agg, newest);
            status |= read_live(&run, o.iface);
        }
    }
    rc = 0;
    if (!files) run.read_done = cli_now();
    if (!files) {
        if (run.progress) fputs("  committing the last interval and the per-source events...", stderr);
        rc = agg_settle(run.agg, wall_us());
        if (rc == 0) rc = agg_flush(run.agg, true);
        warn_time(&run);
    }
    double writer_cpu = 0;
    int wrc = writer_close_cpu(run.writer, &writer_cpu);
    if (run.progress) fputs("\r\033[K", stderr);
    run.writer = NULL;
    int src = sinks_close(run.sinks); /* after the writer: it flushed into them */
    run.sinks = NULL;
    if (wrc == 0) wrc = src;
    if (wrc < 0 && wrc == run.rc) { /* the writer's refusal, already said by read_file */
        status = 1;
    } else if (files && run.rc < 0) {
        status = 1; /* said by read_sharded */
    } else if (rc < 0 || wrc < 0 ||
               (run.store && (save_baselines(run.store, surge, (int64_t)o.interval) < 0 ||
                              store_add_counter(run.store, "kernel_drops", run.drops) < 0))) {
        cli_error("%s", err_msg());
        status = 1;
    }
    const struct agg_totals *t = files ? &sharded : agg_totals(run.agg);
    double secs = cli_now() - run.t0;
    char dest[1024] = ""; /* every sink: "s.db, jsonl:F" */
    for (int i = 0; i < o.n_sinks; i++)
        snprintf(dest + strlen(dest), sizeof dest - strlen(dest), "%s%s", i ? ", " : "",
                 strncmp(o.sinks[i], "sqlite", 6) || (o.sinks[i][6] && o.sinks[i][6] != ':')
                     ? o.sinks[i]
                     : o.db);
    if (run.opened) /* also for a capture with no frame at all: zeros say it was read */
        fprintf(
            stderr,
            "mamori: observed %llu darknet packets in %llu intervals (%llu malformed, %llu non-IP, "
            "%llu outside the darknet, %llu late, %llu bad time); %llu surge alerts, %llu DoS "
            "victims; %.2f Mframes/s -> %s%s\n",
            (unsigned long long)t->packets, (unsigned long long)t->intervals,
            (unsigned long long)t->malformed, (unsigned long long)t->non_ip,
            (unsigned long long)t->outside, (unsigned long long)t->late,
            (unsigned long long)t->bad_time, (unsigned long long)t->alerts,
            (unsigned long long)t->dos, secs > 0 ? (double)t->frames / secs / 1e6 : 0.0,
            dest,
            stop_requested          ? " (interrupted)"
            : run.rc < 0 || wrc < 0 ? " (stopped by the error above)"
                                    : "");
    if (t->untracked)
        cli_error(
            "%llu packets came from sources past --max-sources %llu in their interval: counted "
            "in totals, ports and fingerprints, without per-source detail",
            (unsigned long long)t->untracked, (unsigned long long)o.max_sources);
    store_close(run.store); /* here: its last checkpoint is part of the time to exit */
    run.store = NULL;
    if (getenv("MAMORI_STATS")) { /* machine-readable, for bench/observe */
        char cpu[SHARD_MAX * 16] = "";
        for (unsigned i = 0; i < run.threads; i++)
            snprintf(cpu + strlen(cpu), sizeof cpu - strlen(cpu), "%s%.3f", i ? "," : "",
                     run.shard_cpu[i]);
        fprintf(stderr,
                "mamori-stats: threads=%u shard_cpu_s=%s writer_cpu_s=%.3f "
                "last_packet_to_exit_s=%.3f event_rows=%llu\n",
                run.threads ? run.threads : 1, run.threads ? cpu : "-", writer_cpu,
                cli_now() - run.read_done, (unsigned long long)run.event_rows);
    }
out:
    writer_close(run.writer);
    sinks_close(run.sinks);
    agg_free(run.agg);
    store_close(run.store);
    surge_free(surge);
    dos_free(&dos);
    geo_free(geo);
    pfx_set_free(&darknet);
    free(o.reads);
    free(o.geos);
    free(o.asns);
    free(o.sinks);
    return status ? (status == EXIT_USAGE ? EXIT_USAGE : EXIT_FAILURE) : 0;
}
