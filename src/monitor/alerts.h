/*
 * Alert rules (docs/alerts.md): evaluated on the audit trail (an audit observer) and on
 * a periodic collateral check. A firing is one at_alert_event handed to the sink; the
 * production sink (alert_sinks.c) writes an audit record "alert.<rule>", counts
 * attestd_alerts_fired_total{rule}, queues the webhook and writes syslog.
 *
 * The engine takes its clock as a parameter so the window logic is unit-tested without
 * sleeping. Thread-safe (one mutex); the sink is called without the lock held.
 */
#ifndef AT_MONITOR_ALERTS_H
#define AT_MONITOR_ALERTS_H

#include "base/status.h"
#include "monitor/audit.h"
#include "monitor/metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of the rule parameters (also the config value ranges). */
#define AT_ALERT_AUTH_N_MAX       1000u
#define AT_ALERT_WINDOW_MAX_S     86400u
#define AT_ALERT_RATIO_MIN_MAX    1000000u
#define AT_ALERT_EXPIRY_DAYS_MAX  365u
#define AT_ALERT_SOURCES_MAX      1024u /* per-source windows kept (oldest evicted) */
#define AT_ALERT_COLLATERAL_MAX   4096u

struct at_alert_config {
    bool policy_changed;       /* alert_policy_changed = on */
    bool signer_changed;       /* alert_signer_changed = on */
    bool role_changed;         /* alert_role_changed = on */
    unsigned auth_failures_n;  /* alert_auth_failures = N/M (0: off) */
    unsigned auth_failures_window_s;
    double ratio;              /* alert_attestation_failure_ratio = X/M/MIN (window 0: off) */
    unsigned ratio_window_s;
    unsigned ratio_min;
    unsigned collateral_days;  /* alert_collateral_expiry_days = D (0: off) */
    char *webhook_url;         /* alert_webhook_url (https://), or NULL */
    char *webhook_ca;          /* alert_webhook_ca: PEM bundle path, or NULL: system CAs */
    char *webhook_token_file;  /* alert_webhook_token_file, or NULL */
    bool syslog;               /* alert_syslog = on */
};

void at_alert_config_clear(struct at_alert_config *c);
/* Deep copy (aborts when out of memory, like the config module). */
void at_alert_config_copy(struct at_alert_config *dst, const struct at_alert_config *src);
/* Any rule enabled? */
bool at_alert_config_any(const struct at_alert_config *c);

/*
 * Set one alert key from its config text (`key` is the config key name, e.g.
 * "alert_auth_failures"). AT_E_BAD_VALUE with a message naming the key on a bad value;
 * false-y AT_E_PARSE "config_key" for a name that is not an alert key.
 */
AT_NODISCARD at_status at_alert_config_set(struct at_alert_config *c, const char *key,
                                           const char *v, size_t len, struct at_err *e);

struct at_alert_event {
    const char *rule;     /* "policy_changed", "signer_changed", "role_changed",
                             "auth_failures", "attestation_failure_ratio", "collateral_expiry" */
    const char *severity; /* "warning" | "critical" */
    int64_t time;         /* Unix seconds */
    const char *source;   /* source address, or NULL */
    const char *provider; /* provider, or NULL */
    const char *principal;/* acting principal (change rules), or NULL */
    const char *operation;/* the audited operation behind it (change rules), or NULL */
    const char *detail;   /* one line of text without secrets */
};

typedef void (*at_alert_sink)(const struct at_alert_event *ev, void *ctx);
typedef int64_t (*at_alert_clock)(void);

struct at_alerts;

/* `cfg` is copied. clock NULL: wall clock. NULL when out of memory. */
struct at_alerts *at_alerts_new(const struct at_alert_config *cfg, at_alert_clock clock,
                                at_alert_sink sink, void *sink_ctx);
void at_alerts_free(struct at_alerts *a);

/* Feed one audit record (alert records themselves are ignored). */
void at_alerts_observe(struct at_alerts *a, const struct at_audit_rec *r);
/* An at_audit_observe-compatible adapter (ctx = the engine). */
void at_alerts_audit_observer(const struct at_audit_rec *r, void *ctx);

/*
 * The collateral rule: fire for each entry whose next_update is within the configured
 * days of now (or past), at most once per entry per day.
 */
void at_alerts_check_collateral(struct at_alerts *a, const struct at_collateral_expiry *items,
                                size_t n);

#endif
