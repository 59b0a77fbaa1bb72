/*
 * Per-request network gates, between route matching and the handlers: listener
 * roles (404), client certificates on `mtls` listeners (401), request rate per
 * source and the authentication-failure throttle (429); and the headers every
 * answer of a listener carries (HSTS on HTTPS, Retry-After on 429).
 */
#include "monitor/audit.h"
#include "monitor/metrics.h"
#include "server/net.h"

#include <stdio.h>

bool at_http_source_gate(const struct at_listener *ls, struct MHD_Connection *conn,
                         struct at_response *out)
{
    struct at_net *net = ls->srv->net;
    struct at_ip ip;
    unsigned retry = 0;
    if (at_net_conn_source(conn, &ip) && !at_limits_source_take(net->limits, &ip, &retry)) {
        at_net_too_many(out, retry, "request rate limit for your address exceeded");
        return false;
    }
    return true;
}

bool at_http_gate(const struct at_listener *ls, struct MHD_Connection *conn,
                  const struct at_route *rt, const char *req_id, struct at_response *out)
{
    struct at_server *srv = ls->srv;
    struct at_net *net = srv->net;
    unsigned roles = at_route_roles(rt->id);
    if ((roles & ls->spec.roles) == 0) {
        /* Not served here: the same answer as a path that does not exist. */
        at_resp_error(out, 404, "NotFound", "the requested resource does not exist", NULL);
        return false;
    }
    struct at_ip ip;
    bool have_ip = at_net_conn_source(conn, &ip);
    char src[64] = "unix";
    if (have_ip) {
        at_ip_format(&ip, src, sizeof(src));
    }
    unsigned retry = 0;
    if (have_ip && (roles & AT_ROLE_MANAGEMENT) != 0 &&
        at_limits_auth_blocked(net->limits, &ip, &retry)) {
        at_net_too_many(out, retry,
                        "too many failed authentications from your address; try again later");
        return false;
    }
    if (ls->spec.mtls && !at_tls_client_verified(conn)) {
        if (have_ip) {
            at_limits_auth_failure(net->limits, &ip);
        }
        struct at_audit_rec rec = {.kind = AT_AUDIT_UNAUTHENTICATED,
                                   .operation = "tls.client_certificate",
                                   .result = "Unauthorized",
                                   .request_id = req_id,
                                   .source = src};
        at_audit_emit(&rec);
        at_resp_error(out, 401, "Unauthorized",
                      "this listener requires a client certificate issued by tls_client_ca", NULL);
        return false;
    }
    return true;
}

void at_http_after(const struct at_listener *ls, struct MHD_Connection *conn,
                   const struct at_route *rt, const struct at_response *r)
{
    if (r->status != 401 || (at_route_roles(rt->id) & AT_ROLE_MANAGEMENT) == 0) {
        return;
    }
    struct at_ip ip;
    if (at_net_conn_source(conn, &ip)) {
        at_limits_auth_failure(ls->srv->net->limits, &ip);
    }
}

bool at_http_extra_headers(const struct at_listener *ls, struct MHD_Response *resp,
                           const struct at_response *r)
{
    if (ls != NULL && !ls->spec.is_unix && ls->srv->cfg->net.hsts_max_age_s > 0) {
        char v[48];
        snprintf(v, sizeof(v), "max-age=%u", (unsigned)ls->srv->cfg->net.hsts_max_age_s);
        if (MHD_add_response_header(resp, "Strict-Transport-Security", v) != MHD_YES) {
            return false;
        }
    }
    if (r->status == 429 && ls != NULL) {
        atomic_fetch_add(&ls->srv->net->throttled, 1ul); /* every 429, whoever made it */
        at_metrics_request_throttled();
    }
    if (r->retry_after > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%u", r->retry_after);
        if (MHD_add_response_header(resp, "Retry-After", v) != MHD_YES) {
            return false;
        }
    }
    return true;
}
