/*
 * The admin JSON API handlers (docs/management-api.md) and the bearer checks they share
 * with token-protected attestation, split from routes.c along the admin/MAA seam.
 */
#include "auth/auth.h"
#include "base/limits.h"
#include "base/timeutil.h"
#include "monitor/audit.h"
#include "server/http.h"
#include "server/routes_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * Bearer authentication (RFC 6750) of an admin call or a token-protected attestation:
 * false with the 401 in `out` and the refusal audited. The token is never logged.
 */
bool at_routes_bearer(struct at_server *srv, struct MHD_Connection *conn, const char *target,
                      const char *opname, const char *req_id, struct at_principal *who,
                      struct at_response *out)
{
    struct at_err e;
    at_err_init(&e);
    memset(who, 0, sizeof(*who));
    const char *authz =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (srv->auth == NULL) {
        at_fail_(&e, AT_E_UNAUTHENTICATED, "no_idp", __FILE__, __LINE__,
                 "no identity provider is configured");
        at_routes_unauthorized(out, &e, false);
        at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_UNAUTHENTICATED,
                                             .provider = target,
                                             .target = target,
                                             .operation = opname,
                                             .result = "no_identity_provider",
                                             .request_id = req_id});
        return false;
    }
    if (!at_is_ok(at_auth_authenticate(srv->auth, authz, at_time_now(), who, &e))) {
        bool missing = authz == NULL || (e.check != NULL && strcmp(e.check, "missing_token") == 0);
        at_routes_unauthorized(out, &e, missing);
        at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_UNAUTHENTICATED,
                                             .provider = target,
                                             .target = target,
                                             .operation = opname,
                                             .result = e.check != NULL ? e.check : "invalid_token",
                                             .request_id = req_id});
        return false;
    }
    return true;
}

/* RBAC: may `who` do `action` on `scope` (NULL: no single provider)? 403 when not. */
bool at_routes_permitted(struct at_server *srv, const struct at_principal *who, const char *scope,
                         enum at_action action, const char *target, const char *opname,
                         const char *req_id, struct at_response *out)
{
    struct at_err e;
    at_err_init(&e);
    if (at_is_ok(at_auth_authorize(srv->auth, srv->store, who, scope, action, &e))) {
        return true;
    }
    if (e.code == AT_E_FORBIDDEN) {
        at_resp_error(out, 403, "Forbidden",
                      e.msg[0] != '\0' ? e.msg : "the caller may not do this", NULL);
        at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_FORBIDDEN,
                                             .principal = who->id,
                                             .provider = scope != NULL ? scope : target,
                                             .target = target,
                                             .operation = opname,
                                             .result = "Forbidden",
                                             .detail = at_action_name(action),
                                             .request_id = req_id});
        return false;
    }
    at_routes_service_error(&e, NULL, out);
    at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_MANAGEMENT,
                                         .principal = who->id,
                                         .provider = scope != NULL ? scope : target,
                                         .target = target,
                                         .operation = opname,
                                         .result = at_service_error_code(&e),
                                         .request_id = req_id});
    return false;
}

/*
 * A provider with require_token_for_attestation takes attestation requests only from
 * principals allowed AT_ACT_ATTEST on it (Reader and up). Checked before the body is
 * parsed, so an anonymous caller spends no verification work.
 */
bool at_routes_attest_token_ok(struct at_server *srv, struct MHD_Connection *conn,
                               const char *provider, const char *req_id, struct at_response *out)
{
    bool required = false;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_store_provider_require_token(srv->store, provider, &required, &e))) {
        at_routes_service_error(&e, NULL, out);
        return false;
    }
    if (!required) {
        return true;
    }
    struct at_principal who;
    return at_routes_bearer(srv, conn, provider, "attest", req_id, &who, out) &&
           at_routes_permitted(srv, &who, provider, AT_ACT_ATTEST, provider, "attest", req_id, out);
}

struct admin_op {
    const char *name; /* audit operation */
    enum at_action action;
};

