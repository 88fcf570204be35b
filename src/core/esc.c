/* esc — escaping text from outside (see esc.h). */
#include "esc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (n bytes left) with its code
 * point in *cp, or 0 when it is not one (stray continuation, truncated,
 * overlong, surrogate, above U+10FFFF). */
size_t esc_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (!len || len > n || s[0] > 0xf4) return 0;
    uint32_t c = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    *cp = c;
    return len;
}

static bool term_unsafe(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069);
}

char *esc_term(const char *s, char *out, size_t cap)
{
    size_t o = 0, n = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    if (!cap) return out;
    for (size_t i = 0; i < n;) {
        uint32_t c = 0;
        size_t len = esc_utf8_seq(p + i, n - i, &c);
        char e[4 * 4 + 1];
        size_t el = 0;
        if (len && !term_unsafe(c) && c != '\\') {
            memcpy(e, p + i, len);
            el = len;
        } else if (len == 1 && (c == '\\' || c == 033 || c == '\t' || c == '\n' || c == '\r')) {
            e[0] = '\\';
            e[1] = c == '\\' ? '\\' : c == 033 ? 'e' : c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
            el = 2;
        } else {
            static const char hex[] = "0123456789abcdef";
            for (size_t k = 0; k < (len ? len : 1); k++) {
                e[el++] = '\\';
                e[el++] = 'x';
                e[el++] = hex[p[i + k] >> 4];
                e[el++] = hex[p[i + k] & 15];
            }
        }
        if (o + el >= cap) break; /* never half an escape or half a character */
        memcpy(out + o, e, el);
        o += el;
        i += len ? len : 1;
    }
    out[o] = 0;
    return out;
}

void esc_csv(FILE *f, const char *s)
{
    size_t cap = strlen(s) * 4 + 1; /* the longest escape of one byte is \xNN */
    char stack[256], *t = cap <= sizeof stack ? stack : malloc(cap);
    if (!t) return;
    esc_term(s, t, cap); /* a cell can be read on a terminal too: no control byte reaches it */
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    if (!formula && !strpbrk(t, ",\"")) {
        fputs(t, f);
    } else {
        fputc('"', f);
        if (formula) fputc('\'', f);
        for (const char *c = t; *c; c++) {
            if (*c == '"') fputc('"', f);
            fputc(*c, f);
        }
        fputc('"', f);
    }
    if (t != stack) free(t);
}

char *esc_utf8(const char *s, size_t n)
{
    char *out = malloc(n * 3 + 1), *o = out; /* a bad byte grows to U+FFFD's 3 bytes */
    if (!out) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t len = esc_utf8_seq(p + i, n - i, &c);
        if (len && c) { /* NUL too: a C string cannot hold it */
            memcpy(o, p + i, len);
            o += len;
            i += len;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    *o = 0;
    return out;
}
