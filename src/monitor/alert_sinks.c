/*
 * Where a firing goes (docs/alerts.md): an audit record (kind alert, operation
 * "alert.<rule>"), attestd_alerts_fired_total{rule}, the webhook queue and syslog.
 */
#include "monitor/alert_sinks.h"

#include "base/timeutil.h"
#include "monitor/webhook.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static void put(json_t *o, const char *k, const char *v)
{
    json_t *s = v != NULL ? json_string(v) : NULL;
    json_object_set_new(o, k, s != NULL ? s : json_null());
}

char *at_alert_json(const struct at_alert_event *ev)
{
    char when[32];
    at_time_format(ev->time, when, sizeof(when));
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    put(o, "rule", ev->rule);
    put(o, "severity", ev->severity);
    put(o, "time", when);
    json_object_set_new(o, "time_unix", json_integer((json_int_t)ev->time));
    put(o, "source", ev->source);
    put(o, "provider", ev->provider);
    put(o, "principal", ev->principal);
    put(o, "operation", ev->operation);
    put(o, "detail", ev->detail);
    put(o, "service", "attestd");
    put(o, "version", ATTESTD_VERSION);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

void at_alert_sink_default(const struct at_alert_event *ev, void *ctx)
{
    const struct at_alert_sinks *sinks = ctx;
    char op[48];
    snprintf(op, sizeof(op), "alert.%s", ev->rule);
    struct at_audit_rec r = {
        .kind = AT_AUDIT_ALERT,
        .principal = ev->principal,
        .provider = ev->provider,
        .operation = op,
        .target = ev->operation,
        .result = ev->severity,
        .source = ev->source,
        .detail = ev->detail,
    };
    at_audit_emit(&r);
    at_metrics_alert_fired(ev->rule);
    if (sinks == NULL || (!sinks->webhook && !sinks->syslog)) {
        return;
    }
    char *body = at_alert_json(ev);
    if (body == NULL) {
        return;
    }
    if (sinks->webhook) {
        (void)at_webhook_post(body);
    }
    if (sinks->syslog) {
        int prio = strcmp(ev->severity, "critical") == 0 ? LOG_CRIT : LOG_WARNING;
        syslog(LOG_DAEMON | prio, "attestd alert: %s", body);
    }
    free(body);
}
