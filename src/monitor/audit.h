/*
 * The audit trail: one record per management action, per authentication or
 * authorisation failure, per attestation, per alert firing and per backup, kept
 * apart from the operational log (server/http.h at_log). Records carry ids, hashes
 * and outcomes only: never a token, a key, evidence bytes or a request body.
 *
 * at_audit_emit is the single entry point. It is thread-safe and never fails the
 * caller: a sink error is counted and reported through the operational log.
 * Observers (metrics, alert rules) see every record after it is handed to the sinks
 * (queued for the writer thread, or written to stderr), on the emitting thread; they
 * must be quick and must not block.
 *
 * Sinks (docs/audit-log.md): without audit_file and audit_syslog, one JSON line per
 * record on stderr ({"audit":KIND,...}, unchained). With either, records are chained
 * (seq, prev = SHA-256 of the previous line) and written by one writer thread through a
 * bounded queue with group commit; the chain head goes to the store after each durable
 * batch. A full queue blocks the emitting thread (auditing is mandatory: never dropped).
 */
#ifndef AT_MONITOR_AUDIT_H
#define AT_MONITOR_AUDIT_H

#include "base/status.h"

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
    const char *policy_hash;      /* attestation: x-ms-policy-hash of the evaluated policy */
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

/* ---- sinks and life cycle (audit.c; docs/audit-log.md) ---- */

enum at_audit_fsync {
    AT_AUDIT_FSYNC_ALWAYS,   /* fdatasync after every batch, before the head is stored */
    AT_AUDIT_FSYNC_INTERVAL, /* fdatasync at most once per AT_AUDIT_FSYNC_INTERVAL_MS */
    AT_AUDIT_FSYNC_NEVER,    /* leave it to the kernel (head stored after each write) */
};
#define AT_AUDIT_FSYNC_INTERVAL_MS 1000u
/* always: batches arriving within this window share one fdatasync and one head commit */
#define AT_AUDIT_GROUP_COMMIT_MS 5u
#define AT_AUDIT_QUEUE_MAX         4096u /* records waiting for the writer */
#define AT_AUDIT_TAIL_WINDOW       (4u * 1024u * 1024u) /* start-up check reads this much */

struct at_store;

struct at_audit_config {
    const char *file;          /* audit_file, or NULL */
    enum at_audit_fsync fsync; /* audit_fsync */
    bool syslog;               /* audit_syslog: openlog("attestd-audit", LOG_AUTHPRIV) */
    struct at_store *store;    /* chain head (borrowed; outlives at_audit_stop); may be NULL */
};

/*
 * Start the chained sinks (no-op without file and syslog). Checks the file's end
 * against the stored head: a mismatch is reported on stderr and recorded as a "system"
 * record with operation "audit.chain_break", and the service continues. Fails only when
 * the file cannot be opened. Call once, before serving; emits a "system" "start" record.
 */
AT_NODISCARD at_status at_audit_start(const struct at_audit_config *c, struct at_err *e);
/* SIGHUP: reopen audit_file (logrotate); a new, empty file continues the chain. */
void at_audit_reopen(void);
/* Emit a "system" "stop" record, write and sync everything queued, store the head, stop. */
void at_audit_stop(void);

/*
 * The request a worker thread is serving: records emitted on this thread with NULL
 * request_id / source get these (both copied; NULL clears). Set by the HTTP layer.
 */
void at_audit_context_set(const char *request_id, const char *source);

/* Compatibility wrapper for the management-plane call sites (kind by name). */
void at_audit_event(const char *kind, const char *principal, const char *provider,
                    const char *operation, const char *result, const char *request_id);

#endif
