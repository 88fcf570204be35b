/* truth — what synth emitted, counted independently of observe's code path.
 *
 * synth tells the truth recorder about every frame in its own terms (which
 * entity sent it, what class and fingerprint it was generated as, which port
 * it targets), never by decoding the frame, so the integration test compares
 * two independent accounts of the same capture.  Distinct counts are exact:
 * entities are numbered and every entity has its own address. */
#ifndef MAMORI_TRUTH_H
#define MAMORI_TRUTH_H

#include "../core/classify.h"
#include "../core/table.h"

#include <jansson.h>
#include <stdint.h>

enum truth_extra { TRUTH_MALFORMED, TRUTH_NON_IP, TRUTH_OUTSIDE };

struct truth {
    uint64_t packets, bytes, iot_packets, extra[3];
    uint64_t cls[CLS_COUNT];
    uint64_t fp_packets[FP_COUNT], fp_sources[FP_COUNT];
    uint64_t sources;
    uint8_t *seen; /* per entity: bit 7 = counted as a source, bits 0-6 = fingerprints */
    size_t n_entities;
    uint64_t *port_packets; /* [kind][proto][port] */
    uint64_t *port_sources;
    struct table pairs; /* (entity, kind, proto, port) seen */
};

_Static_assert(FP_COUNT <= 7, "truth.seen: bits 0-6 for fingerprints, bit 7 for the source");

int truth_init(struct truth *t, size_t n_entities);
/* One darknet packet.  port_kind: -1 none, 0 destination port, 1 backscatter
 * (victim port, counted per victim entity).  l4proto is tcp or udp. */
int truth_packet(struct truth *t, uint32_t entity, uint32_t len, enum pkt_class cls,
                 enum fingerprint fp, int port_kind, uint8_t l4proto, uint16_t port,
                 uint32_t port_entity, int iot);
void truth_extra(struct truth *t, enum truth_extra what);
json_t *truth_json(const struct truth *t);
void truth_free(struct truth *t);

#endif
