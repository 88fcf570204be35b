/* cli — small helpers shared by subcommands: messages, numbers, times, progress.
 *
 * Every user-facing failure is one line "mamori: <what>: <problem>"; usage
 * mistakes exit 2, run-time failures exit 1. */
#ifndef MAMORI_CLI_H
#define MAMORI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_USAGE 2

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses an unsigned integer option in [min, max]; prints the error itself. */
bool cli_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* ISO 8601 UTC ("2016-09-01T00:00:00Z", date only, or epoch seconds) to seconds. */
int cli_parse_time(const char *s, int64_t *out);
/* Seconds to "2016-09-01T00:00:00Z"; buf >= 24 bytes. */
const char *cli_iso(int64_t sec, char *buf);
/* Microseconds to "2016-09-01T00:00:00.123456Z"; buf >= 32 bytes. */
const char *cli_iso_us(int64_t us, char *buf);
double cli_now(void); /* monotonic seconds */
/* Finds a data file the product ships (e.g. "lure/userdb.txt") in
 * $MAMORI_DATA, then EXEDIR/../share/mamori (an installed tree, wherever it
 * lies), the source tree's data/ (when run from the build directory) and the
 * compiled-in data directory (never the working directory's ./data: it may be
 * one anyone can write); writes its path to out.  false when none has it. */
bool cli_data_file(const char *rel, char *out, size_t n);
/* An option table that makes both --help and getopt_long's tables (design.md:
 * one source of truth; integration-manpages diffs it against the man page).
 * val < 256 is also the short option; arg names the value in --help. */
struct cli_opt {
    const char *name;
    int has_arg, val;
    const char *arg, *help;
};
struct option;
/* "  -x, --name ARG   help" lines, the help starting at column width + 3. */
void cli_opt_help(FILE *f, const struct cli_opt *o, size_t n, int width);
/* getopt_long's tables: lo needs n + 1 entries, shorts 3 * n + 1 bytes. */
void cli_opt_tables(const struct cli_opt *o, size_t n, struct option *lo, char *shorts);
/* A number of seconds for option opt ("--cooldown"), in (0, max] or, with
 * zero_ok, [0, max]; prints the error itself. */
bool cli_seconds(const char *opt, const char *s, bool zero_ok, double max, double *out);
/* After getopt: refuses operands nobody asked for ("CMD: unexpected argument"). */
bool cli_no_operands(const char *cmd, int argc, char **argv, int optind);

#endif
