/* probe's parsers on recorded exchanges: the telnet client's negotiation and screen verdicts
 * (BusyBox telnetd, Dahua/Hikvision-style and Cisco-style wordings), HTTP responses and the
 * Basic/Digest answers (RFC 7617 and RFC 2617's published vectors), dictionaries. */
#include "core/err.h"
#include "probe/httpc.h"
#include "probe/probe.h"
#include "probe/tnc.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define S(x) (const uint8_t *)(x), sizeof(x) - 1

/* BusyBox telnetd's greeting: DO ECHO, DO NAWS, WILL ECHO, WILL SGA, then the prompt. */
static void t_negotiation(void **st)
{
    (void)st;
    struct tnc t;
    tnc_init(&t);
    uint8_t r[TNC_REPLY_MAX];
    size_t rl = 0;
    tnc_feed(&t, S("\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03\r\nrouter login: "), r, &rl,
             sizeof r);
    static const uint8_t want[] = {0xff, 0xfc, 0x01, 0xff, 0xfc, 0x1f,
                                   0xff, 0xfd, 0x01, 0xff, 0xfd, 0x03};
    assert_int_equal(rl, sizeof want);
    assert_memory_equal(r, want, sizeof want);
    assert_string_equal(t.screen, "\r\nrouter login: ");
    assert_int_equal(tnc_prompt(t.screen, t.len), TNC_LOGIN);
    /* asked again: answered once only, so two peers can never loop */
    rl = 0;
    tnc_feed(&t, S("\xff\xfd\x01\xff\xfb\x01"), r, &rl, sizeof r);
    assert_int_equal(rl, 0);
    /* WILL of anything else is refused; WONT/DONT need no answer */
    tnc_feed(&t, S("\xff\xfb\x18\xff\xfc\x05\xff\xfe\x06"), r, &rl, sizeof r);
    assert_int_equal(rl, 3);
    assert_memory_equal(r, "\xff\xfe\x18", 3);
}

/* Subnegotiations are skipped whole, IAC IAC is a data byte, CR NUL is CR; a split command. */
static void t_decode(void **st)
{
    (void)st;
    struct tnc t;
    tnc_init(&t);
    uint8_t r[TNC_REPLY_MAX];
    size_t rl = 0;
    tnc_feed(&t,
             S("a\xff\xfa\x18\x01\xff\xf0"
               "b\xff\xff"
               "c\r\0d\xff"),
             r, &rl, sizeof r);
    tnc_feed(&t, S("\xfd"), r, &rl, sizeof r);
    tnc_feed(&t, S("\x1fZ"), r, &rl, sizeof r);
    assert_int_equal(t.len, 7);
    assert_memory_equal(t.screen,
                        "ab\xff"
                        "c\rdZ",
                        7);
    assert_int_equal(rl, 3);
    /* the reply buffer's cap holds: nothing written past it */
    tnc_init(&t);
    rl = 0;
    tnc_feed(&t, S("\xff\xfd\x01\xff\xfd\x02\xff\xfd\x03"), r, &rl, 7);
    assert_int_equal(rl, 6);
}

/* The screen is bounded and keeps the newest text (the prompt is at the end). */
static void t_screen_bounded(void **st)
{
    (void)st;
    struct tnc t;
    tnc_init(&t);
    uint8_t junk[1000];
    memset(junk, 'x', sizeof junk);
    uint8_t r[TNC_REPLY_MAX];
    size_t rl = 0;
    for (int i = 0; i < 20; i++)
        tnc_feed(&t, junk, sizeof junk, r, &rl, sizeof r);
    tnc_feed(&t, S("\r\nLogin: "), r, &rl, sizeof r);
    assert_true(t.len <= TNC_SCREEN);
    assert_int_equal(t.total, 20 * 1000 + 9);
    assert_int_equal(tnc_prompt(t.screen, t.len), TNC_LOGIN);
    tnc_mark(&t);
    assert_int_equal(t.len, 0);
}

struct verdict {
    const char *screen;
    enum tnc_screen classify, prompt;
};

