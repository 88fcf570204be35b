/* esc — text from outside (attackers, banners, feeds) rendered as data.
 *
 * One place for the rules design.md states: control characters never reach
 * a terminal, a CSV cell never starts a formula, JSON only ever holds UTF-8.
 *
 * - Terminal: C0 controls, DEL, C1 controls (U+0080..U+009F, which some
 *   terminals obey like ESC [), the bidirectional overrides and isolates
 *   (U+202A..U+202E, U+2066..U+2069: text that reads other than it is) and
 *   bytes that are not UTF-8 become visible escapes: \e, \t, \n, \r, \xNN
 *   (every byte of a sequence), and a backslash is doubled so that escapes
 *   cannot be forged.  Everything else passes unchanged.
 * - CSV (RFC 4180 and OWASP's "CSV Injection"): a cell is escaped as for the
 *   terminal first (a CSV file is read with cat and less too, and a row stays
 *   one line), then a cell starting with = + - @ TAB or CR gets a leading
 *   single quote, and a cell with that prefix, a comma or a quote is quoted
 *   with inner quotes doubled.
 * - UTF-8: invalid sequences (also overlong forms and surrogates) become
 *   U+FFFD, so a jansson string can always be made. */
#ifndef MAMORI_ESC_H
#define MAMORI_ESC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes the terminal-safe form of s into out (always NUL-terminated; cut at
 * a whole escape when cap is short) and returns out. */
char *esc_term(const char *s, char *out, size_t cap);
/* Writes s to f as one CSV cell. */
void esc_csv(FILE *f, const char *s);
/* The length of the UTF-8 sequence at s[0..n) with its code point in *cp, or 0 when it is not
 * one (a bad lead or continuation byte, truncated, overlong, a surrogate, past U+10FFFF). */
size_t esc_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);
/* A valid UTF-8 copy of s[0..n) with U+FFFD for what is not (free it), or NULL. */
char *esc_utf8(const char *s, size_t n);

#endif
