/* dict — credential dictionaries: the bundled Mirai list and the operator's own.
 *
 * A line is "user:pass" (split at the first colon) or tab-separated "user<TAB>pass[<TAB>third]",
 * where a numeric third column is a weight (Mirai's table; order already says it) and any other
 * is the pair's class.  A list's class is otherwise its "# class: NAME" line, or its file name
 * without directory and extension.  Pairs keep file order, lists the order given: with
 * --max-attempts N, the first N pairs are the ones tried, so a list puts its likeliest first.
 * Bounded: lines of DICT_LINE bytes, DICT_MAX pairs, 64 classes and 64 lists. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/text.h"
#include "probe.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DICT_LINE 512
#define DICT_MAX 100000
#define DICT_FIELD 255
#define DICT_BYTES (16 << 20)

static int intern(char **names, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(names[i], name)) return (int)i;
    if (*n == 64) return err_set(-E2BIG, "more than 64 credential classes or dictionaries");
    if (!(names[*n] = strdup(name))) return err_set(-ENOMEM, "out of memory");
    return (int)(*n)++;
}

static int add(struct dict *d, const char *user, const char *pass, int cls, int file)
{
    if (d->n == DICT_MAX) return err_set(-E2BIG, "more than %d credential pairs", DICT_MAX);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 128;
        struct cred *v = realloc(d->v, cap * sizeof *v);
        if (!v) return err_set(-ENOMEM, "out of memory");
        d->v = v;
        d->cap = cap;
    }
    struct cred *c = &d->v[d->n];
    c->user = strdup(user);
    c->pass = strdup(pass);
    if (!c->user || !c->pass) {
        free((char *)c->user);
        free((char *)c->pass);
        return err_set(-ENOMEM, "out of memory");
    }
    c->cls = (uint16_t)cls;
    c->dict = (uint16_t)file;
    d->n++;
    return 0;
}

static bool numeric(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && *s != '.') return false;
    return true;
}

/* One line into user/pass/class (class NULL when the line names none); 1 a pair, 0 nothing. */
static int split(char *line, const char **user, const char **pass, const char **cls,
                 const char *path, unsigned no)
{
    char *tab = strchr(line, '\t');
    *cls = NULL;
    if (tab) {
        *tab = 0;
        *user = line;
        *pass = tab + 1;
        char *third = strchr(tab + 1, '\t');
        if (third) {
            *third++ = 0;
            if (strchr(third, '\t'))
                return err_set(-EINVAL, "%s:%u: more than three columns", path, no);
            if (!numeric(third) && *third) *cls = third;
        }
    } else {
        char *colon = strchr(line, ':');
        if (!colon)
            return err_set(-EINVAL, "%s:%u: not user:password or user<TAB>password", path, no);
        *colon = 0;
        *user = line;
        *pass = colon + 1;
    }
    if (!**user) return err_set(-EINVAL, "%s:%u: empty user name", path, no);
    if (strlen(*user) > DICT_FIELD || strlen(*pass) > DICT_FIELD)
        return err_set(-EINVAL, "%s:%u: user or password longer than %d bytes", path, no,
                       DICT_FIELD);
    for (const char *p = *user; *p; p++)
        if ((unsigned char)*p < 0x20) return err_set(-EINVAL, "%s:%u: control byte", path, no);
    for (const char *p = *pass; *p; p++)
        if ((unsigned char)*p < 0x20) return err_set(-EINVAL, "%s:%u: control byte", path, no);
    return 1;
}

static int load(struct dict *d, const char *path, const char *shown, const char *cls_default)
{
    size_t len;
    char *text = text_load(path, DICT_BYTES, &len);
    if (!text) return -EINVAL;
    int file = intern(d->files, &d->n_files, shown);
    int cls = file < 0 ? file : intern(d->classes, &d->n_classes, cls_default);
    size_t pos = 0, before = d->n, n;
    int no = 0, rc = cls < 0 ? cls : 0;
    const char *l;
    while (rc >= 0 && text_line(text, len, &pos, &no, &l, &n)) {
        char line[DICT_LINE + 1];
        if (n > DICT_LINE) {
            rc = err_set(-EINVAL, "%s:%d: line longer than %d bytes", shown, no, DICT_LINE);
            break;
        }
        memcpy(line, l, n);
        line[n] = 0;
        if (!strncmp(line, "# class:", 8)) {
            char name[64];
            if (sscanf(line + 8, " %63s", name) == 1)
                rc = cls = intern(d->classes, &d->n_classes, name);
            continue;
        }
        if (!n || line[0] == '#') continue;
        const char *user, *pass, *own;
        rc = split(line, &user, &pass, &own, shown, (unsigned)no);
        if (rc <= 0) continue;
        int c = own ? intern(d->classes, &d->n_classes, own) : cls;
        rc = c < 0 ? c : add(d, user, pass, c, file);
    }
    free(text);
    if (rc >= 0 && d->n == before) rc = err_set(-EINVAL, "%s: no credential pairs", shown);
    return rc < 0 ? rc : 0;
}

int dict_load(struct dict *d, const char *path)
{
    if (!strcmp(path, "mirai")) return dict_load_default(d);
    char cls[64];
    const char *base = strrchr(path, '/');
    snprintf(cls, sizeof cls, "%s", base ? base + 1 : path);
    char *dot = strchr(cls, '.');
    if (dot && dot != cls) *dot = 0;
    return load(d, path, path, cls);
}

int dict_load_default(struct dict *d)
{
    char path[4096];
    if (!cli_data_file("credentials/mirai.tsv", path, sizeof path))
        return err_set(-ENOENT,
                       "credentials/mirai.tsv: not in any data directory (set MAMORI_DATA)");
    return load(d, path, "mirai", "mirai-default");
}

void dict_free(struct dict *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free((char *)d->v[i].user);
        free((char *)d->v[i].pass);
    }
    free(d->v);
    for (size_t i = 0; i < d->n_classes; i++)
        free(d->classes[i]);
    for (size_t i = 0; i < d->n_files; i++)
        free(d->files[i]);
    memset(d, 0, sizeof *d);
}
