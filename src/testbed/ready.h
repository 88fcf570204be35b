/* ready — "every device answers": TCP connects from the client namespace. */
#ifndef MAMORI_TESTBED_READY_H
#define MAMORI_TESTBED_READY_H

#include <stddef.h>
#include <stdint.h>

/* Called while waiting: negative (with err_set) when a unit died, to stop early. */
typedef int (*ready_alive_fn)(void *ctx);

/* Waits (bounded by timeout seconds) until every (ip[i], port[i]) accepts a
 * connection from NAME-c.  SIGCHLD, SIGTERM and SIGINT must be blocked by the
 * caller; SIGTERM/SIGINT end the wait with -EINTR. */
int ready_wait(const char *name, const uint32_t *ip, const uint16_t *port, size_t n, double timeout,
               ready_alive_fn alive, void *ctx);

#endif