static void t_verdicts(void **st)
{
    (void)st;
    static const struct verdict v[] = {
        {"\r\n\r\nBusyBox v1.22.1 (2014-09-13 22:52:13 CST) built-in shell (ash)\r\n"
         "Enter 'help' for a list of built-in commands.\r\n\r\n# ",
         TNC_SHELL, TNC_SHELL},
        {"\r\n~ # ", TNC_SHELL, TNC_SHELL},
        {"\r\n[admin@DVR ~]$ ", TNC_SHELL, TNC_SHELL},
        {"\r\nHG8245> ", TNC_SHELL, TNC_SHELL},
        {"\r\nLogin incorrect\r\n\r\nrouter login: ", TNC_FAILED, TNC_LOGIN},
        {"\r\nAccess denied\r\nUsername: ", TNC_FAILED, TNC_LOGIN},
        {"\r\n% Authentication failed!\r\n", TNC_FAILED, TNC_NOTHING},
        /* lure's last failure before it hangs up: no prompt follows, none may be read into it */
        {"\r\nLogin incorrect\r\n", TNC_FAILED, TNC_NOTHING},
        {"\r\nUser Access Verification\r\n\r\nUsername: ", TNC_LOGIN, TNC_LOGIN},
        {"(none) login: ", TNC_LOGIN, TNC_LOGIN},
        {"Password: ", TNC_PASSWORD, TNC_PASSWORD},
        {"admin\r\nPassWord:", TNC_PASSWORD, TNC_PASSWORD},
        {"\r\nLogin authentication\r\n\r\nUser name:", TNC_LOGIN, TNC_LOGIN},
        {"\r\n", TNC_NOTHING, TNC_NOTHING},
        {"\r\nWelcome to the device\r\n", TNC_NOTHING, TNC_NOTHING},
        /* a banner that says "invalid" before its prompt: the prompt still counts there */
        {"Unauthorized use is invalid.\r\nlogin: ", TNC_FAILED, TNC_LOGIN},
        {"", TNC_NOTHING, TNC_NOTHING},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].screen);
        if (tnc_classify(v[i].screen, n) != v[i].classify ||
            tnc_prompt(v[i].screen, n) != v[i].prompt)
            fail_msg("screen %zu: classify %s prompt %s", i,
                     tnc_screen_name(tnc_classify(v[i].screen, n)),
                     tnc_screen_name(tnc_prompt(v[i].screen, n)));
    }
}

static int parse(struct http_resp *r, const char *s, bool eof)
{
    return http_resp_parse(r, s, strlen(s), eof);
}

