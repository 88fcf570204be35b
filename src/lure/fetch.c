/* fetch — the downloaders of the emulated shell: wget, tftp, curl, ftpget.
 *
 * They parse their arguments the way BusyBox (and curl) do, report the URL
 * first through the download hook — so a read-only destination, a missing
 * directory or a full overlay cannot hide it — and then leave an empty file
 * where the download would land.  Nothing is ever fetched. */
#include "shell_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The host of a URL: after "scheme://" and any "user@", up to a port, path or query. */
static void url_host(const char *url, char *host, size_t cap)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    const char *end = h + strcspn(h, "/?#");
    const char *at = memchr(h, '@', (size_t)(end - h));
    if (at) h = at + 1;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (rb) end = rb + 1;
    } else {
        const char *colon = memchr(h, ':', (size_t)(end - h));
        if (colon) end = colon;
    }
    snprintf(host, cap, "%.*s", (int)(end - h), h);
}

static void report(struct shell *sh, const char *tool, const char *url, const char *dest)
{
    char host[256];
    url_host(url, host, sizeof host);
    if (sh->hooks.download) sh->hooks.download(sh->ctx, tool, url, host, dest);
}

/* Records the URL, then creates the (empty) file a downloader would have
 * written.  The URL comes first: it is the fact worth having, and a bot that
 * aims at a read-only place (`cd /; wget URL`) has still shown it. */
static int fetch(struct shell *sh, const char *tool, const char *url, const char *dest,
                 struct io *io)
{
    char abs[VFS_PATH_MAX];
    bool named = !strcmp(dest, "-") || sh_path(sh, dest, abs);
    if (!strcmp(dest, "-")) strcpy(abs, "-");
    report(sh, tool, url, named ? abs : dest);
    if (!strcmp(dest, "-")) return 0;
    int e = named ? vfs_write(&sh->fs, abs, NULL, 0, false) : -ENAMETOOLONG;
    if (e < 0) {
        sh_printf(io->err, "%s: can't open '%s': %s\n", tool, dest, sh_strerror(e));
        return 1;
    }
    return 0;
}

int ap_wget(struct shell *sh, int argc, char **argv, struct io *io)
{
    const char *out = NULL, *dir = NULL, *url = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-O") || !strcmp(a, "--output-document"))
            out = i + 1 < argc ? argv[++i] : NULL;
        else if (!strncmp(a, "-O", 2))
            out = a + 2;
        else if (!strcmp(a, "-P"))
            dir = i + 1 < argc ? argv[++i] : NULL;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            quiet = true;
        else if (!strcmp(a, "-U") || !strcmp(a, "--header") || !strcmp(a, "-Y") ||
                 !strcmp(a, "-T") || !strcmp(a, "--user-agent"))
            i++;
        else if (a[0] != '-' && !url)
            url = a;
    }
    if (!url) {
        sh_usage(sh, io,
                 "wget [-c|--continue] [-s|--spider] [-q|--quiet] [-O|--output-document FILE]\n"
                 "\t[--header 'header: value'] [-Y|--proxy on/off] [-P DIR]\n"
                 "\t[-U|--user-agent AGENT] URL...\n\nRetrieve files via HTTP or FTP");
        return 1;
    }
    char full[SH_WORD_MAX], host[256], name[VFS_PATH_MAX + 8];
    snprintf(full, sizeof full, "%s%s", strstr(url, "://") ? "" : "http://", url);
    url_host(full, host, sizeof host);
    const char *path = strchr(strstr(full, "://") + 3, '/');
    const char *base = path && path[1] ? sh_base_name(path) : "index.html";
    if (out)
        snprintf(name, sizeof name, "%s", out);
    else
        snprintf(name, sizeof name, "%s%s%s", dir ? dir : "", dir ? "/" : "", base);
    if (!quiet) {
        const char *hp = strstr(full, "://") + 3;
        int hl = (int)strcspn(hp, "/?#");
        const char *rb = memchr(hp, ']', (size_t)hl), *colon = memrchr(hp, ':', (size_t)hl);
        bool has_port = colon && (!rb || colon > rb);
        sh_printf(io->err, "Connecting to %s (%.*s%s)\n", host, hl, hp, has_port ? "" : ":80");
    }
    if (fetch(sh, "wget", full, name, io)) return 1;
    if (!quiet && strcmp(name, "-"))
        sh_printf(io->err, "%-20.20s 100%% |*******************************|     0  --:--:-- ETA\n",
                  sh_base_name(name));
    return 0;
}

