/* libFuzzer: the shell parser and interpreter on what a bot might type, over a
 * small persona, plus the persona and userdb parsers (the first byte picks). */
#include "lure/persona.h"
#include "lure/shell.h"
#include "lure/shparse.h"
#include "lure/userdb.h"

#include <stdlib.h>
#include <string.h>

static const char persona_text[] =
    "name: fuzz\nhostname: fz\narch: mips\nlogin_prompt: \"login: \"\nprompt: \"# \"\n"
    "busybox: BusyBox v1.00 multi-call binary\nuname_r: 2.6\nuname_m: mips\n"
    "applets: cat chmod cp dd echo grep head kill ls mkdir mv ps rm sh touch uname wc wget tftp\n"
    "  ftpget\nprograms: curl\n"
    "file /proc/mounts: <<END\nrootfs / rootfs rw 0 0\n/dev/root / squashfs ro 0 0\n"
    "tmpfs /tmp tmpfs rw 0 0\ntmpfs /var tmpfs rw 0 0\nEND\n"
    "file /proc/cpuinfo: <<END\ncpu model : MIPS 24Kc\nEND\nps: \"  PID USER\\n    1 root\\n\"\n";

static struct persona *p;

static void on_download(void *ctx, const char *tool, const char *url, const char *host,
                        const char *dest)
{
    size_t *n = ctx;
    *n += strlen(tool) + strlen(url) + strlen(host) + strlen(dest);
}

static void on_exec(void *ctx, const char *path)
{
    size_t *n = ctx;
    *n += strlen(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!p && !(p = persona_parse(persona_text, sizeof persona_text - 1, "fuzz"))) abort();
    if (!size) return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] == 'P') {
        persona_free(persona_parse(text, len, "fuzz"));
        return 0;
    }
    if (data[0] == 'U') {
        userdb_free(userdb_parse(text, len, "fuzz"));
        return 0;
    }
    struct sh_tree t;
    sh_parse(&t, text, len);
    sh_tree_free(&t);
    struct vfs_limits lim = {.session_bytes = 1 << 16, .total_bytes = 1 << 17};
    static const struct shell_hooks hooks = {on_download, on_exec, NULL};
    size_t seen = 0;
    struct shell *sh = shell_new(p, &lim, &hooks, &seen);
    struct buf term = {.cap = 1 << 16};
    /* each line runs as a session would run it, sharing cwd, files and variables */
    for (size_t i = 0; i < len && !shell_exited(sh);) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        shell_run(sh, text + i, n, &term);
        i += n + 1;
    }
    shell_free(sh);
    if (lim.used_total) abort(); /* every byte charged is given back */
    buf_free(&term);
    return 0;
}
