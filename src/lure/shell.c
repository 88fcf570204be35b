/* shell — the interpreter: expansion, redirection, pipes, control flow (see shell.h). */
#include "shell_int.h"
#include "shparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run_list(struct shell *sh, struct sh_list *l, struct io *io);

struct shell *shell_new(const struct persona *p, struct vfs_limits *lim,
                        const struct shell_hooks *hooks, void *ctx)
{
    struct shell *sh = calloc(1, sizeof *sh);
    if (!sh) return NULL;
    sh->p = p;
    vfs_init(&sh->fs, p, lim);
    if (hooks) sh->hooks = *hooks;
    sh->ctx = ctx;
    strcpy(sh->cwd, "/");
    return sh;
}

void shell_free(struct shell *sh)
{
    if (!sh) return;
    vfs_free(&sh->fs);
    for (int i = 0; i < SH_MAX_VARS; i++)
        free(sh->vars[i].value);
    free(sh);
}

bool shell_exited(const struct shell *sh)
{
    return sh->exited;
}

size_t shell_work(const struct shell *sh)
{
    return sh->work;
}

void shell_set_stop(struct shell *sh, const volatile sig_atomic_t *stop)
{
    sh->stop = stop;
}

const char *shell_cwd(const struct shell *sh)
{
    return sh->cwd;
}

struct vfs *shell_vfs(struct shell *sh)
{
    return &sh->fs;
}

void sh_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

const char *sh_base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

void sh_usage(struct shell *sh, struct io *io, const char *text)
{
    sh_printf(io->err, "%s\n\nUsage: %s\n", sh->p->busybox, text);
}

const char *sh_strerror(int err)
{
    switch (err < 0 ? -err : err) {
    case ENOENT:
        return "No such file or directory";
    case EROFS:
        return "Read-only file system";
    case ENOSPC:
        return "No space left on device";
    case EISDIR:
        return "Is a directory";
    case ENOTDIR:
        return "Not a directory";
    case EEXIST:
        return "File exists";
    case ENAMETOOLONG:
        return "File name too long";
    case EACCES:
        return "Permission denied";
    default:
        return "I/O error";
    }
}

bool sh_path(struct shell *sh, const char *arg, char out[VFS_PATH_MAX])
{
    if (vfs_resolve(sh->cwd, arg, out) < 0) return false;
    /* what looking the path up costs: each component against the overlay's nodes */
    sh_spend(sh, 64 + strlen(out) * (sh->fs.n / 4 + 1));
    return true;
}

static const char *const default_vars[][2] = {
    {"HOME", "/"},        {"PATH", "/bin:/sbin:/usr/bin:/usr/sbin"},
    {"SHELL", "/bin/sh"}, {"USER", "root"},
    {"LOGNAME", "root"},  {"TERM", "vt100"},
    {"PS1", "# "},        {"IFS", " \t\n"},
};

const char *sh_getvar(struct shell *sh, const char *name)
{
    for (int i = 0; i < SH_MAX_VARS; i++)
        if (sh->vars[i].value && !strcmp(sh->vars[i].name, name)) return sh->vars[i].value;
    for (size_t i = 0; i < sizeof default_vars / sizeof default_vars[0]; i++)
        if (!strcmp(default_vars[i][0], name)) return default_vars[i][1];
    return NULL;
}

void sh_setvar(struct shell *sh, const char *name, const char *value)
{
    if (strlen(name) >= sizeof sh->vars[0].name) return;
    struct sh_var *slot = NULL;
    for (int i = 0; i < SH_MAX_VARS && !slot; i++)
        if (sh->vars[i].value && !strcmp(sh->vars[i].name, name)) slot = &sh->vars[i];
    for (int i = 0; i < SH_MAX_VARS && !slot; i++)
        if (!sh->vars[i].value) slot = &sh->vars[i];
    if (!slot) return; /* a full table keeps its first variables */
    char *v = strndup(value, 1024);
    sh_spend(sh, v ? strlen(v) : 0);
    if (!v) return;
    free(slot->value);
    slot->value = v;
    strcpy(slot->name, name);
}

static void put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n >= cap) n = cap - 1 - *o;
    memcpy(out + *o, s, n);
    *o += n;
}

/* $NAME, ${NAME}, $?, $$, $#, $0-$9 at raw[*i] (just past the '$'). */
static void expand_var(struct shell *sh, const char *raw, size_t *i, char *out, size_t cap,
                       size_t *o)
{
    char name[32], num[16];
    size_t k = 0, j = *i;
    bool brace = raw[j] == '{';
    if (brace) j++;
    if (raw[j] == '?' || raw[j] == '$' || raw[j] == '#' || isdigit((unsigned char)raw[j])) {
        name[k++] = raw[j++];
    } else {
        while ((isalnum((unsigned char)raw[j]) || raw[j] == '_') && k < sizeof name - 1)
            name[k++] = raw[j++];
    }
    name[k] = 0;
    if (!k || (brace && raw[j] != '}')) {
        put(out, cap, o, "$", 1); /* not a parameter: a literal dollar */
        return;
    }
    if (brace) j++;
    *i = j;
    const char *v = "";
    if (!strcmp(name, "?"))
        snprintf(num, sizeof num, "%d", sh->status), v = num;
    else if (!strcmp(name, "$"))
        v = "412";
    else if (!strcmp(name, "#"))
        v = "0";
    else if (!strcmp(name, "0"))
        v = "-sh";
    else if (!isdigit((unsigned char)name[0]) && sh_getvar(sh, name))
        v = sh_getvar(sh, name);
    put(out, cap, o, v, strlen(v));
}

