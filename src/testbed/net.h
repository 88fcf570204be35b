/* net — the testbed's two namespaces and the link between them (iproute2).
 *
 * NAME-c (client: tb0 198.19.255.1/30, a route for the range via .2) and
 * NAME-d (devices: tb1 198.19.255.2/30, every up host's /32 on its lo).
 * Filtered addresses are routed to NAME-d but assigned nowhere,
 * and NAME-d does not forward, so they never answer.  Nothing is created in
 * the caller's own namespace: both veth ends are born inside the namespaces. */
#ifndef MAMORI_TESTBED_NET_H
#define MAMORI_TESTBED_NET_H

#include "spec.h"

#include <stdbool.h>
#include <sys/types.h>

/* Runs argv (argv[0] a program found on the usual sbin/bin paths) and waits;
 * on failure err_set("WHAT: first line of its stderr"). */
int net_run(const char *what, char *const argv[]);
/* Creates both namespaces and the link, assigns the hosts; dir holds the
 * batch files.  On failure everything created is removed again. */
int net_up(const char *name, const struct tb_spec *s, const char *dir, char mac[18]);
/* Removes both namespaces (missing ones are fine). */
int net_down(const char *name);
bool net_exists(const char *name, char side);
/* Moves the calling thread into NAME-SIDE's network namespace. */
int net_enter(const char *name, char side);
/* Calls fn for every process in NAME-SIDE; the count of calls returning 0. */
int net_each_pid(const char *name, char side, int (*fn)(pid_t pid, void *ctx), void *ctx);
/* Sends sig to every process in NAME-d (the testbed's own); their count. */
int net_kill_all(const char *name, int sig);
/* The device-side MAC the testbed gives NAME's link. */
void net_mac(const char *name, char mac[18]);
/* Whether process pid lives in NAME-SIDE's network namespace. */
bool net_pid_in(pid_t pid, const char *name, char side);

#endif
