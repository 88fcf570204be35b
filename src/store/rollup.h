/* rollup — hourly and daily rollups, built by the writer from the sketches
 * in memory, and the window reader they serve (see rollup.c). */
#ifndef MAMORI_ROLLUP_H
#define MAMORI_ROLLUP_H

#include "record.h"
#include "stats.h"

#include <sqlite3.h>
#include <stdint.h>

struct rollup;

/* The writer's rollup state on db (path names it in messages). */
struct rollup *rollup_new(sqlite3 *db, const char *path);
/* Interval r was just inserted as row id, inside the caller's transaction:
 * folds it into its hour and day, writes the rollups it closes (and marks
 * them current) or drops the marks of the buckets it reopens. */
int rollup_after_write(struct rollup *ru, const struct interval_rec *r, int64_t id);
/* The same in two steps, for a writer that folds r in while it encodes r's
 * stats blob (stats_encode_rec_fold): rollup_hour() returns the hour r goes
 * into (loaded at a seam; NULL on failure), rollup_folded() then writes or
 * unmarks as rollup_after_write() does, in the same or a later transaction.
 * A failure of either, or of the fold between them, needs rollup_invalidate(). */
struct stats_acc *rollup_hour(struct rollup *ru, const struct interval_rec *r, int64_t id);
int rollup_folded(struct rollup *ru, const struct interval_rec *r);
/* Only the marks r's hour and day lose, for a caller that folds r in with
 * rollup_after_write() in a later transaction. */
int rollup_unmark(struct rollup *ru, const struct interval_rec *r);
/* Stored intervals went away (--replace) or a transaction failed: what is in
 * memory may no longer be what the database holds; reload it when needed. */
void rollup_invalidate(struct rollup *ru);
void rollup_free(struct rollup *ru);

/* Folds into a the stats of the intervals starting in [from, to): days and
 * hours marked current, whole inside the window, from their rollups, the rest
 * from the intervals' blobs and source sketches; interval skip_id (or -1) is
 * left out.  0 or a negative error (set). */
int rollup_load_window(sqlite3 *db, int64_t from, int64_t to, int64_t skip_id, struct stats_acc *a);

/* Migration step: per-key stats rows become one blob per interval, and the
 * buckets that were marked rolled up get their stats rollups. */
int rollup_migrate_stats(sqlite3 *db, const char *path);

#endif