/* Quote removal and parameter expansion of one raw word (no field
 * splitting, no globbing: bots' words are literal paths and URLs). */
static size_t expand(struct shell *sh, const char *raw, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    bool dq = false;
    while (raw[i] && o < cap - 1) {
        char c = raw[i++];
        if (c == '\'' && !dq) {
            while (raw[i] && raw[i] != '\'' && o < cap - 1)
                out[o++] = raw[i++];
            if (raw[i]) i++;
        } else if (c == '"') {
            dq = !dq;
        } else if (c == '\\') {
            if (!raw[i]) break;
            if (dq && !strchr("$`\"\\\n", raw[i])) out[o++] = '\\';
            if (o < cap - 1) out[o++] = raw[i++];
        } else if (c == '$') {
            expand_var(sh, raw, &i, out, cap, &o);
        } else {
            out[o++] = c;
        }
    }
    out[o] = 0;
    sh_spend(sh, i + o);
    return o;
}

struct redirs {
    struct buf file[2]; /* what fd 1 and 2 write to a file */
    char path[2][VFS_PATH_MAX];
    uint8_t *in;
};

static struct buf discard = {.cap = 0};

static int open_redirs(struct shell *sh, struct sh_redir *r, struct io *io, struct redirs *rd)
{
    char word[SH_WORD_MAX], path[VFS_PATH_MAX];
    for (; r; r = r->next) {
        if (r->op == SH_DUP) {
            struct buf *to = r->dupfd == 1 ? io->out : r->dupfd == 2 ? io->err : &discard;
            if (r->fd == 1)
                io->out = to;
            else if (r->fd == 2)
                io->err = to;
            continue;
        }
        expand(sh, r->word, word, sizeof word);
        if (!sh_path(sh, word, path)) {
            sh_printf(io->err, "-sh: can't open '%s': File name too long\n", word);
            return 1;
        }
        if (r->op == SH_IN) {
            struct vfs_stat st;
            const uint8_t *d;
            if (vfs_stat(&sh->fs, path, &st, &d) < 0 || st.kind != VFS_FILE) {
                sh_printf(io->err, "-sh: can't open '%s': %s\n", word,
                          sh_strerror(st.kind == VFS_DIR ? EISDIR : ENOENT));
                return 1;
            }
            free(rd->in);
            if (!sh_spend(sh, st.size) || !(rd->in = malloc(st.size + 1))) {
                rd->in = NULL;
                return 1;
            }
            memcpy(rd->in, d, st.size);
            if (r->fd == 0) {
                io->in = rd->in;
                io->in_len = st.size;
                *io->in_pos = 0;
            }
            continue;
        }
        if (r->fd != 1 && r->fd != 2) continue;
        struct buf **slot = r->fd == 1 ? &io->out : &io->err;
        if (!strcmp(path, "/dev/null")) {
            *slot = &discard;
            continue;
        }
        int rc = vfs_write(&sh->fs, path, NULL, 0, r->op == SH_APPEND);
        if (rc < 0) {
            sh_printf(io->err, "-sh: can't create %s: %s\n", word, sh_strerror(rc));
            return 1;
        }
        int k = r->fd - 1;
        rd->file[k].cap = SH_PIPE_CAP;
        strcpy(rd->path[k], path);
        *slot = &rd->file[k];
    }
    return 0;
}

static void close_redirs(struct shell *sh, struct redirs *rd, struct io *io)
{
    for (int k = 0; k < 2; k++) {
        if (rd->path[k][0] && rd->file[k].len) {
            sh_spend(sh, rd->file[k].len);
            int rc = vfs_write(&sh->fs, rd->path[k], rd->file[k].p, rd->file[k].len, true);
            if (rc < 0) sh_printf(io->err, "-sh: write error: %s\n", sh_strerror(rc));
        }
        buf_free(&rd->file[k]);
    }
    free(rd->in);
}

