/* telnet — option negotiation and data decoding (see telnet.h). */
#include "telnet.h"

#include <stdbool.h>
#include <string.h>

enum { S_DATA, S_IAC, S_OPT, S_SB, S_SB_DATA, S_SB_IAC };

static bool get(const uint8_t *bits, uint8_t o)
{
    return bits[o >> 3] & (1u << (o & 7));
}

static void set(uint8_t *bits, uint8_t o, bool on)
{
    if (on)
        bits[o >> 3] |= (uint8_t)(1u << (o & 7));
    else
        bits[o >> 3] &= (uint8_t) ~(1u << (o & 7));
}

static void send3(struct buf *r, uint8_t cmd, uint8_t opt)
{
    uint8_t m[3] = {TN_IAC, cmd, opt};
    buf_add(r, m, 3);
}

static void send_sb(struct buf *r, uint8_t opt, uint8_t what)
{
    uint8_t m[6] = {TN_IAC, TN_SB, opt, what, TN_IAC, TN_SE};
    buf_add(r, m, 6);
}

void telnet_init(struct telnet *t)
{
    memset(t, 0, sizeof *t);
}

void telnet_greet(struct telnet *t, struct buf *reply)
{
    /* what we asked for counts as agreed until the peer refuses */
    send3(reply, TN_DO, TN_OPT_ECHO);
    send3(reply, TN_DO, TN_OPT_NAWS);
    send3(reply, TN_WILL, TN_OPT_ECHO);
    send3(reply, TN_WILL, TN_OPT_SGA);
    set(t->him, TN_OPT_NAWS, true);
    set(t->us, TN_OPT_ECHO, true);
    set(t->us, TN_OPT_SGA, true);
}

static bool peer_may(uint8_t opt)
{
    return opt == TN_OPT_NAWS || opt == TN_OPT_TTYPE || opt == TN_OPT_ENVIRON;
}

static void option(struct telnet *t, uint8_t cmd, uint8_t opt, struct buf *r)
{
    switch (cmd) {
    case TN_WILL:
        if (get(t->him, opt)) break; /* an answer to our DO, or a repeat */
        if (!peer_may(opt)) {
            send3(r, TN_DONT, opt);
            break;
        }
        set(t->him, opt, true);
        send3(r, TN_DO, opt);
        if (opt == TN_OPT_TTYPE || opt == TN_OPT_ENVIRON) send_sb(r, opt, 1); /* SEND */
        break;
    case TN_WONT:
        if (get(t->him, opt)) {
            set(t->him, opt, false);
            send3(r, TN_DONT, opt);
        }
        break;
    case TN_DO:
        if (get(t->us, opt)) break;
        if (opt == TN_OPT_ECHO || opt == TN_OPT_SGA) {
            set(t->us, opt, true);
            send3(r, TN_WILL, opt);
        } else {
            send3(r, TN_WONT, opt);
        }
        break;
    case TN_DONT:
        if (get(t->us, opt)) {
            set(t->us, opt, false);
            send3(r, TN_WONT, opt);
        }
        break;
    }
}

static void data_byte(struct telnet *t, uint8_t c, uint8_t *data, size_t *nd)
{
    if (t->cr) {
        t->cr = 0;
        if (c == '\n' || c == 0) return; /* CR LF and CR NUL end one line */
    }
    if (c == '\r') {
        t->cr = 1;
        c = '\n';
    }
    data[(*nd)++] = c;
}

