/* stixpat — the STIX 2.1 pattern parser (see stixpat.h).
 *
 * No lexer pass: the parser reads the text at a cursor, skipping white space
 * before each token, which is what the ANTLR grammar's "WS -> skip" means.
 * Keywords are case-sensitive as the grammar spells them (AND/and, OR/or,
 * NOT/not, IN/in, LIKE/like, MATCHES/matches, ISSUBSET/issubset,
 * ISSUPERSET/issuperset, EXISTS/exists; FOLLOWEDBY, WITHIN, SECONDS,
 * REPEATS, TIMES, START, STOP only in capitals).  The first error stops the
 * parse; its byte offset and what was expected go in the message. */
#include "stixpat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *s;
    size_t i, n;
    int depth;
    char *msg;
    size_t cap;
    int err; /* 0, -EINVAL or -ENOMEM (first one wins) */
    struct stixpat *out;
};

/* The path of the comparison being parsed, as far as extraction needs it. */
struct path {
    char type[32], c0[16], c1[16];
    int ncomp;
    bool indexed;
};

static bool fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct parser *p, const char *fmt, ...)
{
    if (p->err) return false;
    p->err = -EINVAL;
    int k = snprintf(p->msg, p->cap, "at byte %zu: ", p->i);
    if (k >= 0 && (size_t)k < p->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->msg + k, p->cap - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return false;
}

static void skip_ws(struct parser *p)
{
    while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]))
        p->i++;
}

