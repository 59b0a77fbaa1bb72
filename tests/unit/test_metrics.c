/*
 * The metrics registry and its Prometheus text exposition (src/monitor/metrics.c,
 * docs/metrics.md): exact output for a small registry, label and HELP escaping, histogram
 * buckets (cumulative, le="+Inf", _sum, _count), the overflow series, the number format,
 * bad definitions, and the attestd audit observer's label classes.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "monitor/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_exposition_exact(void **state)
{
    (void)state;
    struct at_metrics_registry *r = at_metrics_registry_new();
    assert_non_null(r);
    static const char *const l2[] = {"route", "status"};
    struct at_metric *c = at_metric_define(r, AT_METRIC_COUNTER, "t_requests_total",
                                           "Requests.", 2, l2, 8, NULL, 0);
    struct at_metric *g =
        at_metric_define(r, AT_METRIC_GAUGE, "t_temperature_celsius", "A gauge.", 0, NULL, 2,
                         NULL, 0);
    struct at_metric *unused =
        at_metric_define(r, AT_METRIC_COUNTER, "t_unused_total", "Never set.", 0, NULL, 2,
                         NULL, 0);
    assert_non_null(c);
    assert_non_null(g);
    assert_non_null(unused);
    const char *a[] = {"attest", "200"};
    const char *b[] = {"certs", "404"};
    at_metric_add(c, a, 1);
    at_metric_add(c, a, 2);
    at_metric_add(c, b, 1);
    at_metric_set(g, NULL, -1.5);
    size_t len = 0;
    char *text = at_metrics_render(r, &len);
    assert_non_null(text);
    assert_string_equal(text, "# HELP t_requests_total Requests.\n"
                              "# TYPE t_requests_total counter\n"
                              "t_requests_total{route=\"attest\",status=\"200\"} 3\n"
                              "t_requests_total{route=\"certs\",status=\"404\"} 1\n"
                              "# HELP t_temperature_celsius A gauge.\n"
                              "# TYPE t_temperature_celsius gauge\n"
                              "t_temperature_celsius -1.5\n");
    assert_int_equal(len, strlen(text));
    free(text);
    at_metrics_registry_free(r);
}

static void test_escaping(void **state)
{
    (void)state;
    struct at_metrics_registry *r = at_metrics_registry_new();
    static const char *const l1[] = {"v"};
    struct at_metric *c = at_metric_define(r, AT_METRIC_COUNTER, "t_esc_total",
                                           "Help with \\ and\nnewline \"quoted\".", 1, l1, 8,
                                           NULL, 0);
    const char *v1[] = {"a\"b\\c\nd"};
    const char *v2[] = {"caf\xc3\xa9\x01"}; /* non-ASCII and control bytes become '?' */
    at_metric_add(c, v1, 1);
    at_metric_add(c, v2, 1);
    char *text = at_metrics_render(r, NULL);
    assert_string_equal(text, "# HELP t_esc_total Help with \\\\ and\\nnewline \"quoted\".\n"
                              "# TYPE t_esc_total counter\n"
                              "t_esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"
                              "t_esc_total{v=\"caf???\"} 1\n");
    free(text);
    at_metrics_registry_free(r);
}