size_t telnet_feed(struct telnet *t, const uint8_t *in, size_t n, uint8_t *data, struct buf *reply,
                   telnet_sb_fn sb, void *ctx)
{
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        switch (t->state) {
        case S_DATA:
            if (c == TN_IAC)
                t->state = S_IAC;
            else
                data_byte(t, c, data, &nd);
            break;
        case S_IAC:
            t->state = S_DATA;
            if (c == TN_IAC) {
                data_byte(t, c, data, &nd);
            } else if (c >= TN_WILL && c <= TN_DONT) {
                t->cmd = c;
                t->state = S_OPT;
            } else if (c == TN_SB) {
                t->state = S_SB;
            }
            /* NOP, AYT, IP, BRK and the rest carry nothing for us */
            break;
        case S_OPT:
            option(t, t->cmd, c, reply);
            t->state = S_DATA;
            break;
        case S_SB:
            t->sb_opt = c;
            t->sb_len = 0;
            t->truncated = 0;
            t->state = S_SB_DATA;
            break;
        case S_SB_DATA:
            if (c == TN_IAC)
                t->state = S_SB_IAC;
            else if (t->sb_len < TELNET_SB_MAX)
                t->sb[t->sb_len++] = c;
            else
                t->truncated = 1;
            break;
        case S_SB_IAC:
            if (c == TN_SE) {
                t->state = S_DATA;
                if (sb && get(t->him, t->sb_opt) && !t->truncated)
                    sb(ctx, t->sb_opt, t->sb, t->sb_len);
            } else if (c == TN_IAC) {
                if (t->sb_len < TELNET_SB_MAX)
                    t->sb[t->sb_len++] = c;
                else
                    t->truncated = 1;
                t->state = S_SB_DATA;
            } else {
                /* a broken subnegotiation: drop it and read on as data */
                t->state = S_DATA;
            }
            break;
        }
    }
    return nd;
}

void telnet_escape(struct buf *out, const uint8_t *data, size_t n, bool onlcr)
{
    size_t start = 0;
    if (!n) return;
    for (size_t i = 0; i < n; i++) {
        /* a CR LF already in the text stays as it is */
        if (data[i] != TN_IAC && !(onlcr && data[i] == '\n' && (i == 0 || data[i - 1] != '\r')))
            continue;
        buf_add(out, data + start, i - start);
        buf_add(out, data[i] == TN_IAC ? "\377\377" : "\r\n", 2);
        start = i + 1;
    }
    buf_add(out, data + start, n - start);
}

bool telnet_naws(const uint8_t *d, size_t n, uint16_t *w, uint16_t *h)
{
    if (n != 4) return false;
    *w = (uint16_t)(d[0] << 8 | d[1]);
    *h = (uint16_t)(d[2] << 8 | d[3]);
    return true;
}

bool telnet_ttype(const uint8_t *d, size_t n, char *out, size_t cap)
{
    if (n < 2 || d[0] != 0 || !cap) return false; /* IS */
    size_t k = 0;
    for (size_t i = 1; i < n && k + 1 < cap; i++)
        if (d[i] >= 0x20 && d[i] < 0x7f) out[k++] = (char)d[i];
    out[k] = 0;
    return k > 0;
}

void telnet_environ(const uint8_t *d, size_t n,
                    void (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
    if (n < 1 || (d[0] != 0 && d[0] != 2)) return; /* IS or INFO */
    char name[TELNET_SB_MAX + 1], value[TELNET_SB_MAX + 1];
    size_t i = 1;
    while (i < n) {
        if (d[i] != 0 && d[i] != 3) return; /* VAR or USERVAR */
        size_t k = 0;
        bool esc = false;
        for (i++; i < n && (esc || (d[i] != 0 && d[i] != 1 && d[i] != 3)); i++) {
            if (!esc && d[i] == 2) { /* ESC */
                esc = true;
                continue;
            }
            esc = false;
            if (d[i] >= 0x20 && d[i] < 0x7f) name[k++] = (char)d[i];
        }
        name[k] = 0;
        k = 0;
        if (i < n && d[i] == 1) { /* VALUE */
            for (i++; i < n && (esc || (d[i] != 0 && d[i] != 3)); i++) {
                if (!esc && d[i] == 2) {
                    esc = true;
                    continue;
                }
                esc = false;
                if (d[i] >= 0x20 && d[i] < 0x7f) value[k++] = (char)d[i];
            }
        }
        value[k] = 0;
        if (*name) fn(ctx, name, value);
    }
}
