/*
 * attestd's configuration: embedded defaults, then an optional `key = value`
 * file, then command-line overrides (docs/configuration.md lists every key).
 *
 * This module has no HTTP or TLS in it (only libc and src/base), so the unit
 * test and the fuzz target compile it directly. Not thread-safe; the daemon
 * builds one struct at start and only reads it afterwards.
 */
#ifndef AT_SERVER_CONFIG_H
#define AT_SERVER_CONFIG_H

#include "base/log.h"
#include "base/status.h"
#include "monitor/alerts.h"
#include "monitor/audit.h"
#include "server/netcfg.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Caps on the config file itself (it is trusted, but still bounded). */
#define AT_CONFIG_FILE_MAX (64u * 1024u)
#define AT_CONFIG_LINE_MAX 4096u
#define AT_CONFIG_PATH_MAX 4095u
#define AT_CONFIG_URL_MAX  512u

/* Ranges of the numeric keys (inclusive). */
#define AT_CONFIG_THREADS_MAX        1024u
#define AT_CONFIG_BODY_MIN           1024u
#define AT_CONFIG_BODY_MAX           (64u * 1024u * 1024u)
#define AT_CONFIG_BODY_DEFAULT       (1024u * 1024u)
#define AT_CONFIG_TIMEOUT_MAX_S      3600u
#define AT_CONFIG_TIMEOUT_DEFAULT_S  30u
#define AT_CONFIG_LIFETIME_MIN_S     60
#define AT_CONFIG_LIFETIME_MAX_S     31536000
#define AT_CONFIG_LIFETIME_DEFAULT_S 28800

#define AT_CONFIG_BACKUP_INTERVAL_MAX_S     (366 * 86400)
#define AT_CONFIG_BACKUP_INTERVAL_DEFAULT_S 86400
#define AT_CONFIG_BACKUP_KEEP_MAX           10000u
#define AT_CONFIG_BACKUP_KEEP_DEFAULT       7u

#define AT_CONFIG_LISTEN_DEFAULT   "127.0.0.1:8443"
#define AT_CONFIG_DATA_DIR_DEFAULT "/var/lib/attestd"



/* A parsed listen address: numeric IPv4, bracketed IPv6, or "localhost". */
struct at_listen_addr {
    struct sockaddr_storage ss;
    socklen_t ss_len;
    int family;    /* AF_INET or AF_INET6 */
    uint16_t port; /* 0 = let the kernel choose */
    char host[48]; /* for display: "127.0.0.1" or "[::1]" */
};

/*
 * Parse "ADDR:PORT". ADDR is a dotted IPv4 address, "[v6]" or "localhost"
 * (= 127.0.0.1); PORT is decimal 0..65535. `out` is set only on success.
 */
AT_NODISCARD at_status at_listen_parse(const char *s, size_t len, struct at_listen_addr *out,
                                       struct at_err *e);

/* Keys of the config file, in the order documented. */
enum at_config_key {
    AT_CFG_LISTEN,
    AT_CFG_DATA_DIR,
    AT_CFG_TLS_CERT,
    AT_CFG_TLS_KEY,
    AT_CFG_PUBLIC_URL,
    AT_CFG_THREADS,
    AT_CFG_MAX_BODY_BYTES,
    AT_CFG_CONNECTION_TIMEOUT_S,
    AT_CFG_TOKEN_LIFETIME_S,
    AT_CFG_FIXED_TIME,
    AT_CFG_LOG_LEVEL,
    AT_CFG_SGX_ROOT_CA,
    AT_CFG_AMD_ARK,
    AT_CFG_OIDC_CONFIG,
    AT_CFG_ALERT_POLICY_CHANGED, /* alerts (docs/alerts.md) */
    AT_CFG_ALERT_SIGNER_CHANGED,
    AT_CFG_ALERT_ROLE_CHANGED,
    AT_CFG_ALERT_AUTH_FAILURES,
    AT_CFG_ALERT_ATTESTATION_FAILURE_RATIO,
    AT_CFG_ALERT_COLLATERAL_EXPIRY_DAYS,
    AT_CFG_ALERT_WEBHOOK_URL,
    AT_CFG_ALERT_WEBHOOK_CA,
    AT_CFG_ALERT_WEBHOOK_TOKEN_FILE,
    AT_CFG_ALERT_SYSLOG,
    /* audit log and operational log format (docs/audit-log.md) */
    AT_CFG_AUDIT_FILE,
    AT_CFG_AUDIT_FSYNC,
    AT_CFG_AUDIT_SYSLOG,
    AT_CFG_LOG_FORMAT,
    /* scheduled backups (issue 7; src/backup/schedule.c) */
    AT_CFG_BACKUP_DIR,
    AT_CFG_BACKUP_INTERVAL_S,
    AT_CFG_BACKUP_KEEP,
    AT_CFG_BACKUP_KEY_FILE,
    AT_CFG_BACKUP_PASSPHRASE_FILE,
    AT_CFG_KEK_FILE, /* encryption at rest: the key-encryption key file (store/kek.h) */
    /* network access, listeners, TLS extras, abuse limits (config_net.c) */
    AT_CFG_LISTENER, /* repeatable */
    AT_CFG_PUBLIC_NETWORK_ACCESS,
    AT_CFG_ALLOWED_NETWORKS,
    AT_CFG_TREAT_AS_PUBLIC,
    AT_CFG_TLS_CLIENT_CA,
    AT_CFG_HSTS_MAX_AGE_S,
    AT_CFG_MAX_CONNECTIONS_PER_SOURCE,
    AT_CFG_RATE_LIMIT_PER_SOURCE,
    AT_CFG_RATE_LIMIT_PER_PROVIDER,
    AT_CFG_AUTH_FAILURE_LIMIT,
    AT_CFG_REQUEST_HEADER_TIMEOUT_S,
    AT_CFG_KEY_COUNT,
};