static void test_histogram(void **state)
{
    (void)state;
    struct at_metrics_registry *r = at_metrics_registry_new();
    static const char *const l1[] = {"route"};
    static const double bounds[] = {0.01, 0.1, 1};
    struct at_metric *h = at_metric_define(r, AT_METRIC_HISTOGRAM, "t_latency_seconds",
                                           "Latency.", 1, l1, 4, bounds, 3);
    assert_non_null(h);
    const char *v[] = {"attest"};
    at_metric_observe(h, v, 0.005);
    at_metric_observe(h, v, 0.01); /* on the bound: le is inclusive */
    at_metric_observe(h, v, 0.5);
    at_metric_observe(h, v, 7);
    at_metric_observe(h, v, NAN); /* ignored */
    char *text = at_metrics_render(r, NULL);
    assert_string_equal(text, "# HELP t_latency_seconds Latency.\n"
                              "# TYPE t_latency_seconds histogram\n"
                              "t_latency_seconds_bucket{route=\"attest\",le=\"0.01\"} 2\n"
                              "t_latency_seconds_bucket{route=\"attest\",le=\"0.1\"} 2\n"
                              "t_latency_seconds_bucket{route=\"attest\",le=\"1\"} 3\n"
                              "t_latency_seconds_bucket{route=\"attest\",le=\"+Inf\"} 4\n"
                              "t_latency_seconds_sum{route=\"attest\"} 7.515\n"
                              "t_latency_seconds_count{route=\"attest\"} 4\n");
    free(text);
    /* Without labels: le is the only label. */
    struct at_metric *h0 =
        at_metric_define(r, AT_METRIC_HISTOGRAM, "t_plain_seconds", "P.", 0, NULL, 2, bounds, 1);
    at_metric_observe(h0, NULL, 2);
    text = at_metrics_render(r, NULL);
    assert_non_null(strstr(text, "t_plain_seconds_bucket{le=\"0.01\"} 0\n"
                                 "t_plain_seconds_bucket{le=\"+Inf\"} 1\n"
                                 "t_plain_seconds_sum 2\n"
                                 "t_plain_seconds_count 1\n"));
    free(text);
    at_metrics_registry_free(r);
}

static void test_overflow(void **state)
{
    (void)state;
    struct at_metrics_registry *r = at_metrics_registry_new();
    static const char *const l1[] = {"provider"};
    /* max_series 3: two real label sets, then everything else in the overflow series. */
    struct at_metric *c =
        at_metric_define(r, AT_METRIC_COUNTER, "t_cap_total", "Capped.", 1, l1, 3, NULL, 0);
    const char *names[] = {"a", "b", "c", "d", "a", "e"};
    for (size_t i = 0; i < 6; i++) {
        const char *v[] = {names[i]};
        at_metric_add(c, v, 1);
    }
    char *text = at_metrics_render(r, NULL);
    assert_string_equal(text, "# HELP t_cap_total Capped.\n"
                              "# TYPE t_cap_total counter\n"
                              "t_cap_total{provider=\"a\"} 2\n"
                              "t_cap_total{provider=\"b\"} 1\n"
                              "t_cap_total{provider=\"_overflow\"} 3\n");
    free(text);
    /* Long label values are truncated to AT_METRICS_LABEL_MAX bytes (and still match). */
    struct at_metric *t =
        at_metric_define(r, AT_METRIC_COUNTER, "t_long_total", "Long.", 1, l1, 4, NULL, 0);
    char longv[300];
    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    const char *lv[] = {longv};
    at_metric_add(t, lv, 1);
    longv[200] = 'y'; /* differs only past the cap: the same series */
    at_metric_add(t, lv, 1);
    text = at_metrics_render(r, NULL);
    char want[200];
    memcpy(want, "t_long_total{provider=\"", 23);
    memset(want + 23, 'x', AT_METRICS_LABEL_MAX);
    strcpy(want + 23 + AT_METRICS_LABEL_MAX, "\"} 2\n");
    assert_non_null(strstr(text, want));
    free(text);
    /* Gauge reset drops every series. */
    struct at_metric *g = at_metric_define(r, AT_METRIC_GAUGE, "t_g", "G.", 1, l1, 4, NULL, 0);
    const char *gv[] = {"x"};
    at_metric_set(g, gv, 5);
    at_metric_reset(g);
    const char *gv2[] = {"y"};
    at_metric_set(g, gv2, 6);
    text = at_metrics_render(r, NULL);
    assert_null(strstr(text, "t_g{provider=\"x\"}"));
    assert_non_null(strstr(text, "t_g{provider=\"y\"} 6\n"));
    free(text);
    at_metrics_registry_free(r);
}

