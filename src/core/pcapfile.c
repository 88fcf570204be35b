/* pcapfile — pcap and pcapng read in large chunks (see pcapfile.h).
 *
 * One buffer holds [pos, end) of the input; base is the input offset of
 * buf[0], so every error can name the byte where the damaged record starts.
 * A record is parsed in place when it lies whole in the buffer; otherwise
 * the tail is moved to the front and the rest read behind it (the only copy).
 * A pcapng block the reader must see whole (SHB, IDB, packet blocks) or skip
 * whole (anything else: its trailer is checked too) grows the buffer up to
 * PCAPF_MAX_BLOCK; nothing larger is ever allocated.
 *
 * Fidelity to libpcap (observe's numbers must not move): the same header and
 * version checks, the same time arithmetic (see pcapfile.h), libpcap's
 * LINKTYPE_ → DLT_ mapping, the 2.3-era swapped length fields, a caplen above
 * the snapshot cut to it (pcap) or refused (pcapng).  Where libpcap refuses
 * what this reader can represent — a second section in the other byte order,
 * interfaces of different link types — this reader goes on. */
#include "pcapfile.h"
#include "err.h"
#include "pkt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (4u << 20) /* one read(): amortises the syscall over ~50k records */
#define MAP_MIN (8u << 20)  /* a smaller file is read: a mapping costs more than it saves */
#define RELEASE (4u << 20)  /* mapped pages read this far behind leave the RSS (each
                               * reader of a file maps it: 32 MiB cost 2 x ~30 MiB of
                               * peak RSS on the bench, for 8x fewer madvise calls) */
#define POPULATE (4u << 20) /* mapped pages entered ahead at once, not a fault per 64 KiB */
#define AHEAD 2048          /* bytes prefetched ahead of the record parsed */
#define MAX_IFACES 65536 /* pcapng interfaces per section */
#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 1u
#define BT_PB 2u /* obsolete Packet Block: libpcap delivers it, so does this reader */
#define BT_SPB 3u
#define BT_EPB 6u
#define BOM 0x1A2B3C4Du
#define SLOTS 16 /* live mappings at once; a 17th file is read instead */

enum scale { PASS, UP_DEC, DOWN_DEC, UP_BIN, DOWN_BIN };
enum lens { NOT_SWAPPED, MAYBE_SWAPPED, SWAPPED };

struct iface {
    int dlt;
    uint32_t snap;
    uint64_t tsresol, tsoffset, factor;
    enum scale scale;
};

struct pcapf {
    int fd;
    bool own_fd, eof, ng;
    char *name;
    uint8_t *buf;
    size_t cap, pos, end;
    bool mapped;     /* buf is the whole file, mapped: cap = end = its size at open */
    size_t released; /* mapped bytes before this were given back (MADV_DONTNEED) */
    size_t populated; /* mapped bytes before this are in the page table */
    int slot;         /* its entry in the SIGBUS registry while mapped */
    bool cut;         /* fstat found the mapped file shorter than it was at open */
    uint64_t shrank_to, shrank_at; /* set once the file shrank: every later call fails */
    uint64_t test_shrink_at;       /* MAMORI_TEST_SHRINK_AT, a test hook (see shrink_hook) */
    uint64_t base, count;
    bool swapped;
    /* pcap */
    size_t hdrsize;
    bool nano;
    enum lens lens;
    uint32_t snap;
    int dlt;
    /* pcapng, per section */
    struct iface *ifs;
    uint32_t n_if, cap_if;
    int first_dlt;
};

static inline uint32_t rd32(const uint8_t *p, bool sw)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return sw ? __builtin_bswap32(v) : v;
}

static inline uint16_t rd16(const uint8_t *p, bool sw)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return sw ? __builtin_bswap16(v) : v;
}

static inline uint64_t rd64(const uint8_t *p, bool sw)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return sw ? __builtin_bswap64(v) : v;
}

static int bad(struct pcapf *f, uint64_t at, const char *what)
{
    return err_set(-EINVAL, "%s: %s at byte %llu", f->name, what, (unsigned long long)at);
}

