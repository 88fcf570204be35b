/* pcapfile against libpcap, the peer: captures generated here in every layout
 * the reader handles (pcap µs and ns, both byte orders, a snapshot below some
 * records; pcapng in both byte orders with if_tsresol 10^-6, 10^-9, 2^-20 and
 * seconds, an if_tsoffset, several interfaces and sections, SPB, the obsolete
 * PB, blocks to skip; crafted times outside 1970..2100), read by both, and
 * every record compared: time (as observe takes it from libpcap), lengths,
 * bytes and link type.  Each file is read with the normal 4 MiB buffer, with
 * a tiny one (records straddle every read), in batches (all records of a
 * batch stay valid together) and through a pipe written in small pieces.  A
 * damaged file: the same records first, then an error naming the byte.
 * Files of 8 MiB and more are mapped (and checked to be, in /proc/self/maps):
 * read whole and in batches past the 4 MiB the mapping gives back at a time,
 * cut at the end of the mapping, and grown after they were opened, and
 * truncated to half while two readers (one in its own thread) are in it. */
#include "core/err.h"
#include "core/pcapfile.h"
#include "observe/source.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct out {
    uint8_t *b;
    size_t n, cap;
    bool sw; /* write multi-byte fields byte-swapped */
};

static void put(struct out *o, const void *p, size_t n)
{
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2;
        o->b = realloc(o->b, o->cap);
        assert_non_null(o->b);
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void p8(struct out *o, uint8_t v)
{
    put(o, &v, 1);
}
static void p16(struct out *o, uint16_t v)
{
    if (o->sw) v = __builtin_bswap16(v);
    put(o, &v, 2);
}
static void p32(struct out *o, uint32_t v)
{
    if (o->sw) v = __builtin_bswap32(v);
    put(o, &v, 4);
}
static void p64(struct out *o, uint64_t v)
{
    if (o->sw) v = __builtin_bswap64(v);
    put(o, &v, 8);
}
static void set32(struct out *o, size_t at, uint32_t v)
{
    if (o->sw) v = __builtin_bswap32(v);
    memcpy(o->b + at, &v, 4);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A packet's length: mostly small, some beyond a tiny buffer's size. */
static uint32_t some_len(void)
{
    uint32_t k = rnd() % 100;
    return k < 80 ? rnd() % 200 : k < 97 ? 200 + rnd() % 1400 : 3000 + rnd() % 60000;
}

static void payload(struct out *o, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        p8(o, (uint8_t)rnd());
}

/* Classic pcap: magic µs or ns, snaplen, n records; some times crafted. */
static void gen_pcap(struct out *o, bool ns, uint32_t snap, uint32_t linktype, int n)
{
    p32(o, ns ? 0xA1B23C4Du : 0xA1B2C3D4u);
    p16(o, 2);
    p16(o, 4);
    p32(o, 0);
    p32(o, 0);
    p32(o, snap);
    p32(o, linktype);
    uint32_t sec = 1474329600;
    for (int i = 0; i < n; i++) {
        uint32_t caplen = some_len(), len = caplen + (rnd() % 4 ? 0 : rnd() % 100);
        uint32_t frac = rnd() % (ns ? 1000000000u : 1000000u);
        sec += rnd() % 3;
        uint32_t s = sec;
        if (i % 97 == 5) s = 0x80000000u + rnd();    /* before 1970 as libpcap reads it */
        if (i % 89 == 7) frac = 1000000000u + rnd(); /* not a fraction */
        p32(o, s);
        p32(o, frac);
        p32(o, caplen);
        p32(o, len);
        payload(o, caplen);
    }
}

static size_t ng_begin(struct out *o, uint32_t type)
{
    size_t at = o->n;
    p32(o, type);
    p32(o, 0); /* length, set by ng_end */
    return at;
}

static void ng_end(struct out *o, size_t at)
{
    while (o->n % 4)
        p8(o, 0);
    uint32_t len = (uint32_t)(o->n - at + 4);
    set32(o, at + 4, len);
    p32(o, len);
}

static void ng_shb(struct out *o)
{
    size_t at = ng_begin(o, 0x0A0D0D0Au);
    p32(o, 0x1A2B3C4Du);
    p16(o, 1);
    p16(o, 0);
    p64(o, ~0ull);
    ng_end(o, at);
}

/* resol < 0: no if_tsresol option. */
static void ng_idb(struct out *o, uint16_t linktype, uint32_t snap, int resol, bool offset,
                   uint64_t tsoffset)
{
    size_t at = ng_begin(o, 1);
    p16(o, linktype);
    p16(o, 0);
    p32(o, snap);
    p16(o, 2); /* if_name, to be skipped */
    p16(o, 3);
    put(o, "eth\0", 4);
    if (resol >= 0) {
        p16(o, 9);
        p16(o, 1);
        p8(o, (uint8_t)resol);
        put(o, "\0\0\0", 3);
    }
    if (offset) {
        p16(o, 14);
        p16(o, 8);
        p64(o, tsoffset);
    }
    p16(o, 0);
    p16(o, 0);
    ng_end(o, at);
}

static void ng_epb(struct out *o, uint32_t type, uint32_t iface, uint64_t t, uint32_t caplen,
                   uint32_t len)
{
    size_t at = ng_begin(o, type);
    if (type == 2) {
        p16(o, (uint16_t)iface);
        p16(o, 0);
    } else {
        p32(o, iface);
    }
    p32(o, (uint32_t)(t >> 32));
    p32(o, (uint32_t)t);
    p32(o, caplen);
    p32(o, len);
    payload(o, caplen);
    if (rnd() % 5 == 0) { /* an epb_flags option */
        while (o->n % 4)
            p8(o, 0);
        p16(o, 2);
        p16(o, 4);
        p32(o, 1);
        p16(o, 0);
        p16(o, 0);
    }
    ng_end(o, at);
}

static void ng_spb(struct out *o, uint32_t len, uint32_t snap)
{
    size_t at = ng_begin(o, 3);
    p32(o, len);
    payload(o, len < snap ? len : snap);
    ng_end(o, at);
}

static void ng_other(struct out *o, uint32_t type)
{
    size_t at = ng_begin(o, type);
    payload(o, rnd() % 64);
    ng_end(o, at);
}

/* Interfaces of one link type (libpcap refuses others) in several
 * resolutions; two sections; packets of every kind among skipped blocks. */
static void gen_pcapng(struct out *o, uint16_t linktype, int n)
{
    static const int resol[] = {-1, 9, 0x80 | 20, 0, 3};
    uint64_t t6 = 1474329600ull * 1000000;
    for (int section = 0; section < 2; section++) {
        ng_shb(o);
        ng_other(o, 4); /* NRB */
        int nif = 0;
        for (size_t k = 0; k < sizeof resol / sizeof *resol; k++, nif++)
            ng_idb(o, linktype, 0, resol[k], k == 4, k == 4 ? 1000 : 0);
        ng_idb(o, linktype, 0, 6, true, 0x7000000000000000ull); /* far beyond 2100 */
        nif++;
        for (int i = 0; i < n / 2; i++) {
            int iface = (int)(rnd() % (uint32_t)nif);
            uint32_t caplen = some_len(), len = caplen + rnd() % 3;
            t6 += rnd() % 2000000;
            uint64_t t = t6;
            switch (resol[iface < 5 ? iface : 0]) {
            case 9:
                t = t6 * 1000 + rnd() % 1000;
                break;
            case 0x80 | 20:
                t = (t6 / 1000000 << 20) + rnd() % (1u << 20);
                break;
            case 0:
                t = t6 / 1000000;
                break;
            case 3:
                t = t6 / 1000;
                break;
            }
            uint32_t kind = rnd() % 20;
            if (kind == 0)
                ng_spb(o, len, 262144);
            else if (kind == 1)
                ng_epb(o, 2, (uint32_t)iface, t, caplen, len);
            else
                ng_epb(o, 6, (uint32_t)iface, t, caplen, len);
            if (rnd() % 50 == 0) ng_other(o, rnd() % 2 ? 5 : 0x40000BADu); /* ISB, custom */
        }
    }
}

static char *save(const struct out *o, size_t n)
{
    char *path = strdup("/tmp/mamori-pcapf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, o->b, n), (ssize_t)n);
    close(fd);
    return path;
}

struct feeder {
    const struct out *o;
    size_t n;
    int fd;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    for (size_t off = 0; off < f->n;) {
        size_t k = 1 + rnd() % 3000;
        if (k > f->n - off) k = f->n - off;
        ssize_t w = write(f->fd, f->o->b + off, k);
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(f->fd);
    return NULL;
}

enum how { WHOLE, TINY, BATCH, PIPE, MAPPED, MAPPED_BATCH, GROWN };

static size_t grown_at; /* GROWN: the file holds this many bytes when it is opened */

/* Whether path is mapped into this process now. */
static bool mapped(const char *path)
{
    FILE *m = fopen("/proc/self/maps", "r");
    char line[4096];
    bool found = false;
    while (m && !found && fgets(line, sizeof line, m))
        found = strstr(line, path) != NULL;
    if (m) fclose(m);
    return found;
}

/* Reads path with libpcap and the same bytes with pcapfile, comparing every
 * record; returns the records both delivered and whether both ended in an
 * error (*damaged), with pcapfile's message in msg. */
static long compare(const struct out *o, size_t n, const char *path, enum how how, bool *damaged,
                    char *msg, size_t msgn)
{
    char eb[PCAP_ERRBUF_SIZE];
    struct pcapf *f = NULL;
    pthread_t th;
    struct feeder fd = {o, n, -1};
    if (how == GROWN) { /* opened (and mapped) short; the rest written before reading */
        assert_int_equal(truncate(path, (off_t)grown_at), 0);
        f = pcapf_open(path);
        assert_non_null(f);
        assert_true(mapped(path));
        int d = open(path, O_WRONLY | O_APPEND);
        assert_int_equal(write(d, o->b + grown_at, n - grown_at), (ssize_t)(n - grown_at));
        close(d);
    }
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, eb);
    assert_non_null(p);
    if (how == GROWN) {
    } else if (how == MAPPED || how == MAPPED_BATCH) {
        f = pcapf_open(path);
        assert_non_null(f);
        assert_true(mapped(path));
    } else if (how == PIPE) {
        int pp[2];
        assert_int_equal(pipe(pp), 0);
        fd.fd = pp[1];
        assert_int_equal(pthread_create(&th, NULL, feed, &fd), 0);
        f = pcapf_open_fd(pp[0], "pipe", 1);
    } else {
        int d = open(path, O_RDONLY);
        f = pcapf_open_fd_sized(d, path, 1, how == TINY ? 64 : 4u << 20);
    }
    assert_non_null(f);
    assert_int_equal(pcapf_dlt(f), pcap_datalink(p));
    long count = 0;
    struct pcapf_rec batch[7];
    int nb = 0, ib = 0, rf;
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *d;
        int rl = pcap_next_ex(p, &h, &d);
        struct pcapf_rec r;
        if (how == BATCH || how == MAPPED_BATCH) {
            if (ib == nb) {
                nb = pcapf_next_batch(f, batch, 7);
                ib = 0;
            }
            rf = nb > 0 ? 1 : nb;
            if (nb > 0) r = batch[ib++];
        } else {
            rf = pcapf_next(f, &r);
        }
        if (rl == PCAP_ERROR_BREAK) {
            assert_int_equal(rf, 0);
            *damaged = false;
            break;
        }
        if (rl == PCAP_ERROR) {
            if (rf > 0)
                fail_msg("record %ld: libpcap: %s; pcapfile delivered it", count, pcap_geterr(p));
            assert_true(rf < 0);
            snprintf(msg, msgn, "%s", err_msg());
            *damaged = true;
            break;
        }
        if (rf != 1) fail_msg("record %ld: pcapfile %d (%s), libpcap has it", count, rf, err_msg());
        assert_int_equal(r.ts_us, pkt_time_us(h->ts.tv_sec, h->ts.tv_usec));
        assert_int_equal(r.caplen, h->caplen);
        assert_int_equal(r.wirelen, h->len);
        assert_int_equal(r.dlt, pcap_datalink(p));
        assert_memory_equal(r.data, d, h->caplen);
        count++;
    }
    if (how == BATCH || how == MAPPED_BATCH) /* every record of the last batch is still intact */
        for (int i = 0; i < nb; i++)
            assert_true(batch[i].caplen == 0 || batch[i].data != NULL);
    assert_int_equal((long)pcapf_count(f), count);
    pcapf_free(f);
    if (how >= MAPPED) assert_false(mapped(path));
    if (how == PIPE) pthread_join(th, NULL);
    pcap_close(p);
    return count;
}

static void every_way(const struct out *o, size_t n, long want)
{
    char *path = save(o, n), msg[256];
    for (enum how how = WHOLE; how <= PIPE; how++) {
        bool damaged;
        long got = compare(o, n, path, how, &damaged, msg, sizeof msg);
        assert_false(damaged);
        assert_int_equal(got, want);
    }
    unlink(path);
    free(path);
}

static void pcap_layouts(void **state)
{
    (void)state;
    for (int sw = 0; sw < 2; sw++)
        for (int ns = 0; ns < 2; ns++)
            for (int lt = 0; lt < 2; lt++) {
                struct out o = {.sw = sw};
                /* linktype 101 (LINKTYPE_RAW) becomes DLT_RAW, 1 stays Ethernet */
                gen_pcap(&o, ns, lt ? 65535 : 0, lt ? 101 : 1, 1500);
                every_way(&o, o.n, 1500);
                free(o.b);
            }
}

static void pcap_snapshot_cut(void **state)
{
    (void)state;
    struct out o = {0};
    gen_pcap(&o, false, 100, 1, 800); /* records above 100 bytes are cut to 100 */
    every_way(&o, o.n, 800);
    free(o.b);
}

static void pcapng_layouts(void **state)
{
    (void)state;
    for (int sw = 0; sw < 2; sw++) {
        struct out o = {.sw = sw};
        gen_pcapng(&o, 1, 2000);
        every_way(&o, o.n, 2000);
        free(o.b);
    }
}

/* Cut anywhere: both deliver the same complete records, then both fail, and
 * pcapfile names the byte where the cut record starts. */
static void damaged(void **state)
{
    (void)state;
    for (int fmt = 0; fmt < 2; fmt++) {
        struct out o = {0};
        if (fmt)
            gen_pcapng(&o, 1, 300);
        else
            gen_pcap(&o, false, 0, 1, 300);
        for (int k = 0; k < 20; k++) {
            size_t cut = 1024 + rnd() % (o.n - 1024);
            char *path = save(&o, cut), msg[256];
            bool dmg;
            for (enum how how = WHOLE; how <= PIPE; how++) {
                long got = compare(&o, cut, path, how, &dmg, msg, sizeof msg);
                if (!dmg) continue; /* cut at a record boundary */
                assert_true(got >= 0);
                const char *at = strstr(msg, " at byte ");
                assert_non_null(at);
                unsigned long long off = strtoull(at + 9, NULL, 10);
                assert_true(off < cut);
                assert_true(strstr(msg, fmt ? "truncated block" : "truncated record"));
            }
            unlink(path);
            free(path);
        }
        free(o.b);
    }
}

static void not_captures(void **state)
{
    (void)state;
    struct out o = {0};
    put(&o, "not a capture at all\n", 21);
    char *path = save(&o, o.n);
    assert_null(pcapf_open(path));
    assert_non_null(strstr(err_msg(), path));
    unlink(path);
    assert_null(pcapf_open(path)); /* gone */
    assert_non_null(strstr(err_msg(), "No such file"));
    free(path);
    /* a record claiming 2 GiB: refused, not allocated */
    o.n = 0;
    gen_pcap(&o, false, 0, 1, 3);
    p32(&o, 1474329600);
    p32(&o, 0);
    p32(&o, 0x7FFFFFFF);
    p32(&o, 0x7FFFFFFF);
    path = save(&o, o.n);
    struct pcapf *f = pcapf_open(path);
    struct pcapf_rec r;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pcapf_next(f, &r), 1);
    assert_true(pcapf_next(f, &r) < 0);
    assert_non_null(strstr(err_msg(), "2147483647"));
    pcapf_free(f);
    unlink(path);
    free(path);
    free(o.b);
}

/* Files large enough to be mapped: the same records as libpcap's whole, in
 * batches, cut short at the end, and grown after opening (the appended part,
 * and the record the mapping ended inside, come through read()). */
static void mapped_files(void **state)
{
    (void)state;
    for (int fmt = 0; fmt < 2; fmt++) {
        struct out o = {0};
        if (fmt)
            gen_pcapng(&o, 1, 9000);
        else
            gen_pcap(&o, false, 0, 1, 36000);
        assert_true(o.n > (fmt ? 9u << 20 : 40u << 20));
        char *path = save(&o, o.n), msg[256];
        bool dmg;
        long want = compare(&o, o.n, path, WHOLE, &dmg, msg, sizeof msg);
        assert_false(dmg);
        assert_int_equal(compare(&o, o.n, path, MAPPED, &dmg, msg, sizeof msg), want);
        assert_int_equal(compare(&o, o.n, path, MAPPED_BATCH, &dmg, msg, sizeof msg), want);
        grown_at = (8u << 20) + rnd() % (1u << 20);
        assert_int_equal(compare(&o, o.n, path, GROWN, &dmg, msg, sizeof msg), want);
        assert_false(dmg);
        unlink(path);
        free(path);
        size_t cut = o.n - 1; /* inside the last record */
        path = save(&o, cut);
        long short_by_map = compare(&o, cut, path, MAPPED, &dmg, msg, sizeof msg);
        assert_true(dmg);
        char by_map[256];
        snprintf(by_map, sizeof by_map, "%s", msg);
        assert_int_equal(compare(&o, cut, path, WHOLE, &dmg, msg, sizeof msg), short_by_map);
        assert_true(dmg);
        assert_string_equal(by_map, msg); /* the same byte named */
        unlink(path);
        free(path);
        free(o.b);
    }
}

/* The file source twice on one path (two aggregator shards do that): each
 * instance reads every record itself; the messages name the file. */
static void file_source_twice(void **state)
{
    (void)state;
    struct out o = {0};
    gen_pcap(&o, false, 0, 1, 2000);
    char *path = save(&o, o.n - 5); /* the last record cut short */
    struct pkt_source a, b;
    assert_int_equal(pkt_source_open(&a, "file", path), 0);
    assert_int_equal(pkt_source_open(&b, "file", path), 0);
    assert_int_equal(a.ops->dlt(a.st), 1);
    struct pcapf_rec ra[PKT_SOURCE_BATCH], rb[PKT_SOURCE_BATCH];
    long na = 0, nb = 0;
    int ka = 0, kb = 0;
    for (;;) {
        ka = pkt_source_next(&a, ra, 100);
        kb = pkt_source_next(&b, rb, PKT_SOURCE_BATCH);
        if (ka > 0) na += ka;
        if (kb > 0) nb += kb;
        if (ka <= 0 && kb <= 0) break;
    }
    while ((ka = pkt_source_next(&a, ra, 100)) > 0) /* a asks in smaller batches */
        na += ka;
    assert_int_equal(na, 1999);
    assert_int_equal(nb, 1999);
    assert_true(ka < 0 && kb < 0);
    assert_non_null(strstr(err_msg(), "damaged capture after 1999 complete records"));
    double done = a.ops->progress(a.st); /* up to the cut record */
    assert_true(done > 0.5 && done < 1);
    pkt_source_close(&a);
    pkt_source_close(&b);
    assert_true(pkt_source_open(&a, "carrier-pigeon", path) < 0);
    assert_non_null(pkt_source_find("live"));
    unlink(path);
    assert_true(pkt_source_open(&a, "file", path) < 0);
    assert_non_null(strstr(err_msg(), path));
    free(path);
    free(o.b);
}

/* A mapped file truncated under its readers (copytruncate): no SIGBUS death;
 * each reader, one in its own thread, delivers exactly the records that lie
 * wholly before the new end, each equal to libpcap's from an uncut copy, then
 * fails naming the file and the new size, and keeps failing.  One reader asks
 * for 64 records at a time, the other for one. */
struct shrunk {
    struct pcapf *f;
    pcap_t *p;   /* libpcap on the uncut copy, at the same record */
    size_t half; /* the size the file is cut to */
    int batch;   /* records asked for at a time */
    long got;    /* records delivered, all of them */
    int rc;      /* the call that ended the reading */
};

static void *read_shrunk(void *arg)
{
    struct shrunk *s = arg;
    struct pcapf_rec r[64];
    for (int k = 0; k < 1000000; k++) {
        s->rc = pcapf_next_batch(s->f, r, s->batch);
        if (s->rc <= 0) break;
        if (pcapf_offset(s->f) > s->half) s->rc = -9999; /* a record past the new end */
        for (int i = 0; i < s->rc; i++) {
            struct pcap_pkthdr *h;
            const u_char *d;
            if (pcap_next_ex(s->p, &h, &d) != 1 || h->caplen != r[i].caplen ||
                h->len != r[i].wirelen || memcmp(d, r[i].data, h->caplen) != 0)
                s->rc = -9998; /* not libpcap's record at this index */
        }
        if (s->rc < 0) break;
        s->got += s->rc;
    }
    return NULL;
}

static void shrunk_file(void **state)
{
    (void)state;
    struct out o = {0};
    gen_pcap(&o, false, 0, 1, 18000);
    assert_true(o.n > 16u << 20);
    char *path = save(&o, o.n), *copy = save(&o, o.n), eb[PCAP_ERRBUF_SIZE], msg[512];
    /* cut one byte short of the end of the record around the middle: the
     * rest of that record shares the page of the new end, which reads as
     * zeros there without a fault */
    size_t half = 0, at = 24;
    long want = 0; /* records wholly before half, from the bytes written */
    while (at < o.n / 2) {
        uint32_t caplen;
        memcpy(&caplen, o.b + at + 8, 4);
        at += 16 + caplen;
        want++;
    }
    half = at - 1;
    want--;
    struct shrunk s[2];
    for (int i = 0; i < 2; i++) {
        s[i] = (struct shrunk){.f = pcapf_open(path), .half = half, .batch = i ? 1 : 64};
        assert_non_null(s[i].f);
        s[i].p = pcap_open_offline_with_tstamp_precision(copy, PCAP_TSTAMP_PRECISION_MICRO, eb);
        assert_non_null(s[i].p);
        struct pcapf_rec r[64];
        while (pcapf_offset(s[i].f) < (i ? 4u : 6u) << 20) { /* the first records, whole */
            int n = pcapf_next_batch(s[i].f, r, 64);
            assert_true(n > 0);
            for (int k = 0; k < n; k++) {
                struct pcap_pkthdr *h;
                const u_char *d;
                assert_int_equal(pcap_next_ex(s[i].p, &h, &d), 1);
                assert_int_equal(h->caplen, r[k].caplen);
                assert_memory_equal(d, r[k].data, h->caplen);
            }
            s[i].got += n;
        }
    }
    assert_true(mapped(path));
    assert_int_equal(truncate(path, (off_t)half), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_shrunk, &s[1]), 0);
    read_shrunk(&s[0]);
    assert_int_equal(pthread_join(t, NULL), 0);
    snprintf(msg, sizeof msg, "%s: file shrank to %zu bytes while being read", path, half);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s[i].rc, -ESTALE);
        assert_int_equal(s[i].got, want);
        struct pcapf_rec r;
        assert_int_equal(pcapf_next(s[i].f, &r), -ESTALE); /* and it stays failed */
        assert_non_null(strstr(err_msg(), msg));
        pcapf_free(s[i].f);
        pcap_close(s[i].p);
    }
    unlink(path);
    unlink(copy);
    free(path);
    free(copy);
    free(o.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pcap_layouts),   cmocka_unit_test(pcap_snapshot_cut),
        cmocka_unit_test(pcapng_layouts), cmocka_unit_test(damaged),
        cmocka_unit_test(not_captures),   cmocka_unit_test(file_source_twice),
        cmocka_unit_test(mapped_files),   cmocka_unit_test(shrunk_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
