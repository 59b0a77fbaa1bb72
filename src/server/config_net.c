/*
 * The network keys of the configuration (docs/configuration.md, "Network
 * access, listeners and abuse limits"): listeners, public access, CIDR lists,
 * client-certificate CA, HSTS, per-source/provider limits.
 */
#include "base/encoding.h"
#include "server/config.h"

#include <stdlib.h>
#include <string.h>

void at_config_net_init(struct at_config_net *n)
{
    memset(n, 0, sizeof(*n));
    n->hsts_max_age_s = AT_NET_HSTS_DEFAULT_S;
    n->max_conn_per_source = AT_NET_PER_SOURCE_CONN_DEFAULT;
    n->header_timeout_s = AT_NET_HEADER_TIMEOUT_DEFAULT_S;
    /* 30 failed management authentications in 60 s from one source: 60 s of 429s. */
    n->auth_fail.failures = 30;
    n->auth_fail.window_s = 60;
    n->auth_fail.cooldown_s = 60;
}

void at_config_net_clear(struct at_config_net *n)
{
    free(n->listeners);
    free(n->tls_client_ca);
    memset(n, 0, sizeof(*n));
}

static char *dup_or_null(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    char *p = strdup(s);
    at_assert(p != NULL);
    return p;
}

void at_config_net_copy(struct at_config_net *dst, const struct at_config_net *src)
{
    *dst = *src;
    dst->listeners = dup_or_null(src->listeners);
    dst->tls_client_ca = dup_or_null(src->tls_client_ca);
}

bool at_config_key_repeatable(enum at_config_key k)
{
    return k == AT_CFG_LISTENER;
}

static at_status add_listener(struct at_config_net *n, const char *v, size_t len, struct at_err *e)
{
    struct at_listener_spec spec;
    AT_TRY(at_listener_spec_parse(v, len, &spec, e));
    AT_ENSURE(n->n_listeners < AT_NET_LISTENER_MAX, e, AT_E_LIMIT, "config_listener",
              "listener: more than %u listeners", AT_NET_LISTENER_MAX);
    size_t old = n->listeners != NULL ? strlen(n->listeners) : 0;
    char *p = realloc(n->listeners, old + len + 2);
    at_assert(p != NULL);
    if (old > 0) {
        p[old++] = '\n';
    }
    memcpy(p + old, v, len);
    p[old + len] = '\0';
    n->listeners = p;
    n->n_listeners++;
    return at_ok();
}

at_status at_config_set_net(struct at_config *c, enum at_config_key k, const char *v, size_t len,
                            struct at_err *e)
{
    struct at_config_net *n = &c->net;
    const char *key = at_config_key_name(k);
    switch (k) {
    case AT_CFG_LISTENER:
        return add_listener(n, v, len, e);
    case AT_CFG_PUBLIC_NETWORK_ACCESS:
        if (len == 7 && memcmp(v, "enabled", 7) == 0) {
            n->public_access = true;
            return at_ok();
        }
        if (len == 8 && memcmp(v, "disabled", 8) == 0) {
            n->public_access = false;
            return at_ok();
        }
        AT_FAIL(e, AT_E_BAD_VALUE, "config_value",
                "public_network_access: expected disabled or enabled");
    case AT_CFG_ALLOWED_NETWORKS:
        return at_cidr_list_parse(v, len, &n->allowed, key, e);
    case AT_CFG_TREAT_AS_PUBLIC:
        return at_cidr_list_parse(v, len, &n->treat_public, key, e);
    case AT_CFG_TLS_CLIENT_CA: {
        AT_ENSURE(len > 0 && len <= AT_CONFIG_PATH_MAX, e, AT_E_BAD_VALUE, "config_path",
                  "%s: bad path", key);
        for (size_t i = 0; i < len; i++) {
            AT_ENSURE((unsigned char)v[i] >= 0x20 && v[i] != 0x7f, e, AT_E_BAD_VALUE, "config_path",
                      "%s: control character in path", key);
        }
        char *p = malloc(len + 1);
        at_assert(p != NULL);
        memcpy(p, v, len);
        p[len] = '\0';
        free(n->tls_client_ca);
        n->tls_client_ca = p;
        return at_ok();
    }
    case AT_CFG_HSTS_MAX_AGE_S:
        return at_dec_parse_u32(v, len, 0, AT_NET_HSTS_MAX_S, &n->hsts_max_age_s, key, e);
    case AT_CFG_MAX_CONNECTIONS_PER_SOURCE:
        return at_dec_parse_u32(v, len, 0, AT_NET_PER_SOURCE_CONN_MAX, &n->max_conn_per_source, key,
                             e);
    case AT_CFG_RATE_LIMIT_PER_SOURCE:
        return at_rate_spec_parse(v, len, &n->rate_source, key, e);
    case AT_CFG_RATE_LIMIT_PER_PROVIDER:
        return at_rate_spec_parse(v, len, &n->rate_provider, key, e);
    case AT_CFG_AUTH_FAILURE_LIMIT:
        return at_authfail_spec_parse(v, len, &n->auth_fail, e);
    case AT_CFG_REQUEST_HEADER_TIMEOUT_S:
        return at_dec_parse_u32(v, len, 1, AT_NET_HEADER_TIMEOUT_MAX_S, &n->header_timeout_s, key, e);
    default:
        break;
    }
    AT_FAIL(e, AT_E_BAD_VALUE, "config_key", "%s: not a network key", key);
}

/* With public access disabled, only loopback and private addresses may be bound. */
static at_status check_bind(const struct at_config_net *n, const struct sockaddr_storage *ss,
                            socklen_t len, const char *host, unsigned port, struct at_err *e)
{
    struct at_ip ip;
    if (n->public_access || !at_ip_from_sockaddr((const struct sockaddr *)ss, len, &ip)) {
        return at_ok();
    }
    AT_ENSURE(at_ip_is_private(&ip) && !at_cidr_list_contains(&n->treat_public, &ip), e,
              AT_E_BAD_VALUE, "config_public_bind",
              "refusing to listen on %s:%u: a public or wildcard address while "
              "public_network_access = disabled (bind a loopback or private address, or set "
              "public_network_access = enabled)",
              host, port);
    return at_ok();
}

at_status at_config_check_net(const struct at_config *c, struct at_err *e)
{
    if (c->net.listeners == NULL) {
        AT_TRY(check_bind(&c->net, &c->listen_addr.ss, c->listen_addr.ss_len, c->listen_addr.host,
                          c->listen_addr.port, e));
    }
    const struct at_config_net *n = &c->net;
    AT_ENSURE(!(n->listeners != NULL && n->listen_explicit), e, AT_E_BAD_VALUE, "config_listener",
              "listen (--listen) and listener are exclusive: give either one listen address "
              "(all roles) or listener lines");
    bool any_mtls = false;
    const char *p = n->listeners;
    while (p != NULL && *p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        struct at_listener_spec spec;
        AT_TRY(at_listener_spec_parse(p, len, &spec, e));
        if (!spec.is_unix) {
            AT_TRY(check_bind(n, &spec.ss, spec.ss_len, spec.host, spec.port, e));
        }
        any_mtls = any_mtls || spec.mtls;
        p = nl != NULL ? nl + 1 : NULL;
    }
    AT_ENSURE(!any_mtls || n->tls_client_ca != NULL, e, AT_E_BAD_VALUE, "config_mtls",
              "a listener has mtls but tls_client_ca is not set");
    return at_ok();
}
