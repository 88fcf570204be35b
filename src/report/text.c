/* text — the report for people: aligned tables.
 *
 * Strings in the document came from outside (attackers typed the honeypot's
 * commands, credentials and URLs; AS names come from a feed): they are shown
 * with their control characters escaped (T(), core/esc). */
#include "../core/cli.h"
#include "../core/esc.h"
#include "format.h"

#include <stdbool.h>
#include <string.h>

#define s(o, k) report_str(o, k) /* short: the printf lines below are long */
#define n(o, k) report_int(o, k)

/* s() made safe for a terminal, in a buffer that lives as long as the
 * enclosing block (a printf argument list). */
#define T(o, k) esc_term(s(o, k), (char[1024]){0}, 1024)

static void text_keyed(FILE *out, json_t *doc, const char *section, const char *title,
                       const char *who)
{
    json_t *arr = json_object_get(doc, section), *o;
    size_t i;
    fprintf(out, "\n%s\n", title);
    if (!json_array_size(arr)) {
        fputs("  (none)\n", out);
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
        fprintf(out, "  %-52s %12lld packets %9lld %s\n", key, n(o, "packets"), n(o, "sources"),
                who);
    }
}

static void print_honeypot(FILE *out, json_t *h)
{
    json_t *o;
    size_t i;
    fprintf(out,
            "Honeypot (lure)\n\n  sessions %lld from %lld sources  logins %lld ok, %lld failed  "
            "commands %lld  URLs %lld  files %lld\n",
            n(h, "sessions"), n(h, "sources"), n(h, "logins_ok"), n(h, "logins_failed"),
            n(h, "commands_run"), n(h, "urls_seen"), n(h, "files_saved"));
    fputs("\nTop credentials                                     attempts  successes\n", out);
    json_array_foreach(json_object_get(h, "credentials"), i, o)
    {
        char cred[160];
        snprintf(cred, sizeof cred, "%s/%s", T(o, "username"), T(o, "password"));
        fprintf(out, "  %-48.48s %10lld %10lld\n", cred, n(o, "attempts"), n(o, "successes"));
    }
    fputs("\nTop commands                                        count  sessions\n", out);
    json_array_foreach(json_object_get(h, "commands"), i, o)
    {
        fprintf(out, "  %-48.48s %8lld %9lld\n", T(o, "input"), n(o, "count"), n(o, "sessions"));
    }
    fputs("\nDownload URLs (never fetched)\n", out);
    if (!json_array_size(json_object_get(h, "urls"))) fputs("  (none)\n", out);
    json_array_foreach(json_object_get(h, "urls"), i, o)
    {
        fprintf(out, "  %-60s %6lld  %s\n", T(o, "url"), n(o, "count"), T(o, "last_seen"));
    }
    fputs("\nFiles built by bots (SHA-256)\n", out);
    if (!json_array_size(json_object_get(h, "hashes"))) fputs("  (none)\n", out);
    json_array_foreach(json_object_get(h, "hashes"), i, o)
    {
        fprintf(out, "  %s %8lld bytes %5lld×  %s\n", T(o, "sha256"), n(o, "size"), n(o, "count"),
                T(o, "path"));
    }
    fputs("\nTop honeypot sources                          sessions  logins ok  downloads\n", out);
    json_array_foreach(json_object_get(h, "top_sources"), i, o)
    {
        fprintf(out, "  %-42s %9lld %10lld %10lld\n", T(o, "ip"), n(o, "sessions"),
                n(o, "logins_ok"), n(o, "downloads"));
    }
}

