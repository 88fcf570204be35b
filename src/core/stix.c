/* stix — placeholder until the export part lands (see stix.h). */
#include "stix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stix_uuid5(const char *ns, const void *name, size_t n, char *out)
{
    (void)ns;
    (void)name;
    (void)n;
    out[0] = 0;
    return -ENOSYS;
}

void stix_uuid4(char *out)
{
    out[0] = 0;
}

char *stix_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

int stix_sco_id(const json_t *obj, char *out)
{
    (void)obj;
    out[0] = 0;
    return -ENOSYS;
}

const char *stix_time(int64_t us, char *out)
{
    (void)us;
    strcpy(out, "1970-01-01T00:00:00.000Z");
    return out;
}

int stix_time_parse(const char *s, int64_t *us)
{
    (void)s;
    *us = 0;
    return -ENOSYS;
}

bool stix_id_valid(const char *id, const char *type)
{
    (void)id;
    (void)type;
    return false;
}
