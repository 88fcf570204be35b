/* tnc — the telnet client's parser: option negotiation and what the screen asks for.
 *
 * Pure functions over bytes, no sockets, so the unit tests replay recorded exchanges and the
 * fuzzer drives it directly.  tnc_feed() strips the telnet commands out of what a device sends,
 * answers its options (queued in the caller's reply buffer) and keeps the text in a bounded
 * screen: the text since the client last sent a line (tnc_mark), at most TNC_SCREEN bytes, the
 * oldest dropped.  Negotiation as Mirai's own scanner and a plain telnet client do it: WILL ECHO
 * and WILL SGA are accepted (DO), every other WILL refused (DONT), every DO refused (WONT), each
 * option answered once so two peers can never loop; subnegotiations are skipped whole.
 *
 * tnc_classify() says what the screen shows, checked in this order: a failure message ("Login
 * incorrect", "Access denied", ...), a password prompt, a login prompt, then a shell: a last line
 * ending in '#', '$', '>' or '%' (space-trimmed), or a BusyBox banner.  A failure is looked for
 * only in the text since the last line sent, so an earlier one cannot fail the next pair. */
#ifndef MAMORI_PROBE_TNC_H
#define MAMORI_PROBE_TNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TNC_SCREEN 2048
#define TNC_REPLY_MAX 96 /* reply bytes one feed may queue at most (the rest are dropped) */

enum tnc_screen {
    TNC_NOTHING,  /* no decision yet: wait for more */
    TNC_LOGIN,    /* a login/user name prompt */
    TNC_PASSWORD, /* a password prompt */
    TNC_FAILED,   /* the device said the login failed */
    TNC_SHELL,    /* a shell prompt: the login was accepted */
};

struct tnc {
    uint8_t state, opt;
    uint8_t answered[2][32]; /* options already answered, [0] DO, [1] WILL (a bit each) */
    uint16_t len;            /* screen bytes held */
    uint32_t total;          /* text bytes since the start (banner capture) */
    uint32_t commands;       /* telnet commands seen (a device that negotiates is telnet) */
    char screen[TNC_SCREEN + 1];
};

void tnc_init(struct tnc *t);
/* Parses n bytes: text into the screen, option answers appended to reply (reply_len grows, never
 * past reply_cap). */
void tnc_feed(struct tnc *t, const uint8_t *in, size_t n, uint8_t *reply, size_t *reply_len,
              size_t reply_cap);
/* The client sent a line: the screen starts over. */
void tnc_mark(struct tnc *t);
/* The screen after a password was sent: a failure message first, then as tnc_prompt. */
enum tnc_screen tnc_classify(const char *text, size_t len);
/* The prompt on the last line only (banners before a login prompt may say anything). */
enum tnc_screen tnc_prompt(const char *text, size_t len);
const char *tnc_screen_name(enum tnc_screen s);

#endif
