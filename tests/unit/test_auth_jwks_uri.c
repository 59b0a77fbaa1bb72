/*
 * Trusted-issuer keys from an https jwks_uri (src/auth/jwks_fetch.c, jwks_cache.c): a
 * python3 http.server wrapped in TLS on a free 127.0.0.1 port serves a JWKS file that the
 * tests rewrite, with a self-signed localhost certificate made here and trusted through
 * jwks_ca_file. Covers a fetched key, rotation through the forced refresh on an unknown
 * kid (and its rate limit), the stale window after the server goes away, a wrong CA, a
 * JWKS holding private key material, and the load-time configuration errors. Time is the
 * `now` passed to at_auth_authenticate, never the wall clock.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "auth/auth.h"
#include "token/token.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* 2025-01-01T00:00:00Z */
#define T0  INT64_C(1735689600)
#define ISS "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
#define AUD "api://attestd"

static const char server_py[] = "import http.server, ssl, sys, os\n"
                                "os.chdir(sys.argv[1])\n"
                                "class H(http.server.SimpleHTTPRequestHandler):\n"
                                "    def log_message(self, *a):\n"
                                "        pass\n"
                                "srv = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
                                "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
                                "ctx.minimum_version = ssl.TLSVersion.TLSv1_2\n"
                                "ctx.load_cert_chain(sys.argv[2], sys.argv[3])\n"
                                "srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n"
                                "print(srv.server_address[1], flush=True)\n"
                                "srv.serve_forever()\n";

static struct at_signer *k1, *k2, *k3;
static char dir[64];
static char jwks_path[128], bad_path[128], cert_path[128], key_path[128], other_ca[128];
static pid_t server_pid = -1;
static int port;

/* ---------------------------------------------------------------- files */

static void write_file(const char *path, const char *text)
{
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void serve_keys(struct at_signer *const *s, size_t n)
{
    json_t *doc = at_jwks_document(s, n);
    assert_non_null(doc);
    char *txt = json_dumps(doc, JSON_COMPACT);
    assert_non_null(txt);
    write_file(jwks_path, txt);
    free(txt);
    json_decref(doc);
}

/* A self-signed P-256 certificate for localhost and 127.0.0.1; key written when key_out. */
static int make_cert(const char *cert_out, const char *key_out)
{
    int rc = -1;
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    FILE *f = NULL;
    if (pk == NULL || x == NULL || X509_set_version(x, 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || X509_set_pubkey(x, pk) != 1) {
        goto out;
    }
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1) {
        goto out;
    }
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *san =
        X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
    bool ext_ok =
        san != NULL && bc != NULL && X509_add_ext(x, san, -1) == 1 && X509_add_ext(x, bc, -1) == 1;
    X509_EXTENSION_free(san);
    X509_EXTENSION_free(bc);
    if (!ext_ok || X509_sign(x, pk, EVP_sha256()) == 0) {
        goto out;
    }
    f = fopen(cert_out, "w");
    if (f == NULL || PEM_write_X509(f, x) != 1 || fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;
    if (key_out != NULL) {
        f = fopen(key_out, "w");
        if (f == NULL || PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
            fclose(f) != 0) {
            f = NULL;
            goto out;
        }
        f = NULL;
    }
    rc = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    X509_free(x);
    EVP_PKEY_free(pk);
    return rc;
}

/* --------------------------------------------------------------- server */

/* Start the TLS file server on a free loopback port; sets server_pid and port. */
static int server_start(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = {(char *)(uintptr_t) "python3",
                    (char *)(uintptr_t) "-c",
                    (char *)(uintptr_t)server_py,
                    dir,
                    cert_path,
                    key_path,
                    NULL};
    int rc = posix_spawnp(&server_pid, "python3", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        server_pid = -1;
        return -1;
    }
    char line[32] = {0};
    size_t n = 0;
    while (n + 1 < sizeof(line)) {
        ssize_t r = read(fds[0], line + n, 1);
        if (r != 1 || line[n] == '\n') {
            break;
        }
        n++;
    }
    close(fds[0]);
    char *end = NULL;
    long p = strtol(line, &end, 10);
    if (end == line || p <= 0 || p > 65535) {
        return -1;
    }
    port = (int)p;
    return 0;
}

static void server_stop(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
}

/* ---------------------------------------------------------------- setup */

static int setup(void **state)
{
    (void)state;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_signer_generate(AT_ALG_RS256, "idp1", T0 - 86400, 30, &k1, &e)) ||
        !at_is_ok(at_signer_generate(AT_ALG_RS256, "idp2", T0 - 86400, 30, &k2, &e)) ||
        !at_is_ok(at_signer_generate(AT_ALG_RS256, "idp3", T0 - 86400, 30, &k3, &e))) {
        return -1;
    }
    snprintf(dir, sizeof(dir), "/tmp/attestd-jwksuri-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(jwks_path, sizeof(jwks_path), "%s/jwks.json", dir);
    snprintf(bad_path, sizeof(bad_path), "%s/private.json", dir);
    snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
    snprintf(other_ca, sizeof(other_ca), "%s/other-ca.pem", dir);
    if (make_cert(cert_path, key_path) != 0 || make_cert(other_ca, NULL) != 0) {
        return -1;
    }
    /* The fetch must reach the loopback server directly, whatever the environment says. */
    setenv("NO_PROXY", "*", 1);
    setenv("no_proxy", "*", 1);
    serve_keys(&k1, 1);
    write_file(bad_path, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\",\"k\":\"c2VjcmV0\"}]}");
    return server_start();
}

static int teardown(void **state)
{
    (void)state;
    server_stop();
    at_signer_free(k1);
    at_signer_free(k2);
    at_signer_free(k3);
    const char *files[] = {jwks_path, bad_path, cert_path, key_path, other_ca};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        unlink(files[i]);
    }
    return rmdir(dir);
}

