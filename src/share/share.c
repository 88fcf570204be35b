/* share — `mamori share SUBCOMMAND`: the table of subcommands (share.h).
 * To add one: a file with its `const struct share_sub`, one line below. */
#include "share.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const struct share_sub *const subs[] = {
    &share_export, &share_import, &share_trust, &share_anonymize, &share_pull, &share_push,
};
#define N_SUBS (sizeof subs / sizeof subs[0])

void share_usage(FILE *f, const struct share_sub *s)
{
    fprintf(f, "usage: mamori share %s %s\n  %s\n", s->name, s->args, s->help);
    cli_opt_help(f, s->opts, s->nopts, 24);
}

static void usage(FILE *f)
{
    fputs("usage: mamori share SUBCOMMAND [options]   (mamori share SUBCOMMAND --help)\n\n"
          "Threat-information sharing: STIX 2.1 bundles, TAXII 2.1, trust, decay, anonymization.\n\n"
          "subcommands:\n",
          f);
    for (size_t i = 0; i < N_SUBS; i++) fprintf(f, "  %-10s %s\n", subs[i]->name, subs[i]->help);
    for (size_t i = 0; i < N_SUBS; i++) {
        fputc('\n', f);
        share_usage(f, subs[i]);
    }
}

int cmd_share(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < N_SUBS; i++)
        if (!strcmp(argv[1], subs[i]->name)) {
            optind = 0; /* a fresh getopt for the subcommand's own argv */
            return subs[i]->run(argc - 1, argv + 1);
        }
    cli_error("share: unknown subcommand '%s' (mamori share --help)", argv[1]);
    return EXIT_USAGE;
}