/* The survey's rounds, findings by protocol and notices by owner (query_survey). */
static void print_survey(FILE *out, json_t *sv)
{
    json_t *o;
    size_t i;
    fputs("Survey (scan, probe, notify)\n\n  round                tool   started               "
          "ended                 rate     pairs  sent     hits\n",
          out);
    json_array_foreach(json_object_get(sv, "rounds"), i, o)
    {
        char a[24], b[24];
        long long st = n(o, "started_us"), en = n(o, "ended_us");
        fprintf(out, "  %-20.20s %-6s %-21s %-21s %-8lld %-6lld %-8lld %lld\n", T(o, "round"),
                T(o, "tool"), st > 0 ? cli_iso(st / 1000000, a) : "-",
                en > 0 ? cli_iso(en / 1000000, b) : "(not ended)", n(o, "rate"), n(o, "dict_size"),
                n(o, "sent"), n(o, "hits"));
    }
    fputs("\n  Logins accepted by round and protocol\n", out);
    if (!json_array_size(json_object_get(sv, "findings"))) fputs("    (none)\n", out);
    json_array_foreach(json_object_get(sv, "findings"), i, o)
    {
        fprintf(out, "    %-20.20s %-8s %6lld of %6lld probed\n", T(o, "round"), T(o, "protocol"),
                n(o, "accepted"), n(o, "probed"));
    }
    fputs("\n  Notices by round, owner and kind\n", out);
    if (!json_array_size(json_object_get(sv, "notices"))) fputs("    (none: run mamori notify)\n", out);
    const char *round = NULL, *kind = NULL;
    size_t shown = 0, more = 0;
    json_array_foreach(json_object_get(sv, "notices"), i, o)
    {
        if (!round || strcmp(round, s(o, "round")) || strcmp(kind, s(o, "kind"))) {
            /* per round and kind, the owners with the most hosts first, ten of them */
            if (more) fprintf(out, "    (and %zu more)\n", more);
            round = s(o, "round");
            kind = s(o, "kind");
            shown = more = 0;
        }
        if (shown++ >= 10) {
            more++;
            continue;
        }
        char as[16] = "-";
        if (n(o, "asn")) snprintf(as, sizeof as, "AS%lld", n(o, "asn"));
        fprintf(out, "    %-20.20s %-32.32s %-9s %-13s %6lld hosts\n", T(o, "round"), T(o, "owner"), as,
                T(o, "kind"), n(o, "hosts"));
    }
    if (more) fprintf(out, "    (and %zu more)\n", more);
}

/* What was shared and received, by source and trust, and the campaigns (query_share). */
static void print_share(FILE *out, json_t *sh)
{
    json_t *o;
    size_t i;
    fputs("Sharing (STIX 2.1 / TAXII 2.1)\n\n  Exchanges\n", out);
    if (!json_array_size(json_object_get(sh, "exchanges"))) fputs("    (none)\n", out);
    json_array_foreach(json_object_get(sh, "exchanges"), i, o)
    {
        fprintf(out, "    %-10s %-40.40s %4lldx %7lld objects %7lld indicators %6lld new %6lld dup %6lld dropped\n",
                T(o, "action"), T(o, "peer"), n(o, "times"), n(o, "objects"), n(o, "indicators"),
                n(o, "fresh"), n(o, "duplicates"), n(o, "dropped"));
    }
    fputs("\n  Sources          grade trust indicators  addresses  urls  domains  files  confidence\n", out);
    json_array_foreach(json_object_get(sh, "sources"), i, o)
    {
        fprintf(out, "    %-16.16s %-5s %5lld %10lld %10lld %5lld %8lld %6lld %11lld\n", T(o, "source"),
                *s(o, "reliability") ? T(o, "reliability") : "-", n(o, "trust"), n(o, "indicators"),
                n(o, "addresses"), n(o, "urls"), n(o, "domains"), n(o, "files"), n(o, "confidence"));
    }
    fputs("\n  Told by more than one source\n", out);
    if (!json_array_size(json_object_get(sh, "agreed"))) fputs("    (none)\n", out);
    json_array_foreach(json_object_get(sh, "agreed"), i, o)
    {
        fprintf(out, "    %-11s %-46.46s %2lld sources (%s)\n", T(o, "kind"), T(o, "value"),
                n(o, "sources"), T(o, "source_list"));
    }
    fputs("\n  Campaigns (scanners, loaders, URLs and files seen together)\n", out);
    if (!json_array_size(json_object_get(sh, "campaigns"))) fputs("    (none)\n", out);
    json_array_foreach(json_object_get(sh, "campaigns"), i, o)
    {
        json_t *m = json_object_get(o, "members"), *v;
        fprintf(out,
                "    #%zu  %lld addresses (%lld scanners, %lld attackers, %lld loaders), %lld URLs, "
                "%lld hosts, %lld files  %s .. %s\n",
                i + 1, n(o, "addresses"), n(o, "scanners"), n(o, "attackers"), n(o, "loaders"),
                n(o, "urls"), n(o, "hosts"), n(o, "files"), T(o, "first"), T(o, "last"));
        static const char *const kinds[] = {"ip", "url", "host", "file"};
        for (size_t k = 0; k < 4; k++) {
            size_t j;
            json_array_foreach(json_object_get(m, kinds[k]), j, v)
            {
                fprintf(out, "        %-5s %s\n", kinds[k],
                        esc_term(json_string_value(v), (char[1024]){0}, 1024));
            }
        }
    }
}

