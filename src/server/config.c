/*
 * The config file parser and the validation shared by file keys and
 * command-line options (docs/configuration.md). Line-oriented: each line is
 * blank, a comment whose first non-blank character is '#', or `key = value`.
 */
#include "base/encoding.h"
#include "server/config.h"

#include "base/fileio.h"
#include "base/timeutil.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const key_names[AT_CFG_KEY_COUNT] = {
    [AT_CFG_LISTEN] = "listen",
    [AT_CFG_DATA_DIR] = "data_dir",
    [AT_CFG_TLS_CERT] = "tls_cert",
    [AT_CFG_TLS_KEY] = "tls_key",
    [AT_CFG_PUBLIC_URL] = "public_url",
    [AT_CFG_THREADS] = "threads",
    [AT_CFG_MAX_BODY_BYTES] = "max_body_bytes",
    [AT_CFG_CONNECTION_TIMEOUT_S] = "connection_timeout_s",
    [AT_CFG_TOKEN_LIFETIME_S] = "token_lifetime_s",
    [AT_CFG_FIXED_TIME] = "fixed_time",
    [AT_CFG_LOG_LEVEL] = "log_level",
    [AT_CFG_SGX_ROOT_CA] = "sgx_root_ca",
    [AT_CFG_AMD_ARK] = "amd_ark",
    [AT_CFG_OIDC_CONFIG] = "oidc_config",
    [AT_CFG_ALERT_POLICY_CHANGED] = "alert_policy_changed",
    [AT_CFG_ALERT_SIGNER_CHANGED] = "alert_signer_changed",
    [AT_CFG_ALERT_ROLE_CHANGED] = "alert_role_changed",
    [AT_CFG_ALERT_AUTH_FAILURES] = "alert_auth_failures",
    [AT_CFG_ALERT_ATTESTATION_FAILURE_RATIO] = "alert_attestation_failure_ratio",
    [AT_CFG_ALERT_COLLATERAL_EXPIRY_DAYS] = "alert_collateral_expiry_days",
    [AT_CFG_ALERT_WEBHOOK_URL] = "alert_webhook_url",
    [AT_CFG_ALERT_WEBHOOK_CA] = "alert_webhook_ca",
    [AT_CFG_ALERT_WEBHOOK_TOKEN_FILE] = "alert_webhook_token_file",
    [AT_CFG_ALERT_SYSLOG] = "alert_syslog",
    [AT_CFG_AUDIT_FILE] = "audit_file",
    [AT_CFG_AUDIT_FSYNC] = "audit_fsync",
    [AT_CFG_AUDIT_SYSLOG] = "audit_syslog",
    [AT_CFG_LOG_FORMAT] = "log_format",
    [AT_CFG_BACKUP_DIR] = "backup_dir",
    [AT_CFG_BACKUP_INTERVAL_S] = "backup_interval_s",
    [AT_CFG_BACKUP_KEEP] = "backup_keep",
    [AT_CFG_BACKUP_KEY_FILE] = "backup_key_file",
    [AT_CFG_BACKUP_PASSPHRASE_FILE] = "backup_passphrase_file",
    [AT_CFG_KEK_FILE] = "kek_file",
    [AT_CFG_LISTENER] = "listener",
    [AT_CFG_PUBLIC_NETWORK_ACCESS] = "public_network_access",
    [AT_CFG_ALLOWED_NETWORKS] = "allowed_networks",
    [AT_CFG_TREAT_AS_PUBLIC] = "treat_as_public",
    [AT_CFG_TLS_CLIENT_CA] = "tls_client_ca",
    [AT_CFG_HSTS_MAX_AGE_S] = "hsts_max_age_s",
    [AT_CFG_MAX_CONNECTIONS_PER_SOURCE] = "max_connections_per_source",
    [AT_CFG_RATE_LIMIT_PER_SOURCE] = "rate_limit_per_source",
    [AT_CFG_RATE_LIMIT_PER_PROVIDER] = "rate_limit_per_provider",
    [AT_CFG_AUTH_FAILURE_LIMIT] = "auth_failure_limit",
    [AT_CFG_REQUEST_HEADER_TIMEOUT_S] = "request_header_timeout_s",
};

