/* truth — truth.json, what the testbed holds, for the tests of scan, probe and
 * notify (the format is fixed by the survey's shared interface):
 * name, range, the two namespaces, the link, owners, and every host with its
 * state and services (port, protocol, persona or server/title, accepted
 * pairs).  A closed host is "up" with no services.  Written to a temporary
 * file and renamed: a reader sees the old truth or the new one.  owners.csv
 * beside it (prefix,isp,asn,abuse) is the owner table for `mamori notify`. */
#include "truth.h"

#include "../core/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static json_t *owners(const struct tb_spec *s)
{
    json_t *a = json_array();
    char b[16], p[24];
    for (size_t i = 0; i < s->nowners; i++) {
        const struct tb_owner *o = &s->owners[i];
        snprintf(p, sizeof p, "%s/%d", spec_ip(o->net, b), o->len);
        json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:s}", "prefix", p, "isp", o->isp,
                                           "asn", (json_int_t)o->asn, "abuse", o->abuse));
    }
    return a;
}

static json_t *service(const struct tb_service *v)
{
    json_t *acc = json_array();
    for (int i = 0; i < v->nacc; i++)
        json_array_append_new(
            acc, json_pack("{s:s, s:s}", "username", v->acc[i].user, "password", v->acc[i].pass));
    json_t *o = json_pack("{s:i, s:s, s:o}", "port", v->port, "protocol", tb_proto_name[v->proto],
                          "accepts", acc);
    if (v->proto == TB_TELNET) json_object_set_new(o, "persona", json_string(v->persona));
    if (v->proto == TB_HTTP) {
        json_object_set_new(o, "server", json_string(v->server));
        json_object_set_new(o, "title", json_string(v->title));
        json_object_set_new(o, "realm", json_string(v->realm));
    }
    return o;
}

static json_t *hosts(const struct tb_spec *s)
{
    json_t *a = json_array();
    size_t k = 0; /* services are sorted like hosts: walk both */
    char b[16];
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct tb_host *h = &s->hosts[i];
        json_t *svcs = json_array();
        while (k < s->nsvcs && s->svcs[k].ip < h->ip)
            k++;
        for (; k < s->nsvcs && s->svcs[k].ip == h->ip; k++)
            json_array_append_new(svcs, service(&s->svcs[k]));
        json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "ip", spec_ip(h->ip, b), "state",
                                           h->state == TB_FILTERED ? "filtered" : "up", "services",
                                           svcs));
    }
    return a;
}

json_t *tb_truth_json(const struct tb_spec *s, const char *name, const char *mac, const char *dir)
{
    char b[16], range[24], c[200], d[200];
    snprintf(range, sizeof range, "%s/%d", spec_ip(s->net, b), s->len);
    snprintf(c, sizeof c, "%s-c", name);
    snprintf(d, sizeof d, "%s-d", name);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "name", name,
                     "range", range, "client_ns", c, "device_ns", d, "client_if", "tb0",
                     "client_ip", TB_CLIENT_IP, "gateway_ip", TB_GATEWAY_IP, "gateway_mac", mac,
                     "dir", dir, "owners", owners(s), "hosts", hosts(s));
}

int tb_truth_write(const char *path, const struct tb_spec *s, const char *name, const char *mac,
                   const char *dir)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *t = tb_truth_json(s, name, mac, dir);
    if (!t) return err_set(-ENOMEM, "%s: cannot build the truth", path);
    int rc = json_dump_file(t, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(t);
    if (rc < 0) {
        unlink(tmp);
        return err_set(-EIO, "%s: cannot write", tmp);
    }
    if (rename(tmp, path) < 0) return err_set(-errno, "%s: %s", path, strerror(errno));
    return 0;
}

/* One CSV field, RFC 4180: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *v)
{
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"') fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

int tb_owners_csv(const char *path, const struct tb_spec *s)
{
    char tmp[4200], b[16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return err_set(-errno, "%s: %s", tmp, strerror(errno));
    fputs("prefix,isp,asn,abuse\n", f);
    for (size_t i = 0; i < s->nowners; i++) {
        const struct tb_owner *o = &s->owners[i];
        fprintf(f, "%s/%d,", spec_ip(o->net, b), o->len);
        csv_field(f, o->isp);
        fprintf(f, ",%u,", o->asn);
        csv_field(f, o->abuse);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        unlink(tmp);
        return err_set(-EIO, "%s: cannot write", tmp);
    }
    if (rename(tmp, path) < 0) return err_set(-errno, "%s: %s", path, strerror(errno));
    return 0;
}