/* ------------------------------------------------------------- helpers */

/* An issuer whose keys come from https://127.0.0.1:<port>/<file>, trusting `ca`. */
static struct at_auth *uri_auth(const char *file, const char *ca)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "https://127.0.0.1:%d/%s", port, file);
    json_t *c = json_pack("{s:[{s:s,s:[s],s:s,s:s}]}", "issuers", "issuer", ISS, "audiences", AUD,
                          "jwks_uri", uri, "jwks_ca_file", ca);
    assert_non_null(c);
    struct at_err e;
    at_err_init(&e);
    struct at_auth *a = NULL;
    at_status st = at_auth_new(c, &a, &e);
    json_decref(c);
    if (!at_is_ok(st)) {
        fail_msg("at_auth_new: %s", e.msg);
    }
    return a;
}

/* "Bearer <jwt>" signed by s, valid from T0 - 60 for well over the stale window. */
static char *mint(const struct at_signer *s)
{
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "aud", AUD, "iss", ISS, "tid",
                          "72f988bf-86f1-41af-91ab-2d7cd011db47", "oid",
                          "0b3f6a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "sub", "alice", "iat",
                          (json_int_t)(T0 - 60), "nbf", (json_int_t)(T0 - 60), "exp",
                          (json_int_t)(T0 + 200000));
    assert_non_null(p);
    struct at_err e;
    at_err_init(&e);
    char *jwt = NULL;
    assert_true(at_is_ok(at_jwt_sign(s, p, NULL, false, &jwt, &e)));
    json_decref(p);
    size_t n = strlen(jwt);
    char *h = malloc(n + 8);
    assert_non_null(h);
    memcpy(h, "Bearer ", 7);
    memcpy(h + 7, jwt, n + 1);
    free(jwt);
    return h;
}

/* Authenticate a token of `s` at `now`; want NULL: must pass, else the failing check. */
static void expect(struct at_auth *a, const struct at_signer *s, int64_t now, const char *want)
{
    char *tok = mint(s);
    struct at_err e;
    at_err_init(&e);
    struct at_principal p;
    at_status st = at_auth_authenticate(a, tok, now, &p, &e);
    free(tok);
    if (want == NULL) {
        if (!at_is_ok(st)) {
            fail_msg("at T0%+lld: expected success, got %s: %s", (long long)(now - T0),
                     e.check != NULL ? e.check : "(null)", e.msg);
        }
        return;
    }
    if (st.code != AT_E_UNAUTHENTICATED || e.check == NULL || strcmp(e.check, want) != 0) {
        fail_msg("at T0%+lld: expected %s, got code %d check %s: %s", (long long)(now - T0), want,
                 st.code, e.check != NULL ? e.check : "(null)", e.msg);
    }
}

/* ---------------------------------------------------------------- tests */

static void test_fetched_key(void **state)
{
    (void)state;
    serve_keys(&k1, 1);
    struct at_auth *a = uri_auth("jwks.json", cert_path);
    expect(a, k1, T0, NULL);
    expect(a, k2, T0 + 1, "unknown_kid");
    at_auth_free(a);
}

/* The server rotates to new keys: a token with the new kid forces one refetch per 60 s. */
static void test_rotation(void **state)
{
    (void)state;
    serve_keys(&k1, 1);
    struct at_auth *a = uri_auth("jwks.json", cert_path);
    expect(a, k1, T0, NULL);
    struct at_signer *both[2] = {k1, k2};
    serve_keys(both, 2);
    expect(a, k2, T0 + 10, NULL); /* forced refresh */
    expect(a, k1, T0 + 11, NULL);
    serve_keys(&k3, 1);
    expect(a, k3, T0 + 20, "unknown_kid"); /* rate-limited: last forced fetch at T0 + 10 */
    expect(a, k1, T0 + 21, NULL);          /* so the old keys are still in use */
    expect(a, k3, T0 + 70, NULL);          /* 60 s later: refetched */
    expect(a, k1, T0 + 71, "unknown_kid"); /* k1 is gone from the new document */
    at_auth_free(a);
    serve_keys(&k1, 1);
}

