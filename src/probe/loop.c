/* loop — the probe's event loop: epoll over non-blocking connections, a slot pool, limits.
 *
 * Jobs start in input order as far as four limits allow: a free slot (--concurrency), the token
 * bucket (--rate new connections a second, reconnects included, a burst of 1/20 s), the host's
 * open connections (--per-host, a small open-addressing table of the hosts in flight) and, for
 * blocking modules, a free worker (--ssh-workers).  A job whose host is full is passed over for
 * one of the next LOOKAHEAD jobs not started yet, so neither one busy host nor one slow job in
 * progress stalls the run.  Timeouts are checked
 * by a sweep over the pool every SWEEP seconds (slots are few: cheaper than a timer heap):
 * --connect-timeout, --read-timeout since the last byte, --host-timeout for the whole job.
 * Closes are abortive (SO_LINGER 0): at once, no TIME_WAIT pile-up at thousands a second. */
#include "../core/cli.h"
#include "../core/err.h"
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOOKAHEAD 64
#define SWEEP 0.02

enum { P_FREE, P_CONNECTING, P_OPEN, P_RECONNECT, P_WORKER };

struct hostent {
    struct ipaddr ip;
    uint32_t n; /* 0: empty */
};

struct workers; /* workers.c */
struct workers *workers_new(unsigned n, int notify_fd);
bool workers_submit(struct workers *w, struct probe_conn *c);
void workers_free(struct workers *w);

struct loop {
    struct probe_run *r;
    const struct probe_cfg *cfg;
    struct probe_conn *pool, *free_list;
    struct hostent *hosts;
    size_t hosts_mask;
    int ep, pipe_rd, pipe_wr;
    struct workers *workers;
    unsigned in_workers, active;
    size_t head; /* jobs before it have all started */
    double tokens, t_tokens;
};

static struct hostent *host_slot(struct loop *l, const struct ipaddr *ip)
{
    size_t i = ip_hash(ip, 0x5bd1e995u) & l->hosts_mask;
    while (l->hosts[i].n && memcmp(&l->hosts[i].ip, ip, sizeof *ip))
        i = (i + 1) & l->hosts_mask;
    return &l->hosts[i];
}

static void host_release(struct loop *l, const struct ipaddr *ip)
{
    struct hostent *h = host_slot(l, ip);
    if (!h->n || --h->n) return;
    /* backward-shift deletion keeps every probe chain whole */
    size_t i = (size_t)(h - l->hosts);
    for (size_t j = (i + 1) & l->hosts_mask; l->hosts[j].n; j = (j + 1) & l->hosts_mask) {
        size_t home = ip_hash(&l->hosts[j].ip, 0x5bd1e995u) & l->hosts_mask;
        if (((j - home) & l->hosts_mask) >= ((j - i) & l->hosts_mask)) {
            l->hosts[i] = l->hosts[j];
            l->hosts[j].n = 0;
            i = j;
        }
    }
}

static void close_fd(struct probe_conn *c)
{
    if (c->fd < 0) return;
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c->fd);
    c->fd = -1;
}

static void finish(struct loop *l, struct probe_conn *c)
{
    close_fd(c);
    c->job->done = 1;
    if (!c->status) c->status = "io-error";
    l->r->st.done++;
    if (c->job->accepted >= 0) l->r->st.accepted++;
    if (l->r->result) l->r->result(l->r->ctx, c);
    host_release(l, &c->job->ip);
    c->phase = P_FREE;
    c->job = NULL;
    c->next_free = l->free_list;
    l->free_list = c;
    l->active--;
}

static bool take_token(struct loop *l, double now)
{
    if (!l->cfg->rate) return true;
    double burst = (double)l->cfg->rate / 20 + 1;
    l->tokens += (now - l->t_tokens) * (double)l->cfg->rate;
    l->t_tokens = now;
    if (l->tokens > burst) l->tokens = burst;
    if (l->tokens < 1) return false;
    l->tokens -= 1;
    return true;
}

static void want_out(struct loop *l, struct probe_conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void connect_slot(struct loop *l, struct probe_conn *c, double now)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    const struct probe_job *j = c->job;
    if (ip_is_v4(&j->ip)) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(j->port);
        a->sin_addr.s_addr = htonl(ip_v4(&j->ip));
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(j->port);
        memcpy(&a->sin6_addr, j->ip.b, 16);
        len = sizeof *a;
    }
    c->job->conns++;
    l->r->st.conns++;
    c->out_len = c->out_off = 0;
    c->timed_out = false;
    c->t_io = now;
    c->phase = P_CONNECTING;
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->status = "io-error";
        finish(l, c);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
        c->status = errno == ECONNREFUSED ? "connection-refused" : "io-error";
        l->r->st.failed_conns++;
        finish(l, c);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Sends what is queued; false when the connection failed (finished). */
