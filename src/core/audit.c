/* audit — the audit log's one line per run (see audit.h). */
#include "audit.h"
#include "err.h"
#include "esc.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct out {
    char *p;
    size_t n, cap;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || o->n + n + 1 > o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = 0;
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(o, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string; at most max bytes of s (cut at a whole sequence, "..." added). */
static void put_str(struct out *o, const char *s, size_t max)
{
    if (!s) {
        put(o, "null", 4);
        return;
    }
    put(o, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), done = 0;
    while (done < len) {
        if (done >= max) {
            put(o, "...", 3);
            break;
        }
        uint32_t cp;
        size_t k = esc_utf8_seq(u + done, len - done, &cp);
        if (k == 0) {
            put(o, "\\ufffd", 6);
            done++;
        } else if (cp < 0x20 || cp == '"' || cp == '\\' || cp == 0x7f) {
            putf(o, cp == '"' ? "\\\"" : cp == '\\' ? "\\\\" : "\\u%04x", cp);
            done++;
        } else {
            put(o, s + done, k);
            done += k;
        }
    }
    put(o, "\"", 1);
}

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int audit_format(char *buf, size_t cap, const struct audit_rec *r, unsigned uid, const char *user,
                 const char *sudo_user)
{
    struct out o = {buf, 0, cap, cap == 0};
    int64_t ts = r->ts_us ? r->ts_us : now_us();
    time_t sec = (time_t)(ts / 1000000);
    struct tm tm;
    char iso[40];
    gmtime_r(&sec, &tm);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", &tm);
    putf(&o, "{\"ts\":\"%s.%06dZ\",\"ts_us\":%lld,\"tool\":", iso, (int)(ts % 1000000),
         (long long)ts);
    put_str(&o, r->tool, 64);
    putf(&o, ",\"uid\":%u,\"user\":", uid);
    put_str(&o, user, 256);
    put(&o, ",\"sudo_user\":", 13);
    put_str(&o, sudo_user, 256);
    putf(&o, ",\"pid\":%ld,\"round\":", (long)getpid());
    put_str(&o, r->round, 256);
    put(&o, ",\"targets\":", 11);
    put_str(&o, r->targets, AUDIT_LINE_MAX / 2);
    putf(&o, ",\"target_count\":%llu,\"ports\":", (unsigned long long)r->target_count);
    put_str(&o, r->ports, 1024);
    putf(&o, ",\"rate\":%llu,\"dict_size\":%llu,\"contact\":", (unsigned long long)r->rate,
         (unsigned long long)r->dict_size);
    put_str(&o, r->contact, 1024);
    put(&o, "}\n", 2);
    return o.full ? -ENOSPC : (int)o.n;
}

/* mkdir of path's parent directory when it is missing (one level, as var/). */
static void make_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return;
    char dir[4096];
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir) return;
    memcpy(dir, path, n);
    dir[n] = 0;
    mkdir(dir, 0750); /* an error shows at open */
}

int audit_append(const char *path, const struct audit_rec *r)
{
    if (!path) path = AUDIT_DEFAULT;
    char *buf = malloc(AUDIT_LINE_MAX);
    if (!buf) return err_set(-ENOMEM, "audit: out of memory");
    struct passwd pw, *res = NULL;
    char pwbuf[1024];
    uid_t uid = getuid();
    getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &res);
    int n = audit_format(buf, AUDIT_LINE_MAX, r, (unsigned)uid, res ? res->pw_name : NULL,
                         getenv("SUDO_USER"));
    if (n < 0) {
        free(buf);
        return err_set(-ENOSPC, "audit %s: line too long", path);
    }
    make_parent(path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    int rc = 0;
    if (fd < 0) {
        rc = err_set(-errno, "audit log %s: %s (the run is refused without it)", path,
                     strerror(errno));
    } else {
        ssize_t w = write(fd, buf, (size_t)n);
        if (w != n || fsync(fd) < 0)
            rc = err_set(w < 0 || w == n ? -errno : -EIO,
                         "audit log %s: %s (the run is refused without it)", path,
                         w < 0 || w == n ? strerror(errno) : "short write");
        if (close(fd) < 0 && rc == 0)
            rc = err_set(-errno, "audit log %s: %s (the run is refused without it)", path,
                         strerror(errno));
    }
    free(buf);
    return rc;
}
