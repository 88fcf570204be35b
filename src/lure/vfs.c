/* vfs — copy-on-write overlay over a persona (see vfs.h). */
#include "vfs.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VFS_LIST_MAX 1024

void vfs_init(struct vfs *v, const struct persona *p, struct vfs_limits *lim)
{
    memset(v, 0, sizeof *v);
    v->p = p;
    v->lim = lim;
}

void vfs_free(struct vfs *v)
{
    for (uint32_t i = 0; i < v->n; i++) {
        free(v->nodes[i].path);
        free(v->nodes[i].data);
    }
    if (v->lim) v->lim->used_total -= v->bytes;
    free(v->nodes);
    memset(v, 0, sizeof *v);
}

int vfs_resolve(const char *cwd, const char *path, char out[VFS_PATH_MAX])
{
    char tmp[2 * VFS_PATH_MAX + 2];
    int n = path[0] == '/' ? snprintf(tmp, sizeof tmp, "%s", path)
                           : snprintf(tmp, sizeof tmp, "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= sizeof tmp) return -ENAMETOOLONG;
    size_t o = 0;
    out[0] = 0;
    for (char *save, *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, ".")) continue;
        if (!strcmp(c, "..")) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0) o--;
            out[o] = 0;
            continue;
        }
        size_t cl = strlen(c);
        if (o + 1 + cl >= VFS_PATH_MAX) return -ENAMETOOLONG;
        out[o++] = '/';
        memcpy(out + o, c, cl);
        o += cl;
        out[o] = 0;
    }
    if (!o) strcpy(out, "/");
    return 0;
}

struct vfs_node *vfs_node(const struct vfs *v, const char *path)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (!strcmp(v->nodes[i].path, path)) return &v->nodes[i];
    return NULL;
}

/* True when path lies below dir. */
static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && path[n] == '/';
}

int vfs_stat(const struct vfs *v, const char *path, struct vfs_stat *st, const uint8_t **data)
{
    struct vfs_node *nd = vfs_node(v, path);
    if (nd) {
        if (nd->kind == VFS_NONE) return -ENOENT;
        *st = (struct vfs_stat){nd->kind, nd->len, nd->mode};
        if (data) *data = nd->data ? nd->data : (const uint8_t *)""; /* never NULL */
        return 0;
    }
    /* a deleted directory hides everything under it: one pass over the
     * overlay, not one per component (a deep path would cost depth x nodes
     * string compares per lookup, far more than the shell charges for it) */
    for (uint32_t i = 0; i < v->n; i++)
        if (v->nodes[i].kind == VFS_NONE && under(path, v->nodes[i].path)) return -ENOENT;
    const struct persona_file *f = persona_file(v->p, path);
    if (f) {
        bool exe =
            !strncmp(path, "/bin/", 5) || !strncmp(path, "/sbin/", 6) || !strncmp(path, "/usr/", 5);
        *st = (struct vfs_stat){VFS_FILE, f->len, exe ? 0755 : 0644};
        if (!strncmp(path, "/proc/", 6)) st->mode = 0444;
        if (data) *data = f->data;
        return 0;
    }
    if (persona_is_dir(v->p, path)) {
        *st = (struct vfs_stat){VFS_DIR, 0, 0755};
        return 0;
    }
    return -ENOENT;
}

static int parent_ok(const struct vfs *v, const char *path)
{
    char parent[VFS_PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *s = strrchr(parent, '/');
    if (!s) return -ENOENT;
    if (s == parent)
        s[1] = 0;
    else
        *s = 0;
    struct vfs_stat st;
    if (vfs_stat(v, parent, &st, NULL) < 0) return -ENOENT;
    return st.kind == VFS_DIR ? 0 : -ENOTDIR;
}

static struct vfs_node *new_node(struct vfs *v, const char *path)
{
    struct vfs_node *nd = vfs_node(v, path);
    if (nd) return nd;
    if (v->n >= VFS_MAX_NODES) return NULL;
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 8;
        struct vfs_node *a = realloc(v->nodes, cap * sizeof *a);
        if (!a) return NULL;
        v->nodes = a;
        v->cap = cap;
    }
    nd = &v->nodes[v->n];
    memset(nd, 0, sizeof *nd);
    if (!(nd->path = strdup(path))) return NULL;
    nd->id = ++v->next_id;
    v->n++;
    return nd;
}

