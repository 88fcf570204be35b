/* anon_text — the value rule (anon.h), JSON and CSV.
 *
 * JSON: jansson with JSON_PRESERVE_ORDER, so keys keep their order and only
 * rewritten strings differ.  CSV: a small RFC 4180 reader that keeps every
 * field's raw bytes (quotes and all), so a row passes byte for byte unless
 * one of its fields is rewritten; a rewritten field is quoted again only if
 * it was quoted.  Fields are bounded (1 MiB): a file without line ends is
 * refused at the first oversized field, rows before it written. */
#include "anon.h"

#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX (1u << 20)

/* An address (strict inet_pton forms) anonymized as text; 1, or 0 when not one. */
static int addr_only(struct anon *a, const char *s, size_t n, char *out, size_t cap, int prefix)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    uint8_t b[16];
    struct ipaddr ip;
    int v4 = inet_pton(AF_INET, buf, b) == 1;
    if (!v4 && inet_pton(AF_INET6, buf, b) != 1) return 0;
    int bits = v4 ? 32 : 128;
    if (prefix > bits) return 0;
    if (v4) {
        uint32_t x;
        memcpy(&x, b, 4);
        ip_from_v4(&ip, ntohl(x));
    } else {
        ip_from_v6(&ip, b);
    }
    /* a network prefix (host bits zero) stays one; anything else is an address */
    int is_net = prefix >= 0;
    for (int i = prefix < 0 ? bits : prefix; i < bits && is_net; i++)
        if (b[i / 8] & (0x80 >> (i % 8))) is_net = 0;
    if (!is_net && a->seen) a->seen(a->seen_arg, &ip);
    if (v4) {
        uint32_t x;
        memcpy(&x, b, 4);
        x = htonl(cpan_ipv4(a->cpan, ntohl(x)));
        memcpy(b, &x, 4);
    } else {
        uint8_t o[16];
        cpan_ipv6(a->cpan, b, o);
        memcpy(b, o, 16);
    }
    if (is_net)
        for (int i = prefix; i < bits; i++)
            b[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
    if (!inet_ntop(v4 ? AF_INET : AF_INET6, b, out, (socklen_t)cap)) return -ENOSPC;
    if (prefix >= 0)
        a->st.prefixes++;
    else
        a->st.addresses++;
    return 1;
}

static int digits(const char *s, size_t n, unsigned max, unsigned *v)
{
    if (n == 0 || n > 5) return 0;
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    if (x > max || (n > 1 && s[0] == '0')) return 0;
    *v = x;
    return 1;
}

/* host[:port] or [v6]:port or a CIDR, as a whole; 1 rewritten, 0 not one. */
static int host_form(struct anon *a, const char *s, size_t n, char *out, size_t cap, int in_url)
{
    char addr[64];
    unsigned v;
    if (n && s[0] == '[') { /* [v6] or [v6]:port */
        const char *e = memchr(s, ']', n);
        if (!e) return 0;
        size_t rest = n - (size_t)(e + 1 - s);
        if (rest && (e[1] != ':' || !digits(e + 2, rest - 1, 65535, &v))) return 0;
        if (!rest && !in_url) return 0;
        int r = addr_only(a, s + 1, (size_t)(e - s - 1), addr, sizeof addr, -1);
        if (r <= 0) return r;
        if (strchr(addr, '.')) return 0; /* [v4] is not a form anyone writes */
        return snprintf(out, cap, "[%s]%.*s", addr, (int)rest, e + 1) < (int)cap ? 1 : -ENOSPC;
    }
    const char *slash = memchr(s, '/', n), *colon = memchr(s, ':', n);
    if (slash && !in_url) {
        if (!digits(slash + 1, n - (size_t)(slash + 1 - s), 128, &v)) return 0;
        int r = addr_only(a, s, (size_t)(slash - s), addr, sizeof addr, (int)v);
        if (r <= 0) return r;
        return snprintf(out, cap, "%s/%u", addr, v) < (int)cap ? 1 : -ENOSPC;
    }
    if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) == NULL) { /* v4:port */
        if (!digits(colon + 1, n - (size_t)(colon + 1 - s), 65535, &v)) return 0;
        int r = addr_only(a, s, (size_t)(colon - s), addr, sizeof addr, -1);
        if (r <= 0 || !strchr(addr, '.')) return r < 0 ? r : 0;
        return snprintf(out, cap, "%s:%u", addr, v) < (int)cap ? 1 : -ENOSPC;
    }
    if (in_url && colon) return 0; /* a bare v6 host in a URL is not valid */
    return addr_only(a, s, n, out, cap, -1);
}

