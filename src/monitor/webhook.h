/* The alert webhook sink (webhook.c; docs/alerts.md). One per process. */
#ifndef AT_MONITOR_WEBHOOK_H
#define AT_MONITOR_WEBHOOK_H

#include "base/status.h"

#include <stdbool.h>

#define AT_WEBHOOK_ATTEMPTS         6u     /* per alert, the first included */
#define AT_WEBHOOK_BACKOFF_BASE_MS  500u   /* doubled per retry, + up to 50% jitter */
#define AT_WEBHOOK_BACKOFF_MAX_MS   30000u

/*
 * Start the sender thread. `url` must be https://; `ca_file` (PEM, may be NULL: system
 * CAs) and `token_file` (one bearer token, may be NULL) are read now. backoff_base_ms 0:
 * AT_WEBHOOK_BACKOFF_BASE_MS.
 */
AT_NODISCARD at_status at_webhook_start(const char *url, const char *ca_file,
                                        const char *token_file, unsigned backoff_base_ms,
                                        struct at_err *e);
/* Queue one JSON body (copied); false (counted as "dropped") when not running or full. */
bool at_webhook_post(const char *json);
/* Stop: queued alerts get one last attempt each, then the thread ends. */
void at_webhook_stop(void);

#endif
