/* share — threat-information sharing: the subcommands of `mamori share`.
 *
 * Each subcommand is one file with one `const struct share_sub` (its name,
 * operands, one-line help, its option table and entry point); share.c's
 * table lists them, and `mamori share --help` prints every one's options
 * from those tables (the man page test reads it). */
#ifndef MAMORI_SHARE_H
#define MAMORI_SHARE_H

#include "../core/cli.h"

#include <stddef.h>

struct share_sub {
    const char *name, *args, *help;
    const struct cli_opt *opts;
    size_t nopts;
    /* argv[0] is the subcommand's name; getopt's optind is reset before. */
    int (*run)(int argc, char **argv);
};

/* One per file; the table in share.c. */
extern const struct share_sub share_export, share_import, share_trust, share_anonymize,
    share_pull, share_push;

/* A subcommand's option tables for getopt_long (lo: nopts + 1, shorts: 3 * nopts + 1). */
void share_usage(FILE *f, const struct share_sub *s);

#endif
