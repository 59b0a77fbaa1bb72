/*
 * The operational log (docs/configuration.md "Log"): one line per event on stderr, with a
 * level (log_level) and, for request-scoped lines, the request id; text
 * "attestd: LEVEL: [req=ID ]MSG" or one JSON object per line (log_format). Separate from
 * the audit trail (monitor/audit.h). In src/base so every layer logs the same way and
 * honours log_level. Never pass tokens, keys or evidence. Thread-safe.
 */
#ifndef AT_BASE_LOG_H
#define AT_BASE_LOG_H

#include "base/status.h"

#include <stdbool.h>

enum at_log_level { AT_LOG_ERROR, AT_LOG_WARN, AT_LOG_INFO, AT_LOG_DEBUG };
enum at_log_format { AT_LOG_FORMAT_TEXT, AT_LOG_FORMAT_JSON };

/* "error", "warn", "info", "debug". */
const char *at_log_level_name(enum at_log_level l);

void at_log_set_level(enum at_log_level l);
bool at_log_enabled(enum at_log_level l);
void at_log_set_format(enum at_log_format f);
void at_log(enum at_log_level l, const char *fmt, ...) AT_PRINTF(2, 3);
void at_log_req(enum at_log_level l, const char *req_id, const char *fmt, ...) AT_PRINTF(3, 4);

#endif