static struct admin_op admin_op_of(enum at_route_id id)
{
    switch (id) {
    case AT_ROUTE_ADMIN_PROVIDERS:
        return (struct admin_op){"providers.list", AT_ACT_PROVIDER_READ};
    case AT_ROUTE_ADMIN_PROVIDER_GET:
        return (struct admin_op){"providers.show", AT_ACT_PROVIDER_READ};
    case AT_ROUTE_ADMIN_PROVIDER_PUT:
        return (struct admin_op){"providers.create", AT_ACT_PROVIDER_WRITE};
    case AT_ROUTE_ADMIN_PROVIDER_PATCH:
        return (struct admin_op){"providers.update", AT_ACT_PROVIDER_WRITE};
    case AT_ROUTE_ADMIN_PROVIDER_DELETE:
        return (struct admin_op){"providers.delete", AT_ACT_PROVIDER_WRITE};
    case AT_ROUTE_ADMIN_ROLES:
        return (struct admin_op){"roleAssignments.list", AT_ACT_ROLE_READ};
    case AT_ROUTE_ADMIN_ROLES_PUT:
        return (struct admin_op){"roleAssignments.assign", AT_ACT_ROLE_WRITE};
    case AT_ROUTE_ADMIN_ROLES_DELETE:
        return (struct admin_op){"roleAssignments.remove", AT_ACT_ROLE_WRITE};
    case AT_ROUTE_CERTS:
    case AT_ROUTE_OPENID:
    case AT_ROUTE_ATTEST:
    case AT_ROUTE_POLICY:
    case AT_ROUTE_POLICY_SET:
    case AT_ROUTE_POLICY_RESET:
    case AT_ROUTE_PCERTS:
    case AT_ROUTE_PCERTS_ADD:
    case AT_ROUTE_PCERTS_REMOVE:
    case AT_ROUTE_METRICS:
        break;
    }
    /* never reached (at_routes_handle dispatches only admin ids); fail closed */
    return (struct admin_op){"unknown", AT_ACT_ROLE_WRITE};
}

/* One admin call: what it needs authorised, on what, and its arguments. */
struct admin_call {
    struct admin_op op;
    char name[AT_PROVIDER_NAME_MAX + 1]; /* /admin/providers/{name}, "" when none or invalid */
    bool name_bad;                       /* the path named an invalid provider */
    const char *principal;               /* role calls: query or body */
    const char *scope;                   /* role calls: query or body ("*" kept) */
    struct at_role_assignment ra;        /* PUT /admin/roleAssignments body */
};

/* A query parameter, NULL when absent or empty. */
static const char *query(struct MHD_Connection *conn, const char *key)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The provider the call is authorised on: NULL for "no single provider" (and "*"). */
static const char *admin_scope(const struct at_route *rt, const struct admin_call *c)
{
    switch (rt->id) {
    case AT_ROUTE_ADMIN_PROVIDER_GET:
    case AT_ROUTE_ADMIN_PROVIDER_PATCH:
        return c->name;
    case AT_ROUTE_ADMIN_ROLES:
    case AT_ROUTE_ADMIN_ROLES_PUT:
    case AT_ROUTE_ADMIN_ROLES_DELETE:
        return c->scope == NULL || strcmp(c->scope, "*") == 0 ? NULL : c->scope;
    case AT_ROUTE_ADMIN_PROVIDERS:
    case AT_ROUTE_ADMIN_PROVIDER_PUT:
    case AT_ROUTE_ADMIN_PROVIDER_DELETE:
    case AT_ROUTE_CERTS:
    case AT_ROUTE_OPENID:
    case AT_ROUTE_ATTEST:
    case AT_ROUTE_POLICY:
    case AT_ROUTE_POLICY_SET:
    case AT_ROUTE_POLICY_RESET:
    case AT_ROUTE_PCERTS:
    case AT_ROUTE_PCERTS_ADD:
    case AT_ROUTE_PCERTS_REMOVE:
    case AT_ROUTE_METRICS:
        break;
    }
    return NULL;
}

