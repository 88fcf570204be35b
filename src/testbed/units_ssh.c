/* units_ssh — SSH devices: Debian's dropbear, one process per device.
 *
 * dropbear checks passwords against /etc/passwd and /etc/shadow, so each
 * process gets its own: generated files (the device's accounts only, uid
 * 65534, shell /usr/sbin/nologin, SHA-512 crypt hashes) bind-mounted over
 * /etc/passwd, /etc/shadow, /etc/group and /etc/shells inside a private mount
 * namespace of that process alone (sup.c: unshare + MS_PRIVATE); the machine's
 * /etc is never written and no user is created.  A login that succeeds runs
 * nologin with a forced command: nothing a client sends is executed.
 * One process per device rather than per account set: dropbear lets one
 * source have only 5 unauthenticated connections per process (a compile-time
 * limit), which a prober spreading over many devices would hit.  Host keys
 * (ed25519, ECDSA) are made once per testbed with dropbearkey into DIR/ssh. */
#include "../core/err.h"
#include "net.h"
#include "units.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DROPBEAR "/usr/sbin/dropbear"
#define DROPBEARKEY "/usr/bin/dropbearkey"

bool units_ssh_available(void)
{
    return access(DROPBEAR, X_OK) == 0 && access(DROPBEARKEY, X_OK) == 0;
}

static int host_keys(const char *dir)
{
    static const char *const types[] = {"ed25519", "ecdsa"};
    for (size_t i = 0; i < 2; i++) {
        char path[4200], what[4300];
        snprintf(path, sizeof path, "%s/ssh/host_%s", dir, types[i]);
        if (access(path, R_OK) == 0) continue;
        snprintf(what, sizeof what, "dropbearkey -t %s -f %s", types[i], path);
        char *argv[] = {"dropbearkey", "-t", (char *)types[i], "-f", path, NULL};
        if (net_run(what, argv) < 0) return -1;
    }
    return 0;
}

/* A SHA-512 crypt hash with a salt drawn from the pair and the device, so
 * the same spec gives the same files (and the unit keeps its key). */
static int hash(const struct tb_service *v, const struct tb_cred *c, char *out, size_t n)
{
    static const char al[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t h = 14695981039346656037ull ^ ((uint64_t)v->ip << 16 | v->port);
    for (const char *p = c->user; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    char setting[32] = "$6$";
    for (int i = 0; i < 16; i++, h = h * 6364136223846793005ull + 1442695040888963407ull)
        setting[3 + i] = al[(h >> 33) % 64];
    setting[19] = 0;
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    /* crypt_rn, not crypt_r: sanitizer runtimes intercept crypt_r, and with
     * --as-needed the interceptor then stands in for a libcrypt never loaded */
    const char *r = crypt_rn(c->pass, setting, &cd, (int)sizeof cd);
    if (!r || r[0] != '$') return err_set(-EINVAL, "crypt: cannot hash a password");
    snprintf(out, n, "%s", r);
    return 0;
}

static int files(struct tb_unit *u, const struct tb_service *v, const char *dir)
{
    char passwd[TB_MAX_ACCEPT * 120], shadow[TB_MAX_ACCEPT * 200], h[160], p[4200];
    size_t po = 0, so = 0;
    for (int i = 0; i < v->nacc; i++) {
        if (hash(v, &v->acc[i], h, sizeof h) < 0) return -1;
        po += (size_t)snprintf(passwd + po, sizeof passwd - po,
                               "%s:x:65534:65534:device account:/nonexistent:/usr/sbin/nologin\n",
                               v->acc[i].user);
        so += (size_t)snprintf(shadow + so, sizeof shadow - so, "%s:%s:19000:0:99999:7:::\n",
                               v->acc[i].user, h);
    }
    static const char group[] = "nogroup:x:65534:\n", shells[] = "/usr/sbin/nologin\n";
    const struct {
        const char *suffix, *text, *over;
        size_t n;
    } f[] = {{"passwd", passwd, "/etc/passwd", po},
             {"shadow", shadow, "/etc/shadow", so},
             {"group", group, "/etc/group", sizeof group - 1},
             {"shells", shells, "/etc/shells", sizeof shells - 1}};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/ssh/%s.%s", dir, u->name, f[i].suffix);
        if (unit_file(u, p, f[i].text, f[i].n) < 0) return -1;
        snprintf(u->binds[i].src, sizeof u->binds[i].src, "%s", p);
        snprintf(u->binds[i].dst, sizeof u->binds[i].dst, "%s", f[i].over);
    }
    u->nbinds = 4;
    return 0;
}

static int one(const struct tb_service *v, const struct tb_env *env, struct tb_units *out)
{
    char name[96], b[16];
    snprintf(name, sizeof name, "ssh-%s-%u", spec_ip(v->ip, b), v->port);
    struct tb_unit *u = units_add(out, name);
    if (!u) return err_set(-ENOMEM, "out of memory");
    if (files(u, v, env->dir) < 0) return -1;
    int rc = unit_arg(u, DROPBEAR) | unit_arg(u, "-F") | unit_arg(u, "-E") | unit_arg(u, "-m") |
             unit_arg(u, "-j") | unit_arg(u, "-k") | unit_arg(u, "-T") | unit_arg(u, "10") |
             unit_arg(u, "-I") | unit_arg(u, "60") | unit_arg(u, "-c") | unit_arg(u, "exit 0") |
             unit_arg(u, "-r") | unit_arg(u, "%s/ssh/host_ed25519", env->dir) | unit_arg(u, "-r") |
             unit_arg(u, "%s/ssh/host_ecdsa", env->dir) | unit_arg(u, "-p") |
             unit_arg(u, "%s:%u", b, v->port) | unit_arg(u, "-P") |
             unit_arg(u, "%s/ssh/%s.pid", env->dir, name);
    if (rc < 0 || unit_serve(u, v->ip, v->port) < 0) return -1;
    return 0;
}

static int build(const struct tb_spec *s, const struct tb_env *env, struct tb_units *out)
{
    bool keys = false;
    for (size_t i = 0; i < s->nsvcs; i++) {
        if (s->svcs[i].proto != TB_SSH) continue;
        if (!keys) {
            char d[4200];
            snprintf(d, sizeof d, "%s/ssh", env->dir);
            if (!units_ssh_available())
                return err_set(-ENOENT, "ssh devices need dropbear (apt-get install dropbear-bin)");
            if (mkdir(d, 0700) < 0 && errno != EEXIST)
                return err_set(-errno, "%s: %s", d, strerror(errno));
            if (host_keys(env->dir) < 0) return -1;
            keys = true;
        }
        if (one(&s->svcs[i], env, out) < 0) return -1;
    }
    return 0;
}

const struct unit_kind unit_ssh = {"ssh", build};
