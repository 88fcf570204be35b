/* serve — read-only HTTP API over the observatory database, plus static files.
 *
 * Threads.  libmicrohttpd runs 2 event-loop threads (epoll, a thread pool)
 * that accept, parse and answer; they never block and never query SQLite:
 * they send a cached answer, the /metrics body the live thread keeps ready, or
 * a static file (opened only when it is a regular file).  Everything slow
 * happens in threads serve owns (work.c): query threads run the expensive
 * endpoints from a bounded queue while the asking connection is suspended
 * (503 with Retry-After when the queue is full), one live thread watches the
 * database for commits (which invalidate the cache) and feeds every
 * /api/v1/stream client from one shared event log, and one guard thread
 * closes connections that do not finish their request head in time.  So a
 * stream, a slow client or an expensive query occupies a connection slot, not
 * a thread, and cheap endpoints never queue behind expensive ones.
 *
 * Limits (serve.h, each an option): connections in all and per address,
 * a deadline for a whole request head, stream clients, queries running and
 * waiting, the cache's bytes.  The endpoints are a table (routes.c: each
 * line's path, argument parser, handler, whether its answer is cached);
 * requests are validated by params.c against it before any
 * work: unknown paths 404, malformed arguments 400 with a one-line reason
 * (request text in it escaped, so the JSON is always valid), a body, a
 * NUL byte (encoded or raw) or too many arguments 400, a missing or busy database 503 with
 * a plain reason (the path and SQLite's message go to stderr only) — never a
 * crash.  Static files come from --web, and a path that would leave it (also
 * percent-encoded, which the library decodes first) is refused.  Binds to
 * loopback unless told otherwise, and warns when told otherwise. */
#include "routes.h"
#include "serve.h"
#include "taxii.h"
#include "taxii_params.h"
#include "../core/cli.h"
#include "../core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static const char *mime(const char *path)
{
    static const struct {
        const char *ext, *type;
    } t[] = {{".html", "text/html; charset=utf-8"},
             {".js", "text/javascript"},
             {".css", "text/css"},
             {".json", "application/json"},
             {".svg", "image/svg+xml"},
             {".png", "image/png"},
             {".woff2", "font/woff2"},
             {".map", "application/json"},
             {".ico", "image/x-icon"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(dot, t[i].ext)) return t[i].type;
    return "application/octet-stream";
}

static enum MHD_Result static_file(struct MHD_Connection *c, const struct server *s,
                                   const char *url)
{
    if (!s->web_root[0]) return send_error(c, 404, "no dashboard here (--web)", 0);
    /* the library has percent-decoded url: refuse any '..' segment or backslash
     * (a NUL byte was refused before, see uri_seen) */
    if (url[0] != '/' || strstr(url, "/..") || strchr(url, '\\'))
        return send_error(c, 404, "not found", 0);
    char path[PATH_MAX], real[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s%s%s", s->web_root, url,
                     url[strlen(url) - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof path || !realpath(path, real))
        return send_error(c, 404, "not found", 0);
    size_t rl = strlen(s->web_root);
    if (strncmp(real, s->web_root, rl) != 0 || (real[rl] != '/' && real[rl] != 0))
        return send_error(c, 404, "not found", 0); /* a symlink out of the root */
    /* never open anything but a regular file: opening a FIFO blocks, a device
     * may act on open.  O_NONBLOCK covers a swap between stat and open, and
     * fstat must then agree with stat. */
    struct stat st, fst;
    if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) return send_error(c, 404, "not found", 0);
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0 || fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) || fst.st_ino != st.st_ino ||
        fst.st_dev != st.st_dev) {
        if (fd >= 0) close(fd);
        return send_error(c, 404, "not found", 0);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); /* the library wants it blocking */
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)fst.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", mime(real));
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

struct collect {
    struct api_arg a[API_MAX_ARGS + 1];
    size_t n;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct collect *c = cls;
    if (c->n <= API_MAX_ARGS) c->a[c->n] = (struct api_arg){key, value};
    c->n++;
    return MHD_YES;
}

static struct conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void notify(void *cls, struct MHD_Connection *c, void **sock,
                   enum MHD_ConnectionNotificationCode code)
{
    struct server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *k = calloc(1, sizeof *k);
        if (!k) return;
        k->c = c;
        conn_started(s, k);
        *sock = k;
    } else if (*sock) {
        conn_closed(s, *sock);
        *sock = NULL;
    }
}