/* libpcap's linktype_to_dlt() for the values whose DLT_ differs on Linux. */
static int linktype_to_dlt(uint32_t lt)
{
    switch (lt) {
    case 100:
        return 11; /* ATM_RFC1483 */
    case 101:
        return 12; /* RAW */
    case 102:
        return 15; /* SLIP_BSDOS */
    case 103:
        return 16; /* PPP_BSDOS */
    case 106:
        return 19; /* ATM_CLIP */
    default:
        return (int)lt;
    }
}

/* A file truncated while it is mapped (logrotate's copytruncate, an operator,
 * a failing disk) raises SIGBUS on the first load from a page past its new
 * end, and SIGBUS kills.  So a handler catches it: a fault inside a live
 * mapping maps anonymous zero pages over the rest of that mapping, marks it
 * shrank and returns, and the load reads zeros.  The reader then checks the
 * mark once per call, after touching the page that follows the last record it
 * would hand out (the page holding the new end reads zeros past it without a
 * fault), learns the new size with fstat and delivers again only the records
 * that lie wholly before it, then fails: "PATH: file shrank to N bytes while
 * being read (at byte M)".  No byte below the new size is ever zeroed
 * (the kernel faults only on pages wholly past it), so those records are the
 * file's own.  The window left: a record checked whole when it was handed out
 * and cut before the caller decodes it reads as zeros to the caller (one
 * batch, microseconds; the next call reports the shrink); closing it would
 * cost the caller a check after every decode.
 *
 * A signal handler cannot be given a context, so the mappings it must know
 * are global: a fixed table of SLOTS entries, lock-free.  A slot is taken by
 * CAS on its owner flag, and its range is published under a sequence number
 * (odd while it changes), so a handler in any thread — both shard threads map
 * the same file — reads either a whole range or skips the slot, never a range
 * half of one mapping and half of the next.  The mapping that faulted cannot
 * be unmapped under the handler: the faulting thread holds its records, valid
 * until the next call or pcapf_free (pcapfile.h). */
static struct {
    atomic_int owned;
    atomic_uint seq;
    atomic_uintptr_t lo, hi;
    atomic_int shrank; /* lock-free: safe in a handler, seen by every thread */
} maps[SLOTS];
static struct sigaction prev_bus; /* chained for faults that are not ours */
static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t page_size;

/* Runs in the faulting thread.  Ours: zeros over the rest of the mapping. */
static void on_bus(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    for (int i = 0; si->si_code > 0 && i < SLOTS; i++) {
        unsigned s1 = atomic_load(&maps[i].seq);
        if (s1 & 1) continue;
        uintptr_t lo = atomic_load(&maps[i].lo), hi = atomic_load(&maps[i].hi);
        if (atomic_load(&maps[i].seq) != s1 || a < lo || a >= hi) continue;
        int saved = errno;
        uintptr_t from = a / page_size * page_size;
        /* mmap is a bare system call on Linux, safe here (POSIX does not list it) */
        void *z = mmap((void *)from, hi - from, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        errno = saved;
        if (z == MAP_FAILED) break; /* returning would fault again forever */
        atomic_store(&maps[i].shrank, 1);
        return;
    }
    if (prev_bus.sa_flags & SA_SIGINFO) {
        if (prev_bus.sa_sigaction) {
            prev_bus.sa_sigaction(sig, si, uc); /* ASan's own report, for one */
            return;
        }
    } else if (prev_bus.sa_handler != SIG_DFL && prev_bus.sa_handler != SIG_IGN) {
        prev_bus.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL); /* the load faults again and the process dies of it */
    if (si->si_code <= 0) raise(SIGBUS);
}

/* Before each mapping: installed the first time, and again whenever someone
 * replaced it since (a test harness such as cmocka sets its own per test);
 * the one found is chained.  Installing at the first mapping, not at start-up,
 * puts it after ASan's, which then reports the faults that are not ours. */
static bool bus_install(void)
{
    pthread_mutex_lock(&bus_lock);
    if (!page_size) page_size = (size_t)sysconf(_SC_PAGESIZE);
    struct sigaction cur, sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    bool ok = sigaction(SIGBUS, NULL, &cur) == 0;
    if (ok && !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_bus))
        ok = sigaction(SIGBUS, &sa, &prev_bus) == 0;
    pthread_mutex_unlock(&bus_lock);
    return ok;
}

