/* Metrics and alerts at start-up (monitor_start.c; docs/metrics.md, docs/alerts.md). */
#ifndef AT_SERVER_MONITOR_H
#define AT_SERVER_MONITOR_H

#include "base/status.h"
#include "server/config.h"
#include "store/store.h"

#define AT_MONITOR_COLLATERAL_S 60 /* collateral gauge / expiry rule period, seconds */

/*
 * Register the metrics observer, start the alert rules and sinks from cfg->alerts.
 * Call after the shutdown signals are blocked (it may start threads) and before serving.
 * Fails on a webhook that cannot be set up (bad CA or token file).
 */
AT_NODISCARD at_status at_monitor_start(const struct at_config *cfg, struct at_store *store,
                                        struct at_err *e);
/* Stop the threads (pending webhook alerts get one last attempt). Idempotent. */
void at_monitor_stop(void);

#endif
