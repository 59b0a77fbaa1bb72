/*
 * Listeners and network controls (issue 6): one MHD daemon per configured
 * listener with its roles, the source-address policy applied before the TLS
 * handshake, abuse limits, reloadable TLS credentials, optional client
 * certificates, and the slow-client reaper. http.c owns the request life cycle
 * and calls the gates below.
 */
#ifndef AT_SERVER_NET_H
#define AT_SERVER_NET_H

#include "server/http.h"
#include "server/netcfg.h"
#include "server/ratelimit.h"
#include "server/tls_reload.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

struct at_listener {
    struct at_server *srv;
    struct at_listener_spec spec;
    struct MHD_Daemon *daemon;
    uint16_t port; /* bound port (TCP) */
};

struct at_conn_track; /* slow-client tracking entry (listeners.c) */

struct at_net {
    struct at_listener ls[AT_NET_LISTENER_MAX];
    size_t n;
    struct at_limits *limits;
    struct at_tls_store *tls;
    char *client_ca_pem;    /* tls_client_ca contents, or NULL */
    atomic_ulong refused;   /* connections refused by the source policy */
    atomic_ulong throttled; /* 429 answers */
    pthread_mutex_t mu;     /* guards `conns` */
    struct at_conn_track *conns;
    pthread_t reaper;
    bool reaper_running;
    atomic_bool stopping;
};

/* Routes → the roles that serve them (a listener without one of them answers 404). */
unsigned at_route_roles(enum at_route_id id);

/* Whether a source address may connect at all (public_network_access, CIDR lists). */
bool at_net_source_allowed(const struct at_config_net *cfg, const struct at_ip *ip);

/*
 * Per-provider gate, after the provider is resolved (data and management routes):
 * the provider's allowed_networks (403) and rate_limit_per_provider (429).
 * false with `out` filled.
 */
bool at_net_provider_gate(struct at_server *srv, struct MHD_Connection *conn, const char *provider,
                          const char *req_id, struct at_response *out);

/* The source of a request: false for Unix-socket clients. */
bool at_net_conn_source(struct MHD_Connection *conn, struct at_ip *ip);

/* Counters for metrics: connections refused by the source policy, 429 answers. */
void at_net_counters(const struct at_server *srv, unsigned long *refused, unsigned long *throttled);

/* 429 TooManyRequests with Retry-After. */
void at_net_too_many(struct at_response *r, unsigned retry_s, const char *msg);

/* listeners.c: start every listener (or fail with a message), stop them all. */
AT_NODISCARD at_status at_net_start(struct at_server *srv, const char *cert_pem,
                                    const char *key_pem, struct at_err *e);
void at_net_stop(struct at_server *srv);
/* Print "attestd: listening on ..." for every listener (the first line exactly as before). */
void at_net_print_ready(const struct at_server *srv);
/* SIGHUP: swap the TLS pair; on failure the old pair stays (logged by the caller). */
AT_NODISCARD at_status at_net_reload_tls(struct at_server *srv, const char *cert_pem,
                                         size_t cert_len, const char *key_pem, size_t key_len,
                                         struct at_err *e);

/* http.c callbacks shared with listeners.c. */
enum MHD_Result at_http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls);
void at_http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe);
void at_http_mhd_log(void *cls, const char *fmt, va_list ap) AT_PRINTF(2, 0);
void at_http_set_started(bool started);
/* http_gate.c: rate_limit_per_source, for every request (matched or not). */
bool at_http_source_gate(const struct at_listener *ls, struct MHD_Connection *conn,
                         struct at_response *out);
/* http_gate.c: before the handler (false: `out` is the answer), after it, extra headers. */
bool at_http_gate(const struct at_listener *ls, struct MHD_Connection *conn,
                  const struct at_route *rt, const char *req_id, struct at_response *out);
void at_http_after(const struct at_listener *ls, struct MHD_Connection *conn,
                   const struct at_route *rt, const struct at_response *r);
bool at_http_extra_headers(const struct at_listener *ls, struct MHD_Response *resp,
                           const struct at_response *r);
/* Slow clients: the request head arrived / the response is done (listeners.c). */
void at_net_head_done(struct MHD_Connection *conn);
void at_net_head_rearm(struct at_server *srv, struct MHD_Connection *conn);

#endif
