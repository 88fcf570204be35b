/* serve's timed waits (the guard's and the live thread's ticks) follow the
 * monotonic clock, so a step of the wall clock (NTP at the boot of a device
 * without a clock chip) neither stalls them for the length of the step nor
 * fires them early. */
#include "serve/clock.h"
#include "testutil.h"

#include <errno.h>
#include <time.h>

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void deadline_is_monotonic(void **state)
{
    (void)state;
    struct timespec ts;
    double now = mono();
    deadline(&ts, 250);
    double at = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
    assert_true(at - now > 0.2 && at - now < 1.0);
}

static void timed_wait_waits(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    serve_cond_init(&cv);
    struct timespec ts;
    pthread_mutex_lock(&mu);
    double t = mono();
    deadline(&ts, 100);
    int rc = 0;
    while (rc != ETIMEDOUT && mono() - t < 5) /* spurious wake-ups */
        rc = pthread_cond_timedwait(&cv, &mu, &ts);
    double dt = mono() - t;
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(dt > 0.08 && dt < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deadline_is_monotonic),
        cmocka_unit_test(timed_wait_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
