/* Scheduled backups from the daemon's configuration (server_backup.h). */
#include "server/server_backup.h"

#include "base/fileio.h"
#include "server/http.h"

#include <stdio.h>

at_status at_server_backup_start(const struct at_config *cfg, struct at_store *store,
                                 const char *config_path, struct at_err *e)
{
    if (cfg->backup_dir == NULL) {
        return at_ok();
    }
    struct at_backup_schedule_cfg c = {
        .store = store,
        .data_dir = cfg->data_dir,
        .dir = cfg->backup_dir,
        .interval_s = cfg->backup_interval_s,
        .keep = cfg->backup_keep,
        .key_file = cfg->backup_key_file,
        .passphrase_file = cfg->backup_passphrase_file,
        .config_path = config_path,
        .oidc_config_path = cfg->oidc_config,
    };
    AT_TRY(at_backup_schedule_start(&c, e));
    at_log(AT_LOG_INFO, "scheduled backups: every %lld s into %s, keeping %u",
           (long long)cfg->backup_interval_s, cfg->backup_dir, cfg->backup_keep);
    return at_ok();
}

int at_server_backup_check(const struct at_config *cfg)
{
    if (cfg->backup_dir == NULL) {
        return 0;
    }
    int errors = 0;
    if (at_path_exists(cfg->backup_dir) && !at_path_is_dir(cfg->backup_dir)) {
        fprintf(stderr, "attestd: error: backup_dir %s is not a directory\n", cfg->backup_dir);
        errors++;
    }
    struct at_backup_key k;
    struct at_err e;
    at_err_init(&e);
    at_status s = cfg->backup_key_file != NULL
                      ? at_backup_key_load(cfg->backup_key_file, &k, &e)
                      : at_backup_passphrase_load(cfg->backup_passphrase_file, &k, &e);
    if (at_is_ok(s)) {
        at_backup_key_clear(&k);
    } else {
        fprintf(stderr, "attestd: error: scheduled backups: %s\n", e.msg);
        errors++;
    }
    return errors;
}
