/* persona — persona data files (see persona.h). */
#include "persona.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PERSONA_MAX_FILE (256 * 1024)
#define PERSONA_MAX_ITEMS 4096

const char *const persona_builtin[] = {"dvr-armv7", "router-mips", "camera-arm", NULL};

/* e_ident class/data, e_machine and e_flags of each architecture name. */
static const struct arch {
    const char *name;
    uint8_t cls, data;
    uint16_t machine;
    uint32_t flags;
} arches[] = {
    {"arm", 1, 1, 40, 0x05000002}, {"armeb", 1, 2, 40, 0x05000002},
    {"mips", 1, 2, 8, 0x70001007}, {"mipsel", 1, 1, 8, 0x70001007},
    {"x86", 1, 1, 3, 0},           {"x86_64", 2, 1, 62, 0},
    {"powerpc", 1, 2, 20, 0},      {"sh4", 1, 1, 42, 0x9},
    {"m68k", 1, 2, 4, 0},          {"sparc", 1, 2, 2, 0},
    {"aarch64", 2, 1, 183, 0},
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct persona_file *)a)->path, ((const struct persona_file *)b)->path);
}

/* qsort that takes an empty (possibly NULL) list: qsort's array is declared nonnull. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1) qsort(base, n, size, cmp);
}

static void put16(uint8_t *p, uint16_t v, bool be)
{
    p[be ? 0 : 1] = (uint8_t)(v >> 8);
    p[be ? 1 : 0] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v, bool be)
{
    for (int i = 0; i < 4; i++)
        p[be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v, bool be)
{
    for (int i = 0; i < 8; i++)
        p[be ? 7 - i : i] = (uint8_t)(v >> (8 * i));
}

/* A stripped static executable as `file` would describe it: ELF header, two
 * PT_LOAD program headers and a GNU_STACK, then deterministic filler. */
static uint8_t *make_elf(const struct arch *a, size_t size, const char *seed)
{
    uint8_t *e = calloc(1, size);
    if (!e) return NULL;
    bool be = a->data == 2, is64 = a->cls == 2;
    uint32_t state = 2166136261u;
    for (const char *s = seed; *s; s++)
        state = (state ^ (uint8_t)*s) * 16777619u;
    for (size_t i = 0; i < size; i++) {
        state ^= state << 13, state ^= state >> 17, state ^= state << 5;
        e[i] = (uint8_t)state;
    }
    size_t eh = is64 ? 64 : 52, ph = is64 ? 56 : 32;
    memset(e, 0, eh + 3 * ph);
    memcpy(e, "\177ELF", 4);
    e[4] = a->cls, e[5] = a->data, e[6] = 1; /* EV_CURRENT, ELFOSABI_NONE */
    put16(e + 16, 2, be);                    /* ET_EXEC */
    put16(e + 18, a->machine, be);
    put32(e + 20, 1, be);
    uint64_t base = a->machine == 8 ? 0x400000 : a->machine == 40 ? 0x8000 : 0x8048000;
    if (is64) {
        put64(e + 24, base + eh + 3 * ph, be);
        put64(e + 32, eh, be);
        put32(e + 48, a->flags, be);
        put16(e + 52, (uint16_t)eh, be), put16(e + 54, (uint16_t)ph, be), put16(e + 56, 3, be);
        put16(e + 58, 64, be);
    } else {
        put32(e + 24, (uint32_t)(base + eh + 3 * ph), be);
        put32(e + 28, (uint32_t)eh, be);
        put32(e + 36, a->flags, be);
        put16(e + 40, (uint16_t)eh, be), put16(e + 42, (uint16_t)ph, be), put16(e + 44, 3, be);
        put16(e + 46, 40, be);
    }
    for (int i = 0; i < 3; i++) {
        uint8_t *p = e + eh + (size_t)i * ph;
        uint32_t type = i < 2 ? 1 : 0x6474e551, flags = i == 0 ? 5 : 6;
        uint64_t off = i == 0 ? 0 : i == 1 ? size / 2 : 0, len = i == 2 ? 0 : size / 2;
        uint64_t va = i == 2 ? 0 : base + off + (i == 1 ? 0x10000 : 0);
        put32(p, type, be);
        if (is64) {
            put32(p + 4, flags, be), put64(p + 8, off, be), put64(p + 16, va, be);
            put64(p + 24, va, be), put64(p + 32, len, be), put64(p + 40, len, be);
            put64(p + 48, i == 2 ? 16 : 0x10000, be);
        } else {
            put32(p + 4, (uint32_t)off, be), put32(p + 8, (uint32_t)va, be);
            put32(p + 12, (uint32_t)va, be), put32(p + 16, (uint32_t)len, be);
            put32(p + 20, (uint32_t)len, be), put32(p + 24, flags, be);
            put32(p + 28, i == 2 ? 4 : 0x10000, be);
        }
    }
    return e;
}

