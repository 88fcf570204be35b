/* report — print the observatory summary of a window in one of the formats.
 *
 * The formats are a table (format.h: text, json, csv, one file each) and all
 * render the one JSON document built by query_summary(), so they cannot
 * disagree; --format and --help come from the table. */
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "../store/query.h"
#include "../store/store.h"
#include "format.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: mamori report [--db PATH] [--from TIME] [--to TIME] [--format ", f);
    for (size_t i = 0; report_formats[i]; i++)
        fprintf(f, "%s%s", i ? "|" : "", report_formats[i]->name);
    fputs("]\n"
          "                     [--top N]\n"
          "\n"
          "Summarise what observe stored: totals, classes, scanner fingerprints, top ports,\n"
          "backscatter ports, countries, ASNs, top sources, surge alerts and DoS victims.\n"
          "\n"
          "      --db PATH       database (default var/mamori.db)\n"
          "      --from TIME     window start, ISO 8601 UTC or epoch seconds (default: all)\n"
          "      --to TIME       window end, exclusive (default: all)\n"
          "  -f, --format FMT    one of:\n",
          f);
    for (size_t i = 0; report_formats[i]; i++)
        fprintf(f, "                        %-6s %s\n", report_formats[i]->name,
                report_formats[i]->help);
    fputs("  -n, --top N         rows per list (default 10; 0 = all)\n", f);
}

/* "text, json or csv": the names of the table, for an error message. */
static void format_names(char *out, size_t n)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; report_formats[i] && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s",
                              i == 0                  ? ""
                              : report_formats[i + 1] ? ", "
                                                      : " or ",
                              report_formats[i]->name);
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
    const char *db = "var/mamori.db", *format = report_formats[0]->name;
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
    const struct report_format *fmt = report_format_find(format);
    if (!fmt) {
        char names[256];
        format_names(names, sizeof names);
        cli_error("--format: '%s' is not %s", format, names);
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
    int rc = fmt->print(stdout, doc);
    json_decref(doc);
    store_close(st);
    return fflush(stdout) == 0 && rc == 0 ? 0 : 1;
}
