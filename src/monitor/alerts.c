/*
 * The alert rule engine (alerts.h): change rules fire on every successful change; the
 * window rules keep a bounded state (one timestamp ring per source, one per-second bucket
 * ring for the attestation ratio) and a cooldown of one window, so one burst fires once.
 */
#include "monitor/alerts.h"

#include "base/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct src_win {
    char key[64];
    int64_t *ring; /* auth_failures_n timestamps */
    unsigned head, count;
    int64_t cooldown_until;
    int64_t last_seen;
};

struct bucket {
    int64_t sec;
    uint32_t total, failed;
};

struct coll_fired {
    char key[48];
    int64_t at;
};

struct at_alerts {
    struct at_alert_config cfg;
    at_alert_clock clock;
    at_alert_sink sink;
    void *sink_ctx;
    pthread_mutex_t lock;
    struct src_win *srcs;
    unsigned n_srcs;
    struct bucket *buckets; /* ratio_window_s */
    int64_t ratio_cooldown_until;
    struct coll_fired *coll;
    unsigned n_coll;
};

/* A firing prepared under the lock, delivered after it. */
struct pending {
    char rule[32];
    const char *severity;
    int64_t time;
    char source[64], provider[64], principal[192], operation[48], detail[256];
    bool has_source, has_provider, has_principal, has_operation;
};

static int64_t wall_clock(void)
{
    return at_time_now();
}

struct at_alerts *at_alerts_new(const struct at_alert_config *cfg, at_alert_clock clock,
                                at_alert_sink sink, void *sink_ctx)
{
    struct at_alerts *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return NULL;
    }
    at_alert_config_copy(&a->cfg, cfg);
    a->clock = clock != NULL ? clock : wall_clock;
    a->sink = sink;
    a->sink_ctx = sink_ctx;
    if (a->cfg.auth_failures_n > AT_ALERT_AUTH_N_MAX) {
        a->cfg.auth_failures_n = AT_ALERT_AUTH_N_MAX;
    }
    if (a->cfg.ratio_window_s > AT_ALERT_WINDOW_MAX_S) {
        a->cfg.ratio_window_s = AT_ALERT_WINDOW_MAX_S;
    }
    a->srcs = calloc(AT_ALERT_SOURCES_MAX, sizeof(a->srcs[0]));
    a->coll = calloc(AT_ALERT_COLLATERAL_MAX, sizeof(a->coll[0]));
    if (a->cfg.ratio_window_s > 0) {
        a->buckets = calloc(a->cfg.ratio_window_s, sizeof(a->buckets[0]));
    }
    if (a->srcs == NULL || a->coll == NULL || (a->cfg.ratio_window_s > 0 && a->buckets == NULL) ||
        pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a->srcs);
        free(a->coll);
        free(a->buckets);
        at_alert_config_clear(&a->cfg);
        free(a);
        return NULL;
    }
    return a;
}

void at_alerts_free(struct at_alerts *a)
{
    if (a == NULL) {
        return;
    }
    for (unsigned i = 0; i < a->n_srcs; i++) {
        free(a->srcs[i].ring);
    }
    free(a->srcs);
    free(a->coll);
    free(a->buckets);
    pthread_mutex_destroy(&a->lock);
    at_alert_config_clear(&a->cfg);
    free(a);
}

