/* taxii_conf — the TAXII server's configuration file and who may do what
 * (owner: the TAXII part).
 *
 * One JSON file (serve --taxii FILE; readme-taxii.md shows one): the
 * discovery's title, description and contact, the API roots, the
 * collections (a UUID, title, description, media types, who may read and who
 * may write — user names, "role:NAME" or "*" for any signed-in user —, and
 * whether POSTed objects also go into the indicator model under which source
 * name, or are anonymized with which Crypto-PAn key), and the users.  A user signs in with HTTP Basic, checked against a
 * crypt(3) hash ("password_crypt": "$6$..." or "$y$...", as openssl passwd -6
 * or mkpasswd print), or with a bearer token, checked against its SHA-256
 * ("token_sha256": hex).  No secret is ever in the file as plain text: a
 * "password" or "token" key is refused.  Checking a password costs what its
 * hash costs (sha512-crypt: ~1-5 ms), so it runs in the TAXII threads, never
 * in a libmicrohttpd callback; an unknown user costs the same as a wrong
 * password. */
#ifndef MAMORI_TAXII_CONF_H
#define MAMORI_TAXII_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct taxii_user {
    const char *name, *hash;
    unsigned char token[32];
    bool has_token;
    const json_t *roles;
};

struct cpan;

struct taxii_coll {
    const char *id, *root, *title, *description, *alias, *source;
    const json_t *media_types, *can_read, *can_write;
    bool ingest;
    /* "anonymize": a Crypto-PAn key file (mode 0600): every object POSTed
     * into the collection is stored anonymized (core/anon.h, as share
     * anonymize does a bundle), for recipients who must not see addresses.
     * Used under the server's write lock only.  NULL: stored as posted. */
    struct cpan *anon;
};

struct taxii_root {
    const char *name, *title, *description;
};

struct taxii_conf {
    json_t *doc; /* owns every string above */
    const char *title, *description, *contact, *default_root, *base_url;
    struct taxii_root *roots;
    size_t n_roots;
    struct taxii_coll *colls;
    size_t n_colls;
    struct taxii_user *users;
    size_t n_users;
};

/* 0, or an error naming the file and the problem. */
int taxii_conf_load(const char *path, struct taxii_conf *c);
void taxii_conf_free(struct taxii_conf *c);

const struct taxii_root *taxii_conf_root(const struct taxii_conf *c, const char *name);
const struct taxii_coll *taxii_conf_coll(const struct taxii_conf *c, const char *root,
                                         const char *id);

/* The user an Authorization header value signs in (NULL: none, wrong or
 * unknown). */
const struct taxii_user *taxii_auth(const struct taxii_conf *c, const char *authorization);
/* May u read (write false) or write collection k? */
bool taxii_can(const struct taxii_coll *k, const struct taxii_user *u, bool write);

#endif
