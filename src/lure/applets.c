/* applets — BusyBox applets and ash builtins of the emulated shell (see shell.h).
 *
 * Each applet reads and writes only the session's vfs and its streams, and
 * pays for the bytes it touches (sh_spend).  The downloaders live in fetch.c;
 * this file's table names every applet. */
#include "shell_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void out_str(struct io *io, const char *s)
{
    buf_str(io->out, s);
}

/* The bytes of a file argument ("-" is standard input). */
static int read_arg(struct shell *sh, const char *tool, const char *arg, struct io *io,
                    const uint8_t **d, size_t *n)
{
    if (!strcmp(arg, "-")) {
        size_t pos = io->in_pos ? *io->in_pos : 0;
        *d = io->in ? io->in + pos : (const uint8_t *)"";
        *n = io->in && io->in_len > pos ? io->in_len - pos : 0;
        if (io->in_pos) *io->in_pos = io->in_len;
        return sh_spend(sh, *n) ? 0 : 1; /* past the budget the command fails quietly */
    }
    char path[VFS_PATH_MAX];
    struct vfs_stat st;
    if (!sh_path(sh, arg, path) || vfs_stat(&sh->fs, path, &st, d) < 0) {
        sh_printf(io->err, "%s: can't open '%s': No such file or directory\n", tool, arg);
        return 1;
    }
    if (st.kind == VFS_DIR) {
        sh_printf(io->err, "%s: read error: Is a directory\n", tool);
        return 1;
    }
    *n = st.size;
    return sh_spend(sh, *n) ? 0 : 1;
}

/* echo: -n, -e and -E in any combination; \c stops all output. */
static int ap_echo(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)sh;
    bool nl = true, esc = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strspn(argv[i] + 1, "neE") != strlen(argv[i] + 1)) break;
        for (const char *f = argv[i] + 1; *f; f++)
            if (*f == 'n')
                nl = false;
            else
                esc = *f == 'e';
    }
    for (int first = i; i < argc; i++) {
        if (i > first) buf_byte(io->out, ' ');
        const char *s = argv[i];
        if (!esc) {
            buf_str(io->out, s);
            continue;
        }
        while (*s) {
            if (*s != '\\' || !s[1]) {
                buf_byte(io->out, (uint8_t)*s++);
                continue;
            }
            s++;
            int v = -1, digits = 0;
            char c = *s++;
            switch (c) {
            case 'a':
                v = 7;
                break;
            case 'b':
                v = 8;
                break;
            case 'e':
                v = 27;
                break;
            case 'f':
                v = 12;
                break;
            case 'n':
                v = 10;
                break;
            case 'r':
                v = 13;
                break;
            case 't':
                v = 9;
                break;
            case 'v':
                v = 11;
                break;
            case '\\':
                v = '\\';
                break;
            case 'c':
                return 0;
            case 'x':
                for (v = 0; digits < 2 && isxdigit((unsigned char)*s); digits++, s++)
                    v = v * 16 + (isdigit((unsigned char)*s) ? *s - '0' : (tolower(*s) - 'a' + 10));
                if (!digits) {
                    buf_str(io->out, "\\x");
                    continue;
                }
                break;
            default:
                if (c >= '0' && c <= '7') {
                    if (c != '0') s--; /* \NNN as well as \0NNN */
                    for (v = 0; digits < 3 && *s >= '0' && *s <= '7'; digits++, s++)
                        v = v * 8 + (*s - '0');
                } else {
                    buf_byte(io->out, '\\');
                    v = (unsigned char)c;
                }
            }
            buf_byte(io->out, (uint8_t)v);
        }
    }
    if (nl) buf_byte(io->out, '\n');
    return 0;
}

static int ap_cat(struct shell *sh, int argc, char **argv, struct io *io)
{
    int rc = 0;
    char *dash[] = {"-"};
    char **files = argc > 1 ? argv + 1 : dash;
    int n = argc > 1 ? argc - 1 : 1;
    for (int i = 0; i < n; i++) {
        const uint8_t *d;
        size_t len;
        if (read_arg(sh, "cat", files[i], io, &d, &len))
            rc = 1;
        else
            buf_add(io->out, d, len);
    }
    return rc;
}

