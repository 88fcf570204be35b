/* audit — every active run leaves one line saying who ran what, before it runs.
 *
 * scan and probe touch other people's machines, so each run appends one JSON
 * object to an audit file (default AUDIT_DEFAULT, --audit FILE) before the
 * first packet: who (uid, user name, the sudo user if any), when, which tool,
 * targets, ports, rate, dictionary size and the scanner identity (--contact).
 * A run whose line cannot be written must not run: audit_append fails and the
 * caller refuses.  The line is written with one write(2) on an O_APPEND file
 * (so concurrent runs never interleave) and fsync'd; the file is created 0640.
 * Core has no JSON library, so strings are escaped here (control characters
 * as \u00XX, bytes that are not UTF-8 as U+FFFD). */
#ifndef MAMORI_AUDIT_H
#define MAMORI_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_DEFAULT "var/audit.jsonl"
#define AUDIT_LINE_MAX 16384 /* longer target descriptions are cut */

struct audit_rec {
    const char *tool;      /* "scan", "probe" */
    const char *round;     /* the run's round name, or NULL */
    const char *targets;   /* as given (target_desc) */
    uint64_t target_count; /* addresses left after exclusions */
    const char *ports;     /* as given ("23,80,8000-8100") */
    uint64_t rate;         /* packets or connections per second asked for */
    uint64_t dict_size;    /* credential pairs (probe), 0 for scan */
    const char *contact;   /* the scanner identity, or NULL */
    int64_t ts_us;         /* when the run starts; 0 = now */
};

/* Appends r as one line to path (NULL = AUDIT_DEFAULT; its directory is made
 * when missing).  0, or a negative errno with the message set. */
int audit_append(const char *path, const struct audit_rec *r);
/* The JSON line for r into buf (NUL-terminated, with '\n'); its length, or
 * negative when cap is too small.  Split out for the tests. */
int audit_format(char *buf, size_t cap, const struct audit_rec *r, unsigned uid, const char *user,
                 const char *sudo_user);

#endif
