/*
 * Abuse limits: token buckets per source address and per provider, the
 * authentication-failure throttle, and a once-per-period gate for log lines.
 * One fixed-size table (AT_LIMITS_SLOTS entries, evicting the least recently
 * used entry of a probe window), so memory stays bounded whatever the traffic.
 * Thread-safe.
 */
#ifndef AT_SERVER_RATELIMIT_H
#define AT_SERVER_RATELIMIT_H

#include "server/netcfg.h"

#include <stdbool.h>

#define AT_LIMITS_SLOTS 16384u
#define AT_LIMITS_PROBE 16u

struct at_limits;

/* The specs are copied. NULL only when out of memory. */
struct at_limits *at_limits_new(const struct at_rate_spec *per_source,
                                const struct at_rate_spec *per_provider,
                                const struct at_authfail_spec *auth_fail);
void at_limits_free(struct at_limits *l);

/* One request from `ip`: false (with *retry_s >= 1) when its bucket is empty. */
bool at_limits_source_take(struct at_limits *l, const struct at_ip *ip, unsigned *retry_s);
/* One request for `provider`: false (with *retry_s) when its bucket is empty. */
bool at_limits_provider_take(struct at_limits *l, const char *provider, unsigned *retry_s);
/* A 401 on the management plane from `ip`. */
void at_limits_auth_failure(struct at_limits *l, const struct at_ip *ip);
/* Whether `ip` is cooling down after too many failures (*retry_s = seconds left). */
bool at_limits_auth_blocked(struct at_limits *l, const struct at_ip *ip, unsigned *retry_s);
/* true at most once per `period_s` per (tag, ip): rate-limits log lines and audit records. */
bool at_limits_once_per(struct at_limits *l, char tag, const struct at_ip *ip, unsigned period_s);

#endif
