/* source_file — a pcap or pcapng file, "-" (stdin) or a FIFO, through
 * core/pcapfile (read() in large chunks, records handed over in place).
 *
 * Messages keep observe's wording: "PATH: not a readable pcap or pcapng
 * capture: WHY" when the header is wrong, "PATH: damaged capture after N
 * complete records: WHAT" when a record is, after those N were delivered. */
#include "../core/err.h"
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_src {
    struct pcapf *f;
    const char *path;
    off_t size; /* 0 when not a regular file */
};

/* pcapfile's message without its leading "PATH: ", which ours repeats. */
static void detail(const char *path, char *out, size_t n)
{
    const char *m = err_msg();
    size_t k = strlen(path);
    if (strncmp(m, path, k) == 0 && m[k] == ':' && m[k + 1] == ' ') m += k + 2;
    snprintf(out, n, "%s", m);
}

static void *file_open(const char *path)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(-errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct file_src *s = calloc(1, sizeof *s);
    if (!s) {
        if (fd != STDIN_FILENO) close(fd);
        err_set(-ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        s->size = st.st_size;
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    s->path = path;
    if (!(s->f = pcapf_open_fd(fd, path, fd != STDIN_FILENO))) {
        char why[256];
        detail(path, why, sizeof why);
        err_set(-EINVAL, "%s: not a readable pcap or pcapng capture: %s", path, why);
        free(s);
        return NULL;
    }
    return s;
}

static int file_next(void *st, struct pcapf_rec *r, int max)
{
    struct file_src *s = st;
    int n = pcapf_next_batch(s->f, r, max);
    if (n >= 0) return n;
    if (n == -EINTR) return -EAGAIN; /* nothing consumed: the caller checks its stop flag */
    if (n == -ESTALE) return n;       /* "PATH: file shrank to N bytes ...": nothing to add */
    char why[256];
    detail(s->path, why, sizeof why);
    return err_set(n, "%s: damaged capture after %llu complete records: %s", s->path,
                   (unsigned long long)pcapf_count(s->f), why);
}

static int file_dlt(void *st)
{
    return pcapf_dlt(((struct file_src *)st)->f);
}

static double file_progress(void *st)
{
    struct file_src *s = st;
    return s->size > 0 ? (double)pcapf_offset(s->f) / (double)s->size : -1;
}

static void file_close(void *st)
{
    struct file_src *s = st;
    pcapf_free(s->f);
    free(s);
}

const struct pkt_source_ops pkt_source_file = {
    .name = "file",
    .help = "pcap or pcapng file; '-' reads stdin, a FIFO streams",
    .open = file_open,
    .next = file_next,
    .dlt = file_dlt,
    .progress = file_progress,
    .close = file_close,
};
