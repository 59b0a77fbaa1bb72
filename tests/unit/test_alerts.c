/*
 * Alert rules (src/monitor/alerts.c, alert_config.c; docs/alerts.md) on an injected
 * clock: N-1 failures do not fire, N fire once, the cooldown holds for one window per
 * source, other sources are independent, old failures slide out; the failure-ratio rule
 * with its minimum count; change rules fire only on success; the collateral rule fires
 * within D days, once per day per bundle; the config grammar with its negatives; the
 * webhook JSON.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "monitor/alert_sinks.h"
#include "monitor/alerts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t now_s;

static int64_t fake_clock(void)
{
    return now_s;
}

struct fired {
    unsigned n;
    char rule[8][40];
    char source[8][64];
    char detail[8][256];
    char severity[8][16];
};

static void capture(const struct at_alert_event *ev, void *ctx)
{
    struct fired *f = ctx;
    if (f->n < 8) {
        snprintf(f->rule[f->n], sizeof(f->rule[0]), "%s", ev->rule);
        snprintf(f->source[f->n], sizeof(f->source[0]), "%s", ev->source ? ev->source : "(null)");
        snprintf(f->detail[f->n], sizeof(f->detail[0]), "%s", ev->detail);
        snprintf(f->severity[f->n], sizeof(f->severity[0]), "%s", ev->severity);
    }
    f->n++;
}

static void fail_from(struct at_alerts *a, const char *src)
{
    struct at_audit_rec r = {.kind = AT_AUDIT_UNAUTHENTICATED, .source = src,
                             .result = "bad_signature"};
    at_alerts_observe(a, &r);
}

static void test_auth_window(void **state)
{
    (void)state;
    struct at_alert_config cfg = {.auth_failures_n = 5, .auth_failures_window_s = 60};
    struct fired f = {0};
    now_s = 1000;
    struct at_alerts *a = at_alerts_new(&cfg, fake_clock, capture, &f);
    assert_non_null(a);
    for (int i = 0; i < 4; i++) {
        fail_from(a, "10.0.0.1");
        now_s += 5;
    }
    assert_int_equal(f.n, 0); /* N-1: nothing */
    fail_from(a, "10.0.0.1"); /* the N-th within 60 s */
    assert_int_equal(f.n, 1);
    assert_string_equal(f.rule[0], "auth_failures");
    assert_string_equal(f.source[0], "10.0.0.1");
    assert_string_equal(f.severity[0], "warning");
    assert_string_equal(f.detail[0], "5 authentication failures within 60 s from source 10.0.0.1 "
                                     "(last reason bad_signature)");
    /* The rest of the burst: cooldown, no new firing. */
    for (int i = 0; i < 20; i++) {
        now_s += 2;
        fail_from(a, "10.0.0.1");
    }
    assert_int_equal(f.n, 1);
    /* Another source is independent; 4 from it are not enough. */
    for (int i = 0; i < 4; i++) {
        fail_from(a, "10.0.0.2");
    }
    assert_int_equal(f.n, 1);
    fail_from(a, "10.0.0.2");
    assert_int_equal(f.n, 2);
    assert_string_equal(f.source[1], "10.0.0.2");
    /* After the cooldown (60 s from the firing at t=1020), a fresh burst fires again. */
    now_s = 1020 + 60;
    for (int i = 0; i < 5; i++) {
        fail_from(a, "10.0.0.1");
    }
    assert_int_equal(f.n, 3);
    at_alerts_free(a);
}

static void test_auth_window_slides(void **state)
{
    (void)state;
    struct at_alert_config cfg = {.auth_failures_n = 3, .auth_failures_window_s = 10};
    struct fired f = {0};
    now_s = 0;
    struct at_alerts *a = at_alerts_new(&cfg, fake_clock, capture, &f);
    /* 3 failures spread over exactly 10 s: not "within 10 s". */
    fail_from(a, NULL);
    now_s = 5;
    fail_from(a, NULL);
    now_s = 10;
    fail_from(a, NULL);
    assert_int_equal(f.n, 0);
    now_s = 11; /* window now holds t=5,10,11 */
    fail_from(a, NULL);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.source[0], "(null)"); /* unknown source kept as null */
    /* Other record kinds never count. */
    struct at_audit_rec forbidden = {.kind = AT_AUDIT_FORBIDDEN, .source = "x"};
    for (int i = 0; i < 10; i++) {
        at_alerts_observe(a, &forbidden);
    }
    assert_int_equal(f.n, 1);
    at_alerts_free(a);
}

static void attest(struct at_alerts *a, bool ok)
{
    struct at_audit_rec r = {.kind = AT_AUDIT_ATTESTATION, .provider = "p",
                             .result = ok ? "ok" : "InvalidParameter"};
    at_alerts_observe(a, &r);
}

