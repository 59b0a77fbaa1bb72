/*
 * Start-up wiring of metrics and alerts (docs/metrics.md, docs/alerts.md): the metrics
 * audit observer, the alert engine with its sinks (webhook thread, syslog), the
 * collateral-expiry gauge (refreshed on scrape at most every AT_MONITOR_COLLATERAL_S
 * seconds, or at once when the store generation changed) and a thread that runs the
 * collateral-expiry rule every AT_MONITOR_COLLATERAL_S seconds.
 */
#include "server/monitor.h"

#include "monitor/alert_sinks.h"
#include "monitor/metrics.h"
#include "monitor/webhook.h"
#include "server/http.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static struct {
    struct at_store *store;
    struct at_alerts *alerts;
    struct at_alert_sinks sinks;
    pthread_mutex_t lock; /* refresh state */
    uint64_t generation;
    int64_t refreshed_at; /* monotonic seconds; 0 = never */
    pthread_t thread;
    bool thread_running, stopping, started;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
} M = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .stop_lock = PTHREAD_MUTEX_INITIALIZER,
       .stop_cond = PTHREAD_COND_INITIALIZER};

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec + 1; /* never 0 */
}

/* Re-list collateral when due; with `check`, run the expiry rule on the fresh list. */
static void refresh_collateral(bool force, bool check)
{
    pthread_mutex_lock(&M.lock);
    if (M.store == NULL) {
        pthread_mutex_unlock(&M.lock);
        return;
    }
    uint64_t gen = at_store_generation(M.store);
    int64_t now = mono_s();
    bool due = force || M.refreshed_at == 0 || gen != M.generation ||
               now - M.refreshed_at >= AT_MONITOR_COLLATERAL_S;
    struct at_collateral_expiry *items = NULL;
    size_t n = 0;
    if (due) {
        struct at_err e;
        at_err_init(&e);
        if (at_is_ok(at_collateral_expiry_list(M.store, &items, &n, &e))) {
            at_metrics_set_collateral(items, n);
            M.generation = gen;
            M.refreshed_at = now;
        } else {
            at_log(AT_LOG_WARN, "metrics: cannot list collateral: %s", e.msg);
        }
    }
    pthread_mutex_unlock(&M.lock);
    if (check && items != NULL) {
        at_alerts_check_collateral(M.alerts, items, n);
    }
    free(items);
}

static void on_render(void *ctx)
{
    (void)ctx;
    refresh_collateral(false, false);
}

static void *collateral_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&M.stop_lock);
    while (!M.stopping) {
        pthread_mutex_unlock(&M.stop_lock);
        refresh_collateral(true, true);
        pthread_mutex_lock(&M.stop_lock);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += AT_MONITOR_COLLATERAL_S;
        while (!M.stopping && pthread_cond_timedwait(&M.stop_cond, &M.stop_lock, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&M.stop_lock);
    return NULL;
}

at_status at_monitor_start(const struct at_config *cfg, struct at_store *store, struct at_err *e)
{
    const struct at_alert_config *ac = &cfg->alerts;
    AT_ENSURE(!M.started, e, AT_E_BAD_VALUE, "monitor", "the monitor is already running");
    AT_ENSURE(ac->webhook_url != NULL || (ac->webhook_ca == NULL && ac->webhook_token_file == NULL),
              e, AT_E_BAD_VALUE, "config_alerts",
              "alert_webhook_ca and alert_webhook_token_file need alert_webhook_url");
    AT_ENSURE(at_metrics_attach(), e, AT_E_INTERNAL, "monitor",
              "cannot register the metrics audit observer");
    M.store = store;
    at_metrics_on_render(at_metrics_global(), on_render, NULL);
    M.started = true;
    if (!at_alert_config_any(ac)) {
        if (ac->webhook_url != NULL || ac->syslog) {
            at_log(AT_LOG_WARN, "alert sinks are configured but no alert_* rule is enabled");
        }
        return at_ok();
    }
    if (ac->webhook_url != NULL) {
        AT_TRY(at_webhook_start(ac->webhook_url, ac->webhook_ca, ac->webhook_token_file, 0, e));
        M.sinks.webhook = true;
    }
    M.sinks.syslog = ac->syslog;
    M.alerts = at_alerts_new(ac, NULL, at_alert_sink_default, &M.sinks);
    if (M.alerts == NULL || !at_audit_observe(at_alerts_audit_observer, M.alerts)) {
        at_monitor_stop();
        AT_FAIL(e, AT_E_INTERNAL, "monitor", "cannot start the alert rules");
    }
    if (ac->collateral_days > 0) {
        M.stopping = false;
        if (pthread_create(&M.thread, NULL, collateral_thread, NULL) != 0) {
            at_monitor_stop();
            AT_FAIL(e, AT_E_INTERNAL, "monitor", "cannot start the collateral check thread");
        }
        M.thread_running = true;
    }
    at_log(AT_LOG_INFO, "alerts: rules enabled; sinks: audit%s%s", M.sinks.webhook ? ", webhook" : "",
           M.sinks.syslog ? ", syslog" : "");
    return at_ok();
}

void at_monitor_stop(void)
{
    if (M.thread_running) {
        pthread_mutex_lock(&M.stop_lock);
        M.stopping = true;
        pthread_cond_broadcast(&M.stop_cond);
        pthread_mutex_unlock(&M.stop_lock);
        pthread_join(M.thread, NULL);
        M.thread_running = false;
    }
    if (M.sinks.webhook) {
        at_webhook_stop();
        M.sinks.webhook = false;
    }
    /*
     * The engine stays allocated: its audit observer cannot be unregistered and other
     * threads may still emit records until the process exits. The store pointer is
     * dropped so a late scrape does not touch a closed store.
     */
    pthread_mutex_lock(&M.lock);
    M.store = NULL;
    pthread_mutex_unlock(&M.lock);
}
