/* taxii_conf — loading the TAXII configuration and checking credentials
 * (see taxii_conf.h).  The file is read once at start; the structs point
 * into the parsed document, which lives as long as the server. */
#include "taxii_conf.h"
#include "../core/cryptopan.h"
#include "../core/err.h"
#include "taxii_params.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A sha512-crypt hash of nothing anyone knows: an unknown user's password is
 * checked against it, so that a wrong name costs as much as a wrong password. */
static const char dummy_hash[] =
    "$6$mamoriDummySalt$13epKcCknydhq8LnNxBVDVjnY6BVtPvmPzfwcJ697EuCks0F"
    "73JdHcTZGbgd2a8FpZZPKOhG396aOXJQGsryL.";

static const char *str(const json_t *o, const char *k, const char *def)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : def;
}

static int bad(const char *path, const char *what, const char *name)
{
    return err_set(-EINVAL, "%s: %s%s%s", path, what, name ? ": " : "", name ? name : "");
}

static bool list_ok(const json_t *v)
{
    if (!v) return true;
    if (!json_is_array(v)) return false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (!json_is_string(e)) return false;
    return true;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

static int load_users(const char *path, struct taxii_conf *c)
{
    json_t *users = json_object_get(c->doc, "users");
    if (!json_is_array(users) || !json_array_size(users))
        return bad(path, "\"users\" must be a non-empty array", NULL);
    c->n_users = json_array_size(users);
    if (!(c->users = calloc(c->n_users, sizeof *c->users))) return -ENOMEM;
    for (size_t i = 0; i < c->n_users; i++) {
        json_t *u = json_array_get(users, i);
        struct taxii_user *x = &c->users[i];
        x->name = str(u, "name", NULL);
        if (!x->name || !*x->name || strchr(x->name, ':'))
            return bad(path, "a user needs a \"name\" without ':'", NULL);
        if (json_object_get(u, "password") || json_object_get(u, "token"))
            return bad(path, "plain-text secrets are refused (password_crypt, token_sha256)",
                       x->name);
        x->hash = str(u, "password_crypt", NULL);
        if (x->hash && x->hash[0] != '$')
            return bad(path, "password_crypt is not crypt(3)", x->name);
        const char *t = str(u, "token_sha256", NULL);
        if (t) {
            if (strlen(t) != 64) return bad(path, "token_sha256 is not 64 hex digits", x->name);
            for (int k = 0; k < 32; k++) {
                int hi = hexval((unsigned char)t[2 * k]), lo = hexval((unsigned char)t[2 * k + 1]);
                if (hi < 0 || lo < 0) return bad(path, "token_sha256 is not hex", x->name);
                x->token[k] = (unsigned char)(hi << 4 | lo);
            }
            x->has_token = true;
        }
        if (!x->hash && !x->has_token)
            return bad(path, "a user needs password_crypt or token_sha256", x->name);
        x->roles = json_object_get(u, "roles");
        if (!list_ok(x->roles)) return bad(path, "\"roles\" must be an array of names", x->name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->users[j].name, x->name)) return bad(path, "user twice", x->name);
    }
    return 0;
}

static int load_roots(const char *path, struct taxii_conf *c)
{
    json_t *roots = json_object_get(c->doc, "api_roots");
    if (!json_is_array(roots) || !json_array_size(roots))
        return bad(path, "\"api_roots\" must be a non-empty array", NULL);
    c->n_roots = json_array_size(roots);
    if (!(c->roots = calloc(c->n_roots, sizeof *c->roots))) return -ENOMEM;
    for (size_t i = 0; i < c->n_roots; i++) {
        json_t *r = json_array_get(roots, i);
        struct taxii_root *x = &c->roots[i];
        x->name = str(r, "name", NULL);
        struct taxii_path p;
        char url[TAXII_NAME_MAX + 16];
        snprintf(url, sizeof url, "/taxii2/%s/", x->name ? x->name : "");
        if (!x->name || strlen(x->name) > TAXII_NAME_MAX || taxii_path_parse(url, &p) ||
            p.ep != TX_ROOT)
            return bad(path, "an API root's \"name\" must be letters, digits, '-', '_', '.'",
                       x->name);
        x->title = str(r, "title", x->name);
        x->description = str(r, "description", NULL);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->roots[j].name, x->name)) return bad(path, "API root twice", x->name);
    }
    return 0;
}