static void test_bad_definitions_and_types(void **state)
{
    (void)state;
    struct at_metrics_registry *r = at_metrics_registry_new();
    static const double up[] = {1, 2}, down[] = {2, 1};
    static const char *const l5[] = {"a", "b", "c", "d", "e"};
    assert_null(at_metric_define(r, AT_METRIC_HISTOGRAM, "h", "h", 0, NULL, 2, down, 2));
    assert_null(at_metric_define(r, AT_METRIC_HISTOGRAM, "h", "h", 0, NULL, 2, NULL, 0));
    assert_null(at_metric_define(r, AT_METRIC_COUNTER, "c", "c", 0, NULL, 2, up, 2));
    assert_null(at_metric_define(r, AT_METRIC_COUNTER, "c", "c", 0, NULL, 1, NULL, 0));
    assert_null(at_metric_define(r, AT_METRIC_COUNTER, "c", "c", 5, l5, 8, NULL, 0));
    assert_null(at_metric_define(NULL, AT_METRIC_COUNTER, "c", "c", 0, NULL, 2, NULL, 0));
    /* Operations of the wrong type are ignored. */
    struct at_metric *c = at_metric_define(r, AT_METRIC_COUNTER, "t_c_total", "C.", 0, NULL, 2,
                                           NULL, 0);
    at_metric_set(c, NULL, 5);
    at_metric_observe(c, NULL, 5);
    char *text = at_metrics_render(r, NULL);
    assert_string_equal(text, "");
    free(text);
    at_metric_add(NULL, NULL, 1); /* no crash */
    at_metrics_registry_free(r);
}

static void test_format_double(void **state)
{
    (void)state;
    char b[64];
    at_metrics_format_double(0.1, b, sizeof(b));
    assert_string_equal(b, "0.1");
    at_metrics_format_double(1796007960, b, sizeof(b));
    assert_string_equal(b, "1796007960");
    at_metrics_format_double(INFINITY, b, sizeof(b));
    assert_string_equal(b, "+Inf");
    at_metrics_format_double(-INFINITY, b, sizeof(b));
    assert_string_equal(b, "-Inf");
    at_metrics_format_double(NAN, b, sizeof(b));
    assert_string_equal(b, "NaN");
    at_metrics_format_double(0.0025, b, sizeof(b));
    assert_string_equal(b, "0.0025");
}

