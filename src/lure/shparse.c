/* shparse — shell grammar to tree (see shparse.h). */
#include "shparse.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_MAX (1u << 20)

enum { T_EOF, T_WORD, T_OP, T_IONUM };

struct lexer {
    struct sh_tree *t;
    const char *s;
    size_t n, i;
    int depth;
    bool failed;
    int type;
    const char *text; /* token text (NUL-terminated copy in the arena) */
    int ionum;
};

static void *alloc(struct lexer *L, size_t n)
{
    struct sh_tree *t = L->t;
    n = (n + 7) & ~(size_t)7;
    if (L->failed || t->used + n > t->cap) {
        if (!L->failed) snprintf(t->err, sizeof t->err, "syntax error: command too complex");
        L->failed = true;
        return NULL;
    }
    void *p = t->arena + t->used;
    memset(p, 0, n);
    t->used += n;
    return p;
}

static void fail(struct lexer *L, const char *what)
{
    if (L->failed) return;
    L->failed = true;
    if (what)
        snprintf(L->t->err, sizeof L->t->err, "syntax error: %s", what);
    else if (L->type == T_EOF)
        snprintf(L->t->err, sizeof L->t->err, "syntax error: unexpected end of file");
    else
        snprintf(L->t->err, sizeof L->t->err, "syntax error: unexpected \"%.40s\"",
                 !strcmp(L->text, "\n") ? "newline" : L->text);
}

static bool meta(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' ||
           c == '>' || c == '(' || c == ')';
}

static void set_text(struct lexer *L, const char *s, size_t n)
{
    char *p = alloc(L, n + 1);
    if (!p) {
        L->type = T_EOF;
        L->text = "";
        return;
    }
    memcpy(p, s, n);
    p[n] = 0;
    L->text = p;
}

static void next(struct lexer *L)
{
    const char *s = L->s;
    if (L->failed) {
        L->type = T_EOF;
        L->text = "";
        return;
    }
    while (L->i < L->n && (s[L->i] == ' ' || s[L->i] == '\t' || s[L->i] == '\r'))
        L->i++;
    if (L->i < L->n && s[L->i] == '#')
        while (L->i < L->n && s[L->i] != '\n')
            L->i++;
    if (L->i >= L->n) {
        L->type = T_EOF;
        L->text = "";
        return;
    }
    size_t st = L->i;
    char c = s[L->i];
    if (meta(c)) {
        static const char *const ops[] = {"&&", "||", ";;", ">>", ">&", "<&", "<<", ">|"};
        L->type = T_OP;
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
            if (L->i + 1 < L->n && s[L->i] == ops[k][0] && s[L->i + 1] == ops[k][1]) {
                L->i += 2;
                if (!strcmp(ops[k], ">|"))
                    set_text(L, ">", 1);
                else
                    set_text(L, ops[k], 2);
                return;
            }
        L->i++;
        set_text(L, &c, 1);
        return;
    }
    bool digits = true;
    while (L->i < L->n && !meta(s[L->i])) {
        char q = s[L->i];
        if (q < '0' || q > '9') digits = false;
        if (q == '\\') {
            L->i += 2;
        } else if (q == '\'' || q == '"') {
            size_t j = L->i + 1;
            while (j < L->n && s[j] != q)
                j += (q == '"' && s[j] == '\\') ? 2 : 1;
            if (j >= L->n) {
                fail(L, "unterminated quoted string");
                L->type = T_EOF;
                L->text = "";
                return;
            }
            L->i = j + 1;
        } else {
            L->i++;
        }
    }
    if (L->i > L->n) L->i = L->n; /* a trailing backslash */
    size_t len = L->i - st;
    if (digits && len <= 2 && L->i < L->n && (s[L->i] == '<' || s[L->i] == '>')) {
        L->type = T_IONUM;
        L->ionum = atoi(s + st) & 0xff;
        set_text(L, s + st, len);
        return;
    }
    L->type = T_WORD;
    set_text(L, s + st, len);
}

static bool is_op(struct lexer *L, const char *op)
{
    return L->type == T_OP && !strcmp(L->text, op);
}

static bool is_word(struct lexer *L, const char *w)
{
    return L->type == T_WORD && !strcmp(L->text, w);
}

static bool stop_word(struct lexer *L)
{
    static const char *const stops[] = {"do", "done", "then", "else", "elif", "fi", "}", "in"};
    if (L->type != T_WORD) return false;
    for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++)
        if (!strcmp(L->text, stops[k])) return true;
    return false;
}