/* scheme://[userinfo@]host[:port][/...]: the host when it is an address. */
static int url_form(struct anon *a, const char *s, size_t n, char *out, size_t cap)
{
    const char *sep = strstr(s, "://");
    if (!sep || sep == s) return 0;
    for (const char *p = s; p < sep; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '+' || *p == '-' ||
              *p == '.' || (p > s && *p >= '0' && *p <= '9')))
            return 0;
    const char *auth = sep + 3, *end = auth;
    while (end < s + n && *end != '/' && *end != '?' && *end != '#')
        end++;
    const char *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@') at = p;
    const char *host = at ? at + 1 : auth;
    char h[80];
    int r = host_form(a, host, (size_t)(end - host), h, sizeof h, 1);
    if (r <= 0) return r;
    size_t pre = (size_t)(host - s), hl = strlen(h), post = n - (size_t)(end - s);
    if (pre + hl + post + 1 > cap) return -ENOSPC;
    memmove(out, s, pre);
    memcpy(out + pre, h, hl);
    memcpy(out + pre + hl, end, post);
    out[pre + hl + post] = 0;
    a->st.urls++;
    return 1;
}

int anon_value(struct anon *a, const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n < 2 || n > FIELD_MAX) return 0;
    int r = strstr(in, "://") ? url_form(a, in, n, out, cap) : host_form(a, in, n, out, cap, 0);
    if (r > 0) a->st.values++;
    return r;
}

static int key_wanted(const char *k, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++)
        if (!strcmp(k, keys[i])) return 1;
    return 0;
}

/* A JSON string in place: 1 when rewritten.  (A string with a NUL inside is
 * no address form: anon_value sees only up to the NUL, so it is left.) */
static int rewrite_string(struct anon *a, json_t *x)
{
    size_t n = json_string_length(x);
    if (n < 2 || n > FIELD_MAX || strlen(json_string_value(x)) != n) return 0;
    char small[256], *out = n + 64 <= sizeof small ? small : malloc(n + 64);
    if (!out) return 0;
    int r = anon_value(a, json_string_value(x), out, n + 64) > 0;
    if (r) json_string_set(x, out);
    if (out != small) free(out);
    return r;
}

static uint64_t walk(struct anon *a, json_t *v, const char *const *keys, int all, int depth)
{
    uint64_t n = 0;
    if (depth > 256) return 0; /* jansson refuses deeper input anyway */
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_t *renames = NULL;
        json_object_foreach_safe(v, tmp, k, x)
        {
            int want = all || key_wanted(k, keys);
            if (json_is_string(x) && want) {
                n += rewrite_string(a, x);
            } else {
                n += walk(a, x, keys, want, depth + 1);
            }
            char nk[128];
            if (!keys && strlen(k) < 64 && anon_value(a, k, nk, sizeof nk) > 0) {
                if (!renames) renames = json_array();
                json_array_append_new(renames, json_pack("[ss]", k, nk));
            }
        }
        size_t i;
        json_t *r;
        json_array_foreach(renames, i, r)
        {
            const char *from = json_string_value(json_array_get(r, 0));
            json_t *val = json_incref(json_object_get(v, from));
            json_object_del(v, from);
            json_object_set_new(v, json_string_value(json_array_get(r, 1)), val);
            n++;
        }
        json_decref(renames);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_string(x) && all) {
                n += rewrite_string(a, x);
            } else {
                n += walk(a, x, keys, all, depth + 1);
            }
        }
    }
    return n;
}

uint64_t anon_json(struct anon *a, json_t *v, const char *const *keys)
{
    if (json_is_string(v) && !keys) return rewrite_string(a, v); /* a bare string document */
    return walk(a, v, keys, keys == NULL, 0);
}

/* ---- CSV ---- */

struct field {
    char *raw; /* as in the file */
    size_t rawn, rawcap;
    char *val; /* unquoted */
    size_t valn, valcap;
    int quoted;
};

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *q = realloc(*p, c);
    if (!q) return -ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

