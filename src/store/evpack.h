/* evpack — per-source events as packed fixed-size records (see evpack.c).
 *
 * No SQLite here: the codec is shared by the store's writer, its readers and
 * the loadable extension for the sqlite3 shell. */
#ifndef MAMORI_EVPACK_H
#define MAMORI_EVPACK_H

#include "record.h"

#include <stddef.h>
#include <stdint.h>

#define EV_RECORD 88           /* bytes per record (layout in evpack.c) */
#define EV_BLOCK_RECORDS 65536 /* records per stored block, at most */

void ev_pack(uint8_t out[EV_RECORD], const struct src_row *r);
/* Fills r from a record (r->as_name NULL: AS names live in their own table). */
void ev_unpack(const uint8_t in[EV_RECORD], struct src_row *r);
/* The 16 address bytes of a record: blocks compare them with memcmp. */
static inline const uint8_t *ev_ip(const uint8_t *rec)
{
    return rec;
}
/* rows[order[0..n)] in address order (stable, so equal addresses keep the
 * order they came in); order is malloc'd, NULL when out of memory. */
uint32_t *ev_order(const struct src_row *rows, size_t n);
/* The first record of a block (n records, address order) whose address is
 * >= ip, by binary search; read(i, buf) fetches record i (from memory or an
 * incremental blob).  n when none; a negative value when read fails. */
long ev_lower_bound(size_t n, const uint8_t ip[16], int (*read)(void *ctx, size_t i, uint8_t *buf),
                    void *ctx);

/* Text forms the old source_events table held (and mamori_events shows):
 * ports "80,443", fingerprints "mirai,zmap", classes "tcp_syn,udp". */
void ev_ports_text(const struct src_row *r, char *out, size_t n);
void ev_mask_text(uint8_t mask, int count, const char *(*name)(int), char *out, size_t n);
const char *ev_fp_name(int i);
const char *ev_class_name(int i);
/* The reverse, for rows migrated from that table; unknown names are skipped. */
void ev_ports_parse(const char *s, struct src_row *r);
uint8_t ev_mask_parse(const char *s, int count, const char *(*name)(int));

#endif
