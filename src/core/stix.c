/* stix — STIX 2.1 identifiers, RFC 8785 canonical JSON and timestamps (see stix.h).
 *
 * Canonical JSON (JCS): strings keep every character as UTF-8 and escape only
 * '"', '\\' and C0 controls (the short forms where JSON has them, else
 * \u00xx lower-case); numbers print as ECMAScript's Number.prototype.toString
 * does (shortest digits that read back to the same double, found by trying
 * precisions 1..17, which is simple and correct if not the fastest way);
 * object keys sort by UTF-16 code units, which differs from UTF-8 byte order
 * only between supplementary characters and U+E000..U+FFFF.  Integers beyond
 * 2^53 go through a double, as a JavaScript reader would see them.
 *
 * SCO ids follow §2.9: the id-contributing properties the object has, hashes
 * cut down to the one preferred (MD5, SHA-1, SHA-256, SHA-512, else the
 * smallest key), as canonical JSON, UUIDv5 in the STIX namespace.
 * Timestamps print in milliseconds (truncated) and parse exactly the STIX
 * timestamp form (RFC 3339 with "Z"), any fraction cut to microseconds. */
#include "stix.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* --- UUIDs ---------------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* 8-4-4-4-12 hex digits (any version/variant) into 16 bytes. */
static int uuid_parse(const char *s, uint8_t out[16])
{
    if (strlen(s) != 36) return -EINVAL;
    int k = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return -EINVAL;
            continue;
        }
        int h = hexval((unsigned char)s[i]), l = hexval((unsigned char)s[i + 1]);
        if (h < 0 || l < 0) return -EINVAL;
        out[k++] = (uint8_t)(h << 4 | l);
        i++;
    }
    return 0;
}

static void uuid_format(const uint8_t u[16], char *out)
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hex[u[i] >> 4];
        *p++ = hex[u[i] & 15];
    }
    *p = 0;
}

int stix_uuid5(const char *ns, const void *name, size_t n, char *out)
{
    uint8_t nsb[16], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    out[0] = 0;
    if (!ns || uuid_parse(ns, nsb)) return -EINVAL;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) && EVP_DigestUpdate(c, nsb, 16) &&
             EVP_DigestUpdate(c, name, n) && EVP_DigestFinal_ex(c, md, &mdlen);
    EVP_MD_CTX_free(c);
    if (!ok || mdlen < 16) return -EIO;
    md[6] = (uint8_t)((md[6] & 0x0f) | 0x50);
    md[8] = (uint8_t)((md[8] & 0x3f) | 0x80);
    uuid_format(md, out);
    return 0;
}

