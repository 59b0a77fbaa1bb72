/* Internal to src/server/routes*.c: what the MAA routes and the admin routes share. */
#ifndef AT_SERVER_ROUTES_INT_H
#define AT_SERVER_ROUTES_INT_H

#include "auth/auth.h"
#include "server/http.h"

enum api_version {
    API_NONE,
    API_2020_10_01,
    API_2022_08_01,
    API_2022_09_01_PREVIEW,
    API_2025_06_01,
};

/* false with `out` filled when the api-version is missing (and required) or unknown. */
bool at_routes_api_version(struct MHD_Connection *conn, bool required, enum api_version *v,
                           struct at_response *out);
/* The provider and issuer of a request (path prefix or Host); false with `out` filled. */
bool at_routes_resolve(struct at_server *srv, struct MHD_Connection *conn,
                       const struct at_route *rt, char provider[AT_PROVIDER_NAME_MAX + 1],
                       char *issuer, size_t issuer_cap, struct at_response *out);
/* Bearer authentication: false with the 401 in `out`, the refusal audited. */
bool at_routes_bearer(struct at_server *srv, struct MHD_Connection *conn, const char *target,
                      const char *opname, const char *req_id, struct at_principal *who,
                      struct at_response *out);
/* RBAC: false with the 403 in `out`, audited. scope NULL: no single provider. */
bool at_routes_permitted(struct at_server *srv, const struct at_principal *who, const char *scope,
                         enum at_action action, const char *target, const char *opname,
                         const char *req_id, struct at_response *out);
void at_routes_manage_handle(struct at_server *srv, struct MHD_Connection *conn,
                             const struct at_route *rt, const char *body, size_t body_len,
                             const char *req_id, char provider_out[AT_PROVIDER_NAME_MAX + 1],
                             struct at_response *out);

/* 401 with the Bearer challenge (`missing`: no error= attribute, RFC 6750 §3.1). */
void at_routes_unauthorized(struct at_response *out, const struct at_err *e, bool missing);
/* A failed service call as an MAA error response (explain: a denial's detail, or NULL). */
void at_routes_service_error(const struct at_err *e, json_t *explain, struct at_response *out);
bool at_routes_provider_name_ok(const char *s, size_t len);

/* A provider requiring a token for attestation: false with the 401/403 in `out`. */
bool at_routes_attest_token_ok(struct at_server *srv, struct MHD_Connection *conn,
                               const char *provider, const char *req_id, struct at_response *out);
void at_routes_admin_handle(struct at_server *srv, struct MHD_Connection *conn,
                            const struct at_route *rt, const char *body, size_t body_len,
                            const char *req_id, char provider_out[AT_PROVIDER_NAME_MAX + 1],
                            struct at_response *out);

/* GET /metrics: the Prometheus exposition (routes_metrics.c; no authentication). */
void at_routes_metrics_handle(struct at_server *srv, struct MHD_Connection *conn,
                              const char *req_id, struct at_response *out);

/* ---- audit context (routes_audit.c) ---- */

/* The client's address as text ("127.0.0.1", "::1"; "unix" for a Unix socket). */
void at_routes_source(struct MHD_Connection *conn, char out[64]);
/* Make req_id and the source address the audit context of this worker thread. */
void at_routes_audit_begin(struct MHD_Connection *conn, const char *req_id);

/* What an attestation request's audit record says (filled as far as the call got). */
struct at_routes_attest_audit {
    const char *provider;
    const char *type;   /* attestation type as named in the URL (valid ones only), or NULL */
    const char *result; /* "ok" or the MAA error code */
    struct at_attest_result *res; /* evidence_sha256, policy_hash, jti; or NULL */
};
void at_routes_audit_attest(const struct at_routes_attest_audit *a);
/* routes_admin_net.c: a provider's allowed_networks in the admin API. */
struct at_admin_net {
    bool present;     /* the body had "allowed_networks" */
    char *cidrs;      /* the list to store, NULL = clear */
    char *rest;       /* the body without it (JSON), for the service */
    size_t rest_len;
    bool rest_empty;  /* nothing else in the body */
};
/* false with a 400 in `out` (bad CIDR list); unparsable bodies pass through. */
bool at_admin_net_split(const char *body, size_t len, struct at_admin_net *n,
                        struct at_response *out);
void at_admin_net_clear(struct at_admin_net *n);
/* Add "allowed_networks" to a provider object or to each of {"value": [...]}. */
void at_admin_net_decorate(struct at_server *srv, json_t *doc);

#endif
