/*
 * The attestd HTTP layer: libmicrohttpd over TLS, request bodies with a cap,
 * MAA-shaped responses, the route table (routes.c), the operational log and the
 * first-start TLS certificate (tls_selfsigned.c). No attestation logic here:
 * handlers decode HTTP into service requests and encode the results.
 */
#ifndef AT_SERVER_HTTP_H
#define AT_SERVER_HTTP_H

#include "base/status.h"
#include "server/config.h"
#include "service/service.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>

/* The operational log (at_log, at_log_req) is base/log.h, included through config.h. */

/* ---- the server ---- */

/* TLS 1.2 minimum, 1.3 preferred, AEAD ciphers with ECDHE only (GnuTLS syntax). */
#define AT_TLS_PRIORITIES                                                                          \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"            \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

/* Fixed limits (config keys cover the rest; docs/configuration.md). */
#define AT_HTTP_CONN_MEMORY_LIMIT (64u * 1024u) /* per connection: bounds headers + URI */
#define AT_HTTP_PER_IP_LIMIT      64u
#define AT_HTTP_CONN_LIMIT        4096u
#define AT_HTTP_THREAD_STACK      (2u * 1024u * 1024u) /* per connection thread (threads = 0) */
#define AT_HTTP_DRAIN_MS          10000u /* graceful shutdown: wait for in-flight requests */
#define AT_HTTP_DRAIN_BYTES       (1024u * 1024u) /* unread body read past a refusal, then close */

struct at_auth;
struct at_net;

struct at_server {
    const struct at_config *cfg; /* borrowed, read-only while running */
    struct at_auth *auth;        /* borrowed; NULL: no identity provider (management → 401) */
    struct at_service *svc;      /* borrowed */
    struct at_store *store;      /* borrowed; used to resolve provider names */
    struct MHD_Daemon *daemon;
    atomic_uint inflight; /* requests between first callback and completion */
    uint16_t port;        /* the bound port (of the first listener) */
    struct at_net *net;   /* listeners, limits, TLS credentials (server/net.h) */
};

/*
 * Start every listener (cfg->net.listeners, else cfg->listen_addr with all roles)
 * with the PEM certificate and key (both NUL-terminated; the caller zeroizes the
 * key after this returns). server/net.h has the listener API.
 */
AT_NODISCARD at_status at_http_start(struct at_server *srv, const char *cert_pem,
                                     const char *key_pem, struct at_err *e);
/* Stop accepting, wait up to AT_HTTP_DRAIN_MS for in-flight requests, stop. */
void at_http_stop(struct at_server *srv);

/* ---- responses ---- */

struct at_response {
    unsigned status;
    char *body; /* heap JSON text (free()) */
    size_t body_len;
    const char *allow; /* static Allow header value for 405, or NULL */
    char www_authenticate[384]; /* WWW-Authenticate value for 401, or "" */
    const char *content_type; /* static Content-Type, or NULL = application/json */
    unsigned retry_after;       /* Retry-After seconds (429), or 0 */
};

/* JSON response; steals the reference to `doc`. */
void at_resp_json(struct at_response *r, unsigned status, json_t *doc);
/* {"error":{"code":...,"message":...[,"details":details]}}; steals `details` (may be NULL). */
void at_resp_error(struct at_response *r, unsigned status, const char *code, const char *msg,
                   json_t *details);

/* ---- routes (routes.c) ---- */

enum at_route_id {
    AT_ROUTE_CERTS,
    AT_ROUTE_OPENID,
    AT_ROUTE_ATTEST,
    /* management plane (bearer token required) */
    AT_ROUTE_POLICY,        /* GET /policies/{type} */
    AT_ROUTE_POLICY_SET,    /* PUT /policies/{type} */
    AT_ROUTE_POLICY_RESET,  /* POST /policies/{type}:reset */
    AT_ROUTE_PCERTS,        /* GET /certificates */
    AT_ROUTE_PCERTS_ADD,    /* POST /certificates:add */
    AT_ROUTE_PCERTS_REMOVE, /* POST /certificates:remove */
    /* admin JSON API (bearer token required; docs/management-api.md) */
    AT_ROUTE_ADMIN_PROVIDERS,       /* GET /admin/providers */
    AT_ROUTE_ADMIN_PROVIDER_GET,    /* GET /admin/providers/{name} */
    AT_ROUTE_ADMIN_PROVIDER_PUT,    /* PUT /admin/providers/{name} */
    AT_ROUTE_ADMIN_PROVIDER_PATCH,  /* PATCH /admin/providers/{name} */
    AT_ROUTE_ADMIN_PROVIDER_DELETE, /* DELETE /admin/providers/{name} */
    AT_ROUTE_ADMIN_ROLES,           /* GET /admin/roleAssignments */
    AT_ROUTE_ADMIN_ROLES_PUT,       /* PUT /admin/roleAssignments */
    AT_ROUTE_ADMIN_ROLES_DELETE,    /* DELETE /admin/roleAssignments */
    AT_ROUTE_METRICS,               /* GET /metrics (Prometheus; routes_metrics.c) */
};

/* A static name per route for metrics labels ("attest", "policy_set", ...; routes_metrics.c). */
const char *at_route_name(enum at_route_id id);

/* What the URL selected; views point into the URL string MHD owns. */
struct at_route {
    enum at_route_id id;
    char provider[AT_PROVIDER_NAME_MAX + 1]; /* from /providers/{name}, or "" */
    const char *arg; /* /attest/{type}, /policies/{type}: the type; /admin/providers/{name} */
    size_t arg_len;
};

/*
 * Match method + path. On false, `err` holds the 404/405 answer. Bodies are
 * only read for routes that take one (POST /attest/...).
 */
bool at_routes_match(const char *url, const char *method, struct at_route *rt,
                     struct at_response *err);

/* Whether a matched route reads its request body (the others drain it). */
bool at_routes_takes_body(const struct at_route *rt);

/* Handle a matched request with its complete body. `req_id` is for the log. */
void at_routes_handle(struct at_server *srv, struct MHD_Connection *conn, const struct at_route *rt,
                      const char *body, size_t body_len, const char *req_id,
                      char provider_out[AT_PROVIDER_NAME_MAX + 1], struct at_response *out);

/* ---- first-start TLS certificate (tls_selfsigned.c) ---- */

/*
 * Make sure <data_dir>/tls/cert.pem + key.pem exist (EC P-256, SAN localhost,
 * 127.0.0.1, ::1; one year), generating them once; paths are written to the
 * caller's buffers. With `create` false only checks what is there.
 */
AT_NODISCARD at_status at_tls_selfsigned_ensure(const char *data_dir, bool create, char *cert_path,
                                                size_t cert_cap, char *key_path, size_t key_cap,
                                                struct at_err *e);

/* Check a PEM certificate + key pair (parse both, key matches cert); warn if expired. */
AT_NODISCARD at_status at_tls_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem,
                                         size_t key_len, int64_t now, struct at_err *e);

#endif