static int ap_cd(struct shell *sh, int argc, char **argv, struct io *io)
{
    char path[VFS_PATH_MAX];
    struct vfs_stat st;
    const char *to = argc > 1 ? argv[1] : sh_getvar(sh, "HOME");
    if (!sh_path(sh, to, path) || vfs_stat(&sh->fs, path, &st, NULL) < 0 || st.kind != VFS_DIR) {
        sh_printf(io->err, "-sh: cd: can't cd to %s\n", to);
        return 1;
    }
    strcpy(sh->cwd, path);
    return 0;
}

static int ap_pwd(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)argc, (void)argv;
    sh_printf(io->out, "%s\n", sh->cwd);
    return 0;
}

/* Splits leading -flags off; returns the index of the first operand. */
static int flags(int argc, char **argv, const char *known, char *seen)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "--")) return i + 1;
        for (const char *f = argv[i] + 1; *f; f++)
            if (strchr(known, *f) && !strchr(seen, *f)) strncat(seen, f, 1);
    }
    return i;
}

static int copy_file(struct shell *sh, const char *tool, const char *src, const char *dst,
                     bool move, struct io *io)
{
    char from[VFS_PATH_MAX], to[VFS_PATH_MAX];
    struct vfs_stat st, dst_st;
    const uint8_t *d;
    if (!sh_path(sh, src, from) || vfs_stat(&sh->fs, from, &st, &d) < 0) {
        sh_printf(io->err, "%s: can't stat '%s': No such file or directory\n", tool, src);
        return 1;
    }
    if (st.kind == VFS_DIR) {
        sh_printf(io->err, "%s: omitting directory '%s'\n", tool, src);
        return 1;
    }
    if (!sh_path(sh, dst, to)) return 1;
    if (vfs_stat(&sh->fs, to, &dst_st, NULL) == 0 && dst_st.kind == VFS_DIR) {
        size_t n = strlen(to);
        if (n + 1 + strlen(sh_base_name(from)) >= VFS_PATH_MAX) return 1;
        snprintf(to + n, VFS_PATH_MAX - n, "%s%s", n > 1 ? "/" : "", sh_base_name(from));
    }
    /* the source may live in the overlay that the write is about to move */
    if (!sh_spend(sh, 2 * st.size)) return 1;
    uint8_t *copy = malloc(st.size ? st.size : 1);
    if (!copy) return 1;
    memcpy(copy, d, st.size);
    int rc = vfs_write(&sh->fs, to, copy, st.size, false);
    free(copy);
    if (rc == 0) rc = vfs_chmod(&sh->fs, to, st.mode);
    if (rc < 0) {
        sh_printf(io->err, "%s: can't create '%s': %s\n", tool, dst, sh_strerror(rc));
        return 1;
    }
    if (move && (rc = vfs_remove(&sh->fs, from, false)) < 0) {
        sh_printf(io->err, "%s: can't remove '%s': %s\n", tool, src, sh_strerror(rc));
        return 1;
    }
    return 0;
}

static int ap_cp(struct shell *sh, int argc, char **argv, struct io *io)
{
    char seen[8] = "";
    int i = flags(argc, argv, "rRfpa", seen);
    const char *tool = argv[0][0] == 'm' ? "mv" : "cp";
    if (argc - i < 2) {
        sh_usage(sh, io, tool[0] == 'm' ? "mv [-fin] SOURCE DEST" : "cp [OPTIONS] SOURCE DEST");
        return 1;
    }
    int rc = 0;
    for (int k = i; k < argc - 1; k++)
        rc |= copy_file(sh, tool, argv[k], argv[argc - 1], tool[0] == 'm', io);
    return rc;
}

