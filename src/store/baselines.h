/* baselines — the surge detector's learned baselines as one blob.
 *
 * observe rewrites every port's baseline at exit (125k rows at a million
 * sources): as rows of a table that was ~0.08 s of the time to exit, as
 * one blob a few milliseconds.  Layout, little-endian: "MSB" and a version
 * byte (1), the row count (u32), then 32 bytes a row: proto (u8), alerted
 * (u8), port (u16), n (u32), mean and var (IEEE-754 doubles), last_idx
 * (i64).  A blob read back from a database is outside input: every length
 * is checked and a bad blob is refused, not half read. */
#ifndef MAMORI_BASELINES_H
#define MAMORI_BASELINES_H

#include "record.h"

#include <stddef.h>
#include <stdint.h>

#define BASELINES_HEAD 8
#define BASELINES_ROW 32

/* *blob (free() it) of *len bytes. */
int baselines_encode(const struct baselines *b, uint8_t **blob, size_t *len);
/* Fills out->rows and out->n (free with baselines_free); out->intervals is
 * left as it is.  -EINVAL with err_set() for a blob that is not one. */
int baselines_decode(const void *blob, size_t len, struct baselines *out);

#endif
