/* server — the honeypot's event loop: one thread, epoll, thousands of sessions.
 *
 * Each connection is a session: telnet decoding, the BusyBox login, then the
 * emulated shell.  Nothing blocks: sockets are non-blocking, output queues in
 * a capped per-session buffer, and the loop wakes at least once a second to
 * expire sessions and flush the log.  The shell is the only CPU-heavy part:
 * each command line is bounded by its work budget (shell.h), and the loop
 * runs at most TURN_WORK of shell work before it polls again; a session that
 * went over waits in a run queue with the rest of its input parked (it is not
 * read from meanwhile), and so does one read after the turn's work is spent,
 * so sessions take turns a command line at a time and a greeting or SIGTERM
 * waits for a line or two however many heavy sessions there are.  Idle sessions cost a
 * few hundred bytes (the shell and its file overlay exist only after a
 * login); the line, output and input caps bound a busy one.  Two LRU lists (waiting to log in,
 * logged in) make timeouts O(1).  A per-source token bucket and a per-source
 * session cap refuse floods before any session state is made.  The files
 * directory has a total cap: past it, files are logged (hash, size) but no
 * longer stored, with one warning; staging files a crash left behind are
 * finished (hashed and stored under their SHA-256, or removed) at start. */
#ifndef MAMORI_LURE_SERVER_H
#define MAMORI_LURE_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct persona;
struct userdb;
struct lure_log;

struct lure_stats {
    uint64_t sessions, refused_rate, refused_full, logins_ok, logins_failed, commands, files, urls,
        timeouts;
    uint64_t files_unstored;                      /* logged, not kept: the store was full */
    uint64_t recovered_stored, recovered_removed; /* staging files of an earlier run */
    uint64_t recovered_left; /* staging files left alone: another lure uses the directory */
    uint64_t files_bytes;    /* what the files directory holds */
    size_t peak_sessions;
};

struct lure_config {
    const struct persona *persona;
    const struct userdb *userdb;
    struct lure_log *log;
    int files_dir;                     /* directory fd for stored files, or -1 */
    const char *files_path;            /* its name, for events */
    uint64_t files_cap;                /* bytes the directory may hold in all */
    int login_timeout, idle_timeout;   /* seconds */
    unsigned max_sessions, per_source; /* concurrent */
    unsigned rate;                     /* new sessions per source per minute; 0 = no limit */
    unsigned max_input;                /* bytes a session may send */
    unsigned max_commands;             /* command lines per session */
    unsigned login_tries;              /* failed logins before disconnect */
    size_t fs_session, fs_total;       /* overlay byte caps */
    /* called about once a second (progress on a terminal); may be NULL */
    void (*tick)(void *ctx, const struct lure_stats *st, size_t open);
    void *tick_ctx;
};

struct lure_server;

struct lure_server *lure_server_new(const struct lure_config *cfg);
/* Adds a bound, listening, non-blocking socket; at most LURE_MAX_LISTEN (one
 * process serves many addresses: the testbed gives a persona hundreds). */
#define LURE_MAX_LISTEN 256
int lure_server_listen(struct lure_server *s, int fd);
/* Runs until *stop is set; closes every session (logging each) before returning. */
int lure_server_run(struct lure_server *s, volatile sig_atomic_t *stop);
const struct lure_stats *lure_server_stats(const struct lure_server *s);
void lure_server_free(struct lure_server *s);

#endif
