/* taxii — the TAXII server's libmicrohttpd side (see taxii.h for the model).
 *
 * Per request: the first call (the head is complete) parses and refuses what
 * is wrong at once (404, 405, 400, a Content-Length over the limit: 413) and
 * copies what the threads need; the body calls append to a buffer bounded by
 * --taxii-max-body (413 as soon as it is exceeded, so a chunked upload cannot
 * grow past it); the last call queues the request and parks the connection;
 * a TAXII thread leaves the answer in the request and wakes it (park() and
 * wake_locked() of work.c close the race), and the call after that sends it.
 * Nothing here waits, reads the database or checks a password. */
#include "../core/err.h"
#include "../store/share_ingest.h"
#include "../store/store.h"
#include "serve.h"
#include "taxii_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void taxii_fail(struct taxii_req *r, unsigned status, const char *title, const char *desc)
{
    char code[8];
    snprintf(code, sizeof code, "%u", status);
    json_t *e = json_pack("{s:s,s:s}", "title", title, "http_status", code);
    if (e && desc) json_object_set_new(e, "description", json_string(desc));
    taxii_answer_json(r, status, e);
    r->challenge = status == 401;
}

void taxii_answer_json(struct taxii_req *r, unsigned status, json_t *doc)
{
    free(r->resp);
    r->resp = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    r->status = doc && !r->resp ? 500 : status;
}

void taxii_req_free(struct taxii_req *r)
{
    if (!r) return;
    free(r->auth);
    free(r->accept);
    free(r->ctype);
    free(r->host);
    free(r->body);
    free(r->resp);
    free(r);
}

static char *header(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? strndup(v, 4096) : NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, struct taxii_req *r)
{
    static const char empty[] = "";
    r->sent = true;
    char *body = r->resp;
    size_t len = body ? strlen(body) : 0;
    r->resp = NULL;
    struct MHD_Response *m =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)empty, MHD_RESPMEM_PERSISTENT);
    if (!m) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(m, "Content-Type", TAXII_MEDIA);
    MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(m, "Cache-Control", "no-store");
    if (r->first[0]) MHD_add_response_header(m, "X-TAXII-Date-Added-First", r->first);
    if (r->last[0]) MHD_add_response_header(m, "X-TAXII-Date-Added-Last", r->last);
    if (r->challenge)
        MHD_add_response_header(m, "WWW-Authenticate",
                                "Basic realm=\"mamori TAXII\", Bearer realm=\"mamori TAXII\"");
    if (r->status == 405) MHD_add_response_header(m, "Allow", taxii_allowed(r->path.ep));
    if (r->retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", r->retry_after);
        MHD_add_response_header(m, "Retry-After", ra);
    }
    enum MHD_Result ok = MHD_queue_response(c, r->status ? r->status : 500, m);
    MHD_destroy_response(m);
    return ok;
}

static enum MHD_Result fail_now(struct MHD_Connection *c, struct taxii_req *r, unsigned status,
                                const char *title, const char *desc)
{
    taxii_fail(r, status, title, desc);
    r->answered = true;
    return reply(c, r);
}

struct args {
    struct taxii_req *r;
    int status;
    char msg[256];
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct args *a = cls;
    if (!a->status)
        a->status =
            taxii_params_arg(&a->r->params, a->r->path.ep, key, value, a->msg, sizeof a->msg);
    return MHD_YES;
}

/* The first call: the request head is complete. */
static enum MHD_Result head(struct server *s, struct conn *k, struct MHD_Connection *c,
                            const char *url, const char *method, const char *version)
{
    struct taxii_req *r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    k->taxii = r;
    r->k = k;
    r->c = c;
    snprintf(r->method, sizeof r->method, "%s", method);
    if (k->nul || version != k->uri_end + 1)
        return fail_now(c, r, 400, "Bad Request", "a NUL byte (%00) in the request");
    if (k->args > API_MAX_ARGS)
        return fail_now(c, r, 400, "Bad Request", "too many query arguments (at most 16)");
    if (taxii_path_parse(url, &r->path))
        return fail_now(c, r, 404, "Not Found", "no such TAXII endpoint");
    if (!taxii_method_ok(r->path.ep, method))
        return fail_now(c, r, 405, "Method Not Allowed", taxii_allowed(r->path.ep));
    taxii_params_init(&r->params);
    struct args a = {.r = r};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, each_arg, &a);
    if (a.status) return fail_now(c, r, 400, "Bad Request", a.msg);
    r->auth = header(c, "Authorization");
    r->accept = header(c, "Accept");
    r->ctype = header(c, "Content-Type");
    r->host = header(c, "Host");
    const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (len && strspn(len, "0123456789") == strlen(len) && strlen(len) < 20 &&
        strtoull(len, NULL, 10) > s->taxii->opts.max_body)
        return fail_now(c, r, 413, "Payload Too Large", "the body is over this server's limit");
    return MHD_YES;
}