void stix_uuid4(char *out)
{
    uint8_t u[16];
    if (RAND_bytes(u, sizeof u) != 1) {
        size_t got = 0;
        while (got < sizeof u) {
            ssize_t r = getrandom(u + got, sizeof u - got, 0);
            if (r > 0)
                got += (size_t)r;
            else if (errno != EINTR)
                abort(); /* no entropy at all: nothing safe to return */
        }
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    uuid_format(u, out);
}

/* --- canonical JSON --------------------------------------------------------- */

struct buf {
    char *p;
    size_t n, cap;
    bool bad;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->bad) return;
    if (b->cap - b->n <= n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n <= n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->bad = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_string(struct buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    size_t run = 0; /* bytes copied through as they are */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (!esc) continue;
        put(b, s + run, i - run);
        puts_(b, esc);
        run = i + 1;
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

/* ECMAScript Number::toString for a finite double. */
static void put_number(struct buf *b, double d)
{
    char tmp[40], digits[24], out[48];
    if (d == 0) {
        put(b, "0", 1);
        return;
    }
    int prec;
    for (prec = 0; prec < 17; prec++) { /* %.*e gives prec + 1 significant digits */
        snprintf(tmp, sizeof tmp, "%.*e", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    /* tmp: [-]d[.ddd]e[+-]xx */
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg) p++;
    int k = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = 0;
    int n = atoi(p + 1) + 1; /* value = 0.digits * 10^n */
    char *o = out;
    if (neg) *o++ = '-';
    if (k <= n && n <= 21) {
        memcpy(o, digits, (size_t)k);
        o += k;
        for (int i = 0; i < n - k; i++)
            *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, digits, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++)
            *o++ = '0';
        memcpy(o, digits, (size_t)k);
        o += k;
    } else {
        *o++ = digits[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += sprintf(o, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    put(b, out, (size_t)(o - out));
}

/* One key as UTF-16 code units, for sorting. */
struct key16 {
    const char *key;
    size_t len, n16;
    uint16_t *u;
    json_t *value;
};

static int utf16_of(struct key16 *k)
{
    k->u = malloc((k->len + 1) * sizeof *k->u);
    if (!k->u) return -ENOMEM;
    const unsigned char *s = (const unsigned char *)k->key;
    size_t i = 0, n = 0;
    while (i < k->len) {
        uint32_t cp = s[i];
        int extra = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
        if (extra) cp &= 0x3fu >> extra;
        i++;
        for (int j = 0; j < extra && i < k->len; j++, i++)
            cp = cp << 6 | (s[i] & 0x3f);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            k->u[n++] = (uint16_t)(0xd800 + (cp >> 10));
            k->u[n++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
        } else {
            k->u[n++] = (uint16_t)cp;
        }
    }
    k->n16 = n;
    return 0;
}

static int key16_cmp(const void *a, const void *b)
{
    const struct key16 *x = a, *y = b;
    size_t n = x->n16 < y->n16 ? x->n16 : y->n16;
    for (size_t i = 0; i < n; i++)
        if (x->u[i] != y->u[i]) return x->u[i] < y->u[i] ? -1 : 1;
    return x->n16 < y->n16 ? -1 : x->n16 > y->n16;
}

static void put_value(struct buf *b, const json_t *v, int depth);

static void put_object(struct buf *b, const json_t *v, int depth)
{
    size_t n = json_object_size(v), i = 0;
    struct key16 *keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys) {
        b->bad = true;
        return;
    }
    const char *key;
    size_t len;
    json_t *val;
    json_object_keylen_foreach((json_t *)v, key, len, val)
    {
        if (i == n) break;
        keys[i] = (struct key16){.key = key, .len = len, .value = val};
        if (utf16_of(&keys[i++])) b->bad = true;
    }
    if (!b->bad) qsort(keys, i, sizeof *keys, key16_cmp);
    put(b, "{", 1);
    for (size_t j = 0; j < i && !b->bad; j++) {
        if (j) put(b, ",", 1);
        put_string(b, keys[j].key, keys[j].len);
        put(b, ":", 1);
        put_value(b, keys[j].value, depth + 1);
    }
    put(b, "}", 1);
    for (size_t j = 0; j < i; j++)
        free(keys[j].u);
    free(keys);
}

static void put_value(struct buf *b, const json_t *v, int depth)
{
    if (b->bad) return;
    if (depth > 512) { /* deeper than any STIX object; bounds the recursion */
        b->bad = true;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_object(b, v, depth);
        break;
    case JSON_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) put(b, ",", 1);
            put_value(b, json_array_get(v, i), depth + 1);
        }
        put(b, "]", 1);
        break;
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i >= -(1LL << 53) && i <= (1LL << 53)) {
            char t[24];
            put(b, t, (size_t)snprintf(t, sizeof t, "%lld", (long long)i));
        } else {
            put_number(b, (double)i);
        }
        break;
    }
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d))
            b->bad = true;
        else
            put_number(b, d);
        break;
    }
    case JSON_TRUE:
        puts_(b, "true");
        break;
    case JSON_FALSE:
        puts_(b, "false");
        break;
    case JSON_NULL:
        puts_(b, "null");
        break;
    }
}

