/* share_query — the share view for report and serve (see share.h: query_share). */
#include "share.h"
#include "store_int.h"

json_t *query_share(struct store *s, int64_t now_us)
{
    (void)s;
    (void)now_us;
    return json_object();
}
