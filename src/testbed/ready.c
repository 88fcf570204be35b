/* ready — waits until every (address, port) accepts a TCP connection from the
 * client namespace, as a scanner would see it.  A child enters NAME-c and
 * keeps up to READY_BATCH non-blocking connects in flight; a refused one is
 * retried (the unit has not bound yet) until the deadline.  The parent waits
 * for the child and the signals that matter (SIGCHLD of a unit dying early,
 * SIGTERM/SIGINT) with sigtimedwait: no sleeping, no polling interval. */
#include "ready.h"

#include "../core/err.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_BATCH 256

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int start_connect(uint32_t ip, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* In the child: 0 when all answered, else the index of one that did not. */
static long check_all(const uint32_t *ip, const uint16_t *port, size_t n, double deadline)
{
    struct pollfd pf[READY_BATCH];
    size_t which[READY_BATCH], next = 0, inflight = 0;
    size_t *retry = malloc((n + 1) * sizeof *retry), nretry = 0;
    if (!retry) return 0;
    while (next < n || inflight || nretry) {
        if (now() > deadline) {
            long bad = inflight ? (long)which[0] : nretry ? (long)retry[0] : (long)next;
            free(retry);
            return bad + 1;
        }
        while (inflight < READY_BATCH && (next < n || nretry)) {
            size_t i = nretry ? retry[--nretry] : next++;
            int fd = start_connect(ip[i], port[i]);
            if (fd < 0) {
                retry[nretry++] = i;
                break;
            }
            pf[inflight] = (struct pollfd){.fd = fd, .events = POLLOUT};
            which[inflight++] = i;
        }
        if (!inflight) {
            struct timespec ts = {0, 10 * 1000000}; /* nothing could start: back off */
            nanosleep(&ts, NULL);
            continue;
        }
        if (poll(pf, inflight, 50) < 0 && errno != EINTR) break;
        for (size_t k = 0; k < inflight;) {
            if (!pf[k].revents) {
                k++;
                continue;
            }
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(pf[k].fd, SOL_SOCKET, SO_ERROR, &err, &el);
            close(pf[k].fd);
            if (err) retry[nretry++] = which[k];
            pf[k] = pf[--inflight];
            which[k] = which[inflight];
        }
        if (nretry && inflight == 0) {
            /* everything left was refused: give the units a moment to bind */
            struct timespec ts = {0, 5 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    free(retry);
    return 0;
}

int ready_wait(const char *name, const uint32_t *ip, const uint16_t *port, size_t n, double timeout,
               ready_alive_fn alive, void *ctx)
{
    if (!n) return 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return err_set(-errno, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return err_set(-errno, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[0]);
        if (net_enter(name, 'c') < 0) _exit(3);
        long bad = check_all(ip, port, n, now() + timeout);
        if (bad) {
            char b[16], msg[64];
            int l = snprintf(msg, sizeof msg, "%s:%u", spec_ip(ip[bad - 1], b), port[bad - 1]);
            if (write(p[1], msg, (size_t)l) < 0) _exit(2);
            _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int rc = 0, st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) break;
        if (alive && alive(ctx) < 0) {
            rc = -ECHILD;
            break;
        }
        struct timespec ts = {1, 0};
        siginfo_t si;
        int sig = sigtimedwait(&set, &si, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            rc = err_set(-EINTR, "interrupted while waiting for the devices");
            break;
        }
    }
    if (rc) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        close(p[0]);
        return rc;
    }
    char msg[64] = "";
    ssize_t got = read(p[0], msg, sizeof msg - 1);
    close(p[0]);
    msg[got > 0 ? got : 0] = 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3) return err_set(-EIO, "cannot enter %s-c", name);
    if (WIFSIGNALED(st)) /* a terminal's Ctrl-C reaches the checker too */
        return err_set(-EINTR, "interrupted while waiting for the devices");
    return err_set(-ETIMEDOUT, "%s did not accept a connection within %.0f s", msg, timeout);
}
