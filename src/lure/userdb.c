/* userdb — Cowrie userdb.txt rules (see userdb.h). */
#include "userdb.h"
#include "../core/err.h"
#include "../core/text.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERDB_MAX_RULES 100000
#define USERDB_MAX_FILE (16 << 20)

enum { PAT_ANY, PAT_TEXT, PAT_REGEX };

struct pattern {
    int kind;
    char *text;
    regex_t re;
};

struct rule {
    struct pattern user, pass;
    bool deny;
};

struct userdb {
    struct rule *rules;
    size_t n;
};

static int compile(struct pattern *p, const char *s, size_t n, const char *name, int line)
{
    if (n == 1 && s[0] == '*') {
        p->kind = PAT_ANY;
        return 0;
    }
    bool icase = n >= 3 && s[0] == '/' && s[n - 1] == 'i' && s[n - 2] == '/';
    if (n >= 2 && s[0] == '/' && (s[n - 1] == '/' || icase)) {
        char *re = strndup(s + 1, n - (icase ? 3 : 2));
        if (!re) return err_set(-ENOMEM, "out of memory");
        int rc = regcomp(&p->re, re, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
        free(re);
        if (rc)
            return err_set(-EINVAL, "%s:%d: bad regular expression %.*s", name, line, (int)n, s);
        p->kind = PAT_REGEX;
        return 0;
    }
    p->kind = PAT_TEXT;
    p->text = strndup(s, n);
    return p->text ? 0 : err_set(-ENOMEM, "out of memory");
}

static bool match(const struct pattern *p, const char *s)
{
    switch (p->kind) {
    case PAT_ANY:
        return true;
    case PAT_TEXT:
        return !strcmp(p->text, s);
    default:
        return regexec(&p->re, s, 0, NULL, 0) == 0;
    }
}

static void drop(struct pattern *p)
{
    if (p->kind == PAT_REGEX) regfree(&p->re);
    free(p->text);
}

struct userdb *userdb_parse(const char *text, size_t len, const char *name)
{
    struct userdb *db = calloc(1, sizeof *db);
    if (!db) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    size_t pos = 0, ll;
    int line = 0;
    const char *l;
    while (text_line(text, len, &pos, &line, &l, &ll)) {
        if (!ll || l[0] == '#') continue;
        if (memchr(l, 0, ll)) goto bad;
        /* user:x:password — the password may itself hold colons */
        const char *c1 = memchr(l, ':', ll),
                   *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - l)) : NULL;
        if (!c1 || !c2 || c1 == l) goto bad;
        if (db->n >= USERDB_MAX_RULES) {
            err_set(-E2BIG, "%s:%d: more than %d rules", name, line, USERDB_MAX_RULES);
            goto fail;
        }
        struct rule *r = realloc(db->rules, (db->n + 1) * sizeof *r);
        if (!r) {
            err_set(-ENOMEM, "out of memory");
            goto fail;
        }
        db->rules = r;
        r += db->n;
        memset(r, 0, sizeof *r);
        const char *pw = c2 + 1;
        size_t pl = ll - (size_t)(pw - l);
        r->deny = pl && *pw == '!';
        if (r->deny) pw++, pl--;
        if (compile(&r->user, l, (size_t)(c1 - l), name, line) < 0) goto fail;
        db->n++;
        if (compile(&r->pass, pw, pl, name, line) < 0) goto fail;
    }
    return db;
bad:
    err_set(-EINVAL, "%s:%d: expected user:x:password", name, line);
fail:
    userdb_free(db);
    return NULL;
}

struct userdb *userdb_load(const char *path)
{
    size_t n;
    char *buf = text_load(path, USERDB_MAX_FILE, &n);
    if (!buf) return NULL;
    struct userdb *db = userdb_parse(buf, n, path);
    free(buf);
    return db;
}

bool userdb_check(const struct userdb *db, const char *user, const char *password)
{
    for (size_t i = 0; i < db->n; i++) {
        const struct rule *r = &db->rules[i];
        if (match(&r->user, user) && match(&r->pass, password)) return !r->deny;
    }
    return false;
}

size_t userdb_rules(const struct userdb *db)
{
    return db->n;
}

void userdb_free(struct userdb *db)
{
    if (!db) return;
    for (size_t i = 0; i < db->n; i++) {
        drop(&db->rules[i].user);
        drop(&db->rules[i].pass);
    }
    /* a rule whose password failed to compile is counted but half built */
    free(db->rules);
    free(db);
}
