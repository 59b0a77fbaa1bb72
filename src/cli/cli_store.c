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
    struct at_kek kek;
    at_status r = at_kek_load(at_cli_kek_file(), &kek, &e);
    if (at_is_ok(r)) {
        r = at_store_open(at_cli_data_dir(), &kek, out, &e);
    }
    at_kek_clear(&kek);
    if (!at_is_ok(r)) {
        fprintf(stderr, "attestctl %s: %s: %s\n", cmd, at_cli_data_dir(), e.msg);
        return 2;
    }
    return 0;
}
