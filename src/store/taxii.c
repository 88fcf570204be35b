/* taxii — collections' objects and statuses (see taxii.h); placeholder until
 * the TAXII part lands. */
#include "taxii.h"
#include "../core/err.h"

#include <errno.h>

/* clang-format off */
const char taxii_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS taxii_objects(collection TEXT NOT NULL, id TEXT NOT NULL,"
    " version TEXT NOT NULL, type TEXT NOT NULL, spec_version TEXT, added_us INTEGER NOT NULL,"
    " json TEXT NOT NULL, PRIMARY KEY(collection, id, version));"
    "CREATE INDEX IF NOT EXISTS taxii_objects_added ON taxii_objects(collection, added_us);"
    "CREATE TABLE IF NOT EXISTS taxii_status(id TEXT PRIMARY KEY, collection TEXT NOT NULL,"
    " status TEXT NOT NULL, request_us INTEGER NOT NULL, total INTEGER, success INTEGER,"
    " failure INTEGER, pending INTEGER, detail TEXT);";
/* clang-format on */

int taxii_db_publish(struct store *s, const char *collection, const json_t *objects,
                     int64_t now_us, uint64_t *added)
{
    (void)s;
    (void)collection;
    (void)objects;
    (void)now_us;
    *added = 0;
    return err_set(-ENOSYS, "taxii: collections are not built yet");
}
