/* The audit trail (audit.h). Sink for now: one JSON object per line on stderr. */
#include "monitor/audit.h"

#include "base/timeutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    at_audit_observer fn;
    void *ctx;
} observers[AT_AUDIT_OBSERVERS_MAX];
static unsigned n_observers;
static _Thread_local bool in_observer;

const char *at_audit_kind_name(enum at_audit_kind k)
{
    switch (k) {
    case AT_AUDIT_MANAGEMENT:
        return "management";
    case AT_AUDIT_UNAUTHENTICATED:
        return "unauthenticated";
    case AT_AUDIT_FORBIDDEN:
        return "forbidden";
    case AT_AUDIT_ATTESTATION:
        return "attestation";
    case AT_AUDIT_ALERT:
        return "alert";
    case AT_AUDIT_BACKUP:
        return "backup";
    case AT_AUDIT_SYSTEM:
        return "system";
    }
    return "system";
}

bool at_audit_observe(at_audit_observer fn, void *ctx)
{
    if (fn == NULL || n_observers >= AT_AUDIT_OBSERVERS_MAX) {
        return false;
    }
    observers[n_observers].fn = fn;
    observers[n_observers].ctx = ctx;
    n_observers++;
    return true;
}

static void put(json_t *o, const char *k, const char *v)
{
    if (v == NULL) {
        return;
    }
    /* json_string refuses invalid UTF-8: such a value is recorded as null. */
    json_t *s = json_string(v);
    json_object_set_new(o, k, s != NULL ? s : json_null());
}

static void write_line(const struct at_audit_rec *r)
{
    char when[32];
    at_time_format(at_time_now(), when, sizeof(when));
    json_t *o = json_object();
    if (o == NULL) {
        return;
    }
    put(o, "audit", at_audit_kind_name(r->kind));
    put(o, "time", when);
    put(o, "principal", r->principal);
    put(o, "provider", r->provider);
    put(o, "operation", r->operation);
    put(o, "target", r->target);
    put(o, "result", r->result);
    put(o, "policy_hash_before", r->policy_hash_before);
    put(o, "policy_hash_after", r->policy_hash_after);
    put(o, "request_id", r->request_id);
    put(o, "source", r->source);
    put(o, "attestation_type", r->attestation_type);
    put(o, "evidence_sha256", r->evidence_sha256);
    put(o, "jti", r->jti);
    put(o, "detail", r->detail);
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line == NULL) {
        return;
    }
    size_t n = strlen(line);
    char *buf = realloc(line, n + 2);
    if (buf != NULL) {
        line = buf;
        line[n++] = '\n';
        line[n] = '\0';
    }
    /* One write per record so lines from worker threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    free(line);
}

void at_audit_emit(const struct at_audit_rec *r)
{
    if (r == NULL) {
        return;
    }
    write_line(r);
    if (in_observer) {
        return;
    }
    in_observer = true;
    for (unsigned i = 0; i < n_observers; i++) {
        observers[i].fn(r, observers[i].ctx);
    }
    in_observer = false;
}

static enum at_audit_kind kind_of(const char *kind)
{
    if (kind != NULL && strcmp(kind, "unauthenticated") == 0) {
        return AT_AUDIT_UNAUTHENTICATED;
    }
    if (kind != NULL && strcmp(kind, "forbidden") == 0) {
        return AT_AUDIT_FORBIDDEN;
    }
    return AT_AUDIT_MANAGEMENT;
}

void at_audit_event(const char *kind, const char *principal, const char *provider,
                    const char *operation, const char *result, const char *request_id)
{
    struct at_audit_rec r = {
        .kind = kind_of(kind),
        .principal = principal,
        .provider = provider,
        .operation = operation,
        .result = result,
        .request_id = request_id,
    };
    at_audit_emit(&r);
}