const char *at_config_key_name(enum at_config_key k)
{
    if ((unsigned)k >= AT_CFG_KEY_COUNT) {
        return "?";
    }
    return key_names[k];
}

bool at_config_key_find(const char *name, size_t len, enum at_config_key *out)
{
    for (unsigned i = 0; i < AT_CFG_KEY_COUNT; i++) {
        if (strlen(key_names[i]) == len && memcmp(key_names[i], name, len) == 0) {
            *out = (enum at_config_key)i;
            return true;
        }
    }
    return false;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    at_assert(p != NULL);
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    at_assert(p != NULL);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void at_config_init(struct at_config *c)
{
    memset(c, 0, sizeof(*c));
    struct at_err e;
    at_err_init(&e);
    c->listen = xstrdup(AT_CONFIG_LISTEN_DEFAULT);
    at_status s = at_listen_parse(c->listen, strlen(c->listen), &c->listen_addr, &e);
    at_assert(at_is_ok(s));
    c->data_dir = xstrdup(AT_CONFIG_DATA_DIR_DEFAULT);
    c->threads = 0; /* a thread per connection (listeners.c) unless `threads` is set */
    c->max_body_bytes = AT_CONFIG_BODY_DEFAULT;
    c->connection_timeout_s = AT_CONFIG_TIMEOUT_DEFAULT_S;
    c->token_lifetime_s = AT_CONFIG_LIFETIME_DEFAULT_S;
    c->log_level = AT_LOG_INFO;
    c->backup_interval_s = AT_CONFIG_BACKUP_INTERVAL_DEFAULT_S;
    c->backup_keep = AT_CONFIG_BACKUP_KEEP_DEFAULT;
    at_config_net_init(&c->net);
}

void at_config_clear(struct at_config *c)
{
    free(c->listen);
    free(c->data_dir);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->public_url);
    free(c->sgx_root_ca);
    free(c->amd_ark);
    free(c->oidc_config);
    at_alert_config_clear(&c->alerts);
    free(c->audit_file);
    free(c->backup_dir);
    free(c->backup_key_file);
    free(c->backup_passphrase_file);
    free(c->kek_file);
    at_config_net_clear(&c->net);
    memset(c, 0, sizeof(*c));
}

static char *dup_opt(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

/* A deep copy, so a failed parse can leave the original untouched. */
static void config_copy(struct at_config *dst, const struct at_config *src)
{
    *dst = *src;
    dst->listen = dup_opt(src->listen);
    dst->data_dir = dup_opt(src->data_dir);
    dst->tls_cert = dup_opt(src->tls_cert);
    dst->tls_key = dup_opt(src->tls_key);
    dst->public_url = dup_opt(src->public_url);
    dst->sgx_root_ca = dup_opt(src->sgx_root_ca);
    dst->amd_ark = dup_opt(src->amd_ark);
    dst->kek_file = dup_opt(src->kek_file);
    dst->oidc_config = dup_opt(src->oidc_config);
    at_alert_config_copy(&dst->alerts, &src->alerts);
    dst->audit_file = dup_opt(src->audit_file);
    dst->backup_dir = dup_opt(src->backup_dir);
    dst->backup_key_file = dup_opt(src->backup_key_file);
    dst->backup_passphrase_file = dup_opt(src->backup_passphrase_file);
    at_config_net_copy(&dst->net, &src->net);
}

/* ---- value parsers ---- */

/* Paths: non-empty, bounded, no control characters. */
static at_status check_path(const char *s, size_t len, const char *key, struct at_err *e)
{
    AT_ENSURE(len > 0, e, AT_E_BAD_VALUE, "config_path", "%s: empty path", key);
    AT_ENSURE(len <= AT_CONFIG_PATH_MAX, e, AT_E_BAD_VALUE, "config_path", "%s: path too long",
              key);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        AT_ENSURE(ch >= 0x20 && ch != 0x7f, e, AT_E_BAD_VALUE, "config_path",
                  "%s: control character in path", key);
    }
    return at_ok();
}

static bool url_char_ok(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
        return true;
    }
    return strchr("-._~:/[]%@!$&'()*+,;=", ch) != NULL && ch != '\0';
}