/* The raw request target, before the library decodes and splits it: the only
 * place an encoded NUL is still visible (decoded, it would cut the path:
 * /index.html%00.js would be /index.html), and where a flood of arguments can
 * be stopped before the library allocates a record per argument from the
 * connection's fixed memory (past ~500 it runs out and answers nothing).  The
 * library has already found the '?', and parses the arguments from the byte
 * after it once we return; ending the string there leaves it none to parse.
 * The request is refused with the documented 400 all the same (handle()). */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    struct conn *k = conn_of(c);
    if (!k) return NULL;
    struct api_uri u;
    api_scan_uri(uri, &u);
    k->started = k->answering = false;
    k->nul = u.nul;
    k->args = u.args;
    /* A raw NUL byte in the target: the library ends the target where the
     * space before the HTTP version was, so the version starts just after the
     * first NUL unless the target holds one of its own (handle() compares the
     * addresses).  The library looks for the '?' past such a NUL, which the
     * scan above cannot see: when the text after the NUL is not the version
     * (so it is still the target, up to its next NUL), a '?' in it gets no
     * arguments parsed either. */
    k->uri_end = uri + strlen(uri);
    if (strncmp(k->uri_end + 1, "HTTP/", 5) != 0) {
        char *q = strchr(k->uri_end + 1, '?');
        if (!u.query && q) q[1] = 0;
    }
    k->park = PARK_IDLE;
    blob_unref(k->ready);
    k->ready = NULL;
    if (u.args > API_MAX_ARGS) *(char *)u.query = 0; /* our own request buffer, see above */
    return k;
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode toe)
{
    (void)state;
    (void)toe;
    struct conn *k = conn_of(c);
    if (!k) return;
    blob_unref(k->ready);
    k->ready = NULL;
    taxii_req_free(k->taxii);
    k->taxii = NULL;
    k->started = k->answering = false;
    conn_request(cls, k, false); /* the next request head's deadline runs from now */
}

static bool has_body(struct MHD_Connection *c)
{
    const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding") ||
           (len && strspn(len, "0 \t") != strlen(len));
}

/* An expensive endpoint: from the cache, or parked until a query thread has
 * the answer (requests for the same answer share one query). */
static enum MHD_Result api(struct MHD_Connection *c, struct server *s, struct conn *k,
                           const struct api_req *q)
{
    char key[160];
    api_key(q, key, sizeof key);
    uint64_t gen = atomic_load(&s->gen);
    struct blob *b = s->cache && q->def->cacheable ? cache_get(s->cache, key, gen) : NULL;
    if (b) return respond_blob(c, b);
    int rc = job_submit(s, k, q, key, gen);
    if (rc == -EBUSY) return send_error(c, 503, "busy: too many queries at once, retry", 1);
    if (rc) return send_error(c, 503, "shutting down", 0);
    if (park(s, c, &k->park, false)) return MHD_YES; /* handle() again once woken */
    b = k->ready;                                    /* answered before we could park */
    k->ready = NULL;
    return respond_blob(c, b);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)upload;
    struct server *s = cls;
    struct conn *k = *state;
    if (!k) return MHD_NO; /* every request passes uri_seen */
    if (s->taxii && taxii_is_path(url)) /* share: TAXII's own routes, writes among them */
        return taxii_handle(s, k, c, url, method, version, upload, upload_size);
    if (!k->started) {     /* the request head is complete: refuse what is wrong with it now */
        k->started = true;
        conn_request(s, k, true);
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return send_error(c, 405, "only GET and HEAD", 0);
        if (has_body(c)) return send_error(c, 400, "this API takes no request body", 0);
        if (k->nul || version != k->uri_end + 1)
            return send_error(c, 400, "a NUL byte (%00) in the request", 0);
        if (k->args > API_MAX_ARGS) {
            char msg[64];
            snprintf(msg, sizeof msg, "too many query arguments (at most %d)", API_MAX_ARGS);
            return send_error(c, 400, msg, 0);
        }
        return MHD_YES; /* answered at the next call: answering now would cost keep-alive */
    }
    if (k->ready) { /* woken with a query's answer */
        struct blob *b = k->ready;
        k->ready = NULL;
        return respond_blob(c, b);
    }
    if (*upload_size || k->answering) {
        *upload_size = 0;
        return MHD_YES;
    }
    k->answering = true;
    char msg[256] = "";
    struct collect args = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    struct api_req q;
    int rc = api_parse(url, args.a, args.n > API_MAX_ARGS ? API_MAX_ARGS + 1 : args.n, &q, msg,
                       sizeof msg);
    if (rc == 404) return send_error(c, 404, "no such API endpoint", 0);
    if (rc) return send_error(c, 400, msg, 0);
    if (!q.def) return static_file(c, s, url);
    return q.def->now ? q.def->now(s, k, c) : api(c, s, k, &q);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[400];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = 0;
    serve_log("serve: %s", line);
}

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    uint64_t port;
    char *end;
    errno = 0;
    port = strtoull(colon + 1, &end, 10);
    if (*end || errno || port > 65535 || colon[1] == 0) return -1;
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        host[strlen(host) - 1] = 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) return -1;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *len = sizeof *a;
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return -1;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *len = sizeof *a;
    return 0;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* serve --darknet ... --read/--interface: observe runs as a child process on
 * the same database, so the live view has something to show; it is stopped
 * like a Ctrl-C (SIGINT: it flushes) when serve stops. */
