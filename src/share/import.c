/* import — `mamori share import` (bundles and TAXII envelopes from others into
 * the indicator model) and `mamori share trust` (the sources' grades).
 *
 * One transaction per file: a file that cannot be read, is not JSON, is not a
 * bundle or envelope, or is over the limits (--max-bytes, --max-objects) is
 * refused whole and changes nothing.  Inside a file, a bad object does not
 * refuse the others: each object is checked before it is written
 * (share_ingest_object), so the invalid ones are counted and reported by id
 * and reason while the valid ones are kept — what was accepted is never lost
 * to a neighbour's mistake.  Sightings go in a second pass, after the
 * indicators they name.  The exit status is 0 when every file was imported
 * (invalid objects are in the summary), 1 when a file was refused. */
#include "../core/err.h"
#include "../core/esc.h"
#include "../store/share.h"
#include "../store/share_ingest.h"
#include "../store/store.h"
#include "share.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IMPORT_MAX_BYTES (64ull << 20)
#define IMPORT_MAX_OBJECTS 200000
#define IMPORT_REPORT_INVALID 1000 /* invalid objects named per file (all are counted) */

enum { O_DB = 256, O_SOURCE, O_REL, O_WARN, O_FORMAT, O_MAXB, O_MAXO };

static const struct cli_opt import_opts[] = {
    {"db", 1, O_DB, "PATH", "database (default var/mamori.db)"},
    {"source", 1, O_SOURCE, "NAME", "who the bundles come from (required)"},
    {"reliability", 1, O_REL, "A-F", "set the source's Admiralty grade first (else kept, new: F)"},
    {"warninglists", 1, O_WARN, "DIR", "lists of values to drop (default the shipped; none: off)"},
    {"max-bytes", 1, O_MAXB, "N", "largest file read (default 64 MiB)"},
    {"max-objects", 1, O_MAXO, "N", "most objects in one file (default 200000)"},
    {"format", 1, O_FORMAT, "FMT", "text or json (default text)"},
    {"help", 0, 'h', NULL, "this help"},
};
#define N_IMPORT (sizeof import_opts / sizeof *import_opts)

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct import_cfg {
    const char *db, *source, *reliability, *warn_dir, *format;
    uint64_t max_bytes, max_objects;
};

