/* sshd_stub — an SSH device for probe's integration test, on libssh's server side.
 *
 * usage: sshd_stub ADDR PORT USER PASS LOG [MAX_TRIES]
 * Accepts one pair (password auth only), as OpenSSH does: a change of user name within a
 * connection and more than MAX_TRIES (default 3) failures end it.  LOG gets one line per event
 * ("conn", "try USER", "ok USER", "after TYPE" for any request after a successful login, "closed"),
 * flushed at once, so the test counts what the device saw.  The host key is made at start-up. */
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message API is deprecated in favour of callbacks, but it is the short way to a test peer. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static void session(ssh_session s, const char *user, const char *pass, int max_tries, FILE *log)
{
    fprintf(log, "conn\n");
    if (ssh_handle_key_exchange(s) != SSH_OK) {
        fprintf(log, "closed kex\n");
        return;
    }
    int fails = 0;
    char first[256] = "";
    bool in = false;
    ssh_message m;
    while ((m = ssh_message_get(s))) {
        int type = ssh_message_type(m), sub = ssh_message_subtype(m);
        if (in) {
            fprintf(log, "after %d/%d\n", type, sub);
        } else if (type == SSH_REQUEST_AUTH && sub == SSH_AUTH_METHOD_PASSWORD) {
            const char *u = ssh_message_auth_user(m), *p = ssh_message_auth_password(m);
            if (!first[0]) snprintf(first, sizeof first, "%s", u);
            if (strcmp(first, u)) {
                fprintf(log, "closed user-change\n");
                ssh_message_free(m);
                return;
            }
            fprintf(log, "try %s\n", u);
            if (!strcmp(u, user) && !strcmp(p, pass)) {
                fprintf(log, "ok %s\n", u);
                ssh_message_auth_reply_success(m, 0);
                in = true;
                ssh_message_free(m);
                continue;
            }
            if (++fails >= max_tries) {
                fprintf(log, "closed tries\n");
                ssh_message_free(m);
                return;
            }
        }
        if (!in) {
            ssh_message_auth_set_methods(m, SSH_AUTH_METHOD_PASSWORD);
            ssh_message_reply_default(m);
        }
        ssh_message_free(m);
    }
    fprintf(log, "closed\n");
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: sshd_stub ADDR PORT USER PASS LOG [MAX_TRIES]\n");
        return 2;
    }
    FILE *log = fopen(argv[5], "a");
    if (!log) return 1;
    setvbuf(log, NULL, _IOLBF, 0);
    int max_tries = argc > 6 ? atoi(argv[6]) : 3;
    ssh_key key;
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) return 1;
    ssh_bind b = ssh_bind_new();
    ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDADDR, argv[1]);
    ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDPORT_STR, argv[2]);
    ssh_bind_options_set(b, SSH_BIND_OPTIONS_IMPORT_KEY, key);
    ssh_bind_options_set(b, SSH_BIND_OPTIONS_BANNER, "OpenSSH_7.4 stub");
    if (ssh_bind_listen(b) < 0) {
        fprintf(stderr, "sshd_stub: %s\n", ssh_get_error(b));
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (;;) {
        ssh_session s = ssh_new();
        if (ssh_bind_accept(b, s) != SSH_OK) {
            ssh_free(s);
            continue;
        }
        session(s, argv[3], argv[4], max_tries, log);
        ssh_disconnect(s);
        ssh_free(s);
    }
}
