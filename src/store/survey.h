/* survey — the vulnerable-device survey in the database (schema v8).
 *
 * Write side (the SQLite sink): rounds, the open ports a scan found and the
 * results of a probe, each keyed by (round, address, port), so a result put
 * twice (a scan reply repeated, a probe resumed) is one row.  Rows go into
 * one open transaction that survey_db_commit() ends, as the honeypot's do.
 * No row holds a password: a finding names the credential that worked only by
 * its dictionary and class.
 *
 * Read side (notify, report, serve): the findings of a round, and what
 * changed since the round before it.  A device is *fixed* in round R when it
 * accepted a login in the previous round P (of the probe, by start time) and
 * in R was probed to the end without one (status "success") or found closed
 * ("connection-refused"), or — when R has a scan that ran to its end — R's
 * scan did not find its port open.  A P finding that R neither probed nor
 * scanned, or whose probe in R timed out or failed, is "not re-tested", never
 * fixed.  notify's notices are stored too (survey_notices:
 * the owner each host was reported to), which is what the survey view groups
 * by ISP. */
#ifndef MAMORI_SURVEY_H
#define MAMORI_SURVEY_H

#include "record.h"

#include <jansson.h>
#include <stdint.h>

struct store;
struct survey_db;

/* Schema step to the survey tables (migrate.c's list). */
extern const char survey_schema_sql[];

struct survey_db *survey_db_open(struct store *s);
int survey_db_put(struct survey_db *d, const struct survey_rec *r);
int survey_db_commit(struct survey_db *d);
/* Commits what is pending and releases d. */
void survey_db_close(struct survey_db *d);

/* One finding as notify and the survey view read it. */
enum survey_state { SURVEY_VULNERABLE, SURVEY_FIXED, SURVEY_NOT_RETESTED };

struct survey_finding {
    char ip[46];
    uint16_t port;
    char protocol[16];
    char cred_class[48];
    char device[128];
    int64_t ts_us; /* when it was seen (FIXED: when round R saw it fixed) */
    enum survey_state state;
};

struct survey_findings {
    char round[64], prev[64]; /* the round read and the one before it ("" when none) */
    struct survey_finding *v;
    size_t n;
};

/* A round as it was run. */
struct survey_round_info {
    int64_t started_us, ended_us; /* ended_us 0: never ended (interrupted) */
    uint64_t rate, dict_size, sent, hits;
    char targets[512], contact[256];
};
/* Round round of tool ("scan", "probe"): 1 and *out, 0 when there is none, or an error. */
int survey_read_round(struct store *s, const char *round, const char *tool,
                      struct survey_round_info *out);

/* The newest probe round's name into out (cap bytes): 1, 0 when there is none, or an error. */
int survey_latest_round(struct store *s, char *out, size_t cap);
/* Round round's vulnerable devices, and the previous round's that are fixed
 * or not re-tested in it, sorted by address then port; 0 or an error
 * (-ENOENT: no such probe round). */
int survey_read_findings(struct store *s, const char *round, struct survey_findings *out);
void survey_findings_free(struct survey_findings *f);

/* A host already infected: a source observe saw with a Mirai-family
 * fingerprint, or an address that logged in to the honeypot or had it fetch
 * malware, in [since_us, until_us). */
struct survey_infected {
    char ip[46];
    char why[24]; /* "mirai-fingerprint", "honeypot-login", "honeypot-loader" */
    int64_t first_us, last_us;
    uint64_t packets; /* darknet packets (0 for the honeypot's) */
    uint32_t asn;     /* as observe resolved it, 0 when unknown */
    char as_name[96];
};
/* Sorted by address, one entry per (address, why); free *v. */
int survey_read_infected(struct store *s, int64_t since_us, int64_t until_us,
                         struct survey_infected **v, size_t *n);

/* A notice notify issued: host ip of round was reported to owner as kind
 * ("vulnerable", "infected", "fixed"). */
struct survey_notice {
    const char *round, *kind, *ip, *protocol, *owner, *abuse, *detail;
    uint16_t port;
    uint32_t asn;
    int64_t ts_us;
};
/* Replaces round's notices with these n, in one transaction. */
int survey_store_notices(struct store *s, const char *round, const struct survey_notice *v,
                         size_t n);

/* The survey view: every round with its counts, findings by protocol, and
 * notices by owner and kind, as JSON (README "Survey contract"). */
json_t *query_survey(struct store *s);

#endif
