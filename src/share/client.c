/* client — `mamori share pull` and `mamori share push`: a TAXII 2.1 client
 * (libcurl), written to the spec rather than to mamori's own server.
 *
 * pull takes any of the three entry points a peer hands out — the discovery
 * URL (then every API root's readable collections), an API root (its
 * collections) or one collection — and pages through each collection's
 * objects until done: by `next` when the server gives one, else by
 * added_after set to the page's X-TAXII-Date-Added-Last (the spec's other
 * paging), stopping when `more` is false or missing, when a page is empty or
 * brings nothing newer, and at --max-pages in any case.  URLs in answers may
 * be absolute or relative (resolved against the URL they came from).  Each
 * page's objects go into the indicator model as the named source
 * (share_ingest_object) in one transaction, optionally kept whole in a local
 * collection too (--collection), and the collection's last date_added is
 * remembered (taxii_db_pull_put) so the next pull only asks for what is new.
 *
 * push sends a bundle's (or an envelope's) objects as envelopes of at most
 * --batch objects, then polls each status resource until it is complete or
 * --wait runs out, and reports successes and failures.  TLS peers are
 * verified (--cacert for a private CA); no redirect is followed; every answer
 * is bounded in size and time. */
#include "../core/anon.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "../core/stix.h"
#include "../core/text.h"
#include "../store/share.h"
#include "../store/share_ingest.h"
#include "../store/store.h"
#include "../store/taxii.h"
#include "share.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TAXII_ACCEPT "application/taxii+json;version=2.1"
#define MAX_ANSWER (64u << 20) /* bytes of one answer */

struct opts {
    const char *url, *db, *source, *user, *password_file, *token_file, *cacert, *added_after,
        *collection, *format, *anonymize;
    uint64_t limit, max_pages, batch;
    double wait;
    char secret[1024];
};

enum {
    O_DB = 256,
    O_SOURCE,
    O_PWFILE,
    O_TOKEN,
    O_CACERT,
    O_AFTER,
    O_LIMIT,
    O_PAGES,
    O_COLL,
    O_FORMAT,
    O_BATCH,
    O_WAIT,
    O_ANON
};

static const struct cli_opt pull_opts[] = {
    {"url", 1, 'u', "URL", "discovery, API root or collection URL"},
    {"db", 1, O_DB, "PATH", "database (default var/mamori.db)"},
    {"source", 1, O_SOURCE, "NAME", "source name of what is pulled (default: the URL's host)"},
    {"user", 1, 'U', "NAME", "HTTP Basic user"},
    {"password-file", 1, O_PWFILE, "FILE", "its password (the file's first line)"},
    {"token-file", 1, O_TOKEN, "FILE", "a bearer token instead (the file's first line)"},
    {"cacert", 1, O_CACERT, "FILE", "CA certificates to verify the server with"},
    {"added-after", 1, O_AFTER, "TIME",
     "only objects added after TIME (default: since the last pull)"},
    {"limit", 1, O_LIMIT, "N", "objects per page asked for (default 500)"},
    {"max-pages", 1, O_PAGES, "N", "pages per collection at most (default 10000)"},
    {"collection", 1, O_COLL, "ID", "also keep the objects whole in this local collection"},
    {"format", 1, O_FORMAT, "text|json", "report (default text)"},
    {"help", 0, 'h', NULL, "this help"},
};
#define N_PULL (sizeof pull_opts / sizeof pull_opts[0])

static const struct cli_opt push_opts[] = {
    {"url", 1, 'u', "URL", "the writable collection's URL"},
    {"user", 1, 'U', "NAME", "HTTP Basic user"},
    {"password-file", 1, O_PWFILE, "FILE", "its password (the file's first line)"},
    {"token-file", 1, O_TOKEN, "FILE", "a bearer token instead (the file's first line)"},
    {"cacert", 1, O_CACERT, "FILE", "CA certificates to verify the server with"},
    {"batch", 1, O_BATCH, "N", "objects per envelope (default 500)"},
    {"wait", 1, O_WAIT, "S", "seconds to wait for the statuses to complete (default 30)"},
    {"anonymize", 1, O_ANON, "KEYFILE",
     "Crypto-PAn every address first (as share anonymize does a bundle): for this recipient"},
    {"format", 1, O_FORMAT, "text|json", "report (default text)"},
    {"help", 0, 'h', NULL, "this help"},
};
#define N_PUSH (sizeof push_opts / sizeof push_opts[0])

