/* csv — the report as one long table: section,key,packets,bytes,sources.
 *
 * Cells came from outside (honeypot input, AS names): esc_csv escapes control
 * characters and neutralises formula prefixes. */
#include "../core/esc.h"
#include "format.h"

#define s(o, k) report_str(o, k) /* short: the printf lines below are long */
#define n(o, k) report_int(o, k)

static void csv_field(FILE *out, const char *v)
{
    esc_csv(out, v);
}

static void csv_row(FILE *out, const char *section, const char *key, json_t *o)
{
    fprintf(out, "%s,", section);
    csv_field(out, key);
    fprintf(out, ",%lld,%lld,%lld\n", n(o, "packets"), n(o, "bytes"), n(o, "sources"));
}

static void print_csv(FILE *out, json_t *d)
{
    json_t *o, *v;
    size_t i;
    const char *k;
    fputs("section,key,packets,bytes,sources\n", out);
    json_t *t = json_object_get(d, "totals");
    csv_row(out, "totals", "all", t);
    static const char *const apart[] = {"malformed", "non_ip", "outside", "late", "bad_time"};
    for (size_t a = 0; a < sizeof apart / sizeof apart[0]; a++) /* counted, never aggregated */
        fprintf(out, "not_counted,%s,%lld,,\n", apart[a], n(t, apart[a]));
    json_object_foreach(json_object_get(d, "classes"), k, v)
    {
        fprintf(out, "class,%s,%lld,,\n", k, (long long)json_integer_value(v));
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
            csv_row(out, keyed[sct], key, o);
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
            fprintf(out, "honeypot_%s,", lure[sct][0]);
            csv_field(out, key);
            fprintf(out, ",%lld,,\n", n(o, lure[sct][2]));
        }
    }
    /* survey: logins accepted per round/protocol, notified hosts per round/owner/kind */
    json_t *sv = json_object_get(d, "survey");
    json_array_foreach(json_object_get(sv, "findings"), i, o)
    {
        char key[300];
        snprintf(key, sizeof key, "%s/%s", s(o, "round"), s(o, "protocol"));
        fputs("survey_accepted,", out);
        csv_field(out, key);
        fprintf(out, ",%lld,,%lld\n", n(o, "accepted"), n(o, "probed"));
    }
    json_array_foreach(json_object_get(sv, "notices"), i, o)
    {
        char key[600];
        snprintf(key, sizeof key, "%s/%s/%s", s(o, "round"), s(o, "owner"), s(o, "kind"));
        fputs("survey_notices,", out);
        csv_field(out, key);
        fprintf(out, ",%lld,,\n", n(o, "hosts"));
    }
    /* share: indicators per source (key source/grade), exchanges per action/peer */
    json_t *sh = json_object_get(d, "share");
    json_array_foreach(json_object_get(sh, "sources"), i, o)
    {
        char key[300];
        snprintf(key, sizeof key, "%s/%s", s(o, "source"), s(o, "reliability"));
        fputs("share_source,", out);
        csv_field(out, key);
        fprintf(out, ",%lld,,\n", n(o, "indicators"));
    }
    json_array_foreach(json_object_get(sh, "exchanges"), i, o)
    {
        char key[600];
        snprintf(key, sizeof key, "%s/%s", s(o, "action"), s(o, "peer"));
        fputs("share_exchange,", out);
        csv_field(out, key);
        fprintf(out, ",%lld,,\n", n(o, "indicators"));
    }
}

static int csv_print(FILE *out, json_t *doc)
{
    print_csv(out, doc);
    return 0;
}

const struct report_format report_csv = {"csv", "one table: section,key,packets,bytes,sources",
                                         csv_print};
