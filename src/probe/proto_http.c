/* proto_http — HTTP admin pages: the Server header and <title>, then Basic or Digest logins.
 *
 * The first request carries no credentials.  A 401 with a Basic or Digest (MD5) challenge starts
 * the pairs; any other answer ends the check (a page that opens without credentials is reported
 * with auth=none, never as a credential finding).  With a pair, a 2xx or 3xx answer is a login
 * accepted, a 401 a pair refused (its fresh challenge, a new Digest nonce, is used for the next);
 * other answers count as refused too.  Keep-alive connections carry the next pair; otherwise the
 * next pair goes on a new connection.  The User-Agent is the scanner's identity (--contact). */
#include "httpc.h"
#include "probe.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

enum { H_PLAIN, H_CRED };

struct http_state {
    char buf[HTTPC_BUF];
    size_t len;
    uint8_t phase;
    bool challenged;
    struct http_resp chal; /* the last challenge */
    unsigned nc;
    uint32_t attempts_at_start;
    const struct cred *cur;
};
_Static_assert(sizeof(struct http_state) <= PROBE_STATE_MAX, "http state fits the slot");

static bool request(struct probe_conn *c, struct http_state *s, const struct cred *cr)
{
    char host[IP_STRLEN + 8], ip[IP_STRLEN], auth[1200] = "", req[PROBE_OUT];
    ip_format(&c->job->ip, ip);
    if (c->job->port == 80)
        snprintf(host, sizeof host, strchr(ip, ':') ? "[%s]" : "%s", ip);
    else
        snprintf(host, sizeof host, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, c->job->port);
    const char *path = c->cfg->http_path;
    if (cr) {
        int n;
        if (s->chal.auth == HTTPC_AUTH_BASIC) {
            memcpy(auth, "Authorization: ", 15);
            n = http_auth_basic(auth + 15, sizeof auth - 17, cr->user, cr->pass);
        } else {
            char cnonce[17];
            uint64_t x =
                (uint64_t)(uintptr_t)c ^ ((uint64_t)c->job->attempts << 32) ^ 0x9e3779b97f4a7c15u;
            x ^= x >> 31;
            x *= 0xbf58476d1ce4e5b9u;
            snprintf(cnonce, sizeof cnonce, "%016llx", (unsigned long long)x);
            memcpy(auth, "Authorization: ", 15);
            n = http_auth_digest(auth + 15, sizeof auth - 17, &s->chal, cr->user, cr->pass, "GET",
                                 path, cnonce, ++s->nc);
        }
        if (n < 0) return false;
        memcpy(auth + 15 + n, "\r\n", 3);
    }
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
                     "Connection: keep-alive\r\n%s\r\n",
                     path, host, c->cfg->user_agent, auth);
    s->len = 0;
    return n > 0 && (size_t)n < sizeof req && probe_send(c, req, (size_t)n);
}

/* The next pair: on this connection when it stays open, else on a new one. */
static enum probe_next next_pair(struct probe_conn *c, struct http_state *s, bool keep_alive)
{
    if (!probe_has_pair(c)) return PROBE_DONE;
    if (!keep_alive) return PROBE_RECONNECT;
    s->cur = probe_next_pair(c);
    return request(c, s, s->cur) ? PROBE_CONTINUE : PROBE_DONE;
}

static enum probe_next http_start(struct probe_conn *c)
{
    struct http_state *s = (struct http_state *)c->state;
    if (c->job->conns == 1) {
        memset(s, 0, sizeof *s);
        s->phase = H_PLAIN;
        s->attempts_at_start = 0;
        return request(c, s, NULL) ? PROBE_CONTINUE : PROBE_DONE;
    }
    s->attempts_at_start = c->job->attempts;
    if (!(s->cur = probe_next_pair(c))) return PROBE_DONE;
    return request(c, s, s->cur) ? PROBE_CONTINUE : PROBE_DONE;
}

static void hints(struct probe_conn *c, const struct http_resp *r)
{
    if (c->banner_len) return;
    char line[64];
    int n = snprintf(line, sizeof line, "HTTP %d", r->status);
    probe_banner(c, line, (size_t)n);
    if (r->server[0]) {
        probe_banner(c, " ", 1);
        probe_banner(c, r->server, strlen(r->server));
    }
    probe_device(c, "server", r->server);
    probe_device(c, "title", r->title);
    probe_device(c, "realm", r->realm);
}

static enum probe_next response(struct probe_conn *c, struct http_state *s, bool eof)
{
    struct http_resp r;
    int rc = http_resp_parse(&r, s->buf, s->len, eof);
    if (rc < 0) {
        c->status = c->job->attempts ? "success" : "protocol-error";
        return PROBE_DONE;
    }
    if (rc == 0) return PROBE_CONTINUE;
    hints(c, &r);
    c->status = "success";
    if (s->phase == H_PLAIN) {
        if (r.status != 401 || (r.auth != HTTPC_AUTH_BASIC && r.auth != HTTPC_AUTH_DIGEST)) {
            probe_device(c, "auth", r.status == 401 ? "other" : "none");
            return PROBE_DONE;
        }
        probe_device(c, "auth", r.auth == HTTPC_AUTH_BASIC ? "basic" : "digest");
        s->chal = r;
        s->phase = H_CRED;
        return next_pair(c, s, r.keep_alive && !eof);
    }
    if (r.status >= 200 && r.status < 400) {
        probe_accepted(c);
        return PROBE_DONE;
    }
    if (r.status == 401 && r.auth == s->chal.auth) s->chal = r;
    return next_pair(c, s, r.keep_alive && !eof);
}

static enum probe_next http_data(struct probe_conn *c, const uint8_t *d, size_t n)
{
    struct http_state *s = (struct http_state *)c->state;
    size_t room = sizeof s->buf - s->len;
    if (n > room) n = room;
    memcpy(s->buf + s->len, d, n);
    s->len += n;
    return response(c, s, false);
}

static enum probe_next http_end(struct probe_conn *c)
{
    struct http_state *s = (struct http_state *)c->state;
    if (!c->timed_out && s->len) {
        enum probe_next nx = response(c, s, true);
        if (nx != PROBE_CONTINUE) return nx;
    }
    bool tried = c->job->attempts > s->attempts_at_start;
    if (tried && probe_has_pair(c)) return PROBE_RECONNECT;
    if (!c->job->attempts && s->phase == H_PLAIN) c->status = c->timed_out ? "timeout" : "closed";
    return PROBE_DONE;
}

static const uint16_t http_ports[] = {80, 8080, 81, 8000, 0};

const struct probe_proto probe_http = {
    .name = "http",
    .help = "HTTP admin pages: Server, <title>, Basic and Digest logins",
    .ports = http_ports,
    .start = http_start,
    .data = http_data,
    .end = http_end,
};