/*
 * public_url: "https://host[:port][/path]" (or http:// behind a TLS proxy);
 * it becomes the token issuer, so no query, fragment or trailing '/'.
 */
static at_status parse_url(const char *s, size_t len, char **out, struct at_err *e)
{
    size_t skip;
    if (len >= 8 && memcmp(s, "https://", 8) == 0) {
        skip = 8;
    } else if (len >= 7 && memcmp(s, "http://", 7) == 0) {
        skip = 7;
    } else {
        AT_FAIL(e, AT_E_BAD_VALUE, "config_url", "public_url: must start with https://");
    }
    while (len > skip && s[len - 1] == '/') {
        len--;
    }
    AT_ENSURE(len > skip && s[skip] != '/', e, AT_E_BAD_VALUE, "config_url",
              "public_url: missing host");
    AT_ENSURE(len <= AT_CONFIG_URL_MAX, e, AT_E_BAD_VALUE, "config_url",
              "public_url: longer than %u bytes", AT_CONFIG_URL_MAX);
    for (size_t i = skip; i < len; i++) {
        AT_ENSURE(url_char_ok((unsigned char)s[i]), e, AT_E_BAD_VALUE, "config_url",
                  "public_url: character not allowed at offset %zu", i);
    }
    *out = xstrndup(s, len);
    return at_ok();
}

at_status at_listen_parse(const char *s, size_t len, struct at_listen_addr *out, struct at_err *e)
{
    struct at_listen_addr a;
    memset(&a, 0, sizeof(a));
    const char *host;
    size_t host_len;
    const char *port;
    size_t port_len;
    bool v6 = false;
    AT_ENSURE(len > 0 && len < 80, e, AT_E_BAD_VALUE, "listen_addr", "listen: expected ADDR:PORT");
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        AT_ENSURE(close != NULL && (size_t)(close - s) + 1 < len && close[1] == ':', e,
                  AT_E_BAD_VALUE, "listen_addr", "listen: expected [IPV6]:PORT");
        host = s + 1;
        host_len = (size_t)(close - s) - 1;
        port = close + 2;
        port_len = len - (size_t)(port - s);
        v6 = true;
    } else {
        const char *colon = memchr(s, ':', len);
        AT_ENSURE(colon != NULL, e, AT_E_BAD_VALUE, "listen_addr", "listen: expected ADDR:PORT");
        host = s;
        host_len = (size_t)(colon - s);
        port = colon + 1;
        port_len = len - host_len - 1;
        AT_ENSURE(memchr(port, ':', port_len) == NULL, e, AT_E_BAD_VALUE, "listen_addr",
                  "listen: write IPv6 addresses as [ADDR]:PORT");
    }
    uint64_t p;
    AT_TRY(at_dec_parse(port, port_len, 0, 65535, &p, "listen port", e));
    char buf[64];
    AT_ENSURE(host_len > 0 && host_len < sizeof(buf), e, AT_E_BAD_VALUE, "listen_addr",
              "listen: missing address");
    memcpy(buf, host, host_len);
    buf[host_len] = '\0';
    if (!v6 && strcmp(buf, "localhost") == 0) {
        memcpy(buf, "127.0.0.1", sizeof("127.0.0.1"));
    }
    a.port = (uint16_t)p;
    if (v6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&a.ss;
        AT_ENSURE(inet_pton(AF_INET6, buf, &sa->sin6_addr) == 1, e, AT_E_BAD_VALUE, "listen_addr",
                  "listen: not a numeric IPv6 address");
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(a.port);
        a.family = AF_INET6;
        a.ss_len = sizeof(*sa);
        char tmp[INET6_ADDRSTRLEN];
        at_assert(inet_ntop(AF_INET6, &sa->sin6_addr, tmp, sizeof(tmp)) != NULL);
        snprintf(a.host, sizeof(a.host), "[%s]", tmp);
    } else {
        struct sockaddr_in *sa = (struct sockaddr_in *)&a.ss;
        AT_ENSURE(inet_pton(AF_INET, buf, &sa->sin_addr) == 1, e, AT_E_BAD_VALUE, "listen_addr",
                  "listen: not a numeric IPv4 address (or localhost)");
        sa->sin_family = AF_INET;
        sa->sin_port = htons(a.port);
        a.family = AF_INET;
        a.ss_len = sizeof(*sa);
        at_assert(inet_ntop(AF_INET, &sa->sin_addr, a.host, sizeof(a.host)) != NULL);
    }
    *out = a;
    return at_ok();
}

