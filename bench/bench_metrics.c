/*
 * Metrics hot path (src/monitor/metrics.c): ns per at_metrics_http_request (one counter
 * add + one histogram observation on existing series) single-threaded and with 2 threads
 * on the same series, plus ns per new-label-set lookup of a counter, and the time to
 * render a scrape. Wall clock (CLOCK_MONOTONIC). One JSON line per measurement, like the
 * other benches; floor_ops_per_s is null (no crypto involved).
 */
#include "monitor/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_OPS 2000000u

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *name, double ns_per_op, unsigned threads)
{
    printf("{\"bench\":\"%s\",\"ns_per_op\":%.1f,\"ops_per_s\":%.0f,\"threads\":%u,"
           "\"floor_ops_per_s\":null}\n",
           name, ns_per_op, 1e9 / ns_per_op * threads, threads);
}

static void *worker(void *arg)
{
    static const char *const routes[] = {"attest", "certs", "openid_configuration", "policy_get"};
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < N_OPS; i++) {
        at_metrics_http_request(routes[(i + seed) & 3], 200, 0.004);
    }
    return NULL;
}

int main(void)
{
    (void)at_metrics_global();
    worker((void *)0); /* warm up: create the series */
    double t0 = now_ns();
    worker((void *)0);
    report("metrics_http_request", (now_ns() - t0) / N_OPS, 1);

    pthread_t th[2];
    t0 = now_ns();
    for (uintptr_t i = 0; i < 2; i++) {
        if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) {
            return 1;
        }
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    report("metrics_http_request_2threads", (now_ns() - t0) / N_OPS, 2);

    struct at_metrics_registry *r = at_metrics_registry_new();
    static const char *const l[] = {"provider", "type", "result"};
    struct at_metric *c = at_metric_define(r, AT_METRIC_COUNTER, "b_total", "b", 3, l, 1024,
                                           NULL, 0);
    const char *v[] = {"provider-name-0001", "SgxEnclave", "ok"};
    at_metric_add(c, v, 1);
    t0 = now_ns();
    for (unsigned i = 0; i < N_OPS; i++) {
        at_metric_add(c, v, 1);
    }
    report("metrics_counter_3labels", (now_ns() - t0) / N_OPS, 1);

    t0 = now_ns();
    unsigned renders = 200;
    size_t len = 0;
    for (unsigned i = 0; i < renders; i++) {
        free(at_metrics_scrape(&len));
    }
    double per = (now_ns() - t0) / renders;
    printf("{\"bench\":\"metrics_render\",\"ns_per_op\":%.0f,\"bytes\":%zu,"
           "\"floor_ops_per_s\":null}\n",
           per, len);
    at_metrics_registry_free(r);
    return 0;
}