/* The whole of path ("-": standard input), at most max bytes: 0, or an error message in msg. */
static char *slurp(const char *path, uint64_t max, size_t *len, char *msg, size_t cap)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        snprintf(msg, cap, "%s", strerror(errno));
        return NULL;
    }
    size_t n = 0, sz = 1 << 16;
    char *buf = malloc(sz);
    while (buf) {
        if (n == sz) {
            char *nb = sz > max ? NULL : realloc(buf, sz * 2);
            if (!nb) break;
            buf = nb;
            sz *= 2;
        }
        size_t k = fread(buf + n, 1, sz - n, f);
        n += k;
        if (n > max || k == 0) break;
    }
    bool err = ferror(f);
    if (f != stdin) fclose(f);
    if (!buf || err || n > max) {
        snprintf(msg, cap,
                 !buf  ? "out of memory"
                 : err ? "read error"
                       : "larger than %llu bytes",
                 (unsigned long long)max);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* One file's result, for the summary. */
struct file_res {
    struct share_ingest_stats st;
    json_t *invalid; /* [{id, reason}] */
    char error[256]; /* the file was refused: why */
};

/* Messages quote outside text cut at a byte count: as JSON they must be UTF-8 (esc.h). */
static json_t *utf8(const char *s)
{
    char *u = esc_utf8(s, strlen(s));
    json_t *j = json_string(u ? u : "");
    free(u);
    return j;
}

static void note_invalid(void *ctx, size_t i, const json_t *v)
{
    struct file_res *r = ctx;
    const char *id = json_string_value(json_object_get(v, "id"));
    if (json_array_size(r->invalid) < IMPORT_REPORT_INVALID)
        json_array_append_new(r->invalid, json_pack("{s:o, s:o, s:I}", "id",
                                                    id ? json_string(id) : json_null(), "reason",
                                                    utf8(err_msg()), "index", (json_int_t)i));
}

static int ingest_all(struct store *s, json_t *objs, const struct share_ingest_opts *o,
                      struct file_res *r)
{
    return share_ingest_objects(s, objs, o, &r->st, note_invalid, r);
}

static int import_file(struct store *s, const char *path, const struct import_cfg *c,
                       const struct share_ingest_opts *o, struct file_res *r)
{
    size_t len;
    char *text = slurp(path, c->max_bytes, &len, r->error, sizeof r->error);
    if (!text) return -EIO;
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!doc) {
        snprintf(r->error, sizeof r->error, "not JSON (line %d: %s)", je.line, je.text);
        return -EINVAL;
    }
    json_t *objs = json_object_get(doc, "objects");
    const char *type = json_string_value(json_object_get(doc, "type"));
    /* a bundle (type "bundle") or a TAXII envelope (no type, "objects" and maybe "more") */
    if (!json_is_object(doc) || !json_is_array(objs) || (type && strcmp(type, "bundle"))) {
        snprintf(r->error, sizeof r->error, "not a STIX bundle or TAXII envelope");
        json_decref(doc);
        return -EINVAL;
    }
    if (json_array_size(objs) > c->max_objects) {
        snprintf(r->error, sizeof r->error, "%zu objects, more than --max-objects %llu",
                 json_array_size(objs), (unsigned long long)c->max_objects);
        json_decref(doc);
        return -EINVAL;
    }
    int e = share_begin(s);
    if (!e) e = ingest_all(s, objs, o, r);
    if (!e) {
        char detail[200];
        snprintf(detail, sizeof detail, "source %s; %llu invalid", o->source,
                 (unsigned long long)r->st.invalid);
        struct share_log_rec lr = {.ts_us = o->now_us,
                                   .action = "import",
                                   .peer = path,
                                   .objects = r->st.objects,
                                   .indicators = r->st.indicators,
                                   .fresh = r->st.fresh,
                                   .duplicates = r->st.duplicates,
                                   .dropped = r->st.dropped,
                                   .detail = detail};
        e = share_log_add(s, &lr);
    }
    if (!e) e = share_commit(s);
    if (e) {
        share_rollback(s);
        snprintf(r->error, sizeof r->error, "%s", err_msg());
        r->st = (struct share_ingest_stats){0};
    }
    json_decref(doc);
    return e;
}

static json_t *stats_json(const struct share_ingest_stats *st)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "objects", (json_int_t)st->objects,
                     "indicators", (json_int_t)st->indicators, "new", (json_int_t)st->fresh,
                     "duplicates", (json_int_t)st->duplicates, "dropped", (json_int_t)st->dropped,
                     "invalid", (json_int_t)st->invalid);
}

static void print_text(const char *path, const struct file_res *r)
{
    char p[512], why[600];
    if (r->error[0]) {
        printf("%s: refused: %s\n", esc_term(path, p, sizeof p),
               esc_term(r->error, why, sizeof why));
        return;
    }
    printf("%s: %llu objects, %llu indicators (%llu new, %llu duplicates), %llu dropped by "
           "warninglists, %llu invalid\n",
           esc_term(path, p, sizeof p), (unsigned long long)r->st.objects,
           (unsigned long long)r->st.indicators, (unsigned long long)r->st.fresh,
           (unsigned long long)r->st.duplicates, (unsigned long long)r->st.dropped,
           (unsigned long long)r->st.invalid);
    json_t *v;
    size_t i;
    json_array_foreach(r->invalid, i, v)
    {
        char id[160];
        const char *raw = json_string_value(json_object_get(v, "id"));
        printf("  invalid: %s: %s\n", raw ? esc_term(raw, id, sizeof id) : "(no id)",
               esc_term(json_string_value(json_object_get(v, "reason")), why, sizeof why));
    }
}