static int slot_take(const void *m, size_t len)
{
    if (!bus_install()) return -1;
    for (int i = 0; i < SLOTS; i++) {
        int free_ = 0;
        if (!atomic_compare_exchange_strong(&maps[i].owned, &free_, 1)) continue;
        atomic_fetch_add(&maps[i].seq, 1);
        atomic_store(&maps[i].lo, (uintptr_t)m);
        atomic_store(&maps[i].hi, ((uintptr_t)m + len + page_size - 1) / page_size * page_size);
        atomic_store(&maps[i].shrank, 0);
        atomic_fetch_add(&maps[i].seq, 1);
        return i;
    }
    return -1;
}

static void slot_drop(int i)
{
    atomic_fetch_add(&maps[i].seq, 1);
    atomic_store(&maps[i].lo, 0);
    atomic_store(&maps[i].hi, 0);
    atomic_fetch_add(&maps[i].seq, 1);
    atomic_store(&maps[i].owned, 0);
}

static void unmap(struct pcapf *f)
{
    munmap(f->buf, f->cap);
    slot_drop(f->slot);
    f->mapped = false;
}

static bool shrank(const struct pcapf *f)
{
    return f->mapped &&
           (f->cut || atomic_load_explicit(&maps[f->slot].shrank, memory_order_relaxed));
}

/* The page holding the new end reads as zeros past it, without a fault: only
 * fstat tells a cut there. */
static bool cut_now(struct pcapf *f)
{
    struct stat st;
    if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < f->cap) f->cut = true;
    return f->cut;
}

/* A regular file (from its start) is mapped whole instead of read: neither
 * thread that reads it copies it.  The pages already parsed are given back
 * every RELEASE bytes, so the file's share of the RSS stays bounded. */
static void map_file(struct pcapf *f)
{
    if (getenv("XNOMAP")) return;
    struct stat st;
    if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)MAP_MIN ||
        (uint64_t)st.st_size > SIZE_MAX || lseek(f->fd, 0, SEEK_CUR) != 0)
        return;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (m == MAP_FAILED) return;
    if ((f->slot = slot_take(m, (size_t)st.st_size)) < 0) { /* no SIGBUS guard: read it */
        munmap(m, (size_t)st.st_size);
        return;
    }
    const char *t = getenv("MAMORI_TEST_SHRINK_AT");
    if (t) f->test_shrink_at = strtoull(t, NULL, 10);
    madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
    f->mapped = true;
    f->buf = m;
    f->cap = f->end = (size_t)st.st_size;
}

/* Behind: given back every RELEASE bytes.  Ahead: the next POPULATE bytes
 * entered in the page table in one call (where the kernel can: Linux 5.14). */
static void window(struct pcapf *f)
{
    static size_t page;
    if (!page) page = (size_t)sysconf(_SC_PAGESIZE);
    size_t upto = f->pos / page * page;
    if (upto - f->released >= RELEASE) {
        madvise(f->buf + f->released, upto - f->released, MADV_DONTNEED);
        f->released = upto;
    }
#ifdef MADV_POPULATE_READ
    if (f->populated < f->end && f->pos + POPULATE / 2 >= f->populated) {
        size_t from = f->populated > upto ? f->populated : upto;
        size_t n = f->end - from < POPULATE ? f->end - from : POPULATE;
        n = (n + page - 1) / page * page; /* the last page is whole in the mapping */
        madvise(f->buf + from, n, MADV_POPULATE_READ);
        f->populated = from + n;
    }
#endif
}

/* The mapping ends inside a record, or the file grew since it was opened:
 * from here on the file is read, from the end of the mapping, as a pipe is
 * (the unparsed tail moves to a buffer of its own). */
static int unmap_file(struct pcapf *f, size_t need)
{
    size_t tail = f->end - f->pos, cap = CHUNK;
    while (cap < need)
        cap *= 2;
    uint8_t *b = malloc(cap);
    if (!b) return err_set(-ENOMEM, "%s: out of memory", f->name);
    if (lseek(f->fd, (off_t)f->end, SEEK_SET) < 0) {
        free(b);
        return err_set(-errno, "%s: %s", f->name, strerror(errno));
    }
    memcpy(b, f->buf + f->pos, tail);
    if (shrank(f) || cut_now(f)) { /* the tail may be zeros: the caller reports it */
        free(b);
        return -ESTALE;
    }
    unmap(f);
    f->base += f->pos;
    f->buf = b;
    f->cap = cap;
    f->pos = 0;
    f->end = tail;
    return 0;
}

