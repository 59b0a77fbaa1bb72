/*
 * GET /metrics (docs/metrics.md) and the static route names used as metric labels.
 * No authentication: /metrics is meant for a private metrics listener (it exposes
 * counts, provider names and collateral FMSPCs, never tokens, keys or evidence).
 */
#include "monitor/audit.h"
#include "monitor/metrics.h"
#include "server/http.h"
#include "server/routes_int.h"

#include <stdio.h>
#include <string.h>

const char *at_route_name(enum at_route_id id)
{
    switch (id) {
    case AT_ROUTE_CERTS:
        return "certs";
    case AT_ROUTE_OPENID:
        return "openid_configuration";
    case AT_ROUTE_ATTEST:
        return "attest";
    case AT_ROUTE_POLICY:
        return "policy_get";
    case AT_ROUTE_POLICY_SET:
        return "policy_set";
    case AT_ROUTE_POLICY_RESET:
        return "policy_reset";
    case AT_ROUTE_PCERTS:
        return "certificates_get";
    case AT_ROUTE_PCERTS_ADD:
        return "certificates_add";
    case AT_ROUTE_PCERTS_REMOVE:
        return "certificates_remove";
    case AT_ROUTE_ADMIN_PROVIDERS:
        return "admin_providers_list";
    case AT_ROUTE_ADMIN_PROVIDER_GET:
        return "admin_provider_get";
    case AT_ROUTE_ADMIN_PROVIDER_PUT:
        return "admin_provider_put";
    case AT_ROUTE_ADMIN_PROVIDER_PATCH:
        return "admin_provider_patch";
    case AT_ROUTE_ADMIN_PROVIDER_DELETE:
        return "admin_provider_delete";
    case AT_ROUTE_ADMIN_ROLES:
        return "admin_roles_list";
    case AT_ROUTE_ADMIN_ROLES_PUT:
        return "admin_roles_put";
    case AT_ROUTE_ADMIN_ROLES_DELETE:
        return "admin_roles_delete";
    case AT_ROUTE_METRICS:
        return "metrics";
    }
    return "unmatched";
}

void at_routes_metrics_handle(struct at_server *srv, struct MHD_Connection *conn,
                              const char *req_id, struct at_response *out)
{
    (void)srv;
    (void)conn;
    (void)req_id;
    size_t len = 0;
    char *text = at_metrics_scrape(&len);
    if (text == NULL) {
        at_resp_error(out, 500, "InternalError", "cannot render the metrics", NULL);
        return;
    }
    out->status = 200;
    out->body = text;
    out->body_len = len;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