static pid_t start_observer(const struct server *s, const char *darknet, const char **reads,
                            int n_reads, const char *iface, const sigset_t *mask)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = "mamori";
    argv[n++] = "observe";
    argv[n++] = "--quiet";
    argv[n++] = "--darknet";
    argv[n++] = darknet;
    argv[n++] = "--db";
    argv[n++] = s->db_path;
    for (int i = 0; i < n_reads && n < 60; i++) {
        argv[n++] = "--read";
        argv[n++] = reads[i];
    }
    if (iface) {
        argv[n++] = "--interface";
        argv[n++] = iface;
    }
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, mask, NULL);
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mamori serve [--db PATH] [--listen ADDR:PORT] [--web DIR] [limits]\n"
            "                    [--darknet CIDR[,CIDR...] (--read FILE... | --interface IF)]\n"
            "\n"
            "Serve the observatory database over HTTP: a read-only JSON API (/api/v1/...),\n"
            "Prometheus metrics (/metrics) and the dashboard's static files.\n"
            "\n"
            "      --db PATH        database (default var/mamori.db)\n"
            "  -l, --listen A:P     address and port (default 127.0.0.1:8080; port 0 picks one;\n"
            "                       IPv6 as [::1]:8080)\n"
            "      --web DIR        dashboard files (default web/dist when it exists)\n"
            "      --darknet LIST   also run observe on the same database with these prefixes,\n"
            "      --read FILE      reading these captures (repeatable)\n"
            "      --interface IF   or capturing live from IF\n"
            "\n"
            "limits (beyond them a connection is refused, or a request gets 503 + Retry-After):\n"
            "      --max-connections N  open connections in all (default %u); when full, the\n"
            "                           oldest one still sending its request head is closed,\n"
            "                           or else the oldest answer taking longer than\n"
            "                           --header-timeout (not a stream)\n"
            "      --max-per-address N  open connections from one address (default %u)\n"
            "      --header-timeout S   seconds from connect to the end of the request head\n"
            "                           (default %u; also the keep-alive idle time)\n"
            "      --max-streams N      /api/v1/stream clients (default %u)\n"
            "      --max-queries N      expensive queries running at once (default %u; %u more\n"
            "                           per running one wait, then 503)\n"
            "      --cache-mb N         cache of API answers, until the next commit (default\n"
            "                           %u MiB; 0 turns it off)\n"
            "\n"
            "TAXII 2.1 (under /taxii2/; the only routes that take writes, always signed in):\n"
            "      --taxii FILE         serve the API roots and collections FILE configures\n"
            "      --taxii-max-body N   bytes of one POST (default %u; beyond: 413)\n"
            "      --taxii-max-objects N  objects in one envelope (default %u; beyond: 413)\n"
            "      --taxii-max-pending N  POSTs and DELETEs queued or running (default %u;\n"
            "                           beyond: 503 + Retry-After)\n",
            SERVE_CONNECTIONS, SERVE_PER_ADDRESS, SERVE_HEADER_TIMEOUT, SERVE_STREAMS,
            SERVE_QUERIES, SERVE_QUEUE_PER_QUERY, SERVE_CACHE_MB, TAXII_MAX_BODY, TAXII_MAX_OBJECTS,
            TAXII_MAX_PENDING);
}

