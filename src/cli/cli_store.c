/* Shared helpers of the local management commands (provider, policy set/get/reset, collateral). */
#include "cli/cli.h"
#include "store/store.h"

#include <stdio.h>

int at_cli_exit_code(const struct at_err *e)
{
    return e->code == AT_E_USAGE || e->code == AT_E_IO || e->code == AT_E_NOMEM ? 2 : 1;
}

int at_cli_store_open(const char *cmd, struct at_store **out)
{
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_store_open(at_cli_data_dir(), out, &e))) {
        fprintf(stderr, "attestctl %s: %s: %s\n", cmd, at_cli_data_dir(), e.msg);
        return 2;
    }
    return 0;
}