static int ap_rm(struct shell *sh, int argc, char **argv, struct io *io)
{
    char seen[8] = "";
    int i = flags(argc, argv, "rRf", seen), rc = 0;
    bool force = strchr(seen, 'f'), rec = strchr(seen, 'r') || strchr(seen, 'R');
    for (; i < argc; i++) {
        char path[VFS_PATH_MAX];
        int e = sh_path(sh, argv[i], path) ? vfs_remove(&sh->fs, path, rec) : -ENAMETOOLONG;
        if (e == -ENOENT && force) continue;
        if (e < 0) {
            sh_printf(io->err, "rm: can't remove '%s': %s\n", argv[i], sh_strerror(e));
            rc = 1;
        }
    }
    return rc;
}

static int ap_mkdir(struct shell *sh, int argc, char **argv, struct io *io)
{
    char seen[8] = "";
    int i = flags(argc, argv, "pm", seen), rc = 0;
    for (; i < argc; i++) {
        char path[VFS_PATH_MAX];
        int e = sh_path(sh, argv[i], path) ? vfs_mkdir(&sh->fs, path, strchr(seen, 'p'))
                                           : -ENAMETOOLONG;
        if (e < 0) {
            sh_printf(io->err, "mkdir: can't create directory '%s': %s\n", argv[i], sh_strerror(e));
            rc = 1;
        }
    }
    return rc;
}

static int ap_touch(struct shell *sh, int argc, char **argv, struct io *io)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        char path[VFS_PATH_MAX];
        if (argv[i][0] == '-') continue;
        int e =
            sh_path(sh, argv[i], path) ? vfs_write(&sh->fs, path, NULL, 0, true) : -ENAMETOOLONG;
        if (e < 0) {
            sh_printf(io->err, "touch: %s: %s\n", argv[i], sh_strerror(e));
            rc = 1;
        }
    }
    return rc;
}

static int ap_chmod(struct shell *sh, int argc, char **argv, struct io *io)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-' && strchr("Rfv", argv[i][1]))
        i++;
    if (argc - i < 2) {
        sh_usage(sh, io, "chmod [-Rcvf] MODE[,MODE]... FILE...");
        return 1;
    }
    const char *m = argv[i++];
    int rc = 0;
    for (; i < argc; i++) {
        char path[VFS_PATH_MAX];
        struct vfs_stat st;
        if (!sh_path(sh, argv[i], path) || vfs_stat(&sh->fs, path, &st, NULL) < 0) {
            sh_printf(io->err, "chmod: %s: No such file or directory\n", argv[i]);
            rc = 1;
            continue;
        }
        unsigned mode = st.mode;
        if (m[0] >= '0' && m[0] <= '7') {
            mode = (unsigned)strtoul(m, NULL, 8);
        } else {
            const char *op = strpbrk(m, "+-=");
            unsigned bits = 0;
            if (op)
                for (const char *c = op + 1; *c; c++)
                    bits |= *c == 'x' ? 0111 : *c == 'w' ? 0222 : *c == 'r' ? 0444 : 0;
            if (op && *op == '+')
                mode |= bits;
            else if (op && *op == '-')
                mode &= ~bits;
            else if (op)
                mode = bits;
        }
        int e = vfs_chmod(&sh->fs, path, (uint16_t)mode);
        if (e < 0) {
            sh_printf(io->err, "chmod: %s: %s\n", argv[i], sh_strerror(e));
            rc = 1;
        }
    }
    return rc;
}

struct ls_ctx {
    struct io *io;
    bool all, longf;
    int col;
};

static void ls_one(void *c, const char *name, const struct vfs_stat *st)
{
    struct ls_ctx *l = c;
    if (name[0] == '.' && !l->all) return;
    if (l->longf) {
        char m[11] = "----------";
        if (st->kind == VFS_DIR) m[0] = 'd';
        for (int b = 0; b < 9; b++)
            if (st->mode & (0400 >> b)) m[1 + b] = "rwx"[b % 3];
        sh_printf(l->io->out, "%s    1 root     root     %8zu Jan  1 00:00 %s\n", m, st->size,
                  name);
        return;
    }
    size_t w = strlen(name) + 2;
    if (l->col && l->col + (int)w > 80) {
        buf_byte(l->io->out, '\n');
        l->col = 0;
    }
    sh_printf(l->io->out, "%s  ", name);
    l->col += (int)w;
}

