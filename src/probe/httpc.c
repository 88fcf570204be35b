/* httpc — HTTP response parsing and Basic/Digest answers (see httpc.h). */
#include "httpc.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies at most cap-1 bytes of [s, s+n), white space trimmed at both ends. */
static void field(char *out, size_t cap, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = 0;
}

/* A case-insensitive search for needle in [s, s+n). */
static const char *find_ci(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!strncasecmp(s + i, needle, k)) return s + i;
    return NULL;
}

/* One auth parameter of a challenge: name="value" or name=value; false when absent. */
static bool auth_param(const char *s, size_t n, const char *name, char *out, size_t cap)
{
    size_t k = strlen(name);
    for (size_t i = 0; i + k + 1 <= n; i++) {
        if (strncasecmp(s + i, name, k) || s[i + k] != '=') continue;
        if (i && s[i - 1] != ' ' && s[i - 1] != ',' && s[i - 1] != '\t') continue;
        const char *v = s + i + k + 1, *end = s + n;
        const char *e;
        if (v < end && *v == '"') {
            v++;
            e = memchr(v, '"', (size_t)(end - v));
            if (!e) e = end;
        } else {
            for (e = v; e < end && *e != ',' && *e != ' '; e++)
                ;
        }
        field(out, cap, v, (size_t)(e - v));
        return true;
    }
    return false;
}

/* Whether a qop list ("auth,auth-int") offers plain "auth". */
static bool qop_auth(const char *list)
{
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t k = strcspn(p, ", ");
        if (k == 4 && !strncasecmp(p, "auth", 4)) return true;
        p += k;
    }
    return false;
}

static void challenge(struct http_resp *r, const char *v, size_t n)
{
    while (n && isspace((unsigned char)*v))
        v++, n--;
    char tmp[HTTPC_FIELD];
    if (n >= 5 && !strncasecmp(v, "basic", 5)) {
        if (r->auth != HTTPC_AUTH_BASIC) auth_param(v, n, "realm", r->realm, sizeof r->realm);
        r->auth = HTTPC_AUTH_BASIC;
    } else if (n >= 6 && !strncasecmp(v, "digest", 6) && r->auth != HTTPC_AUTH_BASIC) {
        r->auth = HTTPC_AUTH_DIGEST;
        auth_param(v, n, "realm", r->realm, sizeof r->realm);
        auth_param(v, n, "nonce", r->nonce, sizeof r->nonce);
        auth_param(v, n, "opaque", r->opaque, sizeof r->opaque);
        r->digest_qop_auth = auth_param(v, n, "qop", tmp, sizeof tmp) && qop_auth(tmp);
        r->digest_sess = false;
        if (auth_param(v, n, "algorithm", tmp, sizeof tmp)) {
            if (!strcasecmp(tmp, "md5-sess"))
                r->digest_sess = true;
            else if (strcasecmp(tmp, "md5"))
                r->auth = HTTPC_AUTH_OTHER;
        }
    } else if (r->auth == HTTPC_AUTH_NONE) {
        r->auth = HTTPC_AUTH_OTHER;
    }
}

static void header(struct http_resp *r, const char *name, size_t nl, const char *v, size_t vl)
{
    char tmp[32];
    if (nl == 6 && !strncasecmp(name, "server", 6)) {
        field(r->server, sizeof r->server, v, vl);
    } else if (nl == 16 && !strncasecmp(name, "www-authenticate", 16)) {
        challenge(r, v, vl);
    } else if (nl == 14 && !strncasecmp(name, "content-length", 14)) {
        field(tmp, sizeof tmp, v, vl);
        char *end;
        long long cl = strtoll(tmp, &end, 10);
        if (end != tmp && !*end && cl >= 0) r->content_length = cl;
    } else if (nl == 17 && !strncasecmp(name, "transfer-encoding", 17)) {
        if (find_ci(v, vl, "chunked")) r->chunked = true;
    } else if (nl == 10 && !strncasecmp(name, "connection", 10)) {
        if (find_ci(v, vl, "close")) r->keep_alive = false;
        if (find_ci(v, vl, "keep-alive")) r->keep_alive = true;
    }
}

static void title(struct http_resp *r, const char *body, size_t n)
{
    const char *t = find_ci(body, n, "<title");
    if (!t) return;
    const char *gt = memchr(t, '>', (size_t)(body + n - t));
    if (!gt) return;
    gt++;
    const char *end = find_ci(gt, (size_t)(body + n - gt), "</title");
    field(r->title, sizeof r->title, gt, (size_t)((end ? end : body + n) - gt));
}

