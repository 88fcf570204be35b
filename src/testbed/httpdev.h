/* httpdev — the process serving every HTTP device of a spec (httpdev.c). */
#ifndef MAMORI_TESTBED_HTTPDEV_H
#define MAMORI_TESTBED_HTTPDEV_H

/* Serves until SIGTERM/SIGINT; negative with err_set() when it cannot start. */
int httpdev_run(const char *spec_path);

#endif
