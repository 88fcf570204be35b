/* report — print the observatory summary of a window as text, JSON or CSV.
 *
 * All three render the one JSON document built by query_summary(), so the
 * formats cannot disagree.  Text is for people (aligned tables), JSON is the
 * stable contract for programs, CSV is one long table (section,key,...).
 * Strings in the document came from outside (attackers typed the honeypot's
 * commands, credentials and URLs; AS names come from a feed): text output
 * escapes their control characters (T()) and CSV neutralises formula
 * prefixes (esc_csv), both by core/esc. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "../store/store.h"
#include "../store/query.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: mamori report [--db PATH] [--from TIME] [--to TIME] [--format text|json|csv]\n"
          "                     [--top N]\n"
          "\n"
          "Summarise what observe stored: totals, classes, scanner fingerprints, top ports,\n"
          "backscatter ports, countries, ASNs, top sources, surge alerts and DoS victims.\n"
          "\n"
          "      --db PATH       database (default var/mamori.db)\n"
          "      --from TIME     window start, ISO 8601 UTC or epoch seconds (default: all)\n"
          "      --to TIME       window end, exclusive (default: all)\n"
          "  -f, --format FMT    text (default), json or csv\n"
          "  -n, --top N         rows per list (default 10; 0 = all)\n",
          f);
}

static const char *s(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* s() made safe for a terminal, in a buffer that lives as long as the
 * enclosing block (a printf argument list). */
#define T(o, k) esc_term(s(o, k), (char[1024]){0}, 1024)