/* Makes at least need bytes available at pos: 1, 0 when the input ends first
 * (end - pos bytes are what is left), < 0 on a read error. */
static int fill(struct pcapf *f, size_t need)
{
    if (f->end - f->pos >= need) return 1;
    if (f->mapped) {
        int rc = unmap_file(f, need);
        if (rc < 0) return rc;
    }
    if (f->pos > 0) {
        memmove(f->buf, f->buf + f->pos, f->end - f->pos);
        f->base += f->pos;
        f->end -= f->pos;
        f->pos = 0;
    }
    if (need > f->cap) {
        size_t cap = f->cap;
        while (cap < need)
            cap *= 2;
        uint8_t *b = realloc(f->buf, cap);
        if (!b) return err_set(-ENOMEM, "%s: out of memory", f->name);
        f->buf = b;
        f->cap = cap;
    }
    while (f->end < need && !f->eof) {
        ssize_t n = read(f->fd, f->buf + f->end, f->cap - f->end);
        if (n < 0 && errno == EINTR) /* a signal: the caller decides whether to go on */
            return err_set(-EINTR, "%s: read interrupted", f->name);
        if (n < 0) return err_set(-errno, "%s: %s", f->name, strerror(errno));
        if (n == 0) f->eof = true;
        f->end += (size_t)n;
    }
    return f->end >= need;
}

static int open_pcap(struct pcapf *f, uint32_t magic)
{
    const uint8_t *h = f->buf;
    switch (magic) {
    case 0xA1B2C3D4u: /* µs */
    case 0xA1B23C4Du: /* ns */
    case 0xA1B2CD34u: /* Kuznetzov's patched libpcap: 8 more header bytes */
        f->swapped = false;
        break;
    default:
        f->swapped = true;
        magic = __builtin_bswap32(magic);
    }
    f->nano = magic == 0xA1B23C4Du;
    f->hdrsize = magic == 0xA1B2CD34u ? 24 : 16;
    int r = fill(f, 24);
    if (r <= 0) return r < 0 ? r : bad(f, 0, "truncated file header");
    h = f->buf;
    uint16_t major = rd16(h + 4, f->swapped), minor = rd16(h + 6, f->swapped);
    if (major < 2) return err_set(-EINVAL, "%s: archaic pcap savefile format", f->name);
    if (!((major == 2 && minor <= 4) || (major == 543 && minor == 0)))
        return err_set(-EINVAL, "%s: unsupported pcap savefile version %u.%u", f->name, major,
                       minor);
    f->lens = major == 543 || minor < 3 ? SWAPPED : minor == 3 ? MAYBE_SWAPPED : NOT_SWAPPED;
    f->snap = rd32(h + 16, f->swapped);
    f->dlt = linktype_to_dlt(rd32(h + 20, f->swapped) & 0xFFFF);
    if (f->snap == 0 || f->snap > PCAPF_MAX_CAPLEN) f->snap = PCAPF_MAX_CAPLEN;
    f->pos = 24;
    return 0;
}

/* One pcap record at pos: 1, 0 when more input is needed, < 0 on damage. */
static int pcap_rec(struct pcapf *f, struct pcapf_rec *r)
{
    size_t avail = f->end - f->pos;
    if (avail < f->hdrsize) return 0;
    const uint8_t *h = f->buf + f->pos;
    uint32_t caplen = rd32(h + 8, f->swapped), len = rd32(h + 12, f->swapped);
    if (f->lens == SWAPPED || (f->lens == MAYBE_SWAPPED && caplen > len)) {
        uint32_t t = caplen;
        caplen = len;
        len = t;
    }
    if (caplen > PCAPF_MAX_CAPLEN) {
        char what[96];
        snprintf(what, sizeof what, "record claims %u captured bytes (at most %u)", caplen,
                 PCAPF_MAX_CAPLEN);
        return bad(f, f->base + f->pos, what);
    }
    if (avail < f->hdrsize + caplen) return 0;
    /* libpcap reads its signed 32-bit fields as they are, but its SWAPLONG
     * makes them unsigned: a time past 2038 counts in a swapped file only. */
    int64_t sec, usec;
    if (f->swapped) {
        sec = rd32(h, true);
        usec = rd32(h + 4, true);
    } else {
        sec = (int32_t)rd32(h, false);
        usec = (int32_t)rd32(h + 4, false);
    }
    if (f->nano) usec /= 1000;
    r->ts_us = pkt_time_us(sec, usec);
    r->caplen = caplen > f->snap ? f->snap : caplen; /* libpcap reads snap, skips the rest */
    r->wirelen = len;
    r->data = h + f->hdrsize;
    r->dlt = f->dlt;
    f->pos += f->hdrsize + caplen;
    return 1;
}