/* ---- HTTP ---- */

struct answer {
    long code;
    char *body;
    size_t len;
    bool too_big;
    char last[64]; /* X-TAXII-Date-Added-Last */
    char type[128];
};

static size_t on_body(char *p, size_t sz, size_t n, void *cls)
{
    struct answer *a = cls;
    size_t k = sz * n;
    if (a->len + k > MAX_ANSWER) {
        a->too_big = true;
        return 0;
    }
    char *b = realloc(a->body, a->len + k + 1);
    if (!b) return 0;
    memcpy(b + a->len, p, k);
    a->body = b;
    a->len += k;
    b[a->len] = 0;
    return k;
}

static void header_value(const char *p, size_t k, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (k <= nl || strncasecmp(p, name, nl)) return;
    p += nl;
    k -= nl;
    while (k && (*p == ' ' || *p == '\t'))
        p++, k--;
    while (k && (p[k - 1] == '\r' || p[k - 1] == '\n' || p[k - 1] == ' '))
        k--;
    if (k >= cap) k = cap - 1;
    memcpy(out, p, k);
    out[k] = 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *cls)
{
    struct answer *a = cls;
    header_value(p, sz * n, "X-TAXII-Date-Added-Last:", a->last, sizeof a->last);
    header_value(p, sz * n, "Content-Type:", a->type, sizeof a->type);
    return sz * n;
}

struct client {
    CURL *h;
    const struct opts *o;
    bool tty;
};

/* scheme://host:port of url (the port filled in when the URL leaves it out) into out, or false. */
static bool origin_of(const char *url, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *sch = NULL, *host = NULL, *port = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &sch, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    if (ok) ok = (size_t)snprintf(out, cap, "%s://%s:%s", sch, host, port) < cap;
    curl_free(sch);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

/* GET (body NULL) or POST url: 0 and *a filled (a->code the HTTP status), or
 * -EIO with the reason printed.  Only ever to the origin (scheme, host, port)
 * of --url: a server's answer naming another host (an API root, a collection
 * id, a next link) would otherwise get our password or token sent there —
 * in clear when it says http:// — and its objects filed under this source's
 * trust (curl refuses the same on redirects, which are off here too). */
static int http(struct client *cl, const char *url, const char *body, struct answer *a)
{
    memset(a, 0, sizeof *a);
    char want[600], got[600], shown[512];
    if (!origin_of(cl->o->url, want, sizeof want) || !origin_of(url, got, sizeof got) ||
        strcmp(want, got)) {
        cli_error("%s: refused: not on the origin of --url (%s); credentials and trust stay there",
                  esc_term(url, shown, sizeof shown), esc_term(want, got, sizeof got));
        return -EPERM;
    }
    CURL *h = cl->h;
    curl_easy_reset(h);
    struct curl_slist *hd = curl_slist_append(NULL, "Accept: " TAXII_ACCEPT);
    char auth[1100];
    if (cl->o->token_file) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cl->o->secret);
        hd = curl_slist_append(hd, auth);
    } else if (cl->o->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, cl->o->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, cl->o->secret);
    }
    if (body) {
        hd = curl_slist_append(hd, "Content-Type: " TAXII_ACCEPT);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cl->o->cacert) curl_easy_setopt(h, CURLOPT_CAINFO, cl->o->cacert);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hd);
    memset(auth, 0, sizeof auth);
    if (rc != CURLE_OK) {
        cli_error("%s: %s", esc_term(url, shown, sizeof shown),
                  a->too_big ? "answer over 64 MiB" : curl_easy_strerror(rc));
        free(a->body);
        a->body = NULL;
        return -EIO;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->code);
    return 0;
}

