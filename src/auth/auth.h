/*
 * Management-plane identity and access (issue: management plane): OIDC bearer tokens
 * (RFC 6750) from configured trusted issuers — Entra ID v1/v2 shapes, so users,
 * managed identities and service principals are principals — and role-based access
 * control with role assignments kept in the store. No passwords or API keys exist
 * anywhere. Thread-safe after at_auth_new.
 */
#ifndef AT_AUTH_AUTH_H
#define AT_AUTH_AUTH_H

#include "base/status.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

enum at_role { AT_ROLE_NONE = 0, AT_ROLE_READER = 1, AT_ROLE_CONTRIBUTOR = 2, AT_ROLE_OWNER = 3 };

/* "Reader", "Contributor", "Owner" (case-insensitive parse). */
const char *at_role_name(enum at_role r);
AT_NODISCARD at_status at_role_parse(const char *s, enum at_role *out, struct at_err *e);

/* What a management call does; each maps to the minimum role that may do it. */
enum at_action {
    AT_ACT_POLICY_READ,    /* Reader */
    AT_ACT_POLICY_WRITE,   /* Contributor (set, reset) */
    AT_ACT_SIGNER_READ,    /* Reader */
    AT_ACT_SIGNER_WRITE,   /* Contributor (add, remove) */
    AT_ACT_PROVIDER_READ,  /* Reader */
    AT_ACT_PROVIDER_WRITE, /* Owner (create, delete) */
    AT_ACT_ROLE_READ,      /* Owner */
    AT_ACT_ROLE_WRITE,     /* Owner */
    AT_ACT_ATTEST,         /* only for providers that require a token for attestation: Reader */
};

/* Stable dotted name, e.g. "policy.write" (used in messages and logs). */
const char *at_action_name(enum at_action a);
/* The minimum role `a` needs (the table above). */
enum at_role at_action_min_role(enum at_action a);

/* Largest Authorization header value at_auth_authenticate looks at, in bytes. */
#define AT_AUTH_HEADER_MAX 16384

#define AT_PRINCIPAL_ID_MAX 320

struct at_principal {
    /* Canonical id used in role assignments: "<tid>/<oid>" when both exist, else "<iss>#<sub>". */
    char id[AT_PRINCIPAL_ID_MAX];
    char issuer[256];
    char tenant[64];   /* tid */
    char object_id[64]; /* oid */
    char app_id[64];   /* appid (v1) or azp (v2): the client application */
    bool is_app;       /* service principal / managed identity (no user: idtyp=app or no scp) */
    enum at_role token_role; /* highest role granted by the token's `roles` claim through the role map */
};

/*
 * Configuration: JSON (a file named by the attestd config key `oidc_config`):
 * {
 *   "issuers": [ { "issuer": "https://login.microsoftonline.com/<tid>/v2.0",
 *                  "audiences": ["api://attestd", "https://attest.azure.net"],
 *                  "jwks_file": "/etc/attestd/idp-jwks.json",       (or "jwks_uri": "https://...")
 *                  "algorithms": ["RS256"],                          (pinned; never none/HS*)
 *                  "tenant": "<tid>",                                 (optional: required tid)
 *                  "jwks_refresh_s": 3600, "jwks_stale_max_s": 86400 } ],
 *   "clock_skew_s": 120,
 *   "role_map": { "Attestation.Owner": "Owner", "Attestation.Contributor": "Contributor",
 *                 "Attestation.Reader": "Reader" }                  (token `roles` → role, all scopes)
 * }
 */
struct at_auth;

AT_NODISCARD at_status at_auth_new(const json_t *config, struct at_auth **out, struct at_err *e);
AT_NODISCARD at_status at_auth_load(const char *path, struct at_auth **out, struct at_err *e);
void at_auth_free(struct at_auth *a);

/*
 * Validate an `Authorization` header value ("Bearer <jwt>", NULL when absent) at `now`.
 * AT_E_UNAUTHENTICATED on any failure, with e->msg saying why (safe to show: never the
 * token) and e->check one of: "missing_token", "malformed_token", "unknown_issuer",
 * "bad_signature", "algorithm", "expired", "not_yet_valid", "audience", "tenant",
 * "unknown_kid". The token is never logged.
 *
 * Which check fails for what: NULL, empty, or a scheme other than Bearer (any case):
 * "missing_token"; "Bearer" not followed by exactly one space and an RFC 6750 b64token,
 * a header over AT_AUTH_HEADER_MAX, not three base64url parts, header or payload not a
 * JSON object, claims of the wrong type, no principal (tid+oid or sub): "malformed_token";
 * alg none, HS*, anything but RS256/PS256/ES256, or not pinned for the issuer, or not
 * fitting the key: "algorithm"; no kid or kid not in the issuer's JWKS: "unknown_kid";
 * no "exp" at all: "expired"; "iat" in the future beyond the skew: "not_yet_valid".
 * AT_E_NOMEM / AT_E_CRYPTO only for internal failures.
 */
AT_NODISCARD at_status at_auth_authenticate(struct at_auth *a, const char *authorization,
                                            int64_t now, struct at_principal *out,
                                            struct at_err *e);

/*
 * May `p` do `action` on `provider`? The effective role is the highest of the token's
 * mapped role and the store's assignments for p->id with scope `provider` or "*".
 * AT_E_FORBIDDEN (check "role") when not, naming the action, the provider and the role
 * needed. provider NULL means an action on no single provider (listing, creating):
 * only "*" assignments count. store NULL: only the token's role counts. AT_E_IO when
 * the store fails; AT_E_BAD_VALUE for an invalid provider name. `a` may be NULL.
 */
AT_NODISCARD at_status at_auth_authorize(struct at_auth *a, struct at_store *store,
                                         const struct at_principal *p, const char *provider,
                                         enum at_action action, struct at_err *e);

#endif
