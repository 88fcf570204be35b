/* input — targets from scan output: mamori scan's or ZMap's CSV and JSON lines.
 *
 * ZMap's fields name the reply, so the target is the reply's source: saddr and sport (the port
 * that answered; dport is the scanner's own port).  A CSV file starts with its header (ZMap -O csv,
 * mamori scan); a file of bare addresses (ZMap's default -f saddr) takes its ports from --ports;
 * JSON lines (ZMap -O json, mamori scan --json) carry the same names.  Only successes are kept
 * when the input says (success = 1/true; classification "synack" when there is no success field).
 * Every line that cannot be read is an error naming FILE:LINE, never skipped in silence: a
 * probe's input decides whose machines it touches. */
#include "input.h"
#include "../core/err.h"
#include "../core/text.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define INPUT_MAX ((size_t)1 << 30)
#define INPUT_FIELDS 32

static char *read_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            err_set(-ENOMEM, "-: out of memory");
            return NULL;
        }
        ssize_t r = read(0, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            err_set(-errno, "-: %s", strerror(errno));
            free(buf);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n == cap) {
            if (cap >= INPUT_MAX) {
                err_set(-EFBIG, "-: over %zu bytes", INPUT_MAX);
                free(buf);
                return NULL;
            }
            char *b = realloc(buf, cap * 2 + 1);
            if (!b) free(buf);
            buf = b;
            cap *= 2;
        }
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int port_of(const char *s, const char *where, int no, uint16_t *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 65535)
        return err_set(-EINVAL, "%s:%d: '%s' is not a port", where, no, s);
    *out = (uint16_t)v;
    return 0;
}

static bool truthy(const char *s)
{
    return !strcmp(s, "1") || !strcasecmp(s, "true");
}

struct cols {
    int saddr, sport, success, cls, n;
};

static int header(struct cols *c, char **f, int n, const char *where)
{
    *c = (struct cols){-1, -1, -1, -1, n};
    for (int i = 0; i < n; i++) {
        if (!strcmp(f[i], "saddr")) c->saddr = i;
        if (!strcmp(f[i], "sport")) c->sport = i;
        if (!strcmp(f[i], "success")) c->success = i;
        if (!strcmp(f[i], "classification")) c->cls = i;
    }
    if (c->saddr < 0) return err_set(-EINVAL, "%s:1: a CSV header without saddr", where);
    return 0;
}

static int json_line(const char *line, size_t n, const struct input_sink *s, const char *where,
                     int no)
{
    json_error_t e;
    json_t *o = json_loadb(line, n, 0, &e);
    if (!json_is_object(o)) {
        json_decref(o);
        return err_set(-EINVAL, "%s:%d: not a JSON object", where, no);
    }
    const char *ip = json_string_value(json_object_get(o, "saddr"));
    json_t *port = json_object_get(o, "sport"), *ok = json_object_get(o, "success");
    json_t *cls = json_object_get(o, "classification");
    int rc = 0;
    if (!ip) {
        rc = err_set(-EINVAL, "%s:%d: no saddr", where, no);
    } else if ((ok &&
                !(json_is_true(ok) || (json_is_integer(ok) && json_integer_value(ok) == 1))) ||
               (!ok && json_is_string(cls) && strcmp(json_string_value(cls), "synack"))) {
        rc = 0; /* not a success */
    } else if (json_is_integer(port)) {
        json_int_t p = json_integer_value(port);
        if (p < 1 || p > 65535)
            rc = err_set(-EINVAL, "%s:%d: sport %lld is not a port", where, no, (long long)p);
        else
            rc = s->add(s->ctx, ip, (uint16_t)p, where, no);
    } else if (!port) {
        for (size_t i = 0; rc == 0 && i < s->n_ports; i++)
            rc = s->add(s->ctx, ip, s->ports[i], where, no);
    } else {
        rc = err_set(-EINVAL, "%s:%d: sport is not a number", where, no);
    }
    json_decref(o);
    return rc;
}

static int csv_line(char *line, const struct cols *c, const struct input_sink *s, const char *where,
                    int no)
{
    char *f[INPUT_FIELDS];
    int n = text_csv_fields(line, f, INPUT_FIELDS);
    if (n != c->n)
        return err_set(-EINVAL, "%s:%d: %d fields, the header has %d", where, no, n, c->n);
    if (c->success >= 0 && !truthy(f[c->success])) return 0;
    if (c->success < 0 && c->cls >= 0 && strcmp(f[c->cls], "synack")) return 0;
    if (c->sport >= 0) {
        uint16_t p;
        int rc = port_of(f[c->sport], where, no, &p);
        return rc < 0 ? rc : s->add(s->ctx, f[c->saddr], p, where, no);
    }
    for (size_t i = 0; i < s->n_ports; i++) {
        int rc = s->add(s->ctx, f[c->saddr], s->ports[i], where, no);
        if (rc < 0) return rc;
    }
    return 0;
}

int input_read(const char *path, const struct input_sink *s)
{
    size_t len;
    char *text = strcmp(path, "-") ? text_load(path, INPUT_MAX, &len) : read_stdin(&len);
    if (!text) return -EINVAL;
    const char *where = strcmp(path, "-") ? path : "stdin";
    size_t pos = 0, n;
    int no = 0, rc = 0;
    const char *l;
    struct cols c = {-1, -1, -1, -1, 0};
    bool bare = false, json = false;
    char line[4096];
    while (rc == 0 && text_line(text, len, &pos, &no, &l, &n)) {
        if (!n || l[0] == '#') continue;
        if (n >= sizeof line) {
            rc = err_set(-EINVAL, "%s:%d: line longer than %zu bytes", where, no, sizeof line - 1);
            break;
        }
        memcpy(line, l, n);
        line[n] = 0;
        if (json || (c.n == 0 && !bare && line[0] == '{')) { /* JSON lines: every line */
            json = true;
            rc = json_line(line, n, s, where, no);
        } else if (c.n == 0 && !bare) {
            if (strchr(line, ',') || !strcmp(line, "saddr")) {
                char *f[INPUT_FIELDS];
                int nf = text_csv_fields(line, f, INPUT_FIELDS);
                rc = nf < 0 ? err_set(-EINVAL, "%s:%d: a broken CSV quote", where, no)
                            : header(&c, f, nf, where);
                if (rc == 0 && c.sport < 0 && !s->n_ports)
                    rc = err_set(-EINVAL, "%s: no sport column: give --ports", where);
                continue;
            }
            bare = true; /* ZMap's default: one address a line */
            if (!s->n_ports) rc = err_set(-EINVAL, "%s: bare addresses: give --ports", where);
            for (size_t i = 0; rc == 0 && i < s->n_ports; i++)
                rc = s->add(s->ctx, line, s->ports[i], where, no);
        } else if (bare) {
            for (size_t i = 0; rc == 0 && i < s->n_ports; i++)
                rc = s->add(s->ctx, line, s->ports[i], where, no);
        } else {
            rc = csv_line(line, &c, s, where, no);
        }
    }
    free(text);
    return rc;
}