/* The answer as JSON when it is 2xx JSON; else prints the server's error. */
static json_t *json_answer(const char *url, struct answer *a, long want)
{
    char shown[512], d[512];
    json_t *doc = a->body ? json_loadb(a->body, a->len, 0, NULL) : NULL;
    if (a->code != want) {
        const char *t = json_string_value(json_object_get(doc, "title"));
        const char *desc = json_string_value(json_object_get(doc, "description"));
        cli_error("%s: HTTP %ld%s%s%s%s", esc_term(url, shown, sizeof shown), a->code,
                  t ? ": " : "", t ? esc_term(t, d, 128) : "", desc ? ": " : "",
                  desc ? esc_term(desc, d + 128, sizeof d - 128) : "");
        json_decref(doc);
        doc = NULL;
    } else if (!json_is_object(doc)) {
        cli_error("%s: the answer is not a JSON object", esc_term(url, shown, sizeof shown));
        json_decref(doc);
        doc = NULL;
    }
    free(a->body);
    a->body = NULL;
    return doc;
}

static json_t *get_json(struct client *cl, const char *url, struct answer *a)
{
    if (http(cl, url, NULL, a)) return NULL;
    return json_answer(url, a, 200);
}

/* href resolved against base (absolute, host-relative or relative), malloc'd. */
static char *resolve(const char *base, const char *href)
{
    CURLU *u = curl_url();
    char *out = NULL, *tmp = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, href, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &tmp, 0) == CURLUE_OK) {
        out = strdup(tmp);
        curl_free(tmp);
    }
    curl_url_cleanup(u);
    return out;
}

static char *with_slash(const char *url)
{
    size_t n = strlen(url);
    char *s = malloc(n + 2);
    if (!s) return NULL;
    memcpy(s, url, n + 1);
    if (n && s[n - 1] != '/' && !strchr(url, '?')) strcat(s, "/");
    return s;
}

static bool secret_from(const char *path, char *out, size_t cap)
{
    size_t len;
    char *t = text_load(path, 64 * 1024, &len);
    if (!t) {
        cli_error("%s", err_msg());
        return false;
    }
    size_t n = strcspn(t, "\r\n");
    if (n == 0 || n >= cap) {
        cli_error("%s: the first line should hold the secret (1 to %zu bytes)", path, cap - 1);
        free(t);
        return false;
    }
    memcpy(out, t, n);
    out[n] = 0;
    memset(t, 0, len);
    free(t);
    return true;
}

/* ---- pull ---- */

struct tally {
    uint64_t pages, objects, indicators, fresh, duplicates, dropped, invalid, kept;
};

struct pull {
    struct client *cl;
    struct store *db;
    struct share_warn *warn;
    const char *source;
    json_t *report; /* one entry per collection */
    struct tally all;
    bool warned_ingest;
};

static bool later(const char *a, const char *b)
{
    int64_t x, y;
    if (stix_time_parse(a, &x)) return false;
    return !b || !*b || stix_time_parse(b, &y) || x > y;
}

/* One page's objects into the database, in one transaction. */
static int take_page(struct pull *p, const json_t *objects, const char *objects_url,
                     const char *last, struct tally *t)
{
    struct share_ingest_opts io = {.source = p->source, .now_us = 0, .warn = p->warn};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    io.now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    struct share_ingest_stats st = {0};
    int rc = share_begin(p->db);
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o)
    {
        if (rc || !p->cl->o->collection) break;
        int k = taxii_db_add(p->db, p->cl->o->collection, o, io.now_us);
        if (k < 0 && k != -EINVAL) rc = k;
        t->kept += k > 0;
    }
    if (!rc) rc = share_ingest_objects(p->db, objects, &io, &st, NULL, NULL);
    struct share_log_rec lr = {io.now_us,     "pull",   objects_url,   json_array_size(objects),
                               st.indicators, st.fresh, st.duplicates, st.dropped,
                               NULL};
    if (!rc) rc = share_log_add(p->db, &lr);
    if (!rc && last && *last) rc = taxii_db_pull_put(p->db, objects_url, last, io.now_us);
    if (!rc) rc = share_commit(p->db);
    if (rc) {
        share_rollback(p->db);
        cli_error("share pull: %s", err_msg());
        return rc;
    }
    t->objects += json_array_size(objects);
    t->indicators += st.indicators;
    t->fresh += st.fresh;
    t->duplicates += st.duplicates;
    t->dropped += st.dropped;
    t->invalid += st.invalid;
    return 0;
}