/* One field: 1 and *last (1: the row ended), 0 at the end of input, < 0. */
static int read_field(FILE *in, struct field *f, int *last, int *eof)
{
    f->rawn = f->valn = 0;
    f->quoted = 0;
    int c = getc(in), inq = 0, any = c != EOF;
    if (c == EOF) {
        *eof = 1;
        return 0;
    }
    if (c == '"') {
        inq = f->quoted = 1;
        if (grow(&f->raw, &f->rawcap, 2) < 0) return -ENOMEM;
        f->raw[f->rawn++] = '"';
        c = getc(in);
    }
    for (;; c = getc(in)) {
        if (f->rawn + 4 > FIELD_MAX) return -EMSGSIZE;
        if (grow(&f->raw, &f->rawcap, f->rawn + 4) < 0 ||
            grow(&f->val, &f->valcap, f->valn + 4) < 0)
            return -ENOMEM;
        if (c == EOF) {
            *last = *eof = 1;
            break;
        }
        if (inq) {
            f->raw[f->rawn++] = (char)c;
            if (c == '"') {
                int d = getc(in);
                if (d == '"') {
                    f->raw[f->rawn++] = '"';
                    f->val[f->valn++] = '"';
                    continue;
                }
                inq = 0;
                ungetc(d, in);
                continue;
            }
            f->val[f->valn++] = (char)c;
            continue;
        }
        if (c == ',') {
            *last = 0;
            break;
        }
        if (c == '\n') {
            *last = 1;
            break;
        }
        f->raw[f->rawn++] = (char)c;
        if (c != '\r') f->val[f->valn++] = (char)c;
    }
    f->raw[f->rawn] = 0;
    f->val[f->valn] = 0;
    return any;
}

static int col_index(const char *cols, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = cols; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !memcmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int anon_csv(struct anon *a, FILE *in, FILE *out, const char *columns, const char *name)
{
    struct field f = {0};
    uint8_t *want = NULL; /* per column, from the header (columns given) */
    size_t nwant = 0, col = 0, line = 1, found = 0;
    int rc = 0, eof = 0, row_changed = 0, row_any = 0;
    char *buf = malloc(FIELD_MAX + 64);
    if (!buf) return err_set(-ENOMEM, "%s: out of memory", name);
    while (!eof) {
        int last = 0, r = read_field(in, &f, &last, &eof);
        if (r < 0) {
            rc = err_set(r, "%s: line %zu: %s", name, line,
                         r == -EMSGSIZE ? "field longer than 1 MiB" : "out of memory");
            break;
        }
        if (r == 0 && col == 0) break;
        row_any = 1;
        int rewrite = 0;
        if (columns && line == 1) {
            uint8_t *w = realloc(want, col + 1);
            if (!w) {
                rc = err_set(-ENOMEM, "%s: out of memory", name);
                break;
            }
            want = w;
            want[col] = (uint8_t)col_index(columns, f.val);
            found += want[col];
            nwant = col + 1;
        } else if (!columns || (col < nwant && want[col])) {
            rewrite = anon_value(a, f.val, buf, FIELD_MAX + 64) > 0;
        }
        if (col) putc(',', out);
        if (rewrite) {
            row_changed = 1;
            if (f.quoted) {
                putc('"', out);
                for (char *p = buf; *p; p++) {
                    if (*p == '"') putc('"', out);
                    putc(*p, out);
                }
                putc('"', out);
            } else {
                fputs(buf, out);
            }
            if (f.rawn && f.raw[f.rawn - 1] == '\r') putc('\r', out);
        } else {
            fwrite(f.raw, 1, f.rawn, out);
        }
        col++;
        if (last) {
            if (!eof) putc('\n', out);
            if (line == 1 && columns && found == 0) {
                rc = err_set(-EINVAL, "%s: no column named in --columns (%s)", name, columns);
                break;
            }
            a->st.records += line > 1 || !columns;
            a->st.records_changed += row_changed;
            row_changed = row_any = 0;
            col = 0;
            line++;
        }
    }
    (void)row_any;
    if (!rc && ferror(in)) rc = err_set(-EIO, "%s: read error", name);
    free(f.raw);
    free(f.val);
    free(want);
    free(buf);
    return rc;
}
