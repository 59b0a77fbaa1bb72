/*
 * The MAA management routes (maa-api.md §2.5, §2.6): policies and policy-signer
 * certificates, behind a bearer token and the role of each action.
 */
#include "auth/auth.h"
#include "base/timeutil.h"
#include "monitor/audit.h"
#include "server/http.h"
#include "server/net.h"
#include "server/routes_int.h"

#include <string.h>

struct mgmt_op {
    enum at_manage_op op;
    enum at_action action;
};

static struct mgmt_op mgmt_op_of(const struct at_route *rt)
{
    switch (rt->id) {
    case AT_ROUTE_POLICY:
        return (struct mgmt_op){AT_MANAGE_POLICY_GET, AT_ACT_POLICY_READ};
    case AT_ROUTE_POLICY_SET:
        return (struct mgmt_op){AT_MANAGE_POLICY_SET, AT_ACT_POLICY_WRITE};
    case AT_ROUTE_POLICY_RESET:
        return (struct mgmt_op){AT_MANAGE_POLICY_RESET, AT_ACT_POLICY_WRITE};
    case AT_ROUTE_PCERTS:
        return (struct mgmt_op){AT_MANAGE_CERTS_GET, AT_ACT_SIGNER_READ};
    case AT_ROUTE_PCERTS_ADD:
        return (struct mgmt_op){AT_MANAGE_CERTS_ADD, AT_ACT_SIGNER_WRITE};
    case AT_ROUTE_PCERTS_REMOVE:
        return (struct mgmt_op){AT_MANAGE_CERTS_REMOVE, AT_ACT_SIGNER_WRITE};
    case AT_ROUTE_CERTS:
    case AT_ROUTE_OPENID:
    case AT_ROUTE_ATTEST:
    case AT_ROUTE_ADMIN_PROVIDERS:
    case AT_ROUTE_ADMIN_PROVIDER_GET:
    case AT_ROUTE_ADMIN_PROVIDER_PUT:
    case AT_ROUTE_ADMIN_PROVIDER_PATCH:
    case AT_ROUTE_ADMIN_PROVIDER_DELETE:
    case AT_ROUTE_ADMIN_ROLES:
    case AT_ROUTE_ADMIN_ROLES_PUT:
    case AT_ROUTE_ADMIN_ROLES_DELETE:
    case AT_ROUTE_METRICS:
        break;
    }
    return (struct mgmt_op){AT_MANAGE_POLICY_GET, AT_ACT_POLICY_READ}; /* never reached */
}

/* A policy operation's target is the attestation type; policy set/reset carry the hashes. */
static void manage_audit(const struct at_principal *who, const char *provider,
                         const struct at_manage_request *req, const char *opname,
                         const char *result, const struct at_manage_result *res, const char *req_id)
{
    bool policy = req->op == AT_MANAGE_POLICY_GET || req->op == AT_MANAGE_POLICY_SET ||
                  req->op == AT_MANAGE_POLICY_RESET;
    at_audit_emit(&(struct at_audit_rec){
        .kind = AT_AUDIT_MANAGEMENT,
        .principal = who->id,
        .provider = provider,
        .operation = opname,
        .target = policy ? at_att_type_name(req->type) : NULL,
        .result = result,
        .policy_hash_before = res->policy_hash_before[0] != '\0' ? res->policy_hash_before : NULL,
        .policy_hash_after = res->policy_hash_after[0] != '\0' ? res->policy_hash_after : NULL,
        .request_id = req_id});
}

void at_routes_manage_handle(struct at_server *srv, struct MHD_Connection *conn,
                             const struct at_route *rt, const char *body, size_t body_len,
                             const char *req_id, char provider_out[AT_PROVIDER_NAME_MAX + 1],
                             struct at_response *out)
{
    struct mgmt_op mo = mgmt_op_of(rt);
    const char *opname = at_manage_op_name(mo.op);
    struct at_err e;
    at_err_init(&e);
    struct at_principal who;
    /* The token first: an anonymous caller learns nothing about providers or types. */
    if (!at_routes_bearer(srv, conn, rt->provider[0] != '\0' ? rt->provider : NULL, opname, req_id,
                          &who, out)) {
        return;
    }
    enum api_version v;
    if (!at_routes_api_version(conn, true, &v, out)) {
        return;
    }
    char provider[AT_PROVIDER_NAME_MAX + 1];
    char issuer[AT_CONFIG_URL_MAX + 300];
    if (!at_routes_resolve(srv, conn, rt, provider, issuer, sizeof(issuer), out)) {
        return;
    }
    memcpy(provider_out, provider, sizeof(provider));
    if (!at_net_provider_gate(srv, conn, provider, req_id, out)) {
        return;
    }
    if (!at_routes_permitted(srv, &who, provider, mo.action, provider, opname, req_id, out)) {
        return;
    }
    at_err_init(&e);
    struct at_manage_request req = {.op = mo.op,
                                    .provider = provider,
                                    .issuer = issuer,
                                    .type = AT_ATT_SGX_ENCLAVE,
                                    .body = body,
                                    .body_len = body_len};
    if (rt->id == AT_ROUTE_POLICY || rt->id == AT_ROUTE_POLICY_SET ||
        rt->id == AT_ROUTE_POLICY_RESET) {
        if (!at_is_ok(at_att_type_parse(rt->arg, rt->arg_len, &req.type, &e))) {
            at_resp_error(out, 404, "NotFound", "unknown attestation type", NULL);
            at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_MANAGEMENT,
                                                 .principal = who.id,
                                                 .provider = provider,
                                                 .operation = opname,
                                                 .result = "NotFound",
                                                 .request_id = req_id});
            return;
        }
    }
    struct at_manage_result res;
    if (!at_is_ok(at_service_manage(srv->svc, &req, &res, &e))) {
        int st = at_code_http_status(e.code);
        const char *msg = e.msg[0] != '\0' ? e.msg : at_code_name(e.code);
        at_resp_error(out, st > 0 ? (unsigned)st : 500u,
                      res.error_code != NULL ? res.error_code : "InternalError", msg, NULL);
        manage_audit(&who, provider, &req, opname,
                     res.error_code != NULL ? res.error_code : "InternalError", &res, req_id);
        at_manage_result_clear(&res);
        return;
    }
    manage_audit(&who, provider, &req, opname, res.result[0] != '\0' ? res.result : "ok", &res,
                 req_id);
    json_t *doc = json_pack("{s:s}", "token", res.token);
    at_manage_result_clear(&res);
    at_resp_json(out, 200, doc);
}