static bool parse_import(int argc, char **argv, struct import_cfg *c)
{
    struct option lo[N_IMPORT + 1];
    char shorts[3 * N_IMPORT + 1];
    cli_opt_tables(import_opts, N_IMPORT, lo, shorts);
    int ch;
    while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        switch (ch) {
        case O_DB:
            c->db = optarg;
            break;
        case O_SOURCE:
            c->source = optarg;
            break;
        case O_REL:
            c->reliability = optarg;
            break;
        case O_WARN:
            c->warn_dir = optarg;
            break;
        case O_FORMAT:
            c->format = optarg;
            break;
        case O_MAXB:
            if (!cli_uint("--max-bytes", optarg, 1, 1ull << 34, &c->max_bytes)) return false;
            break;
        case O_MAXO:
            if (!cli_uint("--max-objects", optarg, 1, 10000000, &c->max_objects)) return false;
            break;
        case 'h':
            share_usage(stdout, &share_import);
            exit(0);
        default:
            return false;
        }
    }
    if (!c->source || !*c->source)
        return cli_error("share import: --source NAME is required"), false;
    if (strcmp(c->format, "text") && strcmp(c->format, "json"))
        return cli_error("share import: --format: '%s' is not text or json", c->format), false;
    if (c->reliability && share_trust_confidence(c->reliability) < 0)
        return cli_error("share import: --reliability: %s", err_msg()), false;
    if (optind >= argc) return cli_error("share import: no FILE (- for standard input)"), false;
    return true;
}