/* The attestd families through the audit observer: reason classes and change counters. */
static void test_attestd_observer(void **state)
{
    (void)state;
    struct at_audit_rec r401 = {.kind = AT_AUDIT_UNAUTHENTICATED, .result = "unknown_kid"};
    at_metrics_audit_observer(&r401, NULL);
    r401.result = "something-new";
    at_metrics_audit_observer(&r401, NULL);
    struct at_audit_rec att = {.kind = AT_AUDIT_ATTESTATION,
                               .provider = "p1",
                               .attestation_type = "sgxenclave",
                               .result = "ok"};
    at_metrics_audit_observer(&att, NULL);
    att.result = "Weird code with spaces";
    at_metrics_audit_observer(&att, NULL);
    struct at_audit_rec pol = {.kind = AT_AUDIT_MANAGEMENT,
                               .provider = "p1",
                               .operation = "policy.reset",
                               .target = "TdxVm",
                               .result = "Removed"};
    at_metrics_audit_observer(&pol, NULL);
    pol.result = "Forbidden"; /* failed: not a change */
    at_metrics_audit_observer(&pol, NULL);
    struct at_audit_rec role = {.kind = AT_AUDIT_MANAGEMENT,
                                .operation = "roleAssignments.assign",
                                .result = "ok"};
    at_metrics_audit_observer(&role, NULL);
    struct at_audit_rec f = {.kind = AT_AUDIT_FORBIDDEN, .result = "Forbidden",
                             .detail = "policy.write"};
    at_metrics_audit_observer(&f, NULL);
    at_metrics_http_request("attest", 200, 0.003);
    char *text = at_metrics_scrape(NULL);
    assert_non_null(text);
    assert_non_null(
        strstr(text, "attestd_authentication_failures_total{reason=\"bad_signature\"} 1\n"));
    assert_non_null(strstr(text, "attestd_authentication_failures_total{reason=\"other\"} 1\n"));
    assert_non_null(strstr(text, "attestd_attestations_total{provider=\"p1\",type=\"SgxEnclave\","
                                 "result=\"ok\"} 1\n"));
    assert_non_null(strstr(text, "attestd_attestations_total{provider=\"p1\",type=\"SgxEnclave\","
                                 "result=\"error\"} 1\n"));
    assert_non_null(strstr(text, "attestd_policy_changes_total{provider=\"p1\",type=\"TdxVm\","
                                 "operation=\"policy.reset\"} 1\n"));
    assert_non_null(strstr(
        text, "attestd_role_assignment_changes_total{operation=\"roleAssignments.assign\"} 1\n"));
    assert_non_null(
        strstr(text, "attestd_authorization_failures_total{action=\"policy.write\"} 1\n"));
    assert_non_null(strstr(text, "attestd_http_requests_total{route=\"attest\",status=\"200\"} 1\n"));
    assert_non_null(strstr(text, "attestd_http_request_duration_seconds_bucket{route=\"attest\","
                                 "le=\"0.005\"} 1\n"));
    assert_non_null(strstr(text, "attestd_build_info{version=\"" ATTESTD_VERSION "\"} 1\n"));
    /* No backup source yet: the family is absent; with one, its value. */
    assert_null(strstr(text, "attestd_backup_last_success_timestamp_seconds"));
    free(text);
    at_metrics_set_backup_source(NULL);
    struct at_collateral_expiry items[] = {{"sgx", "00906ed50000", "platform", 1796007960}};
    at_metrics_set_collateral(items, 1);
    text = at_metrics_scrape(NULL);
    assert_non_null(strstr(text, "attestd_collateral_next_update_timestamp_seconds{tee=\"sgx\","
                                 "fmspc=\"00906ed50000\",ca=\"platform\"} 1796007960\n"));
    free(text);
}

static int64_t fake_backup(void)
{
    return 1700000000;
}

static void test_backup_source(void **state)
{
    (void)state;
    at_metrics_set_backup_source(fake_backup);
    char *text = at_metrics_scrape(NULL);
    assert_non_null(strstr(text, "# TYPE attestd_backup_last_success_timestamp_seconds gauge\n"
                                 "attestd_backup_last_success_timestamp_seconds 1700000000\n"));
    free(text);
}

/* Threads racing to create and bump the same label sets: exact totals, no lost updates. */
static struct at_metric *race_c, *race_h;

static void *race_worker(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < 20000; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%u", i % 5);
        const char *v[] = {k};
        at_metric_add(race_c, v, 1);
        at_metric_observe(race_h, v, 0.5);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    struct at_metrics_registry *r = at_metrics_registry_new();
    static const char *const l1[] = {"k"};
    static const double bounds[] = {1};
    race_c = at_metric_define(r, AT_METRIC_COUNTER, "t_race_total", "R.", 1, l1, 16, NULL, 0);
    race_h = at_metric_define(r, AT_METRIC_HISTOGRAM, "t_race_seconds", "R.", 1, l1, 16, bounds,
                              1);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, race_worker, NULL), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    char *text = at_metrics_render(r, NULL);
    for (int i = 0; i < 5; i++) {
        char want[96];
        snprintf(want, sizeof(want), "t_race_total{k=\"k%d\"} 16000\n", i);
        assert_non_null(strstr(text, want));
        snprintf(want, sizeof(want), "t_race_seconds_sum{k=\"k%d\"} 8000\n", i);
        assert_non_null(strstr(text, want));
        snprintf(want, sizeof(want), "t_race_seconds_count{k=\"k%d\"} 16000\n", i);
        assert_non_null(strstr(text, want));
    }
    assert_null(strstr(text, "_overflow"));
    free(text);
    at_metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition_exact),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_bad_definitions_and_types),
        cmocka_unit_test(test_format_double),
        cmocka_unit_test(test_attestd_observer),
        cmocka_unit_test(test_backup_source),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
