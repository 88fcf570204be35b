/* taxii_work — the TAXII threads: credentials, media types, rights, and the
 * endpoints' answers on the database (see taxii.h).
 *
 * Order of the checks, as the spec's status codes nest: who you are (401
 * with WWW-Authenticate for both Basic and Bearer), then whether we can
 * answer in a type you accept (406), then whether the thing exists for you (a
 * collection you may neither read nor write is 404, as the spec allows, so
 * its existence does not leak), then the right (403), then the body (415,
 * 400, 422, 413).  Reads run on a read-only connection of the thread's own;
 * POST and DELETE on the server's one write connection, one at a time, each
 * one transaction: an envelope is stored whole or not at all, with its
 * status resource, and objects that fail their check are listed as failures
 * without stopping the others. */
#include "../core/anon.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/stix.h"
#include "../store/share.h"
#include "../store/share_ingest.h"
#include "../store/store.h"
#include "../store/taxii.h"
#include "serve.h"
#include "taxii_int.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void uuid4(char *out)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        for (int i = 0; i < 16; i++)
            b[i] = (unsigned char)rand();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* "http://host/taxii2/" + rest: the configured base_url, else the Host the
 * client used when it is a plain host[:port], else a relative URL. */
static json_t *url(const struct taxii_srv *t, const struct taxii_req *r, const char *rest)
{
    char buf[512];
    const char *h = r->host;
    bool host_ok =
        h && *h && strlen(h) < 256 &&
        strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
            strlen(h);
    if (t->conf.base_url)
        snprintf(buf, sizeof buf, "%s/taxii2/%s", t->conf.base_url, rest);
    else if (host_ok)
        snprintf(buf, sizeof buf, "http://%s/taxii2/%s", h, rest);
    else
        snprintf(buf, sizeof buf, "/taxii2/%s", rest);
    return json_string(buf);
}

static void discovery(struct taxii_srv *t, struct taxii_req *r)
{
    json_t *d = json_pack("{s:s}", "title", t->conf.title);
    if (t->conf.description)
        json_object_set_new(d, "description", json_string(t->conf.description));
    if (t->conf.contact) json_object_set_new(d, "contact", json_string(t->conf.contact));
    char rest[TAXII_NAME_MAX + 2];
    if (t->conf.default_root) {
        snprintf(rest, sizeof rest, "%s/", t->conf.default_root);
        json_object_set_new(d, "default", url(t, r, rest));
    }
    json_t *roots = json_array();
    for (size_t i = 0; i < t->conf.n_roots; i++) {
        snprintf(rest, sizeof rest, "%s/", t->conf.roots[i].name);
        json_array_append_new(roots, url(t, r, rest));
    }
    json_object_set_new(d, "api_roots", roots);
    taxii_answer_json(r, 200, d);
}

static void root_info(struct taxii_srv *t, struct taxii_req *r, const struct taxii_root *root)
{
    json_t *d = json_pack("{s:s,s:[s],s:I}", "title", root->title, "versions", TAXII_MEDIA,
                          "max_content_length", (json_int_t)t->opts.max_body);
    if (root->description) json_object_set_new(d, "description", json_string(root->description));
    taxii_answer_json(r, 200, d);
}

static json_t *coll_json(const struct taxii_coll *k, const struct taxii_user *u)
{
    json_t *d = json_pack("{s:s,s:s}", "id", k->id, "title", k->title);
    if (k->description) json_object_set_new(d, "description", json_string(k->description));
    if (k->alias) json_object_set_new(d, "alias", json_string(k->alias));
    json_object_set_new(d, "can_read", json_boolean(taxii_can(k, u, false)));
    json_object_set_new(d, "can_write", json_boolean(taxii_can(k, u, true)));
    json_object_set_new(d, "media_types",
                        k->media_types && json_array_size(k->media_types)
                            ? json_deep_copy(k->media_types)
                            : json_pack("[s]", STIX_MEDIA));
    return d;
}

static void collections(struct taxii_srv *t, struct taxii_req *r, const struct taxii_user *u)
{
    json_t *list = json_array(), *d = json_object();
    for (size_t i = 0; i < t->conf.n_colls; i++) {
        const struct taxii_coll *k = &t->conf.colls[i];
        if (strcmp(k->root, r->path.root)) continue;
        if (taxii_can(k, u, false) || taxii_can(k, u, true))
            json_array_append_new(list, coll_json(k, u));
    }
    if (json_array_size(list))
        json_object_set_new(d, "collections", list);
    else
        json_decref(list);
    taxii_answer_json(r, 200, d);
}

