/* source — the registry of packet source kinds (see source.h). */
#include "source.h"
#include "../core/err.h"

#include <errno.h>
#include <string.h>

/* How to add a packet source kind: write src/observe/source_<kind>.c with one
 * `const struct pkt_source_ops pkt_source_<kind>` (its own state struct per
 * instance, no statics), declare it in source.h, add it to meson.build's
 * observe list and one line here.  observe picks a kind by name. */
const struct pkt_source_ops *const pkt_sources[] = {
    &pkt_source_file,
    &pkt_source_live,
    NULL,
};

const struct pkt_source_ops *pkt_source_find(const char *name)
{
    for (size_t i = 0; pkt_sources[i]; i++)
        if (strcmp(pkt_sources[i]->name, name) == 0) return pkt_sources[i];
    return NULL;
}

int pkt_source_open(struct pkt_source *s, const char *name, const char *arg)
{
    memset(s, 0, sizeof *s);
    const struct pkt_source_ops *ops = pkt_source_find(name);
    if (!ops) return err_set(-EINVAL, "no packet source kind '%s'", name);
    void *st = ops->open(arg);
    if (!st) return -EINVAL;
    s->ops = ops;
    s->st = st;
    s->arg = arg;
    return 0;
}

void pkt_source_close(struct pkt_source *s)
{
    if (s->ops) s->ops->close(s->st);
    memset(s, 0, sizeof *s);
}
