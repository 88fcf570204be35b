/* httpc — the HTTP client's response parser and the Authorization headers it sends.
 *
 * Pure functions over a bounded buffer (the caller's, at most HTTPC_BUF bytes), so the unit tests
 * replay recorded responses and the fuzzer drives it directly.  http_resp_parse() is called again
 * on the whole buffer as bytes arrive (responses are small; reparsing costs less than a resumable
 * parser's states) and says when the response is complete: Content-Length bytes of body, a chunked
 * body's last chunk, the peer's EOF, or the buffer full (then the connection is not reused).  It
 * keeps only what probe reports or needs: the status, Server, the <title>, and the challenge of
 * WWW-Authenticate (Basic preferred when offered, else Digest with its realm, nonce, opaque, qop
 * and algorithm; only MD5 and MD5-sess digests are answered).  Strings are cut to their fields'
 * sizes; nothing outside is trusted to be text (the caller cleans it to UTF-8 for output). */
#ifndef MAMORI_PROBE_HTTPC_H
#define MAMORI_PROBE_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPC_BUF 8192
#define HTTPC_FIELD 128

enum httpc_auth { HTTPC_AUTH_NONE, HTTPC_AUTH_BASIC, HTTPC_AUTH_DIGEST, HTTPC_AUTH_OTHER };

struct http_resp {
    int status; /* 100..599, 0 before the status line */
    bool complete, keep_alive, chunked;
    int64_t content_length; /* -1 when none was given */
    size_t header_len;      /* status line and headers, blank line included */
    enum httpc_auth auth;
    bool digest_sess, digest_qop_auth; /* MD5-sess; qop offers "auth" */
    char server[HTTPC_FIELD], title[HTTPC_FIELD], realm[HTTPC_FIELD];
    char nonce[HTTPC_FIELD], opaque[HTTPC_FIELD];
};

/* Parses buf[0..len); eof: the peer closed.  1 complete, 0 more needed, -1 not HTTP. */
int http_resp_parse(struct http_resp *r, const char *buf, size_t len, bool eof);
/* "Basic base64(user:pass)" into out; its length, or -1 when it does not fit. */
int http_auth_basic(char *out, size_t cap, const char *user, const char *pass);
/* RFC 7616's MD5 digest answer to r's challenge for method and uri ("Digest username=..."); its
 * length, or -1 (it does not fit, or the challenge asks for another algorithm). */
int http_auth_digest(char *out, size_t cap, const struct http_resp *r, const char *user,
                     const char *pass, const char *method, const char *uri, const char *cnonce,
                     unsigned nc);

#endif