static int run_import(int argc, char **argv)
{
    struct import_cfg c = {.db = "var/mamori.db",
                           .format = "text",
                           .max_bytes = IMPORT_MAX_BYTES,
                           .max_objects = IMPORT_MAX_OBJECTS};
    if (!parse_import(argc, argv, &c)) return EXIT_USAGE;
    struct share_warn *w = NULL;
    if (!c.warn_dir || strcmp(c.warn_dir, "none")) {
        if (!(w = share_warn_load(c.warn_dir))) {
            cli_error("share import: %s", err_msg());
            return 1;
        }
    }
    struct store *s = store_open(c.db, true);
    if (!s) {
        cli_error("share import: %s", err_msg());
        share_warn_free(w);
        return 1;
    }
    int64_t now = now_us();
    int rc = 0;
    if (c.reliability) {
        if (share_begin(s) || share_trust_set(s, c.source, c.reliability, now) || share_commit(s)) {
            cli_error("share import: %s", err_msg());
            share_rollback(s);
            store_close(s);
            share_warn_free(w);
            return 1;
        }
    }
    struct share_ingest_opts o = {.source = c.source, .now_us = now, .warn = w};
    struct share_ingest_stats total = {0};
    json_t *files = json_array();
    for (int i = optind; i < argc; i++) {
        struct file_res r = {.invalid = json_array()};
        bool refused = import_file(s, argv[i], &c, &o, &r) != 0;
        rc |= refused;
        if (!strcmp(c.format, "text")) print_text(argv[i], &r);
        json_t *fj = stats_json(&r.st);
        json_object_set_new(fj, "file", utf8(argv[i]));
        json_object_set_new(fj, "invalid_objects", r.invalid);
        if (r.error[0]) json_object_set_new(fj, "error", utf8(r.error));
        json_array_append_new(files, fj);
        total.objects += r.st.objects, total.indicators += r.st.indicators;
        total.fresh += r.st.fresh, total.duplicates += r.st.duplicates;
        total.dropped += r.st.dropped, total.invalid += r.st.invalid;
        if (refused) cli_error("share import: %s: %s", argv[i], r.error);
    }
    struct share_source src = {0};
    int have = share_source_get(s, c.source, &src);
    if (!strcmp(c.format, "json")) {
        json_t *out =
            json_pack("{s:s, s:o, s:o, s:o, s:o}", "source", c.source, "reliability",
                      have == 1 ? json_string(src.reliability) : json_null(), "confidence",
                      have == 1 ? json_integer(src.confidence) : json_null(), "files", files,
                      "total", stats_json(&total));
        json_dumpf(out, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(out);
    } else {
        json_decref(files);
        if (argc - optind > 1)
            printf("total: %llu objects, %llu indicators (%llu new, %llu duplicates), %llu "
                   "dropped, %llu invalid\n",
                   (unsigned long long)total.objects, (unsigned long long)total.indicators,
                   (unsigned long long)total.fresh, (unsigned long long)total.duplicates,
                   (unsigned long long)total.dropped, (unsigned long long)total.invalid);
    }
    store_close(s);
    share_warn_free(w);
    return rc;
}

const struct share_sub share_import = {
    "import",
    "[options] --source NAME FILE...",
    "read STIX 2.1 bundles or TAXII envelopes from another organisation",
    import_opts,
    N_IMPORT,
    run_import};

/* --- trust ------------------------------------------------------------------------------------ */

static const struct cli_opt trust_opts[] = {
    {"db", 1, O_DB, "PATH", "database (default var/mamori.db)"},
    {"format", 1, O_FORMAT, "FMT", "text or json (default text)"},
    {"help", 0, 'h', NULL, "this help"},
};
#define N_TRUST (sizeof trust_opts / sizeof *trust_opts)

static void print_sources(json_t *list)
{
    json_t *v;
    size_t i;
    printf("%-24s %-5s %-10s %-8s %s\n", "source", "grade", "confidence", "rows", "last");
    json_array_foreach(list, i, v)
    {
        char name[200], iso[40];
        printf("%-24s %-5s %-10lld %-8lld %s\n",
               esc_term(json_string_value(json_object_get(v, "name")), name, sizeof name),
               json_string_value(json_object_get(v, "reliability")),
               (long long)json_integer_value(json_object_get(v, "confidence")),
               (long long)json_integer_value(json_object_get(v, "rows")),
               cli_iso_us(json_integer_value(json_object_get(v, "last_us")), iso));
    }
}

static int run_trust(int argc, char **argv)
{
    struct option lo[N_TRUST + 1];
    char shorts[3 * N_TRUST + 1];
    cli_opt_tables(trust_opts, N_TRUST, lo, shorts);
    const char *db = "var/mamori.db", *format = "text";
    int ch;
    while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (ch == O_DB)
            db = optarg;
        else if (ch == O_FORMAT)
            format = optarg;
        else if (ch == 'h')
            return share_usage(stdout, &share_trust), 0;
        else
            return EXIT_USAGE;
    }
    int left = argc - optind;
    if ((left != 0 && left != 2) || (strcmp(format, "text") && strcmp(format, "json"))) {
        cli_error("share trust: usage: mamori share trust [--db PATH] [--format text|json] "
                  "[NAME GRADE]");
        return EXIT_USAGE;
    }
    if (left == 2 && share_trust_confidence(argv[optind + 1]) < 0) {
        cli_error("share trust: %s", err_msg());
        return EXIT_USAGE;
    }
    struct store *s = store_open(db, left == 2);
    if (!s) {
        cli_error("share trust: %s", err_msg());
        return 1;
    }
    int rc = 0;
    if (left == 2 &&
        (share_begin(s) || share_trust_set(s, argv[optind], argv[optind + 1], now_us()) ||
         share_commit(s))) {
        cli_error("share trust: %s", err_msg());
        share_rollback(s);
        rc = 1;
    }
    json_t *list = rc ? NULL : share_sources_list(s);
    if (!rc && !list) {
        cli_error("share trust: %s", err_msg());
        rc = 1;
    }
    if (list && !strcmp(format, "json")) {
        json_dumpf(list, stdout, JSON_INDENT(2));
        putchar('\n');
    } else if (list) {
        print_sources(list);
    }
    json_decref(list);
    store_close(s);
    return rc;
}

const struct share_sub share_trust = {
    "trust",
    "[options] [NAME GRADE]",
    "set a source's Admiralty grade (A..F); without operands, list the sources",
    trust_opts,
    N_TRUST,
    run_trust};