static int ap_ls(struct shell *sh, int argc, char **argv, struct io *io)
{
    char seen[8] = "";
    int i = flags(argc, argv, "al1", seen), rc = 0;
    struct ls_ctx l = {io, strchr(seen, 'a'), strchr(seen, 'l'), 0};
    const char *dot[] = {"."};
    const char **args = i < argc ? (const char **)argv + i : dot;
    int n = i < argc ? argc - i : 1;
    for (int k = 0; k < n; k++) {
        char path[VFS_PATH_MAX];
        struct vfs_stat st;
        if (!sh_path(sh, args[k], path) || vfs_stat(&sh->fs, path, &st, NULL) < 0) {
            sh_printf(io->err, "ls: %s: No such file or directory\n", args[k]);
            rc = 1;
            continue;
        }
        if (st.kind == VFS_FILE) {
            ls_one(&l, args[k], &st);
        } else {
            /* a listing walks the overlay and the persona's whole tree */
            const struct persona *p = sh->p;
            sh_spend(sh, 256 * (sh->fs.n + p->n_files + p->n_dirs + p->n_applets));
            vfs_list(&sh->fs, path, ls_one, &l);
        }
    }
    if (l.col) buf_byte(io->out, '\n');
    return rc;
}

static int ap_ps(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)argc, (void)argv;
    out_str(io, sh->p->ps);
    return 0;
}

static int ap_kill(struct shell *sh, int argc, char **argv, struct io *io)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        char needle[32];
        snprintf(needle, sizeof needle, " %s ", argv[i]);
        sh_spend(sh, strlen(sh->p->ps));
        bool found = false;
        for (const char *l = sh->p->ps; l && *l && !found;
             l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
            char line[32] = " ";
            size_t k = 1;
            while (*l == ' ')
                l++;
            while (k < sizeof line - 2 && isdigit((unsigned char)*l))
                line[k++] = *l++;
            line[k++] = ' ';
            line[k] = 0;
            found = k > 2 && !strcmp(line, needle);
        }
        if (!found) {
            sh_printf(io->err, "-sh: kill: can't kill pid %s: No such process\n", argv[i]);
            rc = 1;
        }
    }
    return rc;
}

static int ap_uname(struct shell *sh, int argc, char **argv, struct io *io)
{
    const struct persona *p = sh->p;
    char seen[12] = "";
    flags(argc, argv, "asnrvmpo", seen);
    bool all = strchr(seen, 'a');
    const char *parts[][2] = {{"s", p->uname_s}, {"n", p->hostname}, {"r", p->uname_r},
                              {"v", p->uname_v}, {"m", p->uname_m},  {"o", "GNU/Linux"}};
    bool any = false;
    for (size_t k = 0; k < 6; k++) {
        if (!all && !strchr(seen, parts[k][0][0]) && !(k == 0 && !seen[0])) continue;
        if (any) buf_byte(io->out, ' ');
        out_str(io, parts[k][1]);
        any = true;
    }
    buf_byte(io->out, '\n');
    return 0;
}

static int ap_dd(struct shell *sh, int argc, char **argv, struct io *io)
{
    const char *in = "-", *of = NULL;
    size_t bs = 512, count = SIZE_MAX, skip = 0;
    for (int i = 1; i < argc; i++) {
        char *v = strchr(argv[i], '=');
        if (!v) continue;
        *v++ = 0;
        size_t num = strtoul(v, NULL, 10);
        if (!strcmp(argv[i], "if"))
            in = v;
        else if (!strcmp(argv[i], "of"))
            of = v;
        else if (!strcmp(argv[i], "bs"))
            bs = num ? num : 1;
        else if (!strcmp(argv[i], "count"))
            count = num;
        else if (!strcmp(argv[i], "skip"))
            skip = num;
    }
    const uint8_t *d;
    size_t n;
    if (read_arg(sh, "dd", in, io, &d, &n)) return 1;
    size_t start = skip < n / bs + 1 ? skip * bs : n;
    if (start > n) start = n;
    size_t len = n - start;
    if (count != SIZE_MAX && count < len / bs + 1 && count * bs < len) len = count * bs;
    if (of) {
        char path[VFS_PATH_MAX];
        sh_spend(sh, len);
        int e =
            sh_path(sh, of, path) ? vfs_write(&sh->fs, path, d + start, len, false) : -ENAMETOOLONG;
        if (e < 0) {
            sh_printf(io->err, "dd: can't open '%s': %s\n", of, sh_strerror(e));
            return 1;
        }
    } else {
        buf_add(io->out, d + start, len);
    }
    sh_printf(io->err, "%zu+%d records in\n%zu+%d records out\n", len / bs, len % bs != 0, len / bs,
              len % bs != 0);
    return 0;
}

