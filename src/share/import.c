/* import — placeholder until its part lands. */
#include "share.h"

#include <stdio.h>

static int run_import(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("share import: not built yet");
    return 1;
}

const struct share_sub share_import = {"import", "", "not built yet", NULL, 0, run_import};

static int run_trust(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("share trust: not built yet");
    return 1;
}

const struct share_sub share_trust = {"trust", "", "not built yet", NULL, 0, run_trust};