/* Decodes a double-quoted value with C escapes into a new string. */
static char *unquote(const char *s, size_t n, bool *ok)
{
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    *ok = n >= 2 && s[n - 1] == '"';
    for (size_t i = 1; *ok && i + 1 < n; i++) {
        if (s[i] != '\\') {
            *o++ = s[i];
            continue;
        }
        if (++i + 1 >= n) {
            *ok = false;
            break;
        }
        switch (s[i]) {
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'e':
            *o++ = 27;
            break;
        case 'x':
            if (i + 3 < n && isxdigit((unsigned char)s[i + 1]) &&
                isxdigit((unsigned char)s[i + 2])) {
                char h[3] = {s[i + 1], s[i + 2], 0};
                *o++ = (char)strtol(h, NULL, 16);
                i += 2;
            } else {
                *ok = false;
            }
            break;
        default:
            *o++ = s[i];
        }
    }
    *o = 0;
    return out;
}

static bool push(char ***arr, size_t *n, char *s)
{
    if (*n >= PERSONA_MAX_ITEMS) return false;
    char **a = realloc(*arr, (*n + 1) * sizeof *a);
    if (!a) return false;
    *arr = a;
    a[(*n)++] = s;
    return true;
}

static bool add_dir(struct persona *p, const char *path)
{
    for (size_t i = 0; i < p->n_dirs; i++)
        if (!strcmp(p->dirs[i], path)) return true;
    char *d = strdup(path);
    if (!d || !push(&p->dirs, &p->n_dirs, d)) {
        free(d);
        return false;
    }
    return true;
}

static bool add_parents(struct persona *p, const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *s = strrchr(tmp, '/'); s; s = strrchr(tmp, '/')) {
        *s = 0;
        if (!add_dir(p, *tmp ? tmp : "/")) return false;
        if (!*tmp) break;
    }
    return true;
}

static bool add_file(struct persona *p, const char *path, uint8_t *data, size_t len)
{
    if (p->n_files >= PERSONA_MAX_ITEMS) return false;
    struct persona_file *f = realloc(p->files, (p->n_files + 1) * sizeof *f);
    if (!f) return false;
    p->files = f;
    f[p->n_files].path = strdup(path);
    f[p->n_files].data = data;
    f[p->n_files].len = len;
    if (!f[p->n_files].path) return false;
    p->n_files++;
    return add_parents(p, path);
}

static char **field(struct persona *p, const char *key)
{
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
#define K(k) {#k, offsetof(struct persona, k)}
        K(name),         K(description),     K(hostname), K(arch),    K(banner),
        K(login_prompt), K(password_prompt), K(prompt),   K(motd),    K(busybox),
        K(uname_s),      K(uname_r),         K(uname_v),  K(uname_m), K(ps),
#undef K
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].key, key)) return (char **)((char *)p + keys[i].off);
    return NULL;
}