static int run_simple(struct shell *sh, struct sh_node *nd, struct io *io)
{
    char *argv[SH_MAX_ARGS + 1];
    int argc = 0, rc = 0;
    char word[SH_WORD_MAX];
    bool assigning = true;
    for (int i = 0; i < nd->nwords && argc < SH_MAX_ARGS; i++) {
        size_t n = expand(sh, nd->words[i], word, sizeof word);
        const char *eq = strchr(nd->words[i], '=');
        if (assigning && eq && eq > nd->words[i] &&
            (isalpha((unsigned char)nd->words[i][0]) || nd->words[i][0] == '_')) {
            bool name_ok = true;
            for (const char *c = nd->words[i]; c < eq; c++)
                if (!isalnum((unsigned char)*c) && *c != '_') name_ok = false;
            if (name_ok) {
                char *e = strchr(word, '=');
                if (e) {
                    *e = 0;
                    sh_setvar(sh, word, e + 1);
                }
                continue;
            }
        }
        assigning = false;
        if (!(argv[argc] = malloc(n + 1))) break;
        memcpy(argv[argc++], word, n + 1);
    }
    argv[argc] = NULL;
    if (argc) rc = sh_dispatch(sh, argc, argv, io);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

static int run_node(struct shell *sh, struct sh_node *nd, struct io *outer)
{
    struct io io = *outer;
    struct redirs rd = {0};
    if (!sh_spend(sh, SH_STEP_COST)) return 1; /* budget spent: the rest of the line is skipped */
    int rc = open_redirs(sh, nd->redir, &io, &rd);
    if (rc) {
        close_redirs(sh, &rd, &io);
        return rc;
    }
    char word[SH_WORD_MAX];
    switch (nd->kind) {
    case SH_SIMPLE: {
        /* what a command writes is work too (cat, echo, dd to a pipe) */
        size_t out0 = io.out->len, err0 = io.err->len;
        rc = run_simple(sh, nd, &io);
        sh_spend(sh, (io.out->len - out0) + (io.err != io.out ? io.err->len - err0 : 0));
        break;
    }
    case SH_SUBSHELL: {
        char cwd[VFS_PATH_MAX];
        strcpy(cwd, sh->cwd);
        bool exited = sh->exited;
        rc = run_list(sh, nd->a, &io);
        strcpy(sh->cwd, cwd);
        sh->exited = exited; /* exit leaves the subshell only */
        break;
    }
    case SH_GROUP:
        rc = run_list(sh, nd->a, &io);
        break;
    case SH_WHILE:
    case SH_UNTIL:
        rc = 0;
        while (!sh->exited && !sh_spent(sh)) {
            int c = run_list(sh, nd->a, &io);
            if ((c == 0) != (nd->kind == SH_WHILE)) break;
            rc = run_list(sh, nd->b, &io);
        }
        break;
    case SH_FOR:
        rc = 0;
        for (int i = 0; i < nd->nwords && !sh->exited && !sh_spent(sh); i++) {
            expand(sh, nd->words[i], word, sizeof word);
            sh_setvar(sh, nd->var, word);
            rc = run_list(sh, nd->b, &io);
        }
        break;
    case SH_IF:
        if (run_list(sh, nd->a, &io) == 0)
            rc = run_list(sh, nd->b, &io);
        else
            rc = nd->c ? run_list(sh, nd->c, &io) : 0;
        break;
    }
    close_redirs(sh, &rd, &io);
    return rc;
}

static int run_pipe(struct shell *sh, struct sh_pipe *p, struct io *io)
{
    struct buf carry = {0};
    int rc = 0;
    size_t pos = 0;
    for (int i = 0; i < p->n && !sh->exited; i++) {
        struct buf next = {.cap = SH_PIPE_CAP};
        struct io cio = *io;
        if (i > 0) {
            cio.in = carry.p;
            cio.in_len = carry.len;
            cio.in_pos = &pos;
            pos = 0;
        }
        if (i < p->n - 1) cio.out = &next;
        rc = run_node(sh, p->cmds[i], &cio);
        buf_free(&carry);
        carry = next;
    }
    buf_free(&carry);
    return p->bang ? !rc : rc;
}

static int run_list(struct shell *sh, struct sh_list *l, struct io *io)
{
    int rc = 0;
    for (int i = 0; l && i < l->n && !sh->exited && !sh_spent(sh); i++) {
        if ((l->items[i].op == SH_AND && rc != 0) || (l->items[i].op == SH_OR && rc == 0)) continue;
        rc = run_pipe(sh, l->items[i].pipe, io);
        sh->status = rc;
    }
    return rc;
}

int sh_script(struct shell *sh, const char *text, size_t len, struct io *io)
{
    if (sh->depth >= 3 || !sh_spend(sh, len)) return 0;
    struct sh_tree t;
    sh->depth++;
    int rc;
    if (sh_parse(&t, text, len) < 0) {
        sh_printf(io->err, "-sh: %s\n", t.err);
        rc = 2;
    } else {
        rc = run_list(sh, t.list, io);
    }
    sh_tree_free(&t);
    sh->depth--;
    return rc;
}

int shell_run(struct shell *sh, const char *line, size_t len, struct buf *term)
{
    size_t pos = 0;
    struct io io = {.in = NULL, .in_len = 0, .in_pos = &pos, .out = term, .err = term};
    sh->work = 0;
    struct sh_tree t;
    if (sh_parse(&t, line, len) < 0) {
        sh_printf(term, "-sh: %s\n", t.err);
        sh->status = 2;
    } else {
        sh->status = run_list(sh, t.list, &io);
    }
    sh_tree_free(&t);
    return sh->status;
}
