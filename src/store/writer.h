/* writer — commits closed intervals on a thread of their own.
 *
 * The packet loop must not wait for storage: closing an interval hands the
 * record to a bounded queue (WRITER_DEPTH deep) and the writer thread fans it
 * out to every configured sink (sink.h) in order, then flushes them: what
 * queued up meanwhile goes as one batch (one SQLite transaction).  On two cores this overlaps
 * decoding with writing; a full queue makes the packet loop wait, so memory
 * stays bounded when the disk is slower than the capture.  A failed write is
 * remembered and returned by the next writer_put() and by writer_close();
 * the sink that failed takes nothing more, the others still take every
 * record already accepted. */
#ifndef MAMORI_WRITER_H
#define MAMORI_WRITER_H

#include "record.h"

#define WRITER_DEPTH 3
#define WRITER_SAMPLES 256

struct sinks;
struct writer;

/* The sinks stay the caller's (close them after writer_close). */
struct writer *writer_start(struct sinks *s);
/* Takes ownership of r. */
int writer_put(struct writer *w, struct interval_rec *r);
/* Hands live-view samples over; best effort: when the writer is behind, the
 * oldest pending samples make room for the new ones. */
void writer_put_samples(struct writer *w, const struct live_sample *v, size_t n);
/* Waits for every queued interval to be committed; returns the first error. */
int writer_close(struct writer *w);
/* The same, and the CPU seconds the writer thread used (bench/observe). */
int writer_close_cpu(struct writer *w, double *cpu_s);

#endif
