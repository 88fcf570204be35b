/* out — JSON lines and survey records (see out.h). */
#include "out.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/esc.h"
#include "../store/sink.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* "k=v; k=v" (probe_device's form) as an object. */
static json_t *device_obj(const char *s)
{
    json_t *o = json_object();
    char buf[PROBE_DEVICE];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        while (*kv == ' ')
            kv++;
        char *eq = strchr(kv, '=');
        if (!eq) continue;
        *eq = 0;
        char *v = esc_utf8(eq + 1, strlen(eq + 1));
        if (v) json_object_set_new(o, kv, json_string(v));
        free(v);
    }
    return o;
}

void probe_out_result(struct probe_out *o, const struct probe_conn *c)
{
    const struct probe_job *j = c->job;
    const struct cred *cr = j->accepted >= 0 ? &c->dict->v[j->accepted] : NULL;
    const char *cls = cr ? c->dict->classes[cr->cls] : NULL;
    const char *dict = cr ? c->dict->files[cr->dict] : NULL;
    const char *proto = probe_protos[j->proto]->name;
    char ip[IP_STRLEN], iso[40];
    ip_format(&j->ip, ip);
    int64_t ts = now_us();
    char *banner = c->banner_len ? esc_utf8(c->banner, c->banner_len) : NULL;
    char *device = c->device[0] ? esc_utf8(c->device, strlen(c->device)) : NULL;
    if (o->f) {
        json_t *r = json_object();
        json_object_set_new(r, "ip", json_string(ip));
        json_object_set_new(r, "port", json_integer(j->port));
        json_object_set_new(r, "protocol", json_string(proto));
        json_object_set_new(r, "status", json_string(c->status));
        json_object_set_new(r, "timestamp", json_string(cli_iso_us(ts, iso)));
        if (banner) json_object_set_new(r, "banner", json_string(banner));
        json_object_set_new(r, "device", device_obj(c->device));
        json_object_set_new(r, "login_accepted", json_boolean(cr != NULL));
        json_object_set_new(r, "credential_class", cls ? json_string(cls) : json_null());
        json_object_set_new(r, "credential_dict", dict ? json_string(dict) : json_null());
        json_object_set_new(r, "attempts", json_integer(j->attempts));
        json_object_set_new(r, "connections", json_integer(j->conns));
        json_dumpf(r, o->f, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', o->f);
        json_decref(r);
    }
    if (o->sinks) {
        struct survey_rec r = {.kind = SURVEY_PROBE,
                               .round = o->round,
                               .ts_us = ts,
                               .ip = j->ip,
                               .port = j->port,
                               .protocol = proto,
                               .status = c->status,
                               .banner = banner,
                               .device = device,
                               .login_accepted = cr != NULL,
                               .cred_class = cls,
                               .cred_dict = dict,
                               .attempts = j->attempts};
        if (sinks_put_survey(o->sinks, &r) < 0) {
            if (!o->lost) cli_error("probe: %s", err_msg());
            o->lost = true;
        }
    }
    free(banner);
    free(device);
}
