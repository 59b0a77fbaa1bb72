#include "cli/cli.h"

#include <stdio.h>

int at_cli_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "not yet\n");
    return 2;
}
