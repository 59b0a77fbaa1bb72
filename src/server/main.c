/*
 * attestd: arguments, configuration, start-up, signals and shutdown.
 *
 *   attestd [--config FILE] [--listen ADDR:PORT] [--data-dir DIR]
 *           [--tls-cert PEM --tls-key PEM] [--fixed-time RFC3339]
 *   attestd --check-config [same options]
 *
 * Order of precedence: embedded defaults < $ATTESTD_DATA_DIR < config file <
 * command line (docs/configuration.md).
 */
#include "auth/auth.h"
#include "base/fileio.h"
#include "base/secure.h"
#include "base/timeutil.h"
#include "backup/backup.h"
#include "monitor/audit.h"
#include "monitor/metrics.h"
#include "server/http.h"
#include "server/monitor.h"
#include "server/net.h"
#include "server/server_backup.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX (1024u * 1024u)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: attestd [--config FILE] [--listen ADDR:PORT] [--data-dir DIR]\n"
            "               [--tls-cert PEM --tls-key PEM] [--fixed-time RFC3339]\n"
            "               [--kek-file FILE]\n"
            "       attestd --check-config [same options]\n"
            "\n"
            "  --config FILE        key = value configuration file (docs/configuration.md)\n"
            "  --listen ADDR:PORT   listen address (default %s; [v6]:port for IPv6;\n"
            "                       port 0 picks a free port)\n"
            "  --data-dir DIR       state directory (default $ATTESTD_DATA_DIR or %s)\n"
            "  --tls-cert PEM       TLS certificate chain (default: self-signed in DIR/tls)\n"
            "  --tls-key PEM        TLS private key\n"
            "  --fixed-time T       replay clock: verify and issue as of T (tests only)\n"
            "  --kek-file FILE      key-encryption key of the store (0600; default $ATTESTD_KEK,\n"
            "                       else the systemd credential attestd-kek)\n"
            "  --check-config       validate everything, print \"config ok\", exit 0 or 1\n"
            "  --version, --help\n",
            AT_CONFIG_LISTEN_DEFAULT, AT_CONFIG_DATA_DIR_DEFAULT);
}

static void print_err(const char *what, const struct at_err *e)
{
    fprintf(stderr, "attestd: error: %s%s%s\n", what != NULL ? what : "", what != NULL ? ": " : "",
            e->msg[0] != '\0' ? e->msg : at_code_name(e->code));
}

/* ---- arguments ---- */

struct args {
    const char *config;
    const char *values[AT_CFG_KEY_COUNT]; /* command-line overrides */
    bool check;
};

enum { OPT_TLS_CERT = 256, OPT_TLS_KEY, OPT_FIXED_TIME, OPT_CHECK, OPT_VERSION, OPT_KEK_FILE };

/* 0 = run, 1 = done (help/version printed), 2 = usage error. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"fixed-time", required_argument, NULL, OPT_FIXED_TIME},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"kek-file", required_argument, NULL, OPT_KEK_FILE},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'l':
            a->values[AT_CFG_LISTEN] = optarg;
            break;
        case 'd':
            a->values[AT_CFG_DATA_DIR] = optarg;
            break;
        case OPT_TLS_CERT:
            a->values[AT_CFG_TLS_CERT] = optarg;
            break;
        case OPT_TLS_KEY:
            a->values[AT_CFG_TLS_KEY] = optarg;
            break;
        case OPT_FIXED_TIME:
            a->values[AT_CFG_FIXED_TIME] = optarg;
            break;
        case OPT_CHECK:
            a->check = true;
            break;
        case OPT_KEK_FILE:
            a->values[AT_CFG_KEK_FILE] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("attestd %s\n", ATTESTD_VERSION);
            return 1;
        default:
            fprintf(stderr, "attestd: error: unknown option or missing value: %s\n",
                    optind > 0 && optind <= argc ? argv[optind - 1] : "?");
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "attestd: error: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return 0;
}

static const char *const opt_names[AT_CFG_KEY_COUNT] = {
    [AT_CFG_LISTEN] = "--listen",         [AT_CFG_DATA_DIR] = "--data-dir",
    [AT_CFG_TLS_CERT] = "--tls-cert",     [AT_CFG_TLS_KEY] = "--tls-key",
    [AT_CFG_FIXED_TIME] = "--fixed-time", [AT_CFG_KEK_FILE] = "--kek-file",
};

/* Defaults, environment, file, command line; false after printing the error. */
static bool build_config(const struct args *a, struct at_config *cfg)
{
    struct at_err e;
    at_err_init(&e);
    at_config_init(cfg);
    const char *env = getenv("ATTESTD_DATA_DIR");
    if (env != NULL && env[0] != '\0' &&
        !at_is_ok(at_config_set(cfg, AT_CFG_DATA_DIR, env, strlen(env), &e))) {
        print_err("ATTESTD_DATA_DIR", &e);
        return false;
    }
    if (a->config != NULL && !at_is_ok(at_config_load(cfg, a->config, &e))) {
        print_err(NULL, &e);
        return false;
    }
    for (unsigned k = 0; k < AT_CFG_KEY_COUNT; k++) {
        const char *v = a->values[k];
        if (v != NULL && !at_is_ok(at_config_set(cfg, (enum at_config_key)k, v, strlen(v), &e))) {
            print_err(opt_names[k], &e);
            return false;
        }
    }
    if (!at_is_ok(at_config_check(cfg, &e))) {
        print_err(NULL, &e);
        return false;
    }
    return true;
}

