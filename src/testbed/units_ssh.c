/* units_ssh — SSH devices: not yet served. */
#include "../core/err.h"
#include "units.h"

#include <errno.h>

static int build(const struct tb_spec *s, const struct tb_env *env, struct tb_units *out)
{
    (void)env;
    (void)out;
    for (size_t i = 0; i < s->nsvcs; i++)
        if (s->svcs[i].proto == TB_SSH)
            return err_set(-ENOTSUP, "ssh devices are not supported yet");
    return 0;
}

bool units_ssh_available(void)
{
    return false;
}

const struct unit_kind unit_ssh = {"ssh", build};
