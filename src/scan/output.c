/* output — the field table and the CSV and JSON-lines formats (see output.h). */
#include "output.h"
#include "../core/cli.h"

#include <inttypes.h>
#include <string.h>

enum ftype { F_STR, F_UINT, F_BOOL };

struct field {
    const char *name;
    enum ftype type;
    void (*get)(const struct scan_result *res, char *buf, size_t cap, uint64_t *num);
};

static void f_saddr(const struct scan_result *x, char *b, size_t c, uint64_t *n)
{
    (void)c, (void)n;
    ip_format(&x->r->saddr, b);
}
static void f_daddr(const struct scan_result *x, char *b, size_t c, uint64_t *n)
{
    (void)c, (void)n;
    ip_format(&x->r->daddr, b);
}
#define NUM(fn, expr)                                                                              \
    static void fn(const struct scan_result *x, char *b, size_t c, uint64_t *n)                    \
    {                                                                                              \
        (void)b, (void)c;                                                                          \
        *n = (expr);                                                                               \
    }
NUM(f_sport, x->r->sport)
NUM(f_dport, x->r->dport)
NUM(f_seq, x->r->seqnum)
NUM(f_ack, x->r->acknum)
NUM(f_win, x->r->window)
NUM(f_ttl, x->r->ttl)
NUM(f_success, x->r->success)
NUM(f_repeat, x->repeat)
static void f_class(const struct scan_result *x, char *b, size_t c, uint64_t *n)
{
    (void)n;
    snprintf(b, c, "%s", x->r->classification);
}
static void f_ts(const struct scan_result *x, char *b, size_t c, uint64_t *n)
{
    (void)n, (void)c;
    cli_iso_us(x->ts_us, b);
}

static const struct field fields[] = {
    {"saddr", F_STR, f_saddr},          {"daddr", F_STR, f_daddr},
    {"sport", F_UINT, f_sport},         {"dport", F_UINT, f_dport},
    {"seqnum", F_UINT, f_seq},          {"acknum", F_UINT, f_ack},
    {"window", F_UINT, f_win},          {"ttl", F_UINT, f_ttl},
    {"classification", F_STR, f_class}, {"success", F_BOOL, f_success},
    {"repeat", F_BOOL, f_repeat},       {"timestamp", F_STR, f_ts},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static void csv_header(FILE *f)
{
    for (size_t i = 0; i < NFIELDS; i++)
        fprintf(f, "%s%s", i ? "," : "", fields[i].name);
    fputc('\n', f);
}

/* Every string field is an address, a class name or a time: nothing to quote. */
static void csv_row(FILE *f, const struct scan_result *x)
{
    char buf[64];
    uint64_t n = 0;
    for (size_t i = 0; i < NFIELDS; i++) {
        fields[i].get(x, buf, sizeof buf, &n);
        if (i) fputc(',', f);
        if (fields[i].type == F_STR)
            fputs(buf, f);
        else
            fprintf(f, "%" PRIu64, n);
    }
    fputc('\n', f);
}

static void json_header(FILE *f)
{
    (void)f;
}

static void json_row(FILE *f, const struct scan_result *x)
{
    char buf[64];
    uint64_t n = 0;
    fputc('{', f);
    for (size_t i = 0; i < NFIELDS; i++) {
        fields[i].get(x, buf, sizeof buf, &n);
        fprintf(f, "%s\"%s\":", i ? "," : "", fields[i].name);
        if (fields[i].type == F_STR)
            fprintf(f, "\"%s\"", buf);
        else if (fields[i].type == F_BOOL)
            fputs(n ? "true" : "false", f);
        else
            fprintf(f, "%" PRIu64, n);
    }
    fputs("}\n", f);
}

static const struct scan_format fmt_csv = {"csv", csv_header, csv_row};
static const struct scan_format fmt_json = {"json", json_header, json_row};

/* How to add a format: an ops struct above and its line here. */
const struct scan_format *const scan_formats[] = {&fmt_csv, &fmt_json, NULL};

const struct scan_format *scan_format_find(const char *name)
{
    for (size_t i = 0; scan_formats[i]; i++)
        if (strcmp(scan_formats[i]->name, name) == 0) return scan_formats[i];
    return NULL;
}
