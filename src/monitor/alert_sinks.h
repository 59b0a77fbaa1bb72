/* The production alert sink (alert_sinks.c). */
#ifndef AT_MONITOR_ALERT_SINKS_H
#define AT_MONITOR_ALERT_SINKS_H

#include "monitor/alerts.h"

struct at_alert_sinks {
    bool webhook; /* at_webhook_start succeeded */
    bool syslog;  /* alert_syslog = on */
};

/* The webhook / syslog JSON of a firing (heap; free()); NULL when out of memory. */
char *at_alert_json(const struct at_alert_event *ev);

/* at_alert_sink: audit record + metric + webhook + syslog. ctx: const struct at_alert_sinks *. */
void at_alert_sink_default(const struct at_alert_event *ev, void *ctx);

#endif
