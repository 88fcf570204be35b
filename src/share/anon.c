/* anon — placeholder until its part lands. */
#include "share.h"

#include <stdio.h>

static int run_anonymize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("share anonymize: not built yet");
    return 1;
}

const struct share_sub share_anonymize = {"anonymize", "", "not built yet", NULL, 0, run_anonymize};