static void skip_newlines(struct lexer *L)
{
    while (is_op(L, "\n"))
        next(L);
}

static struct sh_list *list(struct lexer *L);

static bool expect_word(struct lexer *L, const char *w)
{
    skip_newlines(L);
    if (!is_word(L, w)) {
        fail(L, NULL);
        return false;
    }
    next(L);
    return true;
}

static bool redirect(struct lexer *L, struct sh_node *nd)
{
    int fd = -1;
    if (L->type == T_IONUM) {
        fd = L->ionum;
        next(L);
    }
    if (L->type != T_OP) {
        if (fd >= 0) fail(L, NULL);
        return false;
    }
    int op;
    if (!strcmp(L->text, "<"))
        op = SH_IN;
    else if (!strcmp(L->text, ">"))
        op = SH_OUT;
    else if (!strcmp(L->text, ">>"))
        op = SH_APPEND;
    else if (!strcmp(L->text, ">&") || !strcmp(L->text, "<&"))
        op = SH_DUP;
    else if (!strcmp(L->text, "<<")) {
        fail(L, "here-documents are not supported");
        return false;
    } else {
        if (fd >= 0) fail(L, NULL);
        return false;
    }
    next(L);
    if (L->type != T_WORD) {
        fail(L, NULL);
        return false;
    }
    struct sh_redir *r = alloc(L, sizeof *r);
    if (!r) return false;
    r->op = op;
    r->fd = fd >= 0 ? fd : op == SH_IN ? 0 : 1;
    r->word = L->text;
    if (op == SH_DUP) {
        if (L->text[0] == '-' && !L->text[1])
            r->dupfd = -1;
        else if (L->text[0] >= '0' && L->text[0] <= '9' && !L->text[1])
            r->dupfd = L->text[0] - '0';
        else
            op = r->op = SH_OUT; /* ">& file" */
    }
    struct sh_redir **tail = &nd->redir;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
    next(L);
    return true;
}

static void redirects(struct lexer *L, struct sh_node *nd)
{
    while (!L->failed && redirect(L, nd))
        ;
}

static bool push_word(struct lexer *L, struct sh_node *nd, int *cap)
{
    if (nd->nwords == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        const char **w = alloc(L, (size_t)nc * sizeof *w);
        if (!w) return false;
        if (nd->nwords) memcpy(w, nd->words, (size_t)nd->nwords * sizeof *w);
        nd->words = w;
        *cap = nc;
    }
    nd->words[nd->nwords++] = L->text;
    return true;
}

static struct sh_list *body(struct lexer *L)
{
    struct sh_list *l = list(L);
    if (l && !l->n) {
        fail(L, NULL);
        return NULL;
    }
    return l;
}

static struct sh_node *compound(struct lexer *L, struct sh_node *nd)
{
    if (is_op(L, "(")) {
        nd->kind = SH_SUBSHELL;
        next(L);
        nd->a = body(L);
        skip_newlines(L);
        if (!is_op(L, ")")) fail(L, NULL);
        next(L);
    } else if (is_word(L, "{")) {
        nd->kind = SH_GROUP;
        next(L);
        nd->a = body(L);
        expect_word(L, "}");
    } else if (is_word(L, "while") || is_word(L, "until")) {
        nd->kind = L->text[0] == 'w' ? SH_WHILE : SH_UNTIL;
        next(L);
        nd->a = body(L);
        expect_word(L, "do");
        nd->b = body(L);
        expect_word(L, "done");
    } else if (is_word(L, "for")) {
        nd->kind = SH_FOR;
        next(L);
        if (L->type != T_WORD) fail(L, NULL);
        nd->var = L->text;
        next(L);
        skip_newlines(L);
        int cap = 0;
        if (is_word(L, "in")) {
            next(L);
            while (L->type == T_WORD && !L->failed) {
                if (!push_word(L, nd, &cap)) break;
                next(L);
            }
        }
        if (is_op(L, ";")) next(L);
        expect_word(L, "do");
        nd->b = body(L);
        expect_word(L, "done");
    } else if (is_word(L, "if")) {
        nd->kind = SH_IF;
        next(L);
        nd->a = body(L);
        expect_word(L, "then");
        nd->b = body(L);
        skip_newlines(L);
        if (is_word(L, "elif")) {
            /* elif is an if inside the else branch */
            struct sh_node *inner = alloc(L, sizeof *inner);
            struct sh_list *el = alloc(L, sizeof *el);
            struct sh_andor *ao = alloc(L, sizeof *ao);
            struct sh_pipe *p = alloc(L, sizeof *p);
            struct sh_node **cmds = alloc(L, sizeof *cmds);
            if (!inner || !el || !ao || !p || !cmds) return NULL;
            L->text = "if";
            compound(L, inner);
            cmds[0] = inner;
            *p = (struct sh_pipe){cmds, 1, 0};
            *ao = (struct sh_andor){p, SH_THEN};
            *el = (struct sh_list){ao, 1};
            nd->c = el;
            return nd; /* the inner if consumed the fi */
        }
        if (is_word(L, "else")) {
            next(L);
            nd->c = body(L);
        }
        expect_word(L, "fi");
    } else {
        return NULL;
    }
    redirects(L, nd);
    return nd;
}

