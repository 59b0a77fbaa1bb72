/* attestctl: the command-line tool. A table of subcommands, one file each. */
#include "cli/cli.h"
#include "cli/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct at_cli_cmd commands[] = {
    {"verify", "verify evidence offline against collateral", at_cli_verify},
    {"policy", "check or evaluate a policy; set/get/reset a stored one", at_cli_policy},
    {"provider", "create, list, show or delete attestation providers", at_cli_provider},
    {"collateral", "import DCAP collateral into the store", at_cli_collateral},
    {"role", "assign, remove or list management role assignments", at_cli_role},
    {"signer", "add, remove or list an isolated provider's policy signers (--url)", at_cli_signer},
    {"audit", "verify an audit log's hash chain (and its head in the store)", at_cli_audit},
    {"backup", "create, verify or restore an encrypted backup of the store", at_cli_backup},
    {"key", "generate a key-encryption key; rotate or show the store's keys", at_cli_key},
};

#define DEFAULT_DATA_DIR "/var/lib/attestd"

/* Set once by main() before any command runs. */
static const char *data_dir_opt;
static const char *url_opt;
static const char *token_file_opt;
static const char *cacert_opt;
static const char *kek_file_opt;

const char *at_cli_kek_file(void)
{
    return kek_file_opt;
}

void at_cli_set_data_dir(const char *dir)
{
    data_dir_opt = dir;
}

bool at_cli_data_dir_given(void)
{
    return data_dir_opt != NULL;
}

static const char *opt_or_env(const char *opt, const char *env)
{
    if (opt != NULL) {
        return opt;
    }
    const char *v = getenv(env);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *at_cli_url(void)
{
    return opt_or_env(url_opt, "ATTESTD_URL");
}

const char *at_cli_token_file(void)
{
    return token_file_opt;
}

const char *at_cli_cacert(void)
{
    return opt_or_env(cacert_opt, "ATTESTD_CACERT");
}

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
    fprintf(f, "usage: attestctl [--data-dir DIR [--kek-file FILE]] [--url URL [--token-file FILE] "
               "[--cacert PEM]] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(f,
            "\n--data-dir DIR   the store's directory (default $ATTESTD_DATA_DIR or "
            "%s)\n"
            "--kek-file FILE  the store's key-encryption key (default $ATTESTD_KEK, else the "
            "systemd credential attestd-kek)\n"
            "--url URL        manage a remote attestd over HTTPS (default $ATTESTD_URL)\n"
            "--token-file F   file holding the bearer token (default: $ATTESTD_TOKEN, the token)\n"
            "--cacert PEM     trusted CA certificates for --url (default $ATTESTD_CACERT, else "
            "the system store)\n"
            "attestctl <command> --help shows a command's options.\n",
            DEFAULT_DATA_DIR);
}

/* The slot of a remote global option (--url, --token-file, --cacert, or NAME=VALUE). */
static const char **remote_opt(const char *a)
{
    static const struct {
        const char *name;
        const char **slot;
    } opts[] = {{"--url", &url_opt},
                {"--token-file", &token_file_opt},
                {"--cacert", &cacert_opt},
                {"--kek-file", &kek_file_opt}};
    for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        size_t n = strlen(opts[k].name);
        if (strncmp(a, opts[k].name, n) == 0 && (a[n] == '\0' || a[n] == '=')) {
            return opts[k].slot;
        }
    }
    return NULL;
}

/* Store the option's value; returns the number of arguments used, 0 when it has none. */
static int take_opt(int argc, char **argv, int i, const char **slot)
{
    const char *eq = strchr(argv[i], '=');
    if (eq != NULL) {
        *slot = eq[1] != '\0' ? eq + 1 : NULL;
        return eq[1] != '\0' ? 1 : 0;
    }
    if (i + 1 < argc && argv[i + 1][0] != '\0') {
        *slot = argv[i + 1];
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Global options come before the command. */
    int i = 1;
    while (i < argc && (strncmp(argv[i], "--data-dir", 10) == 0 || remote_opt(argv[i]) != NULL)) {
        const char **slot = remote_opt(argv[i]);
        if (slot != NULL) {
            int used = take_opt(argc, argv, i, slot);
            if (used == 0) {
                fprintf(stderr, "attestctl: %s needs a value\n", argv[i]);
                usage(stderr);
                return 2;
            }
            i += used;
        } else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc && argv[i + 1][0] != '\0') {
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