/* Options of an IDB, as libpcap's process_idb_options(). */
static int idb_options(struct pcapf *f, const uint8_t *p, size_t n, uint64_t at, struct iface *ifc)
{
    bool sw = f->swapped, have_res = false, have_off = false;
    uint8_t res = 6;
    while (n > 0) {
        if (n < 4) return bad(f, at, "interface block option header cut short");
        uint16_t code = rd16(p, sw), olen = rd16(p + 2, sw);
        size_t padded = ((size_t)olen + 3) & ~(size_t)3;
        if (padded > n - 4) return bad(f, at, "interface block option longer than its block");
        const uint8_t *v = p + 4;
        if (code == 0) {
            if (olen != 0) return bad(f, at, "interface block end-of-options with a length");
            break;
        }
        if (code == 9) { /* if_tsresol */
            if (olen != 1 || have_res) return bad(f, at, "bad if_tsresol option");
            have_res = true;
            res = v[0];
        } else if (code == 14) { /* if_tsoffset */
            if (olen != 8 || have_off) return bad(f, at, "bad if_tsoffset option");
            have_off = true;
            ifc->tsoffset = rd64(v, sw);
        }
        p += 4 + padded;
        n -= 4 + padded;
    }
    bool binary = res & 0x80;
    if (binary) {
        if ((res & 0x7F) > 63) return bad(f, at, "if_tsresol beyond 2^-63");
        ifc->tsresol = 1ull << (res & 0x7F);
    } else {
        if (res > 19) return bad(f, at, "if_tsresol beyond 10^-19");
        ifc->tsresol = 1;
        for (int i = 0; i < res; i++)
            ifc->tsresol *= 10;
    }
    const uint64_t user = 1000000;
    if (ifc->tsresol == user) {
        ifc->scale = PASS;
    } else if (ifc->tsresol > user) {
        ifc->scale = binary ? DOWN_BIN : DOWN_DEC;
        ifc->factor = ifc->tsresol / user;
    } else {
        ifc->scale = binary ? UP_BIN : UP_DEC;
        ifc->factor = user / ifc->tsresol;
    }
    return 0;
}

static int add_idb(struct pcapf *f, const uint8_t *b, uint32_t blen, uint64_t at)
{
    if (blen < 20) return bad(f, at, "interface block too short");
    if (f->n_if == MAX_IFACES) return bad(f, at, "too many interfaces");
    if (f->n_if == f->cap_if) {
        uint32_t nc = f->cap_if ? f->cap_if * 2 : 4;
        struct iface *p = realloc(f->ifs, nc * sizeof *p);
        if (!p) return err_set(-ENOMEM, "%s: out of memory", f->name);
        f->ifs = p;
        f->cap_if = nc;
    }
    struct iface ifc = {.dlt = linktype_to_dlt(rd16(b + 8, f->swapped)),
                        .snap = rd32(b + 12, f->swapped)};
    if (ifc.snap == 0 || ifc.snap > PCAPF_MAX_CAPLEN) ifc.snap = PCAPF_MAX_CAPLEN;
    int rc = idb_options(f, b + 16, blen - 20, at, &ifc);
    if (rc < 0) return rc;
    f->ifs[f->n_if++] = ifc;
    if (f->first_dlt < 0) f->first_dlt = ifc.dlt;
    return 0;
}

/* The section header at pos (12 bytes available): byte order and version. */
static int shb(struct pcapf *f, const uint8_t *b, uint32_t blen, uint64_t at, bool first)
{
    if (blen < 28) return bad(f, at, "section header block too short");
    uint16_t major = rd16(b + 12, f->swapped), minor = rd16(b + 14, f->swapped);
    if (major != 1 || (first && minor != 0 && minor != 2)) {
        char what[64];
        snprintf(what, sizeof what, "unsupported pcapng version %u.%u", major, minor);
        return bad(f, at, what);
    }
    f->n_if = 0; /* each section has its own interfaces */
    return 0;
}

