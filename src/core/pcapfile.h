/* pcapfile — a capture file reader for pcap and pcapng, faster than libpcap's.
 *
 * The file (or a pipe, or stdin) is read with read() in large chunks into one
 * buffer, and each record is handed over as a pointer into that buffer: no
 * per-record copy, no per-record call through stdio.  Only a record that
 * straddles two chunks is moved (to the front of the buffer, with the rest of
 * the chunk), so pointers stay valid until the next call that may refill:
 * pcapf_next() and pcapf_next_batch() never refill in the middle of a batch.
 * A regular file of 8 MiB or more opened at its start is mapped instead
 * (pcapf_open, pcapf_open_fd): no copy at all; the pages parsed are given
 * back every 32 MiB (RSS stays bounded) and the next 4 MiB are entered in the
 * page table ahead.  Should the file grow while it is read, what was appended
 * is read() from the end of the mapping on.  (A file truncated while it is
 * mapped raises SIGBUS, which a process-wide handler turns into zero pages:
 * the reader delivers the records wholly before the new end, then fails with
 * "PATH: file shrank to N bytes while being read (at byte M)", -ESTALE.)
 *
 * Formats: classic pcap (µs and ns magic, either byte order) and pcapng
 * (sections with their own byte order, one link type and if_tsresol /
 * if_tsoffset per interface, EPB, SPB and the obsolete PB, which libpcap
 * delivers too; every other block skipped).
 * Timestamps are converted exactly as libpcap converts them for a reader that
 * asked for microseconds (pcap: 32-bit fields signed in a file of the host's
 * byte order and unsigned in a swapped one, ns truncated; pcapng: units scaled
 * with libpcap's integer arithmetic), then through pkt_time_us(),
 * so a crafted time is -1 here exactly where it was bad time before.
 *
 * Errors (return < 0, err_set()) name the file and the byte offset:
 * "capture.pcap: truncated record at byte 18234".  Records before the damage
 * were delivered.  Lengths are bounded: a caplen above 262144 (libpcap's
 * maximum snapshot) or a pcapng block above 16 MiB is refused, not allocated.
 * A caplen above the file's snapshot length is cut to it, as libpcap does. */
#ifndef MAMORI_PCAPFILE_H
#define MAMORI_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define PCAPF_MAX_CAPLEN 262144u            /* libpcap's MAXIMUM_SNAPLEN */
#define PCAPF_MAX_BLOCK (16u * 1024 * 1024) /* libpcap's largest pcapng block */

struct pcapf;

struct pcapf_rec {
    int64_t ts_us;       /* µs since 1970, or -1 (pkt_time_us: outside 1970..2100) */
    uint32_t caplen;     /* bytes at data */
    uint32_t wirelen;    /* length on the wire */
    const uint8_t *data; /* valid until the next pcapf_next/pcapf_next_batch/pcapf_free */
    int dlt;             /* link type of the record's interface (DLT_ value) */
};

/* Opens a file by path; "-" is stdin (not closed by pcapf_free).  Reads the
 * file header (pcap) or the first section header (pcapng): a file that is
 * neither is refused here.  NULL and err_set() on failure. */
struct pcapf *pcapf_open(const char *path);
/* The same on an open descriptor (a pipe, a socket); name is used in
 * messages.  The descriptor is closed by pcapf_free when own_fd. */
struct pcapf *pcapf_open_fd(int fd, const char *name, int own_fd);
/* The same with the first buffer of chunk bytes (at least 64) instead of
 * 4 MiB: tests and the fuzzer make records straddle reads with it. */
struct pcapf *pcapf_open_fd_sized(int fd, const char *name, int own_fd, size_t chunk);

/* 1 and *r filled, 0 at the end of the input, < 0 on an error (err_set).
 * -EINTR: a signal interrupted a blocking read (a pipe); nothing was lost,
 * and the next call goes on where this one stopped. */
int pcapf_next(struct pcapf *f, struct pcapf_rec *r);
/* Up to max records, all valid together until the next call: > 0 records,
 * 0 at the end, < 0 on an error (the records of earlier calls were good). */
int pcapf_next_batch(struct pcapf *f, struct pcapf_rec *r, int max);

/* The link type of the first interface (pcap: the file header's; pcapng: the
 * first IDB's, read ahead if needed); -1 when the file has no interface yet. */
int pcapf_dlt(struct pcapf *f);
/* Bytes of the input consumed so far (progress of a regular file). */
uint64_t pcapf_offset(const struct pcapf *f);
/* Records delivered so far. */
uint64_t pcapf_count(const struct pcapf *f);
/* 1 for pcapng, 0 for pcap. */
int pcapf_is_pcapng(const struct pcapf *f);
void pcapf_free(struct pcapf *f);

#endif
