/* Scheduled backups from the daemon's configuration (server_backup.h). */
#include "server/server_backup.h"

#include "server/http.h"

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