static bool limit_arg(const char *opt, const char *v, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || errno || x < min || x > max || strspn(v, "0123456789") != strlen(v)) {
        cli_error("--%s: '%s' is not a whole number from %u to %u", opt, v, min, max);
        return false;
    }
    *out = (unsigned)x;
    return true;
}

/* Enough descriptors for every connection, the database and the threads'
 * files: the soft limit goes up to the hard one, and the connection cap comes
 * down when even that is too few. */
static void fit_fd_limit(struct serve_limits *lim)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)lim->connections + 64 + 8 * lim->queries;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need) return;
    rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need) {
        unsigned n = rl.rlim_cur > 128 + 8 * lim->queries
                         ? (unsigned)(rl.rlim_cur - 64 - 8 * lim->queries)
                         : 64;
        cli_error("warning: serve: only %llu file descriptors: at most %u connections",
                  (unsigned long long)rl.rlim_cur, n);
        lim->connections = n;
    }
}

int cmd_serve(int argc, char **argv)
{
    enum { O_MAXCONN = 256, O_PERADDR, O_HEADER, O_STREAMS, O_QUERIES, O_CACHE };
    enum { O_TAXII = 300, O_TX_BODY, O_TX_OBJECTS, O_TX_PENDING }; /* share: taxii */
    static const struct option lo[] = {{"db", required_argument, 0, 'D'},
                                       {"darknet", required_argument, 0, 'd'},
                                       {"read", required_argument, 0, 'r'},
                                       {"interface", required_argument, 0, 'i'},
                                       {"listen", required_argument, 0, 'l'},
                                       {"web", required_argument, 0, 'W'},
                                       {"max-connections", required_argument, 0, O_MAXCONN},
                                       {"max-per-address", required_argument, 0, O_PERADDR},
                                       {"header-timeout", required_argument, 0, O_HEADER},
                                       {"max-streams", required_argument, 0, O_STREAMS},
                                       {"max-queries", required_argument, 0, O_QUERIES},
                                       {"cache-mb", required_argument, 0, O_CACHE},
                                       {"taxii", required_argument, 0, O_TAXII},
                                       {"taxii-max-body", required_argument, 0, O_TX_BODY},
                                       {"taxii-max-objects", required_argument, 0, O_TX_OBJECTS},
                                       {"taxii-max-pending", required_argument, 0, O_TX_PENDING},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static struct server s; /* the threads and callbacks share it until the end */
    memset(&s, 0, sizeof s);
    s.db_path = "var/mamori.db";
    unsigned cache_mb = SERVE_CACHE_MB;
    s.lim = (struct serve_limits){SERVE_CONNECTIONS, SERVE_PER_ADDRESS, SERVE_HEADER_TIMEOUT,
                                  SERVE_STREAMS,     SERVE_QUERIES,     0};
    const char *listen_at = "127.0.0.1:8080", *web = NULL, *darknet = NULL, *iface = NULL;
    const char *reads[24];
    int n_reads = 0;
    struct taxii_opts tx = {NULL, TAXII_MAX_BODY, TAXII_MAX_OBJECTS, TAXII_MAX_PENDING};
    unsigned tx_body = TAXII_MAX_BODY;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:d:r:i:h", lo, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'D':
            s.db_path = optarg;
            break;
        case 'l':
            listen_at = optarg;
            break;
        case 'W':
            web = optarg;
            break;
        case 'd':
            darknet = optarg;
            break;
        case 'r':
            if (n_reads == 24) {
                cli_error("serve: at most 24 --read files");
                return EXIT_USAGE;
            }
            reads[n_reads++] = optarg;
            break;
        case 'i':
            iface = optarg;
            break;
        case O_MAXCONN:
            ok = limit_arg("max-connections", optarg, 4, 100000, &s.lim.connections);
            break;
        case O_PERADDR:
            ok = limit_arg("max-per-address", optarg, 1, 100000, &s.lim.per_address);
            break;
        case O_HEADER:
            ok = limit_arg("header-timeout", optarg, 1, 3600, &s.lim.header_timeout);
            break;
        case O_STREAMS:
            ok = limit_arg("max-streams", optarg, 0, 100000, &s.lim.streams);
            break;
        case O_QUERIES:
            ok = limit_arg("max-queries", optarg, 1, 64, &s.lim.queries);
            break;
        case O_CACHE:
            ok = limit_arg("cache-mb", optarg, 0, 65536, &cache_mb);
            break;
        case O_TAXII:
            tx.conf = optarg;
            break;
        case O_TX_BODY:
            ok = limit_arg("taxii-max-body", optarg, 1024, 1u << 30, &tx_body);
            break;
        case O_TX_OBJECTS:
            ok = limit_arg("taxii-max-objects", optarg, 1, 1000000, &tx.max_objects);
            break;
        case O_TX_PENDING:
            ok = limit_arg("taxii-max-pending", optarg, 1, 1024, &tx.max_pending);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
        if (!ok) return EXIT_USAGE;
    }
    s.lim.cache_bytes = (size_t)cache_mb << 20;
    if (!cli_no_operands("serve", argc, argv, optind)) return EXIT_USAGE;
    if (!darknet != (!n_reads && !iface) || (n_reads && iface)) {
        cli_error("serve: --darknet goes with --read FILE... or --interface IF (one kind)");
        return EXIT_USAGE;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_listen(listen_at, &ss, &sl) < 0) {
        cli_error("--listen: '%s' is not ADDR:PORT (IPv6 as [ADDR]:PORT)", listen_at);
        return EXIT_USAGE;
    }
    if (web && !realpath(web, s.web_root)) {
        cli_error("--web: %s: %s", web, strerror(errno));
        return EXIT_USAGE;
    }
    if (!web && !realpath("web/dist", s.web_root)) s.web_root[0] = 0;
    if (!is_loopback(&ss))
        cli_error("warning: serving on %s, not loopback: anyone who reaches it can read the "
                  "database",
                  listen_at);
    fit_fd_limit(&s.lim);
    /* the workers inherit a mask without SIGINT/SIGTERM: only sigsuspend below takes them */
    sigset_t stopsigs, orig;
    sigemptyset(&stopsigs);
    sigaddset(&stopsigs, SIGINT);
    sigaddset(&stopsigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopsigs, &orig);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    stop = 0;
    if (work_start(&s) < 0) {
        cli_error("serve: cannot start its threads: %s", strerror(errno));
        return 1;
    }
    tx.max_body = tx_body;
    if (tx.conf && taxii_start(&s, &tx) < 0) { /* share: taxii */
        cli_error("serve: --taxii %s", err_msg());
        taxii_stop(&s);
        taxii_free(&s);
        work_stop(&s);
        work_free(&s);
        return 1;
    }
    /* the library's own cap sits above ours, so that our eviction of the
     * oldest unfinished head acts first (conn_started) */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, handle, &s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT,
        s.lim.connections + 32, MHD_OPTION_PER_IP_CONNECTION_LIMIT, s.lim.per_address,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_IDLE_TIMEOUT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_NOTIFY_CONNECTION, notify, &s,
        MHD_OPTION_NOTIFY_COMPLETED, completed, &s, MHD_OPTION_URI_LOG_CALLBACK, uri_seen, &s,
        MHD_OPTION_END);
    if (!d) {
        cli_error("--listen %s: cannot listen: %s", listen_at, strerror(errno));
        taxii_stop(&s);
        taxii_free(&s);
        work_stop(&s);
        work_free(&s);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char shown[INET6_ADDRSTRLEN + 2] = "";
    snprintf(shown, sizeof shown, "%.*s", (int)(strrchr(listen_at, ':') - listen_at), listen_at);
    fprintf(stderr, "mamori: serving http://%s:%u/ (database %s%s%s)\n", shown,
            info ? info->port : 0, s.db_path, s.web_root[0] ? ", dashboard " : "", s.web_root);
    pid_t observer = darknet ? start_observer(&s, darknet, reads, n_reads, iface, &orig) : 0;
    if (observer < 0) cli_error("serve: cannot start observe: %s", strerror(errno));
    while (!stop)
        sigsuspend(&orig);
    if (observer > 0) {
        kill(observer, SIGINT);
        waitpid(observer, NULL, 0);
    }
    taxii_stop(&s);
    work_stop(&s);
    MHD_stop_daemon(d);
    taxii_free(&s);
    work_free(&s);
    return 0;
}
