/* record — one closed observation interval: the unit observe hands to a sink.
 *
 * The aggregator builds it, a sink (SQLite today, NATS/ClickHouse later)
 * writes it in one transaction, then interval_rec_free() releases it.  Every
 * distinct count travels as a sketch so that a report over any window can
 * union intervals instead of adding their counts. */
#ifndef MAMORI_RECORD_H
#define MAMORI_RECORD_H

#include "../core/addr.h"
#include "../core/classify.h"
#include "../core/sketch.h"

#include <stdbool.h>
#include <stdint.h>

#define RECORD_TOP_SOURCES 100

enum row_kind { ROW_PORT, ROW_BACKSCATTER_PORT, ROW_FINGERPRINT, ROW_COUNTRY, ROW_ASN, ROW_KINDS };

struct stat_row {
    uint8_t proto;     /* ports */
    uint32_t key;      /* port, fingerprint, country (two ASCII bytes), AS number */
    const char *label; /* AS name, owned elsewhere; may be NULL */
    uint64_t packets, bytes;
    struct sketch src, dst; /* dst used by port rows only */
};

struct src_row {
    struct ipaddr ip;
    int64_t first_us, last_us;
    uint64_t packets, bytes;
    uint16_t ports[8]; /* first distinct destination ports seen */
    uint8_t nports, more_ports;
    uint8_t fpmask;  /* bit per enum fingerprint */
    uint8_t clsmask; /* bit per enum pkt_class */
    char cc[3];
    uint32_t asn;
    uint8_t has_loc;
    float lat, lon;
    const char *as_name; /* owned by the geo handle */
};

/* the masks above hold one bit per table entry (classify.h) */
_Static_assert(FP_COUNT <= 8 * sizeof(((struct src_row *)0)->fpmask), "fpmask: a bit per fingerprint");
_Static_assert(CLS_COUNT <= 8 * sizeof(((struct src_row *)0)->clsmask), "clsmask: a bit per class");

struct alert_row {
    const char *kind; /* "surge" */
    uint8_t proto;
    uint16_t port;
    int64_t at; /* interval start, seconds */
    uint64_t sources;
    double baseline;
};

struct dos_row {
    struct ipaddr target;
    uint8_t proto;
    uint64_t packets, bytes;
    uint32_t peak_60s;
    uint32_t attackers; /* distinct darknet /16 (IPv4) or /48 (IPv6) hit, capped */
    uint16_t ports;     /* distinct victim ports, capped */
    int64_t start_us, end_us;
};

struct interval_rec {
    int64_t start, end; /* seconds, [start, end) */
    uint64_t packets, bytes, malformed, non_ip, outside, iot_packets;
    uint64_t late, bad_time;   /* frames counted while it was open, never aggregated */
    int64_t first_us, last_us; /* packet times it holds (-1 when none): what overlaps */
    uint64_t cls[CLS_COUNT];
    struct sketch sources;
    struct stat_row *rows[ROW_KINDS];
    size_t n_rows[ROW_KINDS];
    struct src_row *srcs; /* the interval's top sources by packets, descending */
    size_t n_srcs;
    struct src_row *events; /* per-source events of the window this interval closes */
    size_t n_events;
    int64_t events_from; /* that window: [events_from, end) */
    struct alert_row *alerts;
    size_t n_alerts;
    struct dos_row *dos;
    size_t n_dos;
    char *names; /* the labels of a copy (interval_rec_dup); NULL as the aggregator makes it */
};

/* A packet picked for the live view (at most a few per second of packet time). */
struct live_sample {
    int64_t ts_us;
    struct ipaddr src;
    float lat, lon;
    char cc[3];
    uint8_t has_loc, proto, cls;
    int8_t fp;     /* enum fingerprint, FP_NONE when not a SYN */
    uint16_t port; /* destination port, or the victim's port for backscatter */
};

_Static_assert(CLS_COUNT <= 256 && FP_COUNT <= 127, "live_sample: cls and fp fit");

/* A detector's learned per-port baseline, as plain data for the store (the
 * surge detector exports and imports these; the store never sees it). */
struct baseline_row {
    uint8_t proto;
    uint16_t port;
    uint8_t alerted;
    uint32_t n;
    double mean, var;
    int64_t last_idx;
};

struct baselines {
    int64_t intervals; /* intervals the detector has numbered */
    struct baseline_row *rows;
    size_t n;
};

