/* serve — read-only HTTP API over the observatory database, plus static files.
 *
 * libmicrohttpd runs a small thread pool; each worker keeps its own read-only
 * SQLite connection (WAL lets it read while observe writes).  Every request is
 * validated by params.c before the database is touched: unknown paths are 404,
 * malformed arguments 400 with a one-line reason, a missing or busy database
 * 503 — never a crash.  Static files come from --web, and a path that would
 * leave it (also percent-encoded, which the library decodes first) is refused.
 * Binds to loopback unless told otherwise, and warns when told otherwise. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../report/query.h"
#include "../store/store.h"
#include "params.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct server {
    const char *db_path;
    char web_root[PATH_MAX]; /* resolved; "" when there is none */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
                               char *body, size_t len, bool owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!body) return MHD_NO;
    return respond(c, status, "application/json", body, strlen(body), true);
}

static enum MHD_Result send_json(struct MHD_Connection *c, json_t *doc)
{
    char *body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(doc);
    if (!body) return send_error(c, 500, "out of memory");
    return respond(c, 200, "application/json", body, strlen(body), true);
}

static enum MHD_Result metrics(struct MHD_Connection *c, sqlite3 *db, unsigned *status)
{
    sqlite3_stmt *st;
    static const char *sql =
        "SELECT count(*), total(packets), total(bytes), total(malformed), total(non_ip),"
        " total(outside), coalesce(max(end), 0), (SELECT count(*) FROM alerts),"
        " (SELECT count(*) FROM dos), (SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta"
        " WHERE key = 'kernel_drops') FROM intervals";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        *status = 503;
        return send_error(c, 503, "database busy or unreadable");
    }
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"mamori_intervals_total", "counter", "Closed observation intervals."},
        {"mamori_packets_total", "counter", "Darknet packets observed."},
        {"mamori_bytes_total", "counter", "Bytes of darknet packets observed."},
        {"mamori_malformed_total", "counter", "Frames dropped as malformed."},
        {"mamori_non_ip_total", "counter", "Frames dropped as not IP."},
        {"mamori_outside_total", "counter", "Packets dropped as outside the darknet."},
        {"mamori_last_interval_end_seconds", "gauge", "End of the newest interval (Unix time)."},
        {"mamori_alerts_total", "counter", "Surge alerts raised."},
        {"mamori_dos_victims_total", "counter", "DoS victims inferred from backscatter."},
        {"mamori_kernel_drops_total", "counter", "Packets a live capture lost before observe."},
    };
    size_t cap = 4096, o = 0;
    char *body = malloc(cap);
    if (!body) {
        sqlite3_finalize(st);
        return send_error(c, 500, "out of memory");
    }
    for (int i = 0; i < (int)(sizeof m / sizeof m[0]); i++)
        o += (size_t)snprintf(body + o, cap - o, "# HELP %s %s\n# TYPE %s %s\n%s %.0f\n", m[i].name,
                              m[i].help, m[i].name, m[i].type, m[i].name,
                              sqlite3_column_double(st, i));
    sqlite3_finalize(st);
    return respond(c, 200, "text/plain; version=0.0.4", body, o, true);
}

static enum MHD_Result stream(struct MHD_Connection *c, const struct server *s);
static enum MHD_Result answer(struct MHD_Connection *c, sqlite3 *db, const struct api_req *q,
                              unsigned *status);

/* Idle read-only database connections, reused across requests: a connection
 * keeps its mapping of the file, its page cache and its parsed schema, which
 * is most of the cost of a short query.  A connection that failed is closed,
 * not returned, so a replaced or repaired database file is picked up. */
