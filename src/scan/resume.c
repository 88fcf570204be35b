/* resume — the checkpoint file: what a run needs to go on where it stopped.
 *
 * Text, one "key value" a line, rewritten whole each second (a temporary
 * file renamed over the old one, so a crash leaves the last complete one).
 * It holds the permutation (n, p, g, start), the cookie key (so replies to
 * probes of the first run still validate), the sharding and one position
 * count per send lane; the targets' description and count and the ports are
 * checked on --resume, which refuses a checkpoint made for another scan.
 * Positions are counted after sendmmsg returned, so a clean stop (Ctrl-C,
 * --max-runtime) resumes exactly; after a crash up to a second of probes is
 * sent again, never skipped. */
#include "../core/err.h"
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CKPT_MAGIC "mamori-scan-checkpoint 1"

int scan_ckpt_write(const char *path, const struct scan_cfg *cfg, const struct scan_state *st)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return err_set(-errno, "--checkpoint %s: %s", tmp, strerror(errno));
    fprintf(f, CKPT_MAGIC "\n");
    fprintf(f, "targets %" PRIu64 " %s\n", target_count(cfg->targets), target_desc(cfg->targets));
    fprintf(f, "ports %s\n", cfg->ports_desc);
    fprintf(f, "perm %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", st->perm.n, st->perm.p,
            st->perm.g, st->perm.start);
    fprintf(f, "key %016" PRIx64 "%016" PRIx64 "\n", st->key.k0, st->key.k1);
    fprintf(f, "shard %u %u\n", cfg->shard, cfg->shards);
    fprintf(f, "round %s\n", cfg->round);
    fprintf(f, "lanes %u\n", st->lanes);
    for (unsigned i = 0; i < st->lanes; i++)
        fprintf(f, "lane %u %" PRIu64 "\n", i, st->done[i]);
    fprintf(f, "complete %d\n", st->complete);
    int rc = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) rc = -errno;
    if (fclose(f) != 0 && rc == 0) rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0) rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return err_set(rc, "--checkpoint %s: %s", path, strerror(-rc));
    }
    return 0;
}

static int mismatch(const char *path, const char *what)
{
    return err_set(-EINVAL, "--resume %s: written for other %s than this run's", path, what);
}

/* One "key rest" line into rest; false at end of file. */
static bool next_line(FILE *f, char *key, char *rest, size_t cap)
{
    char line[8192];
    if (!fgets(line, sizeof line, f)) return false;
    line[strcspn(line, "\n")] = 0;
    char *sp = strchr(line, ' ');
    if (sp) *sp = 0;
    snprintf(key, 32, "%s", line);
    snprintf(rest, cap, "%s", sp ? sp + 1 : "");
    return true;
}

static int parse_line(const char *path, const char *key, const char *rest,
                      const struct scan_cfg *cfg, struct scan_state *st, uint64_t p[4])
{
    char desc[8192];
    uint64_t count, a, b;
    unsigned i, x, y;
    if (!strcmp(key, "targets")) {
        if (sscanf(rest, "%" SCNu64 " %8191[^\n]", &count, desc) < 1) return 1;
        if (count != target_count(cfg->targets) || strcmp(desc, target_desc(cfg->targets)))
            return mismatch(path, "targets");
    } else if (!strcmp(key, "ports")) {
        if (strcmp(rest, cfg->ports_desc)) return mismatch(path, "ports");
    } else if (!strcmp(key, "perm")) {
        if (sscanf(rest, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &p[0], &p[1], &p[2],
                   &p[3]) != 4)
            return 1;
    } else if (!strcmp(key, "key")) {
        if (strlen(rest) != 32 || sscanf(rest, "%16" SCNx64 "%16" SCNx64, &a, &b) != 2) return 1;
        st->key = (struct siphash_key){a, b};
    } else if (!strcmp(key, "shard")) {
        if (sscanf(rest, "%u %u", &x, &y) != 2) return 1;
        if (x != cfg->shard || y != cfg->shards) return mismatch(path, "--shard/--shards");
    } else if (!strcmp(key, "lanes")) {
        if (sscanf(rest, "%u", &st->lanes) != 1 || st->lanes < 1 || st->lanes > SCAN_LANES_MAX)
            return 1;
    } else if (!strcmp(key, "lane")) {
        if (sscanf(rest, "%u %" SCNu64, &i, &a) != 2 || i >= st->lanes) return 1;
        st->done[i] = a;
    } else if (!strcmp(key, "complete")) {
        st->complete = rest[0] == '1';
    }
    return 0;
}

int scan_ckpt_read(const char *path, const struct scan_cfg *cfg, struct scan_state *st)
{
    FILE *f = fopen(path, "r");
    if (!f) return err_set(-errno, "--resume %s: %s", path, strerror(errno));
    char key[32], rest[8192];
    uint64_t p[4] = {0};
    int rc = 0;
    unsigned line = 1;
    memset(st, 0, sizeof *st);
    if (!next_line(f, key, rest, sizeof rest) || strcmp(key, "mamori-scan-checkpoint") ||
        strcmp(rest, "1"))
        rc = err_set(-EINVAL, "--resume %s: not a mamori scan checkpoint", path);
    while (rc == 0 && next_line(f, key, rest, sizeof rest)) {
        line++;
        rc = parse_line(path, key, rest, cfg, st, p);
        if (rc > 0) rc = err_set(-EINVAL, "--resume %s:%u: bad %s line", path, line, key);
    }
    fclose(f);
    if (rc == 0 && (rc = perm_restore(&st->perm, p[0], p[1], p[2], p[3])) < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", err_msg());
        rc = err_set(rc, "--resume %s: %s", path, msg);
    }
    if (rc == 0 && st->perm.n != target_count(cfg->targets) * cfg->nports)
        rc = mismatch(path, "targets x ports");
    if (rc == 0 && st->lanes == 0) rc = err_set(-EINVAL, "--resume %s: no lanes", path);
    return rc;
}
