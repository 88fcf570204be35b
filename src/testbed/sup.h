/* sup — the testbed's supervisor: brings a spec up, keeps it, takes it down.
 *
 * One process owns everything `up` creates: it makes the namespaces, starts
 * the device units (its children), waits until every listed (address, port)
 * accepts a connection from NAME-c, writes truth.json and then waits for
 * signals: SIGHUP re-reads the spec (after `fix`) and restarts only the units
 * that changed; SIGTERM/SIGINT, or any failure on the way up, stop the units
 * and remove the namespaces.  Signals are blocked and taken synchronously
 * (sigtimedwait), so a Ctrl-C at any step ends in the same clean-up. */
#ifndef MAMORI_TESTBED_SUP_H
#define MAMORI_TESTBED_SUP_H

#include "spec.h"

#include <stdbool.h>
#include <sys/types.h>

struct sup_opts {
    const char *name;
    char dir[4096]; /* absolute */
    struct tb_spec *spec;
    int ready_fd; /* -1, or where "ok\n" / the error line goes once up (or failed) */
    bool quiet;
};

/* Runs the whole life of a testbed; returns the exit status. */
int sup_run(struct sup_opts *o);
/* Paths of the state directory's files. */
void sup_path(const char *dir, const char *file, char *buf, size_t n);
/* The supervisor's pid if it is alive (its pid file, checked), else 0. */
pid_t sup_pid(const char *dir);
/* The state line ("ready 3", "degraded 3 ...", "down"); false if none. */
bool sup_state(const char *dir, char *buf, size_t n, int *gen);

#endif
