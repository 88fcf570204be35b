/* cli — shared command-line helpers (see cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mamori: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool cli_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || !isdigit((unsigned char)*s)) goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) goto bad;
    *out = v;
    return true;
bad:
    cli_error("%s: '%s' is not a whole number from %llu to %llu", opt, s, (unsigned long long)min,
              (unsigned long long)max);
    return false;
}

int cli_parse_time(const char *s, int64_t *out)
{
    char *end;
    if (*s && strspn(s, "0123456789") == strlen(s)) {
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno) return -EINVAL;
        *out = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p) return -EINVAL;
    if (*p == 'T' || *p == ' ') {
        p = strptime(p + 1, "%H:%M", &tm);
        if (!p) return -EINVAL;
        if (*p == ':') {
            p = strptime(p + 1, "%S", &tm);
            if (!p) return -EINVAL;
        }
    }
    if (*p == 'Z') p++;
    if (*p) return -EINVAL;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* Any 64-bit time (a hand-edited database can hold one): a year gmtime
 * cannot represent is printed as the plain number instead. */
const char *cli_iso(int64_t sec, char *buf)
{
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, 24, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, 24, "%lld", (long long)sec);
    return buf;
}

const char *cli_iso_us(int64_t us, char *buf)
{
    int64_t sec = us / 1000000 - (us % 1000000 < 0), frac = us % 1000000;
    if (frac < 0) frac += 1000000; /* floor division, with no overflow near INT64_MIN */
    time_t t = (time_t)sec;
    struct tm tm;
    size_t n = gmtime_r(&t, &tm) ? strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
    if (n)
        snprintf(buf + n, 32 - n, ".%06lldZ", (long long)frac);
    else
        snprintf(buf, 32, "%lld us", (long long)us);
    return buf;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool cli_no_operands(const char *cmd, int argc, char **argv, int optind)
{
    if (optind >= argc) return true;
    cli_error("%s: unexpected argument '%s'", cmd, argv[optind]);
    return false;
}

#ifndef MAMORI_DATADIR
#define MAMORI_DATADIR "/usr/local/share/mamori"
#endif

/* The directory of the running executable, or "" when /proc is not there. */
static void exe_dir(char *out, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", out, n - 1);
    out[len > 0 ? len : 0] = 0;
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = 0;
    else
        out[0] = 0;
}

bool cli_data_file(const char *rel, char *out, size_t n)
{
    /* next to the executable first: an installed tree works wherever it was
     * unpacked (DESTDIR, a tarball, /opt); then the build tree's sources and
     * the compiled-in prefix.  Never ./data: the working directory may be one
     * anyone can write (a root honeypot started from /tmp would parse a
     * planted persona and accept a planted userdb); MAMORI_DATA=./data asks. */
    char exe[4096], installed[4200];
    exe_dir(exe, sizeof exe);
    snprintf(installed, sizeof installed, "%s/../share/mamori", exe);
    const char *dirs[] = {getenv("MAMORI_DATA"), exe[0] ? installed : NULL,
#ifdef MAMORI_BUILD_ROOT
                          !strcmp(exe, MAMORI_BUILD_ROOT) ? MAMORI_SOURCE_DATA : NULL,
#endif
                          MAMORI_DATADIR};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (!dirs[i] || !dirs[i][0]) continue;
        snprintf(out, n, "%s/%s", dirs[i], rel);
        if (access(out, R_OK) == 0) return true;
    }
    return false;
}

void cli_opt_help(FILE *f, const struct cli_opt *o, size_t n, int width)
{
    for (size_t i = 0; i < n; i++) {
        char left[96], sh[8] = "    ";
        if (o[i].val < 256) snprintf(sh, sizeof sh, "-%c, ", o[i].val);
        snprintf(left, sizeof left, "%s--%s%s%s", sh, o[i].name, o[i].arg ? " " : "",
                 o[i].arg ? o[i].arg : "");
        fprintf(f, "  %-*s %s\n", width, left, o[i].help);
    }
}

void cli_opt_tables(const struct cli_opt *o, size_t n, struct option *lo, char *shorts)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        lo[i] = (struct option){o[i].name, o[i].has_arg, NULL, o[i].val};
        if (o[i].val < 256) {
            shorts[k++] = (char)o[i].val;
            if (o[i].has_arg) shorts[k++] = ':';
        }
    }
    lo[n] = (struct option){0, 0, 0, 0};
    shorts[k] = 0;
}

bool cli_seconds(const char *opt, const char *s, bool zero_ok, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(zero_ok ? v >= 0 : v > 0) || v > max) {
        cli_error("%s: '%s' is not a number of seconds in %c0, %g]", opt, s, zero_ok ? '[' : '(',
                  max);
        return false;
    }
    *out = v;
    return true;
}