static int peek(struct parser *p)
{
    skip_ws(p);
    return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static bool eat(struct parser *p, char c)
{
    if (peek(p) != c) return false;
    p->i++;
    return true;
}

static bool word_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The keyword kw (or its lower-case form when lower is set) as a whole word. */
static bool keyword(struct parser *p, const char *kw, bool lower)
{
    skip_ws(p);
    size_t k = strlen(kw);
    if (p->n - p->i < k) return false;
    bool up = !memcmp(p->s + p->i, kw, k), lo = false;
    if (!up && lower) {
        lo = true;
        for (size_t j = 0; j < k && lo; j++)
            lo = p->s[p->i + j] == (kw[j] >= 'A' && kw[j] <= 'Z' ? kw[j] + 32 : kw[j]);
    }
    if (!up && !lo) return false;
    if (p->i + k < p->n && (word_char((unsigned char)p->s[p->i + k]) || p->s[p->i + k] == '-'))
        return false;
    p->i += k;
    return true;
}

static bool enter(struct parser *p)
{
    if (++p->depth > STIXPAT_MAX_DEPTH) return fail(p, "nested deeper than %d", STIXPAT_MAX_DEPTH);
    return true;
}

/* A string literal '...' with \' and \\ the only escapes; decoded into *out
 * (malloc'd) when out is not NULL. */
static bool string_lit(struct parser *p, char **out)
{
    if (peek(p) != '\'') return fail(p, "expected a string literal");
    size_t start = ++p->i, len = 0;
    char *buf = NULL;
    if (out && !(buf = malloc(p->n - start + 1))) {
        p->err = -ENOMEM;
        snprintf(p->msg, p->cap, "out of memory");
        return false;
    }
    for (;;) {
        if (p->i >= p->n) {
            free(buf);
            p->i = start - 1;
            return fail(p, "string literal not closed");
        }
        char c = p->s[p->i++];
        if (c == '\'') break;
        if (c == '\\') {
            if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '\\')) {
                free(buf);
                p->i--;
                return fail(p, "bad escape in string literal (only \\' and \\\\)");
            }
            c = p->s[p->i++];
        }
        if (buf) buf[len++] = c;
    }
    if (buf) {
        buf[len] = 0;
        *out = buf;
    }
    return true;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* t'YYYY-MM-DDTHH:MM:SS[.frac]Z' (the cursor past t'), as nanoseconds since
 * 0000-03-01 in *ns: days from the civil date (Howard Hinnant's algorithm). */
static bool timestamp_body(struct parser *p, long double *ns)
{
    const char *s = p->s + p->i;
    size_t left = p->n - p->i, k = 19;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (left < 21 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return fail(p, "timestamp is not YYYY-MM-DDTHH:MM:SS[.s]Z");
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + num2(s + 2), mo = num2(s + 5),
        d = num2(s + 8), h = num2(s + 11), mi = num2(s + 14), sec = num2(s + 17);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return fail(p, "timestamp out of range");
    long double frac = 0, scale = 0.1L;
    if (k < left && s[k] == '.') {
        size_t f = ++k;
        while (k < left && s[k] >= '0' && s[k] <= '9') {
            frac += (s[k++] - '0') * scale;
            scale /= 10;
        }
        if (k == f) return fail(p, "timestamp fraction has no digits");
    }
    if (k + 1 >= left || s[k] != 'Z' || s[k + 1] != '\'')
        return fail(p, "timestamp must end in Z'");
    p->i += k + 2;
    int yy = mo <= 2 ? y - 1 : y, era = yy / 400, yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t days = (int64_t)era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *ns = ((long double)days * 86400 + h * 3600 + mi * 60 + sec + frac) * 1e9L;
    return true;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* h'..' (pairs of hex digits) and b'..' (base64 in groups of four, padded). */
static bool binary_body(struct parser *p, bool hex)
{
    size_t start = p->i;
    while (p->i < p->n && p->s[p->i] != '\'')
        p->i++;
    if (p->i >= p->n) {
        p->i = start;
        return fail(p, "%s literal not closed", hex ? "hex" : "binary");
    }
    const char *s = p->s + start;
    size_t len = p->i - start;
    p->i++;
    if (hex) {
        for (size_t j = 0; j < len; j++)
            if (!strchr("0123456789abcdefABCDEF", s[j]) || !s[j])
                return fail(p, "hex literal has a non-hex character");
        return len % 2 ? fail(p, "hex literal has an odd number of digits") : true;
    }
    if (len == 0 || len % 4) return fail(p, "binary literal is not base64 in groups of four");
    for (size_t j = 0; j < len; j++) {
        bool pad_ok =
            (j == len - 1 && s[j] == '=') || (j == len - 2 && s[j] == '=' && s[j + 1] == '=');
        if (!b64_char(s[j]) && !pad_ok) return fail(p, "binary literal is not base64");
    }
    return true;
}

enum lit { L_NONE, L_INT, L_FLOAT, L_STRING, L_BOOL, L_TIME, L_HEX, L_BIN };

/* A number: [+-]?(0|[1-9][0-9]*) or [+-]?[0-9]*.[0-9]+ */
static enum lit number(struct parser *p, double *v)
{
    size_t st = p->i, j = p->i;
    if (j < p->n && (p->s[j] == '+' || p->s[j] == '-')) j++;
    size_t d0 = j;
    while (j < p->n && p->s[j] >= '0' && p->s[j] <= '9')
        j++;
    size_t nd = j - d0;
    enum lit t = L_INT;
    if (j < p->n && p->s[j] == '.') {
        size_t f0 = ++j;
        while (j < p->n && p->s[j] >= '0' && p->s[j] <= '9')
            j++;
        if (j == f0) return fail(p, "number has no digits after '.'"), L_NONE;
        t = L_FLOAT;
    } else if (nd == 0) {
        return fail(p, "expected a literal"), L_NONE;
    } else if (nd > 1 && p->s[d0] == '0') {
        return fail(p, "integer with a leading zero"), L_NONE;
    }
    if (j < p->n && (word_char((unsigned char)p->s[j]) || p->s[j] == '.'))
        return fail(p, "malformed number"), L_NONE;
    char buf[64];
    size_t len = j - st < sizeof buf - 1 ? j - st : sizeof buf - 1;
    memcpy(buf, p->s + st, len);
    buf[len] = 0;
    *v = strtod(buf, NULL);
    p->i = j;
    return t;
}

/* Any literal; a string is decoded into *str when str is not NULL. */
static enum lit literal(struct parser *p, char **str, double *num, long double *ts)
{
    int c = peek(p);
    if (c == '\'') return string_lit(p, str) ? L_STRING : L_NONE;
    if ((c == 't' || c == 'h' || c == 'b') && p->i + 1 < p->n && p->s[p->i + 1] == '\'') {
        p->i += 2;
        if (c == 't') return timestamp_body(p, ts) ? L_TIME : L_NONE;
        return binary_body(p, c == 'h') ? (c == 'h' ? L_HEX : L_BIN) : L_NONE;
    }
    if (keyword(p, "true", false) || keyword(p, "false", false)) return L_BOOL;
    if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9')) return number(p, num);
    return fail(p, "expected a literal"), L_NONE;
}

static size_t ident(struct parser *p, bool hyphen)
{
    skip_ws(p);
    size_t j = p->i;
    if (j >= p->n || !(word_char((unsigned char)p->s[j]) && !(p->s[j] >= '0' && p->s[j] <= '9')))
        return 0;
    while (j < p->n && (word_char((unsigned char)p->s[j]) || (hyphen && p->s[j] == '-')))
        j++;
    return j - p->i;
}

static void keep(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) n = cap - 1; /* long names match nothing extraction wants: truncation is safe */
    memcpy(dst, s, n);
    dst[n] = 0;
}

/* A property name: an identifier without hyphens or a quoted key. */
static bool path_name(struct parser *p, char *dst, size_t cap)
{
    if (peek(p) == '\'') {
        char *k = NULL;
        if (!string_lit(p, &k)) return false;
        keep(dst, cap, k, strlen(k));
        free(k);
        return true;
    }
    size_t n = ident(p, false);
    if (!n) return fail(p, "expected a property name");
    keep(dst, cap, p->s + p->i, n);
    p->i += n;
    return true;
}

static bool object_path(struct parser *p, struct path *out)
{
    *out = (struct path){0};
    size_t n = ident(p, true);
    if (!n) return fail(p, "expected an object path (type:property)");
    keep(out->type, sizeof out->type, p->s + p->i, n);
    if (n >= sizeof out->type) out->type[0] = '!'; /* too long to be a type extraction knows */
    p->i += n;
    if (!eat(p, ':')) return fail(p, "expected ':' after the object type");
    if (!path_name(p, out->c0, sizeof out->c0)) return false;
    out->ncomp = 1;
    for (;;) {
        int c = peek(p);
        char tmp[16];
        if (c == '.') {
            p->i++;
            if (!path_name(p, out->ncomp == 1 ? out->c1 : tmp, sizeof tmp)) return false;
        } else if (c == '[') {
            p->i++;
            if (!eat(p, '*')) {
                double v;
                int d = peek(p);
                if (!(d == '+' || d == '-' || (d >= '0' && d <= '9')) || number(p, &v) != L_INT)
                    return fail(p, "expected a list index or '*'");
            }
            if (!eat(p, ']')) return fail(p, "expected ']' after a list index");
            out->indexed = true;
        } else {
            return true;
        }
        out->ncomp++;
    }
}

/* The kind and algorithm mamori keeps for a path, or NULL. */
static const char *wanted(const struct path *ph, const char **algo)
{
    static const char *const value_types[] = {"ipv4-addr", "ipv6-addr", "url", "domain-name"};
    static const struct {
        const char *key, *algo;
    } hashes[] = {{"SHA-256", "sha256"},
                  {"SHA256", "sha256"},
                  {"SHA-1", "sha1"},
                  {"SHA1", "sha1"},
                  {"MD5", "md5"}};
    *algo = NULL;
    if (ph->indexed) return NULL;
    for (size_t i = 0; i < sizeof value_types / sizeof *value_types; i++)
        if (!strcmp(ph->type, value_types[i]) && ph->ncomp == 1 && !strcmp(ph->c0, "value"))
            return value_types[i];
    if (!strcmp(ph->type, "file") && ph->ncomp == 2 && !strcmp(ph->c0, "hashes"))
        for (size_t i = 0; i < sizeof hashes / sizeof *hashes; i++)
            if (!strcasecmp(ph->c1, hashes[i].key)) {
                *algo = hashes[i].algo;
                return "file";
            }
    return NULL;
}

static void add_value(struct parser *p, const struct path *ph, char *v)
{
    const char *algo, *kind = wanted(ph, &algo);
    struct stixpat *o = p->out;
    if (!kind || p->err) {
        free(v);
        return;
    }
    if (o->n == STIXPAT_MAX_VALUES) {
        o->dropped++;
        free(v);
        return;
    }
    if (!o->v && !(o->v = calloc(STIXPAT_MAX_VALUES, sizeof *o->v))) {
        free(v);
        p->err = -ENOMEM;
        snprintf(p->msg, p->cap, "out of memory");
        return;
    }
    o->v[o->n++] = (struct stixpat_value){.kind = kind, .algo = algo, .value = v};
}

static bool cmp_or(struct parser *p);

/* ( primitive, ... ) after IN; strings kept for extraction when keep_vals. */
static bool set_literal(struct parser *p, const struct path *ph, bool keep_vals)
{
    if (!eat(p, '(')) return fail(p, "expected '(' after IN");
    if (eat(p, ')')) return true;
    do {
        char *s = NULL;
        double d;
        long double t;
        if (literal(p, keep_vals ? &s : NULL, &d, &t) == L_NONE) return false;
        if (s) add_value(p, ph, s);
    } while (eat(p, ','));
    return eat(p, ')') ? true : fail(p, "expected ',' or ')' in a set");
}

static bool prop_test(struct parser *p)
{
    if (eat(p, '(')) {
        if (!enter(p) || !cmp_or(p)) return false;
        p->depth--;
        return eat(p, ')') ? true : fail(p, "expected ')'");
    }
    struct path ph;
    if (keyword(p, "EXISTS", true)) return object_path(p, &ph);
    if (!object_path(p, &ph)) return false;
    bool neg = keyword(p, "NOT", true);
    skip_ws(p);
    const char *s = p->s + p->i;
    size_t left = p->n - p->i;
    char *str = NULL;
    double d;
    long double t;
    if (left >= 2 && (!memcmp(s, "==", 2) || !memcmp(s, "!=", 2) || !memcmp(s, "<>", 2))) {
        bool eq = s[0] == '=';
        p->i += 2;
        enum lit l = literal(p, eq && !neg ? &str : NULL, &d, &t);
        if (str) add_value(p, &ph, str);
        return l != L_NONE;
    }
    if (left >= 1 && s[0] == '=') {
        p->i++;
        enum lit l = literal(p, !neg ? &str : NULL, &d, &t);
        if (str) add_value(p, &ph, str);
        return l != L_NONE;
    }
    if (left >= 1 && (s[0] == '<' || s[0] == '>')) {
        p->i += left >= 2 && s[1] == '=' ? 2 : 1;
        enum lit l = literal(p, NULL, &d, &t);
        if (l == L_BOOL) return fail(p, "a boolean cannot be ordered");
        return l != L_NONE;
    }
    if (keyword(p, "IN", true)) return set_literal(p, &ph, !neg);
    if (keyword(p, "LIKE", true) || keyword(p, "MATCHES", true) || keyword(p, "ISSUBSET", true) ||
        keyword(p, "ISSUPERSET", true))
        return string_lit(p, NULL);
    return fail(p, "expected a comparison operator");
}

static bool cmp_and(struct parser *p)
{
    do
        if (!prop_test(p)) return false;
    while (keyword(p, "AND", true));
    return true;
}

static bool cmp_or(struct parser *p)
{
    do
        if (!cmp_and(p)) return false;
    while (keyword(p, "OR", true));
    return true;
}

static bool obs_exprs(struct parser *p);

static bool qualifier(struct parser *p, bool *any)
{
    double v;
    long double t0, t1;
    *any = true;
    if (keyword(p, "WITHIN", false)) {
        size_t at = (peek(p), p->i);
        enum lit l = peek(p) < 0 ? L_NONE : number(p, &v);
        if ((l != L_INT && l != L_FLOAT) || !(v > 0)) {
            p->err = 0, p->i = at;
            return fail(p, "WITHIN needs a positive number of SECONDS");
        }
        return keyword(p, "SECONDS", false) ? true : fail(p, "expected SECONDS");
    }
    if (keyword(p, "REPEATS", false)) {
        size_t at = (peek(p), p->i);
        if (peek(p) < 0 || number(p, &v) != L_INT || !(v > 0)) {
            p->err = 0, p->i = at;
            return fail(p, "REPEATS needs a positive integer");
        }
        return keyword(p, "TIMES", false) ? true : fail(p, "expected TIMES");
    }
    if (keyword(p, "START", false)) {
        if (literal(p, NULL, &v, &t0) != L_TIME) return fail(p, "START needs a t'...' timestamp");
        if (!keyword(p, "STOP", false)) return fail(p, "expected STOP");
        if (literal(p, NULL, &v, &t1) != L_TIME) return fail(p, "STOP needs a t'...' timestamp");
        return t1 > t0 ? true : fail(p, "STOP is not later than START");
    }
    *any = false;
    return true;
}

static bool obs_primary(struct parser *p)
{
    bool bracket = eat(p, '[');
    if (!bracket && !eat(p, '(')) return fail(p, "expected '[' or '('");
    if (!enter(p) || !(bracket ? cmp_or(p) : obs_exprs(p))) return false;
    p->depth--;
    if (!eat(p, bracket ? ']' : ')')) return fail(p, "expected '%c'", bracket ? ']' : ')');
    for (bool any = true; any;)
        if (!qualifier(p, &any)) return false;
    return true;
}

static bool obs_and(struct parser *p)
{
    do
        if (!obs_primary(p)) return false;
    while (keyword(p, "AND", true));
    return true;
}

static bool obs_or(struct parser *p)
{
    do
        if (!obs_and(p)) return false;
    while (keyword(p, "OR", true));
    return true;
}

static bool obs_exprs(struct parser *p)
{
    do
        if (!obs_or(p)) return false;
    while (keyword(p, "FOLLOWEDBY", false));
    return true;
}

int stixpat_parse(const char *pattern, struct stixpat *out, char *msg, size_t cap)
{
    *out = (struct stixpat){0};
    struct parser p = {.s = pattern, .n = strlen(pattern), .msg = msg, .cap = cap, .out = out};
    if (cap) msg[0] = 0;
    if (p.n > STIXPAT_MAX_LEN) {
        snprintf(msg, cap, "pattern longer than %d bytes", STIXPAT_MAX_LEN);
        return -EINVAL;
    }
    if (obs_exprs(&p) && peek(&p) >= 0) fail(&p, "unexpected text after the pattern");
    return p.err;
}

void stixpat_free(struct stixpat *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].value);
    free(p->v);
    *p = (struct stixpat){0};
}