static void set_headers(struct taxii_req *r, const struct taxii_page *p)
{
    if (!p->n) return;
    cli_iso_us(p->v[0].added_us, r->first);
    cli_iso_us(p->v[p->n - 1].added_us, r->last);
}

static void page_doc(struct taxii_req *r, const struct taxii_page *p, json_t *d, json_t *list,
                     const char *key)
{
    json_object_set_new(d, "more", json_boolean(p->more));
    if (p->more) {
        char next[48];
        json_object_set_new(d, "next",
                            json_string(taxii_next_format(p->next_added, p->next_row, next)));
    }
    if (json_array_size(list))
        json_object_set_new(d, key, list);
    else
        json_decref(list);
    set_headers(r, p);
    taxii_answer_json(r, 200, d);
}

/* objects, one object, versions, manifest */
static void listing(struct taxii_req *r, struct store *db, const char *coll)
{
    struct taxii_filter *f = &r->params.f;
    enum taxii_ep ep = r->path.ep;
    if (ep == TX_OBJECT || ep == TX_VERSIONS) {
        int64_t n = taxii_db_count(db, coll, r->path.obj);
        if (n < 0) {
            serve_log("taxii: %s", err_msg());
            return taxii_fail(r, 503, "Service Unavailable", "database busy or unreadable");
        }
        if (n == 0) return taxii_fail(r, 404, "Not Found", "no such object in this collection");
        f->ids[0] = r->path.obj;
        f->n_ids = 1;
        if (ep == TX_VERSIONS) f->vflags = TAXII_V_ALL;
    }
    struct taxii_page p;
    if (taxii_db_query(db, coll, f, &p)) {
        serve_log("taxii: %s", err_msg());
        return taxii_fail(r, 503, "Service Unavailable", "database busy or unreadable");
    }
    json_t *list = json_array(), *d = json_object();
    for (size_t i = 0; i < p.n; i++) {
        const struct taxii_row *w = &p.v[i];
        char added[32];
        if (ep == TX_VERSIONS) {
            json_array_append_new(list, json_string(w->version));
        } else if (ep == TX_MANIFEST) {
            char media[64];
            snprintf(media, sizeof media, "application/stix+json;version=%.8s", w->spec_version);
            json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s}", "id", w->id, "date_added",
                                                  cli_iso_us(w->added_us, added), "version",
                                                  w->version, "media_type", media));
        } else {
            json_t *o = json_loads(w->json, 0, NULL);
            if (o) json_array_append_new(list, o);
        }
    }
    page_doc(r, &p, d, list, ep == TX_VERSIONS ? "versions" : "objects");
    taxii_page_free(&p);
}

/* The object's own check: STIX 2.1's rules for its type (stixcheck.c). */
static int check_object(const json_t *o, char *msg, size_t n)
{
    return stix_check_object(o, msg, n);
}

static const char *version_of(const json_t *o)
{
    const char *v = json_string_value(json_object_get(o, "modified"));
    return v ? v : json_string_value(json_object_get(o, "created"));
}

static json_t *entry(const json_t *o, const char *msg)
{
    const char *id = json_string_value(json_object_get(o, "id")), *v = version_of(o);
    json_t *e = json_pack("{s:s}", "id", id ? id : "");
    if (v) json_object_set_new(e, "version", json_string(v));
    if (msg) json_object_set_new(e, "message", json_string(msg));
    return e;
}

/* The envelope's objects in one transaction; the status resource, or NULL
 * after a database error (rolled back). */
