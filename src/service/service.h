/*
 * attestd's use cases, independent of HTTP: each is one function taking a request
 * struct and filling a result struct. The server (src/server) decodes HTTP into
 * these and encodes the results; tests call them directly.
 *
 * Thread-safe: one struct at_service serves all worker threads.
 */
#ifndef AT_SERVICE_SERVICE_H
#define AT_SERVICE_SERVICE_H

#include "base/status.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

/* Attestation types of the MAA API (path segment /attest/{type}). */
enum at_att_type {
    AT_ATT_SGX_ENCLAVE,
    AT_ATT_OPEN_ENCLAVE,
    AT_ATT_TDX_VM,
    AT_ATT_SEV_SNP_VM,
    AT_ATT_TPM,
};

/* Canonical name ("SgxEnclave", ...). */
const char *at_att_type_name(enum at_att_type t);
/* Case-insensitive parse of a path segment; AT_E_NOT_FOUND for unknown types. */
AT_NODISCARD at_status at_att_type_parse(const char *s, size_t len, enum at_att_type *out,
                                         struct at_err *e);

struct at_service_config {
    struct at_store *store;      /* borrowed */
    const char *issuer_base;     /* e.g. "https://localhost:8443"; the provider path is appended */
    bool fixed_time;             /* replay clock: verify and issue as of `fixed_now` */
    int64_t fixed_now;
    const char *sgx_root_pem_path; /* replaces the pinned Intel SGX Root CA (tests only), or NULL */
    int64_t token_lifetime_s;      /* token lifetime; 0 = each provider's own (8 h by default) */
    const char *amd_ark_pem_path;  /* replaces the pinned AMD ARKs (tests only), or NULL */
};

struct at_service;

AT_NODISCARD at_status at_service_new(const struct at_service_config *cfg,
                                      struct at_service **out, struct at_err *e);
void at_service_free(struct at_service *svc);

/* The time used for verification and token issue (the replay clock when fixed). */
int64_t at_service_now(const struct at_service *svc);

/* Runtime / init-time data as the request carries it. */
struct at_data {
    bool present;
    const char *data_b64; /* base64url (padding and standard alphabet tolerated) */
    size_t data_b64_len;
    bool is_json;         /* dataType "JSON" (else "Binary") */
};

struct at_attest_request {
    const char *provider;        /* provider name; NULL = default */
    const char *issuer;          /* attest URI of the provider as the client reached it (iss) */
    enum at_att_type type;
    const char *evidence_b64;    /* "quote" (SGX, TDX) or "report" (OE, SNP), base64url */
    size_t evidence_b64_len;
    struct at_data runtime_data;
    struct at_data init_time_data;
    const char *draft_policy;    /* draftPolicyForAttestation, or NULL */
    size_t draft_policy_len;
    const char *nonce;           /* or NULL */
};

struct at_attest_result {
    char *token;                 /* the JWT (heap) on success */
    json_t *explain;             /* on a policy denial: the engine's explanation (new ref) */
    /* For the audit record, set as far as the flow got (even on failure), else "": */
    char evidence_sha256[65]; /* lowercase hex SHA-256 of the decoded evidence bytes */
    char policy_hash[48];     /* x-ms-policy-hash of the policy evaluated (base64url) */
    char jti[72];             /* the issued token's jti */
};

void at_attest_result_clear(struct at_attest_result *r);

/*
 * The attestation flow: decode → verify (collateral from the store) → bind runtime/init
 * data → evaluate the stored, default or draft policy → sign. Errors carry MAA codes via
 * at_service_error_code(): InvalidParameter for evidence/binding failures,
 * PolicyEvaluationError for a denial, PolicyParsingError for a bad draft policy.
 */
AT_NODISCARD at_status at_service_attest(struct at_service *svc,
                                         const struct at_attest_request *req,
                                         struct at_attest_result *res, struct at_err *e);

/* The MAA error code string for a failed call ("InvalidParameter", ...). */
const char *at_service_error_code(const struct at_err *e);

/* JWKS of a provider (new reference), or NULL with e set (AT_E_NOT_FOUND). */
json_t *at_service_jwks(struct at_service *svc, const char *provider, struct at_err *e);
/* OpenID metadata for the given issuer (new reference). */
json_t *at_service_openid(struct at_service *svc, const char *issuer);

/*
 * Provider management (used by attestctl locally until the management plane lands):
 * create generates the provider's signing key and certificate.
 */
AT_NODISCARD at_status at_service_provider_create(struct at_store *store, const char *name,
                                                  enum at_provider_mode mode, const char *alg,
                                                  int64_t now, struct at_err *e);
/* Ensure the default provider exists (first start). */
AT_NODISCARD at_status at_service_ensure_default(struct at_store *store, int64_t now,
                                                 struct at_err *e);

/* ======================================================================================
 * Management plane (manage.c; maa-api.md §2.5, §2.6, §4, §6). Authentication and
 * authorisation happen before these calls (src/auth, in the server): these only apply
 * the provider's trust model (AAD: unsigned or any signer; Isolated: signed by a
 * registered policy management certificate).
 * ====================================================================================== */

enum at_manage_op {
    AT_MANAGE_POLICY_GET,    /* GET  /policies/{type}        */
    AT_MANAGE_POLICY_SET,    /* PUT  /policies/{type}        */
    AT_MANAGE_POLICY_RESET,  /* POST /policies/{type}:reset  */
    AT_MANAGE_CERTS_GET,     /* GET  /certificates           */
    AT_MANAGE_CERTS_ADD,     /* POST /certificates:add       */
    AT_MANAGE_CERTS_REMOVE,  /* POST /certificates:remove    */
};