static char *page_url(CURL *h, const char *base, uint64_t limit, const char *next,
                      const char *after)
{
    char *v = next ? curl_easy_escape(h, next, 0) : after ? curl_easy_escape(h, after, 0) : NULL;
    size_t n = strlen(base) + (v ? strlen(v) : 0) + 64;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "%s?limit=%llu%s%s", base, (unsigned long long)limit,
                 next    ? "&next="
                 : after ? "&added_after="
                         : "",
                 v ? v : "");
    curl_free(v);
    return u;
}

static int pull_collection(struct pull *p, const char *coll_url, const char *title)
{
    const struct opts *o = p->cl->o;
    char *base = with_slash(coll_url), *objects_url = base ? resolve(base, "objects/") : NULL;
    free(base);
    if (!objects_url) {
        cli_error("share pull: %s: not a URL", coll_url);
        return -EINVAL;
    }
    char after[64] = "", last[64] = "";
    if (o->added_after)
        snprintf(after, sizeof after, "%s", o->added_after);
    else if (taxii_db_pull_get(p->db, objects_url, after, sizeof after) < 0)
        cli_error("warning: share pull: %s", err_msg());
    snprintf(last, sizeof last, "%s", after);
    struct tally t = {0};
    char *next = NULL;
    int rc = 0;
    while (!rc) {
        if (t.pages == o->max_pages) {
            cli_error("warning: share pull: %s: stopped after %llu pages (--max-pages)",
                      objects_url, (unsigned long long)t.pages);
            break;
        }
        char *u = page_url(p->cl->h, objects_url, o->limit, next, after[0] ? after : NULL);
        struct answer a;
        json_t *env = u ? get_json(p->cl, u, &a) : NULL;
        free(u);
        if (!env) {
            rc = -EIO;
            break;
        }
        t.pages++;
        json_t *objects = json_object_get(env, "objects");
        if (!json_is_array(objects)) objects = NULL;
        const char *seen = a.last[0] && later(a.last, last) ? a.last : NULL;
        if (seen) snprintf(last, sizeof last, "%s", seen);
        if (objects && json_array_size(objects)) rc = take_page(p, objects, objects_url, last, &t);
        if (p->cl->tty)
            fprintf(stderr, "\rmamori: %s: %llu objects, %llu pages", title,
                    (unsigned long long)t.objects, (unsigned long long)t.pages);
        const char *nx = json_string_value(json_object_get(env, "next"));
        bool more = json_is_true(json_object_get(env, "more"));
        free(next);
        next = NULL;
        if (!more || !objects || !json_array_size(objects)) {
            json_decref(env);
            break;
        }
        if (nx) {
            next = strdup(nx);
        } else if (seen) { /* a server that pages by added_after alone */
            snprintf(after, sizeof after, "%s", seen);
        } else {
            json_decref(env);
            break; /* no way to ask for the rest without repeating this page */
        }
        json_decref(env);
    }
    free(next);
    if (p->cl->tty) fputc('\n', stderr);
    json_array_append_new(
        p->report, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s?,s:b}", "url", objects_url,
                             "title", title, "pages", (json_int_t)t.pages, "objects",
                             (json_int_t)t.objects, "indicators", (json_int_t)t.indicators, "fresh",
                             (json_int_t)t.fresh, "duplicates", (json_int_t)t.duplicates, "dropped",
                             (json_int_t)t.dropped, "invalid", (json_int_t)t.invalid, "last_added",
                             last[0] ? last : NULL, "ok", rc == 0));
    p->all.pages += t.pages;
    p->all.objects += t.objects;
    p->all.indicators += t.indicators;
    p->all.fresh += t.fresh;
    p->all.duplicates += t.duplicates;
    p->all.dropped += t.dropped;
    p->all.invalid += t.invalid;
    p->all.kept += t.kept;
    free(objects_url);
    return rc;
}