static void t_http_basic(void **st)
{
    (void)st;
    struct http_resp r;
    const char *resp = "HTTP/1.1 401 Unauthorized\r\nServer: GoAhead-Webs\r\n"
                       "WWW-Authenticate: Basic realm=\"NETGEAR DGN1000\"\r\n"
                       "Content-Type: text/html\r\nContent-Length: 47\r\n\r\n"
                       "<html><title> 401 Unauthorized </title></html>\n";
    assert_int_equal(parse(&r, resp, false), 1);
    assert_int_equal(r.status, 401);
    assert_int_equal(r.auth, HTTPC_AUTH_BASIC);
    assert_string_equal(r.realm, "NETGEAR DGN1000");
    assert_string_equal(r.server, "GoAhead-Webs");
    assert_string_equal(r.title, "401 Unauthorized");
    assert_true(r.keep_alive);
    /* one byte short of Content-Length: not complete, unless the peer closed */
    assert_int_equal(http_resp_parse(&r, resp, strlen(resp) - 1, false), 0);
    assert_int_equal(http_resp_parse(&r, resp, 30, false), 0);
    char out[256];
    assert_true(http_auth_basic(out, sizeof out, "Aladdin", "open sesame") > 0);
    assert_string_equal(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    assert_int_equal(http_auth_basic(out, 10, "Aladdin", "open sesame"), -1);
}

/* RFC 2617 section 3.5's example, response 6629fae49393a05397450978507c4ef1. */
static void t_http_digest(void **st)
{
    (void)st;
    struct http_resp r;
    assert_int_equal(
        parse(&r,
              "HTTP/1.0 401 Unauthorized\r\nServer: HTTPd/0.9\r\n"
              "WWW-Authenticate: Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
              "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
              "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n"
              "Content-Length: 0\r\n\r\n",
              false),
        1);
    assert_int_equal(r.auth, HTTPC_AUTH_DIGEST);
    assert_true(r.digest_qop_auth);
    assert_false(r.keep_alive); /* HTTP/1.0 without keep-alive */
    char out[600];
    assert_true(http_auth_digest(out, sizeof out, &r, "Mufasa", "Circle Of Life", "GET",
                                 "/dir/index.html", "0a4f113b", 1) > 0);
    assert_non_null(strstr(out, "response=\"6629fae49393a05397450978507c4ef1\""));
    assert_non_null(strstr(out, "qop=auth, nc=00000001, cnonce=\"0a4f113b\""));
    assert_non_null(strstr(out, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    /* Basic is preferred when both are offered; SHA-256 digests are not answered */
    assert_int_equal(parse(&r,
                           "HTTP/1.1 401 X\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"b\"\r\n"
                           "WWW-Authenticate: Basic realm=\"c\"\r\nContent-Length: 0\r\n\r\n",
                           false),
                     1);
    assert_int_equal(r.auth, HTTPC_AUTH_BASIC);
    assert_string_equal(r.realm, "c");
    parse(&r,
          "HTTP/1.1 401 X\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"b\", "
          "algorithm=SHA-256\r\nContent-Length: 0\r\n\r\n",
          false);
    assert_int_equal(r.auth, HTTPC_AUTH_OTHER);
    assert_int_equal(http_auth_digest(out, sizeof out, &r, "u", "p", "GET", "/", "c", 1), -1);
}

static void t_http_bodies(void **st)
{
    (void)st;
    struct http_resp r;
    const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "1a\r\n<title>Web Admin</title>xx\r\n0\r\n\r\n";
    assert_int_equal(parse(&r, chunked, false), 1);
    assert_true(r.chunked && r.keep_alive);
    assert_string_equal(r.title, "Web Admin");
    assert_int_equal(http_resp_parse(&r, chunked, strlen(chunked) - 4, false), 0);
    /* no length: the body ends when the peer closes, and the connection is not reused */
    assert_int_equal(parse(&r, "HTTP/1.1 200 OK\r\n\r\n<TITLE>Cam</TITLE>", false), 0);
    assert_int_equal(parse(&r, "HTTP/1.1 200 OK\r\n\r\n<TITLE>Cam</TITLE>", true), 1);
    assert_string_equal(r.title, "Cam");
    assert_false(r.keep_alive);
    assert_int_equal(
        parse(&r, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false), 1);
    assert_false(r.keep_alive);
    /* not HTTP */
    assert_int_equal(parse(&r, "SSH-2.0-dropbear\r\n", false), -1);
    assert_int_equal(parse(&r, "HTTP/1.1 2", true), -1);
    assert_int_equal(parse(&r, "HTTP/1.1 2", false), 0);
    assert_int_equal(parse(&r, "HTTP/1.1 099 x\r\n\r\n", false), -1);
}

static char *tmpfile_with(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/mamori-test-dict-%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void t_dict(void **st)
{
    (void)st;
    struct dict d = {0};
    char *p = tmpfile_with("# a user list\nadmin:admin\nroot:pa:ss\nguest\t\tweak-guest\n"
                           "# class: vendor-x\nsupport\tsupport\t3\n");
    assert_int_equal(dict_load(&d, p), 0);
    assert_int_equal(d.n, 4);
    assert_string_equal(d.v[1].user, "root");
    assert_string_equal(d.v[1].pass, "pa:ss");
    assert_string_equal(d.v[2].pass, "");
    char base[64];
    snprintf(base, sizeof base, "mamori-test-dict-%d", (int)getpid());
    assert_string_equal(d.classes[d.v[0].cls], base);
    assert_string_equal(d.classes[d.v[2].cls], "weak-guest");
    assert_string_equal(d.classes[d.v[3].cls], "vendor-x");
    dict_free(&d);
    p = tmpfile_with("admin:admin\nnocolon\n");
    assert_true(dict_load(&d, p) < 0);
    char want[128];
    snprintf(want, sizeof want, "%s:2: not user:password", p);
    assert_non_null(strstr(err_msg(), want));
    dict_free(&d);
    p = tmpfile_with("# nothing\n");
    assert_true(dict_load(&d, p) < 0);
    assert_non_null(strstr(err_msg(), "no credential pairs"));
    dict_free(&d);
    unlink(p);
}

/* The bundled list: Mirai's 62 pairs, in the source's order, one class. */
static void t_dict_default(void **st)
{
    (void)st;
    struct dict d = {0};
    char env[4200];
    const char *root = getenv("MESON_SOURCE_ROOT");
    snprintf(env, sizeof env, "%s/data", root ? root : ".");
    setenv("MAMORI_DATA", env, 1);
    assert_int_equal(dict_load_default(&d), 0);
    assert_int_equal(d.n, 62);
    assert_string_equal(d.v[0].user, "root");
    assert_string_equal(d.v[0].pass, "xc3511");
    assert_int_equal(d.n_classes, 1);
    assert_string_equal(d.classes[0], "mirai-default");
    assert_string_equal(d.files[0], "mirai");
    dict_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_negotiation),    cmocka_unit_test(t_decode),
        cmocka_unit_test(t_screen_bounded), cmocka_unit_test(t_verdicts),
        cmocka_unit_test(t_http_basic),     cmocka_unit_test(t_http_digest),
        cmocka_unit_test(t_http_bodies),    cmocka_unit_test(t_dict),
        cmocka_unit_test(t_dict_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