static void print_text(FILE *out, json_t *d)
{
    json_t *w = json_object_get(d, "window"), *t = json_object_get(d, "totals"), *o;
    json_t *c = json_object_get(d, "classes"), *h = json_object_get(d, "honeypot");
    size_t i;
    json_t *sv = json_object_get(d, "survey"), *sh = json_object_get(d, "share");
    bool lure = h && n(h, "sessions");
    if (!n(w, "intervals")) {
        if (lure) print_honeypot(out, h);
        if (sv) {
            if (lure) fputc('\n', out);
            print_survey(out, sv);
        }
        if (sh) {
            if (lure || sv) fputc('\n', out);
            print_share(out, sh);
        }
        if (!lure && !sv && !sh) fputs("no intervals in this window\n", out);
        return;
    }
    fprintf(out, "mamori darknet report  %s .. %s  (%lld intervals)\n\n", T(w, "from"), T(w, "to"),
            n(w, "intervals"));
    fprintf(out, "  packets %lld  bytes %lld  sources %lld\n", n(t, "packets"), n(t, "bytes"),
            n(t, "sources"));
    fprintf(out, "  IoT ports %lld packets (%.1f%%)\n", n(t, "iot_packets"),
            100 * json_real_value(json_object_get(t, "iot_share")));
    fprintf(out,
            "  not counted: %lld malformed, %lld non-IP, %lld outside the darknet, %lld late, "
            "%lld bad time\n",
            n(t, "malformed"), n(t, "non_ip"), n(t, "outside"), n(t, "late"), n(t, "bad_time"));
    /* class names as the document has them (classify's table, via query) */
    const char *k;
    json_t *v;
    const char *sep = " ";
    fputs("  classes:", out);
    json_object_foreach(c, k, v)
    {
        fprintf(out, "%s%s %lld", sep, k, (long long)json_integer_value(v));
        sep = "  ";
    }
    fputc('\n', out);
    text_keyed(out, d, "fingerprints", "Scanner fingerprints (TCP SYN)", "sources");
    text_keyed(out, d, "ports", "Top destination ports", "sources");
    text_keyed(out, d, "backscatter_ports", "Backscatter by victim port", "victims");
    text_keyed(out, d, "countries", "Countries (of sources)", "sources");
    text_keyed(out, d, "asns", "ASNs (of sources)", "sources");
    fputs("\nTop sources\n", out);
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
        fprintf(out, "  %-39s %12lld packets  %-2s %-9s %-8s ports %s\n", T(o, "ip"),
                n(o, "packets"), *s(o, "cc") ? T(o, "cc") : "--", as,
                fp ? json_string_value(fp) : "-", ports);
    }
    fputs("\nSurge alerts\n", out);
    if (!json_array_size(json_object_get(d, "alerts"))) fputs("  (none)\n", out);
    json_array_foreach(json_object_get(d, "alerts"), i, o)
    {
        fprintf(out, "  %s  %lld/%s  %lld sources (baseline %.1f)\n", T(o, "at"), n(o, "port"),
                T(o, "proto"), n(o, "sources"), json_number_value(json_object_get(o, "baseline")));
    }
    fputs("\nDoS victims (backscatter)\n", out);
    if (!json_array_size(json_object_get(d, "dos"))) fputs("  (none)\n", out);
    json_array_foreach(json_object_get(d, "dos"), i, o)
    {
        fprintf(out, "  %-39s %-6s %10lld packets  peak %lld/min  %s .. %s\n", T(o, "target"),
                T(o, "proto"), n(o, "packets"), n(o, "peak_60s"), T(o, "start"), T(o, "end"));
    }
    if (lure) {
        fputc('\n', out);
        print_honeypot(out, h);
    }
    if (sv) {
        fputc('\n', out);
        print_survey(out, sv);
    }
    if (sh) {
        fputc('\n', out);
        print_share(out, sh);
    }
}

static int text_print(FILE *out, json_t *doc)
{
    print_text(out, doc);
    return 0;
}

const struct report_format report_text = {"text", "aligned tables for people (default)",
                                          text_print};
