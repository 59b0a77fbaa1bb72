/* Time as int64 seconds since the Unix epoch (UTC); parsing RFC 3339 / ISO 8601. */
#ifndef AT_BASE_TIMEUTIL_H
#define AT_BASE_TIMEUTIL_H

#include "base/status.h"

#include <stdint.h>

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)". Fractions are truncated.
 * Strict: every field present and in range.
 */
AT_NODISCARD at_status at_time_parse(const char *s, size_t len, int64_t *out, struct at_err *e);
/* Format as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void at_time_format(int64_t t, char *buf, size_t cap);
/* Current time. */
int64_t at_time_now(void);
/* Days from civil date (proleptic Gregorian), for converting broken-down UTC times. */
int64_t at_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
