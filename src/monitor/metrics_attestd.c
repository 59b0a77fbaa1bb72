/*
 * attestd's metrics (docs/metrics.md): the families, the audit observer that feeds the
 * security counters, and the calls from the HTTP layer and the monitor. Label values
 * come from bounded sets (route names, status codes, attestation types, reason classes,
 * operation names) or from resolved provider names; every family also has a series cap.
 */
#include "monitor/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef ATTESTD_VERSION
#define ATTESTD_VERSION "unknown"
#endif

static struct {
    struct at_metrics_registry *reg;
    struct at_metric *build_info, *start_time, *http_requests, *http_duration, *attestations,
        *authn_failures, *authz_failures, *policy_changes, *signer_changes, *role_changes,
        *collateral, *backup, *alerts, *webhook, *conn_refused, *throttled;
    bool attached;
} G;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(int64_t (*)(void)) backup_fn;

static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10};

static struct at_metric *def(enum at_metric_type t, const char *name, const char *help,
                             unsigned nl, const char *const *labels, unsigned max)
{
    bool hist = t == AT_METRIC_HISTOGRAM;
    return at_metric_define(G.reg, t, name, help, nl, labels, max, hist ? latency_bounds : NULL,
                            hist ? (unsigned)(sizeof(latency_bounds) / sizeof(latency_bounds[0]))
                                 : 0);
}

static void backup_hook(void *ctx)
{
    (void)ctx;
    int64_t (*fn)(void) = atomic_load(&backup_fn);
    if (fn != NULL) {
        at_metric_set(G.backup, NULL, (double)fn());
    }
}

static void init_once(void)
{
    G.reg = at_metrics_registry_new();
    if (G.reg == NULL) {
        return;
    }
    static const char *const l_version[] = {"version"};
    static const char *const l_route_status[] = {"route", "status"};
    static const char *const l_route[] = {"route"};
    static const char *const l_att[] = {"provider", "type", "result"};
    static const char *const l_reason[] = {"reason"};
    static const char *const l_action[] = {"action"};
    static const char *const l_policy[] = {"provider", "type", "operation"};
    static const char *const l_signer[] = {"provider", "operation"};
    static const char *const l_op[] = {"operation"};
    static const char *const l_coll[] = {"tee", "fmspc", "ca"};
    static const char *const l_rule[] = {"rule"};
    static const char *const l_outcome[] = {"outcome"};
    G.build_info = def(AT_METRIC_GAUGE, "attestd_build_info",
                       "Build information; the value is always 1.", 1, l_version, 2);
    G.start_time = def(AT_METRIC_GAUGE, "attestd_process_start_time_seconds",
                       "Start time of the process since the Unix epoch in seconds.", 0, NULL, 2);
    G.http_requests = def(AT_METRIC_COUNTER, "attestd_http_requests_total",
                          "HTTP requests completed, by route and status code.", 2, l_route_status,
                          512);
    G.http_duration = def(AT_METRIC_HISTOGRAM, "attestd_http_request_duration_seconds",
                          "Time from the first byte of a request to its completion, by route.", 1,
                          l_route, 64);
    G.attestations = def(AT_METRIC_COUNTER, "attestd_attestations_total",
                         "Attestation requests, by provider, attestation type and result.", 3,
                         l_att, 1024);
    G.authn_failures = def(AT_METRIC_COUNTER, "attestd_authentication_failures_total",
                           "Requests refused with 401, by reason class.", 1, l_reason, 16);
    G.authz_failures = def(AT_METRIC_COUNTER, "attestd_authorization_failures_total",
                           "Requests refused with 403, by the action that was refused.", 1,
                           l_action, 32);
    G.policy_changes = def(AT_METRIC_COUNTER, "attestd_policy_changes_total",
                           "Successful policy set and reset operations.", 3, l_policy, 1024);
    G.signer_changes = def(AT_METRIC_COUNTER, "attestd_signer_certificate_changes_total",
                           "Successful policy-signer certificate additions and removals.", 2,
                           l_signer, 512);
    G.role_changes = def(AT_METRIC_COUNTER, "attestd_role_assignment_changes_total",
                         "Successful role assignment changes.", 1, l_op, 8);
    G.collateral = def(AT_METRIC_GAUGE, "attestd_collateral_next_update_timestamp_seconds",
                       "Earliest nextUpdate of the stored DCAP collateral (TCB info, QE identity, "
                       "CRLs) per TEE, FMSPC and PCK CA, in Unix seconds.",
                       3, l_coll, 4096);
    G.backup = def(AT_METRIC_GAUGE, "attestd_backup_last_success_timestamp_seconds",
                   "Time of the last successful backup in Unix seconds (0: none yet).", 0, NULL,
                   2);
    G.alerts = def(AT_METRIC_COUNTER, "attestd_alerts_fired_total", "Alert rule firings, by rule.",
                   1, l_rule, 16);
    G.webhook = def(AT_METRIC_COUNTER, "attestd_alert_webhook_deliveries_total",
                    "Alert webhook delivery attempts by outcome (delivered, retry, gave_up, "
                    "dropped).",
                    1, l_outcome, 8);
    G.conn_refused = def(AT_METRIC_COUNTER, "attestd_connections_refused_total",
                         "Connections closed before the TLS handshake by the network access "
                         "policy (public_network_access, allowed_networks).",
                         0, NULL, 2);
    G.throttled = def(AT_METRIC_COUNTER, "attestd_requests_throttled_total",
                      "Requests answered 429 by a rate limit or the authentication-failure "
                      "throttle.",
                      0, NULL, 2);
    const char *v[] = {ATTESTD_VERSION};
    at_metric_set(G.build_info, v, 1);
    at_metric_set(G.start_time, NULL, (double)time(NULL));
    at_metrics_on_render(G.reg, backup_hook, NULL);
}

