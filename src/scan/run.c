/* run — the scan's threads (see run.h). */
#include "run.h"
#include "../core/cli.h"
#include "../core/err.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 256
#define RECV_BATCH 64
#define SEEN_PAGE_BITS 21 /* 2^21 bits = 256 KiB a page, made on first use */

static volatile sig_atomic_t interrupted;

void scan_interrupt(void)
{
    interrupted = interrupted + 1; /* a second interrupt skips the cooldown */
}

struct scan_shared;

struct sender {
    struct scan_shared *sh;
    unsigned idx;
    int fd;
    struct perm_lane lane;
    double rate; /* this thread's share, pps; 0: no limit */
    _Atomic uint64_t sent, done, errors, skipped;
    _Atomic bool finished;
    pthread_t tid;
};

struct scan_shared {
    const struct scan_cfg *cfg;
    struct scan_probe_ctx ctx;
    uint64_t count; /* targets */
    double t0;
    _Atomic bool stop_send, stop_recv;
    struct sender send[SCAN_THREADS_MAX];
    int rfd;
    pthread_t rtid;
    _Atomic uint64_t replies, hits, drops;
    uint64_t **seen;
    size_t seen_pages;
    int recv_rc;
    bool recv_on;
};

static double now_s(void)
{
    return cli_now();
}

