/* truth — exact ground-truth counters for synth (see truth.h). */
#include "truth.h"
#include "../core/addr.h"
#include "../core/err.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NPORTKEYS (2 * 2 * 65536)

static size_t pidx(int kind, uint8_t proto, uint16_t port)
{
    return (size_t)kind << 17 | (size_t)(proto == IPPROTO_UDP) << 16 | port;
}

int truth_init(struct truth *t, size_t n)
{
    memset(t, 0, sizeof *t);
    t->seen = calloc(n ? n : 1, 1);
    t->n_entities = n;
    t->port_packets = calloc(NPORTKEYS, sizeof *t->port_packets);
    t->port_sources = calloc(NPORTKEYS, sizeof *t->port_sources);
    if (!t->seen || !t->port_packets || !t->port_sources ||
        table_init(&t->pairs, sizeof(uint64_t), sizeof(uint64_t), 1 << 16) < 0) {
        truth_free(t);
        return err_set(-ENOMEM, "synth: out of memory");
    }
    return 0;
}

int truth_packet(struct truth *t, uint32_t e, uint32_t len, enum pkt_class cls, enum fingerprint fp,
                 int port_kind, uint8_t proto, uint16_t port, uint32_t port_entity, int iot)
{
    t->packets++;
    t->bytes += len;
    t->cls[cls]++;
    t->iot_packets += iot != 0;
    if (!(t->seen[e] & 0x80)) {
        t->seen[e] |= 0x80;
        t->sources++;
    }
    if (fp != FP_NONE) {
        t->fp_packets[fp]++;
        if (!(t->seen[e] & (1u << fp))) {
            t->seen[e] |= (uint8_t)(1u << fp);
            t->fp_sources[fp]++;
        }
    }
    if (port_kind < 0) return 0;
    size_t i = pidx(port_kind, proto, port);
    t->port_packets[i]++;
    uint64_t key = (uint64_t)port_entity << 20 | i;
    bool created;
    if (!table_get(&t->pairs, &key, hash_mix64(key), &created))
        return err_set(-ENOMEM, "synth: out of memory");
    if (created) t->port_sources[i]++;
    return 0;
}

void truth_extra(struct truth *t, enum truth_extra what)
{
    t->extra[what]++;
}

static json_t *port_list(const struct truth *t, int kind)
{
    json_t *arr = json_array();
    for (int pr = 0; pr < 2; pr++) {
        for (uint32_t port = 0; port < 65536; port++) {
            size_t i = pidx(kind, pr ? IPPROTO_UDP : IPPROTO_TCP, (uint16_t)port);
            if (!t->port_packets[i]) continue;
            json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:I}", "proto", pr ? "udp" : "tcp",
                                                 "port", (json_int_t)port, "packets",
                                                 (json_int_t)t->port_packets[i], "sources",
                                                 (json_int_t)t->port_sources[i]));
        }
    }
    return arr;
}

json_t *truth_json(const struct truth *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "totals",
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "packets",
                                  (json_int_t)t->packets, "bytes", (json_int_t)t->bytes, "sources",
                                  (json_int_t)t->sources, "iot_packets", (json_int_t)t->iot_packets,
                                  "malformed", (json_int_t)t->extra[TRUTH_MALFORMED], "non_ip",
                                  (json_int_t)t->extra[TRUTH_NON_IP], "outside",
                                  (json_int_t)t->extra[TRUTH_OUTSIDE]));
    json_t *cls = json_object();
    for (int c = 0; c < CLS_COUNT; c++)
        json_object_set_new(cls, class_name((enum pkt_class)c),
                            json_integer((json_int_t)t->cls[c]));
    json_object_set_new(o, "classes", cls);
    json_t *fps = json_array();
    for (int f = 0; f < FP_COUNT; f++) {
        if (!t->fp_packets[f]) continue;
        json_array_append_new(fps, json_pack("{s:s,s:I,s:I}", "name",
                                             fingerprint_name((enum fingerprint)f), "packets",
                                             (json_int_t)t->fp_packets[f], "sources",
                                             (json_int_t)t->fp_sources[f]));
    }
    json_object_set_new(o, "fingerprints", fps);
    json_object_set_new(o, "ports", port_list(t, 0));
    json_object_set_new(o, "backscatter_ports", port_list(t, 1));
    return o;
}

void truth_free(struct truth *t)
{
    free(t->seen);
    free(t->port_packets);
    free(t->port_sources);
    table_free(&t->pairs);
    memset(t, 0, sizeof *t);
}