static int64_t ng_time(const struct iface *ifc, uint64_t t)
{
    uint64_t sec = t / ifc->tsresol + ifc->tsoffset, frac = t % ifc->tsresol;
    switch (ifc->scale) {
    case PASS:
        break;
    case UP_DEC:
        frac *= ifc->factor;
        break;
    case DOWN_DEC:
        frac /= ifc->factor;
        break;
    case UP_BIN:
    case DOWN_BIN: /* libpcap's arithmetic, overflow included */
        frac *= 1000000;
        frac /= ifc->tsresol;
        break;
    }
    return pkt_time_us((int64_t)sec, (int32_t)(uint32_t)frac);
}

/* A packet block (EPB, SPB, PB) of blen bytes at b. */
static int ng_packet(struct pcapf *f, uint32_t type, const uint8_t *b, uint32_t blen, uint64_t at,
                     struct pcapf_rec *r)
{
    bool sw = f->swapped;
    size_t body = blen - 12, fixed = type == BT_SPB ? 4 : 20;
    if (body < fixed) return bad(f, at, "packet block too short");
    uint32_t id, caplen, len;
    uint64_t t;
    if (type == BT_SPB) {
        id = 0;
        len = rd32(b + 8, sw);
        caplen = len;
        t = 0;
    } else {
        id = type == BT_PB ? rd16(b + 8, sw) : rd32(b + 8, sw);
        t = (uint64_t)rd32(b + 12, sw) << 32 | rd32(b + 16, sw);
        caplen = rd32(b + 20, sw);
        len = rd32(b + 24, sw);
    }
    if (id >= f->n_if) return bad(f, at, "packet on an interface without an interface block");
    const struct iface *ifc = &f->ifs[id];
    if (type == BT_SPB && caplen > ifc->snap) caplen = ifc->snap;
    if (caplen > ifc->snap) return bad(f, at, "captured length above the snapshot length");
    if (caplen > body - fixed) return bad(f, at, "captured length beyond its block");
    r->ts_us = ng_time(ifc, t);
    r->caplen = caplen;
    r->wirelen = len;
    r->data = b + 8 + fixed;
    r->dlt = ifc->dlt;
    return 1;
}

/* The block at pos, whole in the buffer: 1 a record, 0 none (consumed),
 * 2 more input needed, < 0 damage.  At the end with bytes left: damage. */
static int ng_block(struct pcapf *f, struct pcapf_rec *r, bool opening)
{
    size_t avail = f->end - f->pos;
    if (avail < 12) return 2;
    const uint8_t *b = f->buf + f->pos;
    uint64_t at = f->base + f->pos;
    uint32_t type = rd32(b, false);
    if (type == BT_SHB) { /* a new section: its own byte order */
        uint32_t bom = rd32(b + 8, false);
        if (bom == BOM)
            f->swapped = false;
        else if (bom == __builtin_bswap32(BOM))
            f->swapped = true;
        else
            return bad(f, at, "section header with a bad byte-order magic");
    } else {
        type = rd32(b, f->swapped);
    }
    uint32_t blen = rd32(b + 4, f->swapped);
    if (blen < 12 || blen % 4) return bad(f, at, "block length not a multiple of 4 of at least 12");
    if (blen > PCAPF_MAX_BLOCK) return bad(f, at, "block longer than 16 MiB");
    if (avail < blen) return 2;
    if (rd32(b + blen - 4, f->swapped) != blen)
        return bad(f, at, "block lengths in header and trailer differ");
    int rc = 0;
    switch (type) {
    case BT_SHB:
        rc = shb(f, b, blen, at, opening && f->first_dlt < 0);
        break;
    case BT_IDB:
        rc = add_idb(f, b, blen, at);
        break;
    case BT_EPB:
    case BT_SPB:
    case BT_PB:
        if (opening && f->first_dlt < 0)
            return bad(f, at, "packet block before any interface block");
        rc = ng_packet(f, type, b, blen, at, r);
        break;
    default: /* NRB, ISB, DSB, custom blocks: nothing a telescope counts */
        break;
    }
    if (rc >= 0) f->pos += blen;
    return rc;
}