char *stix_canonical(const json_t *v)
{
    if (!v) return NULL;
    struct buf b = {0};
    put_value(&b, v, 0);
    if (!b.bad && !b.p) put(&b, "", 0);
    if (b.bad) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* --- SCO ids ------------------------------------------------------------------ */

/* §6's "ID Contributing Properties" of each SCO; process has none (UUIDv4). */
static const struct {
    const char *type, *props[9];
} sco_props[] = {
    {"artifact", {"hashes", "payload_bin"}},
    {"autonomous-system", {"number"}},
    {"directory", {"path"}},
    {"domain-name", {"value"}},
    {"email-addr", {"value"}},
    {"email-message", {"from_ref", "subject", "body"}},
    {"file", {"hashes", "name", "extensions", "parent_directory_ref"}},
    {"ipv4-addr", {"value"}},
    {"ipv6-addr", {"value"}},
    {"mac-addr", {"value"}},
    {"mutex", {"name"}},
    {"network-traffic",
     {"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"}},
    {"software", {"name", "cpe", "swid", "vendor", "version"}},
    {"url", {"value"}},
    {"user-account", {"account_type", "user_id", "account_login"}},
    {"windows-registry-key", {"key", "values"}},
    {"x509-certificate", {"hashes", "serial_number"}},
};

/* The one hash §2.9 keeps, as a new one-entry object (NULL: none). */
static json_t *one_hash(const json_t *hashes)
{
    static const char *const pref[] = {"MD5", "SHA-1", "SHA-256", "SHA-512"};
    if (!json_is_object(hashes) || !json_object_size(hashes)) return NULL;
    const char *pick = NULL;
    for (size_t i = 0; i < sizeof pref / sizeof pref[0] && !pick; i++)
        if (json_object_get(hashes, pref[i])) pick = pref[i];
    if (!pick) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)hashes, k, v) if (!pick || strcmp(k, pick) < 0) pick = k;
    }
    json_t *o = json_object();
    if (o && json_object_set(o, pick, json_object_get(hashes, pick))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int stix_sco_id(const json_t *obj, char *out)
{
    out[0] = 0;
    const char *type = json_string_value(json_object_get(obj, "type"));
    if (!type) return -EINVAL;
    size_t t;
    for (t = 0; t < sizeof sco_props / sizeof sco_props[0]; t++)
        if (!strcmp(sco_props[t].type, type)) break;
    if (t == sizeof sco_props / sizeof sco_props[0]) return -EINVAL;
    json_t *c = json_object();
    if (!c) return -ENOMEM;
    for (int i = 0; sco_props[t].props[i]; i++) {
        const char *p = sco_props[t].props[i];
        json_t *v = json_object_get(obj, p);
        if (!v || json_is_null(v)) continue;
        json_t *h = !strcmp(p, "hashes") ? one_hash(v) : json_incref(v);
        if (h) json_object_set_new(c, p, h);
    }
    int e = -EINVAL;
    char *canon = json_object_size(c) ? stix_canonical(c) : NULL;
    char uuid[37];
    if (canon && strlen(type) + 2 + 36 < STIX_ID_MAX) {
        e = stix_uuid5(STIX_SCO_NAMESPACE, canon, strlen(canon), uuid);
        if (!e) snprintf(out, STIX_ID_MAX, "%s--%s", type, uuid);
    }
    free(canon);
    json_decref(c);
    return e;
}

/* --- timestamps --------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

#define US_PER_DAY 86400000000LL

const char *stix_time(int64_t us, char *out)
{
    /* Years 0000..9999 are what the timestamp form can hold. */
    const int64_t lo = days_from_civil(0, 1, 1) * US_PER_DAY;
    const int64_t hi = days_from_civil(10000, 1, 1) * US_PER_DAY - 1;
    if (us < lo) us = lo;
    if (us > hi) us = hi;
    int64_t days = us >= 0 ? us / US_PER_DAY : -((-us + US_PER_DAY - 1) / US_PER_DAY);
    int64_t rem = us - days * US_PER_DAY; /* [0, one day) */
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t ms = rem / 1000;
    snprintf(out, 25, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m, d, (int)(ms / 3600000),
             (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
    return out;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int stix_time_parse(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, se;
    *us = 0;
    if (!s || strnlen(s, 20) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return -EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || se > 60)
        return -EINVAL;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return -EINVAL;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 6) frac = frac * 10 + (*p - '0');
        for (; n < 6; n++)
            frac *= 10;
    }
    if (p[0] != 'Z' || p[1]) return -EINVAL;
    /* A leap second (:60) reads as the next minute's first second. */
    int64_t sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    *us = sec * 1000000 + frac;
    return 0;
}

/* --- ids ------------------------------------------------------------------------ */

bool stix_id_valid(const char *id, const char *type)
{
    if (!id) return false;
    size_t n = strnlen(id, 300);
    if (n < 3 + 2 + 36 || n > 250 + 2 + 36) return false;
    size_t tl = n - 38;
    if (id[tl] != '-' || id[tl + 1] != '-') return false;
    /* The identifier schema's type part: [a-z][a-z0-9-]+[a-z0-9]. */
    if (id[0] < 'a' || id[0] > 'z') return false;
    for (size_t i = 1; i < tl; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (id[tl - 1] == '-') return false;
    if (type && (strlen(type) != tl || memcmp(id, type, tl))) return false;
    const char *u = id + tl + 2;
    uint8_t b[16];
    if (uuid_parse(u, b)) return false;
    return u[14] >= '1' && u[14] <= '5' && strchr("89abAB", u[19]) && u[19];
}
