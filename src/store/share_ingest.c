/* share_ingest — placeholder until the import part lands (see share_ingest.h). */
#include "share_ingest.h"
#include "../core/err.h"

#include <errno.h>
#include <stdlib.h>

struct share_warn {
    int unused;
};

struct share_warn *share_warn_load(const char *dir)
{
    (void)dir;
    return calloc(1, sizeof(struct share_warn));
}

void share_warn_free(struct share_warn *w)
{
    free(w);
}

int share_ingest_object(struct store *s, const json_t *obj, const struct share_ingest_opts *o,
                        struct share_ingest_stats *st)
{
    (void)s;
    (void)obj;
    (void)o;
    st->objects++;
    return err_set(-ENOSYS, "share: import is not built yet");
}
