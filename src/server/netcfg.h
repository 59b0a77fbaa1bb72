/*
 * Parsers for the network configuration keys (docs/configuration.md, "Network
 * access, listeners and abuse limits"): CIDR lists, listener specs, rate specs.
 * Pure code (libc + src/base): the config module and its unit test use it.
 */
#ifndef AT_SERVER_NETCFG_H
#define AT_SERVER_NETCFG_H

#include "base/status.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define AT_NET_CIDR_MAX      64u /* CIDRs per list */
#define AT_NET_LISTENER_MAX  16u /* listener lines */
#define AT_NET_UNIX_PATH_MAX 107u

/* An address in IPv6 form: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d). */
struct at_ip {
    uint8_t b[16];
};

struct at_cidr {
    struct at_ip net; /* host bits cleared */
    uint8_t bits;     /* prefix length in the IPv6 form (IPv4 /n = 96 + n) */
};

struct at_cidr_list {
    struct at_cidr v[AT_NET_CIDR_MAX];
    size_t n;
};

/*
 * "CIDR[, CIDR...]": a.b.c.d/n, IPv6/n, or a bare address (= /32, /128). Host
 * bits must be zero. `key` names the key in messages.
 */
AT_NODISCARD at_status at_cidr_list_parse(const char *s, size_t len, struct at_cidr_list *out,
                                          const char *key, struct at_err *e);
bool at_cidr_list_contains(const struct at_cidr_list *l, const struct at_ip *ip);
bool at_cidr_contains(const struct at_cidr *c, const struct at_ip *ip);

/*
 * A socket address as an at_ip (IPv4 and IPv4-mapped IPv6 become the same);
 * false for other families (AF_UNIX).
 */
bool at_ip_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct at_ip *out);
/* Numeric text: "127.0.0.1" for mapped addresses, else the IPv6 form. cap >= 46. */
void at_ip_format(const struct at_ip *ip, char *out, size_t cap);
/* Loopback, RFC 1918 or RFC 4193 (fc00::/7). */
bool at_ip_is_private(const struct at_ip *ip);

/* Listener roles (bit set). */
enum {
    AT_ROLE_DATA = 1u,
    AT_ROLE_MANAGEMENT = 2u,
    AT_ROLE_METRICS = 4u,
    AT_ROLE_ALL = 7u,
};

/* Text of a role set: "data,management" (buf cap >= 32). */
const char *at_roles_format(unsigned roles, char *buf, size_t cap);

/*
 * One `listener` line:
 *   ADDR:PORT ROLES [mtls]     ADDR as for `listen` (IPv4, [IPv6], localhost)
 *   unix:/abs/path ROLES       plain HTTP on a Unix socket (mode 0660)
 * ROLES: comma-separated data, management, metrics, or all.
 */
struct at_listener_spec {
    bool is_unix;
    char path[AT_NET_UNIX_PATH_MAX + 1]; /* unix: socket path */
    struct sockaddr_storage ss;          /* TCP: address and port */
    socklen_t ss_len;
    int family;
    uint16_t port;
    char host[48]; /* display: "127.0.0.1", "[::1]", or the unix path */
    unsigned roles;
    bool mtls; /* require a client certificate from tls_client_ca */
};

AT_NODISCARD at_status at_listener_spec_parse(const char *s, size_t len,
                                              struct at_listener_spec *out, struct at_err *e);

/* "RATE/BURST" (requests per second, bucket size) or "0" (off). */
struct at_rate_spec {
    uint32_t rate;  /* 0 = off */
    uint32_t burst; /* >= 1 when on */
};
AT_NODISCARD at_status at_rate_spec_parse(const char *s, size_t len, struct at_rate_spec *out,
                                          const char *key, struct at_err *e);

/* "FAILURES/WINDOW_S/COOLDOWN_S" or "0" (off). */
struct at_authfail_spec {
    uint32_t failures; /* 0 = off */
    uint32_t window_s;
    uint32_t cooldown_s;
};
AT_NODISCARD at_status at_authfail_spec_parse(const char *s, size_t len,
                                              struct at_authfail_spec *out, struct at_err *e);

/* Defaults of the network keys. */
#define AT_NET_HSTS_DEFAULT_S           31536000u
#define AT_NET_HSTS_MAX_S               63072000u
#define AT_NET_PER_SOURCE_CONN_DEFAULT  64u
#define AT_NET_PER_SOURCE_CONN_MAX      4096u
#define AT_NET_HEADER_TIMEOUT_DEFAULT_S 10u
#define AT_NET_HEADER_TIMEOUT_MAX_S     600u

/* The network part of struct at_config (config_net.c sets it). */
struct at_config_net {
    char *listeners; /* '\n'-joined `listener` values in order, or NULL */
    size_t n_listeners;
    bool listen_explicit;             /* `listen` / --listen given (exclusive with `listener`) */
    bool public_access;               /* public_network_access = enabled */
    struct at_cidr_list allowed;      /* allowed_networks */
    struct at_cidr_list treat_public; /* treat_as_public */
    char *tls_client_ca;              /* PEM CA file for `mtls` listeners, or NULL */
    uint32_t hsts_max_age_s;          /* 0 = no HSTS header */
    uint32_t max_conn_per_source;     /* 0 = unlimited */
    struct at_rate_spec rate_source;
    struct at_rate_spec rate_provider;
    struct at_authfail_spec auth_fail;
    uint32_t header_timeout_s; /* whole request head (and TLS handshake) must arrive within */
};

#endif
