/* spec — what a testbed holds: its range, owners, hosts and their services.
 *
 * The spec file is the testbed's one source of truth: `up` parses it (or
 * generates one, gen.c) and writes it into the state directory, the device
 * processes read it back, `fix` rewrites it, and truth.json is derived from it.
 * A line-oriented format, one statement a line ('#' comments, blank lines):
 *
 *   range 198.18.0.0/20
 *   owner 198.18.0.0/22 64500 "Example Cable" abuse@cable.example.net
 *   telnet 198.18.0.10 23 persona=router-mips accept=root:xc3511,admin:admin
 *   http 198.18.0.20 80 accept=admin:admin server="GoAhead-Webs" title="NETSURVEILLANCE WEB"
 *   ssh 198.18.0.30 22 accept=root:toor
 *   closed 198.18.0.40
 *   filtered 198.18.0.50
 *
 * Everything is bounded (line length, hosts, services, pairs per service) and
 * every problem is one message "FILE:LINE: problem". */
#ifndef MAMORI_TESTBED_SPEC_H
#define MAMORI_TESTBED_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TB_MAX_HOSTS 65536
#define TB_MAX_SERVICES 65536
#define TB_MAX_OWNERS 256
#define TB_MAX_ACCEPT 8
#define TB_MAX_SPEC (16u << 20)

enum tb_proto { TB_TELNET, TB_HTTP, TB_SSH, TB_NPROTO };
extern const char *const tb_proto_name[TB_NPROTO];

struct tb_cred {
    char user[33], pass[65];
};

struct tb_service {
    uint32_t ip; /* host order */
    uint16_t port;
    enum tb_proto proto;
    char persona[33];                      /* telnet */
    char server[97], title[97], realm[65]; /* http */
    struct tb_cred acc[TB_MAX_ACCEPT];
    int nacc;
    int line; /* in the spec file, 0 when generated */
};

enum tb_state { TB_UP, TB_CLOSED, TB_FILTERED };

struct tb_host {
    uint32_t ip;
    enum tb_state state; /* TB_UP: has services; TB_CLOSED: up, every port RST */
    int line;
};

struct tb_owner {
    uint32_t net;
    int len;
    uint32_t asn;
    char isp[97], abuse[97];
    int line;
};

struct tb_spec {
    uint32_t net; /* the range */
    int len;
    struct tb_owner *owners;
    size_t nowners;
    struct tb_host *hosts; /* sorted by address after spec_finish */
    size_t nhosts, hcap;
    struct tb_service *svcs; /* sorted by (address, port) */
    size_t nsvcs, scap;
};

/* Parses spec text; name is used in messages.  NULL with err_set() on error. */
struct tb_spec *spec_parse(const char *text, size_t len, const char *name);
struct tb_spec *spec_load(const char *path);
/* Checks a spec built in memory (gen.c) as the parser checks a file. */
int spec_finish(struct tb_spec *s, const char *name);
/* Writes the spec in its own format (parsable by spec_parse). */
int spec_write(const struct tb_spec *s, FILE *f);
int spec_save(const struct tb_spec *s, const char *path);
struct tb_spec *spec_new(void);
struct tb_host *spec_add_host(struct tb_spec *s, uint32_t ip, enum tb_state st);
struct tb_service *spec_add_service(struct tb_spec *s, uint32_t ip, uint16_t port, enum tb_proto p);
const struct tb_owner *spec_owner_of(const struct tb_spec *s, uint32_t ip);
/* True if the range lies inside 198.18.0.0/15 and off the testbed's own link. */
bool spec_range_ok(uint32_t net, int len);
int spec_parse_cidr(const char *s, uint32_t *net, int *len);
const char *spec_ip(uint32_t ip, char buf[16]);
void spec_free(struct tb_spec *s);

/* The client-side link (a /30 the range may not overlap). */
#define TB_LINK_NET 0xC613FF00u /* 198.19.255.0/30 */
#define TB_CLIENT_IP "198.19.255.1"
#define TB_GATEWAY_IP "198.19.255.2"

#endif