static struct sh_node *command(struct lexer *L)
{
    if (++L->depth > SH_MAX_DEPTH) {
        fail(L, "nested too deeply");
        return NULL;
    }
    struct sh_node *nd = alloc(L, sizeof *nd);
    if (!nd) return NULL;
    if (compound(L, nd) || L->failed) {
        L->depth--;
        return L->failed ? NULL : nd;
    }
    nd->kind = SH_SIMPLE;
    int cap = 0;
    for (;;) {
        if (L->failed) return NULL;
        if (L->type == T_WORD) {
            if (!push_word(L, nd, &cap)) return NULL;
            next(L);
        } else if (!redirect(L, nd)) {
            break;
        }
    }
    if (!nd->nwords && !nd->redir) {
        fail(L, NULL);
        return NULL;
    }
    L->depth--;
    return nd;
}

static struct sh_pipe *pipeline(struct lexer *L)
{
    struct sh_pipe *p = alloc(L, sizeof *p);
    if (!p) return NULL;
    if (is_word(L, "!")) {
        p->bang = 1;
        next(L);
    }
    int cap = 0;
    for (;;) {
        struct sh_node *c = command(L);
        if (!c) return NULL;
        if (p->n == cap) {
            int nc = cap ? cap * 2 : 2;
            struct sh_node **a = alloc(L, (size_t)nc * sizeof *a);
            if (!a) return NULL;
            if (p->n) memcpy(a, p->cmds, (size_t)p->n * sizeof *a);
            p->cmds = a;
            cap = nc;
        }
        p->cmds[p->n++] = c;
        if (!is_op(L, "|")) return p;
        next(L);
        skip_newlines(L);
    }
}

static struct sh_list *list(struct lexer *L)
{
    struct sh_list *l = alloc(L, sizeof *l);
    if (!l) return NULL;
    int cap = 0, op = SH_THEN;
    skip_newlines(L);
    while (!L->failed && L->type != T_EOF && !is_op(L, ")") && !stop_word(L)) {
        struct sh_pipe *p = pipeline(L);
        if (!p) return NULL;
        if (l->n == cap) {
            int nc = cap ? cap * 2 : 4;
            struct sh_andor *a = alloc(L, (size_t)nc * sizeof *a);
            if (!a) return NULL;
            if (l->n) memcpy(a, l->items, (size_t)l->n * sizeof *a);
            l->items = a;
            cap = nc;
        }
        l->items[l->n++] = (struct sh_andor){p, op};
        if (is_op(L, "&&") || is_op(L, "||")) {
            op = L->text[0] == '&' ? SH_AND : SH_OR;
            next(L);
            skip_newlines(L);
            if (L->type == T_EOF || stop_word(L) || L->type == T_OP) fail(L, NULL);
            continue;
        }
        op = SH_THEN;
        if (is_op(L, ";") || is_op(L, "&") || is_op(L, "\n")) {
            next(L);
            skip_newlines(L);
        } else if (L->type != T_EOF && !is_op(L, ")") && !stop_word(L)) {
            fail(L, NULL);
        }
    }
    return L->failed ? NULL : l;
}

int sh_parse(struct sh_tree *t, const char *line, size_t len)
{
    memset(t, 0, sizeof *t);
    t->cap = len * 8 + 4096;
    if (t->cap > ARENA_MAX) t->cap = ARENA_MAX;
    if (!(t->arena = malloc(t->cap))) {
        snprintf(t->err, sizeof t->err, "out of memory");
        return -1;
    }
    struct lexer L = {.t = t, .s = line, .n = len};
    next(&L);
    t->list = list(&L);
    if (!L.failed && L.type != T_EOF) fail(&L, NULL);
    if (L.failed) {
        t->list = NULL;
        return -1;
    }
    return 0;
}

void sh_tree_free(struct sh_tree *t)
{
    free(t->arena);
    t->arena = NULL;
    t->list = NULL;
}
