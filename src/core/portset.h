/* portset — a set of (protocol, port) pairs as two 64 Kbit bitmaps.
 *
 * Used for the IoT port list: one bit test per packet.  Files hold one entry
 * per line, "PORT/tcp", "PORT/udp" or a bare PORT for both; '#' comments. */
#ifndef MAMORI_PORTSET_H
#define MAMORI_PORTSET_H

#include <stdbool.h>
#include <stdint.h>

struct portset {
    uint64_t bits[2][1024]; /* [0] tcp, [1] udp */
};

void portset_clear(struct portset *s);
void portset_add(struct portset *s, uint8_t proto, uint16_t port);
bool portset_has(const struct portset *s, uint8_t proto, uint16_t port);
int portset_parse_line(struct portset *s, const char *line); /* 0, 1 if blank, <0 */
int portset_load(struct portset *s, const char *path);
/* The IoT ports mamori ships with (also in data/iot-ports.txt). */
void portset_iot_default(struct portset *s);

#endif
