/*
 * Who may talk to which route: listener roles per route, the source-address
 * policy (public_network_access, allowed_networks, treat_as_public) and the
 * per-provider gate (provider allowed_networks, rate_limit_per_provider).
 */
#include "monitor/audit.h"
#include "server/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned at_route_roles(enum at_route_id id)
{
    switch (id) {
    case AT_ROUTE_CERTS:
    case AT_ROUTE_OPENID:
    case AT_ROUTE_ATTEST:
        return AT_ROLE_DATA;
    case AT_ROUTE_POLICY:
    case AT_ROUTE_POLICY_SET:
    case AT_ROUTE_POLICY_RESET:
    case AT_ROUTE_PCERTS:
    case AT_ROUTE_PCERTS_ADD:
    case AT_ROUTE_PCERTS_REMOVE:
    case AT_ROUTE_ADMIN_PROVIDERS:
    case AT_ROUTE_ADMIN_PROVIDER_GET:
    case AT_ROUTE_ADMIN_PROVIDER_PUT:
    case AT_ROUTE_ADMIN_PROVIDER_PATCH:
    case AT_ROUTE_ADMIN_PROVIDER_DELETE:
    case AT_ROUTE_ADMIN_ROLES:
    case AT_ROUTE_ADMIN_ROLES_PUT:
    case AT_ROUTE_ADMIN_ROLES_DELETE:
        return AT_ROLE_MANAGEMENT;
    case AT_ROUTE_METRICS:
        return AT_ROLE_METRICS;
    }
    return 0; /* fail closed: a route without a role is served nowhere */
}

bool at_net_source_allowed(const struct at_config_net *cfg, const struct at_ip *ip)
{
    if (cfg->public_access) {
        return true;
    }
    if (at_cidr_list_contains(&cfg->allowed, ip)) {
        return true;
    }
    if (at_cidr_list_contains(&cfg->treat_public, ip)) {
        return false;
    }
    return at_ip_is_private(ip);
}

bool at_net_conn_source(struct MHD_Connection *conn, struct at_ip *ip)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL) {
        return false;
    }
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                                           : (socklen_t)sizeof(struct sockaddr_in);
    return at_ip_from_sockaddr(ci->client_addr, len, ip);
}

void at_net_too_many(struct at_response *r, unsigned retry_s, const char *msg)
{
    at_resp_error(r, 429, "TooManyRequests", msg, NULL);
    r->retry_after = retry_s > 0 ? retry_s : 1;
}

/* A provider's own allowed_networks (store column; NULL/empty = no narrowing). */
static bool provider_networks_ok(struct at_server *srv, const char *provider,
                                 const struct at_ip *ip, bool *found_rule)
{
    *found_rule = false;
    char *text = NULL;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_store_provider_networks_get(srv->store, provider, &text, &e))) {
        /* Fail closed: a rule we cannot read refuses. */
        at_log(AT_LOG_WARN, "provider %s: cannot read allowed_networks: %s", provider,
               at_code_name(e.code));
        *found_rule = true;
        return false;
    }
    if (text == NULL || text[0] == '\0') {
        free(text);
        return true;
    }
    *found_rule = true;
    struct at_cidr_list l;
    at_err_init(&e);
    bool ok = at_is_ok(at_cidr_list_parse(text, strlen(text), &l, "allowed_networks", &e)) &&
              at_cidr_list_contains(&l, ip);
    free(text);
    return ok;
}

bool at_net_provider_gate(struct at_server *srv, struct MHD_Connection *conn, const char *provider,
                          const char *req_id, struct at_response *out)
{
    struct at_ip ip;
    bool have_ip = at_net_conn_source(conn, &ip);
    if (have_ip) {
        bool rule;
        if (!provider_networks_ok(srv, provider, &ip, &rule)) {
            char src[64];
            at_ip_format(&ip, src, sizeof(src));
            struct at_audit_rec rec = {.kind = AT_AUDIT_FORBIDDEN,
                                       .provider = provider,
                                       .operation = "network.provider_refused",
                                       .result = "Forbidden",
                                       .request_id = req_id,
                                       .source = src};
            at_audit_emit(&rec);
            at_resp_error(out, 403, "Forbidden",
                          "this provider does not accept requests from your network", NULL);
            return false;
        }
    }
    struct at_net *net = srv->net;
    unsigned retry = 0;
    if (net != NULL && net->limits != NULL &&
        !at_limits_provider_take(net->limits, provider, &retry)) {
        at_net_too_many(out, retry, "request rate limit of this provider exceeded");
        return false;
    }
    return true;
}

void at_net_counters(const struct at_server *srv, unsigned long *refused, unsigned long *throttled)
{
    *refused = srv->net != NULL ? atomic_load(&srv->net->refused) : 0ul;
    *throttled = srv->net != NULL ? atomic_load(&srv->net->throttled) : 0ul;
}