static int load_colls(const char *path, struct taxii_conf *c)
{
    json_t *colls = json_object_get(c->doc, "collections");
    if (!json_is_array(colls)) return bad(path, "\"collections\" must be an array", NULL);
    c->n_colls = json_array_size(colls);
    if (c->n_colls && !(c->colls = calloc(c->n_colls, sizeof *c->colls))) return -ENOMEM;
    for (size_t i = 0; i < c->n_colls; i++) {
        json_t *k = json_array_get(colls, i);
        struct taxii_coll *x = &c->colls[i];
        x->id = str(k, "id", NULL);
        if (!x->id || !taxii_uuid_ok(x->id))
            return bad(path, "a collection's id must be a UUID", x->id);
        x->root = str(k, "api_root", c->n_roots == 1 ? c->roots[0].name : NULL);
        if (!x->root || !taxii_conf_root(c, x->root))
            return bad(path, "a collection's api_root is not one of api_roots", x->id);
        x->title = str(k, "title", NULL);
        if (!x->title) return bad(path, "a collection needs a title", x->id);
        x->description = str(k, "description", NULL);
        x->alias = str(k, "alias", NULL);
        x->media_types = json_object_get(k, "media_types");
        x->can_read = json_object_get(k, "can_read");
        x->can_write = json_object_get(k, "can_write");
        if (!list_ok(x->media_types) || !list_ok(x->can_read) || !list_ok(x->can_write))
            return bad(path, "media_types, can_read and can_write are arrays of strings", x->id);
        x->ingest = json_is_true(json_object_get(k, "ingest"));
        x->source = str(k, "source", NULL);
        if (x->ingest && (!x->source || !*x->source))
            return bad(path, "a collection that ingests needs a \"source\" name", x->id);
        json_t *ak = json_object_get(k, "anonymize");
        if (json_object_get(k, "anonymise"))
            return bad(path, "\"anonymise\": the key is spelt \"anonymize\"", x->id);
        if (ak && (!json_is_string(ak) || !*json_string_value(ak))) /* fail closed */
            return bad(path, "\"anonymize\" must be a key file's path", x->id);
        const char *key = json_string_value(ak);
        if (key && x->ingest)
            return bad(path, "a collection cannot both anonymize and ingest (the model would hold "
                             "anonymized values)", x->id);
        if (key && !(x->anon = cpan_load(key))) {
            char why[512];
            snprintf(why, sizeof why, "%s", err_msg());
            return err_set(-EINVAL, "%s: collection %s: anonymize: %s", path, x->id, why);
        }
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(c->colls[j].id, x->id)) return bad(path, "collection twice", x->id);
    }
    return 0;
}

int taxii_conf_load(const char *path, struct taxii_conf *c)
{
    memset(c, 0, sizeof *c);
    json_error_t je;
    c->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!c->doc) return err_set(-EINVAL, "%s: line %d: %s", path, je.line, je.text);
    if (!json_is_object(c->doc)) {
        taxii_conf_free(c);
        return bad(path, "not a JSON object", NULL);
    }
    c->title = str(c->doc, "title", "mamori TAXII 2.1");
    c->description = str(c->doc, "description", NULL);
    c->contact = str(c->doc, "contact", NULL);
    c->default_root = str(c->doc, "default", NULL);
    c->base_url = str(c->doc, "base_url", NULL);
    int rc = load_roots(path, c);
    if (!rc) rc = load_users(path, c);
    if (!rc) rc = load_colls(path, c);
    if (!rc && c->default_root && !taxii_conf_root(c, c->default_root))
        rc = bad(path, "\"default\" is not one of api_roots", c->default_root);
    if (rc == -ENOMEM) rc = err_set(-ENOMEM, "%s: out of memory", path);
    if (rc) taxii_conf_free(c);
    return rc;
}

