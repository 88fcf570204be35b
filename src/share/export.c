/* export — `mamori share export`: refresh the local indicators, write them
 * (and received ones the TLP rule lets pass) as one STIX 2.1 bundle.
 *
 * The bundle goes to --out (written to a temporary file and renamed, so a
 * reader never sees half of one) or stdout; the summary goes to the other
 * stream people look at (stdout with --out, else stderr), as text or JSON.
 * --collection also adds the objects to a TAXII collection of serve's.
 * Every export is one share_log row. */
#include "export.h"
#include "../core/anon.h"
#include "../core/cli.h"
#include "../core/cryptopan.h"
#include "../core/err.h"
#include "../core/stix.h"
#include "../store/share.h"
#include "../store/share_collect.h"
#include "../store/store.h"
#include "../store/taxii.h"
#include "share.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

enum { O_SOURCE = 256, O_MINCONF, O_TLP, O_ANON, O_ANON_ALL, O_COLLECTION, O_ORG, O_NOREFRESH };

static const struct cli_opt optdefs[] = {
    {"db", 1, 'd', "PATH", "database (default var/mamori.db)"},
    {"out", 1, 'o', "FILE", "write the bundle to FILE (default stdout)"},
    {"since", 1, 's', "TIME", "only indicators seen at or after TIME (ISO 8601 or epoch seconds)"},
    {"source", 1, O_SOURCE, "NAME", "whose indicators: local (default), a peer's name, or all"},
    {"min-confidence", 1, O_MINCONF, "N", "only indicators of confidence >= N (0-100, default 0)"},
    {"tlp", 1, O_TLP, "LEVEL",
     "TLP 2.0 of the local indicators: clear (default), green, amber, "
     "amber+strict, red"},
    {"anonymize", 1, O_ANON, "KEYFILE", "survey hosts as Crypto-PAn addresses (else counts only)"},
    {"anonymize-all", 1, O_ANON_ALL, "KEYFILE",
     "every address in the bundle Crypto-PAn'd (share anonymize's rules): for a recipient"},
    {"collection", 1, O_COLLECTION, "ID", "also add the objects to TAXII collection ID"},
    {"org", 1, O_ORG, "NAME", "the producer identity's name (default mamori)"},
    {"no-refresh", 0, O_NOREFRESH, NULL, "do not recollect the local indicators first"},
    {"format", 1, 'f', "FMT", "summary as text (default) or json"},
    {"help", 0, 'h', NULL, "this help"},
};
#define NOPTS (sizeof optdefs / sizeof optdefs[0])

struct args {
    const char *db, *out, *source, *tlp, *anon, *anon_all, *collection, *org;
    int64_t since_us;
    int min_conf;
    bool refresh, json;
};

static int run_export(int argc, char **argv);

const struct share_sub share_export = {
    "export", "[options]", "write local (and shareable received) indicators as a STIX 2.1 bundle",
    optdefs,  NOPTS,       run_export};

static int parse(int argc, char **argv, struct args *a)
{
    *a = (struct args){.db = "var/mamori.db",
                       .source = SHARE_LOCAL,
                       .tlp = "clear",
                       .org = "mamori",
                       .since_us = INT64_MIN,
                       .refresh = true};
    struct option lo[NOPTS + 1];
    char so[3 * NOPTS + 1];
    cli_opt_tables(optdefs, NOPTS, lo, so);
    int c;
    uint64_t u;
    while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1)
        switch (c) {
        case 'd':
            a->db = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 's': {
            int64_t t;
            if (cli_parse_time(optarg, &t)) {
                cli_error("share export: --since: bad time '%s'", optarg);
                return EXIT_USAGE;
            }
            a->since_us = t * 1000000;
            break;
        }
        case O_SOURCE:
            a->source = optarg;
            break;
        case O_MINCONF:
            if (!cli_uint("--min-confidence", optarg, 0, 100, &u)) return EXIT_USAGE;
            a->min_conf = (int)u;
            break;
        case O_TLP:
            if (share_tlp_rank(optarg) < 0) {
                cli_error("share export: --tlp: '%s' is not clear, green, amber, amber+strict "
                          "or red",
                          optarg);
                return EXIT_USAGE;
            }
            a->tlp = optarg;
            break;
        case O_ANON:
            a->anon = optarg;
            break;
        case O_ANON_ALL:
            a->anon_all = optarg;
            break;
        case O_COLLECTION:
            a->collection = optarg;
            break;
        case O_ORG:
            if (!*optarg) {
                cli_error("share export: --org: empty name");
                return EXIT_USAGE;
            }
            a->org = optarg;
            break;
        case O_NOREFRESH:
            a->refresh = false;
            break;
        case 'f':
            if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
                cli_error("share export: --format: '%s' is not text or json", optarg);
                return EXIT_USAGE;
            }
            a->json = !strcmp(optarg, "json");
            break;
        case 'h':
            share_usage(stdout, &share_export);
            return -1;
        default:
            share_usage(stderr, &share_export);
            return EXIT_USAGE;
        }
    if (!cli_no_operands("share export", argc, argv, optind)) return EXIT_USAGE;
    return 0;
}

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The bundle's text into path by a temporary file and a rename, or to stdout. */
static int write_bundle(const char *path, const char *text)
{
    if (!path || !strcmp(path, "-")) {
        if (fputs(text, stdout) < 0 || fflush(stdout)) return err_set(-EIO, "stdout: write failed");
        return 0;
    }
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) return err_set(-ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = 0;
    if (!f)
        rc = err_set(-errno, "%s: %s", tmp, strerror(errno));
    else if (fputs(text, f) < 0 || fflush(f) || fsync(fileno(f)))
        rc = err_set(-EIO, "%s: write failed", tmp);
    if (f && fclose(f) && !rc) rc = err_set(-EIO, "%s: write failed", tmp);
    if (!rc && rename(tmp, path)) rc = err_set(-errno, "%s: %s", path, strerror(errno));
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}