static void test_ratio(void **state)
{
    (void)state;
    struct at_alert_config cfg = {.ratio = 0.5, .ratio_window_s = 60, .ratio_min = 10};
    struct fired f = {0};
    now_s = 5000;
    struct at_alerts *a = at_alerts_new(&cfg, fake_clock, capture, &f);
    /* 9 failures alone: below the minimum count. */
    for (int i = 0; i < 9; i++) {
        attest(a, false);
    }
    assert_int_equal(f.n, 0);
    attest(a, false); /* 10 of 10 */
    assert_int_equal(f.n, 1);
    assert_string_equal(f.rule[0], "attestation_failure_ratio");
    assert_string_equal(f.severity[0], "critical");
    assert_string_equal(f.detail[0],
                        "10 of 10 attestations failed within 60 s (ratio 1.000 above 0.500)");
    /* Cooldown for one window. */
    for (int i = 0; i < 10; i++) {
        attest(a, false);
    }
    assert_int_equal(f.n, 1);
    /* Next window: exactly 50% is not above 0.5; 11 of 21 is. */
    now_s += 61;
    for (int i = 0; i < 10; i++) {
        attest(a, true);
        attest(a, false);
    }
    assert_int_equal(f.n, 1);
    attest(a, false);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.detail[1],
                        "11 of 21 attestations failed within 60 s (ratio 0.524 above 0.500)");
    /* Old outcomes slide out: 100 s later, 10 successes alone fire nothing. */
    now_s += 100;
    for (int i = 0; i < 10; i++) {
        attest(a, true);
    }
    assert_int_equal(f.n, 2);
    at_alerts_free(a);
}

static void test_change_rules(void **state)
{
    (void)state;
    struct at_alert_config cfg = {.policy_changed = true, .role_changed = true};
    struct fired f = {0};
    now_s = 1;
    struct at_alerts *a = at_alerts_new(&cfg, fake_clock, capture, &f);
    struct at_audit_rec r = {.kind = AT_AUDIT_MANAGEMENT, .principal = "tid/oid-1",
                             .provider = "p1", .operation = "policy.set",
                             .target = "SgxEnclave", .result = "Updated"};
    at_alerts_observe(a, &r);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.rule[0], "policy_changed");
    assert_string_equal(f.detail[0],
                        "policy.set by tid/oid-1 on provider p1, target SgxEnclave (result Updated)");
    r.result = "InvalidParameter"; /* a failed change: nothing */
    at_alerts_observe(a, &r);
    r.operation = "policy.get";
    r.result = "ok";
    at_alerts_observe(a, &r);
    assert_int_equal(f.n, 1);
    r.operation = "certificates.add"; /* signer rule off */
    r.result = "IsPresent";
    at_alerts_observe(a, &r);
    assert_int_equal(f.n, 1);
    r.operation = "roleAssignments.remove";
    r.result = "ok";
    at_alerts_observe(a, &r);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.rule[1], "role_changed");
    /* Each change fires: no cooldown on change rules. */
    at_alerts_observe(a, &r);
    assert_int_equal(f.n, 3);
    /* Alert records themselves are ignored. */
    struct at_audit_rec al = {.kind = AT_AUDIT_ALERT, .operation = "policy.set", .result = "ok"};
    at_alerts_observe(a, &al);
    assert_int_equal(f.n, 3);
    at_alerts_free(a);
}

static void test_collateral(void **state)
{
    (void)state;
    struct at_alert_config cfg = {.collateral_days = 7};
    struct fired f = {0};
    now_s = 1800000000;
    struct at_alerts *a = at_alerts_new(&cfg, fake_clock, capture, &f);
    struct at_collateral_expiry items[] = {
        {"sgx", "00906ed50000", "platform", 1800000000 + 8 * 86400}, /* 8 days: no */
        {"sgx", "00606a000000", "processor", 1800000000 + 7 * 86400}, /* 7 days: yes */
        {"tdx", "00806f050000", "platform", 1800000000 - 10},        /* expired: critical */
    };
    at_alerts_check_collateral(a, items, 3);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.rule[0], "collateral_expiry");
    assert_string_equal(f.severity[0], "warning");
    assert_string_equal(f.detail[0], "collateral tee=sgx fmspc=00606a000000 ca=processor expires "
                                     "at 2027-01-22T08:00:00Z (threshold 7 days)");
    assert_string_equal(f.severity[1], "critical");
    assert_non_null(strstr(f.detail[1], "tdx fmspc=00806f050000 ca=platform expired at"));
    /* An hour later: no repeat. A day later: again, and the 8-day one is now in range. */
    now_s += 3600;
    at_alerts_check_collateral(a, items, 3);
    assert_int_equal(f.n, 2);
    now_s += 86400;
    at_alerts_check_collateral(a, items, 3);
    assert_int_equal(f.n, 5);
    at_alerts_free(a);
    /* Rule off: nothing. */
    struct at_alert_config off = {0};
    struct fired g = {0};
    a = at_alerts_new(&off, fake_clock, capture, &g);
    at_alerts_check_collateral(a, items, 3);
    assert_int_equal(g.n, 0);
    at_alerts_free(a);
}

static at_status set(struct at_alert_config *c, const char *k, const char *v, struct at_err *e)
{
    at_err_init(e);
    return at_alert_config_set(c, k, v, strlen(v), e);
}

