/* proto_telnet — logins over telnet: answer the options, wait for a prompt, send a pair, read the
 * verdict (tnc.h decides what the screen shows).
 *
 * Per connection: wait for a login prompt (or a password-only prompt), send the user name, wait
 * for the password prompt, send the password, then the screen decides: a shell prompt or a
 * BusyBox banner is a login accepted (the loop closes at once; nothing more is sent, not even an
 * option answer queued in the same read), a failure message or a new prompt is a pair refused and
 * the next one goes on the same connection; a device that hangs up gets the next pair on a new
 * connection.  A connection that made no attempt never leads to another (a device that closes
 * before its prompt would loop). */
#include "probe.h"
#include "tnc.h"

#include <string.h>

enum { T_LOGIN, T_PASS, T_RESULT };

struct tn_state {
    struct tnc t;
    uint8_t phase;
    uint32_t attempts_at_start;
    const struct cred *cur;
};
_Static_assert(sizeof(struct tn_state) <= PROBE_STATE_MAX, "telnet state fits the slot");

static enum probe_next tn_start(struct probe_conn *c)
{
    struct tn_state *s = (struct tn_state *)c->state;
    tnc_init(&s->t);
    s->phase = T_LOGIN;
    s->cur = NULL;
    s->attempts_at_start = c->job->attempts;
    return PROBE_CONTINUE;
}

static bool send_line(struct probe_conn *c, struct tn_state *s, const char *text)
{
    tnc_mark(&s->t);
    return probe_send(c, text, strlen(text)) && probe_send(c, "\r\n", 2);
}

/* The text before the first prompt is the banner; the prompt line's words hint at the device. */
static void first_prompt(struct probe_conn *c, struct tn_state *s)
{
    if (c->job->conns != 1 || c->banner_len) return;
    probe_banner(c, s->t.screen, s->t.len);
    const char *last = s->t.screen, *end = s->t.screen + s->t.len;
    while (end > s->t.screen && (end[-1] == ' ' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    for (const char *p = s->t.screen; p < end; p++)
        if (*p == '\n' || *p == '\r') last = p + 1;
    char line[96];
    size_t n = (size_t)(end - last) < sizeof line - 1 ? (size_t)(end - last) : sizeof line - 1;
    memcpy(line, last, n);
    line[n] = 0;
    probe_device(c, "prompt", line);
    if (strstr(s->t.screen, "BusyBox")) probe_device(c, "os", "busybox");
}

/* Waiting for a prompt: send what it asks for. */
static enum probe_next at_prompt(struct probe_conn *c, struct tn_state *s, enum tnc_screen p)
{
    if (p == TNC_NOTHING || p == TNC_FAILED) return PROBE_CONTINUE;
    first_prompt(c, s);
    if (p == TNC_SHELL) { /* a shell with no login at all: not a credential finding */
        probe_device(c, "auth", "none");
        c->status = "success";
        return PROBE_DONE;
    }
    c->status = "success";
    if (!(s->cur = probe_next_pair(c))) return PROBE_DONE;
    if (p == TNC_LOGIN) {
        s->phase = T_PASS;
        return send_line(c, s, s->cur->user) ? PROBE_CONTINUE : PROBE_DONE;
    }
    s->phase = T_RESULT; /* a password-only device */
    return send_line(c, s, s->cur->pass) ? PROBE_CONTINUE : PROBE_DONE;
}

/* A pair was refused: the next one here, when the device is asking already or will ask. */
static enum probe_next refused(struct probe_conn *c, struct tn_state *s)
{
    if (!probe_has_pair(c)) return PROBE_DONE;
    enum tnc_screen p = tnc_prompt(s->t.screen, s->t.len);
    s->phase = T_LOGIN;
    if (p == TNC_LOGIN || p == TNC_PASSWORD) return at_prompt(c, s, p);
    tnc_mark(&s->t);
    return PROBE_CONTINUE;
}

static enum probe_next tn_data(struct probe_conn *c, const uint8_t *d, size_t n)
{
    struct tn_state *s = (struct tn_state *)c->state;
    uint8_t reply[TNC_REPLY_MAX];
    size_t rl = 0;
    tnc_feed(&s->t, d, n, reply, &rl, sizeof reply);
    if (rl) probe_send(c, reply, rl);
    enum tnc_screen p;
    switch (s->phase) {
    case T_LOGIN:
        return at_prompt(c, s, tnc_prompt(s->t.screen, s->t.len));
    case T_PASS:
        p = tnc_classify(s->t.screen, s->t.len);
        if (p == TNC_PASSWORD) {
            s->phase = T_RESULT;
            return send_line(c, s, s->cur->pass) ? PROBE_CONTINUE : PROBE_DONE;
        }
        if (p == TNC_SHELL) { /* in with the user name alone */
            probe_accepted(c);
            return PROBE_DONE;
        }
        return p == TNC_NOTHING ? PROBE_CONTINUE : refused(c, s);
    default:
        p = tnc_classify(s->t.screen, s->t.len);
        if (p == TNC_SHELL) {
            probe_accepted(c);
            return PROBE_DONE;
        }
        return p == TNC_NOTHING ? PROBE_CONTINUE : refused(c, s);
    }
}

static enum probe_next tn_end(struct probe_conn *c)
{
    struct tn_state *s = (struct tn_state *)c->state;
    bool tried = c->job->attempts > s->attempts_at_start;
    if (tried && probe_has_pair(c)) return PROBE_RECONNECT;
    if (tried || c->job->attempts) {
        c->status = "success";
    } else if (!s->t.total && !s->t.commands) {
        c->status = c->timed_out ? "timeout" : "closed";
    } else {
        if (c->job->conns == 1 && !c->banner_len) probe_banner(c, s->t.screen, s->t.len);
        c->status = "no-login-prompt";
    }
    return PROBE_DONE;
}

static const uint16_t tn_ports[] = {23, 2323, 0};

const struct probe_proto probe_telnet = {
    .name = "telnet",
    .help = "telnet logins: prompts, a pair, a shell prompt for success",
    .ports = tn_ports,
    .start = tn_start,
    .data = tn_data,
    .end = tn_end,
};
