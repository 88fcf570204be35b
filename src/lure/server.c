/* server — epoll loop, sessions, login, timeouts, rate limits, file capture (see server.h). */
#include "server.h"
#include "../core/addr.h"
#include "../core/cli.h"
#include "../core/table.h"
#include "log.h"
#include "persona.h"
#include "shell.h"
#include "telnet.h"
#include "userdb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_SHELL 4096
#define LINE_MAX_LOGIN 128
#define OUT_CAP (1u << 20)
#define TERM_CAP (1u << 20)
#define MIN_STORE 32 /* smaller files are probes ("kami/tmp"), not payloads */
#define MAX_VARS 8
#define SOURCES_MAX 65536
/* The shell work (bytes touched, see shell.h) the loop does before it looks at
 * the sockets again: a session whose lines cost more waits its next turn with
 * its unread input parked, so a CPU-heavy session delays a greeting by about
 * one command line (~10-30 ms), never by its whole input. */
#define TURN_WORK (4u << 20)
#define PEND_CAP (8u << 10)

enum { KIND_LISTENER, KIND_SESSION };
enum { ST_USER, ST_PASS, ST_SHELL };
enum { L_LOGIN, L_SHELL, L_NONE };

struct listener {
    uint8_t kind;
    int fd;
};

struct session {
    uint8_t kind, stage, fails, closing, epoll_out, skip_line, list, nvars;
    uint16_t width, height;
    int fd;
    uint32_t bytes_in, commands, logins, downloads;
    int64_t start_us, last_us;
    struct lure_conn conn;
    char id[13], term[16];
    char *user, *login_user, *login_pass;
    bool login_ok;
    struct telnet tn;
    struct buf line, out;
    struct buf pend; /* decoded input not yet run: the session waits its turn */
    struct shell *sh;
    struct lure_server *srv;
    struct session *prev, *next;
    struct session *rprev, *rnext; /* the run queue, while pend holds input */
    bool queued;
};

struct source {
    struct ipaddr ip;
    int64_t last_us;
    double tokens;
    uint32_t active;
};

struct lru {
    struct session *head, *tail;
};