static bool flush_out(struct loop *l, struct probe_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off = (uint16_t)(c->out_off + n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            want_out(l, c, true);
            return true;
        }
        return false;
    }
    c->out_len = c->out_off = 0;
    want_out(l, c, false);
    return true;
}

/* Acts on what a module said.  A login accepted ends the job before anything queued is sent. */
static void next_step(struct loop *l, struct probe_conn *c, enum probe_next nx)
{
    if (c->job->accepted >= 0 || nx == PROBE_DONE) {
        c->out_len = c->out_off = 0;
        finish(l, c);
        return;
    }
    if (nx == PROBE_RECONNECT) {
        close_fd(c);
        c->phase = P_RECONNECT;
        return;
    }
    if (!flush_out(l, c)) {
        c->timed_out = false;
        next_step(l, c, probe_protos[c->job->proto]->end(c));
    }
}

static void on_connected(struct loop *l, struct probe_conn *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        l->r->st.failed_conns++;
        if (!c->job->attempts || !c->status)
            c->status = err == ECONNREFUSED ? "connection-refused" : "io-error";
        finish(l, c);
        return;
    }
    c->phase = P_OPEN;
    next_step(l, c, probe_protos[c->job->proto]->start(c));
}

static void on_readable(struct loop *l, struct probe_conn *c, double now)
{
    uint8_t buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    const struct probe_proto *p = probe_protos[c->job->proto];
    c->t_io = now;
    if (n <= 0) {
        c->timed_out = false;
        next_step(l, c, p->end(c));
        return;
    }
    next_step(l, c, p->data(c, buf, (size_t)n));
}

static void on_event(struct loop *l, struct probe_conn *c, uint32_t ev, double now)
{
    if (c->phase == P_CONNECTING) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(l, c);
        return;
    }
    if (c->phase != P_OPEN) return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        on_readable(l, c, now);
        return;
    }
    if ((ev & EPOLLOUT) && !flush_out(l, c)) {
        c->timed_out = false;
        next_step(l, c, probe_protos[c->job->proto]->end(c));
    }
}

static void sweep(struct loop *l, double now)
{
    const struct probe_cfg *cfg = l->cfg;
    for (unsigned i = 0; i < cfg->concurrency; i++) {
        struct probe_conn *c = &l->pool[i];
        if (c->phase == P_FREE || c->phase == P_WORKER) continue;
        if (now - c->t_start > cfg->host_timeout) {
            if (!c->job->attempts || c->phase != P_RECONNECT) c->status = "timeout";
            finish(l, c);
        } else if (c->phase == P_CONNECTING && now - c->t_io > cfg->connect_timeout) {
            l->r->st.failed_conns++;
            if (!c->job->attempts) c->status = "connection-timeout";
            finish(l, c);
        } else if (c->phase == P_OPEN && now - c->t_io > cfg->read_timeout) {
            c->timed_out = true;
            next_step(l, c, probe_protos[c->job->proto]->end(c));
        }
    }
}

/* Starts what the limits allow: reconnects first (they hold a slot), then new jobs. */
static void schedule(struct loop *l, double now)
{
    for (unsigned i = 0; i < l->cfg->concurrency; i++)
        if (l->pool[i].phase == P_RECONNECT) {
            if (!take_token(l, now)) return;
            connect_slot(l, &l->pool[i], now);
        }
    struct probe_run *r = l->r;
    while (l->head < r->n_jobs && r->jobs[l->head].started)
        l->head++;
    /* the window is the next LOOKAHEAD jobs not started yet: a slow job in progress (an SSH
     * device's failed-login delays) never holds the ones behind it back */
    size_t seen = 0;
    for (size_t k = l->head; k < r->n_jobs && seen < LOOKAHEAD && l->free_list; k++) {
        struct probe_job *j = &r->jobs[k];
        if (j->started) continue;
        seen++;
        const struct probe_proto *p = probe_protos[j->proto];
        if (p->run && l->in_workers >= l->cfg->ssh_workers) continue;
        struct hostent *h = host_slot(l, &j->ip);
        if (h->n >= l->cfg->per_host) continue;
        if (!take_token(l, now)) return;
        if (!h->n) h->ip = j->ip;
        h->n++;
        struct probe_conn *c = l->free_list;
        l->free_list = c->next_free;
        l->active++;
        c->job = j;
        c->status = NULL;
        c->banner_len = 0;
        c->banner[0] = c->device[0] = 0;
        c->t_start = now;
        j->accepted = -1;
        j->started = 1;
        if (p->run) {
            c->phase = P_WORKER;
            l->in_workers++;
            workers_submit(l->workers, c);
        } else {
            connect_slot(l, c, now);
        }
    }
}

