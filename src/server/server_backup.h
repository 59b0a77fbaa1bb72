/* Scheduled backups from the daemon's configuration (issue 7; src/backup/schedule.c). */
#ifndef AT_SERVER_SERVER_BACKUP_H
#define AT_SERVER_SERVER_BACKUP_H

#include "backup/backup.h"
#include "server/config.h"

/*
 * Start the backup thread when backup_dir is set (no-op otherwise). config_path is the
 * --config file (hashed into each backup's config digest), or NULL. Stop it with
 * at_backup_schedule_stop() before closing the store.
 */
AT_NODISCARD at_status at_server_backup_start(const struct at_config *cfg, struct at_store *store,
                                              const char *config_path, struct at_err *e);

/*
 * For --check-config: when backup_dir is set, load (and wipe) the backup key or passphrase
 * and check backup_dir is a directory if it exists. Prints each problem as
 * "attestd: error: ..." and returns how many there were. Creates nothing.
 */
int at_server_backup_check(const struct at_config *cfg);

#endif