static int ap_busybox(struct shell *sh, int argc, char **argv, struct io *io)
{
    if (argc < 2) {
        sh_printf(io->out,
                  "%s\nCopyright (C) 1998-2011 Erik Andersen, Rob Landley, Denys Vlasenko\n"
                  "and others. Licensed under GPLv2.\nSee source distribution for full notice.\n\n"
                  "Usage: busybox [function] [arguments]...\n   or: function [arguments]...\n\n"
                  "Currently defined functions:\n",
                  sh->p->busybox);
        for (size_t i = 0; i < sh->p->n_applets; i++)
            sh_printf(io->out, "%s%s%s", i % 8 ? "" : "\t", sh->p->applets[i],
                      i + 1 == sh->p->n_applets || i % 8 == 7 ? ",\n" : ", ");
        return 0;
    }
    if (!persona_has_applet(sh->p, argv[1])) {
        sh_printf(io->err, "%s: applet not found\n", argv[1]);
        return 127;
    }
    applet_fn fn = applet_find(argv[1]);
    return fn ? fn(sh, argc - 1, argv + 1, io) : 0;
}

static int ap_sh(struct shell *sh, int argc, char **argv, struct io *io)
{
    if (argc >= 3 && !strcmp(argv[1], "-c")) return sh_script(sh, argv[2], strlen(argv[2]), io);
    if (argc >= 2) {
        const uint8_t *d;
        size_t n;
        char path[VFS_PATH_MAX];
        if (read_arg(sh, argv[0], argv[1], io, &d, &n)) return 127;
        if (sh_path(sh, argv[1], path) && sh->hooks.exec) sh->hooks.exec(sh->ctx, path);
        char *copy = strndup((const char *)d, n);
        int rc = copy ? sh_script(sh, copy, strlen(copy), io) : 1;
        free(copy);
        return rc;
    }
    if (io->in && io->in_pos && *io->in_pos < io->in_len) { /* `… | sh` */
        char *copy = strndup((const char *)io->in + *io->in_pos, io->in_len - *io->in_pos);
        *io->in_pos = io->in_len;
        int rc = copy ? sh_script(sh, copy, strlen(copy), io) : 1;
        free(copy);
        return rc;
    }
    return 0; /* a new interactive shell looks like this one */
}

static int ap_read(struct shell *sh, int argc, char **argv, struct io *io)
{
    if (!io->in || !io->in_pos || *io->in_pos >= io->in_len) return 1;
    const uint8_t *s = io->in + *io->in_pos, *e = memchr(s, '\n', io->in_len - *io->in_pos);
    size_t n = e ? (size_t)(e - s) : io->in_len - *io->in_pos;
    *io->in_pos += n + (e ? 1 : 0);
    sh_spend(sh, 2 * n);
    int i = 1;
    while (i < argc && argv[i][0] == '-')
        i += !strcmp(argv[i], "-r") ? 1 : 2;
    char *line = strndup((const char *)s, n);
    if (!line) return 1;
    char *p = line;
    for (; i < argc; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        char *end = i == argc - 1 ? p + strlen(p) : p + strcspn(p, " \t");
        char save = *end;
        *end = 0;
        sh_setvar(sh, argv[i], p);
        *end = save;
        p = *end ? end + 1 : end;
    }
    free(line);
    return 0;
}

static int ap_exit(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)io;
    sh->exited = true;
    return argc > 1 ? atoi(argv[1]) & 0xff : sh->status;
}

