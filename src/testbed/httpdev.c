/* httpdev — the HTTP devices: IoT admin pages behind Basic auth.
 *
 * One process (run by the supervisor inside NAME-d) serves every http line of
 * the spec, one libmicrohttpd daemon per (address, port), all driven by one
 * epoll thread of this process's own: MHD_USE_EPOLL without an internal
 * thread, each daemon's epoll fd in a master epoll, MHD_run on the ready ones
 * (and on all at least once a second, for timeouts).  A request without
 * credentials or with a wrong pair gets 401 with the device's realm; the
 * accepted pair gets 200 and the device's admin page.  Every reply carries the
 * device's Server header and <title>, as the real firmware does, so a prober
 * can name the device before it logs in.  Nothing sent is interpreted beyond
 * the Authorization header. */
#include "httpdev.h"

#include "../core/err.h"
#include "spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define HTTP_CONN_LIMIT 4096

struct dev {
    const struct tb_service *sv;
    struct MHD_Daemon *d;
};

static bool accepted(const struct tb_service *sv, const char *user, const char *pass)
{
    for (int i = 0; i < sv->nacc; i++)
        if (!strcmp(sv->acc[i].user, user) && !strcmp(sv->acc[i].pass, pass)) return true;
    return false;
}

static struct MHD_Response *page(const struct tb_service *sv, bool ok)
{
    char body[1024];
    int n;
    if (ok)
        n = snprintf(body, sizeof body,
                     "<html><head><title>%s</title></head><body><h1>%s</h1>"
                     "<p>Device administration</p><ul><li>Status</li><li>Network</li>"
                     "<li>System</li></ul></body></html>\n",
                     sv->title, sv->title);
    else
        n = snprintf(body, sizeof body,
                     "<html><head><title>%s</title></head><body><h1>401 Unauthorized</h1>"
                     "</body></html>\n",
                     sv->title);
    struct MHD_Response *r =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!r) return NULL;
    MHD_add_response_header(r, "Server", sv->server);
    MHD_add_response_header(r, "Content-Type", "text/html");
    MHD_add_response_header(r, "Connection", "close");
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)url, (void)method, (void)version, (void)upload;
    const struct tb_service *sv = cls;
    if (!*state) { /* first call: headers only; answer once the body (if any) is in */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* a body is read and dropped */
        return MHD_YES;
    }
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &pass);
    bool ok = user && pass && accepted(sv, user, pass);
    MHD_free(user);
    MHD_free(pass);
    struct MHD_Response *r = page(sv, ok);
    if (!r) return MHD_NO;
    enum MHD_Result rc = ok ? MHD_queue_response(c, MHD_HTTP_OK, r)
                            : MHD_queue_basic_auth_fail_response(c, sv->realm, r);
    MHD_destroy_response(r);
    return rc;
}

static struct MHD_Daemon *start(const struct tb_service *sv)
{
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(sv->port), .sin_addr.s_addr = htonl(sv->ip)};
    return MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, sv->port, NULL, NULL, handle,
                            (void *)sv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                            1024u, MHD_OPTION_END);
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int loop(struct dev *devs, size_t n)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return err_set(-errno, "epoll: %s", strerror(errno));
    for (size_t i = 0; i < n; i++) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(devs[i].d, MHD_DAEMON_INFO_EPOLL_FD);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &devs[i]};
        if (!di || epoll_ctl(ep, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0) {
            close(ep);
            return err_set(-EIO, "epoll_ctl: %s", strerror(errno));
        }
    }
    struct epoll_event evs[64];
    time_t swept = time(NULL);
    while (!stop_flag) {
        int k = epoll_wait(ep, evs, 64, 1000);
        if (k < 0 && errno != EINTR) break;
        for (int i = 0; i < k; i++)
            MHD_run(((struct dev *)evs[i].data.ptr)->d);
        if (time(NULL) != swept) { /* once a second every daemon expires its idle connections */
            swept = time(NULL);
            for (size_t i = 0; i < n; i++)
                MHD_run(devs[i].d);
        }
    }
    close(ep);
    return 0;
}

int httpdev_run(const char *spec_path)
{
    struct tb_spec *s = spec_load(spec_path);
    if (!s) return -1;
    size_t n = 0;
    struct dev *devs = calloc(s->nsvcs + 1, sizeof *devs);
    int rc = devs ? 0 : err_set(-ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < s->nsvcs; i++) {
        if (s->svcs[i].proto != TB_HTTP) continue;
        devs[n].sv = &s->svcs[i];
        if (!(devs[n].d = start(&s->svcs[i]))) {
            char b[16];
            rc = err_set(-EIO, "http %s:%u: cannot listen", spec_ip(s->svcs[i].ip, b),
                         s->svcs[i].port);
            break;
        }
        n++;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!rc) {
        fprintf(stderr, "mamori testbed: http: %zu devices\n", n);
        rc = loop(devs, n);
    }
    for (size_t i = 0; i < n; i++)
        MHD_stop_daemon(devs[i].d);
    free(devs);
    spec_free(s);
    return rc;
}