/*
 * The whole configuration. Strings are heap copies owned by the struct (NULL =
 * unset); free them with at_config_clear.
 */
struct at_config {
    char *listen; /* as written, e.g. "127.0.0.1:8443" */
    struct at_listen_addr listen_addr;
    char *data_dir;
    char *tls_cert; /* PEM path, or NULL: self-signed in <data_dir>/tls */
    char *tls_key;
    char *public_url; /* token issuer base, no trailing '/', or NULL */
    unsigned threads; /* 0 (default): a thread per connection; N: a pool of N epoll workers */
    size_t max_body_bytes;
    unsigned connection_timeout_s;
    int64_t token_lifetime_s;
    bool fixed_time; /* replay clock */
    int64_t fixed_now;
    enum at_log_level log_level;
    char *sgx_root_ca; /* test-only replacement of the pinned Intel root */
    char *amd_ark;     /* test-only replacement of the pinned AMD ARKs */
    char *oidc_config; /* management-plane identity providers (JSON, auth.h), or NULL */
    char *audit_file;  /* chained audit log file, or NULL: audit lines on stderr */
    enum at_audit_fsync audit_fsync; /* always (default), interval, never */
    bool audit_syslog;               /* also send audit records to syslog (LOG_AUTHPRIV) */
    enum at_log_format log_format;   /* operational log: text (default) or json */
    /* scheduled backups: off unless backup_dir is set (docs/configuration.md) */
    char *backup_dir;
    int64_t backup_interval_s; /* default 86400 */
    unsigned backup_keep;      /* default 7 */
    char *backup_key_file;
    char *backup_passphrase_file;
    char *kek_file;    /* key-encryption key file, or NULL: $ATTESTD_KEK / systemd credential */
    bool seen[AT_CFG_KEY_COUNT]; /* keys given in the file */
    struct at_alert_config alerts; /* alert_* keys (monitor/alerts.h) */
    struct at_config_net net;    /* network keys (netcfg.h) */
};

/* Embedded defaults. Never fails (aborts only when out of memory). */
void at_config_init(struct at_config *c);
void at_config_clear(struct at_config *c);

/* Look up a key by name; false when unknown. */
bool at_config_key_find(const char *name, size_t len, enum at_config_key *out);
const char *at_config_key_name(enum at_config_key k);

/*
 * Parse config text (`len` bytes, need not be NUL-terminated) over `c`.
 * Unknown keys, bad values, duplicates, NUL bytes and overlong lines fail with
 * the code (AT_E_PARSE, AT_E_BAD_VALUE, AT_E_LIMIT), a message starting
 * "line N: " and *err_line = N (0 when not tied to a line). On failure `c` is
 * left unchanged; on success the keys found replace their values in `c`.
 */
AT_NODISCARD at_status at_config_parse(struct at_config *c, const char *text, size_t len,
                                       size_t *err_line, struct at_err *e);

/* Read and parse a file (at most AT_CONFIG_FILE_MAX bytes); messages are "FILE:N: ...". */
AT_NODISCARD at_status at_config_load(struct at_config *c, const char *path, struct at_err *e);

/*
 * Set one key from a command-line option or the environment, validated as in
 * the file (no duplicate check: a later set overrides).
 */
AT_NODISCARD at_status at_config_set(struct at_config *c, enum at_config_key k, const char *value,
                                     size_t len, struct at_err *e);

/* config_net.c: the network keys (defaults, copy, free, set, cross-key checks). */
void at_config_net_init(struct at_config_net *n);
void at_config_net_clear(struct at_config_net *n);
void at_config_net_copy(struct at_config_net *dst, const struct at_config_net *src);
bool at_config_key_repeatable(enum at_config_key k);
AT_NODISCARD at_status at_config_set_net(struct at_config *c, enum at_config_key k, const char *v,
                                         size_t len, struct at_err *e);
AT_NODISCARD at_status at_config_check_net(const struct at_config *c, struct at_err *e);

/* Checks across keys (tls_cert and tls_key come together). */
AT_NODISCARD at_status at_config_check(const struct at_config *c, struct at_err *e);

#endif