static int64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void sleep_until(double t)
{
    struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Sends frames [0, k) whole: a full queue (ENOBUFS, EAGAIN) waits a little and
 * tries again, so a probe is never skipped; other errors are counted. */
static void send_all(struct sender *s, struct mmsghdr *m, unsigned k)
{
    unsigned off = 0, stalls = 0;
    while (off < k) {
        int n = sendmmsg(s->fd, m + off, k - off, 0);
        if (n > 0) {
            off += (unsigned)n;
            stalls = 0;
            continue;
        }
        if ((errno == ENOBUFS || errno == EAGAIN || errno == EINTR) && stalls++ < 1000) {
            atomic_fetch_add(&s->errors, errno != EINTR);
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
            continue;
        }
        atomic_fetch_add(&s->errors, k - off);
        return;
    }
}

/* Builds up to batch frames from the lane; how many were built.  fam[k]
 * remembers what buffer k was prepared for (4: the module's IPv4 template). */
static unsigned fill(struct sender *s, uint8_t (*fr)[SCAN_FRAME_MAX], uint8_t *fam,
                     struct iovec *iov, unsigned batch, uint16_t *ipid)
{
    const struct scan_cfg *cfg = s->sh->cfg;
    const struct scan_module *mod = cfg->mod;
    const struct target_set *t = cfg->targets;
    uint64_t count = s->sh->count, count4 = target_count_v4(t), e;
    unsigned k = 0;
    while (k < batch && perm_next(&s->lane, &e)) {
        uint64_t ai = cfg->nports == 1 ? e : e % count;
        uint16_t port = cfg->ports[cfg->nports == 1 ? 0 : e / count];
        if (ai < count4 && mod->make_fast4) {
            uint32_t dst = target_get_v4(t, ai);
            if (!target_allowed_v4(t, dst)) { /* cannot happen: the last guard */
                atomic_fetch_add(&s->skipped, 1);
                continue;
            }
            if (fam[k] != 4) mod->prepare4(&s->sh->ctx, fr[k]), fam[k] = 4;
            iov[k].iov_len = mod->make_fast4(&s->sh->ctx, fr[k], dst, port, (*ipid)++);
        } else {
            struct ipaddr dst;
            target_get(t, ai, &dst);
            if (!target_allowed(t, &dst)) {
                atomic_fetch_add(&s->skipped, 1);
                continue;
            }
            fam[k] = 0;
            iov[k].iov_len = mod->make(&s->sh->ctx, fr[k], &dst, port, (*ipid)++);
        }
        k++;
    }
    return k;
}

static void *send_main(void *arg)
{
    struct sender *s = arg;
    struct scan_shared *sh = s->sh;
    const struct scan_cfg *cfg = sh->cfg;
    static __thread uint8_t frames[BATCH_MAX][SCAN_FRAME_MAX], fam[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    struct mmsghdr m[BATCH_MAX];
    memset(m, 0, sizeof m);
    for (unsigned i = 0; i < BATCH_MAX; i++) {
        iov[i].iov_base = frames[i];
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: the bucket's deadlines are sub-millisecond */
    unsigned batch = cfg->batch;
    if (s->rate > 0) { /* about a thousand batches a second at most */
        double b = s->rate / 1000;
        batch = b < 1 ? 1 : b > batch ? batch : (unsigned)b;
    }
    uint16_t ipid = (uint16_t)(s->idx * 7919);
    uint64_t sent = 0;
    double t0 = now_s();
    while (!atomic_load_explicit(&sh->stop_send, memory_order_relaxed)) {
        unsigned k = fill(s, frames, fam, iov, batch, &ipid);
        if (k == 0) break;
        if (s->rate > 0) {
            double due = t0 + (double)sent / s->rate;
            if (now_s() < due) sleep_until(due);
        }
        send_all(s, m, k);
        sent += k;
        atomic_store_explicit(&s->sent, sent, memory_order_relaxed);
        atomic_store_explicit(&s->done, s->lane.done, memory_order_release);
        if (cfg->max_runtime > 0 && now_s() - sh->t0 >= cfg->max_runtime) break;
    }
    atomic_store(&s->finished, true);
    return NULL;
}

/* Marks element e seen; whether it was already. */
static bool seen_test_set(struct scan_shared *sh, uint64_t e)
{
    size_t pg = (size_t)(e >> SEEN_PAGE_BITS);
    if (pg >= sh->seen_pages) return false;
    if (!sh->seen[pg] && !(sh->seen[pg] = calloc(1, (1u << SEEN_PAGE_BITS) / 8))) return false;
    uint64_t bit = e & ((1u << SEEN_PAGE_BITS) - 1), *w = &sh->seen[pg][bit >> 6];
    bool had = *w >> (bit & 63) & 1;
    *w |= UINT64_C(1) << (bit & 63);
    return had;
}

static void on_reply(struct scan_shared *sh, const struct scan_reply *r, int32_t *port_idx)
{
    const struct scan_cfg *cfg = sh->cfg;
    int64_t ai = target_index(cfg->targets, &r->saddr);
    if (ai < 0 || port_idx[r->sport] < 0) return; /* validated, yet not ours: another shard's */
    uint64_t e = (uint64_t)port_idx[r->sport] * sh->count + (uint64_t)ai;
    bool repeat = seen_test_set(sh, e);
    atomic_fetch_add_explicit(&sh->replies, 1, memory_order_relaxed);
    if (r->success && !repeat) atomic_fetch_add_explicit(&sh->hits, 1, memory_order_relaxed);
    struct scan_result res = {r, repeat, wall_us()};
    if (cfg->out && (cfg->all_replies || (r->success && !repeat))) cfg->fmt->row(cfg->out, &res);
    if (cfg->sinks) {
        struct survey_rec rec = {.kind = SURVEY_OPEN,
                                 .round = cfg->round,
                                 .ts_us = res.ts_us,
                                 .ip = r->saddr,
                                 .port = r->sport,
                                 .sport = r->dport,
                                 .seqnum = r->seqnum,
                                 .acknum = r->acknum,
                                 .window = r->window,
                                 .ttl = r->ttl,
                                 .classification = r->classification,
                                 .success = r->success,
                                 .repeat = repeat};
        if (sinks_put_survey(cfg->sinks, &rec) < 0 && !sh->recv_rc) sh->recv_rc = -EIO;
    }
}

static void *recv_main(void *arg)
{
    struct scan_shared *sh = arg;
    static __thread uint8_t bufs[RECV_BATCH][2048];
    static __thread int32_t port_idx[65536];
    struct iovec iov[RECV_BATCH];
    struct mmsghdr m[RECV_BATCH];
    for (unsigned i = 0; i < 65536; i++)
        port_idx[i] = -1;
    for (uint32_t i = 0; i < sh->cfg->nports; i++)
        port_idx[sh->cfg->ports[i]] = (int32_t)i;
    double last_flush = now_s();
    while (!atomic_load(&sh->stop_recv)) {
        struct pollfd p = {.fd = sh->rfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        memset(m, 0, sizeof m);
        for (unsigned i = 0; i < RECV_BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
            m[i].msg_hdr.msg_iov = &iov[i];
            m[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(sh->rfd, m, RECV_BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < n; i++) {
            struct scan_reply r;
            if (sh->cfg->mod->validate(&sh->ctx, bufs[i], m[i].msg_len, &r))
                on_reply(sh, &r, port_idx);
        }
        if (sh->cfg->out && now_s() - last_flush >= 1) {
            fflush(sh->cfg->out);
            last_flush = now_s();
        }
    }
    return NULL;
}

static void totals(struct scan_shared *sh, struct scan_totals *t)
{
    memset(t, 0, sizeof *t);
    for (unsigned i = 0; i < sh->cfg->threads; i++) {
        t->sent += atomic_load(&sh->send[i].sent);
        t->send_errors += atomic_load(&sh->send[i].errors);
        t->skipped += atomic_load(&sh->send[i].skipped);
    }
    t->replies = atomic_load(&sh->replies);
    t->hits = atomic_load(&sh->hits);
    t->drops = atomic_load(&sh->drops);
    t->elapsed = now_s() - sh->t0;
}

static void snapshot(struct scan_shared *sh, struct scan_state *st)
{
    bool complete = true;
    for (unsigned i = 0; i < st->lanes; i++) {
        st->done[i] = atomic_load_explicit(&sh->send[i].done, memory_order_acquire);
        complete &= st->done[i] >= sh->send[i].lane.total;
    }
    st->complete = complete;
}

static void hms(double s, char *b, size_t n)
{
    long v = s < 0 ? 0 : (long)s;
    snprintf(b, n, "%ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
}

struct ticker {
    struct scan_totals last;
    double last_t;
    unsigned slow_secs;
    bool warned;
    uint64_t total_pos;
};

/* The status line (terminal only) and the saturation warning (always, once). */
static void tick(struct scan_shared *sh, struct ticker *tk, const struct scan_state *st, bool done)
{
    const struct scan_cfg *cfg = sh->cfg;
    struct scan_totals t;
    sh->drops += net_recv_drops(sh->rfd);
    totals(sh, &t);
    double dt = t.elapsed - tk->last_t;
    if (dt <= 0) dt = 1;
    double spps = (double)(t.sent - tk->last.sent) / dt,
           rpps = (double)(t.replies - tk->last.replies) / dt;
    uint64_t pos = 0;
    for (unsigned i = 0; i < st->lanes; i++)
        pos += st->done[i];
    double pct = tk->total_pos ? 100.0 * (double)pos / (double)tk->total_pos : 100;
    bool errs = t.send_errors > tk->last.send_errors || t.drops > tk->last.drops;
    bool slow = cfg->rate && !done && tk->last_t > 0 && spps < 0.9 * (double)cfg->rate;
    tk->slow_secs = (errs || slow) ? tk->slow_secs + 1 : 0;
    if (tk->slow_secs >= 2 && !tk->warned) {
        fprintf(stderr,
                "mamori: warning: sending %.0f pps of %llu asked, %llu send errors, %llu receive "
                "drops: the link (or this host) is saturated; lower --rate\n",
                spps, (unsigned long long)cfg->rate, (unsigned long long)t.send_errors,
                (unsigned long long)t.drops);
        tk->warned = true;
    }
    if (!cfg->quiet && isatty(2)) {
        char el[16], eta[16];
        hms(t.elapsed, el, sizeof el);
        double rate = t.elapsed > 0 ? (double)pos / t.elapsed : 0;
        hms(rate > 0 && !done ? (double)(tk->total_pos - pos) / rate : 0, eta, sizeof eta);
        fprintf(stderr,
                "\r%s %5.1f%%  send %.1f kpps  recv %.1f kpps  drops %llu  errors %llu  hits %llu  "
                "ETA %s ",
                el, pct, spps / 1e3, rpps / 1e3, (unsigned long long)t.drops,
                (unsigned long long)t.send_errors, (unsigned long long)t.hits, eta);
    }
    tk->last = t;
    tk->last_t = t.elapsed;
}

static int start(struct scan_shared *sh, const struct scan_link *l, struct scan_state *st)
{
    const struct scan_cfg *cfg = sh->cfg;
    char filter[256], a4[IP_STRLEN], a6[IP_STRLEN];
    uint16_t base = sh->ctx.sport_base;
    bool v6 = target_count_v4(cfg->targets) < sh->count && !ip_is_v4(&l->src6);
    ip_format(&l->src4, a4);
    ip_format(&l->src6, a6);
    snprintf(filter, sizeof filter, "tcp dst portrange %u-%u and (dst host %s%s%s)", base,
             base + SCAN_SPORT_SPAN - 1, a4, v6 ? " or dst host " : "", v6 ? a6 : "");
    if ((sh->rfd = net_recv_socket(l, filter)) < 0) return sh->rfd;
    sh->seen_pages = (size_t)((sh->count * cfg->nports) >> SEEN_PAGE_BITS) + 1;
    if (!(sh->seen = calloc(sh->seen_pages, sizeof *sh->seen)))
        return err_set(-ENOMEM, "scan: out of memory");
    if (pthread_create(&sh->rtid, NULL, recv_main, sh))
        return err_set(-EAGAIN, "scan: cannot start the receive thread");
    sh->recv_on = true;
    sh->t0 = now_s();
    for (unsigned i = 0; i < cfg->threads; i++) {
        struct sender *s = &sh->send[i];
        s->sh = sh;
        s->idx = i;
        s->fd = -1;
    }
    for (unsigned i = 0; i < cfg->threads; i++) {
        struct sender *s = &sh->send[i];
        if ((s->fd = net_send_socket(l, cfg->qdisc_bypass)) < 0) return s->fd;
        perm_lane_init(&s->lane, &st->perm, cfg->shard + (uint64_t)cfg->shards * i,
                       (uint64_t)cfg->shards * cfg->threads, st->done[i]);
        s->done = s->lane.done;
        s->rate = cfg->rate ? (double)cfg->rate / cfg->threads : 0;
        if (pthread_create(&s->tid, NULL, send_main, s)) {
            s->fd = -1;
            return err_set(-EAGAIN, "scan: cannot start send thread %u", i);
        }
    }
    return 0;
}

static bool all_sent(struct scan_shared *sh)
{
    for (unsigned i = 0; i < sh->cfg->threads; i++)
        if (!atomic_load(&sh->send[i].finished)) return false;
    return true;
}

/* Status and checkpoint each second until the senders finish, then the cooldown. */
static int supervise(struct scan_shared *sh, struct scan_state *st)
{
    const struct scan_cfg *cfg = sh->cfg;
    struct ticker tk = {0};
    for (unsigned i = 0; i < cfg->threads; i++)
        tk.total_pos += sh->send[i].lane.total;
    double next = now_s() + 1, sent_at = 0;
    int rc = 0;
    for (;;) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
        if (interrupted) atomic_store(&sh->stop_send, true);
        bool done = all_sent(sh);
        if (done && sent_at == 0) sent_at = now_s();
        if (now_s() >= next) {
            snapshot(sh, st);
            tick(sh, &tk, st, done);
            if (cfg->checkpoint && rc == 0) rc = scan_ckpt_write(cfg->checkpoint, cfg, st);
            next += 1;
        }
        if (done && now_s() - sent_at >= cfg->cooldown) break;
        if (done && interrupted > 1) break;
    }
    return rc;
}

int scan_run(const struct scan_cfg *cfg, const struct scan_link *l, struct scan_state *st,
             struct scan_totals *tot)
{
    struct scan_shared *sh = calloc(1, sizeof *sh);
    if (!sh) return err_set(-ENOMEM, "scan: out of memory");
    sh->cfg = cfg;
    sh->count = target_count(cfg->targets);
    sh->ctx = (struct scan_probe_ctx){.key = st->key, .src4 = l->src4, .src6 = l->src6, .ttl = 255};
    memcpy(sh->ctx.src_mac, l->mac, 6);
    memcpy(sh->ctx.gw_mac, l->gw_mac, 6);
    sh->ctx.sport_base = scan_sport_base(&st->key);
    if (cfg->mod->init) cfg->mod->init(&sh->ctx);
    sh->rfd = -1;
    for (unsigned i = 0; i < SCAN_THREADS_MAX; i++)
        sh->send[i].fd = -1;
    int rc = start(sh, l, st);
    if (rc == 0) rc = supervise(sh, st);
    atomic_store(&sh->stop_send, true);
    for (unsigned i = 0; i < cfg->threads; i++)
        if (sh->send[i].fd >= 0) {
            pthread_join(sh->send[i].tid, NULL);
            close(sh->send[i].fd);
        }
    atomic_store(&sh->stop_recv, true);
    if (sh->recv_on) pthread_join(sh->rtid, NULL);
    snapshot(sh, st);
    if (cfg->checkpoint && rc == 0) rc = scan_ckpt_write(cfg->checkpoint, cfg, st);
    if (rc == 0 && sh->recv_rc) rc = err_set(sh->recv_rc, "scan: a sink lost results");
    sh->drops += sh->rfd >= 0 ? net_recv_drops(sh->rfd) : 0;
    totals(sh, tot);
    if (!cfg->quiet && isatty(2)) fputc('\n', stderr);
    if (sh->rfd >= 0) close(sh->rfd);
    for (size_t i = 0; sh->seen && i < sh->seen_pages; i++)
        free(sh->seen[i]);
    free(sh->seen);
    free(sh);
    return rc;
}
