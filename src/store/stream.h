/* stream — what serve's live thread reads: whether anyone committed, the
 * newest live samples and surge alerts after an id, and the counts behind
 * /metrics.  The rows are JSON by rowjson (the same routine as the REST lists),
 * so an alert on the stream is the very object /api/v1/alerts lists for it. */
#ifndef MAMORI_STREAM_H
#define MAMORI_STREAM_H

#include "store.h"

#include <jansson.h>
#include <stdint.h>

/* What the stream carries; each kind is one row of the table in stream.c. */
enum stream_kind { STREAM_SAMPLES, STREAM_ALERTS, STREAM_KINDS };

/* The SSE event name of a kind ("packet", "alert"). */
const char *stream_event(enum stream_kind k);
/* At most how many rows one store_stream_read() returns for a kind. */
int stream_limit(enum stream_kind k);
/* PRAGMA data_version: changes whenever another connection commits; or a
 * negative error. */
int64_t store_data_version(struct store *s);
/* The newest id of a kind (0 when none), or a negative error. */
int64_t store_stream_last(struct store *s, enum stream_kind k);
/* Rows of a kind with id > *after, oldest first, at most stream_limit(k):
 * a new array (empty when there are none) and *after moved to the last id
 * read, or NULL with err_set(). */
json_t *store_stream_read(struct store *s, enum stream_kind k, int64_t *after);

/* The figures /metrics publishes, in the order of store_metric_names. */
enum { STORE_METRICS = 10 };
struct store_metric {
    const char *name, *type, *help;
};
extern const struct store_metric store_metric_names[STORE_METRICS];
int store_metrics(struct store *s, double out[STORE_METRICS]);

#endif
