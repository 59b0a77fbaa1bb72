/* attestctl: the command-line tool. A table of subcommands, one file each. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct at_cli_cmd commands[] = {
    {"verify", "verify evidence offline against collateral", at_cli_verify},
    {"policy", "check or evaluate an attestation policy", at_cli_policy},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(f, "\nattestctl <command> --help shows a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("attestctl %s\n", ATTESTD_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "attestctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
