/* anon — `mamori share anonymize`: Crypto-PAn over a JSON, JSON-lines, CSV,
 * STIX or pcap/pcapng file (the formats: anon_text.c, anon_stix.c,
 * anon_pcap.c; the report: anon_metrics.c).
 *
 * The format is found from the first bytes unless --format names it: a
 * capture's magic, '{' or '[' for JSON (a bundle is STIX), anything else
 * CSV.  JSON is read whole (at most 1 GiB) and written back with its keys in
 * their order; several documents one after another are JSON lines, written
 * one a line.  Output goes to a temporary file beside --out, renamed over it
 * at the end, so a failure never leaves half a file.  --metrics reports on
 * the input's addresses instead of printing the output (which still goes to
 * --out when given). */
#include "anon.h"
#include "share.h"

#include "../core/err.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON_MAX (1u << 30)

enum { O_KEY = 256, O_NEWKEY, O_FORMAT, O_COLUMNS, O_METRICS, O_MFORMAT, O_JOIN, O_OUT, O_QUIET };

static const struct cli_opt opts[] = {
    {"key", 1, O_KEY, "FILE", "the Crypto-PAn key: 32 raw bytes or 64 hex digits"},
    {"new-key", 1, O_NEWKEY, "FILE", "write a fresh random key to FILE (mode 0600) and exit"},
    {"format", 1, O_FORMAT, "FMT", "input: auto, json, csv, stix or pcap (default auto)"},
    {"columns", 1, O_COLUMNS, "LIST",
     "only these CSV columns / JSON keys (default: every value that is an address)"},
    {"metrics", 0, O_METRICS, NULL, "report k-anonymity and what analysis survives, on stdout"},
    {"metrics-format", 1, O_MFORMAT, "FMT", "the report as text or json (default text)"},
    {"join", 1, O_JOIN, "FILE",
     "metrics: a second source to join with (default: the input's halves)"},
    {"out", 1, O_OUT, "FILE", "write the anonymized input here (default stdout; - for stdout)"},
    {"quiet", 0, O_QUIET, NULL, "no summary on stderr"},
    {"help", 0, 'h', NULL, "this help"},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

enum fmt { F_AUTO, F_JSON, F_CSV, F_STIX, F_PCAP };

static enum fmt detect(FILE *in)
{
    uint8_t b[4];
    size_t n = fread(b, 1, 4, in);
    for (size_t i = n; i > 0; i--)
        ungetc(b[i - 1], in); /* glibc keeps all four */
    uint32_t m = 0;
    if (n == 4) memcpy(&m, b, 4);
    if (m == 0x0A0D0D0A || m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1)
        return F_PCAP;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') continue;
        return b[i] == '{' || b[i] == '[' ? F_JSON : F_CSV;
    }
    return F_CSV;
}

static char *slurp(FILE *in, size_t *len, const char *name)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, in);
        n += r;
        if (n < cap) break;
        if (cap >= JSON_MAX) {
            free(b);
            err_set(-EFBIG, "%s: JSON input larger than 1 GiB", name);
            return NULL;
        }
        char *nb = realloc(b, cap * 2 + 1);
        if (!nb) break;
        b = nb, cap *= 2;
    }
    if (!b || ferror(in)) {
        free(b);
        err_set(-EIO, "%s: cannot read", name);
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}

