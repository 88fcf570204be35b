/* taxii — the TAXII 2.1 server inside serve (owner: the TAXII part).
 *
 * Enabled by serve --taxii FILE (taxii_conf.h).  Everything under /taxii2/ is
 * answered here, never by the dashboard's routes (which stay GET/HEAD-only):
 * taxii.c runs in libmicrohttpd's threads and only does what is cheap and
 * bounded — parse the path and arguments (taxii_params.h), refuse a wrong
 * method (405) or a body over --taxii-max-body (413), copy the body — then
 * parks the connection and hands the request to the TAXII threads
 * (taxii_work.c), which check the credentials (a crypt(3) hash costs
 * milliseconds), the media types, the rights, and run the query or the POST
 * on the database.  The TAXII threads are their own pool with their own
 * bounded queue, so the dashboard's expensive queries and TAXII never wait for
 * each other, and POSTs waiting are bounded apart (--taxii-max-pending):
 * beyond either bound the answer is 503 with Retry-After. */
#ifndef MAMORI_SERVE_TAXII_H
#define MAMORI_SERVE_TAXII_H

#include <microhttpd.h>
#include <stddef.h>

struct server;
struct conn;
struct taxii_req;

#define TAXII_MAX_BODY (4u << 20) /* bytes of one POST */
#define TAXII_MAX_OBJECTS 10000   /* objects in one envelope */
#define TAXII_MAX_PENDING 8       /* POSTs queued or running */
#define TAXII_THREADS 2
#define TAXII_QUEUE 64 /* requests queued or running */

struct taxii_opts {
    const char *conf;
    size_t max_body;
    unsigned max_objects, max_pending;
};

/* Loads the configuration, opens (and migrates) the database for writing
 * and starts the threads: 0, or an error set. */
int taxii_start(struct server *s, const struct taxii_opts *o);
/* Stops the threads; every parked TAXII request is answered (503) first. */
void taxii_stop(struct server *s);
void taxii_free(struct server *s);
/* serve.c's callback hands every /taxii2 request here (when --taxii is on). */
enum MHD_Result taxii_handle(struct server *s, struct conn *k, struct MHD_Connection *c,
                             const char *url, const char *method, const char *version,
                             const char *upload, size_t *upload_size);
void taxii_req_free(struct taxii_req *r);

#endif
