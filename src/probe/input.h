/* input — targets from scan output (see input.c for the formats). */
#ifndef MAMORI_PROBE_INPUT_H
#define MAMORI_PROBE_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input_sink {
    /* one (address as written, port) the input names; where:no for messages */
    int (*add)(void *ctx, const char *ip, uint16_t port, const char *where, int no);
    void *ctx;
    const uint16_t *ports; /* --ports: for inputs without a port column */
    size_t n_ports;
};

/* Reads path ("-" for standard input); 0, or the first error ("FILE:LINE: problem"). */
int input_read(const char *path, const struct input_sink *s);

#endif
