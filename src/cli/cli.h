/* attestctl subcommands. Each returns the process exit code. */
#ifndef AT_CLI_CLI_H
#define AT_CLI_CLI_H

#include "base/status.h"

struct at_store;

struct at_cli_cmd {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv);
};

int at_cli_verify(int argc, char **argv);
int at_cli_policy(int argc, char **argv);
int at_cli_provider(int argc, char **argv);
int at_cli_collateral(int argc, char **argv);
int at_cli_role(int argc, char **argv);   /* cmd_role.c */
int at_cli_signer(int argc, char **argv); /* cmd_signer.c (remote only) */
int at_cli_audit(int argc, char **argv);  /* cmd_audit.c */

/* Backups (cmd_backup.c) and policy export (cmd_policy_export.c). */
int at_cli_backup(int argc, char **argv);
int at_cli_policy_export(int argc, char **argv);
int at_cli_key(int argc, char **argv);    /* cmd_key.c */

/* The global --kek-file option, or NULL ($ATTESTD_KEK / systemd credential). */
const char *at_cli_kek_file(void);

/*
 * The data directory for local management commands: the global `--data-dir DIR`
 * option, else $ATTESTD_DATA_DIR, else /var/lib/attestd.
 */
const char *at_cli_data_dir(void);
/* A command's own --data-dir DIR (overrides the global one); whether one was given. */
void at_cli_set_data_dir(const char *dir);
bool at_cli_data_dir_given(void);

/*
 * Open the store in at_cli_data_dir(); on failure prints "attestctl <cmd>: message"
 * to stderr and returns the exit code (2), else 0.
 */
int at_cli_store_open(const char *cmd, struct at_store **out);

/* Exit code for a failed operation: 2 for usage and I/O errors, 1 for the rest. */
int at_cli_exit_code(const struct at_err *e);

#endif