static void replace(char **slot, const char *s, size_t len)
{
    free(*slot);
    *slot = xstrndup(s, len);
}

static bool is_word(const char *v, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(v, w, len) == 0;
}

/* The keys that take one word from a fixed list. */
static at_status set_choice(struct at_config *c, enum at_config_key k, const char *v, size_t len,
                            struct at_err *e)
{
    if (k == AT_CFG_AUDIT_FSYNC) {
        static const char *const names[] = {"always", "interval", "never"};
        for (unsigned i = 0; i < 3; i++) {
            if (is_word(v, len, names[i])) {
                c->audit_fsync = (enum at_audit_fsync)i;
                return at_ok();
            }
        }
        AT_FAIL(e, AT_E_BAD_VALUE, "config_value",
                "audit_fsync: expected always, interval or never");
    }
    if (k == AT_CFG_AUDIT_SYSLOG) {
        AT_ENSURE(is_word(v, len, "on") || is_word(v, len, "off"), e, AT_E_BAD_VALUE,
                  "config_value", "audit_syslog: expected on or off");
        c->audit_syslog = is_word(v, len, "on");
        return at_ok();
    }
    AT_ENSURE(is_word(v, len, "text") || is_word(v, len, "json"), e, AT_E_BAD_VALUE, "config_value",
              "log_format: expected text or json");
    c->log_format = is_word(v, len, "json") ? AT_LOG_FORMAT_JSON : AT_LOG_FORMAT_TEXT;
    return at_ok();
}

