/* err — one place where a failing function leaves its message.
 *
 * Library code never prints: it returns a negative errno-style code (or NULL)
 * and records "what: problem" here with err_set().  Only command-level code
 * reads err_msg() and prints "mamori: <msg>".  The buffer is thread-local so
 * the writer thread and the packet loop cannot clobber each other's message. */
#ifndef MAMORI_ERR_H
#define MAMORI_ERR_H

int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *err_msg(void);
void err_clear(void);

#endif
