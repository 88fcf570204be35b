/* export — placeholder until its part lands. */
#include "share.h"

#include <stdio.h>

static int run_export(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("share export: not built yet");
    return 1;
}

const struct share_sub share_export = {"export", "", "not built yet", NULL, 0, run_export};