static int submit(struct taxii_srv *t, struct taxii_req *r)
{
    bool post = !strcmp(r->method, "POST") || !strcmp(r->method, "DELETE");
    pthread_mutex_lock(&t->mu);
    int rc = t->stop                                     ? -ESHUTDOWN
             : t->n_queued >= TAXII_QUEUE                ? -EBUSY
             : post && t->n_posts >= t->opts.max_pending ? -EBUSY
                                                         : 0;
    if (!rc) {
        r->queued = true;
        r->k->park = PARK_IDLE;
        if (t->tail)
            t->tail->next = r;
        else
            t->head = r;
        t->tail = r;
        t->n_queued++;
        t->n_posts += post;
        pthread_cond_signal(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

enum MHD_Result taxii_handle(struct server *s, struct conn *k, struct MHD_Connection *c,
                             const char *url, const char *method, const char *version,
                             const char *upload, size_t *upload_size)
{
    if (!k->started) {
        k->started = true;
        conn_request(s, k, true);
        return head(s, k, c, url, method, version);
    }
    struct taxii_req *r = k->taxii;
    if (!r) return MHD_NO;
    if (r->answered) { /* refused while uploading, or woken with the answer */
        *upload_size = 0;
        return r->sent ? MHD_YES : reply(c, r);
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (!r->refuse && (strcmp(r->method, "POST") || r->body_len + n > s->taxii->opts.max_body)) {
            r->refuse = strcmp(r->method, "POST") ? 400 : 413;
            free(r->body); /* nothing of it is kept: the answer comes when it has been read */
            r->body = NULL;
            r->body_len = 0;
        }
        if (r->refuse) {
            r->dropped += n;
            /* read and dropped up to four limits' worth, then the connection is closed */
            return r->dropped > 4 * s->taxii->opts.max_body ? MHD_NO : MHD_YES;
        }
        char *b = realloc(r->body, r->body_len + n + 1);
        if (!b) return MHD_NO;
        memcpy(b + r->body_len, upload, n);
        r->body = b;
        r->body_len += n;
        b[r->body_len] = 0;
        return MHD_YES;
    }
    if (r->refuse)
        return fail_now(c, r, r->refuse, r->refuse == 400 ? "Bad Request" : "Payload Too Large",
                        r->refuse == 400 ? "this request takes no body"
                                         : "the body is over this server's limit");
    if (r->queued) return MHD_YES;
    int rc = submit(s->taxii, r);
    if (rc) {
        taxii_fail(r, 503, "Service Unavailable",
                   rc == -EBUSY ? "busy: too many requests at once, retry" : "shutting down");
        r->retry_after = rc == -EBUSY ? 1 : 0;
        r->answered = true;
        return reply(c, r);
    }
    if (park(s, c, &k->park, false)) return MHD_YES; /* called again once answered */
    return reply(c, r);
}

int taxii_start(struct server *s, const struct taxii_opts *o)
{
    struct taxii_srv *t = calloc(1, sizeof *t);
    if (!t) return err_set(-ENOMEM, "taxii: out of memory");
    int rc = taxii_conf_load(o->conf, &t->conf);
    if (rc) {
        free(t);
        return rc;
    }
    t->opts = *o;
    t->db_path = s->db_path;
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->write_mu, NULL);
    serve_cond_init(&t->cv);
    s->taxii = t;
    if (!(t->wdb = store_open(s->db_path, true))) return -EIO;
    t->warn = share_warn_load(NULL); /* NULL: nothing dropped (the error goes to the log) */
    if (!t->warn) serve_log("taxii: warninglists: %s", err_msg());
    for (; t->n_threads < TAXII_THREADS; t->n_threads++)
        if (pthread_create(&t->threads[t->n_threads], NULL, taxii_thread, s))
            return err_set(-EAGAIN, "taxii: cannot start its threads");
    return 0;
}

void taxii_stop(struct server *s)
{
    struct taxii_srv *t = s->taxii;
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    for (unsigned i = 0; i < t->n_threads; i++)
        pthread_join(t->threads[i], NULL);
    t->n_threads = 0;
}

void taxii_free(struct server *s)
{
    struct taxii_srv *t = s->taxii;
    if (!t) return;
    store_close(t->wdb);
    share_warn_free(t->warn);
    taxii_conf_free(&t->conf);
    free(t);
    s->taxii = NULL;
}