/* ---- TLS material ---- */

struct tls_files {
    char cert_path[4200];
    char key_path[4200];
    bool self_signed;
};

static at_status tls_paths(const struct at_config *cfg, bool create, struct tls_files *t,
                           struct at_err *e)
{
    memset(t, 0, sizeof(*t));
    if (cfg->tls_cert != NULL) {
        snprintf(t->cert_path, sizeof(t->cert_path), "%s", cfg->tls_cert);
        snprintf(t->key_path, sizeof(t->key_path), "%s", cfg->tls_key);
        return at_ok();
    }
    t->self_signed = true;
    return at_tls_selfsigned_ensure(cfg->data_dir, create, t->cert_path, sizeof(t->cert_path),
                                    t->key_path, sizeof(t->key_path), e);
}

/* Read cert + key; the key buffer is a secret (the caller wipes it with at_free_secret). */
static at_status tls_load(const struct tls_files *t, int64_t now, uint8_t **cert, size_t *cert_len,
                          uint8_t **key, size_t *key_len, struct at_err *e)
{
    AT_TRY(at_file_read(t->cert_path, PEM_MAX, cert, cert_len, e));
    at_status st = at_file_read(t->key_path, PEM_MAX, key, key_len, e);
    if (!at_is_ok(st)) {
        free(*cert);
        return st;
    }
    st = at_tls_check_pair((const char *)*cert, *cert_len, (const char *)*key, *key_len, now, e);
    if (!at_is_ok(st)) {
        free(*cert);
        at_free_secret(*key, *key_len);
    }
    return st;
}

static at_status check_root_pem(const char *path, const char *key, struct at_err *e)
{
    uint8_t *buf;
    size_t len;
    AT_TRY(at_file_read(path, PEM_MAX, &buf, &len, e));
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    bool ok = x != NULL;
    X509_free(x);
    BIO_free(b);
    free(buf);
    AT_ENSURE(ok, e, AT_E_BAD_VALUE, key, "%s holds no PEM certificate", path);
    return at_ok();
}

/* ---- --check-config ---- */

static int check_config(const struct at_config *cfg)
{
    int errors = 0;
    struct at_err e;
    at_err_init(&e);
    if (at_path_exists(cfg->data_dir) && !at_path_is_dir(cfg->data_dir)) {
        fprintf(stderr, "attestd: error: data_dir %s is not a directory\n", cfg->data_dir);
        errors++;
    }
    struct tls_files t;
    if (!at_is_ok(tls_paths(cfg, false, &t, &e))) {
        print_err("TLS", &e);
        errors++;
    } else if (t.self_signed && !at_path_exists(t.cert_path)) {
        fprintf(stderr, "attestd: note: a self-signed TLS certificate will be generated in %s\n",
                t.cert_path);
    } else {
        uint8_t *cert, *key;
        size_t cert_len, key_len;
        at_err_init(&e);
        if (!at_is_ok(tls_load(&t, at_time_now(), &cert, &cert_len, &key, &key_len, &e))) {
            print_err("TLS", &e);
            errors++;
        } else {
            free(cert);
            at_free_secret(key, key_len);
        }
    }
    if (cfg->sgx_root_ca != NULL) {
        at_err_init(&e);
        if (!at_is_ok(check_root_pem(cfg->sgx_root_ca, "sgx_root_ca", &e))) {
            print_err("sgx_root_ca", &e);
            errors++;
        }
    }
    if (cfg->net.tls_client_ca != NULL) {
        at_err_init(&e);
        if (!at_is_ok(check_root_pem(cfg->net.tls_client_ca, "tls_client_ca", &e))) {
            print_err("tls_client_ca", &e);
            errors++;
        }
    }
    if (cfg->amd_ark != NULL) {
        at_err_init(&e);
        if (!at_is_ok(check_root_pem(cfg->amd_ark, "amd_ark", &e))) {
            print_err("amd_ark", &e);
            errors++;
        }
    }
    errors += at_server_backup_check(cfg);
    if (errors != 0) {
        return 1;
    }
    printf("config ok\n");
    return 0;
}

/* ---- run ---- */

