/* proto_ssh — SSH password logins through libssh, run whole in a worker thread.
 *
 * libssh is blocking-oriented (its non-blocking mode still blocks inside key exchange), so each
 * check runs in one of --ssh-workers threads, bounded by libssh's own timeout (--read-timeout,
 * for the connect and key exchange; each password attempt polls the socket itself, so a server
 * that hangs up is seen at once) and --host-timeout between attempts.  OpenSSH refuses
 * a change of user name inside one connection, and drops a connection after MaxAuthTries, so a
 * new connection is made when the user changes or the server hung up.  On success the socket is
 * closed without a word (ssh_silent_disconnect): no channel is opened, nothing runs.  The host
 * key is not checked: nothing secret is sent (a dictionary pair is public by definition). */
#include "../core/cli.h"
#include "probe.h"

#include <libssh/libssh.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static ssh_session ssh_open(struct probe_conn *c, const char *user)
{
    char ip[IP_STRLEN];
    ip_format(&c->job->ip, ip);
    ssh_session s = ssh_new();
    if (!s) return NULL;
    long timeout = (long)(c->cfg->read_timeout + 0.999);
    unsigned port = c->job->port;
    int no = 0, verbosity = SSH_LOG_NOLOG;
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(s, SSH_OPTIONS_HOST, ip);
    ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    ssh_options_set(s, SSH_OPTIONS_USER, user);
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    c->job->conns++;
    if (ssh_connect(s) != SSH_OK) {
        const char *e = ssh_get_error(s);
        c->status = strstr(e, "refused")  ? "connection-refused"
                    : strstr(e, "imeout") ? "connection-timeout"
                    : c->job->attempts    ? "success"
                                          : "io-error";
        ssh_free(s);
        return NULL;
    }
    if (!c->banner_len) {
        const char *b = ssh_get_serverbanner(s);
        if (b) {
            probe_banner(c, b, strlen(b));
            probe_device(c, "server", strncmp(b, "SSH-2.0-", 8) ? b : b + 8);
        }
    }
    return s;
}

/* A password attempt.  Blocking userauth waits out the whole timeout on a socket the server
 * has already closed (OpenSSH after MaxAuthTries); non-blocking calls and our own poll see the
 * close at once. */
static int ssh_try(ssh_session s, const char *pass, double timeout)
{
    ssh_set_blocking(s, 0);
    double t0 = cli_now();
    for (;;) {
        int rc = ssh_userauth_password(s, NULL, pass);
        if (rc != SSH_AUTH_AGAIN) return rc;
        int fd = ssh_get_fd(s);
        if (fd < 0 || !ssh_is_connected(s) || cli_now() - t0 > timeout) return SSH_AUTH_ERROR;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 50);
    }
}

static void ssh_close(ssh_session s)
{
    ssh_silent_disconnect(s);
    ssh_free(s);
}

static void ssh_run(struct probe_conn *c)
{
    ssh_session s = NULL;
    char user[256] = "";
    c->status = "success";
    while (probe_has_pair(c) && cli_now() - c->t_start < c->cfg->host_timeout &&
           !(c->cfg->stop && *c->cfg->stop)) {
        const struct cred *cr = &c->dict->v[c->job->next];
        if (s && strcmp(user, cr->user)) {
            ssh_close(s);
            s = NULL;
        }
        if (!s) {
            snprintf(user, sizeof user, "%s", cr->user);
            if (!(s = ssh_open(c, user))) return;
        }
        probe_next_pair(c);
        int rc = ssh_try(s, cr->pass, c->cfg->read_timeout);
        if (rc == SSH_AUTH_SUCCESS) {
            probe_accepted(c);
            break;
        }
        if (rc == SSH_AUTH_ERROR) { /* the server hung up (MaxAuthTries) or timed out */
            ssh_close(s);
            s = NULL;
        }
    }
    if (c->job->accepted < 0 && probe_has_pair(c)) c->status = "timeout";
    if (s) ssh_close(s);
}

static const uint16_t ssh_ports[] = {22, 0};

const struct probe_proto probe_ssh = {
    .name = "ssh",
    .help = "SSH password logins (libssh, in a worker pool)",
    .ports = ssh_ports,
    .run = ssh_run,
};
