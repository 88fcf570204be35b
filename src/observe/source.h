/* source — where observe's frames come from, as a table of kinds.
 *
 * A packet source is a const ops struct (design.md "Extension points"): a
 * file through core/pcapfile (pcap or pcapng, "-" or a FIFO streams), a live
 * interface through libpcap.  observe opens one instance per input and pulls
 * batches of records; a record's data stays valid until the next call on the
 * same instance.  Each instance has its own state, so the same path may be
 * opened twice (two aggregator shards each reading the file).
 *
 * next() returns the number of records (> 0), 0 at the end of the input,
 * -EAGAIN when a live source has nothing right now (its read timeout passed or
 * wake() was called: the caller ticks its clock, checks its stop flag and
 * calls again), or another negative code with err_set().  A file's error says
 * "PATH: damaged capture after N complete records: WHAT" and comes only after
 * those N records were handed over. */
#ifndef MAMORI_SOURCE_H
#define MAMORI_SOURCE_H

#include "../core/pcapfile.h"

#include <stdbool.h>
#include <stdint.h>

#define PKT_SOURCE_BATCH 256 /* records per next() that observe asks for */

struct pkt_source_ops {
    const char *name; /* "file", "live" */
    const char *help; /* one line */
    /* Opens arg (a path, an interface); NULL and err_set() on failure, the
     * message naming arg and saying what is wrong. */
    void *(*open)(const char *arg);
    int (*next)(void *st, struct pcapf_rec *r, int max);
    /* Link type of the first interface, for messages and the check that
     * pkt_decode handles it. */
    int (*dlt)(void *st);
    /* Fraction of the input consumed, 0..1, or -1 when unknown (a stream). */
    double (*progress)(void *st);
    /* Async-signal-safe: a blocked next() returns -EAGAIN soon. NULL: never blocks long. */
    void (*wake)(void *st);
    /* After a stop: next() no longer blocks, so the caller can take what is
     * already buffered (the kernel's ring) and then -EAGAIN. NULL: nothing to drain. */
    int (*drain)(void *st);
    /* Packets lost before observe saw them (kernel and interface drops). NULL: none. */
    uint64_t (*drops)(void *st);
    void (*close)(void *st);
    bool live; /* packet time may lag the wall clock: the caller ticks on -EAGAIN */
};

/* One instance: the kind, its state and the argument it was opened with. */
struct pkt_source {
    const struct pkt_source_ops *ops;
    void *st;
    const char *arg;
};

extern const struct pkt_source_ops pkt_source_file;
extern const struct pkt_source_ops pkt_source_live;

/* The kinds by name, NULL when none is called that. */
const struct pkt_source_ops *pkt_source_find(const char *name);
/* The registry itself, NULL-terminated (for --help texts). */
extern const struct pkt_source_ops *const pkt_sources[];

/* Opens kind `name` on arg into *s; 0, or < 0 with err_set(). */
int pkt_source_open(struct pkt_source *s, const char *name, const char *arg);
static inline int pkt_source_next(struct pkt_source *s, struct pcapf_rec *r, int max)
{
    return s->ops->next(s->st, r, max);
}
void pkt_source_close(struct pkt_source *s);

#endif