struct lure_server {
    struct lure_config cfg;
    int ep;
    struct listener ls[LURE_MAX_LISTEN];
    int nls;
    struct lru lists[2];
    size_t nsess;
    struct table sources;
    struct vfs_limits lim;
    struct lure_stats st;
    uint64_t id_state;
    int64_t now_us;
    struct session *run_head, *run_tail; /* sessions with parked input, oldest first */
    size_t turn_work;                    /* shell work done in this loop turn */
    volatile sig_atomic_t *stop;
    bool files_warned;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void unlink_lru(struct lure_server *srv, struct session *s)
{
    if (s->list == L_NONE) return;
    struct lru *l = &srv->lists[s->list];
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->tail = s->prev;
    s->prev = s->next = NULL;
    s->list = L_NONE;
}

/* Moves a session to the tail of a list (stamped now): the heads expire first. */
static void touch(struct lure_server *srv, struct session *s, int list)
{
    unlink_lru(srv, s);
    struct lru *l = &srv->lists[list];
    s->list = (uint8_t)list;
    s->prev = l->tail;
    if (l->tail)
        l->tail->next = s;
    else
        l->head = s;
    l->tail = s;
    s->last_us = srv->now_us;
}

static void recover_files(struct lure_server *srv);

struct lure_server *lure_server_new(const struct lure_config *cfg)
{
    struct lure_server *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->cfg = *cfg;
    srv->lim.session_bytes = cfg->fs_session;
    srv->lim.total_bytes = cfg->fs_total;
    if ((srv->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        table_init(&srv->sources, sizeof(struct source), sizeof(struct ipaddr), 1024) < 0) {
        if (srv->ep >= 0) close(srv->ep);
        free(srv);
        return NULL;
    }
    if (getrandom(&srv->id_state, sizeof srv->id_state, 0) != sizeof srv->id_state)
        srv->id_state = (uint64_t)now_us();
    if (cfg->files_dir >= 0) recover_files(srv);
    return srv;
}

int lure_server_listen(struct lure_server *srv, int fd)
{
    if (srv->nls >= LURE_MAX_LISTEN) return -ENOSPC;
    struct listener *l = &srv->ls[srv->nls++];
    l->kind = KIND_LISTENER;
    l->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    return epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

const struct lure_stats *lure_server_stats(const struct lure_server *srv)
{
    return &srv->st;
}

static void send_text(struct session *s, const char *text)
{
    telnet_escape(&s->out, (const uint8_t *)text, strlen(text), true);
}

/* A session with parked input does not read more until it has run it (so
 * pend stays bounded); EPOLLOUT only while output waits for the socket. */
static void set_events(struct lure_server *srv, struct session *s)
{
    struct epoll_event ev = {.events = (s->queued ? 0 : EPOLLIN | EPOLLRDHUP) |
                                       (s->epoll_out ? EPOLLOUT : 0),
                             .data.ptr = s};
    epoll_ctl(srv->ep, EPOLL_CTL_MOD, s->fd, &ev);
}

static void set_epollout(struct lure_server *srv, struct session *s, bool on)
{
    if (s->epoll_out == on) return;
    s->epoll_out = on;
    set_events(srv, s);
}

static void run_queue_remove(struct lure_server *srv, struct session *s)
{
    if (!s->queued) return;
    if (s->rprev)
        s->rprev->rnext = s->rnext;
    else
        srv->run_head = s->rnext;
    if (s->rnext)
        s->rnext->rprev = s->rprev;
    else
        srv->run_tail = s->rprev;
    s->rprev = s->rnext = NULL;
    s->queued = false;
}

static void run_queue_add(struct lure_server *srv, struct session *s)
{
    if (s->queued) return;
    s->rprev = srv->run_tail;
    s->rnext = NULL;
    if (srv->run_tail)
        srv->run_tail->rnext = s;
    else
        srv->run_head = s;
    srv->run_tail = s;
    s->queued = true;
}

/* ---- captured files ---- */

static void stage_name(const struct session *s, const struct vfs_node *nd, char *name, size_t n)
{
    snprintf(name, n, ".part-%s-%u", s->id, nd->id);
}

/* Room for more bytes in the files directory; warns once when there is none. */
static bool files_room(struct lure_server *srv, uint64_t more)
{
    if (srv->st.files_bytes + more <= srv->cfg.files_cap) return true;
    if (!srv->files_warned)
        cli_error("lure: --files %s holds %llu bytes, its cap (--files-cap %llu): files are no "
                  "longer stored, their events still are",
                  srv->cfg.files_path ? srv->cfg.files_path : "",
                  (unsigned long long)srv->st.files_bytes, (unsigned long long)srv->cfg.files_cap);
    srv->files_warned = true;
    return false;
}

static void drop_stage(struct lure_server *srv, struct session *s, struct vfs_node *nd)
{
    char name[64];
    stage_name(s, nd, name, sizeof name);
    if (srv->cfg.files_dir >= 0) unlinkat(srv->cfg.files_dir, name, 0); /* empty ones too */
    srv->st.files_bytes -= nd->staged;
    nd->staged = 0;
}

/* Puts what a command line wrote into the node's staging file, so a crash
 * cannot lose it; appends only the new bytes when the file only grew. */
static void stage(struct lure_server *srv, struct session *s, struct vfs_node *nd)
{
    char name[64];
    stage_name(s, nd, name, sizeof name);
    bool grow = nd->appended && nd->clean_len <= nd->len && nd->pending;
    nd->dirty = false;
    nd->pending = true;
    if (srv->cfg.files_dir < 0 || nd->kind != VFS_FILE || nd->unstored) return;
    size_t from = grow ? nd->clean_len : 0;
    if (!grow) drop_stage(srv, s, nd);
    if (nd->len > from && !files_room(srv, nd->len - from)) {
        drop_stage(srv, s, nd); /* half a file is no use: hash and log it, keep nothing */
        nd->unstored = true;
        return;
    }
    int fd = openat(srv->cfg.files_dir, name,
                    O_WRONLY | O_CREAT | O_CLOEXEC | (grow ? O_APPEND : O_TRUNC), 0644);
    if (fd >= 0) {
        ssize_t w = nd->len > from ? write(fd, nd->data + from, nd->len - from) : 0;
        srv->turn_work += nd->len - from; /* staging is work of the turn too */
        if (w > 0) {
            nd->staged += (uint32_t)w;
            srv->st.files_bytes += (uint64_t)w;
        }
        /* a short write leaves the staging file short: finalize sees it and
         * writes the file from memory */
        close(fd);
    }
    nd->clean_len = nd->len;
    nd->appended = true;
}

static void sha256_hex(const uint8_t *d, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_Digest(d, n, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Whether a file is worth keeping: not a probe ("kami/tmp"), not busybox. */
static bool worth_keeping(const struct persona *p, const uint8_t *d, size_t n)
{
    return n >= MIN_STORE && !(n == p->elf_len && !memcmp(d, p->elf, n));
}

/* Stores content as FILES/<sha256> unless it is there already: by renaming
 * the staging file when it holds all of it, else from memory. */
static bool store_file(struct lure_server *srv, const char *part, uint32_t staged, const uint8_t *d,
                       size_t n, const char *hex, bool *dup)
{
    int dir = srv->cfg.files_dir;
    *dup = faccessat(dir, hex, F_OK, 0) == 0;
    if (*dup || staged != n || renameat(dir, part, dir, hex) < 0) {
        unlinkat(dir, part, 0);
        srv->st.files_bytes -= staged;
        if (*dup) return true;
        if (!files_room(srv, n)) return false;
        int fd = openat(dir, hex, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) return false;
        bool ok = write(fd, d, n) == (ssize_t)n;
        close(fd);
        if (!ok) {
            unlinkat(dir, hex, 0);
            return false;
        }
        srv->st.files_bytes += n;
    }
    return true;
}

static void finalize(struct lure_server *srv, struct session *s, struct vfs_node *nd)
{
    char name[64];
    stage_name(s, nd, name, sizeof name);
    nd->pending = false;
    nd->dirty = false;
    if (!(nd->kind == VFS_FILE && worth_keeping(srv->cfg.persona, nd->data, nd->len))) {
        drop_stage(srv, s, nd);
        nd->unstored = false;
        return;
    }
    char hex[65], outfile[4200];
    sha256_hex(nd->data, nd->len, hex);
    srv->turn_work += nd->len;
    bool dup = false, stored = false;
    if (srv->cfg.files_dir >= 0)
        stored = store_file(srv, name, nd->staged, nd->data, nd->len, hex, &dup);
    nd->staged = 0;
    nd->unstored = false;
    snprintf(outfile, sizeof outfile, "%s/%s", srv->cfg.files_path ? srv->cfg.files_path : "", hex);
    lure_log_file(srv->cfg.log, &s->conn, srv->now_us, nd->path, hex, stored ? outfile : NULL,
                  nd->len, dup);
    if (!stored && srv->cfg.files_dir >= 0) srv->st.files_unstored++;
    s->downloads++;
    srv->st.files++;
}

/* At start: what the files directory holds, and the staging files a killed
 * run left behind, finished as that run would have (stored under their
 * SHA-256, or removed when they are probes, busybox copies or already
 * stored).  Which session wrote them is not known here, so they get no event.
 * Several lure processes (one per persona) may share the directory, and a
 * running one's staging files are live: each process holds a shared flock on
 * the directory while it runs, and only one that gets it exclusively (no
 * other is running) finishes staging files; otherwise they are left alone.
 * (Dropping to the shared lock is not atomic, but a process has no staging
 * files of its own before its loop runs, so nothing of it can be taken.) */
static void recover_files(struct lure_server *srv)
{
    int dir = srv->cfg.files_dir;
    /* a file system without flock recovers as before */
    bool alone = flock(dir, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK;
    int fd = dup(dir);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        flock(dir, LOCK_SH);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue;
        bool part = !strncmp(e->d_name, ".part-", 6);
        if (!part || !alone) {
            srv->st.files_bytes += (uint64_t)st.st_size;
            srv->st.recovered_left += part;
            continue;
        }
        int pf = openat(srv->cfg.files_dir, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t n = (size_t)st.st_size;
        uint8_t *buf = pf >= 0 && n <= (1u << 30) ? malloc(n ? n : 1) : NULL;
        bool ok = buf && read(pf, buf, n) == (ssize_t)n;
        if (pf >= 0) close(pf);
        char hex[65];
        bool dup;
        srv->st.files_bytes += n; /* store_file takes the staging file's bytes back */
        if (!ok) {                /* unreadable: left alone, and counted */
            free(buf);
            continue;
        }
        if (worth_keeping(srv->cfg.persona, buf, n)) {
            sha256_hex(buf, n, hex);
            ok = store_file(srv, e->d_name, (uint32_t)n, buf, n, hex, &dup) && !dup;
        } else {
            unlinkat(srv->cfg.files_dir, e->d_name, 0);
            srv->st.files_bytes -= n;
            ok = false;
        }
        if (ok)
            srv->st.recovered_stored++;
        else
            srv->st.recovered_removed++;
        free(buf);
    }
    closedir(d);
    flock(dir, LOCK_SH); /* waits while another process finishes its recovery */
}

/* After each command line: stage what it wrote; store what an earlier line
 * finished writing (a dropper appends line after line, so a file is done
 * once a line leaves it alone), or everything when the session ends. */
static void sync_files(struct lure_server *srv, struct session *s, bool all)
{
    if (!s->sh) return;
    struct vfs *v = shell_vfs(s->sh);
    for (uint32_t i = 0; i < v->n; i++) {
        struct vfs_node *nd = &v->nodes[i];
        if (nd->dirty)
            stage(srv, s, nd);
        else if (nd->pending)
            finalize(srv, s, nd);
        if (all && nd->pending) finalize(srv, s, nd);
    }
}

static void on_download(void *ctx, const char *tool, const char *url, const char *host,
                        const char *dest)
{
    struct session *s = ctx;
    lure_log_url(s->srv->cfg.log, &s->conn, s->srv->now_us, tool, url, host, dest);
    s->downloads++;
    s->srv->st.urls++;
}

static void on_failed(void *ctx, const char *command)
{
    struct session *s = ctx;
    lure_log_failed(s->srv->cfg.log, &s->conn, s->srv->now_us, command);
}

static void on_exec(void *ctx, const char *path)
{
    struct session *s = ctx;
    struct vfs_node *nd = vfs_node(shell_vfs(s->sh), path);
    if (nd && (nd->pending || nd->dirty)) finalize(s->srv, s, nd);
}

/* ---- session life ---- */

static struct source *source_of(struct lure_server *srv, const struct ipaddr *ip)
{
    return table_find(&srv->sources, ip, ip_hash(ip, 0x6c757265));
}

static void end_session(struct lure_server *srv, struct session *s, const char *reason)
{
    sync_files(srv, s, true);
    struct lure_summary sum = {.username = s->login_user,
                               .password = s->login_pass,
                               .term = s->term[0] ? s->term : NULL,
                               .reason = reason,
                               .login_ok = s->login_ok,
                               .logins = s->logins,
                               .commands = s->commands,
                               .downloads = s->downloads,
                               .bytes_in = s->bytes_in,
                               .width = s->width,
                               .height = s->height};
    lure_log_closed(srv->cfg.log, &s->conn, srv->now_us, srv->now_us - s->start_us, &sum);
    if (!strcmp(reason, "timeout")) srv->st.timeouts++;
    unlink_lru(srv, s);
    run_queue_remove(srv, s);
    close(s->fd);
    struct ipaddr ip;
    if (ip_parse(s->conn.src_ip, &ip) == 0) {
        struct source *src = source_of(srv, &ip);
        if (src && src->active) src->active--;
    }
    shell_free(s->sh);
    buf_free(&s->line);
    buf_free(&s->out);
    buf_free(&s->pend);
    free(s->user);
    free(s->login_user);
    free(s->login_pass);
    free(s);
    srv->nsess--;
}

/* Sends what is queued; false when the session is gone. */
static bool flush_out(struct lure_server *srv, struct session *s)
{
    while (s->out.len) {
        ssize_t n = send(s->fd, s->out.p, s->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf_consume(&s->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_epollout(srv, s, true);
            return true;
        }
        end_session(srv, s, "reset");
        return false;
    }
    buf_release(&s->out);
    set_epollout(srv, s, false);
    if (s->closing) {
        end_session(srv, s, s->closing == 2 ? "login" : s->closing == 3 ? "limit" : "exit");
        return false;
    }
    return true;
}

static void on_sb(void *ctx, uint8_t opt, const uint8_t *d, size_t n);

static void on_var(void *ctx, const char *name, const char *value)
{
    struct session *s = ctx;
    if (s->nvars >= MAX_VARS) return;
    s->nvars++;
    lure_log_var(s->srv->cfg.log, &s->conn, s->srv->now_us, name, value);
}

static void on_sb(void *ctx, uint8_t opt, const uint8_t *d, size_t n)
{
    struct session *s = ctx;
    uint16_t w, h;
    if (opt == TN_OPT_NAWS && telnet_naws(d, n, &w, &h)) {
        if (w == s->width && h == s->height) return;
        s->width = w;
        s->height = h;
        if (s->nvars++ < MAX_VARS) lure_log_size(s->srv->cfg.log, &s->conn, s->srv->now_us, w, h);
    } else if (opt == TN_OPT_TTYPE) {
        if (telnet_ttype(d, n, s->term, sizeof s->term)) on_var(s, "TERM", s->term);
    } else if (opt == TN_OPT_ENVIRON) {
        telnet_environ(d, n, on_var, s);
    }
}

static void new_session(struct lure_server *srv, int fd, const struct ipaddr *src, uint16_t sport)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return;
    }
    s->kind = KIND_SESSION;
    s->fd = fd;
    s->srv = srv;
    s->list = L_NONE;
    s->start_us = srv->now_us;
    s->line.cap = LINE_MAX_LOGIN;
    s->out.cap = OUT_CAP;
    s->pend.cap = PEND_CAP;
    uint64_t z = (srv->id_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    snprintf(s->id, sizeof s->id, "%012llx", (unsigned long long)((z ^ (z >> 31)) >> 16));
    s->conn.session = s->id;
    ip_format(src, s->conn.src_ip);
    s->conn.src_port = sport;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        struct ipaddr dst;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            ip_from_v4(&dst, ntohl(a->sin_addr.s_addr));
            s->conn.dst_port = ntohs(a->sin_port);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            ip_from_v6(&dst, a->sin6_addr.s6_addr);
            s->conn.dst_port = ntohs(a->sin6_port);
        }
        ip_format(&dst, s->conn.dst_ip);
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
    if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        free(s);
        return;
    }
    srv->nsess++;
    srv->st.sessions++;
    if (srv->nsess > srv->st.peak_sessions) srv->st.peak_sessions = srv->nsess;
    touch(srv, s, L_LOGIN);
    lure_log_connect(srv->cfg.log, &s->conn, srv->now_us);
    telnet_init(&s->tn);
    telnet_greet(&s->tn, &s->out);
    const struct persona *p = srv->cfg.persona;
    send_text(s, p->banner);
    send_text(s, p->login_prompt);
    flush_out(srv, s);
}

/* Refills the source's token bucket; false when it may not open another session. */
static bool admit(struct lure_server *srv, const struct ipaddr *ip)
{
    uint64_t h = ip_hash(ip, 0x6c757265);
    if (srv->sources.n >= SOURCES_MAX) {
        /* forget sources with nothing open: under a flood from everywhere the
         * limiter keeps only the sources that still hold sessions */
        size_t i = 0;
        struct source *e;
        struct table keep;
        if (table_init(&keep, sizeof(struct source), sizeof(struct ipaddr), 1024) == 0) {
            while ((e = table_next(&srv->sources, &i)))
                if (e->active)
                    *(struct source *)table_get(&keep, &e->ip, ip_hash(&e->ip, 0x6c757265), NULL) =
                        *e;
            table_free(&srv->sources);
            srv->sources = keep;
        }
    }
    bool created;
    struct source *src = table_get(&srv->sources, ip, h, &created);
    if (!src) return false;
    double burst = srv->cfg.rate;
    if (created) {
        src->tokens = burst;
        src->last_us = srv->now_us;
    } else if (srv->cfg.rate) {
        src->tokens += (double)(srv->now_us - src->last_us) * srv->cfg.rate / 60e6;
        if (src->tokens > burst) src->tokens = burst;
        src->last_us = srv->now_us;
    }
    if ((srv->cfg.rate && src->tokens < 1) ||
        (srv->cfg.per_source && src->active >= srv->cfg.per_source)) {
        srv->st.refused_rate++;
        return false;
    }
    if (srv->cfg.rate) src->tokens -= 1;
    src->active++;
    return true;
}

static void on_accept(struct lure_server *srv, struct listener *l)
{
    for (int k = 0; k < 256; k++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;
        }
        struct ipaddr ip;
        uint16_t port;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            ip_from_v4(&ip, ntohl(a->sin_addr.s_addr));
            port = ntohs(a->sin_port);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            ip_from_v6(&ip, a->sin6_addr.s6_addr);
            port = ntohs(a->sin6_port);
        }
        if (srv->nsess >= srv->cfg.max_sessions) {
            srv->st.refused_full++;
            close(fd);
            continue;
        }
        if (!admit(srv, &ip)) {
            close(fd);
            continue;
        }
        new_session(srv, fd, &ip, port);
    }
}

/* Cleans a login field: printable text only, valid UTF-8. */
static char *field(const struct buf *b)
{
    char raw[LINE_MAX_LOGIN + 1];
    size_t n = 0;
    for (uint32_t i = 0; i < b->len && n < LINE_MAX_LOGIN; i++)
        if (b->p[i] >= 0x20 && b->p[i] != 0x7f) raw[n++] = (char)b->p[i];
    char *out = malloc(n * 4 + 1);
    if (out) lure_utf8(raw, n, out, n * 4 + 1);
    return out;
}

static void login_line(struct lure_server *srv, struct session *s)
{
    const struct persona *p = srv->cfg.persona;
    if (s->stage == ST_USER) {
        free(s->user);
        s->user = field(&s->line);
        s->line.len = 0;
        if (!s->user || !*s->user) {
            send_text(s, p->login_prompt);
            return;
        }
        send_text(s, p->password_prompt);
        s->stage = ST_PASS;
        return;
    }
    char *pass = field(&s->line);
    s->line.len = 0;
    if (!pass) return;
    bool ok = userdb_check(srv->cfg.userdb, s->user, pass);
    s->logins++;
    lure_log_login(srv->cfg.log, &s->conn, srv->now_us, s->user, pass, ok);
    free(s->login_user);
    free(s->login_pass);
    s->login_user = s->user;
    s->login_pass = pass;
    s->user = NULL;
    send_text(s, "\n");
    if (ok) {
        static const struct shell_hooks hooks = {on_download, on_exec, on_failed};
        srv->st.logins_ok++;
        s->login_ok = true;
        s->stage = ST_SHELL;
        s->line.cap = LINE_MAX_SHELL;
        s->sh = shell_new(p, &srv->lim, &hooks, s);
        if (!s->sh) {
            s->closing = 3;
            return;
        }
        shell_set_stop(s->sh, srv->stop);
        send_text(s, p->motd);
        send_text(s, p->prompt);
        touch(srv, s, L_SHELL);
        return;
    }
    srv->st.logins_failed++;
    send_text(s, "Login incorrect\n");
    s->stage = ST_USER;
    if (++s->fails >= srv->cfg.login_tries)
        s->closing = 2;
    else
        send_text(s, p->login_prompt);
}

static void shell_line(struct lure_server *srv, struct session *s)
{
    const char *l = (const char *)s->line.p;
    size_t n = s->line.len;
    while (n && (l[0] == ' ' || l[0] == '\t'))
        l++, n--;
    while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
        n--;
    if (n) {
        s->commands++;
        srv->st.commands++;
        lure_log_command(srv->cfg.log, &s->conn, srv->now_us, l, n);
        struct buf term = {.cap = TERM_CAP};
        shell_run(s->sh, l, n, &term);
        srv->turn_work += shell_work(s->sh);
        telnet_escape(&s->out, term.p, term.len, true);
        buf_free(&term);
        sync_files(srv, s, false);
    }
    s->line.len = 0;
    buf_release(&s->line);
    if (shell_exited(s->sh))
        s->closing = 1;
    else if (s->commands >= srv->cfg.max_commands)
        s->closing = 3;
    else
        send_text(s, srv->cfg.persona->prompt);
}

/* Runs input bytes; returns how many it took.  A command line does not start
 * once this turn's work is spent (unless run_one: the session's turn in the
 * run queue runs one line whatever): the caller parks the rest.  So sessions
 * that each send one heavy line at a time, read in one loop turn, run one
 * line in all, not one each — the greeting of a new client waits for that. */
static size_t on_data(struct lure_server *srv, struct session *s, const uint8_t *d, size_t n,
                      bool run_one)
{
    size_t i = 0;
    for (; i < n && !s->closing; i++) {
        uint8_t c = d[i];
        bool echo = s->stage != ST_PASS;
        if (c == '\n') {
            if (s->stage == ST_SHELL && srv->turn_work >= TURN_WORK && !run_one) return i;
            run_one = false;
            if (echo) send_text(s, "\n");
            s->skip_line = 0;
            if (s->stage == ST_SHELL) {
                shell_line(srv, s);
            } else {
                login_line(srv, s);
            }
        } else if (c == 0x7f || c == 8) {
            if (s->line.len) {
                s->line.len--;
                if (echo) send_text(s, "\b \b");
            }
        } else if (c == 0 || (s->stage != ST_SHELL && c < 0x20)) {
            continue;
        } else if (!s->skip_line) {
            if (!buf_byte(&s->line, c))
                s->skip_line = 1; /* the rest of the line is cut */
            else if (echo)
                telnet_escape(&s->out, &c, 1, true);
        }
    }
    return s->closing ? n : i;
}

static void on_readable(struct lure_server *srv, struct session *s)
{
    uint8_t in[4096], data[4096];
    for (int rounds = 0; rounds < 16 && !s->closing; rounds++) {
        ssize_t r = recv(s->fd, in, sizeof in, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (r <= 0) {
            end_session(srv, s, "closed");
            return;
        }
        s->bytes_in += (uint32_t)r;
        /* the login timeout runs from the connect, as BusyBox login's alarm does:
         * a client trickling bytes cannot keep a login prompt open */
        if (s->stage == ST_SHELL) touch(srv, s, L_SHELL);
        size_t nd = telnet_feed(&s->tn, in, (size_t)r, data, &s->out, on_sb, s);
        size_t used = on_data(srv, s, data, nd, false);
        if (s->bytes_in > srv->cfg.max_input) {
            s->closing = 3;
            break;
        }
        if (used < nd) { /* out of turn: park the rest and stop reading */
            buf_add(&s->pend, data + used, nd - used);
            run_queue_add(srv, s);
            set_events(srv, s);
            break;
        }
    }
    flush_out(srv, s);
}

/* Gives queued sessions their turns, oldest first, until this turn's work
 * is spent (at least one line runs, so every queued session progresses). */
static void run_queued(struct lure_server *srv)
{
    struct session *last = srv->run_tail;
    bool first = true;
    while (srv->run_head && (first || srv->turn_work < TURN_WORK) && !*srv->stop) {
        struct session *s = srv->run_head;
        first = false;
        run_queue_remove(srv, s);
        size_t used = on_data(srv, s, s->pend.p, s->pend.len, true);
        buf_consume(&s->pend, used);
        if (s->pend.len && !s->closing) {
            run_queue_add(srv, s); /* to the back: the others go first */
        } else {
            buf_free(&s->pend);
            set_events(srv, s); /* reading again */
        }
        bool at_end = s == last;
        flush_out(srv, s); /* may end s */
        if (at_end) break; /* each queued session gets one turn per loop */
    }
}

static void expire(struct lure_server *srv)
{
    int64_t lim[2] = {(int64_t)srv->cfg.login_timeout * 1000000,
                      (int64_t)srv->cfg.idle_timeout * 1000000};
    for (int l = 0; l < 2; l++)
        while (srv->lists[l].head && srv->lists[l].head->last_us + lim[l] <= srv->now_us)
            end_session(srv, srv->lists[l].head, "timeout");
}

int lure_server_run(struct lure_server *srv, volatile sig_atomic_t *stop)
{
    struct epoll_event evs[256];
    int64_t last_tick = now_us();
    srv->stop = stop;
    while (!*stop) {
        int n = epoll_wait(srv->ep, evs, 256, srv->run_head ? 0 : 250);
        if (n < 0 && errno != EINTR) return -errno;
        srv->now_us = now_us();
        srv->turn_work = 0;
        for (int i = 0; i < n; i++) {
            uint8_t kind = *(uint8_t *)evs[i].data.ptr;
            if (kind == KIND_LISTENER) {
                on_accept(srv, evs[i].data.ptr);
                continue;
            }
            struct session *s = evs[i].data.ptr;
            /* a session ended earlier in this batch cannot be in it: epoll
             * drops a closed fd's events, and we end sessions only here */
            if (evs[i].events & EPOLLOUT) {
                if (!flush_out(srv, s)) continue;
            }
            if ((evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !s->queued)
                on_readable(srv, s);
        }
        run_queued(srv);
        expire(srv);
        lure_log_flush(srv->cfg.log, srv->now_us, false);
        if (srv->cfg.tick && srv->now_us - last_tick >= 1000000) {
            srv->cfg.tick(srv->cfg.tick_ctx, &srv->st, srv->nsess);
            last_tick = srv->now_us;
        }
    }
    srv->now_us = now_us();
    for (int l = 0; l < 2; l++)
        while (srv->lists[l].head)
            end_session(srv, srv->lists[l].head, "shutdown");
    lure_log_flush(srv->cfg.log, srv->now_us, true);
    return 0;
}

void lure_server_free(struct lure_server *srv)
{
    if (!srv) return;
    for (int i = 0; i < srv->nls; i++)
        close(srv->ls[i].fd);
    close(srv->ep);
    table_free(&srv->sources);
    free(srv);
}