/* An API root's collections (its URL), the readable ones pulled. */
static bool is_uuid(const char *s)
{
    if (strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int pull_root(struct pull *p, const char *root_url)
{
    char *base = with_slash(root_url), *list_url = base ? resolve(base, "collections/") : NULL;
    free(base);
    struct answer a;
    json_t *doc = list_url ? get_json(p->cl, list_url, &a) : NULL;
    int rc = doc ? 0 : -EIO;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "collections"), i, c)
    {
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *title = json_string_value(json_object_get(c, "title"));
        if (!id || !json_is_true(json_object_get(c, "can_read"))) continue;
        if (!is_uuid(id)) { /* TAXII 2.1 §5.2: an id is a UUID; anything else could walk the path */
            char shown[160];
            cli_error("share pull: %s: a collection id that is not a UUID: %s", list_url,
                      esc_term(id, shown, sizeof shown));
            rc = -EINVAL;
            continue;
        }
        char rel[128];
        snprintf(rel, sizeof rel, "%.100s/", id);
        char *cu = resolve(list_url, rel);
        int k = cu ? pull_collection(p, cu, title ? title : id) : -ENOMEM;
        free(cu);
        if (k) rc = k;
    }
    json_decref(doc);
    free(list_url);
    return rc;
}

/* The URL given: discovery, an API root, a collections list or a collection. */
static int pull_url(struct pull *p, const char *url)
{
    struct answer a;
    json_t *doc = get_json(p->cl, url, &a);
    if (!doc) return -EIO;
    int rc = 0;
    json_t *roots = json_object_get(doc, "api_roots");
    if (json_is_array(roots)) {
        size_t i;
        json_t *r;
        json_array_foreach(roots, i, r)
        {
            char *ru = json_is_string(r) ? resolve(url, json_string_value(r)) : NULL;
            int k = ru ? pull_root(p, ru) : 0;
            free(ru);
            if (k) rc = k;
        }
    } else if (json_is_array(json_object_get(doc, "versions"))) {
        rc = pull_root(p, url);
    } else if (json_object_get(doc, "id") && json_object_get(doc, "can_read")) {
        const char *title = json_string_value(json_object_get(doc, "title"));
        if (!json_is_true(json_object_get(doc, "can_read"))) {
            cli_error("share pull: %s: the collection is not readable for you", url);
            rc = -EACCES;
        } else {
            rc = pull_collection(p, url, title ? title : url);
        }
    } else if (json_object_get(doc, "collections") || strstr(url, "/collections")) {
        char *base = with_slash(url), *root = base ? resolve(base, "../") : NULL;
        free(base);
        rc = root ? pull_root(p, root) : -ENOMEM;
        free(root);
    } else {
        cli_error("share pull: %s: not a TAXII discovery, API root or collection", url);
        rc = -EINVAL;
    }
    json_decref(doc);
    return rc;
}

/* ---- options ---- */

