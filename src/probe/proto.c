/* proto — the protocol registry and the helpers modules share (see probe.h). */
#include "probe.h"

#include <string.h>

extern const struct probe_proto probe_telnet, probe_ssh, probe_http;

/* To add a protocol: one file with its const struct probe_proto (name, help, ports, and either
 * the stream callbacks or run), one line here, and its fields in out.c if it reports new ones. */
const struct probe_proto *const probe_protos[] = {&probe_telnet, &probe_ssh, &probe_http, NULL};

int probe_proto_find(const char *name)
{
    for (int i = 0; probe_protos[i]; i++)
        if (!strcmp(probe_protos[i]->name, name)) return i;
    return -1;
}

int probe_proto_for_port(uint16_t port)
{
    for (int i = 0; probe_protos[i]; i++)
        for (const uint16_t *p = probe_protos[i]->ports; *p; p++)
            if (*p == port) return i;
    return -1;
}

bool probe_send(struct probe_conn *c, const void *d, size_t n)
{
    if (n > sizeof c->out - c->out_len) return false;
    memcpy(c->out + c->out_len, d, n);
    c->out_len = (uint16_t)(c->out_len + n);
    return true;
}

bool probe_has_pair(const struct probe_conn *c)
{
    return c->job->next < c->dict->n && c->job->attempts < c->cfg->max_attempts &&
           c->job->accepted < 0;
}

const struct cred *probe_next_pair(struct probe_conn *c)
{
    if (!probe_has_pair(c)) return NULL;
    c->job->attempts++;
    return &c->dict->v[c->job->next++];
}

void probe_accepted(struct probe_conn *c)
{
    c->job->accepted = (int32_t)(c->job->next - 1);
}

void probe_banner(struct probe_conn *c, const char *s, size_t n)
{
    size_t room = sizeof c->banner - 1 - c->banner_len;
    if (n > room) n = room;
    memcpy(c->banner + c->banner_len, s, n);
    c->banner_len = (uint16_t)(c->banner_len + n);
    c->banner[c->banner_len] = 0;
}

void probe_device(struct probe_conn *c, const char *key, const char *value)
{
    if (!value || !*value) return;
    size_t at = strlen(c->device);
    char *p = c->device + at, *end = c->device + sizeof c->device - 1;
    if (at && p + 2 < end) *p++ = ';', *p++ = ' ';
    for (const char *k = key; *k && p < end; k++)
        *p++ = *k;
    if (p < end) *p++ = '=';
    for (const char *v = value; *v && p < end && v - value < 96; v++)
        if ((unsigned char)*v >= 0x20 && *v != 0x7f && *v != ';') *p++ = *v;
    *p = 0;
}