/* mkdir -p with mode 0700 for the directories it creates. */
static at_status make_dirs(const char *path, struct at_err *e)
{
    char buf[AT_CONFIG_PATH_MAX + 1];
    size_t n = strlen(path);
    AT_ENSURE(n > 0 && n < sizeof(buf), e, AT_E_BAD_VALUE, "data_dir", "bad data_dir");
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') {
            continue;
        }
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            AT_FAIL(e, AT_E_IO, "data_dir", "cannot create %s: %s", buf, strerror(errno));
        }
        buf[i] = saved;
    }
    AT_ENSURE(at_path_is_dir(path), e, AT_E_IO, "data_dir", "%s is not a directory", path);
    return at_ok();
}

/* SIGHUP: read the pair again and swap it in; a bad pair keeps the old one. */
static void reload_tls(struct at_server *srv, const struct tls_files *t)
{
    struct at_err e;
    at_err_init(&e);
    uint8_t *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    if (!at_is_ok(tls_load(t, at_time_now(), &cert, &cert_len, &key, &key_len, &e))) {
        at_log(AT_LOG_ERROR, "SIGHUP: TLS reload refused, keeping the current certificate: %s",
               e.msg[0] != '\0' ? e.msg : at_code_name(e.code));
        return;
    }
    at_status st = at_net_reload_tls(srv, (const char *)cert, cert_len, (const char *)key,
                                     key_len, &e);
    free(cert);
    at_free_secret(key, key_len);
    if (at_is_ok(st)) {
        at_log(AT_LOG_INFO, "SIGHUP: TLS certificate reloaded from %s", t->cert_path);
    } else {
        at_log(AT_LOG_ERROR, "SIGHUP: TLS reload refused, keeping the current certificate: %s",
               e.msg[0] != '\0' ? e.msg : at_code_name(e.code));
    }
}