/* Workers hand finished slots back through the pipe; the loop finishes them (one thread owns the
 * jobs' results, the host table and the pool's free list). */
static void drain_workers(struct loop *l)
{
    struct probe_conn *v[64];
    ssize_t n;
    while ((n = read(l->pipe_rd, v, sizeof v)) > 0)
        for (size_t i = 0; i < (size_t)n / sizeof v[0]; i++) {
            l->in_workers--;
            v[i]->fd = -1;
            finish(l, v[i]);
        }
}

static int loop_init(struct loop *l, struct probe_run *r)
{
    memset(l, 0, sizeof *l);
    l->r = r;
    l->cfg = r->cfg;
    l->ep = l->pipe_rd = l->pipe_wr = -1;
    unsigned n = r->cfg->concurrency;
    size_t hn = 16;
    while (hn < 2 * (size_t)n)
        hn *= 2;
    l->hosts_mask = hn - 1;
    l->pool = calloc(n, sizeof *l->pool);
    l->hosts = calloc(hn, sizeof *l->hosts);
    if (!l->pool || !l->hosts) return err_set(-ENOMEM, "out of memory for %u connections", n);
    for (unsigned i = n; i-- > 0;) {
        l->pool[i].fd = -1;
        l->pool[i].cfg = r->cfg;
        l->pool[i].dict = r->dict;
        l->pool[i].next_free = l->free_list;
        l->free_list = &l->pool[i];
    }
    int p[2];
    if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
        return err_set(-errno, "epoll: %s", strerror(errno));
    l->pipe_rd = p[0];
    l->pipe_wr = p[1];
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->pipe_rd, &ev);
    if (!(l->workers = workers_new(r->cfg->ssh_workers, l->pipe_wr)))
        return err_set(-ENOMEM, "cannot start %u SSH workers", r->cfg->ssh_workers);
    l->t_tokens = cli_now();
    l->tokens = 1;
    return 0;
}

static void loop_free(struct loop *l)
{
    if (l->workers) workers_free(l->workers);
    for (unsigned i = 0; l->pool && i < l->cfg->concurrency; i++)
        close_fd(&l->pool[i]);
    if (l->ep >= 0) close(l->ep);
    if (l->pipe_rd >= 0) close(l->pipe_rd);
    if (l->pipe_wr >= 0) close(l->pipe_wr);
    free(l->pool);
    free(l->hosts);
}

int probe_loop(struct probe_run *r, volatile sig_atomic_t *stop)
{
    struct loop l;
    int rc = loop_init(&l, r);
    double t0 = cli_now(), last_sweep = t0, last_tick = t0;
    struct epoll_event evs[256];
    while (rc == 0 && (l.active || l.head < r->n_jobs)) {
        double now = cli_now();
        if (stop && *stop) break;
        schedule(&l, now);
        int timeout = 1000 * SWEEP;
        if (!l.active && l.cfg->rate) timeout = 1 + (int)(1000 / (double)l.cfg->rate);
        int n = epoll_wait(l.ep, evs, 256, timeout);
        if (n < 0 && errno != EINTR) {
            rc = err_set(-errno, "epoll_wait: %s", strerror(errno));
            break;
        }
        now = cli_now();
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr)
                drain_workers(&l);
            else
                on_event(&l, evs[i].data.ptr, evs[i].events, now);
        }
        if (now - last_sweep >= SWEEP) {
            sweep(&l, now);
            last_sweep = now;
        }
        while (l.head < r->n_jobs && r->jobs[l.head].started)
            l.head++;
        if (r->tick && now - last_tick >= 1) {
            r->tick(r->ctx, &r->st, now - t0);
            last_tick = now;
        }
    }
    if (r->tick && rc == 0) r->tick(r->ctx, &r->st, cli_now() - t0);
    loop_free(&l);
    return rc;
}
