/* taxii_int — what taxii.c (libmicrohttpd's side) and taxii_work.c (the
 * TAXII threads) share: one request as copied out of the connection, and the
 * answer the threads leave in it. */
#ifndef MAMORI_SERVE_TAXII_INT_H
#define MAMORI_SERVE_TAXII_INT_H

#include "taxii.h"
#include "taxii_conf.h"
#include "taxii_params.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#define TAXII_MEDIA "application/taxii+json;version=2.1"
#define STIX_MEDIA "application/stix+json;version=2.1"

struct store;
struct share_warn;

struct taxii_req {
    struct taxii_req *next;
    struct conn *k;
    struct MHD_Connection *c;
    struct taxii_path path;
    struct taxii_params params;
    char method[8];
    char *auth, *accept, *ctype, *host;
    char *body;
    size_t body_len;
    /* a body refused while it still comes (over the limit, or on a GET): what to answer once it
     * has come (libmicrohttpd queues no answer in the middle of an upload), and what was dropped */
    unsigned refuse;
    size_t dropped;
    bool queued, answered, sent;
    /* the answer */
    unsigned status;
    char *resp;               /* JSON text, or NULL for an empty body */
    char first[32], last[32]; /* X-TAXII-Date-Added-First/Last, "" for none */
    bool challenge;           /* WWW-Authenticate */
    unsigned retry_after;
};

struct taxii_srv {
    struct taxii_conf conf;
    struct taxii_opts opts;
    const char *db_path;
    struct share_warn *warn;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct taxii_req *head, *tail;
    unsigned n_queued, n_posts;
    bool stop;
    pthread_t threads[TAXII_THREADS];
    unsigned n_threads;
    pthread_mutex_t write_mu; /* one POST or DELETE at a time on wdb */
    struct store *wdb;
};

/* taxii.c: an error answer (TAXII's error message resource) into r. */
void taxii_fail(struct taxii_req *r, unsigned status, const char *title, const char *desc);
/* the JSON doc (taken) as r's answer with status */
void taxii_answer_json(struct taxii_req *r, unsigned status, json_t *doc);
/* taxii_work.c */
void taxii_run(struct taxii_srv *t, struct taxii_req *r, struct store **rdb);
void *taxii_thread(void *arg);

#endif