static int run(const struct at_config *cfg, const char *config_path)
{
    struct at_err e;
    at_err_init(&e);
    int rc = 1;
    struct at_store *store = NULL;
    struct at_store *audit_store = NULL; /* the audit writer's own connection */
    struct at_service *svc = NULL;
    struct at_auth *auth = NULL;
    uint8_t *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;
    struct at_server srv;
    memset(&srv, 0, sizeof(srv));
    struct at_kek kek; /* zeroized as soon as the store has its keys */
    memset(&kek, 0, sizeof(kek));
    char when[32] = "";

    if (cfg->fixed_time) {
        at_time_format(cfg->fixed_now, when, sizeof(when));
        at_log(AT_LOG_WARN, "replay clock: verifying as of %s; never use in production", when);
    }
    if (cfg->sgx_root_ca != NULL) {
        at_log(AT_LOG_WARN,
               "!!! sgx_root_ca = %s REPLACES the pinned Intel SGX Root CA: "
               "evidence from this root is trusted; for tests only, never in "
               "production !!!",
               cfg->sgx_root_ca);
    }
    if (cfg->amd_ark != NULL) {
        at_log(AT_LOG_WARN,
               "!!! amd_ark = %s REPLACES the pinned AMD ARKs: SEV-SNP evidence chaining to "
               "it is trusted; for tests only, never in production !!!",
               cfg->amd_ark);
    }
    int64_t now = cfg->fixed_time ? cfg->fixed_now : at_time_now();

    /* Encryption at rest: a missing or wrong key-encryption key stops attestd with one
       line, before anything else is written (the store opens before TLS). */
    if (!at_is_ok(at_kek_load(cfg->kek_file, &kek, &e))) {
        print_err("store", &e);
        goto out;
    }
    if (!at_is_ok(make_dirs(cfg->data_dir, &e))) {
        print_err(NULL, &e);
        goto out;
    }
    at_status ks = at_store_open(cfg->data_dir, &kek, &store, &e);
    /* The audit writer stores its chain head through a connection of its own: a head
       write (a synchronous=FULL commit) must not hold the handle requests read through. */
    if (at_is_ok(ks) && cfg->audit_file != NULL) {
        ks = at_store_open(cfg->data_dir, &kek, &audit_store, &e);
    }
    at_kek_clear(&kek);
    if (!at_is_ok(ks)) {
        print_err("store", &e);
        goto out;
    }
    /* The audit log before anything is served (docs/audit-log.md). */
    struct at_audit_config acfg = {.file = cfg->audit_file,
                                   .fsync = cfg->audit_fsync,
                                   .syslog = cfg->audit_syslog,
                                   .store = audit_store != NULL ? audit_store : store};
    if (!at_is_ok(at_audit_start(&acfg, &e))) {
        print_err("audit", &e);
        goto out;
    }
    struct tls_files t;
    if (!at_is_ok(tls_paths(cfg, true, &t, &e)) ||
        !at_is_ok(tls_load(&t, at_time_now(), &cert, &cert_len, &key, &key_len, &e))) {
        print_err(NULL, &e);
        goto out;
    }
    if (!at_is_ok(at_service_ensure_default(store, now, &e))) {
        print_err("default provider", &e);
        goto out;
    }
    char issuer_base[AT_CONFIG_URL_MAX + 80];
    if (cfg->public_url != NULL) {
        snprintf(issuer_base, sizeof(issuer_base), "%s", cfg->public_url);
    } else {
        snprintf(issuer_base, sizeof(issuer_base), "https://localhost:%u",
                 (unsigned)cfg->listen_addr.port);
    }
    struct at_service_config scfg = {
        .store = store,
        .issuer_base = issuer_base,
        .fixed_time = cfg->fixed_time,
        .fixed_now = cfg->fixed_now,
        .sgx_root_pem_path = cfg->sgx_root_ca,
        .token_lifetime_s = cfg->token_lifetime_s,
        .amd_ark_pem_path = cfg->amd_ark,
    };
    if (!at_is_ok(at_service_new(&scfg, &svc, &e))) {
        print_err("service", &e);
        goto out;
    }
    /* Management plane identity: without it every management call is a 401. */
    if (cfg->oidc_config != NULL) {
        if (!at_is_ok(at_auth_load(cfg->oidc_config, &auth, &e))) {
            print_err("oidc_config", &e);
            goto out;
        }
    } else {
        at_log(AT_LOG_INFO, "no oidc_config: management endpoints answer 401");
    }

    /* Block the shutdown signals before MHD starts its threads, so only sigwait sees them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Metrics and alerts (threads: after the signal mask, before serving). */
    if (!at_is_ok(at_monitor_start(cfg, store, &e))) {
        print_err("alerts", &e);
        goto out;
    }
    at_metrics_set_backup_source(at_backup_last_success);
    if (!at_is_ok(at_server_backup_start(cfg, store, config_path, &e))) {
        print_err("scheduled backups", &e);
        goto out;
    }
    srv.cfg = cfg;
    srv.svc = svc;
    srv.store = store;
    srv.auth = auth;
    at_status st = at_http_start(&srv, (const char *)cert, (const char *)key, &e);
    /* GnuTLS holds its own copy now; ours goes. */
    at_free_secret(key, key_len);
    key = NULL;
    if (!at_is_ok(st)) {
        print_err(NULL, &e);
        goto out;
    }
    if (t.self_signed) {
        at_log(AT_LOG_INFO,
               "TLS certificate (self-signed): %s; try: curl --cacert %s "
               "https://localhost:%u/.well-known/openid-configuration",
               t.cert_path, t.cert_path, (unsigned)srv.port);
    } else {
        at_log(AT_LOG_INFO, "TLS certificate: %s", t.cert_path);
    }
    char threads[32] = "a thread per connection";
    if (cfg->threads > 0) {
        snprintf(threads, sizeof(threads), "%u worker thread(s)", cfg->threads);
    }
    at_log(AT_LOG_INFO, "attestd %s: data %s, %s, max body %zu bytes", ATTESTD_VERSION,
           cfg->data_dir, threads, cfg->max_body_bytes);
    /* The lines scripts wait for: the first exactly "attestd: listening on https://H:P". */
    at_net_print_ready(&srv);

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            at_audit_reopen(); /* logrotate: the chain continues in the new file */
            at_log(AT_LOG_INFO, "SIGHUP: audit log reopened");
            reload_tls(&srv, &t);
            continue;
        }
        at_log(AT_LOG_INFO, "%s: stopping (draining in-flight requests)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    at_http_stop(&srv);
    at_backup_schedule_stop();
    at_audit_stop(); /* flush and sync every queued record, store the head */
    at_log(AT_LOG_INFO, "stopped");
    rc = 0;
out:
    at_kek_clear(&kek);
    if (srv.net != NULL) {
        at_http_stop(&srv);
    }
    at_monitor_stop();
    if (key != NULL) {
        at_free_secret(key, key_len);
    }
    free(cert);
    at_backup_schedule_stop(); /* before the audit log: a backup in flight audits itself */
    at_audit_stop();
    at_auth_free(auth);
    at_service_free(svc);
    if (audit_store != NULL) {
        at_store_close(audit_store);
    }
    if (store != NULL) {
        at_store_close(store);
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct args a;
    int r = parse_args(argc, argv, &a);
    if (r != 0) {
        return r == 1 ? 0 : 2;
    }
    struct at_config cfg;
    if (!build_config(&a, &cfg)) {
        at_config_clear(&cfg);
        return 1;
    }
    at_log_set_level(cfg.log_level);
    at_log_set_format(cfg.log_format);
    int rc = a.check ? check_config(&cfg) : run(&cfg, a.config);
    at_config_clear(&cfg);
    return rc;
}