/* The status line: "HTTP/1.x NNN reason". */
static int status_line(struct http_resp *r, const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) || !isdigit((unsigned char)s[7]) || s[8] != ' ')
        return -1;
    if (!isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
        !isdigit((unsigned char)s[11]))
        return -1;
    r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (r->status < 100) return -1;
    r->keep_alive = s[7] == '1';
    return 0;
}

static bool body_complete(const struct http_resp *r, const char *body, size_t n, bool eof)
{
    if (r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200)) return true;
    if (r->chunked)
        return (n >= 5 && !memcmp(body, "0\r\n\r\n", 5)) || find_ci(body, n, "\r\n0\r\n\r\n");
    if (r->content_length >= 0) return (int64_t)n >= r->content_length;
    return eof;
}

int http_resp_parse(struct http_resp *r, const char *buf, size_t len, bool eof)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    const char *end = find_ci(buf, len, "\r\n\r\n");
    if (!end) {
        if (len >= 12 && status_line(r, buf, len) < 0) return -1;
        if (len >= HTTPC_BUF || eof) return len >= 12 ? -1 : (eof ? -1 : 0);
        return 0;
    }
    r->header_len = (size_t)(end - buf) + 4;
    const char *line = buf, *stop = end + 2;
    const char *nl = memchr(line, '\n', (size_t)(stop - line));
    if (status_line(r, line, (size_t)(nl - line)) < 0) return -1;
    for (line = nl + 1; line < stop; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(stop - line));
        if (!nl) break;
        const char *colon = memchr(line, ':', (size_t)(nl - line));
        if (!colon) continue;
        header(r, line, (size_t)(colon - line), colon + 1, (size_t)(nl - colon - 1));
    }
    const char *body = buf + r->header_len;
    size_t bn = len - r->header_len;
    title(r, body, bn);
    r->complete = body_complete(r, body, bn, eof);
    if (!r->complete && len >= HTTPC_BUF) {
        r->complete = true; /* cut: what was read is all we keep; the connection is not reused */
        r->keep_alive = false;
    }
    if (r->content_length < 0 && !r->chunked && !(r->status == 204 || r->status == 304))
        r->keep_alive = false;
    return r->complete ? 1 : 0;
}

int http_auth_basic(char *out, size_t cap, const char *user, const char *pass)
{
    char plain[512];
    int n = snprintf(plain, sizeof plain, "%s:%s", user, pass);
    if (n < 0 || (size_t)n >= sizeof plain) return -1;
    size_t need = 6 + 4 * (((size_t)n + 2) / 3) + 1;
    if (need > cap) return -1;
    memcpy(out, "Basic ", 6);
    int b = EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)plain, n);
    return 6 + b;
}

static void md5_hex(char hex[33], const char *s)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    EVP_Digest(s, strlen(s), d, &dl, EVP_md5(), NULL);
    for (unsigned i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

int http_auth_digest(char *out, size_t cap, const struct http_resp *r, const char *user,
                     const char *pass, const char *method, const char *uri, const char *cnonce,
                     unsigned nc)
{
    if (r->auth != HTTPC_AUTH_DIGEST) return -1;
    char tmp[1024], ha1[33], ha2[33], resp[33], ncs[9];
    snprintf(ncs, sizeof ncs, "%08x", nc);
    snprintf(tmp, sizeof tmp, "%s:%s:%s", user, r->realm, pass);
    md5_hex(ha1, tmp);
    if (r->digest_sess) {
        snprintf(tmp, sizeof tmp, "%s:%s:%s", ha1, r->nonce, cnonce);
        md5_hex(ha1, tmp);
    }
    snprintf(tmp, sizeof tmp, "%s:%s", method, uri);
    md5_hex(ha2, tmp);
    if (r->digest_qop_auth)
        snprintf(tmp, sizeof tmp, "%s:%s:%s:%s:auth:%s", ha1, r->nonce, ncs, cnonce, ha2);
    else
        snprintf(tmp, sizeof tmp, "%s:%s:%s", ha1, r->nonce, ha2);
    md5_hex(resp, tmp);
    int n =
        snprintf(out, cap,
                 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                 "response=\"%s\"%s%s%s%s",
                 user, r->realm, r->nonce, uri, resp, r->digest_sess ? ", algorithm=MD5-sess" : "",
                 r->opaque[0] ? ", opaque=\"" : "", r->opaque, r->opaque[0] ? "\"" : "");
    if (n < 0 || (size_t)n >= cap) return -1;
    if (r->digest_qop_auth) {
        int m = snprintf(out + n, cap - (size_t)n, ", qop=auth, nc=%s, cnonce=\"%s\"", ncs, cnonce);
        if (m < 0 || (size_t)m >= cap - (size_t)n) return -1;
        n += m;
    }
    return n;
}
