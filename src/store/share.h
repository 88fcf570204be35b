/* share — the indicators mamori shares and receives, in one model (schema v9).
 *
 * One row per (kind, value, source): the same fact told by two sources is two
 * rows (each with its own confidence and sightings), read together by value
 * (share_read_values) for dedup and scoring.  "local" is mamori's own source:
 * share_collect_local() derives its rows from the observatory (darknet
 * scanners with fingerprint and ports), the honeypot (attackers, loaders,
 * download URLs and hosts, hashes of files) and the survey (vulnerable
 * devices: exported only as counts or anonymized).  Received rows come from
 * share import, share pull and TAXII POSTs, through share_ingest_object(),
 * which applies the source's trust, the warninglists and dedup.  Every
 * exchange is one share_log row (what the report and dashboard show).
 *
 * Values are canonical so that dedup by value works: addresses as inet_ntop
 * prints them, URLs as given (trimmed), domains lower-case without a final
 * dot, file hashes "ALGO:hex" (ALGO one of sha256, sha1, md5; hex lower-case). */
#ifndef MAMORI_STORE_SHARE_H
#define MAMORI_STORE_SHARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct store;

/* Schema step to the share tables (migrate.c's list). */
extern const char share_schema_sql[];

#define SHARE_LOCAL "local"

/* One indicator as put (every pointer lent for the call) and as read (owned
 * by the list it is in). */
struct share_ind {
    const char *kind;    /* STIX SCO type: ipv4-addr, ipv6-addr, url, domain-name, file */
    const char *value;   /* canonical (above) */
    const char *role;    /* scanner, attacker, loader, download-url, download-host,
                            malware-file, vulnerable, c2, other */
    const char *source;  /* SHARE_LOCAL or a peer's name */
    const char *stix_id; /* the indicator's STIX id ("indicator--<uuid>"), NULL: none yet */
    const char *tlp;     /* clear, green, amber, amber+strict, red */
    const char *labels;  /* JSON object text of details (fingerprint, ports, malware, ...), or NULL */
    int64_t first_us, last_us, received_us;
    uint64_t sightings;
    int confidence; /* 0..100 */
    /* An object that tells when and how often but not what (a received
     * observed-data): an existing row keeps its role, confidence and labels;
     * only the times widen, the count grows and a stricter TLP is taken. */
    bool fill_only;
};

/* A source and the trust put in it: Admiralty reliability A..F, mapped to a
 * confidence 0..100 (share_trust.c). */
struct share_source {
    const char *name, *reliability, *identity; /* identity: their STIX identity id or NULL */
    int confidence;
};

/* Adds or merges one indicator in the open transaction: first/last seen
 * widen; the stricter TLP stays; confidence and stix_id take the newer, and
 * so does the role unless the newer is "other"; labels (JSON objects) merge,
 * the newer's keys winning.  Sightings: a local row's add up; a received row keeps the
 * largest count it was told (a source's indicator, observed-data and
 * sighting of one value tell the same observations, and a newer version of
 * a cumulative count replaces the older).  Returns 1 when the row is new, 0
 * when it merged, or an error. */
int share_put(struct store *s, const struct share_ind *ind);
int share_source_put(struct store *s, const struct share_source *src, int64_t now_us);
/* 1 and *out (strings valid until the next call on s), 0 when unknown, or an error. */
int share_source_get(struct store *s, const char *name, struct share_source *out);

struct share_log_rec {
    int64_t ts_us;
    const char *action; /* export, import, push, pull, taxii-post */
    const char *peer;   /* a file, a URL, a TAXII user */
    uint64_t objects, indicators, fresh, duplicates, dropped;
    const char *detail; /* one line, or NULL */
};
int share_log_add(struct store *s, const struct share_log_rec *r);

int share_begin(struct store *s);
int share_commit(struct store *s);
void share_rollback(struct store *s);

/* Reading: rows matching a filter, newest last_us first. */
struct share_filter {
    const char *source; /* NULL: every source */
    const char *kind;   /* NULL: every kind */
    int64_t since_us;   /* last_us >= since_us */
    int min_confidence;
    size_t limit; /* 0: no limit */
};
struct share_ind_list {
    struct share_ind *v;
    size_t n;
    void *mem; /* owns the strings */
};
int share_read(struct store *s, const struct share_filter *f, struct share_ind_list *out);
void share_ind_list_free(struct share_ind_list *l);

/* The report's and dashboard's view: exchanges by action and peer, indicators by
 * source with their trust, and the values most sources agree on. */
json_t *query_share(struct store *s, int64_t now_us);

#endif