int ap_tftp(struct shell *sh, int argc, char **argv, struct io *io)
{
    const char *local = NULL, *remote = NULL, *host = NULL, *port = NULL;
    bool get = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-l"))
            local = i + 1 < argc ? argv[++i] : NULL;
        else if (!strcmp(a, "-r"))
            remote = i + 1 < argc ? argv[++i] : NULL;
        else if (!strcmp(a, "-b"))
            i++;
        else if (!strcmp(a, "-g"))
            get = true;
        else if (!strcmp(a, "-gr"))
            get = true, remote = i + 1 < argc ? argv[++i] : NULL;
        else if (a[0] != '-') {
            if (!host)
                host = a;
            else
                port = a;
        }
    }
    if (!host || !get || (!remote && !local)) {
        sh_usage(sh, io,
                 "tftp [OPTIONS] HOST [PORT]\n\nTransfer a file from/to tftp server\n\n"
                 "\t-l FILE\tLocal FILE\n\t-r FILE\tRemote FILE\n\t-g\tGet file\n"
                 "\t-p\tPut file\n\t-b SIZE\tTransfer blocks of SIZE octets");
        return 1;
    }
    if (!remote) remote = local;
    if (!local) local = sh_base_name(remote);
    char url[SH_WORD_MAX];
    snprintf(url, sizeof url, "tftp://%s%s%s/%s", host, port ? ":" : "", port ? port : "",
             remote[0] == '/' ? remote + 1 : remote);
    return fetch(sh, "tftp", url, local, io);
}

int ap_curl(struct shell *sh, int argc, char **argv, struct io *io)
{
    const char *out = "-", *url = NULL;
    bool remote_name = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = i + 1 < argc ? argv[++i] : "-";
        else if (!strcmp(a, "-O") || !strcmp(a, "--remote-name"))
            remote_name = true;
        else if (!strcmp(a, "-A") || !strcmp(a, "-H") || !strcmp(a, "-x") || !strcmp(a, "-u") ||
                 !strcmp(a, "-e") || !strcmp(a, "-m"))
            i++;
        else if (a[0] != '-' && !url)
            url = a;
    }
    if (!url) {
        sh_printf(io->err, "curl: try 'curl --help' for more information\n");
        return 2;
    }
    char full[SH_WORD_MAX];
    snprintf(full, sizeof full, "%s%s", strstr(url, "://") ? "" : "http://", url);
    if (remote_name) out = sh_base_name(full);
    return fetch(sh, "curl", full, out, io) ? 23 : 0;
}

int ap_ftpget(struct shell *sh, int argc, char **argv, struct io *io)
{
    const char *pos[3] = {0}, *port = NULL;
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-u") || !strcmp(argv[i], "-p"))
            i++;
        else if (!strcmp(argv[i], "-P"))
            port = i + 1 < argc ? argv[++i] : NULL;
        else if (argv[i][0] != '-' && np < 3)
            pos[np++] = argv[i];
    }
    if (np < 2) {
        sh_usage(sh, io,
                 "ftpget [OPTIONS] HOST [LOCAL_FILE] REMOTE_FILE\n\n"
                 "Download a file via FTP");
        return 1;
    }
    const char *remote = pos[np - 1], *local = np == 3 ? pos[1] : sh_base_name(pos[1]);
    char url[SH_WORD_MAX];
    snprintf(url, sizeof url, "ftp://%s%s%s/%s", pos[0], port ? ":" : "", port ? port : "",
             remote[0] == '/' ? remote + 1 : remote);
    return fetch(sh, "ftpget", url, local, io);
}
