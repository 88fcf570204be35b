/* store — the observatory's data model in SQLite.
 *
 * One database file (WAL mode) holds closed intervals and everything derived
 * from them: per-port, per-fingerprint, per-country and per-ASN rows with
 * their distinct-count sketches, the interval's top sources, the per-source
 * events of each event window (first/last seen, packets, ports, fingerprints;
 * packed records in address-sorted blocks, events.c, shown to SQL as the
 * mamori_events virtual table, evtab.c), surge alerts, DoS victims and the surge detector's learned baselines.
 * store_write_interval() commits one interval in one transaction (or several
 * whole ones together when they queue up), so a crash loses at most the
 * intervals not yet handed over, never part of one.  Each interval keeps the
 * span of packet times it holds, so input that overlaps earlier runs can be
 * refused or replaced exactly (store_overlap, store_replace_range; rows this
 * run wrote are never its own overlap), and a replace that would take stored
 * packets the input does not hold is refused first (store_replace_loss).
 * Schema changes are the ordered list of steps in migrate.c.  No SQLite type
 * is named here: the handle is store_int.h's, for src/store alone. */
#ifndef MAMORI_STORE_H
#define MAMORI_STORE_H

#include "record.h"

#include <stdbool.h>

#define STORE_TOP_SOURCES 100
#define STORE_SCHEMA 10 /* PRAGMA user_version of the newest schema: migrate.c's list length */

struct store;

/* Opens (creating the file and its directory when write is set). */
struct store *store_open(const char *path, bool write);
/* Checkpoints the WAL from a thread of its own instead of inside the commits
 * (ckpt.h), until store_close(); for a writer whose commits are the hot path. */
int store_background_checkpoints(struct store *s);
int store_write_interval(struct store *s, struct interval_rec *r);
/* Several whole intervals in one transaction (the writer's group commit). */
int store_write_intervals(struct store *s, struct interval_rec **r, size_t n);
/* A detector's baselines learned with this interval length: 1 and *out
 * filled (free with baselines_free), 0 when there are none, or an error. */
int store_load_baselines(struct store *s, int64_t interval, struct baselines *out);
int store_save_baselines(struct store *s, int64_t interval, const struct baselines *b);
/* Appends live-view samples and trims the table to the newest 2000. */
int store_write_samples(struct store *s, const struct live_sample *v, size_t n);
int store_set_meta(struct store *s, const char *key, const char *value);
/* Adds delta to an integer kept in meta (created at 0). */
int store_add_counter(struct store *s, const char *key, uint64_t delta);
/* Earlier runs' intervals holding packets in [from_us, to_us]: how many (or
 * a negative error), and the span of their packets. */
int store_overlap(struct store *s, int64_t from_us, int64_t to_us, int64_t *first_us,
                  int64_t *last_us);
/* Before store_replace_range() on each input range cover[i][0] + tolerance
 * .. cover[i][1]: how many stored intervals (or a negative error) hold
 * packets outside every range yet would lose rows to it (deleted, or folded
 * in a per-source event window or DoS victim it deletes), and their span. */
int store_replace_loss(struct store *s, const int64_t (*cover)[2], size_t n, int64_t tolerance_us,
                       int64_t *first_us, int64_t *last_us);
/* The newest packet time earlier runs stored, ignoring rows after before_us
 * (a bogus far-future interval), in *last_us (-1: none); 0 or an error. */
int store_newest_time(struct store *s, int64_t before_us, int64_t *last_us);
/* Deletes those intervals and what derives from them, in one transaction. */
int store_replace_range(struct store *s, int64_t from_us, int64_t to_us);
/* What writing an interval whose packets (but the first tolerance_us)
 * overlap earlier runs does: nothing (the default), fail, or replace them. */
enum store_overlap_mode { STORE_OVERLAP_ALLOW, STORE_OVERLAP_REFUSE, STORE_OVERLAP_REPLACE };
void store_set_overlap(struct store *s, enum store_overlap_mode mode, int64_t tolerance_us);
void store_close(struct store *s);

#endif