static void summary(FILE *f, const struct args *a, const struct share_collect_counts *cc,
                    const struct export_counts *n, const char *bundle_id, uint64_t published)
{
    if (a->json) {
        json_t *j = json_pack(
            "{s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
            "s:I,s:I},s:I,s:I,s:I}",
            "bundle", bundle_id, "source", a->source, "collected", "scanners",
            (json_int_t)cc->scanners, "attackers", (json_int_t)cc->attackers, "loaders",
            (json_int_t)cc->loaders, "urls", (json_int_t)cc->urls, "hosts", (json_int_t)cc->hosts,
            "files", (json_int_t)cc->files, "vulnerable", (json_int_t)cc->vulnerable, "indicators",
            (json_int_t)cc->rows, "objects", "total", (json_int_t)n->objects, "indicators",
            (json_int_t)n->indicators, "sightings", (json_int_t)n->sightings, "observed_data",
            (json_int_t)n->observed, "relationships", (json_int_t)n->relationships, "malware",
            (json_int_t)n->malware, "infrastructure", (json_int_t)n->infrastructure,
            "attack_patterns", (json_int_t)n->attack_patterns, "markings", (json_int_t)n->markings,
            "withheld_tlp", (json_int_t)n->withheld_tlp, "vulnerable_counted",
            (json_int_t)n->vulnerable, "published", (json_int_t)published);
        char *t = j ? json_dumps(j, JSON_SORT_KEYS) : NULL;
        if (t) fprintf(f, "%s\n", t);
        free(t);
        json_decref(j);
        return;
    }
    if (a->refresh)
        fprintf(f,
                "collected %llu local indicators: %llu scanners, %llu attackers, %llu loaders, "
                "%llu URLs, %llu hosts, %llu files, %llu vulnerable hosts\n",
                (unsigned long long)cc->rows, (unsigned long long)cc->scanners,
                (unsigned long long)cc->attackers, (unsigned long long)cc->loaders,
                (unsigned long long)cc->urls, (unsigned long long)cc->hosts,
                (unsigned long long)cc->files, (unsigned long long)cc->vulnerable);
    fprintf(f,
            "exported %s: %zu objects — %zu indicators, %zu sightings, %zu observed-data, %zu "
            "relationships, %zu malware, %zu infrastructure, %zu attack patterns, %zu markings\n",
            bundle_id, n->objects, n->indicators, n->sightings, n->observed, n->relationships,
            n->malware, n->infrastructure, n->attack_patterns, n->markings);
    if (n->withheld_tlp)
        fprintf(f, "withheld %zu received indicators marked TLP:AMBER or TLP:RED\n",
                n->withheld_tlp);
    if (n->vulnerable)
        fprintf(f, "survey: %zu vulnerable hosts, %s\n", n->vulnerable,
                a->anon ? "anonymized (Crypto-PAn)" : "as counts only");
    if (a->collection)
        fprintf(f, "TAXII collection %s: %llu new object versions\n", a->collection,
                (unsigned long long)published);
}

/* The whole bundle through Crypto-PAn (core/anon.h), and its id derived
 * anew from what it now holds (the old one was of the clear objects). */
static int cmp_obj_id(const void *x, const void *y)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)x, "id")) ?: "",
                  json_string_value(json_object_get(*(json_t *const *)y, "id")) ?: "");
}