static int parse(int argc, char **argv, const struct share_sub *sub, struct opts *o)
{
    struct option lo[16];
    char shorts[3 * 16 + 1];
    cli_opt_tables(sub->opts, sub->nopts, lo, shorts);
    *o = (struct opts){.db = "var/mamori.db",
                       .format = "text",
                       .limit = 500,
                       .max_pages = 10000,
                       .batch = 500,
                       .wait = 30};
    int c;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'u':
            o->url = optarg;
            break;
        case O_DB:
            o->db = optarg;
            break;
        case O_SOURCE:
            o->source = optarg;
            break;
        case 'U':
            o->user = optarg;
            break;
        case O_PWFILE:
            o->password_file = optarg;
            break;
        case O_TOKEN:
            o->token_file = optarg;
            break;
        case O_CACERT:
            o->cacert = optarg;
            break;
        case O_AFTER:
            o->added_after = optarg;
            break;
        case O_COLL:
            o->collection = optarg;
            break;
        case O_FORMAT:
            o->format = optarg;
            break;
        case O_LIMIT:
            ok = cli_uint("--limit", optarg, 1, 100000, &o->limit);
            break;
        case O_PAGES:
            ok = cli_uint("--max-pages", optarg, 1, 10000000, &o->max_pages);
            break;
        case O_BATCH:
            ok = cli_uint("--batch", optarg, 1, 100000, &o->batch);
            break;
        case O_WAIT:
            ok = cli_seconds("--wait", optarg, true, 86400, &o->wait);
            break;
        case O_ANON:
            o->anonymize = optarg;
            break;
        case 'h':
            share_usage(stdout, sub);
            return -1;
        default:
            share_usage(stderr, sub);
            return EXIT_USAGE;
        }
        if (!ok) return EXIT_USAGE;
    }
    int64_t us;
    const char *why = !o->url ? "--url is required"
                      : strcmp(o->format, "text") && strcmp(o->format, "json")
                          ? "--format is text or json"
                      : o->token_file && o->user     ? "--user or --token-file, not both"
                      : o->user && !o->password_file ? "--user needs --password-file"
                      : o->password_file && !o->user ? "--password-file needs --user"
                      : o->added_after && stix_time_parse(o->added_after, &us)
                          ? "--added-after is not an RFC 3339 time (2024-01-01T00:00:00Z)"
                          : NULL;
    if (why) {
        cli_error("share %s: %s", sub->name, why);
        return EXIT_USAGE;
    }
    if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)) {
        cli_error("share %s: --url: '%s' is not an http(s) URL", sub->name, o->url);
        return EXIT_USAGE;
    }
    if (o->password_file && !secret_from(o->password_file, o->secret, sizeof o->secret)) return 1;
    if (o->token_file && !secret_from(o->token_file, o->secret, sizeof o->secret)) return 1;
    return 0;
}

static bool client_open(struct client *cl, const struct opts *o)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cl->o = o;
    cl->tty = isatty(2) && !strcmp(o->format, "text");
    cl->h = curl_easy_init();
    if (!cl->h) cli_error("share: cannot start libcurl");
    return cl->h != NULL;
}

static void client_close(struct client *cl)
{
    curl_easy_cleanup(cl->h);
    curl_global_cleanup();
}

static char *host_of(const char *url)
{
    CURLU *u = curl_url();
    char *h = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
        out = strdup(h);
        curl_free(h);
    }
    curl_url_cleanup(u);
    return out;
}

