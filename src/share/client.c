/* client — placeholder until its part lands. */
#include "share.h"

#include <stdio.h>

static int run_pull(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("share pull: not built yet");
    return 1;
}

const struct share_sub share_pull = {"pull", "", "not built yet", NULL, 0, run_pull};

static int run_push(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("share push: not built yet");
    return 1;
}

const struct share_sub share_push = {"push", "", "not built yet", NULL, 0, run_push};
