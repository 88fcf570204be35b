/* telnet — the server side of RFC 854 option negotiation, as BusyBox telnetd does it.
 *
 * telnet_feed() turns raw socket bytes into data bytes and queues answers to
 * the peer's option requests.  The greeting offers what telnetd offers (DO
 * ECHO, DO NAWS, WILL ECHO, WILL SGA); NAWS, TTYPE and NEW-ENVIRON are
 * accepted and their subnegotiations delivered (cut to TELNET_SB_MAX bytes);
 * any other option is refused.  Answers are sent only when an option's state
 * changes (RFC 1143), so a peer cannot make us loop.  Line ends are
 * normalised: CR LF, CR NUL and bare LF all become '\n'.  Clients that never
 * negotiate (bots writing raw lines) need nothing special. */
#ifndef MAMORI_LURE_TELNET_H
#define MAMORI_LURE_TELNET_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define TELNET_SB_MAX 64

enum {
    TN_IAC = 255,
    TN_DONT = 254,
    TN_DO = 253,
    TN_WONT = 252,
    TN_WILL = 251,
    TN_SB = 250,
    TN_SE = 240,
    TN_OPT_ECHO = 1,
    TN_OPT_SGA = 3,
    TN_OPT_TTYPE = 24,
    TN_OPT_NAWS = 31,
    TN_OPT_ENVIRON = 39,
};

struct telnet {
    uint8_t state, cmd, sb_opt, sb_len;
    uint8_t us[32], him[32]; /* option bitmaps: enabled on our side / the peer's */
    uint8_t sb[TELNET_SB_MAX];
    uint8_t cr;        /* the last data byte was CR */
    uint8_t truncated; /* the current subnegotiation was cut */
};

/* Receives each complete subnegotiation (option, payload without IAC SE). */
typedef void (*telnet_sb_fn)(void *ctx, uint8_t opt, const uint8_t *data, size_t len);

void telnet_init(struct telnet *t);
/* The greeting BusyBox telnetd sends on connect. */
void telnet_greet(struct telnet *t, struct buf *reply);
/* Decodes n input bytes: data goes to data[] (room for n bytes), answers to
 * reply.  Returns the number of data bytes. */
size_t telnet_feed(struct telnet *t, const uint8_t *in, size_t n, uint8_t *data, struct buf *reply,
                   telnet_sb_fn sb, void *ctx);
/* Appends data for the peer: IAC doubled, and with onlcr '\n' sent as CR LF
 * (what a pty does for a shell on a real device). */
void telnet_escape(struct buf *out, const uint8_t *data, size_t n, bool onlcr);
/* NAWS payload to width and height; false when malformed. */
bool telnet_naws(const uint8_t *d, size_t n, uint16_t *w, uint16_t *h);
/* TTYPE IS payload to a printable string (at most cap-1 bytes). */
bool telnet_ttype(const uint8_t *d, size_t n, char *out, size_t cap);
/* Calls fn for each VAR/USERVAR name and value of a NEW-ENVIRON IS/INFO. */
void telnet_environ(const uint8_t *d, size_t n,
                    void (*fn)(void *ctx, const char *name, const char *value), void *ctx);

#endif