/* Reads the rest of a here-document starting at *pos; returns its text. */
static char *heredoc(const char *text, size_t len, size_t *pos, const char *end, int *line)
{
    size_t start = *pos, elen = strlen(end);
    while (*pos < len) {
        const char *l = text + *pos, *nl = memchr(l, '\n', len - *pos);
        size_t ll = nl ? (size_t)(nl - l) : len - *pos;
        (*line)++;
        if (ll == elen && !memcmp(l, end, elen)) {
            char *out = strndup(text + start, (size_t)(l - text - start));
            *pos += ll + (nl ? 1 : 0);
            return out;
        }
        *pos += ll + (nl ? 1 : 0);
    }
    return NULL;
}

static int parse_lines(struct persona *p, const char *text, size_t len, const char *name)
{
    size_t pos = 0, ll;
    int line = 0;
    const char *l;
    while (text_line(text, len, &pos, &line, &l, &ll)) {
        if (!ll || l[0] == '#') continue;
        const char *colon = memchr(l, ':', ll);
        if (!colon) return err_set(-EINVAL, "%s:%d: expected 'key: value'", name, line);
        char key[600];
        size_t kl = (size_t)(colon - l);
        if (kl >= sizeof key) return err_set(-EINVAL, "%s:%d: key too long", name, line);
        memcpy(key, l, kl);
        key[kl] = 0;
        const char *v = colon + 1;
        while (v < l + ll && (*v == ' ' || *v == '\t'))
            v++;
        size_t vl = (size_t)(l + ll - v);
        char *val;
        int at = line;
        if (vl > 2 && !memcmp(v, "<<", 2)) {
            char end[64];
            snprintf(end, sizeof end, "%.*s", (int)(vl - 2), v + 2);
            if (!(val = heredoc(text, len, &pos, end, &line)))
                return err_set(-EINVAL, "%s:%d: here-document has no %s line", name, at, end);
        } else if (vl && *v == '"') {
            bool ok;
            if (!(val = unquote(v, vl, &ok))) return err_set(-ENOMEM, "out of memory");
            if (!ok) {
                free(val);
                return err_set(-EINVAL, "%s:%d: bad quoted string", name, at);
            }
        } else {
            /* indented lines continue a plain value */
            size_t end = pos;
            while (end < len && (text[end] == ' ' || text[end] == '\t')) {
                const char *e = memchr(text + end, '\n', len - end);
                end = e ? (size_t)(e - text) + 1 : len;
                line++;
            }
            val = malloc(vl + (end - pos) + 1);
            if (val) {
                memcpy(val, v, vl);
                memcpy(val + vl, text + pos, end - pos);
                val[vl + end - pos] = 0;
                for (char *c = val; *c; c++)
                    if (*c == '\n') *c = ' ';
            }
            pos = end;
        }
        if (!val) return err_set(-ENOMEM, "out of memory");
        int rc = 0;
        char **f;
        if (!strncmp(key, "file ", 5)) {
            const char *path = key + 5;
            if (*path != '/' || strlen(path) > 255)
                rc = err_set(-EINVAL, "%s:%d: file path must be absolute", name, at);
            else if (persona_file(p, path))
                rc = err_set(-EINVAL, "%s:%d: %s given twice", name, at, path);
            else if (!add_file(p, path, (uint8_t *)val, strlen(val)))
                rc = err_set(-ENOMEM, "%s:%d: too many files", name, at);
            else
                val = NULL;
            /* keep lookups valid while parsing */
            sort(p->files, p->n_files, sizeof *p->files, cmp_file);
        } else if (!strcmp(key, "applets") || !strcmp(key, "dirs") || !strcmp(key, "programs")) {
            bool applets = key[0] != 'd';
            char ***list = key[0] == 'p' ? &p->programs : &p->applets;
            size_t *count = key[0] == 'p' ? &p->n_programs : &p->n_applets;
            for (char *save, *t = strtok_r(val, " \t\n", &save); t && !rc;
                 t = strtok_r(NULL, " \t\n", &save)) {
                if (!applets && *t != '/')
                    rc = err_set(-EINVAL, "%s:%d: directory %s is not absolute", name, at, t);
                else if (applets ? !push(list, count, strdup(t))
                                 : !(add_dir(p, t) && add_parents(p, t)))
                    rc = err_set(-ENOMEM, "%s:%d: too many entries", name, at);
            }
        } else if ((f = field(p, key))) {
            if (*f)
                rc = err_set(-EINVAL, "%s:%d: %s given twice", name, at, key);
            else
                *f = val, val = NULL;
        } else {
            rc = err_set(-EINVAL, "%s:%d: unknown key '%s'", name, at, key);
        }
        free(val);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Mount points of rw mounts in /proc/mounts ("dev mnt type opts ..."). */
static int find_rw(struct persona *p)
{
    const struct persona_file *m = persona_file(p, "/proc/mounts");
    if (!m) return err_set(-EINVAL, "%s: needs a /proc/mounts file", p->name);
    char *copy = strndup((const char *)m->data, m->len);
    if (!copy) return -ENOMEM;
    for (char *save, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char mnt[256], opts[256];
        if (sscanf(l, "%*255s %255s %*255s %255s", mnt, opts) != 2) continue;
        bool rw = !strncmp(opts, "rw", 2) && (opts[2] == 0 || opts[2] == ',');
        /* a later mount over the same point hides the earlier one (rootfs) */
        for (size_t i = 0; i < p->n_rw; i++)
            if (!strcmp(p->rw[i], mnt)) {
                free(p->rw[i]);
                p->rw[i] = p->rw[--p->n_rw];
                break;
            }
        if (rw && strcmp(mnt, "/proc") && strcmp(mnt, "/sys")) {
            char *d = strdup(mnt);
            if (!d || !push(&p->rw, &p->n_rw, d) || !add_dir(p, mnt)) {
                free(d);
                free(copy);
                return -ENOMEM;
            }
        }
    }
    free(copy);
    return 0;
}

struct persona *persona_parse(const char *text, size_t len, const char *name)
{
    struct persona *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    if (parse_lines(p, text, len, name) < 0) goto fail;
    static const char *const need[] = {"name",   "hostname", "arch",    "login_prompt",
                                       "prompt", "busybox",  "uname_r", "uname_m"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!*field(p, need[i])) {
            err_set(-EINVAL, "%s: missing '%s'", name, need[i]);
            goto fail;
        }
    char **opt[] = {&p->description, &p->banner, &p->password_prompt, &p->motd, &p->uname_s,
                    &p->uname_v,     &p->ps};
    const char *def[] = {"", "", "Password: ", "", "Linux", "#1 SMP", ""};
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++)
        if (!*opt[i] && !(*opt[i] = strdup(def[i]))) goto fail;
    const struct arch *a = NULL;
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (!strcmp(arches[i].name, p->arch)) a = &arches[i];
    if (!a) {
        err_set(-EINVAL, "%s: unknown arch '%s'", name, p->arch);
        goto fail;
    }
    sort(p->applets, p->n_applets, sizeof *p->applets, cmp_str);
    if (!persona_has_applet(p, "sh")) {
        if (!push(&p->applets, &p->n_applets, strdup("sh"))) goto fail;
        sort(p->applets, p->n_applets, sizeof *p->applets, cmp_str);
    }
    size_t elf_len = 4096;
    uint8_t *elf = make_elf(a, elf_len, p->name);
    if (!elf || !add_file(p, "/bin/busybox", elf, elf_len)) {
        free(elf);
        err_set(-ENOMEM, "out of memory");
        goto fail;
    }
    if (find_rw(p) < 0) goto fail;
    static const char *const std_dirs[] = {"/bin", "/sbin", "/usr/bin", "/usr/sbin",
                                           "/dev", "/proc", "/tmp",     "/root"};
    for (size_t i = 0; i < sizeof std_dirs / sizeof std_dirs[0]; i++)
        if (!add_dir(p, std_dirs[i]) || !add_parents(p, std_dirs[i])) goto fail;
    sort(p->files, p->n_files, sizeof *p->files, cmp_file);
    sort(p->dirs, p->n_dirs, sizeof *p->dirs, cmp_str);
    p->elf = persona_file(p, "/bin/busybox")->data;
    p->elf_len = elf_len;
    return p;
fail:
    persona_free(p);
    return NULL;
}

struct persona *persona_load(const char *name_or_path)
{
    char path[4096];
    size_t len = 0;
    if (strchr(name_or_path, '/')) {
        snprintf(path, sizeof path, "%s", name_or_path);
    } else {
        char rel[300];
        snprintf(rel, sizeof rel, "personas/%s.persona", name_or_path);
        if (!cli_data_file(rel, path, sizeof path)) {
            err_set(-ENOENT,
                    "persona '%s' not found (bundled: dvr-armv7, router-mips, camera-arm; "
                    "no data directory has it: set MAMORI_DATA)",
                    name_or_path);
            return NULL;
        }
    }
    char *text = text_load(path, PERSONA_MAX_FILE, &len);
    if (!text) return NULL;
    struct persona *p = persona_parse(text, len, path);
    free(text);
    return p;
}

static void free_list(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

void persona_free(struct persona *p)
{
    if (!p) return;
    char **fields[] = {
        &p->name,         &p->description,     &p->hostname, &p->arch,    &p->banner,
        &p->login_prompt, &p->password_prompt, &p->prompt,   &p->motd,    &p->busybox,
        &p->uname_s,      &p->uname_r,         &p->uname_v,  &p->uname_m, &p->ps};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        free(*fields[i]);
    free_list(p->applets, p->n_applets);
    free_list(p->programs, p->n_programs);
    free_list(p->dirs, p->n_dirs);
    free_list(p->rw, p->n_rw);
    for (size_t i = 0; i < p->n_files; i++) {
        free(p->files[i].path);
        free(p->files[i].data);
    }
    free(p->files);
    free(p);
}

/* Binary search in a sorted list of names: the shell asks on every lookup. */
static bool in_sorted(char *const *a, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(a[mid], name);
        if (!c) return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool persona_has_applet(const struct persona *p, const char *name)
{
    return in_sorted(p->applets, p->n_applets, name);
}

const struct persona_file *persona_file(const struct persona *p, const char *path)
{
    size_t lo = 0, hi = p->n_files;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(p->files[mid].path, path);
        if (!c) return &p->files[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* applets are links to busybox in /bin, /sbin, /usr/bin and /usr/sbin */
    const char *base = strrchr(path, '/');
    if (!base || !p->elf) return NULL;
    size_t dl = (size_t)(base - path);
    static const char *const bins[] = {"/bin", "/sbin", "/usr/bin", "/usr/sbin"};
    for (size_t i = 0; i < 4; i++)
        if (dl == strlen(bins[i]) && !strncmp(path, bins[i], dl) &&
            (persona_has_applet(p, base + 1) || (i == 2 && persona_has_program(p, base + 1))))
            return persona_file(p, "/bin/busybox");
    return NULL;
}

bool persona_has_program(const struct persona *p, const char *name)
{
    for (size_t i = 0; i < p->n_programs; i++)
        if (!strcmp(p->programs[i], name)) return true;
    return false;
}

bool persona_is_dir(const struct persona *p, const char *path)
{
    return in_sorted(p->dirs, p->n_dirs, path);
}

bool persona_writable(const struct persona *p, const char *path)
{
    for (size_t i = 0; i < p->n_rw; i++) {
        size_t n = strlen(p->rw[i]);
        if (!strcmp(p->rw[i], "/")) return true;
        if (!strncmp(path, p->rw[i], n) && (path[n] == '/' || path[n] == 0)) return true;
    }
    return false;
}