static int run_pull(int argc, char **argv)
{
    struct opts o;
    int rc = parse(argc, argv, &share_pull, &o);
    if (rc) return rc < 0 ? 0 : rc;
    struct client cl;
    if (!client_open(&cl, &o)) return 1;
    char *host = o.source ? NULL : host_of(o.url);
    struct pull p = {.cl = &cl,
                     .source = o.source ? o.source
                               : host   ? host
                                        : "taxii",
                     .report = json_array()};
    p.db = store_open(o.db, true);
    if (!p.db) {
        cli_error("%s", err_msg());
        client_close(&cl);
        free(host);
        return 1;
    }
    p.warn = share_warn_load(NULL);
    if (!p.warn) cli_error("warning: share pull: %s (nothing dropped)", err_msg());
    rc = pull_url(&p, o.url);
    if (!strcmp(o.format, "json")) {
        json_t *doc = json_pack("{s:s,s:s,s:o,s:I,s:I,s:I,s:b}", "url", o.url, "source", p.source,
                                "collections", p.report, "objects", (json_int_t)p.all.objects,
                                "indicators", (json_int_t)p.all.indicators, "fresh",
                                (json_int_t)p.all.fresh, "ok", rc == 0);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(doc);
    } else {
        char e[256];
        size_t i;
        json_t *c;
        json_array_foreach(p.report, i, c) printf(
            "%s: %lld objects in %lld pages; %lld indicators (%lld new, %lld duplicates, %lld "
            "dropped), %lld invalid\n",
            esc_term(json_string_value(json_object_get(c, "title")), e, sizeof e),
            json_integer_value(json_object_get(c, "objects")),
            json_integer_value(json_object_get(c, "pages")),
            json_integer_value(json_object_get(c, "indicators")),
            json_integer_value(json_object_get(c, "fresh")),
            json_integer_value(json_object_get(c, "duplicates")),
            json_integer_value(json_object_get(c, "dropped")),
            json_integer_value(json_object_get(c, "invalid")));
        printf("pulled %llu objects from %zu collections as source %s\n",
               (unsigned long long)p.all.objects, json_array_size(p.report),
               esc_term(p.source, e, sizeof e));
        json_decref(p.report);
    }
    share_warn_free(p.warn);
    store_close(p.db);
    client_close(&cl);
    free(host);
    return rc ? 1 : 0;
}

const struct share_sub share_pull = {
    "pull",
    "--url URL [options]",
    "fetch a TAXII 2.1 server's collections (new objects only) into the indicator model",
    pull_opts,
    N_PULL,
    run_pull};

/* ---- push ---- */

static json_t *load_objects(const char *path)
{
    size_t len;
    char *t = NULL;
    if (!strcmp(path, "-")) {
        size_t cap = 0;
        len = 0;
        for (;;) {
            if (len + 65536 + 1 > cap) {
                char *b = cap > (256u << 20) ? NULL : realloc(t, cap = 2 * cap + 65536 + 1);
                if (!b) {
                    free(t);
                    cli_error("share push: stdin: too large");
                    return NULL;
                }
                t = b;
            }
            size_t n = fread(t + len, 1, 65536, stdin);
            len += n;
            if (n == 0) break;
        }
        t[len] = 0;
    } else if (!(t = text_load(path, 256u << 20, &len))) {
        cli_error("%s", err_msg());
        return NULL;
    }
    json_error_t je;
    json_t *doc = json_loadb(t, len, 0, &je);
    free(t);
    json_t *objects = json_object_get(doc, "objects");
    if (!json_is_array(objects)) {
        cli_error("share push: %s: %s", path,
                  doc ? "not a STIX bundle or TAXII envelope (no \"objects\")" : je.text);
        json_decref(doc);
        return NULL;
    }
    json_incref(objects);
    json_decref(doc);
    return objects;
}

struct push_total {
    uint64_t total, success, failure, pending;
    json_t *failures, *statuses;
};

static void count_status(struct push_total *t, const json_t *st)
{
    t->total += json_integer_value(json_object_get(st, "total_count"));
    t->success += json_integer_value(json_object_get(st, "success_count"));
    t->failure += json_integer_value(json_object_get(st, "failure_count"));
    t->pending += json_integer_value(json_object_get(st, "pending_count"));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(st, "failures"), i, f) json_array_append(t->failures, f);
    json_array_append(t->statuses, json_object_get(st, "id"));
}

/* One envelope: POSTed, its status polled until complete or the deadline. */
static int push_one(struct client *cl, const char *objects_url, const char *coll_url,
                    json_t *objects, double deadline, struct push_total *t)
{
    json_t *env = json_pack("{s:O}", "objects", objects);
    char *body = env ? json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(env);
    if (!body) return -ENOMEM;
    struct answer a;
    int rc = http(cl, objects_url, body, &a);
    free(body);
    json_t *st = rc ? NULL : json_answer(objects_url, &a, 202);
    if (!st) return -EIO;
    const char *id = json_string_value(json_object_get(st, "id"));
    char rel[128];
    snprintf(rel, sizeof rel, "../../status/%.64s/", id ? id : "");
    char *su = id ? resolve(coll_url, rel) : NULL;
    double wait = 0.2;
    while (su && strcmp(json_string_value(json_object_get(st, "status")) ?: "", "complete") &&
           cli_now() < deadline) {
        struct timespec ts = {(time_t)wait, (long)((wait - (long)wait) * 1e9)};
        nanosleep(&ts, NULL); /* a status is the server's to complete: poll, backing off */
        wait = wait < 2 ? wait * 2 : 2;
        json_t *n = get_json(cl, su, &a);
        if (!n) break;
        json_decref(st);
        st = n;
    }
    free(su);
    count_status(t, st);
    json_decref(st);
    return 0;
}