/* "policy.get", "policy.set", ... (for audit records). */
const char *at_manage_op_name(enum at_manage_op op);

struct at_manage_request {
    enum at_manage_op op;
    const char *provider;  /* NULL = default */
    const char *issuer;    /* iss of the response token; NULL = the configured issuer base */
    enum at_att_type type; /* the policy operations' attestation type */
    const char *body;      /* set, reset, add, remove: the request body as received (borrowed) */
    size_t body_len;
};

struct at_manage_result {
    char *token;            /* on success: the response JWT (heap), to send as {"token": JWT} */
    const char *error_code; /* on failure: the MAA error code (static string) */
    char result[16];        /* on success: "Updated", "Removed", "IsPresent", "IsAbsent" or "" */
    /*
     * Policy set/reset, for the audit record: b64url(SHA-256) of the policy JWS a GET
     * returns (stored JWS, or the unsigned JWS wrapping the stored or default text),
     * the way x-ms-policy-token-hash is computed; before the call and after it ("" when
     * not reached). After a JWS set, policy_hash_after equals x-ms-policy-token-hash.
     */
    char policy_hash_before[48];
    char policy_hash_after[48];
};

void at_manage_result_clear(struct at_manage_result *r);

/*
 * Run one management operation. The response JWT is signed by the provider's key with
 * iss/iat/nbf/exp/jti/x-ms-ver as attest tokens are. On failure `e` says why (a message
 * safe to show: no key material) and res->error_code is the MAA code: InvalidOperation
 * (malformed or wrongly signed JWS, an operation the trust model forbids, removing the
 * last certificate), PolicyParsingError (policy text, with line:column), NotFound,
 * InternalError. The HTTP status is at_code_http_status(e->code).
 */
AT_NODISCARD at_status at_service_manage(struct at_service *svc,
                                         const struct at_manage_request *req,
                                         struct at_manage_result *res, struct at_err *e);

/* ======================================================================================
 * Admin JSON API (admin.c; docs/management-api.md): providers and role assignments as
 * plain JSON in and out, no JWTs. Authentication and authorisation happen before these
 * calls (the server's /admin routes). Every `out` is a new reference owned by the
 * caller, set only on success. On failure `e` says why (a message safe to show: never
 * key material) and at_admin_error_code / at_admin_http_status give the answer.
 *
 * A provider object: {"name", "mode": "aad"|"isolated", "alg", "kid", "created_at"
 * (RFC 3339), "signer_certificates": count, "require_token_for_attestation": bool}.
 * A role assignment: {"principal", "role", "scope"}.
 * ====================================================================================== */

/* Largest number of signer certificates a create request may carry. */
#define AT_ADMIN_SIGNER_CERTS_MAX 16

/* {"value": [provider, ...]}, sorted by name. */
AT_NODISCARD at_status at_admin_provider_list(struct at_store *store, json_t **out,
                                              struct at_err *e);
/* The provider object; AT_E_NOT_FOUND when absent. */
AT_NODISCARD at_status at_admin_provider_show(struct at_store *store, const char *name,
                                              json_t **out, struct at_err *e);
/*
 * Create `name` from the JSON body {"mode", "alg"?, "signer_certificates"?: [standard
 * base64 DER, ...], "require_token_for_attestation"?: bool}: a new signing key and
 * certificate, then the signer certificates (required, 1..AT_ADMIN_SIGNER_CERTS_MAX, for
 * isolated; refused for aad). Unknown members are refused. An existing name fails with
 * check "provider_exists" (409). `out` is the new provider object.
 */
AT_NODISCARD at_status at_admin_provider_create(struct at_store *store, const char *name,
                                                const char *body, size_t body_len, int64_t now,
                                                json_t **out, struct at_err *e);
/* Apply {"require_token_for_attestation": bool}; `out` is the updated provider object. */
AT_NODISCARD at_status at_admin_provider_update(struct at_store *store, const char *name,
                                                const char *body, size_t body_len, json_t **out,
                                                struct at_err *e);
/* Delete a provider (its policies and signer certificates go with it). The default
   provider cannot be deleted: AT_E_UNSUPPORTED, check "default_provider". */
AT_NODISCARD at_status at_admin_provider_delete(struct at_store *store, const char *name,
                                                struct at_err *e);

/* {"value": [assignment, ...]}; principal and scope NULL = any ("*" is a scope itself). */
AT_NODISCARD at_status at_admin_role_list(struct at_store *store, const char *principal,
                                          const char *scope, json_t **out, struct at_err *e);
/* Parse a {"principal","role","scope"} body (role canonicalised) so the caller can
   authorise on the scope before anything is stored. */
AT_NODISCARD at_status at_admin_role_parse(const char *body, size_t body_len,
                                           struct at_role_assignment *out, struct at_err *e);
/* Store `a` (replacing the principal's role at that scope); a scope other than "*" must
   name an existing provider (AT_E_NOT_FOUND). `out` is the stored assignment. */
AT_NODISCARD at_status at_admin_role_assign(struct at_store *store,
                                            const struct at_role_assignment *a, json_t **out,
                                            struct at_err *e);
/* AT_E_NOT_FOUND when there is no such assignment. */
AT_NODISCARD at_status at_admin_role_remove(struct at_store *store, const char *principal,
                                            const char *scope, struct at_err *e);

/* The error code of a failed admin call: "InvalidParameter", "InvalidOperation",
   "Conflict", "NotFound", "RequestEntityTooLarge" or "InternalError". */
const char *at_admin_error_code(const struct at_err *e);
/* Its HTTP status: 400, 409, 404, 413 or 500. */
unsigned at_admin_http_status(const struct at_err *e);

#endif