/* Decode the call's arguments (after authentication); false with a 400 in `out`. */
static bool admin_args(struct MHD_Connection *conn, const struct at_route *rt, const char *body,
                       size_t body_len, struct admin_call *c, struct at_response *out)
{
    struct at_err e;
    at_err_init(&e);
    if (rt->arg != NULL) {
        if (!at_routes_provider_name_ok(rt->arg, rt->arg_len)) {
            at_resp_error(out, 400, "InvalidParameter",
                          "invalid provider name (want [a-z][a-z0-9-]{0,62})", NULL);
            return false;
        }
        memcpy(c->name, rt->arg, rt->arg_len);
        c->name[rt->arg_len] = '\0';
    }
    if (rt->id == AT_ROUTE_ADMIN_ROLES || rt->id == AT_ROUTE_ADMIN_ROLES_DELETE) {
        c->principal = query(conn, "principal");
        c->scope = query(conn, "scope");
        if (rt->id == AT_ROUTE_ADMIN_ROLES_DELETE && (c->principal == NULL || c->scope == NULL)) {
            at_resp_error(out, 400, "InvalidParameter",
                          "the principal and scope query parameters are required", NULL);
            return false;
        }
    }
    if (rt->id == AT_ROUTE_ADMIN_ROLES_PUT) {
        if (!at_is_ok(at_admin_role_parse(body, body_len, &c->ra, &e))) {
            at_resp_error(out, at_admin_http_status(&e), at_admin_error_code(&e), e.msg, NULL);
            return false;
        }
        c->principal = c->ra.principal;
        c->scope = c->ra.scope;
    }
    return true;
}

/* Run the use case; `doc` is the response document on success. */
static at_status admin_run(struct at_server *srv, const struct at_route *rt,
                           const struct admin_call *c, const char *body, size_t body_len,
                           json_t **doc, unsigned *status, struct at_err *e)
{
    *status = 200;
    switch (rt->id) {
    case AT_ROUTE_ADMIN_PROVIDERS:
        return at_admin_provider_list(srv->store, doc, e);
    case AT_ROUTE_ADMIN_PROVIDER_GET:
        return at_admin_provider_show(srv->store, c->name, doc, e);
    case AT_ROUTE_ADMIN_PROVIDER_PUT:
        *status = 201;
        return at_admin_provider_create(srv->store, c->name, body, body_len,
                                        at_service_now(srv->svc), doc, e);
    case AT_ROUTE_ADMIN_PROVIDER_PATCH:
        return at_admin_provider_update(srv->store, c->name, body, body_len, doc, e);
    case AT_ROUTE_ADMIN_PROVIDER_DELETE:
        AT_TRY(at_admin_provider_delete(srv->store, c->name, e));
        *doc = json_pack("{s:s, s:s}", "name", c->name, "result", "Deleted");
        return at_ok();
    case AT_ROUTE_ADMIN_ROLES:
        return at_admin_role_list(srv->store, c->principal, c->scope, doc, e);
    case AT_ROUTE_ADMIN_ROLES_PUT:
        return at_admin_role_assign(srv->store, &c->ra, doc, e);
    case AT_ROUTE_ADMIN_ROLES_DELETE:
        AT_TRY(at_admin_role_remove(srv->store, c->principal, c->scope, e));
        *doc = json_pack("{s:s, s:s, s:s}", "principal", c->principal, "scope", c->scope, "result",
                         "Removed");
        return at_ok();
    case AT_ROUTE_CERTS:
    case AT_ROUTE_OPENID:
    case AT_ROUTE_ATTEST:
    case AT_ROUTE_POLICY:
    case AT_ROUTE_POLICY_SET:
    case AT_ROUTE_POLICY_RESET:
    case AT_ROUTE_PCERTS:
    case AT_ROUTE_PCERTS_ADD:
    case AT_ROUTE_PCERTS_REMOVE:
    case AT_ROUTE_METRICS:
        break;
    }
    AT_FAIL(e, AT_E_INTERNAL, NULL, "unrouted admin request");
}

/*
 * The record of an authorised admin call: provider is the provider acted on or the role
 * assignment's scope; target is the provider, or the role assignment's principal.
 */
