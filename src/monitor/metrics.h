/*
 * A small metrics registry (counters, gauges, histograms) with bounded label sets and
 * Prometheus text exposition format 0.0.4 (docs/metrics.md).
 *
 * Hot path: a series is found under a family's read lock (a hash of the label values)
 * and updated with atomics; a new label set takes the write lock once. A family holds at
 * most `max_series` label sets; further new label sets all land in one overflow series
 * whose every label value is AT_METRICS_OVERFLOW, so memory and scrape size stay bounded
 * whatever the input.
 *
 * The attestd metrics themselves (names, feeding from the audit trail and the HTTP layer)
 * are in metrics_attestd.c; this file knows nothing about them.
 */
#ifndef AT_MONITOR_METRICS_H
#define AT_MONITOR_METRICS_H

#include "base/status.h"
#include "monitor/audit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AT_METRICS_LABELS_MAX   4u
#define AT_METRICS_BUCKETS_MAX  24u
#define AT_METRICS_LABEL_MAX    96u /* label values are truncated to this many bytes */
#define AT_METRICS_OVERFLOW     "_overflow"

enum at_metric_type { AT_METRIC_COUNTER, AT_METRIC_GAUGE, AT_METRIC_HISTOGRAM };

struct at_metrics_registry;
struct at_metric;

struct at_metrics_registry *at_metrics_registry_new(void);
void at_metrics_registry_free(struct at_metrics_registry *r);

/*
 * Define a family. `name` and `help` are borrowed (string literals); label names too.
 * `max_series` >= 2 (one is kept for the overflow series). Histograms take `nbounds`
 * strictly increasing finite upper bounds (the +Inf bucket is implicit). NULL on a bad
 * argument or out of memory. Define everything before concurrent use.
 */
struct at_metric *at_metric_define(struct at_metrics_registry *r, enum at_metric_type type,
                                   const char *name, const char *help, unsigned nlabels,
                                   const char *const *label_names, unsigned max_series,
                                   const double *bounds, unsigned nbounds);

/* `values` has the family's nlabels entries (NULL entries are written as ""). */
void at_metric_add(struct at_metric *m, const char *const *values, uint64_t n); /* counter */
void at_metric_set(struct at_metric *m, const char *const *values, double v);   /* gauge */
void at_metric_observe(struct at_metric *m, const char *const *values, double v); /* histogram */
/* Drop every series of a gauge family (before re-setting a fresh set). */
void at_metric_reset(struct at_metric *m);

/* Called at the start of every render (refresh gauges that are computed on demand). */
typedef void (*at_metrics_hook)(void *ctx);
void at_metrics_on_render(struct at_metrics_registry *r, at_metrics_hook fn, void *ctx);

/* The exposition text (heap, NUL-terminated; free()); NULL when out of memory. */
char *at_metrics_render(struct at_metrics_registry *r, size_t *len);

/* The text of a double as Prometheus writes it ("+Inf", "-Inf", "NaN", shortest form). */
void at_metrics_format_double(double v, char *out, size_t cap);

/* ---- attestd's own metrics (metrics_attestd.c) ---- */

/* The process-wide registry with every attestd metric defined; created on first use. */
struct at_metrics_registry *at_metrics_global(void);

/* One completed HTTP request: route name (at_route_name), status, seconds since it began. */
void at_metrics_http_request(const char *route, unsigned status, double seconds);

/* Audit observer feeding the counters (registered by at_metrics_attach). */
void at_metrics_audit_observer(const struct at_audit_rec *r, void *ctx);
/* Register the audit observer once; false when the observer table is full. */
bool at_metrics_attach(void);

/* An alert fired / a webhook delivery outcome ("delivered", "retry", "gave_up", "dropped"). */
void at_metrics_alert_fired(const char *rule);
void at_metrics_webhook_outcome(const char *outcome);

/* attestd_backup_last_success_timestamp_seconds comes from `fn` (0 = never; NULL: absent). */
void at_metrics_set_backup_source(int64_t (*fn)(void));
/* Network controls (src/server): a connection refused before TLS; a request answered 429. */
void at_metrics_connection_refused(void);
void at_metrics_request_throttled(void);

/* Collateral expiry gauge (tee, FMSPC hex, CA → earliest nextUpdate, Unix seconds). */
struct at_collateral_expiry {
    char tee[8];     /* "sgx" | "tdx" */
    char fmspc[13];  /* 12 lowercase hex digits */
    char ca[16];     /* "platform" | "processor" */
    int64_t next_update;
};
void at_metrics_set_collateral(const struct at_collateral_expiry *items, size_t n);

/* The expiry of every stored collateral bundle (collateral_expiry.c); free *out. */
struct at_store;
AT_NODISCARD at_status at_collateral_expiry_list(struct at_store *s,
                                                 struct at_collateral_expiry **out, size_t *count,
                                                 struct at_err *e);

/* Whether a management record's result means the action took effect ("ok", "Updated"...). */
bool at_metrics_result_ok(const char *result);

/* The /metrics body (at_metrics_render of the global registry). */
char *at_metrics_scrape(size_t *len);

#endif