static json_t *store_envelope(struct taxii_srv *t, const struct taxii_coll *k,
                              const struct taxii_user *u, json_t *objects)
{
    int64_t now = now_us();
    char sid[37];
    uuid4(sid);
    json_t *ok = json_array(), *bad = json_array(), *stored = json_array();
    struct share_ingest_stats st = {0};
    struct share_ingest_opts io = {.source = k->source, .now_us = now, .warn = t->warn};
    if (share_begin(t->wdb)) return NULL;
    size_t i;
    json_t *o;
    int rc = 0;
    json_array_foreach(objects, i, o)
    {
        char msg[256] = "";
        if (check_object(o, msg, sizeof msg) < 0) {
            json_array_append_new(bad, entry(o, msg));
            continue;
        }
        json_array_append(stored, o);
        json_array_append_new(ok, entry(o, NULL));
    }
    /* an anonymized collection: the accepted objects rewritten together (their
     * refs follow their new ids) before anything is stored; the status names
     * the ids as posted */
    json_t *bundle = k->anon ? json_pack("{s:s,s:O}", "type", "bundle", "objects", stored) : NULL;
    if (k->anon && (!bundle || anon_stix_bundle(k->anon, bundle, NULL) < 0)) {
        serve_log("taxii: POST into %s: anonymizing: %s", k->id, bundle ? err_msg() : "out of memory");
        rc = -ENOMEM;
    }
    json_decref(bundle);
    json_array_foreach(stored, i, o) if (rc >= 0) rc = taxii_db_add(t->wdb, k->id, o, now);
    /* stored objects that are not indicators mamori takes are still stored (not failures) */
    if (rc >= 0 && k->ingest) rc = share_ingest_objects(t->wdb, stored, &io, &st, NULL, NULL);
    json_decref(stored);
    char stamp[32];
    json_t *status = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "id", sid, "status", "complete",
                               "request_timestamp", cli_iso_us(now, stamp), "total_count",
                               (json_int_t)json_array_size(objects), "success_count",
                               (json_int_t)json_array_size(ok), "failure_count",
                               (json_int_t)json_array_size(bad), "pending_count", (json_int_t)0);
    if (json_array_size(ok)) json_object_set(status, "successes", ok);
    if (json_array_size(bad)) json_object_set(status, "failures", bad);
    json_decref(ok);
    json_decref(bad);
    if (rc >= 0) rc = taxii_db_status_put(t->wdb, k->id, status, now);
    struct share_log_rec lr = {now,           "taxii-post", u->name,       json_array_size(objects),
                               st.indicators, st.fresh,     st.duplicates, st.dropped,
                               k->id};
    if (rc >= 0) rc = share_log_add(t->wdb, &lr);
    if (rc >= 0) rc = share_commit(t->wdb);
    if (rc < 0) {
        serve_log("taxii: POST: %s", err_msg());
        share_rollback(t->wdb);
        json_decref(status);
        return NULL;
    }
    return status;
}

static void post(struct taxii_srv *t, struct taxii_req *r, const struct taxii_coll *k,
                 const struct taxii_user *u)
{
    if (!taxii_media_ok(r->ctype, false))
        return taxii_fail(r, 415, "Unsupported Media Type",
                          "POST a body of type " TAXII_MEDIA " (an envelope)");
    json_error_t je;
    json_t *env = r->body ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!env) return taxii_fail(r, 400, "Bad Request", "the body is not JSON");
    json_t *objects = json_object_get(env, "objects");
    if (!json_is_array(objects)) {
        json_decref(env);
        return taxii_fail(r, 422, "Unprocessable Entity",
                          "the body is not a TAXII envelope (no \"objects\" array)");
    }
    if (json_array_size(objects) > t->opts.max_objects) {
        json_decref(env);
        return taxii_fail(r, 413, "Payload Too Large", "too many objects in one envelope");
    }
    pthread_mutex_lock(&t->write_mu);
    json_t *status = store_envelope(t, k, u, objects);
    pthread_mutex_unlock(&t->write_mu);
    json_decref(env);
    if (!status) return taxii_fail(r, 503, "Service Unavailable", "database busy or unwritable");
    taxii_answer_json(r, 202, status);
}

static void delete (struct taxii_srv *t, struct taxii_req *r, const struct taxii_coll *k)
{
    pthread_mutex_lock(&t->write_mu);
    int64_t n = taxii_db_delete(t->wdb, k->id, r->path.obj, &r->params.f);
    pthread_mutex_unlock(&t->write_mu);
    if (n < 0) {
        serve_log("taxii: DELETE: %s", err_msg());
        return taxii_fail(r, 503, "Service Unavailable", "database busy or unwritable");
    }
    if (n == 0) return taxii_fail(r, 404, "Not Found", "no such object version in this collection");
    r->status = 200;
}

