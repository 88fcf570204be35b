/* tnc — telnet client negotiation and screen classification (see tnc.h). */
#include "tnc.h"

#include <ctype.h>
#include <string.h>

enum { IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240 };
enum { OPT_ECHO = 1, OPT_SGA = 3 };
enum { S_DATA, S_IAC, S_OPT, S_SB, S_SB_IAC };

void tnc_init(struct tnc *t)
{
    memset(t, 0, sizeof *t);
}

void tnc_mark(struct tnc *t)
{
    t->len = 0;
    t->screen[0] = 0;
}

static void text(struct tnc *t, uint8_t c)
{
    t->total++;
    if (c == 0) return; /* telnet's CR NUL */
    if (t->len == TNC_SCREEN) {
        memmove(t->screen, t->screen + TNC_SCREEN / 2, TNC_SCREEN / 2);
        t->len = TNC_SCREEN / 2;
    }
    t->screen[t->len++] = (char)c;
    t->screen[t->len] = 0;
}

static void answer(struct tnc *t, uint8_t cmd, uint8_t opt, uint8_t *r, size_t *rl, size_t cap)
{
    if (cmd != WILL && cmd != DO) return; /* WONT / DONT: nothing was asked of us */
    uint8_t bit = (uint8_t)(1u << (opt & 7)), *seen = &t->answered[cmd == WILL][opt >> 3];
    if (*seen & bit) return;
    *seen |= bit;
    uint8_t reply;
    if (cmd == WILL)
        reply = opt == OPT_ECHO || opt == OPT_SGA ? DO : DONT;
    else
        reply = WONT;
    if (*rl + 3 > cap) return;
    r[(*rl)++] = IAC;
    r[(*rl)++] = reply;
    r[(*rl)++] = opt;
}

void tnc_feed(struct tnc *t, const uint8_t *in, size_t n, uint8_t *reply, size_t *reply_len,
              size_t reply_cap)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        switch (t->state) {
        case S_DATA:
            if (c == IAC)
                t->state = S_IAC;
            else
                text(t, c);
            break;
        case S_IAC:
            t->commands++;
            if (c == IAC) {
                text(t, c);
                t->state = S_DATA;
            } else if (c >= WILL && c <= DONT) {
                t->opt = c;
                t->state = S_OPT;
            } else {
                t->state = c == SB ? S_SB : S_DATA;
            }
            break;
        case S_OPT:
            answer(t, t->opt, c, reply, reply_len, reply_cap);
            t->state = S_DATA;
            break;
        case S_SB:
            if (c == IAC) t->state = S_SB_IAC;
            break;
        case S_SB_IAC:
            t->state = c == SE ? S_DATA : S_SB;
            break;
        }
    }
}

/* Whether the lower-cased haystack holds any of the words. */
static bool has_any(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strstr(s, *words)) return true;
    return false;
}

static const char *const fail_words[] = {"incorrect",
                                         "login failed",
                                         "authentication fail",
                                         "access denied",
                                         "permission denied",
                                         "invalid",
                                         "wrong",
                                         "bad password",
                                         "login failure",
                                         "not allowed",
                                         "try again",
                                         "error: ",
                                         NULL};
static const char *const password_words[] = {
    "password", "passwd", "pass:", "passcode", "pass word", NULL};
static const char *const login_words[] = {"login",  "username", "user name", "user:", "user id",
                                          "userid", "account",  "user>",     NULL};
static const char *const busybox_words[] = {"built-in shell", "enter 'help' for a list", NULL};

/* The screen lower-cased, NULs dropped, trailing white space trimmed; its length. */
static size_t lower(const char *s, size_t len, char *low)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < TNC_SCREEN; i++)
        if (s[i]) low[n++] = (char)tolower((unsigned char)s[i]);
    while (n &&
           (low[n - 1] == ' ' || low[n - 1] == '\r' || low[n - 1] == '\n' || low[n - 1] == '\t'))
        n--;
    low[n] = 0;
    return n;
}

static enum tnc_screen prompt_of(const char *low, size_t n)
{
    if (!n) return TNC_NOTHING;
    const char *last = low;
    for (const char *p = low; *p; p++)
        if (*p == '\n' || *p == '\r') last = p + 1;
    if (has_any(last, fail_words)) return TNC_NOTHING; /* "Login incorrect" is not a prompt */
    if (has_any(last, password_words)) return TNC_PASSWORD;
    if (has_any(last, login_words)) return TNC_LOGIN;
    char end = low[n - 1];
    size_t last_len = (size_t)(low + n - last);
    if ((end == '#' || end == '$' || end == '>' || end == '%') && last_len <= 128) return TNC_SHELL;
    if (has_any(low, busybox_words)) return TNC_SHELL;
    return TNC_NOTHING;
}

enum tnc_screen tnc_prompt(const char *s, size_t len)
{
    char low[TNC_SCREEN + 1];
    return prompt_of(low, lower(s, len, low));
}

enum tnc_screen tnc_classify(const char *s, size_t len)
{
    char low[TNC_SCREEN + 1];
    size_t n = lower(s, len, low);
    if (n && has_any(low, fail_words)) return TNC_FAILED;
    return prompt_of(low, n);
}

const char *tnc_screen_name(enum tnc_screen s)
{
    static const char *const names[] = {"nothing", "login", "password", "failed", "shell"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}
