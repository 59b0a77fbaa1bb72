/*
 * The audit trail of the management plane: one JSON line per management action and per
 * refused (401/403) request, on stderr, apart from the operational log. A minimal sink
 * for now; records carry ids and outcomes only, never tokens, keys or request bodies.
 * Thread-safe (one write(2) per record).
 */
#ifndef AT_SERVER_AUDIT_H
#define AT_SERVER_AUDIT_H

/*
 * kind: "management" (an authorised action, whatever its outcome), "unauthenticated"
 * (401) or "forbidden" (403). principal: the canonical principal id, or NULL when
 * unknown. operation: e.g. "policy.set". result: "ok"-style outcome or the error code.
 * Any string may be NULL (written as null).
 */
void at_audit_event(const char *kind, const char *principal, const char *provider,
                    const char *operation, const char *result, const char *request_id);

#endif
