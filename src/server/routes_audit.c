/*
 * Audit helpers of the routes (docs/audit-log.md): the request's source address and id
 * as the audit context of the worker thread, and the attestation record.
 */
#include "monitor/audit.h"
#include "server/routes_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void at_routes_source(struct MHD_Connection *conn, char out[64])
{
    snprintf(out, 64, "unix");
    const union MHD_ConnectionInfo *ci =
        conn != NULL ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    if (ci == NULL || ci->client_addr == NULL) {
        return;
    }
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        if (inet_ntop(AF_INET, &in->sin_addr, out, 64) == NULL) {
            snprintf(out, 64, "?");
        }
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, out, 64) == NULL) {
            snprintf(out, 64, "?");
        }
    }
}

void at_routes_audit_begin(struct MHD_Connection *conn, const char *req_id)
{
    char src[64];
    at_routes_source(conn, src);
    at_audit_context_set(req_id, src);
}

void at_routes_audit_attest(const struct at_routes_attest_audit *a)
{
    const struct at_attest_result *res = a->res;
    struct at_audit_rec r = {
        .kind = AT_AUDIT_ATTESTATION,
        .provider = a->provider,
        .operation = "attest",
        .target = a->type,
        .attestation_type = a->type,
        .result = a->result != NULL ? a->result : "InternalError",
        .policy_hash = res != NULL && res->policy_hash[0] != '\0' ? res->policy_hash : NULL,
        .evidence_sha256 =
            res != NULL && res->evidence_sha256[0] != '\0' ? res->evidence_sha256 : NULL,
        .jti = res != NULL && res->jti[0] != '\0' ? res->jti : NULL,
    };
    at_audit_emit(&r);
}