struct at_metrics_registry *at_metrics_global(void)
{
    pthread_once(&g_once, init_once);
    return G.reg;
}

void at_metrics_http_request(const char *route, unsigned status, double seconds)
{
    if (at_metrics_global() == NULL) {
        return;
    }
    char st[12];
    snprintf(st, sizeof(st), "%u", status);
    const char *rs[] = {route != NULL ? route : "other", st};
    at_metric_add(G.http_requests, rs, 1);
    at_metric_observe(G.http_duration, rs, seconds);
}

/* ---- label classes ---- */

static bool eq(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

/* The auth module's failure checks (auth.c UNAUTH) grouped into a few classes. */
static const char *reason_class(const char *check)
{
    static const struct {
        const char *check, *cls;
    } map[] = {
        {"missing_token", "missing_token"},   {"malformed_token", "malformed_token"},
        {"bad_signature", "bad_signature"},   {"algorithm", "bad_signature"},
        {"unknown_kid", "bad_signature"},     {"expired", "expired"},
        {"not_yet_valid", "expired"},         {"audience", "wrong_issuer_or_audience"},
        {"tenant", "wrong_issuer_or_audience"}, {"unknown_issuer", "wrong_issuer_or_audience"},
        {"no_identity_provider", "no_identity_provider"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (eq(check, map[i].check)) {
            return map[i].cls;
        }
    }
    return "other";
}

static const char *type_class(const char *t)
{
    static const char *const known[] = {"SgxEnclave", "OpenEnclave", "TdxVm", "SevSnpVm", "Tpm"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (t != NULL && strcasecmp(t, known[i]) == 0) {
            return known[i];
        }
    }
    return t == NULL ? "unknown" : "other";
}

/* An error code as a label: letters only and short, else "error". */
static const char *result_class(const char *r)
{
    if (r == NULL || r[0] == '\0') {
        return "error";
    }
    size_t n = strlen(r);
    if (n > 48) {
        return "error";
    }
    for (size_t i = 0; i < n; i++) {
        char c = r[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.')) {
            return "error";
        }
    }
    return r;
}

/* Results of a management action that changed (or confirmed) state (manage.c, routes_admin.c). */
bool at_metrics_result_ok(const char *result)
{
    static const char *const ok[] = {"ok", "Updated", "Removed", "IsPresent", "IsAbsent"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (eq(result, ok[i])) {
            return true;
        }
    }
    return false;
}

static const char *provider_of(const struct at_audit_rec *r)
{
    return r->provider != NULL && r->provider[0] != '\0' ? r->provider : "default";
}

static void on_management(const struct at_audit_rec *r)
{
    if (!at_metrics_result_ok(r->result) || r->operation == NULL) {
        return;
    }
    const char *op = r->operation;
    if (eq(op, "policy.set") || eq(op, "policy.reset")) {
        const char *t = r->attestation_type != NULL ? r->attestation_type : r->target;
        const char *v[] = {provider_of(r), type_class(t), op};
        at_metric_add(G.policy_changes, v, 1);
    } else if (eq(op, "certificates.add") || eq(op, "certificates.remove")) {
        const char *v[] = {provider_of(r), op};
        at_metric_add(G.signer_changes, v, 1);
    } else if (eq(op, "roleAssignments.assign") || eq(op, "roleAssignments.remove")) {
        const char *v[] = {op};
        at_metric_add(G.role_changes, v, 1);
    }
}

void at_metrics_audit_observer(const struct at_audit_rec *r, void *ctx)
{
    (void)ctx;
    if (r == NULL || at_metrics_global() == NULL) {
        return;
    }
    switch (r->kind) {
    case AT_AUDIT_MANAGEMENT:
        on_management(r);
        break;
    case AT_AUDIT_UNAUTHENTICATED: {
        const char *v[] = {reason_class(r->result)};
        at_metric_add(G.authn_failures, v, 1);
        break;
    }
    case AT_AUDIT_FORBIDDEN: {
        /* The refused action: in `detail` (result "Forbidden"), or as the result itself. */
        const char *v[] = {result_class(eq(r->result, "Forbidden") && r->detail != NULL
                                            ? r->detail
                                            : r->result)};
        at_metric_add(G.authz_failures, v, 1);
        break;
    }
    case AT_AUDIT_ATTESTATION: {
        const char *res = eq(r->result, "ok") ? "ok" : result_class(r->result);
        const char *v[] = {provider_of(r), type_class(r->attestation_type), res};
        at_metric_add(G.attestations, v, 1);
        break;
    }
    case AT_AUDIT_ALERT:
    case AT_AUDIT_BACKUP:
    case AT_AUDIT_SYSTEM:
        break;
    }
}

bool at_metrics_attach(void)
{
    if (at_metrics_global() == NULL) {
        return false;
    }
    pthread_mutex_lock(&g_lock);
    bool ok = G.attached || at_audit_observe(at_metrics_audit_observer, NULL);
    G.attached = ok;
    pthread_mutex_unlock(&g_lock);
    return ok;
}

void at_metrics_alert_fired(const char *rule)
{
    if (at_metrics_global() != NULL) {
        const char *v[] = {rule};
        at_metric_add(G.alerts, v, 1);
    }
}

void at_metrics_webhook_outcome(const char *outcome)
{
    if (at_metrics_global() != NULL) {
        const char *v[] = {outcome};
        at_metric_add(G.webhook, v, 1);
    }
}

void at_metrics_connection_refused(void)
{
    if (at_metrics_global() != NULL) {
        at_metric_add(G.conn_refused, NULL, 1);
    }
}

void at_metrics_request_throttled(void)
{
    if (at_metrics_global() != NULL) {
        at_metric_add(G.throttled, NULL, 1);
    }
}

void at_metrics_set_backup_source(int64_t (*fn)(void))
{
    atomic_store(&backup_fn, fn);
}

void at_metrics_set_collateral(const struct at_collateral_expiry *items, size_t n)
{
    if (at_metrics_global() == NULL) {
        return;
    }
    pthread_mutex_lock(&g_lock);
    at_metric_reset(G.collateral);
    for (size_t i = 0; i < n; i++) {
        const char *v[] = {items[i].tee, items[i].fmspc, items[i].ca};
        at_metric_set(G.collateral, v, (double)items[i].next_update);
    }
    pthread_mutex_unlock(&g_lock);
}

char *at_metrics_scrape(size_t *len)
{
    return at_metrics_render(at_metrics_global(), len);
}