static void test_config_grammar(void **state)
{
    (void)state;
    struct at_alert_config c = {0};
    struct at_err e;
    assert_true(at_is_ok(set(&c, "alert_auth_failures", "10/60", &e)));
    assert_int_equal(c.auth_failures_n, 10);
    assert_int_equal(c.auth_failures_window_s, 60);
    assert_true(at_is_ok(set(&c, "alert_attestation_failure_ratio", "0.25/300/20", &e)));
    assert_true(c.ratio > 0.2499 && c.ratio < 0.2501);
    assert_int_equal(c.ratio_window_s, 300);
    assert_int_equal(c.ratio_min, 20);
    assert_true(at_is_ok(set(&c, "alert_collateral_expiry_days", "7", &e)));
    assert_int_equal(c.collateral_days, 7);
    assert_true(at_is_ok(set(&c, "alert_policy_changed", "on", &e)));
    assert_true(c.policy_changed);
    assert_true(at_is_ok(set(&c, "alert_syslog", "off", &e)));
    assert_false(c.syslog);
    assert_true(at_is_ok(set(&c, "alert_webhook_url", "https://hooks.example:8443/a?b=c", &e)));
    assert_string_equal(c.webhook_url, "https://hooks.example:8443/a?b=c");
    assert_true(at_alert_config_any(&c));
    struct at_alert_config copy;
    at_alert_config_copy(&copy, &c);
    assert_string_equal(copy.webhook_url, c.webhook_url);
    assert_ptr_not_equal(copy.webhook_url, c.webhook_url);
    at_alert_config_clear(&copy);
    assert_true(at_is_ok(set(&c, "alert_auth_failures", "off", &e)));
    assert_int_equal(c.auth_failures_n, 0);

    static const struct {
        const char *key, *value, *msg;
    } bad[] = {
        {"alert_auth_failures", "10", "expected N/SECONDS"},
        {"alert_auth_failures", "0/60", "0 is outside 1..1000"},
        {"alert_auth_failures", "10/0", "0 is outside 1..86400"},
        {"alert_auth_failures", "10/60/5", "expected N/SECONDS"},
        {"alert_auth_failures", "1001/60", "outside 1..1000"},
        {"alert_auth_failures", "-1/60", "expected a decimal integer"},
        {"alert_attestation_failure_ratio", "1/300/20", "0 <= RATIO < 1"},
        {"alert_attestation_failure_ratio", "0.5/300", "RATIO/SECONDS/MIN_ATTESTATIONS"},
        {"alert_attestation_failure_ratio", "0.5.1/300/2", "0 <= RATIO < 1"},
        {"alert_attestation_failure_ratio", "nan/300/2", "0 <= RATIO < 1"},
        {"alert_attestation_failure_ratio", "0.5/300/0", "outside 1..1000000"},
        {"alert_collateral_expiry_days", "366", "outside 0..365"},
        {"alert_policy_changed", "yes", "expected on or off"},
        {"alert_webhook_url", "http://hooks.example/a", "must start with https://"},
        {"alert_webhook_url", "https:///path", "missing host"},
        {"alert_webhook_url", "https://a b", "character not allowed"},
        {"alert_webhook_ca", "a\x01", "control character"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_status s = set(&c, bad[i].key, bad[i].value, &e);
        if (at_is_ok(s) || strstr(e.msg, bad[i].msg) == NULL) {
            fail_msg("%s = %s: got '%s'", bad[i].key, bad[i].value, e.msg);
        }
        assert_int_equal(e.code, AT_E_BAD_VALUE);
    }
    /* Failures leave the previous values. */
    assert_int_equal(c.ratio_window_s, 300);
    assert_int_equal(c.collateral_days, 7);
    at_status s = set(&c, "alert_unknown", "on", &e);
    assert_false(at_is_ok(s));
    at_alert_config_clear(&c);
    struct at_alert_config none = {0};
    assert_false(at_alert_config_any(&none));
}

static void test_json(void **state)
{
    (void)state;
    struct at_alert_event ev = {.rule = "policy_changed", .severity = "warning",
                                .time = 1800000000, .source = "127.0.0.1",
                                .provider = "p1", .principal = NULL,
                                .operation = "policy.set", .detail = "d \"q\""};
    char *s = at_alert_json(&ev);
    assert_non_null(s);
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "rule")), "policy_changed");
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2027-01-15T08:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(o, "time_unix")), 1800000000);
    assert_string_equal(json_string_value(json_object_get(o, "source")), "127.0.0.1");
    assert_true(json_is_null(json_object_get(o, "principal")));
    assert_string_equal(json_string_value(json_object_get(o, "detail")), "d \"q\"");
    json_decref(o);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_window),
        cmocka_unit_test(test_auth_window_slides),
        cmocka_unit_test(test_ratio),
        cmocka_unit_test(test_change_rules),
        cmocka_unit_test(test_collateral),
        cmocka_unit_test(test_config_grammar),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
