/* Internal to src/server/routes*.c: what the MAA routes and the admin routes share. */
#ifndef AT_SERVER_ROUTES_INT_H
#define AT_SERVER_ROUTES_INT_H

#include "server/http.h"

/* 401 with the Bearer challenge (`missing`: no error= attribute, RFC 6750 §3.1). */
void at_routes_unauthorized(struct at_response *out, const struct at_err *e, bool missing);
/* A failed service call as an MAA error response (explain: a denial's detail, or NULL). */
void at_routes_service_error(const struct at_err *e, json_t *explain, struct at_response *out);
bool at_routes_provider_name_ok(const char *s, size_t len);

bool at_routes_is_admin(const struct at_route *rt);
/* A provider requiring a token for attestation: false with the 401/403 in `out`. */
bool at_routes_attest_token_ok(struct at_server *srv, struct MHD_Connection *conn,
                               const char *provider, const char *req_id, struct at_response *out);
void at_routes_admin_handle(struct at_server *srv, struct MHD_Connection *conn,
                            const struct at_route *rt, const char *body, size_t body_len,
                            const char *req_id, char provider_out[AT_PROVIDER_NAME_MAX + 1],
                            struct at_response *out);

#endif