static int charge(struct vfs *v, size_t more)
{
    if (v->bytes + more > v->lim->session_bytes || v->lim->used_total + more > v->lim->total_bytes)
        return -ENOSPC;
    v->bytes += more;
    v->lim->used_total += more;
    return 0;
}

static void set_len(struct vfs *v, struct vfs_node *nd, uint32_t len)
{
    v->bytes -= nd->len - len;
    v->lim->used_total -= nd->len - len;
    nd->len = len;
}

int vfs_write(struct vfs *v, const char *path, const uint8_t *d, size_t n, bool append)
{
    struct vfs_node *self = vfs_node(v, path);
    if (n && self && self->data && (uintptr_t)d >= (uintptr_t)self->data &&
        (uintptr_t)d < (uintptr_t)self->data + self->size) {
        /* the bytes are this file's own (`dd if=x of=x skip=1`): the write
         * below truncates, moves or frees them, so it gets a copy */
        uint8_t *copy = malloc(n);
        if (!copy) return -ENOMEM;
        memcpy(copy, d, n);
        int rc = vfs_write(v, path, copy, n, append);
        free(copy);
        return rc;
    }
    struct vfs_stat st;
    const uint8_t *old = NULL;
    bool exists = vfs_stat(v, path, &st, &old) == 0;
    if (exists && st.kind == VFS_DIR) return -EISDIR;
    if (!exists) {
        int rc = parent_ok(v, path);
        if (rc < 0) return rc;
    }
    if (!persona_writable(v->p, path)) return -EROFS;
    struct vfs_node *nd = vfs_node(v, path);
    if (!nd || nd->kind != VFS_FILE) {
        /* copy up (or create) */
        if (!(nd = new_node(v, path))) return -ENOSPC;
        nd->kind = VFS_FILE;
        nd->mode = exists ? st.mode : 0644;
        nd->len = 0;
        nd->appended = true;
        nd->clean_len = 0;
        if (exists && append && st.size) {
            int rc = vfs_write(v, path, old, st.size, true);
            if (rc < 0) return rc;
        }
    }
    if (!append) {
        set_len(v, nd, 0);
        nd->appended = false;
    }
    nd->dirty = true;
    int rc = 0;
    if (charge(v, n) < 0) {
        size_t room = v->lim->session_bytes - v->bytes;
        if (v->lim->total_bytes - v->lim->used_total < room)
            room = v->lim->total_bytes - v->lim->used_total;
        n = room;
        charge(v, n);
        rc = -ENOSPC;
    }
    if (nd->len + n > nd->size) {
        size_t size = nd->size ? nd->size : 64;
        while (size < nd->len + n)
            size *= 2;
        uint8_t *p = realloc(nd->data, size);
        if (!p) {
            set_len(v, nd, nd->len); /* nothing charged is kept */
            v->bytes -= n;
            v->lim->used_total -= n;
            return -ENOMEM;
        }
        nd->data = p;
        nd->size = (uint32_t)size;
    }
    if (n) memcpy(nd->data + nd->len, d, n);
    nd->len += (uint32_t)n;
    return rc;
}

int vfs_mkdir(struct vfs *v, const char *path, bool parents)
{
    struct vfs_stat st;
    if (vfs_stat(v, path, &st, NULL) == 0) return parents && st.kind == VFS_DIR ? 0 : -EEXIST;
    int rc = parent_ok(v, path);
    if (rc == -ENOENT && parents) {
        char parent[VFS_PATH_MAX];
        snprintf(parent, sizeof parent, "%s", path);
        *strrchr(parent, '/') = 0;
        if ((rc = vfs_mkdir(v, parent, true)) < 0) return rc;
    } else if (rc < 0) {
        return rc;
    }
    if (!persona_writable(v->p, path)) return -EROFS;
    struct vfs_node *nd = new_node(v, path);
    if (!nd) return -ENOSPC;
    free(nd->data);
    set_len(v, nd, 0);
    nd->data = NULL;
    nd->size = 0;
    nd->kind = VFS_DIR;
    nd->mode = 0755;
    return 0;
}