/* Parses from the buffer without reading: 1 a record, 0 more input needed. */
static int parse(struct pcapf *f, struct pcapf_rec *r)
{
    if (!f->ng) return pcap_rec(f, r);
    for (;;) {
        int rc = ng_block(f, r, false);
        if (rc == 2) return 0;
        if (rc != 0) return rc;
    }
}

/* What is needed before the record at pos can be parsed whole. */
static size_t needed(const struct pcapf *f)
{
    size_t avail = f->end - f->pos;
    const uint8_t *h = f->buf + f->pos;
    if (!f->ng) {
        if (avail < f->hdrsize) return f->hdrsize;
        uint32_t c = rd32(h + 8, f->swapped), l = rd32(h + 12, f->swapped);
        if (f->lens == SWAPPED || (f->lens == MAYBE_SWAPPED && c > l)) c = l;
        return f->hdrsize + c; /* c <= PCAPF_MAX_CAPLEN: checked by pcap_rec */
    }
    if (avail < 12) return 12;
    bool sw = f->swapped;
    if (rd32(h, false) == BT_SHB) sw = rd32(h + 8, false) != BOM;
    return rd32(h + 4, sw); /* <= PCAPF_MAX_BLOCK: checked by ng_block */
}

static int next(struct pcapf *f, struct pcapf_rec *r, bool may_read)
{
    if (f->mapped && may_read) window(f); /* no record before this call is held */
    for (;;) {
        int rc = parse(f, r);
        if (rc != 0) {
            if (rc > 0) f->count++;
            if (f->end - f->pos > AHEAD) __builtin_prefetch(f->buf + f->pos + AHEAD);
            return rc;
        }
        if (!may_read) return 0;
        size_t need = needed(f);
        rc = fill(f, need);
        if (rc < 0) return rc;
        if (rc == 0) {
            if (f->end == f->pos) return -ENODATA; /* the end, at a record boundary */
            return bad(f, f->base + f->pos, f->ng ? "truncated block" : "truncated record");
        }
    }
}

static int shrank_err(const struct pcapf *f)
{
    return err_set(-ESTALE, "%s: file shrank to %llu bytes while being read (at byte %llu)",
                   f->name, (unsigned long long)f->shrank_to, (unsigned long long)f->shrank_at);
}

/* The file shrank under the batch that began at pos0: the batch is parsed
 * again with the buffer cut at the new size, so only records wholly before it
 * are delivered (their bytes are the file's own: see the top of the file). */