#define POOL_MAX 8
static struct {
    pthread_mutex_t mu;
    struct store *idle[POOL_MAX];
    int n;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct store *pool_get(const struct server *s)
{
    pthread_mutex_lock(&pool.mu);
    struct store *c = pool.n ? pool.idle[--pool.n] : NULL;
    pthread_mutex_unlock(&pool.mu);
    return c ? c : store_open(s->db_path, false);
}

static void pool_put(struct store *c, bool healthy)
{
    pthread_mutex_lock(&pool.mu);
    if (healthy && pool.n < POOL_MAX) {
        pool.idle[pool.n++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&pool.mu);
    store_close(c);
}

static void pool_drain(void)
{
    pthread_mutex_lock(&pool.mu);
    while (pool.n)
        store_close(pool.idle[--pool.n]);
    pthread_mutex_unlock(&pool.mu);
}

static enum MHD_Result api(struct MHD_Connection *c, const struct server *s,
                           const struct api_req *q)
{
    if (q->route == API_STREAM) return stream(c, s);
    struct store *conn = pool_get(s);
    if (!conn) return send_error(c, 503, err_msg());
    unsigned status = 0;
    enum MHD_Result ok = answer(c, store_db(conn), q, &status);
    pool_put(conn, status < 500);
    return ok;
}

static enum MHD_Result answer(struct MHD_Connection *c, sqlite3 *db, const struct api_req *q,
                              unsigned *status)
{
    *status = 200;
    if (q->route == API_METRICS) return metrics(c, db, status);
    json_t *doc = NULL;
    switch (q->route) {
    case API_SUMMARY:
        doc = query_summary(db, &q->w);
        break;
    case API_SECTION:
        doc = query_section(db, q->section, &q->w);
        break;
    case API_GEO:
        doc = query_geo(db, &q->w);
        break;
    case API_TIMESERIES: {
        json_t *pts = query_timeseries(db, &q->w, q->proto, q->port, q->res);
        json_t *alerts = pts ? query_section(db, "alerts", &q->w) : NULL;
        if (pts && alerts) {
            json_t *mine = json_array(), *a;
            size_t i;
            json_array_foreach(alerts, i, a)
            {
                if (!strcmp(json_string_value(json_object_get(a, "proto")), q->proto) &&
                    json_integer_value(json_object_get(a, "port")) == q->port)
                    json_array_append(mine, a);
            }
            doc = json_pack("{s:s,s:i,s:I,s:o,s:o}", "proto", q->proto, "port", q->port,
                            "resolution", (json_int_t)q->res, "points", pts, "alerts", mine);
            pts = NULL;
        }
        json_decref(pts);
        json_decref(alerts);
        break;
    }
    default:
        break;
    }
    if (!doc) {
        char msg[600];
        snprintf(msg, sizeof msg, "database busy or unreadable: %s", err_msg());
        *status = 503;
        return send_error(c, 503, msg);
    }
    return send_json(c, doc);
}

/* Server-Sent Events: new live samples ("packet") and surge alerts ("alert")
 * as observe writes them, polled from the database every 200 ms by this
 * connection's own thread; a comment line every 15 s keeps proxies open. */
struct sse {
    struct store *db;
    int64_t last_sample, last_alert;
    double last_beat;
    char *buf;
    size_t len, off, cap;
};

static void sse_free(void *cls)
{
    struct sse *x = cls;
    store_close(x->db);
    free(x->buf);
    free(x);
}

static void sse_append(struct sse *x, const char *event, json_t *data)
{
    char *d = json_dumps(data, JSON_COMPACT);
    if (!d) return;
    size_t need = strlen(event) + strlen(d) + 20;
    if (x->len + need > x->cap) {
        size_t cap = (x->len + need) * 2;
        char *b = realloc(x->buf, cap);
        if (!b) {
            free(d);
            return;
        }
        x->buf = b;
        x->cap = cap;
    }
    x->len +=
        (size_t)snprintf(x->buf + x->len, x->cap - x->len, "event: %s\ndata: %s\n\n", event, d);
    free(d);
}

static int64_t max_id(sqlite3 *db, const char *table)
{
    char sql[64];
    sqlite3_stmt *st;
    int64_t v = 0;
    snprintf(sql, sizeof sql, "SELECT coalesce(max(id), 0) FROM %s", table);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void sse_poll(struct sse *x)
{
    static const struct {
        const char *event, *sql;
    } q[2] = {{"packet", "SELECT id, ts_us, src, lat, lon, cc, proto, port, class, fingerprint"
                         " FROM live_samples WHERE id > ? ORDER BY id LIMIT 200"},
              {"alert", "SELECT id, at, kind, proto, port, sources, baseline FROM alerts"
                        " WHERE id > ? ORDER BY id LIMIT 50"}};
    sqlite3 *db = store_db(x->db);
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, q[k].sql, -1, &st, NULL) != SQLITE_OK) continue;
        sqlite3_bind_int64(st, 1, k ? x->last_alert : x->last_sample);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *o = json_object();
            for (int i = 1; i < sqlite3_column_count(st); i++) {
                const char *name = sqlite3_column_name(st, i);
                json_t *v;
                char iso[32];
                switch (sqlite3_column_type(st, i)) {
                case SQLITE_INTEGER:
                    v = !strcmp(name, "ts_us")
                            ? json_string(cli_iso_us(sqlite3_column_int64(st, i), iso))
                        : !strcmp(name, "at")
                            ? json_string(cli_iso(sqlite3_column_int64(st, i), iso))
                            : json_integer(sqlite3_column_int64(st, i));
                    break;
                case SQLITE_FLOAT: /* coordinates: 4 decimals is 11 m */
                    v = json_real(round(sqlite3_column_double(st, i) * 1e4) / 1e4);
                    break;
                case SQLITE_TEXT:
                    v = json_string((const char *)sqlite3_column_text(st, i));
                    break;
                default:
                    v = json_null();
                }
                json_object_set_new(o, !strcmp(name, "ts_us") ? "t" : name, v);
            }
            sse_append(x, q[k].event, o);
            json_decref(o);
            *(k ? &x->last_alert : &x->last_sample) = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct sse *x = cls;
    while (x->off == x->len) {
        if (stop) return MHD_CONTENT_READER_END_OF_STREAM;
        x->off = x->len = 0;
        sse_poll(x);
        if (x->len) break;
        if (cli_now() - x->last_beat > 15) {
            x->last_beat = cli_now();
            json_t *o = json_object();
            sse_append(x, "ping", o);
            json_decref(o);
            break;
        }
        struct timespec pause = {0, 200 * 1000000};
        nanosleep(&pause, NULL);
    }
    size_t n = x->len - x->off < max ? x->len - x->off : max;
    memcpy(buf, x->buf + x->off, n);
    x->off += n;
    return (ssize_t)n;
}

static enum MHD_Result stream(struct MHD_Connection *c, const struct server *s)
{
    struct sse *x = calloc(1, sizeof *x);
    if (!x) return send_error(c, 500, "out of memory");
    if (!(x->db = store_open(s->db_path, false))) {
        free(x);
        return send_error(c, 503, err_msg());
    }
    x->last_sample = max_id(store_db(x->db), "live_samples"); /* from now on */
    x->last_alert = max_id(store_db(x->db), "alerts");
    x->last_beat = cli_now();
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, sse_read, x, sse_free);
    if (!r) {
        sse_free(x);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
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
    if (!s->web_root[0]) return send_error(c, 404, "no dashboard here (--web)");
    /* the library has percent-decoded url: refuse any '..' segment, NUL or backslash */
    if (url[0] != '/' || strstr(url, "/..") || strchr(url, '\\'))
        return send_error(c, 404, "not found");
    char path[PATH_MAX], real[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s%s%s", s->web_root, url,
                     url[strlen(url) - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof path || !realpath(path, real))
        return send_error(c, 404, "not found");
    size_t rl = strlen(s->web_root);
    if (strncmp(real, s->web_root, rl) != 0 || (real[rl] != '/' && real[rl] != 0))
        return send_error(c, 404, "not found"); /* a symlink out of the root */
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return send_error(c, 404, "not found");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    const struct server *s = cls;
    if (!*state) { /* first call: headers only */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) return send_error(c, 400, "this API takes no request body");
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return send_error(c, 405, "only GET and HEAD");
    struct collect args = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    struct api_req q;
    char msg[256] = "";
    int rc = api_parse(url, args.a, args.n > API_MAX_ARGS ? API_MAX_ARGS + 1 : args.n, &q, msg,
                       sizeof msg);
    if (rc == 404) return send_error(c, 404, "no such API endpoint");
    if (rc) return send_error(c, 400, msg);
    if (q.route == API_NONE) return static_file(c, s, url);
    return api(c, s, &q);
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
    fputs("usage: mamori serve [--db PATH] [--listen ADDR:PORT] [--web DIR]\n"
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
          "      --interface IF   or capturing live from IF\n",
          f);
}

int cmd_serve(int argc, char **argv)
{
    static const struct option lo[] = {
        {"db", required_argument, 0, 'D'},     {"darknet", required_argument, 0, 'd'},
        {"read", required_argument, 0, 'r'},   {"interface", required_argument, 0, 'i'},
        {"listen", required_argument, 0, 'l'}, {"web", required_argument, 0, 'W'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    struct server s = {.db_path = "var/mamori.db"};
    const char *listen_at = "127.0.0.1:8080", *web = NULL, *darknet = NULL, *iface = NULL;
    const char *reads[24];
    int n_reads = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:d:r:i:h", lo, NULL)) != -1) {
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
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
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
    /* the workers inherit a mask without SIGINT/SIGTERM: only sigsuspend below takes them */
    sigset_t stopsigs, orig;
    sigemptyset(&stopsigs);
    sigaddset(&stopsigs, SIGINT);
    sigaddset(&stopsigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopsigs, &orig);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY |
                             MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         0, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 512u,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)32768, MHD_OPTION_END);
    if (!d) {
        cli_error("--listen %s: cannot listen: %s", listen_at, strerror(errno));
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
    MHD_stop_daemon(d);
    pool_drain();
    return 0;
}
