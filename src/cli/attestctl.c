/* attestctl: the command-line tool. A table of subcommands, one file each. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct at_cli_cmd commands[] = {
    {"verify", "verify evidence offline against collateral", at_cli_verify},
    {"policy", "check or evaluate a policy; set/get/reset a stored one", at_cli_policy},
    {"provider", "create, list, show or delete attestation providers", at_cli_provider},
    {"collateral", "import DCAP collateral into the store", at_cli_collateral},
};

#define DEFAULT_DATA_DIR "/var/lib/attestd"

/* Set once by main() before any command runs. */
static const char *data_dir_opt;

const char *at_cli_data_dir(void)
{
    if (data_dir_opt != NULL) {
        return data_dir_opt;
    }
    const char *env = getenv("ATTESTD_DATA_DIR");
    return env != NULL && env[0] != '\0' ? env : DEFAULT_DATA_DIR;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl [--data-dir DIR] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(f,
            "\n--data-dir DIR   the store's directory (default $ATTESTD_DATA_DIR or "
            "%s)\n"
            "attestctl <command> --help shows a command's options.\n",
            DEFAULT_DATA_DIR);
}

int main(int argc, char **argv)
{
    /* Global options come before the command. */
    int i = 1;
    while (i < argc && strncmp(argv[i], "--data-dir", 10) == 0) {
        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc && argv[i + 1][0] != '\0') {
            data_dir_opt = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--data-dir=", 11) == 0 && argv[i][11] != '\0') {
            data_dir_opt = argv[i] + 11;
            i += 1;
        } else {
            fprintf(stderr, "attestctl: --data-dir needs a directory\n");
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
        strcmp(argv[i], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[i], "--version") == 0) {
        printf("attestctl %s\n", ATTESTD_VERSION);
        return 0;
    }
    for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            return commands[c].run(argc - i, argv + i);
        }
    }
    fprintf(stderr, "attestctl: unknown command '%s'\n", argv[i]);
    usage(stderr);
    return 2;
}