static const char **split_list(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    const char **v = calloc(n + 1, sizeof *v);
    char *dup = strdup(s);
    if (!v || !dup) {
        free(v), free(dup);
        return NULL;
    }
    size_t k = 0;
    for (char *save = NULL, *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
        v[k++] = t;
    if (!k) free(dup);
    return v;
}

/* JSON, JSON lines or STIX: the documents of buf, each rewritten and written. */
static int do_json(struct anon *a, const char *buf, size_t n, FILE *out, enum fmt f,
                   const char *columns, const char *name)
{
    const char **keys = columns ? split_list(columns) : NULL;
    if (columns && !keys) return err_set(-ENOMEM, "out of memory");
    size_t off = 0, docs = 0;
    int rc = 0, lines = 0;
    while (off < n && !rc) {
        while (off < n && strchr(" \t\r\n", buf[off]))
            off++;
        if (off >= n) break;
        json_error_t e;
        json_t *v = json_loadb(buf + off, n - off,
                               JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!v) {
            rc = err_set(-EINVAL, "%s: JSON at byte %zu: %s", name, off + (size_t)e.position,
                         e.text);
            break;
        }
        size_t used = (size_t)e.position;
        int multiline = memchr(buf + off, '\n', used) != NULL;
        size_t after = off + used;
        while (after < n && strchr(" \t\r", buf[after]))
            after++;
        if (docs == 0 && after < n && buf[after] == '\n') {
            size_t more = after;
            while (more < n && strchr(" \t\r\n", buf[more]))
                more++;
            lines = more < n; /* another document follows: JSON lines */
        }
        const char *type = json_is_object(v) ? json_string_value(json_object_get(v, "type")) : NULL;
        if (f == F_STIX || (f != F_JSON && !keys && type && !strcmp(type, "bundle")) ||
            (f == F_JSON && !keys && type && !strcmp(type, "bundle"))) {
            rc = anon_stix(a, v);
            if (rc) {
                char why[512];
                snprintf(why, sizeof why, "%s", err_msg());
                err_set(rc, "%s: %s", name, why);
            }
        } else {
            a->st.records_changed += anon_json(a, v, keys) > 0;
        }
        a->st.records++;
        if (!rc) {
            size_t flags = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
                           (multiline && !lines ? JSON_INDENT(2) : JSON_COMPACT);
            if (json_dumpf(v, out, flags) < 0) rc = err_set(-EIO, "writing: %s", strerror(errno));
            fputc('\n', out);
        }
        json_decref(v);
        off += used;
        docs++;
    }
    if (keys) free((void *)keys[0]);
    free(keys);
    return rc;
}

static int run_one(struct anon *a, const char *path, enum fmt f, const char *columns, FILE *out)
{
    FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!in) return err_set(-errno, "%s: %s", path, strerror(errno));
    if (f == F_AUTO) f = detect(in);
    int rc;
    if (f == F_PCAP) {
        rc = anon_pcap(a, in, out, path);
    } else if (f == F_CSV) {
        rc = anon_csv(a, in, out, columns, path);
    } else {
        size_t n = 0;
        char *buf = slurp(in, &n, path);
        rc = buf ? do_json(a, buf, n, out, f, columns, path) : -EIO;
        free(buf);
    }
    if (in != stdin) fclose(in);
    return rc;
}

static void summary(const struct anon_stats *s, enum fmt f)
{
    if (f == F_PCAP) {
        fprintf(stderr,
                "anonymized %llu packets (%llu IP, %llu ARP, %llu other): %llu IPv4 header and "
                "%llu transport checksums fixed (%llu of truncated packets, incrementally), "
                "%llu left (not captured); %llu ICMP quotes, %llu NDP targets, %llu "
                "name-resolution blocks dropped; %llu packets still hold addresses in clear "
                "(IPv4 options, IPv6 routing/home-address headers)\n",
                (unsigned long long)s->packets, (unsigned long long)s->ip_packets,
                (unsigned long long)s->arp_packets, (unsigned long long)s->non_ip,
                (unsigned long long)s->ipv4_csums,
                (unsigned long long)(s->l4_csums + s->l4_csums_truncated),
                (unsigned long long)s->l4_csums_truncated, (unsigned long long)s->csums_left,
                (unsigned long long)s->icmp_quoted, (unsigned long long)s->ndp_targets,
                (unsigned long long)s->nrb_dropped, (unsigned long long)s->clear_left);
        return;
    }
    fprintf(stderr,
            "anonymized %llu values (%llu addresses, %llu prefixes, %llu URLs) in %llu of %llu "
            "records",
            (unsigned long long)s->values, (unsigned long long)s->addresses,
            (unsigned long long)s->prefixes, (unsigned long long)s->urls,
            (unsigned long long)s->records_changed, (unsigned long long)s->records);
    if (s->sco_ids + s->other_ids + s->patterns)
        fprintf(stderr,
                "; STIX: %llu patterns, %llu SCO ids recomputed, %llu other ids keyed, "
                "%llu refs updated",
                (unsigned long long)s->patterns, (unsigned long long)s->sco_ids,
                (unsigned long long)s->other_ids, (unsigned long long)s->refs);
    if (s->ids_fallback)
        fprintf(stderr, "; %llu SCO ids keyed (no deterministic id)",
                (unsigned long long)s->ids_fallback);
    fputc('\n', stderr);
}

static int usage_error(const char *msg)
{
    cli_error("share anonymize: %s (mamori share anonymize --help)", msg);
    return EXIT_USAGE;
}

