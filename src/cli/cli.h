/* attestctl subcommands. Each returns the process exit code. */
#ifndef AT_CLI_CLI_H
#define AT_CLI_CLI_H

struct at_cli_cmd {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv);
};

int at_cli_verify(int argc, char **argv);
int at_cli_policy(int argc, char **argv);

#endif