static int ap_true(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)sh, (void)argc, (void)io;
    return argv[0][0] == 'f';
}

static int ap_test(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)io;
    if (argv[0][0] == '[' && argc > 1 && !strcmp(argv[argc - 1], "]")) argc--;
    bool neg = argc > 1 && !strcmp(argv[1], "!");
    char **a = argv + 1 + neg;
    int n = argc - 1 - neg;
    bool r = false;
    if (n == 1) {
        r = a[0][0] != 0;
    } else if (n == 2) {
        char path[VFS_PATH_MAX];
        struct vfs_stat st;
        bool ex = sh_path(sh, a[1], path) && vfs_stat(&sh->fs, path, &st, NULL) == 0;
        if (!strcmp(a[0], "-z"))
            r = !a[1][0];
        else if (!strcmp(a[0], "-n"))
            r = a[1][0];
        else if (!strcmp(a[0], "-e"))
            r = ex;
        else if (!strcmp(a[0], "-f"))
            r = ex && st.kind == VFS_FILE;
        else if (!strcmp(a[0], "-d"))
            r = ex && st.kind == VFS_DIR;
        else if (!strcmp(a[0], "-x"))
            r = ex && (st.mode & 0111);
        else if (!strcmp(a[0], "-s"))
            r = ex && st.size > 0;
    } else if (n == 3) {
        if (!strcmp(a[1], "=") || !strcmp(a[1], "=="))
            r = !strcmp(a[0], a[2]);
        else if (!strcmp(a[1], "!="))
            r = strcmp(a[0], a[2]);
        else if (!strcmp(a[1], "-eq"))
            r = atol(a[0]) == atol(a[2]);
        else if (!strcmp(a[1], "-ne"))
            r = atol(a[0]) != atol(a[2]);
        else if (!strcmp(a[1], "-gt"))
            r = atol(a[0]) > atol(a[2]);
        else if (!strcmp(a[1], "-lt"))
            r = atol(a[0]) < atol(a[2]);
    }
    return r == neg;
}

static int ap_export(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)io;
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) continue;
        *eq = 0;
        sh_setvar(sh, argv[i], eq + 1);
    }
    return 0;
}

static int ap_hostname(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)argc, (void)argv;
    sh_printf(io->out, "%s\n", sh->p->hostname);
    return 0;
}

static int ap_id(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)sh, (void)argc;
    out_str(io, argv[0][0] == 'w' ? "root\n" : "uid=0(root) gid=0(root)\n");
    return 0;
}

static int ap_uptime(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)sh, (void)argc, (void)argv;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    sh_printf(io->out, " %02d:%02d:%02d up 17 days,  3:41, load average: 0.08, 0.05, 0.01\n",
              tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 0;
}

static int ap_free(struct shell *sh, int argc, char **argv, struct io *io)
{
    (void)sh, (void)argc, (void)argv;
    out_str(io, "              total         used         free       shared      buffers\n"
                "  Mem:         59332        46212        13120            0         2284\n"
                " Swap:             0            0            0\n"
                "Total:         59332        46212        13120\n");
    return 0;
}

static int ap_head(struct shell *sh, int argc, char **argv, struct io *io)
{
    long lines = 10;
    const char *file = "-";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            lines = atol(argv[++i]);
        else if (argv[i][0] == '-' && isdigit((unsigned char)argv[i][1]))
            lines = atol(argv[i] + 1);
        else if (!strncmp(argv[i], "-n", 2))
            lines = atol(argv[i] + 2);
        else
            file = argv[i];
    }
    const uint8_t *d;
    size_t n, k = 0;
    if (read_arg(sh, "head", file, io, &d, &n)) return 1;
    for (long l = 0; k < n && l < lines; k++)
        if (d[k] == '\n') l++;
    buf_add(io->out, d, k);
    return 0;
}

/* Knuth-Morris-Pratt over case-folded bytes: linear in the text whatever the
 * pattern (a 4 KB pattern over a 1 MB file is 2 MB of compares, not 4 GB). */
struct kmp {
    uint8_t fold[256], *pat; /* the pattern, folded */
    uint32_t *fail;
    size_t m;
};

