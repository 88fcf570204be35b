/* clock — the timed waits of serve's own threads (the guard's and the live
 * thread's ticks) run on the monotonic clock.  On the default realtime one, a
 * step of the wall clock back (NTP setting the time of a device without a
 * clock chip) would stall them for as long as the step, and with them cache
 * invalidation, the streams and the request-head deadline. */
#ifndef MAMORI_SERVE_CLOCK_H
#define MAMORI_SERVE_CLOCK_H

#include <pthread.h>
#include <time.h>

/* A condition variable whose timed waits take a deadline() */
void serve_cond_init(pthread_cond_t *cv);
/* ms milliseconds from now on CLOCK_MONOTONIC */
void deadline(struct timespec *ts, long ms);

#endif