static int run_anonymize(int argc, char **argv)
{
    struct option lo[N_OPTS + 1];
    char shorts[3 * N_OPTS + 1];
    cli_opt_tables(opts, N_OPTS, lo, shorts);
    const char *key = NULL, *newkey = NULL, *columns = NULL, *join = NULL, *outp = NULL;
    enum fmt f = F_AUTO;
    int metrics = 0, mjson = 0, quiet = 0, c;
    static const char *const fmts[] = {"auto", "json", "csv", "stix", "pcap"};
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        switch (c) {
        case O_KEY:
            key = optarg;
            break;
        case O_NEWKEY:
            newkey = optarg;
            break;
        case O_COLUMNS:
            columns = optarg;
            break;
        case O_JOIN:
            join = optarg;
            break;
        case O_OUT:
            outp = optarg;
            break;
        case O_METRICS:
            metrics = 1;
            break;
        case O_QUIET:
            quiet = 1;
            break;
        case O_MFORMAT:
            if (strcmp(optarg, "text") && strcmp(optarg, "json"))
                return usage_error("--metrics-format is text or json");
            mjson = !strcmp(optarg, "json");
            break;
        case O_FORMAT: {
            int k = -1;
            for (int i = 0; i < 5; i++)
                if (!strcmp(optarg, fmts[i])) k = i;
            if (k < 0) return usage_error("--format is auto, json, csv, stix or pcap");
            f = (enum fmt)k;
            break;
        }
        case 'h':
            share_usage(stdout, &share_anonymize);
            return 0;
        default:
            return usage_error("bad option");
        }
    }
    if (newkey) {
        if (optind < argc || key) return usage_error("--new-key takes no input and no --key");
        if (cpan_new_key_file(newkey) < 0) {
            cli_error("share anonymize: %s", err_msg());
            return 1;
        }
        if (!quiet) fprintf(stderr, "wrote a new Crypto-PAn key to %s (mode 0600)\n", newkey);
        return 0;
    }
    if (!key) return usage_error("--key FILE is required");
    if (optind + 1 != argc) return usage_error("one INPUT file (or -) is required");
    if (join && !metrics) return usage_error("--join is for --metrics");
    struct cpan *cp = cpan_load(key);
    if (!cp) {
        cli_error("share anonymize: %s", err_msg());
        return 1;
    }
    const char *input = argv[optind];
    char tmp[4096] = "";
    FILE *out = NULL;
    if (outp && strcmp(outp, "-")) {
        snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", outp);
        int fd = mkstemp(tmp);
        out = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!out) {
            cli_error("share anonymize: %s: %s", outp, strerror(errno));
            cpan_free(cp);
            return 1;
        }
    } else {
        out = metrics ? fopen("/dev/null", "wb") : stdout;
    }
    struct anon_metrics *m = metrics ? anon_metrics_new() : NULL;
    struct anon a = {.cpan = cp, .seen = m ? anon_metrics_add : NULL, .seen_arg = m};
    int rc = out && (!metrics || m) ? run_one(&a, input, f, columns, out)
                                    : err_set(-ENOMEM, "out of memory");
    if (!rc && out && fflush(out) != 0) rc = err_set(-EIO, "writing: %s", strerror(errno));
    if (!rc && join) {
        FILE *null = fopen("/dev/null", "wb");
        struct anon b = {.cpan = cp, .seen = anon_metrics_add, .seen_arg = m};
        anon_metrics_split(m);
        rc = null ? run_one(&b, join, f, columns, null) : -EIO;
        if (null) fclose(null);
    }
    if (out && out != stdout && fclose(out) != 0 && !rc)
        rc = err_set(-EIO, "writing: %s", strerror(errno));
    if (!rc && tmp[0] && rename(tmp, outp) < 0)
        rc = err_set(-errno, "%s: %s", outp, strerror(errno));
    if (rc && tmp[0]) unlink(tmp);
    if (!rc && m) rc = anon_metrics_report(m, cp, stdout, mjson);
    if (!rc && !quiet) summary(&a.st, f == F_AUTO && a.st.packets ? F_PCAP : f);
    anon_metrics_free(m);
    cpan_free(cp);
    if (rc) {
        cli_error("share anonymize: %s", err_msg());
        return 1;
    }
    return 0;
}

const struct share_sub share_anonymize = {
    "anonymize",
    "--key FILE [options] INPUT",
    "Crypto-PAn (prefix-preserving) anonymization of JSON, CSV, STIX and pcap, with metrics",
    opts,
    N_OPTS,
    run_anonymize};
