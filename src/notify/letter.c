/* letter — templates with {{name}} placeholders (see letter.h). */
#include "letter.h"
#include "../core/err.h"
#include "../core/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LETTER_MAX_FILE (1u << 20)
#define LETTER_MAX_NAME 64

struct letter {
    char *text;
    size_t len;
};

/* Walks the template: literal runs to lit, placeholders to var; stops at the
 * first error (-EINVAL from var, or a broken placeholder). */
static int walk(const char *t, size_t len, const char *name,
                int (*lit)(void *, const char *, size_t), int (*var)(void *, const char *, int),
                void *ctx)
{
    int line = 1;
    size_t i = 0;
    while (i < len) {
        const char *open = memmem(t + i, len - i, "{{", 2);
        size_t upto = open ? (size_t)(open - t) : len;
        for (size_t k = i; k < upto; k++)
            line += t[k] == '\n';
        int rc = upto > i ? lit(ctx, t + i, upto - i) : 0;
        if (rc < 0) return rc;
        if (!open) break;
        i = upto + 2;
        if (i + 2 <= len && !memcmp(t + i, "{{", 2)) { /* {{{{: a literal {{ */
            if ((rc = lit(ctx, "{{", 2)) < 0) return rc;
            i += 2;
            continue;
        }
        const char *close = memmem(t + i, len - i, "}}", 2);
        size_t n = close ? (size_t)(close - (t + i)) : 0;
        if (!close || n == 0 || n >= LETTER_MAX_NAME || memchr(t + i, '\n', n))
            return err_set(-EINVAL, "%s:%d: an unclosed or empty {{placeholder}}", name, line);
        char key[LETTER_MAX_NAME];
        memcpy(key, t + i, n);
        key[n] = 0;
        if ((rc = var(ctx, key, line)) < 0) return rc;
        i += n + 2;
    }
    return 0;
}

struct check {
    const char *name;
    const char *const *names;
    size_t n;
};

static int check_lit(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    (void)s;
    (void)n;
    return 0;
}

static int check_var(void *ctx, const char *key, int line)
{
    struct check *c = ctx;
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(key, c->names[i])) return 0;
    return err_set(-EINVAL, "%s:%d: unknown placeholder {{%s}}", c->name, line, key);
}

struct letter *letter_parse(const char *text, size_t len, const char *name,
                            const char *const *names, size_t n)
{
    if (memchr(text, 0, len)) {
        err_set(-EINVAL, "%s: a NUL byte (not a text template)", name);
        return NULL;
    }
    struct check c = {name, names, n};
    if (walk(text, len, name, check_lit, check_var, &c) < 0) return NULL;
    struct letter *l = calloc(1, sizeof *l);
    if (!l || !(l->text = malloc(len + 1))) {
        free(l);
        err_set(-ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    memcpy(l->text, text, len);
    l->text[len] = 0;
    l->len = len;
    return l;
}

struct letter *letter_load(const char *path, const char *const *names, size_t n)
{
    size_t len;
    char *t = text_load(path, LETTER_MAX_FILE, &len);
    if (!t) return NULL;
    struct letter *l = letter_parse(t, len, path, names, n);
    free(t);
    return l;
}

struct out {
    FILE *f;
    const struct letter_var *vars;
    size_t n;
};

static int out_lit(void *ctx, const char *s, size_t n)
{
    struct out *o = ctx;
    return fwrite(s, 1, n, o->f) == n ? 0 : err_set(-EIO, "letter: write error");
}

static int out_var(void *ctx, const char *key, int line)
{
    (void)line;
    struct out *o = ctx;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(key, o->vars[i].name))
            return o->vars[i].value ? out_lit(ctx, o->vars[i].value, strlen(o->vars[i].value)) : 0;
    return 0;
}

int letter_write(const struct letter *l, const struct letter_var *vars, size_t n, FILE *f)
{
    struct out o = {f, vars, n};
    return walk(l->text, l->len, "letter", out_lit, out_var, &o);
}

void letter_free(struct letter *l)
{
    if (!l) return;
    free(l->text);
    free(l);
}