static long long n(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void text_keyed(json_t *doc, const char *section, const char *title, const char *who)
{
    json_t *arr = json_object_get(doc, section), *o;
    size_t i;
    printf("\n%s\n", title);
    if (!json_array_size(arr)) {
        puts("  (none)");
        return;
    }
    json_array_foreach(arr, i, o)
    {
        char key[96];
        if (json_object_get(o, "port"))
            snprintf(key, sizeof key, "%lld/%s", n(o, "port"), T(o, "proto"));
        else if (json_object_get(o, "asn"))
            snprintf(key, sizeof key, "AS%lld %.44s", n(o, "asn"), T(o, "name"));
        else if (json_object_get(o, "cc"))
            snprintf(key, sizeof key, "%s", T(o, "cc"));
        else
            snprintf(key, sizeof key, "%s", T(o, "name"));
        printf("  %-52s %12lld packets %9lld %s\n", key, n(o, "packets"), n(o, "sources"), who);
    }
}

static void print_honeypot(json_t *h)
{
    json_t *o;
    size_t i;
    printf("Honeypot (lure)\n\n  sessions %lld from %lld sources  logins %lld ok, %lld failed  "
           "commands %lld  URLs %lld  files %lld\n",
           n(h, "sessions"), n(h, "sources"), n(h, "logins_ok"), n(h, "logins_failed"),
           n(h, "commands_run"), n(h, "urls_seen"), n(h, "files_saved"));
    puts("\nTop credentials                                     attempts  successes");
    json_array_foreach(json_object_get(h, "credentials"), i, o)
    {
        char cred[160];
        snprintf(cred, sizeof cred, "%s/%s", T(o, "username"), T(o, "password"));
        printf("  %-48.48s %10lld %10lld\n", cred, n(o, "attempts"), n(o, "successes"));
    }
    puts("\nTop commands                                        count  sessions");
    json_array_foreach(json_object_get(h, "commands"), i, o)
    {
        printf("  %-48.48s %8lld %9lld\n", T(o, "input"), n(o, "count"), n(o, "sessions"));
    }
    puts("\nDownload URLs (never fetched)");
    if (!json_array_size(json_object_get(h, "urls"))) puts("  (none)");
    json_array_foreach(json_object_get(h, "urls"), i, o)
    {
        printf("  %-60s %6lld  %s\n", T(o, "url"), n(o, "count"), T(o, "last_seen"));
    }
    puts("\nFiles built by bots (SHA-256)");
    if (!json_array_size(json_object_get(h, "hashes"))) puts("  (none)");
    json_array_foreach(json_object_get(h, "hashes"), i, o)
    {
        printf("  %s %8lld bytes %5lld×  %s\n", T(o, "sha256"), n(o, "size"), n(o, "count"),
               T(o, "path"));
    }
    puts("\nTop honeypot sources                          sessions  logins ok  downloads");
    json_array_foreach(json_object_get(h, "top_sources"), i, o)
    {
        printf("  %-42s %9lld %10lld %10lld\n", T(o, "ip"), n(o, "sessions"), n(o, "logins_ok"),
               n(o, "downloads"));
    }
}

static void print_text(json_t *d)
{
    json_t *w = json_object_get(d, "window"), *t = json_object_get(d, "totals"), *o;
    json_t *c = json_object_get(d, "classes"), *h = json_object_get(d, "honeypot");
    size_t i;
    bool lure = h && n(h, "sessions");
    if (!n(w, "intervals")) {
        if (lure)
            print_honeypot(h);
        else
            puts("no intervals in this window");
        return;
    }
    printf("mamori darknet report  %s .. %s  (%lld intervals)\n\n", T(w, "from"), T(w, "to"),
           n(w, "intervals"));
    printf("  packets %lld  bytes %lld  sources %lld\n", n(t, "packets"), n(t, "bytes"),
           n(t, "sources"));
    printf("  IoT ports %lld packets (%.1f%%)\n", n(t, "iot_packets"),
           100 * json_real_value(json_object_get(t, "iot_share")));
    printf("  not counted: %lld malformed, %lld non-IP, %lld outside the darknet, %lld late, "
           "%lld bad time\n",
           n(t, "malformed"), n(t, "non_ip"), n(t, "outside"), n(t, "late"), n(t, "bad_time"));
    printf("  classes: tcp_syn %lld  backscatter %lld  udp %lld  icmp_request %lld  other %lld\n",
           n(c, "tcp_syn"), n(c, "backscatter"), n(c, "udp"), n(c, "icmp_request"), n(c, "other"));
    text_keyed(d, "fingerprints", "Scanner fingerprints (TCP SYN)", "sources");
    text_keyed(d, "ports", "Top destination ports", "sources");
    text_keyed(d, "backscatter_ports", "Backscatter by victim port", "victims");
    text_keyed(d, "countries", "Countries (of sources)", "sources");
    text_keyed(d, "asns", "ASNs (of sources)", "sources");
    puts("\nTop sources");
    json_array_foreach(json_object_get(d, "top_sources"), i, o)
    {
        char ports[80] = "";
        size_t j, off = 0;
        json_t *p;
        json_array_foreach(json_object_get(o, "ports"), j, p)
        {
            if (off < sizeof ports - 8)
                off += (size_t)snprintf(ports + off, sizeof ports - off, "%s%lld", j ? "," : "",
                                        (long long)json_integer_value(p));
        }
        json_t *fp = json_array_get(json_object_get(o, "fingerprints"), 0);
        char as[16] = "-";
        if (n(o, "asn")) snprintf(as, sizeof as, "AS%lld", n(o, "asn"));
        printf("  %-39s %12lld packets  %-2s %-9s %-8s ports %s\n", T(o, "ip"), n(o, "packets"),
               *s(o, "cc") ? T(o, "cc") : "--", as, fp ? json_string_value(fp) : "-", ports);
    }
    puts("\nSurge alerts");
    if (!json_array_size(json_object_get(d, "alerts"))) puts("  (none)");
    json_array_foreach(json_object_get(d, "alerts"), i, o)
    {
        printf("  %s  %lld/%s  %lld sources (baseline %.1f)\n", T(o, "at"), n(o, "port"),
               T(o, "proto"), n(o, "sources"), json_number_value(json_object_get(o, "baseline")));
    }
    puts("\nDoS victims (backscatter)");
    if (!json_array_size(json_object_get(d, "dos"))) puts("  (none)");
    json_array_foreach(json_object_get(d, "dos"), i, o)
    {
        printf("  %-39s %-6s %10lld packets  peak %lld/min  %s .. %s\n", T(o, "target"),
               T(o, "proto"), n(o, "packets"), n(o, "peak_60s"), T(o, "start"), T(o, "end"));
    }
    if (lure) {
        putchar('\n');
        print_honeypot(h);
    }
}

static void csv_field(const char *v)
{
    esc_csv(stdout, v);
}

static void csv_row(const char *section, const char *key, json_t *o)
{
    printf("%s,", section);
    csv_field(key);
    printf(",%lld,%lld,%lld\n", n(o, "packets"), n(o, "bytes"), n(o, "sources"));
}

static void print_csv(json_t *d)
{
    json_t *o, *v;
    size_t i;
    const char *k;
    puts("section,key,packets,bytes,sources");
    json_t *t = json_object_get(d, "totals");
    csv_row("totals", "all", t);
    static const char *const apart[] = {"malformed", "non_ip", "outside", "late", "bad_time"};
    for (size_t a = 0; a < sizeof apart / sizeof apart[0]; a++) /* counted, never aggregated */
        printf("not_counted,%s,%lld,,\n", apart[a], n(t, apart[a]));
    json_object_foreach(json_object_get(d, "classes"), k, v)
    {
        printf("class,%s,%lld,,\n", k, (long long)json_integer_value(v));
    }
    static const char *const keyed[] = {"fingerprints", "ports", "backscatter_ports",
                                        "countries",    "asns",  "top_sources",
                                        "alerts",       "dos"};
    for (size_t sct = 0; sct < sizeof keyed / sizeof keyed[0]; sct++) {
        json_array_foreach(json_object_get(d, keyed[sct]), i, o)
        {
            char key[128];
            if (json_object_get(o, "at"))
                snprintf(key, sizeof key, "%lld/%s@%s", n(o, "port"), s(o, "proto"), s(o, "at"));
            else if (json_object_get(o, "port"))
                snprintf(key, sizeof key, "%lld/%s", n(o, "port"), s(o, "proto"));
            else if (json_object_get(o, "target"))
                snprintf(key, sizeof key, "%s/%s", s(o, "target"), s(o, "proto"));
            else if (json_object_get(o, "asn") && !json_object_get(o, "ip"))
                snprintf(key, sizeof key, "AS%lld", n(o, "asn"));
            else if (json_object_get(o, "ip"))
                snprintf(key, sizeof key, "%s", s(o, "ip"));
            else if (json_object_get(o, "cc"))
                snprintf(key, sizeof key, "%s", s(o, "cc"));
            else
                snprintf(key, sizeof key, "%s", s(o, "name"));
            csv_row(keyed[sct], key, o);
        }
    }
    /* honeypot lists: the count goes in the third column */
    static const char *const lure[][3] = {{"credentials", "username", "attempts"},
                                          {"commands", "input", "count"},
                                          {"urls", "url", "count"},
                                          {"hashes", "sha256", "count"},
                                          {"top_sources", "ip", "sessions"}};
    json_t *h = json_object_get(d, "honeypot");
    for (size_t sct = 0; h && sct < sizeof lure / sizeof lure[0]; sct++) {
        json_array_foreach(json_object_get(h, lure[sct][0]), i, o)
        {
            char key[600];
            if (sct == 0)
                snprintf(key, sizeof key, "%s/%s", s(o, "username"), s(o, "password"));
            else
                snprintf(key, sizeof key, "%s", s(o, lure[sct][1]));
            printf("honeypot_%s,", lure[sct][0]);
            csv_field(key);
            printf(",%lld,,\n", n(o, lure[sct][2]));
        }
    }
}

int cmd_report(int argc, char **argv)
{
    static const struct option lo[] = {{"db", required_argument, 0, 'D'},
                                       {"from", required_argument, 0, 'F'},
                                       {"to", required_argument, 0, 'T'},
                                       {"format", required_argument, 0, 'f'},
                                       {"top", required_argument, 0, 'n'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *db = "var/mamori.db", *format = "text";
    struct query_window w = {.from = 0, .to = (int64_t)1 << 40, .top = 10};
    uint64_t top;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:n:h", lo, NULL)) != -1) {
        switch (c) {
        case 'D':
            db = optarg;
            break;
        case 'F':
        case 'T':
            if (cli_parse_time(optarg, c == 'F' ? &w.from : &w.to) < 0) {
                cli_error("%s: '%s' is not an ISO 8601 UTC time or epoch seconds",
                          c == 'F' ? "--from" : "--to", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'f':
            format = optarg;
            break;
        case 'n':
            if (!cli_uint("--top", optarg, 0, 1000000, &top)) return EXIT_USAGE;
            w.top = (int)top;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!cli_no_operands("report", argc, argv, optind)) return EXIT_USAGE;
    if (w.from >= w.to) { /* an empty window is a mistake, as the API's 400 says */
        cli_error("--from must be before --to (the window is [from, to))");
        return EXIT_USAGE;
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "csv")) {
        cli_error("--format: '%s' is not text, json or csv", format);
        return EXIT_USAGE;
    }
    struct store *st = store_open(db, false);
    if (!st) {
        cli_error("%s", err_msg());
        return 1;
    }
    json_t *doc = query_summary(st, &w);
    if (!doc) {
        cli_error("%s: %s", db, err_msg());
        store_close(st);
        return 1;
    }
    if (!strcmp(format, "json")) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        putchar('\n');
    } else if (!strcmp(format, "csv")) {
        print_csv(doc);
    } else {
        print_text(doc);
    }
    json_decref(doc);
    store_close(st);
    return fflush(stdout) == 0 ? 0 : 1;
}