int vfs_remove(struct vfs *v, const char *path, bool recursive)
{
    struct vfs_stat st;
    if (vfs_stat(v, path, &st, NULL) < 0) return -ENOENT;
    if (st.kind == VFS_DIR && !recursive) return -EISDIR;
    if (!persona_writable(v->p, path) || !strcmp(path, "/")) return -EROFS;
    if (st.kind == VFS_DIR)
        for (uint32_t i = 0; i < v->n; i++)
            if (under(v->nodes[i].path, path) && v->nodes[i].kind != VFS_NONE) {
                set_len(v, &v->nodes[i], 0);
                v->nodes[i].kind = VFS_NONE;
            }
    struct vfs_node *nd = new_node(v, path);
    if (!nd) return -ENOSPC;
    set_len(v, nd, 0);
    nd->kind = VFS_NONE;
    return 0;
}

int vfs_chmod(struct vfs *v, const char *path, uint16_t mode)
{
    struct vfs_stat st;
    const uint8_t *d;
    if (vfs_stat(v, path, &st, &d) < 0) return -ENOENT;
    struct vfs_node *nd = vfs_node(v, path);
    if (!nd) {
        if (!persona_writable(v->p, path)) return -EROFS;
        if (st.kind == VFS_DIR) {
            if (!(nd = new_node(v, path))) return -ENOSPC;
            nd->kind = VFS_DIR;
        } else {
            int rc = vfs_write(v, path, d, st.size, true);
            if (rc < 0) return rc;
            nd = vfs_node(v, path);
        }
    }
    nd->mode = mode & 07777;
    return 0;
}

struct entry {
    char name[VFS_PATH_MAX];
    struct vfs_stat st;
    uint32_t order; /* the overlay's entries come first and win over the persona's */
};

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Collects a direct child of dir; duplicates are dropped after sorting, so a
 * listing costs O(n log n), not a scan of what was collected per entry. */
static void add_entry(struct entry *e, size_t *n, const char *dir, const char *path)
{
    size_t dl = strcmp(dir, "/") ? strlen(dir) : 0;
    if (strncmp(path, dir, dl) || path[dl] != '/' || !path[dl + 1] || strchr(path + dl + 1, '/'))
        return;
    if (*n >= VFS_LIST_MAX) return;
    snprintf(e[*n].name, sizeof e[*n].name, "%s", path + dl + 1);
    e[*n].order = (uint32_t)*n;
    (*n)++;
}

int vfs_list(const struct vfs *v, const char *dir,
             void (*fn)(void *ctx, const char *name, const struct vfs_stat *st), void *ctx)
{
    struct vfs_stat st;
    if (vfs_stat(v, dir, &st, NULL) < 0) return -ENOENT;
    if (st.kind != VFS_DIR) return -ENOTDIR;
    struct entry *e = malloc(VFS_LIST_MAX * sizeof *e);
    if (!e) return -ENOMEM;
    size_t n = 0;
    char path[VFS_PATH_MAX];
    for (uint32_t i = 0; i < v->n; i++)
        add_entry(e, &n, dir, v->nodes[i].path);
    for (size_t i = 0; i < v->p->n_files; i++)
        add_entry(e, &n, dir, v->p->files[i].path);
    for (size_t i = 0; i < v->p->n_dirs; i++)
        add_entry(e, &n, dir, v->p->dirs[i]);
    if (!strcmp(dir, "/bin"))
        for (size_t i = 0; i < v->p->n_applets; i++) {
            snprintf(path, sizeof path, "/bin/%s", v->p->applets[i]);
            add_entry(e, &n, dir, path);
        }
    qsort(e, n, sizeof *e, cmp_entry);
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(e[i].name, e[i - 1].name)) continue;
        snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", e[i].name);
        if (vfs_stat(v, path, &e[i].st, NULL) == 0) fn(ctx, e[i].name, &e[i].st);
    }
    free(e);
    return 0;
}