/* The honeypot's records (lure).  A session reaches a sink as it happens, one
 * record per step (open, each login, command and download, close), so that a
 * crash loses at most what was not yet flushed, never a whole session; a
 * consumer joins the steps by session id.  Every pointer is lent for the
 * duration of the put call. */
enum session_step { SESSION_OPEN, SESSION_LOGIN, SESSION_COMMAND, SESSION_DOWNLOAD, SESSION_CLOSE };

struct session_rec {
    enum session_step step;
    const char *session; /* the id Cowrie's events carry */
    const char *sensor, *persona, *protocol;
    const char *src_ip, *dst_ip;
    uint16_t src_port, dst_port;
    int64_t ts_us;
    /* SESSION_LOGIN: the attempt; SESSION_CLOSE: the last credentials tried */
    const char *username, *password;
    bool success;      /* SESSION_LOGIN: accepted; SESSION_CLOSE: some login was */
    const char *input; /* SESSION_COMMAND, valid UTF-8 */
    /* SESSION_DOWNLOAD: "url" (asked for, never fetched) or "file" (built in the shell) */
    const char *dl_kind, *tool, *url, *host, *path, *sha256;
    int64_t size; /* -1: unknown */
    /* SESSION_CLOSE */
    const char *term, *reason;
    uint32_t logins, commands, downloads, bytes_in;
    uint16_t width, height; /* 0: not told */
};

/* One sighting of an indicator (url, host, sha256, attacker-ip, loader-ip):
 * a store keeps first/last seen and a count per (type, value). */
struct indicator_rec {
    const char *type, *value, *source;
    int64_t ts_us;
};

/* The survey's records (scan, probe).  A round is one survey pass: a scan or
 * probe run names it (--round, default the run's start time), so a later round
 * can say which devices were fixed since.  A sink receives SURVEY_ROUND once at
 * the start of a run and again at its end (counts filled, ended_us > 0), and
 * one SURVEY_OPEN or SURVEY_PROBE per result as it comes.  Every pointer is
 * lent for the put call.  No record ever carries a password: a probe names the
 * credential that worked only by its dictionary and class. */
enum survey_kind { SURVEY_ROUND, SURVEY_OPEN, SURVEY_PROBE };

struct survey_rec {
    enum survey_kind kind;
    const char *round; /* the round's name */
    int64_t ts_us;     /* when the result was seen (ROUND: when the run started) */
    /* SURVEY_ROUND */
    const char *tool;    /* "scan" or "probe" */
    const char *targets; /* as given (CIDRs, ranges, file names), for the record */
    const char *contact; /* the scanner identity (--contact) */
    uint64_t rate;       /* packets or connections per second asked for */
    uint64_t dict_size;  /* credential pairs in the dictionary (probe) */
    int64_t ended_us;    /* 0 while running */
    uint64_t sent, hits; /* probes sent, results found */
    /* SURVEY_OPEN and SURVEY_PROBE */
    struct ipaddr ip;
    uint16_t port;
    /* SURVEY_OPEN: a reply to a SYN probe, with ZMap's fields */
    uint16_t sport;
    uint32_t seqnum, acknum;
    uint16_t window;
    uint8_t ttl;
    const char *classification; /* "synack" or "rst" */
    bool success;               /* a SYN-ACK: the port listens */
    bool repeat;                /* a reply for a target already answered */
    /* SURVEY_PROBE: one application-layer check of (ip, port) */
    const char *protocol;   /* "telnet", "ssh", "http" */
    const char *status;     /* "success" (the check ran), "connection-refused", "timeout", "io-error", ... */
    const char *banner;     /* what the service said first, valid UTF-8, capped; may be NULL */
    const char *device;     /* device hints (server header, title, vendor), may be NULL */
    bool login_accepted;    /* some dictionary pair logged in */
    const char *cred_class; /* that pair's class ("mirai-default", ...), NULL when none */
    const char *cred_dict;  /* the dictionary it came from (file name), NULL when none */
    uint32_t attempts;      /* login attempts made */
};

void interval_rec_free(struct interval_rec *r);
/* A deep copy that owns every byte, labels included (a sink that keeps a
 * record past its put call keeps this), or NULL when out of memory. */
struct interval_rec *interval_rec_dup(const struct interval_rec *r);
void baselines_free(struct baselines *b);

#endif