static bool kmp_init(struct kmp *k, const char *pat, bool icase)
{
    for (int c = 0; c < 256; c++)
        k->fold[c] = (uint8_t)(icase ? tolower(c) : c);
    k->m = strlen(pat);
    k->pat = malloc(k->m + 1);
    k->fail = malloc((k->m + 1) * sizeof *k->fail);
    if (!k->pat || !k->fail) {
        free(k->pat);
        free(k->fail);
        return false;
    }
    for (size_t i = 0; i < k->m; i++)
        k->pat[i] = k->fold[(uint8_t)pat[i]];
    k->fail[0] = 0;
    for (size_t i = 1, q = 0; i < k->m; i++) {
        while (q && k->pat[i] != k->pat[q])
            q = k->fail[q - 1];
        if (k->pat[i] == k->pat[q]) q++;
        k->fail[i] = (uint32_t)q;
    }
    return true;
}

static void kmp_free(struct kmp *k)
{
    free(k->pat);
    free(k->fail);
}

/* True when the pattern occurs in d[0..n). */
static bool kmp_find(const struct kmp *k, const uint8_t *d, size_t n)
{
    if (!k->m) return true;
    for (size_t i = 0, q = 0; i < n; i++) {
        uint8_t c = k->fold[d[i]];
        while (q && c != k->pat[q])
            q = k->fail[q - 1];
        if (c == k->pat[q] && ++q == k->m) return true;
    }
    return false;
}

/* grep with fixed strings only: a bot's pattern is never worth a regex engine. */
static int ap_grep(struct shell *sh, int argc, char **argv, struct io *io)
{
    char seen[8] = "";
    int i = flags(argc, argv, "vicqF", seen);
    if (i >= argc) {
        sh_usage(
            sh, io,
            "grep [-HhnlLoqvsriwFE] [-m N] [-A/B/C N] PATTERN/-e PATTERN.../-f FILE [FILE]...");
        return 2;
    }
    const char *pat = argv[i++], *file = i < argc ? argv[i] : "-";
    const uint8_t *d;
    size_t n;
    if (read_arg(sh, "grep", file, io, &d, &n)) return 2;
    struct kmp k;
    /* each byte is compared at most twice */
    if (!sh_spend(sh, 2 * (n + strlen(pat))) || !kmp_init(&k, pat, strchr(seen, 'i'))) return 2;
    long count = 0;
    for (size_t s = 0; s < n;) {
        const uint8_t *nl = memchr(d + s, '\n', n - s);
        size_t e = nl ? (size_t)(nl - d) : n;
        bool hit = kmp_find(&k, d + s, e - s);
        if (hit != (strchr(seen, 'v') != NULL)) {
            count++;
            if (!strchr(seen, 'c') && !strchr(seen, 'q')) {
                buf_add(io->out, d + s, e - s);
                buf_byte(io->out, '\n');
            }
        }
        s = e + 1;
    }
    kmp_free(&k);
    if (strchr(seen, 'c')) sh_printf(io->out, "%ld\n", count);
    return count ? 0 : 1;
}

static int ap_wc(struct shell *sh, int argc, char **argv, struct io *io)
{
    char seen[8] = "";
    int i = flags(argc, argv, "lcw", seen);
    const uint8_t *d;
    size_t n, lines = 0, words = 0;
    if (read_arg(sh, "wc", i < argc ? argv[i] : "-", io, &d, &n)) return 1;
    for (size_t k = 0; k < n; k++) {
        if (d[k] == '\n') lines++;
        if (!isspace(d[k]) && (k == 0 || isspace(d[k - 1]))) words++;
    }
    if (!seen[0])
        sh_printf(io->out, "%9zu %9zu %9zu\n", lines, words, n);
    else
        sh_printf(io->out, "%zu\n", strchr(seen, 'l') ? lines : strchr(seen, 'w') ? words : n);
    return 0;
}

