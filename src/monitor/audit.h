/*
 * The audit trail: one record per management action, per authentication or
 * authorisation failure, per attestation, per alert firing and per backup, kept
 * apart from the operational log (server/http.h at_log). Records carry ids, hashes
 * and outcomes only: never a token, a key, evidence bytes or a request body.
 *
 * at_audit_emit is the single entry point. It is thread-safe and never fails the
 * caller: a sink error is counted and reported through the operational log.
 * Observers (metrics, alert rules) see every record after it is written, on the
 * emitting thread; they must be quick and must not block.
 *
 * Until the chained audit log lands (issue 6) the sink is one JSON line on stderr.
 */
#ifndef AT_MONITOR_AUDIT_H
#define AT_MONITOR_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

enum at_audit_kind {
    AT_AUDIT_MANAGEMENT,      /* an authorised management action, whatever its outcome */
    AT_AUDIT_UNAUTHENTICATED, /* 401: missing/invalid bearer token (or client certificate) */
    AT_AUDIT_FORBIDDEN,       /* 403: authenticated, not permitted (RBAC or network rule) */
    AT_AUDIT_ATTESTATION,     /* POST /attest/{type}, whatever its outcome */
    AT_AUDIT_ALERT,           /* an alert rule fired */
    AT_AUDIT_BACKUP,          /* a backup was made (scheduled or by attestctl) */
    AT_AUDIT_SYSTEM,          /* start, stop, reload, key rotation, restore */
};

/* "management", "unauthenticated", "forbidden", "attestation", "alert", "backup", "system" */
const char *at_audit_kind_name(enum at_audit_kind k);

/*
 * Every string may be NULL (written as null / omitted). Pointers are borrowed for the
 * duration of the call.
 */
struct at_audit_rec {
    enum at_audit_kind kind;
    const char *principal;  /* canonical principal id (auth.h), or NULL */
    const char *provider;   /* provider name, or NULL */
    const char *operation;  /* e.g. "policy.set", "role.assign", "attest", "alert.policy_changed" */
    const char *target;     /* what was acted on: attestation type, role principal, thumbprint */
    const char *result;     /* "ok", or an error code / reason */
    const char *policy_hash_before; /* base64url policy hash (MAA form), or NULL */
    const char *policy_hash_after;
    const char *request_id;
    const char *source;     /* source address ("127.0.0.1", "::1", "unix"), or NULL */
    const char *attestation_type; /* "SgxEnclave", "TdxVm", ... (attestation records) */
    const char *evidence_sha256;  /* lowercase hex of the evidence bytes (attestation) */
    const char *jti;              /* the issued token's jti (attestation, when issued) */
    const char *detail;           /* short free text without secrets (alerts), or NULL */
};

void at_audit_emit(const struct at_audit_rec *r);

/*
 * Register an observer called after every record is written (at most
 * AT_AUDIT_OBSERVERS_MAX; register at start, before serving). An observer may itself
 * call at_audit_emit (an alert firing): records it emits are not passed back to
 * observers, so there is no recursion.
 */
#define AT_AUDIT_OBSERVERS_MAX 8
typedef void (*at_audit_observer)(const struct at_audit_rec *r, void *ctx);
bool at_audit_observe(at_audit_observer fn, void *ctx);

/* Compatibility wrapper for the management-plane call sites (kind by name). */
void at_audit_event(const char *kind, const char *principal, const char *provider,
                    const char *operation, const char *result, const char *request_id);

#endif