static int reread(struct pcapf *f, struct pcapf_rec *r, int max, size_t pos0, uint64_t count0)
{
    struct stat st;
    uint64_t size = fstat(f->fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    f->pos = pos0;
    f->count = count0;
    if (size < f->base + f->end) f->end = size > f->base + f->pos ? size - f->base : f->pos;
    int n = 0;
    while (n < max && parse(f, &r[n]) > 0) {
        f->count++;
        n++;
    }
    f->shrank_to = size;
    f->shrank_at = f->base + f->pos;
    if (!f->shrank_at) f->shrank_at = 1; /* the mark that the reader is done */
    return n ? n : shrank_err(f);
}

/* Test hook, for tests/integration/shrink.sh only: MAMORI_TEST_SHRINK_AT=BYTES
 * in the environment truncates a mapped file to BYTES once its reader is past
 * BYTES / 2 — a file cut mid-run, deterministically (no sleeps), and at a
 * size that is the truth: what lies wholly before BYTES is what is kept. */
static void shrink_hook(struct pcapf *f)
{
    if (f->test_shrink_at && f->base + f->pos > f->test_shrink_at / 2) {
        if (truncate(f->name, (off_t)f->test_shrink_at) < 0) {
            /* the test then sees the file read whole, and fails */
        }
        f->test_shrink_at = 0;
    }
}

int pcapf_next(struct pcapf *f, struct pcapf_rec *r)
{
    return pcapf_next_batch(f, r, 1);
}

int pcapf_next_batch(struct pcapf *f, struct pcapf_rec *r, int max)
{
    if (f->shrank_at) return shrank_err(f);
    size_t pos0 = f->pos;
    uint64_t count0 = f->count;
    int n = 0, rc = 0;
    if (f->mapped) shrink_hook(f);
    while (n < max) {
        rc = next(f, &r[n], n == 0); /* a refill would move the records before */
        if (rc <= 0) break;
        n++;
    }
    if (f->mapped && n > 0) {
        /* The page after the batch's last byte: it faults here, not in the
         * caller's decode, if the file now ends before it (the page holding
         * the end does not fault: it reads zeros past it).  Every byte of the
         * batch is before it, and a file shrinks from its end.  In the file's
         * last page, fstat tells instead (a few batches per file). */
        uintptr_t e = (uintptr_t)(r[n - 1].data + r[n - 1].caplen);
        uintptr_t probe = (e + page_size - 1) / page_size * page_size;
        if (probe - (uintptr_t)f->buf < f->cap)
            (void)*(volatile const uint8_t *)probe;
        else
            cut_now(f);
    }
    if (shrank(f)) return reread(f, r, max, pos0, count0);
    if (rc == -ENODATA) return n;
    if (rc < 0) return n ? n : rc; /* the damage is met again by the next call */
    return n;
}

static int open_ng(struct pcapf *f)
{
    f->ng = true;
    f->first_dlt = -1;
    struct pcapf_rec r;
    while (f->first_dlt < 0) {
        int rc = ng_block(f, &r, true);
        if (rc < 0) return rc;
        if (rc == 2) {
            rc = fill(f, needed(f));
            if (rc < 0) return rc;
            if (rc == 0)
                return f->end == f->pos
                           ? err_set(-EINVAL, "%s: pcapng without an interface block", f->name)
                           : bad(f, f->base + f->pos, "truncated block");
        }
    }
    return 0;
}

static struct pcapf *open_fd(int fd, const char *name, int own_fd, size_t chunk, bool map)
{
    if (chunk < 64) chunk = 64;
    struct pcapf *f = calloc(1, sizeof *f);
    if (f) {
        f->fd = fd;
        if (map) map_file(f);
    }
    if (!f || !(f->name = strdup(name)) || (!f->mapped && !(f->buf = malloc(chunk)))) {
        if (f) {
            free(f->name);
            if (f->mapped) unmap(f);
        }
        free(f);
        if (own_fd) close(fd);
        err_set(-ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    f->own_fd = own_fd;
    if (!f->mapped) f->cap = chunk;
    f->dlt = f->first_dlt = -1;
    int rc = fill(f, 4);
    if (rc == 0)
        rc = err_set(-EINVAL, "%s: %s", name,
                     f->end ? "too short for a capture file header" : "empty file");
    if (rc > 0) {
        uint32_t m = rd32(f->buf, false);
        switch (m) {
        case 0xA1B2C3D4u:
        case 0xA1B23C4Du:
        case 0xA1B2CD34u:
        case 0xD4C3B2A1u:
        case 0x4D3CB2A1u:
        case 0x34CDB2A1u:
            rc = open_pcap(f, m);
            break;
        case BT_SHB:
            rc = open_ng(f);
            break;
        default:
            rc = err_set(-EINVAL, "%s: unknown file format (neither pcap nor pcapng)", name);
        }
    }
    if (rc < 0) {
        pcapf_free(f);
        return NULL;
    }
    return f;
}

struct pcapf *pcapf_open_fd_sized(int fd, const char *name, int own_fd, size_t chunk)
{
    return open_fd(fd, name, own_fd, chunk, false);
}

struct pcapf *pcapf_open_fd(int fd, const char *name, int own_fd)
{
    return open_fd(fd, name, own_fd, CHUNK, true);
}

struct pcapf *pcapf_open(const char *path)
{
    if (strcmp(path, "-") == 0) return pcapf_open_fd(STDIN_FILENO, path, 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(-errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return pcapf_open_fd(fd, path, 1);
}

int pcapf_dlt(struct pcapf *f)
{
    return f->ng ? f->first_dlt : f->dlt;
}

uint64_t pcapf_offset(const struct pcapf *f)
{
    return f->base + f->pos;
}

uint64_t pcapf_count(const struct pcapf *f)
{
    return f->count;
}

int pcapf_is_pcapng(const struct pcapf *f)
{
    return f->ng;
}

void pcapf_free(struct pcapf *f)
{
    if (!f) return;
    if (f->own_fd) close(f->fd);
    if (f->mapped)
        unmap(f);
    else
        free(f->buf);
    free(f->ifs);
    free(f->name);
    free(f);
}