static void copy(char *dst, size_t cap, const char *src, bool *has)
{
    *has = src != NULL;
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static void deliver(struct at_alerts *a, const struct pending *p)
{
    struct at_alert_event ev = {
        .rule = p->rule,
        .severity = p->severity,
        .time = p->time,
        .source = p->has_source ? p->source : NULL,
        .provider = p->has_provider ? p->provider : NULL,
        .principal = p->has_principal ? p->principal : NULL,
        .operation = p->has_operation ? p->operation : NULL,
        .detail = p->detail,
    };
    if (a->sink != NULL) {
        a->sink(&ev, a->sink_ctx);
    }
}

static bool eq(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

/* Change rules: one firing per successful change. */
static bool change_rule(struct at_alerts *a, const struct at_audit_rec *r, struct pending *p)
{
    const char *op = r->operation;
    const char *rule = NULL;
    if ((eq(op, "policy.set") || eq(op, "policy.reset")) && a->cfg.policy_changed) {
        rule = "policy_changed";
    } else if ((eq(op, "certificates.add") || eq(op, "certificates.remove")) &&
               a->cfg.signer_changed) {
        rule = "signer_changed";
    } else if ((eq(op, "roleAssignments.assign") || eq(op, "roleAssignments.remove")) &&
               a->cfg.role_changed) {
        rule = "role_changed";
    }
    if (rule == NULL || !at_metrics_result_ok(r->result)) {
        return false;
    }
    snprintf(p->rule, sizeof(p->rule), "%s", rule);
    p->severity = "warning";
    copy(p->source, sizeof(p->source), r->source, &p->has_source);
    copy(p->provider, sizeof(p->provider), r->provider, &p->has_provider);
    copy(p->principal, sizeof(p->principal), r->principal, &p->has_principal);
    copy(p->operation, sizeof(p->operation), op, &p->has_operation);
    const char *t = r->attestation_type != NULL ? r->attestation_type : r->target;
    snprintf(p->detail, sizeof(p->detail), "%s by %s on provider %s%s%s (result %s)", op,
             r->principal != NULL ? r->principal : "unknown principal",
             r->provider != NULL ? r->provider : "-", t != NULL ? ", target " : "",
             t != NULL ? t : "", r->result);
    return true;
}

static struct src_win *source_slot(struct at_alerts *a, const char *key, int64_t now)
{
    for (unsigned i = 0; i < a->n_srcs; i++) {
        if (strcmp(a->srcs[i].key, key) == 0) {
            return &a->srcs[i];
        }
    }
    struct src_win *w;
    if (a->n_srcs < AT_ALERT_SOURCES_MAX) {
        w = &a->srcs[a->n_srcs];
        w->ring = calloc(a->cfg.auth_failures_n, sizeof(w->ring[0]));
        if (w->ring == NULL) {
            return NULL;
        }
        a->n_srcs++;
    } else {
        /* Full: reuse the least recently seen source's window. */
        w = &a->srcs[0];
        for (unsigned i = 1; i < a->n_srcs; i++) {
            if (a->srcs[i].last_seen < w->last_seen) {
                w = &a->srcs[i];
            }
        }
    }
    int64_t *ring = w->ring;
    memset(w, 0, sizeof(*w));
    w->ring = ring;
    w->last_seen = now;
    snprintf(w->key, sizeof(w->key), "%s", key);
    return w;
}

static bool auth_rule(struct at_alerts *a, const struct at_audit_rec *r, int64_t now,
                      struct pending *p)
{
    unsigned n = a->cfg.auth_failures_n;
    int64_t m = (int64_t)a->cfg.auth_failures_window_s;
    if (n == 0 || m == 0) {
        return false;
    }
    const char *key = r->source != NULL ? r->source : "unknown";
    struct src_win *w = source_slot(a, key, now);
    if (w == NULL) {
        return false;
    }
    w->last_seen = now;
    w->ring[w->head] = now;
    w->head = (w->head + 1) % n;
    if (w->count < n) {
        w->count++;
    }
    /* With the ring full, the slot `head` now points at holds the N-th most recent. */
    int64_t oldest = w->ring[w->count < n ? 0 : w->head];
    if (w->count < n || now - oldest >= m || now < w->cooldown_until) {
        return false;
    }
    w->cooldown_until = now + m;
    snprintf(p->rule, sizeof(p->rule), "auth_failures");
    p->severity = "warning";
    copy(p->source, sizeof(p->source), r->source, &p->has_source);
    copy(p->provider, sizeof(p->provider), NULL, &p->has_provider);
    snprintf(p->detail, sizeof(p->detail),
             "%u authentication failures within %lld s from source %s (last reason %s)", n,
             (long long)m, key, r->result != NULL ? r->result : "unknown");
    return true;
}

static bool ratio_rule(struct at_alerts *a, const struct at_audit_rec *r, int64_t now,
                       struct pending *p)
{
    unsigned w = a->cfg.ratio_window_s;
    if (w == 0 || a->buckets == NULL || now < 0) {
        return false;
    }
    struct bucket *b = &a->buckets[(uint64_t)now % w];
    if (b->sec != now) {
        b->sec = now;
        b->total = b->failed = 0;
    }
    b->total++;
    if (!eq(r->result, "ok")) {
        b->failed++;
    }
    uint64_t total = 0, failed = 0;
    for (unsigned i = 0; i < w; i++) {
        if (a->buckets[i].sec > now - (int64_t)w && a->buckets[i].sec <= now) {
            total += a->buckets[i].total;
            failed += a->buckets[i].failed;
        }
    }
    if (total == 0 || total < a->cfg.ratio_min || (double)failed <= a->cfg.ratio * (double)total ||
        now < a->ratio_cooldown_until) {
        return false;
    }
    a->ratio_cooldown_until = now + (int64_t)w;
    snprintf(p->rule, sizeof(p->rule), "attestation_failure_ratio");
    p->severity = "critical";
    copy(p->source, sizeof(p->source), NULL, &p->has_source);
    copy(p->provider, sizeof(p->provider), NULL, &p->has_provider);
    snprintf(p->detail, sizeof(p->detail),
             "%llu of %llu attestations failed within %u s (ratio %.3f above %.3f)",
             (unsigned long long)failed, (unsigned long long)total, w,
             (double)failed / (double)total, a->cfg.ratio);
    return true;
}

void at_alerts_observe(struct at_alerts *a, const struct at_audit_rec *r)
{
    if (a == NULL || r == NULL) {
        return;
    }
    struct pending p;
    memset(&p, 0, sizeof(p));
    bool fire = false;
    pthread_mutex_lock(&a->lock);
    int64_t now = a->clock();
    p.time = now;
    switch (r->kind) {
    case AT_AUDIT_MANAGEMENT:
        fire = change_rule(a, r, &p);
        break;
    case AT_AUDIT_UNAUTHENTICATED:
        fire = auth_rule(a, r, now, &p);
        break;
    case AT_AUDIT_ATTESTATION:
        fire = ratio_rule(a, r, now, &p);
        break;
    case AT_AUDIT_FORBIDDEN:
    case AT_AUDIT_ALERT:
    case AT_AUDIT_BACKUP:
    case AT_AUDIT_SYSTEM:
        break;
    }
    pthread_mutex_unlock(&a->lock);
    if (fire) {
        deliver(a, &p);
    }
}

void at_alerts_audit_observer(const struct at_audit_rec *r, void *ctx)
{
    at_alerts_observe(ctx, r);
}

void at_alerts_check_collateral(struct at_alerts *a, const struct at_collateral_expiry *items,
                                size_t n)
{
    if (a == NULL || a->cfg.collateral_days == 0) {
        return;
    }
    int64_t horizon = (int64_t)a->cfg.collateral_days * 86400;
    for (size_t i = 0; i < n; i++) {
        const struct at_collateral_expiry *it = &items[i];
        struct pending p;
        memset(&p, 0, sizeof(p));
        bool fire = false;
        pthread_mutex_lock(&a->lock);
        int64_t now = a->clock();
        if (it->next_update - now <= horizon) {
            char key[48];
            snprintf(key, sizeof(key), "%s/%s/%s", it->tee, it->fmspc, it->ca);
            struct coll_fired *slot = NULL;
            for (unsigned k = 0; k < a->n_coll; k++) {
                if (strcmp(a->coll[k].key, key) == 0) {
                    slot = &a->coll[k];
                }
            }
            if (slot == NULL && a->n_coll < AT_ALERT_COLLATERAL_MAX) {
                slot = &a->coll[a->n_coll++];
                snprintf(slot->key, sizeof(slot->key), "%s", key);
                slot->at = INT64_MIN;
            }
            if (slot != NULL && (slot->at == INT64_MIN || now - slot->at >= 86400)) {
                slot->at = now;
                fire = true;
                char when[32];
                at_time_format(it->next_update, when, sizeof(when));
                bool past = it->next_update <= now;
                p.time = now;
                p.severity = past ? "critical" : "warning";
                snprintf(p.rule, sizeof(p.rule), "collateral_expiry");
                snprintf(p.detail, sizeof(p.detail),
                         "collateral tee=%s fmspc=%s ca=%s %s at %s (threshold %u days)", it->tee,
                         it->fmspc, it->ca, past ? "expired" : "expires", when,
                         a->cfg.collateral_days);
            }
        }
        pthread_mutex_unlock(&a->lock);
        if (fire) {
            deliver(a, &p);
        }
    }
}