static const struct {
    const char *name;
    applet_fn fn;
} applets[] = {
    {"[", ap_test},     {"ash", ap_sh},      {"busybox", ap_busybox},
    {"cat", ap_cat},    {"cd", ap_cd},       {"chmod", ap_chmod},
    {"cp", ap_cp},      {"curl", ap_curl},   {"dd", ap_dd},
    {"echo", ap_echo},  {"exit", ap_exit},   {"export", ap_export},
    {"false", ap_true}, {"free", ap_free},   {"ftpget", ap_ftpget},
    {"grep", ap_grep},  {"head", ap_head},   {"hostname", ap_hostname},
    {"id", ap_id},      {"kill", ap_kill},   {"logout", ap_exit},
    {"ls", ap_ls},      {"mkdir", ap_mkdir}, {"msh", ap_sh},
    {"mv", ap_cp},      {"ps", ap_ps},       {"pwd", ap_pwd},
    {"read", ap_read},  {"rm", ap_rm},       {"sh", ap_sh},
    {"test", ap_test},  {"tftp", ap_tftp},   {"touch", ap_touch},
    {"true", ap_true},  {"uname", ap_uname}, {"uptime", ap_uptime},
    {"wc", ap_wc},      {"wget", ap_wget},   {"whoami", ap_id},
};

applet_fn applet_find(const char *name)
{
    for (size_t i = 0; i < sizeof applets / sizeof applets[0]; i++)
        if (!strcmp(applets[i].name, name)) return applets[i].fn;
    return NULL;
}

/* ash builtins exist whatever the persona's applet list says; `enable`,
 * `system` and `shell` are the CLI escapes bots type on routers. */
static const char *const builtins[] = {"[",      "cd",      "echo",   "exit",  "export", "false",
                                       "kill",   "logout",  "pwd",    "read",  "test",   "true",
                                       ":",      "enable",  "system", "shell", "sh",     "unset",
                                       "ulimit", "history", "trap",   "wait",  "set"};

static bool is_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (!strcmp(builtins[i], name)) return true;
    return false;
}

/* Tells the hook which command line did not exist, arguments and all. */
static void not_found(struct shell *sh, int argc, char **argv)
{
    if (!sh->hooks.failed) return;
    char line[SH_WORD_MAX];
    size_t o = 0;
    for (int i = 0; i < argc && o + 1 < sizeof line; i++)
        o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", i ? " " : "", argv[i]);
    sh->hooks.failed(sh->ctx, line);
}

static int run_file(struct shell *sh, int argc, char **argv, struct io *io)
{
    char path[VFS_PATH_MAX];
    struct vfs_stat st;
    const uint8_t *d;
    if (!sh_path(sh, argv[0], path) || vfs_stat(&sh->fs, path, &st, &d) < 0) {
        sh_printf(io->err, "-sh: %s: not found\n", argv[0]);
        not_found(sh, argc, argv);
        return 127;
    }
    if (st.kind == VFS_DIR || !(st.mode & 0111)) {
        sh_printf(io->err, "-sh: %s: Permission denied\n", argv[0]);
        return 126;
    }
    if (st.size == sh->p->elf_len && !memcmp(d, sh->p->elf, st.size)) {
        /* busybox under another name runs the applet of that name */
        const char *name = sh_base_name(path);
        if (!strcmp(name, "busybox")) return ap_busybox(sh, argc, argv, io);
        if (!persona_has_applet(sh->p, name) && !persona_has_program(sh->p, name)) {
            sh_printf(io->err, "%s: applet not found\n", name);
            return 127;
        }
        applet_fn fn = applet_find(name);
        return fn ? fn(sh, argc, argv, io) : 0;
    }
    if (sh->hooks.exec) sh->hooks.exec(sh->ctx, path);
    return 0;
}

int sh_dispatch(struct shell *sh, int argc, char **argv, struct io *io)
{
    const char *name = argv[0];
    if (strchr(name, '/')) return run_file(sh, argc, argv, io);
    if (is_builtin(name) || persona_has_applet(sh->p, name) || persona_has_program(sh->p, name)) {
        applet_fn fn = applet_find(name);
        return fn ? fn(sh, argc, argv, io) : 0;
    }
    sh_printf(io->err, "-sh: %s: not found\n", name);
    not_found(sh, argc, argv);
    return 127;
}