/* Scheduled refresh: jwks_refresh_s after the last fetch the document is fetched again. */
static void test_scheduled_refresh(void **state)
{
    (void)state;
    serve_keys(&k1, 1);
    struct at_auth *a = uri_auth("jwks.json", cert_path);
    expect(a, k1, T0, NULL);
    serve_keys(&k2, 1);
    expect(a, k1, T0 + 3599, NULL);
    expect(a, k1, T0 + 3600, "unknown_kid"); /* refreshed: only k2 now */
    expect(a, k2, T0 + 3601, NULL);
    at_auth_free(a);
    serve_keys(&k1, 1);
}

/* Server gone after a good fetch: keys stay for jwks_stale_max_s (86400), then fail closed. */
static void test_stale_window(void **state)
{
    (void)state;
    serve_keys(&k1, 1);
    struct at_auth *a = uri_auth("jwks.json", cert_path);
    expect(a, k1, T0, NULL);
    server_stop();
    expect(a, k1, T0 + 3600, NULL); /* refresh fails: last good keys */
    expect(a, k2, T0 + 3700, "unknown_kid");
    expect(a, k1, T0 + 86400, NULL); /* the window's last second */
    expect(a, k1, T0 + 86401, "unknown_kid");
    expect(a, k1, T0 + 90000, "unknown_kid");
    at_auth_free(a);
    assert_int_equal(server_start(), 0);
}

/* A fetch that fails at load is not fatal: unknown_kid until a fetch succeeds. */
static void test_no_keys_yet(void **state)
{
    (void)state;
    struct at_auth *a = uri_auth("jwks.json", other_ca); /* wrong CA: TLS fails */
    expect(a, k1, T0, "unknown_kid");
    expect(a, k1, T0 + 3600, "unknown_kid");
    at_auth_free(a);
    a = uri_auth("missing.json", cert_path); /* 404 */
    expect(a, k1, T0, "unknown_kid");
    at_auth_free(a);
    a = uri_auth("private.json", cert_path); /* symmetric key: refused like a file */
    expect(a, k1, T0, "unknown_kid");
    at_auth_free(a);
}

struct cfg_case {
    const char *name;
    const char *json; /* %s: the CA file */
    enum at_code code;
    const char *needle;
};

static const struct cfg_case cfg_cases[] = {
    {"http uri",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],"
     "\"jwks_uri\":\"http://127.0.0.1:1/k\"}]}",
     AT_E_BAD_VALUE, "https"},
    {"uri with fragment",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],"
     "\"jwks_uri\":\"https://127.0.0.1:1/k#x\"}]}",
     AT_E_BAD_VALUE, "fragment"},
    {"uri not a string",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_uri\":1}]}",
     AT_E_BAD_VALUE, "jwks_uri"},
    {"both file and uri",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"jwks_uri\":\"https://127.0.0.1:1/k\"}]}",
     AT_E_BAD_VALUE, "exactly one"},
    {"neither", "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"]}]}", AT_E_BAD_VALUE,
     "exactly one"},
    {"ca file with jwks_file",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"jwks_ca_file\":\"%s\"}]}",
     AT_E_BAD_VALUE, "jwks_ca_file"},
    {"ca file missing",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],"
     "\"jwks_uri\":\"https://127.0.0.1:1/k\",\"jwks_ca_file\":\"%s.nope\"}]}",
     AT_E_IO, "nope"},
};

/* Copy `tpl` into buf with every "%s" replaced by `path`. */
static void subst_path(char *buf, size_t cap, const char *tpl, const char *path)
{
    size_t o = 0, pl = strlen(path);
    for (const char *c = tpl; *c != '\0'; c++) {
        if (c[0] == '%' && c[1] == 's') {
            assert_true(o + pl < cap);
            memcpy(buf + o, path, pl);
            o += pl;
            c++;
        } else {
            assert_true(o + 1 < cap);
            buf[o++] = *c;
        }
    }
    buf[o] = '\0';
}

static void test_config_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++) {
        char buf[1024];
        subst_path(buf, sizeof(buf), cfg_cases[i].json, cert_path);
        json_error_t jerr;
        json_t *c = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
        assert_non_null(c);
        struct at_err e;
        at_err_init(&e);
        struct at_auth *a = NULL;
        at_status st = at_auth_new(c, &a, &e);
        json_decref(c);
        if (st.code != cfg_cases[i].code || strstr(e.msg, cfg_cases[i].needle) == NULL) {
            fail_msg("config case '%s': code %d msg %s", cfg_cases[i].name, st.code, e.msg);
        }
        assert_null(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetched_key),       cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_scheduled_refresh), cmocka_unit_test(test_stale_window),
        cmocka_unit_test(test_no_keys_yet),       cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