static int anonymize_all(json_t *b, struct cpan *key)
{
    json_t *objs = json_object_get(b, "objects");
    size_t i, n = json_array_size(objs);
    if (anon_stix_bundle(key, b, NULL)) return -1;
    json_t **v = malloc((n + 1) * sizeof *v); /* ids changed: sorted by id again */
    if (!v) return err_set(-ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(objs, i));
    qsort(v, n, sizeof *v, cmp_obj_id);
    json_array_clear(objs);
    for (i = 0; i < n; i++)
        json_array_append_new(objs, v[i]);
    free(v);
    char *c = stix_canonical(json_object_get(b, "objects"));
    char u[37], id[STIX_ID_MAX];
    int e = !c || stix_uuid5(MAMORI_STIX_NAMESPACE, c, strlen(c), u);
    free(c);
    if (e) return err_set(-ENOMEM, "out of memory");
    snprintf(id, sizeof id, "bundle--%s", u);
    json_object_set_new(b, "id", json_string(id));
    return 0;
}

static int export_run(const struct args *a, struct store *s, struct cpan *anon,
                      struct cpan *anon_all)
{
    struct share_collect_counts cc = {0};
    if (a->refresh) {
        struct share_collect_opts co = {.tlp = a->tlp};
        if (share_collect_local(s, &co, &cc)) {
            cli_error("share export: %s", err_msg());
            return 1;
        }
    }
    struct share_filter flt = {.source = strcmp(a->source, "all") ? a->source : NULL,
                               .since_us = a->since_us,
                               .min_confidence = a->min_conf};
    struct share_ind_list rows;
    if (share_read(s, &flt, &rows)) {
        cli_error("share export: %s", err_msg());
        return 1;
    }
    struct export_opts eo = {.org = a->org, .anon = anon};
    struct export_counts n;
    json_t *b = export_bundle(&rows, &eo, &n);
    share_ind_list_free(&rows);
    if (b && anon_all && anonymize_all(b, anon_all)) {
        cli_error("share export: --anonymize-all: %s", err_msg());
        json_decref(b);
        return 1;
    }
    char *text = b ? json_dumps(b, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (!text) {
        json_decref(b);
        cli_error("share export: %s", b ? "out of memory" : err_msg());
        return 1;
    }
    size_t len = strlen(text);
    char *t2 = realloc(text, len + 2);
    if (t2) {
        text = t2;
        memcpy(text + len, "\n", 2);
    }
    int rc = 0;
    if (write_bundle(a->out, text)) {
        cli_error("share export: %s", err_msg());
        rc = 1;
    }
    free(text);
    uint64_t published = 0;
    if (!rc && a->collection &&
        taxii_db_publish(s, a->collection, json_object_get(b, "objects"), now_us(), &published)) {
        cli_error("share export: collection %s: %s", a->collection, err_msg());
        rc = 1;
    }
    if (!rc) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s source=%s tlp=%s%s%s",
                 json_string_value(json_object_get(b, "id")), a->source, a->tlp,
                 a->collection ? " collection=" : "", a->collection ? a->collection : "");
        struct share_log_rec lr = {.ts_us = now_us(),
                                   .action = "export",
                                   .peer = a->out ? a->out : "-",
                                   .objects = n.objects,
                                   .indicators = n.indicators,
                                   .fresh = published,
                                   .dropped = n.withheld_tlp + n.bad,
                                   .detail = detail};
        if (share_log_add(s, &lr)) {
            cli_error("share export: %s", err_msg());
            rc = 1;
        }
        summary(a->out && strcmp(a->out, "-") ? stdout : stderr, a, &cc, &n,
                json_string_value(json_object_get(b, "id")), published);
    }
    json_decref(b);
    return rc;
}

static int run_export(int argc, char **argv)
{
    struct args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (access(a.db, F_OK)) { /* an export of a database that is not there is a mistyped path */
        cli_error("share export: %s: no such database", a.db);
        return 1;
    }
    struct cpan *anon = NULL;
    if (a.anon && !(anon = cpan_load(a.anon))) {
        cli_error("share export: --anonymize %s: %s", a.anon, err_msg());
        return 1;
    }
    struct cpan *all = NULL;
    if (a.anon_all && !(all = cpan_load(a.anon_all))) {
        cli_error("share export: --anonymize-all %s: %s", a.anon_all, err_msg());
        cpan_free(anon);
        return 1;
    }
    struct store *s = store_open(a.db, true);
    if (!s) {
        cli_error("share export: %s", err_msg());
        cpan_free(anon);
        cpan_free(all);
        return 1;
    }
    rc = export_run(&a, s, anon, all);
    store_close(s);
    cpan_free(anon);
    cpan_free(all);
    return rc;
}