at_status at_config_set(struct at_config *c, enum at_config_key k, const char *v, size_t len,
                        struct at_err *e)
{
    const char *key = at_config_key_name(k);
    uint64_t n;
    AT_ENSURE(memchr(v, '\0', len) == NULL, e, AT_E_BAD_VALUE, "config_value",
              "%s: NUL byte in value", key);
    switch (k) {
    case AT_CFG_LISTEN: {
        struct at_listen_addr a;
        AT_TRY(at_listen_parse(v, len, &a, e));
        c->listen_addr = a;
        replace(&c->listen, v, len);
        c->net.listen_explicit = true;
        return at_ok();
    }
    case AT_CFG_DATA_DIR:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->data_dir, v, len);
        return at_ok();
    case AT_CFG_TLS_CERT:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->tls_cert, v, len);
        return at_ok();
    case AT_CFG_TLS_KEY:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->tls_key, v, len);
        return at_ok();
    case AT_CFG_SGX_ROOT_CA:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->sgx_root_ca, v, len);
        return at_ok();
    case AT_CFG_AMD_ARK:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->amd_ark, v, len);
        return at_ok();
    case AT_CFG_OIDC_CONFIG:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->oidc_config, v, len);
        return at_ok();
    case AT_CFG_BACKUP_DIR:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->backup_dir, v, len);
        return at_ok();
    case AT_CFG_BACKUP_KEY_FILE:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->backup_key_file, v, len);
        return at_ok();
    case AT_CFG_BACKUP_PASSPHRASE_FILE:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->backup_passphrase_file, v, len);
        return at_ok();
    case AT_CFG_BACKUP_INTERVAL_S:
        AT_TRY(at_dec_parse(v, len, 1, AT_CONFIG_BACKUP_INTERVAL_MAX_S, &n, key, e));
        c->backup_interval_s = (int64_t)n;
        return at_ok();
    case AT_CFG_BACKUP_KEEP:
        AT_TRY(at_dec_parse(v, len, 1, AT_CONFIG_BACKUP_KEEP_MAX, &n, key, e));
        c->backup_keep = (unsigned)n;
        return at_ok();
    case AT_CFG_KEK_FILE:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->kek_file, v, len);
        return at_ok();
    case AT_CFG_PUBLIC_URL: {
        char *u = NULL;
        AT_TRY(parse_url(v, len, &u, e));
        free(c->public_url);
        c->public_url = u;
        return at_ok();
    }
    case AT_CFG_THREADS:
        AT_TRY(at_dec_parse(v, len, 1, AT_CONFIG_THREADS_MAX, &n, key, e));
        c->threads = (unsigned)n;
        return at_ok();
    case AT_CFG_MAX_BODY_BYTES:
        AT_TRY(at_dec_parse(v, len, AT_CONFIG_BODY_MIN, AT_CONFIG_BODY_MAX, &n, key, e));
        c->max_body_bytes = (size_t)n;
        return at_ok();
    case AT_CFG_CONNECTION_TIMEOUT_S:
        AT_TRY(at_dec_parse(v, len, 1, AT_CONFIG_TIMEOUT_MAX_S, &n, key, e));
        c->connection_timeout_s = (unsigned)n;
        return at_ok();
    case AT_CFG_TOKEN_LIFETIME_S:
        AT_TRY(at_dec_parse(v, len, AT_CONFIG_LIFETIME_MIN_S, AT_CONFIG_LIFETIME_MAX_S, &n, key, e));
        c->token_lifetime_s = (int64_t)n;
        return at_ok();
    case AT_CFG_FIXED_TIME: {
        int64_t t;
        at_status s = at_time_parse(v, len, &t, e);
        if (!at_is_ok(s)) {
            at_err_context(e, key);
            return s;
        }
        c->fixed_time = true;
        c->fixed_now = t;
        return at_ok();
    }
    case AT_CFG_LOG_LEVEL:
        for (int l = AT_LOG_ERROR; l <= AT_LOG_DEBUG; l++) {
            const char *name = at_log_level_name((enum at_log_level)l);
            if (strlen(name) == len && memcmp(name, v, len) == 0) {
                c->log_level = (enum at_log_level)l;
                return at_ok();
            }
        }
        AT_FAIL(e, AT_E_BAD_VALUE, "config_value",
                "log_level: expected error, warn, info or debug");
    case AT_CFG_ALERT_POLICY_CHANGED:
    case AT_CFG_ALERT_SIGNER_CHANGED:
    case AT_CFG_ALERT_ROLE_CHANGED:
    case AT_CFG_ALERT_AUTH_FAILURES:
    case AT_CFG_ALERT_ATTESTATION_FAILURE_RATIO:
    case AT_CFG_ALERT_COLLATERAL_EXPIRY_DAYS:
    case AT_CFG_ALERT_WEBHOOK_URL:
    case AT_CFG_ALERT_WEBHOOK_CA:
    case AT_CFG_ALERT_WEBHOOK_TOKEN_FILE:
    case AT_CFG_ALERT_SYSLOG:
        return at_alert_config_set(&c->alerts, key, v, len, e);
    case AT_CFG_AUDIT_FILE:
        AT_TRY(check_path(v, len, key, e));
        replace(&c->audit_file, v, len);
        return at_ok();
    case AT_CFG_AUDIT_FSYNC:
    case AT_CFG_AUDIT_SYSLOG:
    case AT_CFG_LOG_FORMAT:
        return set_choice(c, k, v, len, e);
    case AT_CFG_LISTENER:
    case AT_CFG_PUBLIC_NETWORK_ACCESS:
    case AT_CFG_ALLOWED_NETWORKS:
    case AT_CFG_TREAT_AS_PUBLIC:
    case AT_CFG_TLS_CLIENT_CA:
    case AT_CFG_HSTS_MAX_AGE_S:
    case AT_CFG_MAX_CONNECTIONS_PER_SOURCE:
    case AT_CFG_RATE_LIMIT_PER_SOURCE:
    case AT_CFG_RATE_LIMIT_PER_PROVIDER:
    case AT_CFG_AUTH_FAILURE_LIMIT:
    case AT_CFG_REQUEST_HEADER_TIMEOUT_S:
        return at_config_set_net(c, k, v, len, e);
    case AT_CFG_KEY_COUNT:
        break;
    }
    AT_FAIL(e, AT_E_BAD_VALUE, "config_key", "unknown key");
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1])) {
        (*len)--;
    }
}

