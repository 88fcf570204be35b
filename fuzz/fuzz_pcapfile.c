/* libFuzzer: core/pcapfile on any bytes, read three ways (a 64-byte buffer so
 * records straddle reads, the normal one, in batches), each record checked
 * against the input's bounds and the reader's limits, and the three readings
 * checked to agree record for record. */
#include "core/pcapfile.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAXREC 4096

struct seen {
    int64_t ts;
    uint32_t caplen, wirelen, sum;
    int dlt;
};

static uint32_t sum(const uint8_t *p, uint32_t n)
{
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

static long read_all(int fd, size_t chunk, bool batch, struct seen *out, int *end)
{
    *end = -2; /* not opened */
    lseek(fd, 0, SEEK_SET);
    struct pcapf *f = pcapf_open_fd_sized(dup(fd), "fuzz", 1, chunk);
    if (!f) return -1;
    long n = 0;
    struct pcapf_rec r[5];
    int k = 0;
    for (;;) {
        k = batch ? pcapf_next_batch(f, r, 5) : pcapf_next(f, r);
        if (k <= 0) break;
        for (int i = 0; i < k; i++) {
            assert(r[i].caplen <= PCAPF_MAX_CAPLEN);
            if (n < MAXREC)
                out[n] = (struct seen){r[i].ts_us, r[i].caplen, r[i].wirelen,
                                       sum(r[i].data, r[i].caplen), r[i].dlt};
            n++;
        }
    }
    assert((long)pcapf_count(f) == n);
    *end = k < 0 ? -1 : 0;
    pcapf_free(f);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    static struct seen a[MAXREC], b[MAXREC], c[MAXREC];
    int ea, eb, ec;
    long na = read_all(fd, 64, false, a, &ea);
    long nb = read_all(fd, 4u << 20, false, b, &eb);
    long nc = read_all(fd, 64, true, c, &ec);
    assert(na == nb && nb == nc && ea == eb && eb == ec);
    for (long i = 0; i < na && i < MAXREC; i++)
        assert(!memcmp(&a[i], &b[i], sizeof a[i]) && !memcmp(&a[i], &c[i], sizeof a[i]));
    close(fd);
    return 0;
}
