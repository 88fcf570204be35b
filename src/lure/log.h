/* log — where the honeypot's facts go: Cowrie-format JSON lines and the sinks.
 *
 * Every event is one JSON object on one line with Cowrie's eventid and fields
 * (sensor, session, src/dst ip and port, timestamp, protocol), so Cowrie
 * tooling reads the file unchanged (it is lure's own log, not a sink).  The
 * same facts go to the sinks (--sink; the database by default) as session
 * records (open, each login, command and download, close) and indicator
 * sightings, which the database keeps with first/last seen and counts.
 * Lines are buffered and written, and the sinks flushed (the database
 * commits), at least once a second from the event loop (lure_log_flush); a
 * crash loses at most that second, and a clean stop loses nothing.  Text from attackers is made valid
 * UTF-8 (bytes that are not become "\xNN") so every line parses. */
#ifndef MAMORI_LURE_LOG_H
#define MAMORI_LURE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sinks;
struct lure_log;

struct lure_conn {
    const char *session;
    char src_ip[46], dst_ip[46];
    uint16_t src_port, dst_port;
};

/* What a session amounted to, written when it closes. */
struct lure_summary {
    const char *username, *password, *term, *reason;
    bool login_ok;
    uint32_t logins, commands, downloads, bytes_in;
    uint16_t width, height;
};

/* events_path may be NULL (no JSON file), sinks may be NULL (none); the
 * sinks stay the caller's (close them after lure_log_close). */
struct lure_log *lure_log_open(const char *events_path, struct sinks *sinks, const char *sensor,
                               const char *persona);
void lure_log_connect(struct lure_log *l, const struct lure_conn *c, int64_t ts_us);
void lure_log_login(struct lure_log *l, const struct lure_conn *c, int64_t ts_us, const char *user,
                    const char *password, bool ok);
void lure_log_command(struct lure_log *l, const struct lure_conn *c, int64_t ts_us,
                      const char *input, size_t len);
/* A command that does not exist on the device (cowrie.command.failed). */
void lure_log_failed(struct lure_log *l, const struct lure_conn *c, int64_t ts_us,
                     const char *input);
void lure_log_size(struct lure_log *l, const struct lure_conn *c, int64_t ts_us, unsigned w,
                   unsigned h);
void lure_log_var(struct lure_log *l, const struct lure_conn *c, int64_t ts_us, const char *name,
                  const char *value);
/* A URL a downloader was asked for (never fetched). */
void lure_log_url(struct lure_log *l, const struct lure_conn *c, int64_t ts_us, const char *tool,
                  const char *url, const char *host, const char *dest);
/* A file the session built, stored as outfile (named by its SHA-256), or
 * NULL when the file store was full and it was not kept. */
void lure_log_file(struct lure_log *l, const struct lure_conn *c, int64_t ts_us, const char *path,
                   const char *sha256, const char *outfile, size_t size, bool duplicate);
void lure_log_closed(struct lure_log *l, const struct lure_conn *c, int64_t ts_us,
                     int64_t duration_us, const struct lure_summary *s);
/* Writes buffered lines and flushes the sinks when a second has passed (or force). */
int lure_log_flush(struct lure_log *l, int64_t now_us, bool force);
uint64_t lure_log_events(const struct lure_log *l);
/* Flushes and frees; -EIO when records were lost (a sink or the events file
 * failed; said on stderr when it happened). */
int lure_log_close(struct lure_log *l);
/* Copies len bytes of s to out as valid UTF-8 ("\xNN" for bytes that are not). */
void lure_utf8(const char *s, size_t len, char *out, size_t cap);

#endif