static int run_push(int argc, char **argv)
{
    struct opts o;
    int rc = parse(argc, argv, &share_push, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (optind != argc - 1) {
        cli_error("share push: one FILE (a bundle or envelope, - for stdin)");
        return EXIT_USAGE;
    }
    json_t *objects = load_objects(argv[optind]);
    if (!objects) return 1;
    if (o.anonymize) { /* before any connection: nothing leaves in clear */
        struct cpan *key = cpan_load(o.anonymize);
        json_t *b = key ? json_pack("{s:s,s:O}", "type", "bundle", "objects", objects) : NULL;
        int e = b ? anon_stix_bundle(key, b, NULL) : -1;
        if (e) cli_error("share push: --anonymize %s: %s", o.anonymize, key && !b ? "out of memory" : err_msg());
        json_decref(b);
        cpan_free(key);
        if (e) {
            json_decref(objects);
            return 1;
        }
    }
    struct client cl;
    if (!client_open(&cl, &o)) {
        json_decref(objects);
        return 1;
    }
    char *coll = with_slash(o.url), *objects_url = coll ? resolve(coll, "objects/") : NULL;
    struct push_total t = {.failures = json_array(), .statuses = json_array()};
    double deadline = cli_now() + o.wait;
    size_t n = json_array_size(objects);
    for (size_t i = 0; objects_url && !rc && i < n; i += o.batch) {
        json_t *part = json_array();
        for (size_t j = i; j < n && j < i + o.batch; j++)
            json_array_append(part, json_array_get(objects, j));
        rc = push_one(&cl, objects_url, coll, part, deadline, &t);
        json_decref(part);
        if (cl.tty)
            fprintf(stderr, "\rmamori: pushed %zu of %zu objects", i + json_array_size(part), n);
    }
    if (cl.tty) fputc('\n', stderr);
    if (!strcmp(o.format, "json")) {
        json_t *doc = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:O,s:O,s:b}", "url", o.url, "objects",
                                (json_int_t)n, "total", (json_int_t)t.total, "success",
                                (json_int_t)t.success, "failure", (json_int_t)t.failure, "pending",
                                (json_int_t)t.pending, "statuses", t.statuses, "failures",
                                t.failures, "ok", rc == 0 && !t.failure && !t.pending);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(doc);
    } else {
        char e1[256], e2[512];
        size_t i;
        json_t *f;
        json_array_foreach(t.failures, i, f)
            printf("failed: %s: %s\n",
                   esc_term(json_string_value(json_object_get(f, "id")) ?: "", e1, sizeof e1),
                   esc_term(json_string_value(json_object_get(f, "message")) ?: "", e2, sizeof e2));
        printf("pushed %zu objects: %llu accepted, %llu failed, %llu pending\n", n,
               (unsigned long long)t.success, (unsigned long long)t.failure,
               (unsigned long long)t.pending);
    }
    json_decref(t.failures);
    json_decref(t.statuses);
    json_decref(objects);
    free(coll);
    free(objects_url);
    client_close(&cl);
    return rc || t.failure || t.pending ? 1 : 0;
}

const struct share_sub share_push = {
    "push",
    "--url COLLECTION-URL [options] FILE",
    "send a STIX bundle's objects to a writable TAXII 2.1 collection and report its status",
    push_opts,
    N_PUSH,
    run_push};
