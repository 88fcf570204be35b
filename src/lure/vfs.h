/* vfs — a session's copy-on-write file system over its persona's read-only tree.
 *
 * The persona's files and directories are shared by every session and never
 * change; what a session creates, changes or deletes lives in its own small
 * overlay (a node per path, a whiteout for a deletion), allocated only when it
 * first writes, so an idle session costs nothing here.  Writes obey the
 * persona's mounts (EROFS off rw mounts, as on the device) and two byte caps,
 * the session's and one shared by all sessions (ENOSPC past either).  Nodes
 * written since the shell last looked are marked dirty so the honeypot can
 * hash and store what a bot builds the moment it is built. */
#ifndef MAMORI_LURE_VFS_H
#define MAMORI_LURE_VFS_H

#include "persona.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VFS_PATH_MAX 256
#define VFS_MAX_NODES 256

enum { VFS_NONE = 0, VFS_FILE = 1, VFS_DIR = 2 };

struct vfs_node {
    char *path;
    uint8_t *data;
    uint32_t len, size, id;
    uint16_t mode;
    uint8_t kind;       /* VFS_NONE marks a deletion */
    bool dirty;         /* written since the honeypot last looked (it clears this) */
    bool appended;      /* every write since the last clean was an append */
    bool pending;       /* written, not yet stored by the honeypot */
    uint32_t clean_len; /* length when dirty was last cleared */
    uint32_t staged;    /* bytes the honeypot has in this node's staging file */
    bool unstored;      /* the store was full: this content is logged, not kept */
};

struct vfs_limits {
    size_t session_bytes; /* cap for one session */
    size_t total_bytes;   /* cap for all sessions together */
    size_t used_total;    /* shared counter, updated by every session */
};

struct vfs {
    const struct persona *p;
    struct vfs_limits *lim;
    struct vfs_node *nodes;
    uint32_t n, cap, next_id;
    size_t bytes;
};

struct vfs_stat {
    int kind;
    size_t size;
    uint16_t mode;
};

void vfs_init(struct vfs *v, const struct persona *p, struct vfs_limits *lim);
void vfs_free(struct vfs *v);
/* Resolves path against cwd into an absolute, normalised path ("." and ".."
 * folded, slashes squeezed).  -ENAMETOOLONG when it does not fit. */
int vfs_resolve(const char *cwd, const char *path, char out[VFS_PATH_MAX]);
/* 0 and the entry's stat (and its bytes for a file), or -ENOENT. */
int vfs_stat(const struct vfs *v, const char *path, struct vfs_stat *st, const uint8_t **data);
int vfs_write(struct vfs *v, const char *path, const uint8_t *d, size_t n, bool append);
int vfs_mkdir(struct vfs *v, const char *path, bool parents);
int vfs_remove(struct vfs *v, const char *path, bool recursive);
int vfs_chmod(struct vfs *v, const char *path, uint16_t mode);
/* Calls fn for each entry of a directory, sorted by name. */
int vfs_list(const struct vfs *v, const char *dir,
             void (*fn)(void *ctx, const char *name, const struct vfs_stat *st), void *ctx);
/* The overlay node of a path, or NULL. */
struct vfs_node *vfs_node(const struct vfs *v, const char *path);

#endif
