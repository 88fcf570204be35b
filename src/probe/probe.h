/* probe — what the event loop, the protocol modules and the command share.
 *
 * A job is one (address, port, protocol) to check; it stays in the job array for the whole run
 * (a few dozen bytes each).  A connection slot is what an active job holds: the socket, the
 * bounded send buffer, the banner and device hints, and the protocol module's state, all inside
 * the slot, so the pool (--concurrency slots, made once) is the only memory the hot path uses.  A
 * job keeps its slot across reconnects (a device that closes after each failed pair), so its
 * banner and attempt count carry over.
 *
 * Protocol modules are const ops structs, one file each, one line in the registry (proto.c).  A
 * stream module is driven by the loop: start() when connected, data() for each read, end() when
 * the peer closed or went quiet; each says what comes next (enum probe_next).  A blocking module
 * (ssh, through libssh) runs whole in the worker pool instead (run()).  Modules take dictionary
 * pairs through probe_next_pair(), which enforces --max-attempts; after a module marks a login
 * accepted (probe_accepted) the loop closes the socket at once and sends nothing more, whatever
 * was queued. */
#ifndef MAMORI_PROBE_H
#define MAMORI_PROBE_H

#include "../core/addr.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_BANNER 512
#define PROBE_DEVICE 256
#define PROBE_OUT 2048
#define PROBE_STATE_MAX 9216

struct cred {
    const char *user, *pass;
    uint16_t cls;  /* index into dict.classes */
    uint16_t dict; /* index into dict.files */
};

struct dict {
    struct cred *v;
    size_t n, cap;
    char *classes[64];
    size_t n_classes;
    char *files[64]; /* the dictionaries' names as given ("mirai" for the bundled one) */
    size_t n_files;
};

struct probe_proto;

struct probe_job {
    struct ipaddr ip;
    uint16_t port;
    uint8_t proto; /* index into probe_protos */
    uint8_t started, done;
    uint32_t next;     /* the dictionary pair to try next */
    uint32_t attempts; /* pairs sent */
    int32_t accepted;  /* the pair that logged in, -1 none */
    uint16_t conns;    /* connections made */
};

struct probe_cfg {
    unsigned concurrency, per_host, max_attempts, ssh_workers;
    uint64_t rate; /* new connections per second */
    double connect_timeout, read_timeout, host_timeout;
    char user_agent[256];
    const char *http_path;
    volatile sig_atomic_t *stop; /* set by a signal: blocking modules end early */
};

enum probe_next {
    PROBE_CONTINUE,  /* keep reading (what was queued is sent) */
    PROBE_RECONNECT, /* close and connect again for the next pair */
    PROBE_DONE,      /* the job is finished: its status says how */
};

struct probe_conn {
    struct probe_job *job;
    const struct probe_cfg *cfg;
    const struct dict *dict;
    const char *status; /* "success", "timeout", ... (static strings) */
    char banner[PROBE_BANNER];
    char device[PROBE_DEVICE];
    uint16_t banner_len;
    uint16_t out_len, out_off;
    uint8_t out[PROBE_OUT];
    /* the loop's own */
    int fd;
    uint8_t phase;
    bool timed_out;
    double t_start, t_io;
    struct probe_conn *next_free;
    _Alignas(16) unsigned char state[PROBE_STATE_MAX];
};

struct probe_proto {
    const char *name, *help;
    const uint16_t *ports; /* 0-terminated: the ports it is chosen for */
    /* stream modules */
    enum probe_next (*start)(struct probe_conn *c); /* connected (again: job->conns > 1) */
    enum probe_next (*data)(struct probe_conn *c, const uint8_t *d, size_t n);
    /* the peer closed (timed_out false) or said nothing for --read-timeout (true) */
    enum probe_next (*end)(struct probe_conn *c);
    /* a blocking module: the whole check, in a worker thread */
    void (*run)(struct probe_conn *c);
};

/* The registry (proto.c), NULL-terminated. */
extern const struct probe_proto *const probe_protos[];
int probe_proto_find(const char *name);
int probe_proto_for_port(uint16_t port);

/* For modules. */
bool probe_send(struct probe_conn *c, const void *d, size_t n);
/* The next pair to try, counted as an attempt, or NULL when the dictionary or --max-attempts is
 * used up. */
const struct cred *probe_next_pair(struct probe_conn *c);
/* Whether probe_next_pair would give one. */
bool probe_has_pair(const struct probe_conn *c);
/* The pair last handed out was accepted. */
void probe_accepted(struct probe_conn *c);
/* Appends outside text to the banner (cleaned to UTF-8 when it is written out). */
void probe_banner(struct probe_conn *c, const char *s, size_t n);
/* Adds "key=value" to the device hints (value cut, control bytes dropped). */
void probe_device(struct probe_conn *c, const char *key, const char *value);

/* The event loop (loop.c). */
struct probe_stats {
    uint64_t done, accepted, conns, failed_conns;
};
struct probe_run {
    const struct probe_cfg *cfg;
    const struct dict *dict;
    struct probe_job *jobs;
    size_t n_jobs;
    void (*result)(void *ctx, const struct probe_conn *c);
    void (*tick)(void *ctx, const struct probe_stats *st, double elapsed);
    void *ctx;
    struct probe_stats st;
};
int probe_loop(struct probe_run *r, volatile sig_atomic_t *stop);

/* Dictionaries (dict.c). */
int dict_load(struct dict *d, const char *path);
/* The bundled Mirai list (data/credentials/mirai.tsv), class "mirai-default". */
int dict_load_default(struct dict *d);
void dict_free(struct dict *d);

#endif