/* Copy a key for a message: printable ASCII only, at most 32 characters. */
static void quote_key(const char *s, size_t len, char out[40])
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < 32; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (len > 32) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static at_status parse_line(struct at_config *c, const char *s, size_t len, size_t line_no,
                            size_t first_line[AT_CFG_KEY_COUNT], struct at_err *e)
{
    AT_ENSURE(len <= AT_CONFIG_LINE_MAX, e, AT_E_LIMIT, "config_line",
              "line %zu: longer than %u bytes", line_no, AT_CONFIG_LINE_MAX);
    AT_ENSURE(memchr(s, '\0', len) == NULL, e, AT_E_PARSE, "config_line", "line %zu: NUL byte",
              line_no);
    trim(&s, &len);
    if (len == 0 || s[0] == '#') {
        return at_ok();
    }
    const char *eq = memchr(s, '=', len);
    AT_ENSURE(eq != NULL, e, AT_E_PARSE, "config_line", "line %zu: expected key = value", line_no);
    const char *k = s;
    size_t klen = (size_t)(eq - s);
    const char *v = eq + 1;
    size_t vlen = len - klen - 1;
    trim(&k, &klen);
    trim(&v, &vlen);
    AT_ENSURE(klen > 0, e, AT_E_PARSE, "config_line", "line %zu: missing key before '='", line_no);
    char shown[40];
    quote_key(k, klen, shown);
    enum at_config_key key;
    AT_ENSURE(at_config_key_find(k, klen, &key), e, AT_E_PARSE, "config_key",
              "line %zu: unknown key '%s'", line_no, shown);
    AT_ENSURE(first_line[key] == 0 || at_config_key_repeatable(key), e, AT_E_PARSE, "config_duplicate",
              "line %zu: duplicate key '%s' (first set on line %zu)", line_no, shown,
              first_line[key]);
    AT_ENSURE(vlen > 0, e, AT_E_BAD_VALUE, "config_value", "line %zu: empty value for '%s'",
              line_no, shown);
    first_line[key] = line_no;
    at_status st = at_config_set(c, key, v, vlen, e);
    if (!at_is_ok(st)) {
        char ctx[32];
        snprintf(ctx, sizeof(ctx), "line %zu", line_no);
        at_err_context(e, ctx);
        return st;
    }
    c->seen[key] = true;
    return at_ok();
}

at_status at_config_parse(struct at_config *c, const char *text, size_t len, size_t *err_line,
                          struct at_err *e)
{
    struct at_config tmp;
    size_t first_line[AT_CFG_KEY_COUNT] = {0};
    size_t line_no = 0;
    size_t off = 0;
    *err_line = 0;
    config_copy(&tmp, c);
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        line_no++;
        at_status st = parse_line(&tmp, text + off, end - off, line_no, first_line, e);
        if (!at_is_ok(st)) {
            *err_line = line_no;
            at_config_clear(&tmp);
            return st;
        }
        off = nl != NULL ? end + 1 : len;
    }
    at_config_clear(c);
    *c = tmp;
    return at_ok();
}

at_status at_config_load(struct at_config *c, const char *path, struct at_err *e)
{
    uint8_t *buf;
    size_t len;
    size_t line;
    AT_TRY(at_file_read(path, AT_CONFIG_FILE_MAX, &buf, &len, e));
    at_status st = at_config_parse(c, (const char *)buf, len, &line, e);
    free(buf);
    if (!at_is_ok(st)) {
        at_err_context(e, path);
    }
    return st;
}

at_status at_config_check(const struct at_config *c, struct at_err *e)
{
    AT_ENSURE((c->tls_cert == NULL) == (c->tls_key == NULL), e, AT_E_BAD_VALUE, "config_tls",
              "tls_cert and tls_key must be given together");
    AT_ENSURE(c->backup_key_file == NULL || c->backup_passphrase_file == NULL, e, AT_E_BAD_VALUE,
              "config_backup", "backup_key_file and backup_passphrase_file exclude each other");
    AT_ENSURE(c->backup_dir == NULL ||
                  (c->backup_key_file != NULL || c->backup_passphrase_file != NULL),
              e, AT_E_BAD_VALUE, "config_backup",
              "backup_dir needs backup_key_file or backup_passphrase_file");
    return at_config_check_net(c, e);
}