void taxii_conf_free(struct taxii_conf *c)
{
    for (size_t i = 0; c->colls && i < c->n_colls; i++)
        cpan_free(c->colls[i].anon);
    free(c->roots);
    free(c->colls);
    free(c->users);
    json_decref(c->doc);
    memset(c, 0, sizeof *c);
}

const struct taxii_root *taxii_conf_root(const struct taxii_conf *c, const char *name)
{
    for (size_t i = 0; i < c->n_roots; i++)
        if (!strcmp(c->roots[i].name, name)) return &c->roots[i];
    return NULL;
}

const struct taxii_coll *taxii_conf_coll(const struct taxii_conf *c, const char *root,
                                         const char *id)
{
    for (size_t i = 0; i < c->n_colls; i++)
        if (!strcmp(c->colls[i].root, root) && !strcasecmp(c->colls[i].id, id)) return &c->colls[i];
    return NULL;
}

static bool password_ok(const char *hash, const char *pw)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd) return false;
    const char *h = crypt_rn(pw, hash, cd, (int)sizeof *cd); /* not crypt_r: ASan wraps it, and the wrapper then finds no libcrypt */
    bool ok =
        h && h[0] != '*' && strlen(h) == strlen(hash) && !CRYPTO_memcmp(h, hash, strlen(hash));
    free(cd);
    return ok;
}

static const struct taxii_user *basic(const struct taxii_conf *c, const char *b64)
{
    size_t n = strlen(b64);
    if (n == 0 || n > 1024 || n % 4) return NULL;
    unsigned char raw[800];
    int len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
    if (len < 0) return NULL;
    len -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
    raw[len] = 0;
    if (memchr(raw, 0, (size_t)len)) return NULL;
    char *colon = strchr((char *)raw, ':');
    if (!colon) return NULL;
    *colon = 0;
    const struct taxii_user *u = NULL;
    for (size_t i = 0; i < c->n_users && !u; i++)
        if (!strcmp(c->users[i].name, (char *)raw)) u = &c->users[i];
    bool ok = password_ok(u && u->hash ? u->hash : dummy_hash, colon + 1);
    OPENSSL_cleanse(raw, sizeof raw);
    return ok && u && u->hash ? u : NULL;
}

static const struct taxii_user *bearer(const struct taxii_conf *c, const char *token)
{
    unsigned char d[32];
    SHA256((const unsigned char *)token, strlen(token), d);
    const struct taxii_user *found = NULL;
    for (size_t i = 0; i < c->n_users; i++) /* every user compared: no early exit */
        if (c->users[i].has_token && !CRYPTO_memcmp(c->users[i].token, d, 32)) found = &c->users[i];
    return found;
}

const struct taxii_user *taxii_auth(const struct taxii_conf *c, const char *a)
{
    if (!a) return NULL;
    while (*a == ' ')
        a++;
    if (!strncasecmp(a, "Basic ", 6)) return basic(c, a + 6 + strspn(a + 6, " "));
    if (!strncasecmp(a, "Bearer ", 7)) return bearer(c, a + 7 + strspn(a + 7, " "));
    return NULL;
}

static bool listed(const json_t *list, const struct taxii_user *u)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *p = json_string_value(e);
        if (!strcmp(p, "*") || !strcmp(p, u->name)) return true;
        if (!strncmp(p, "role:", 5)) {
            size_t j;
            json_t *r;
            json_array_foreach(u->roles, j,
                               r) if (!strcmp(json_string_value(r), p + 5)) return true;
        }
    }
    return false;
}

bool taxii_can(const struct taxii_coll *k, const struct taxii_user *u, bool write)
{
    return u && listed(write ? k->can_write : k->can_read, u);
}