static void status_get(struct taxii_srv *t, struct taxii_req *r, const struct taxii_user *u,
                       struct store *db)
{
    json_t *st;
    char coll[64];
    int rc = taxii_db_status_get(db, r->path.status, &st, coll, sizeof coll);
    if (rc < 0) {
        serve_log("taxii: %s", err_msg());
        return taxii_fail(r, 503, "Service Unavailable", "database busy or unreadable");
    }
    const struct taxii_coll *k = rc ? taxii_conf_coll(&t->conf, r->path.root, coll) : NULL;
    if (!k || !taxii_can(k, u, true)) { /* a status is its writers' */
        json_decref(st);
        return taxii_fail(r, 404, "Not Found", "no such status resource");
    }
    taxii_answer_json(r, 200, st);
}

void taxii_run(struct taxii_srv *t, struct taxii_req *r, struct store **rdb)
{
    const struct taxii_user *u = taxii_auth(&t->conf, r->auth);
    if (!u)
        return taxii_fail(r, 401, "Unauthorized",
                          r->auth ? "wrong credentials" : "sign in (HTTP Basic or a bearer token)");
    if (!taxii_media_ok(r->accept, true))
        return taxii_fail(r, 406, "Not Acceptable", "this server answers " TAXII_MEDIA);
    if (r->path.ep == TX_DISCOVERY) return discovery(t, r);
    const struct taxii_root *root = taxii_conf_root(&t->conf, r->path.root);
    if (!root) return taxii_fail(r, 404, "Not Found", "no such API root");
    if (r->path.ep == TX_ROOT) return root_info(t, r, root);
    if (r->path.ep == TX_COLLECTIONS) return collections(t, r, u);
    if (!*rdb && !(*rdb = store_open(t->db_path, false))) {
        serve_log("taxii: %s", err_msg());
        return taxii_fail(r, 503, "Service Unavailable", "database unavailable");
    }
    if (r->path.ep == TX_STATUS) return status_get(t, r, u, *rdb);
    const struct taxii_coll *k = taxii_conf_coll(&t->conf, r->path.root, r->path.coll);
    bool can_read = k && taxii_can(k, u, false), can_write = k && taxii_can(k, u, true);
    if (!can_read && !can_write) return taxii_fail(r, 404, "Not Found", "no such collection");
    if (r->path.ep == TX_COLLECTION) return taxii_answer_json(r, 200, coll_json(k, u));
    bool writing = !strcmp(r->method, "POST") || !strcmp(r->method, "DELETE");
    if ((writing && !can_write) || (!writing && !can_read) ||
        (!strcmp(r->method, "DELETE") && !can_read))
        return taxii_fail(r, 403, "Forbidden",
                          writing ? "you may not write to this collection"
                                  : "you may not read this collection");
    if (!strcmp(r->method, "POST")) return post(t, r, k, u);
    if (!strcmp(r->method, "DELETE")) return delete (t, r, k);
    listing(r, *rdb, k->id);
}

static void wake(struct server *s, struct taxii_req *r)
{
    struct MHD_Connection *c = r->c;
    pthread_mutex_lock(&s->park_mu);
    r->answered = true; /* r belongs to the connection again from here */
    bool resume = wake_locked(&r->k->park);
    pthread_mutex_unlock(&s->park_mu);
    if (resume) MHD_resume_connection(c);
}

void *taxii_thread(void *arg)
{
    struct server *s = arg;
    struct taxii_srv *t = s->taxii;
    struct store *rdb = NULL;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->head && !t->stop)
            pthread_cond_wait(&t->cv, &t->mu);
        struct taxii_req *r = t->head;
        if (!r) break; /* stopping, and nothing left */
        t->head = r->next;
        if (!t->head) t->tail = NULL;
        bool stopping = t->stop;
        pthread_mutex_unlock(&t->mu);
        if (stopping)
            taxii_fail(r, 503, "Service Unavailable", "shutting down");
        else
            taxii_run(t, r, &rdb);
        pthread_mutex_lock(&t->mu);
        t->n_queued--;
        t->n_posts -= !strcmp(r->method, "POST") || !strcmp(r->method, "DELETE");
        pthread_mutex_unlock(&t->mu);
        wake(s, r);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    store_close(rdb);
    return NULL;
}