static void admin_audit(const struct at_principal *who, const struct admin_call *c,
                        const char *provider, const char *result, const char *req_id)
{
    at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_MANAGEMENT,
                                         .principal = who->id,
                                         .provider = provider,
                                         .target = c->principal != NULL ? c->principal : provider,
                                         .operation = c->op.name,
                                         .result = result,
                                         .request_id = req_id});
}

/*
 * Authenticate first (an anonymous caller learns nothing, not even whether a provider
 * exists), then decode, authorise on the call's scope, run, and audit the outcome.
 * The audit record's provider field carries the target: the provider, or the scope of
 * a role assignment.
 */
void at_routes_admin_handle(struct at_server *srv, struct MHD_Connection *conn,
                            const struct at_route *rt, const char *body, size_t body_len,
                            const char *req_id, char provider_out[AT_PROVIDER_NAME_MAX + 1],
                            struct at_response *out)
{
    struct admin_call c;
    memset(&c, 0, sizeof(c));
    c.op = admin_op_of(rt->id);
    char target[AT_PROVIDER_NAME_MAX + 1] = "";
    if (rt->arg != NULL && at_routes_provider_name_ok(rt->arg, rt->arg_len)) {
        memcpy(target, rt->arg, rt->arg_len);
        target[rt->arg_len] = '\0';
    }
    struct at_principal who;
    if (!at_routes_bearer(srv, conn, target[0] != '\0' ? target : NULL, c.op.name, req_id, &who,
                          out)) {
        return;
    }
    if (!admin_args(conn, rt, body, body_len, &c, out)) {
        at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_MANAGEMENT,
                                             .principal = who.id,
                                             .provider = target[0] != '\0' ? target : NULL,
                                             .target = target[0] != '\0' ? target : NULL,
                                             .operation = c.op.name,
                                             .result = "InvalidParameter",
                                             .request_id = req_id});
        return;
    }
    const char *audit_target = c.name[0] != '\0' ? c.name : c.scope;
    if (c.name[0] != '\0') {
        memcpy(provider_out, c.name, sizeof(c.name));
    }
    if (!at_routes_permitted(srv, &who, admin_scope(rt, &c), c.op.action, audit_target, c.op.name,
                             req_id, out)) {
        return;
    }
    struct at_err e;
    at_err_init(&e);
    json_t *doc = NULL;
    unsigned status = 200;
    /* A provider's allowed_networks is handled here, the rest of the body by the service. */
    struct at_admin_net an = {0};
    bool put_patch = rt->id == AT_ROUTE_ADMIN_PROVIDER_PUT || rt->id == AT_ROUTE_ADMIN_PROVIDER_PATCH;
    if (put_patch && !at_admin_net_split(body, body_len, &an, out)) {
        at_audit_event("management", who.id, audit_target, c.op.name, "InvalidParameter", req_id);
        return;
    }
    at_status st;
    if (an.present && an.rest_empty && rt->id == AT_ROUTE_ADMIN_PROVIDER_PATCH) {
        st = at_store_provider_networks_set(srv->store, c.name, an.cidrs, &e);
        if (at_is_ok(st)) {
            st = at_admin_provider_show(srv->store, c.name, &doc, &e);
        }
    } else {
        st = admin_run(srv, rt, &c, an.present ? an.rest : body, an.present ? an.rest_len : body_len,
                       &doc, &status, &e);
        if (at_is_ok(st) && an.present) {
            st = at_store_provider_networks_set(srv->store, c.name, an.cidrs, &e);
        }
    }
    at_admin_net_clear(&an);
    if (at_is_ok(st) && doc != NULL && rt->id != AT_ROUTE_ADMIN_PROVIDER_DELETE) {
        at_admin_net_decorate(srv, doc);
    }
    if (!at_is_ok(st)) {
        json_decref(doc);
        const char *code = at_admin_error_code(&e);
        at_resp_error(out, at_admin_http_status(&e), code,
                      e.msg[0] != '\0' ? e.msg : at_code_name(e.code), NULL);
        admin_audit(&who, &c, audit_target, code, req_id);
        return;
    }
    admin_audit(&who, &c, audit_target, "ok", req_id);
    at_resp_json(out, status, doc);
}
