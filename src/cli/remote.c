/* Remote management helpers for attestctl; see remote.h. */
#include "cli/remote.h"

#include "base/fileio.h"
#include "base/secure.h"
#include "cli/http_client.h"
#include "crypto/x509.h"
#include "token/token.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest token file (Entra ID tokens are a few KiB). */
#define TOKEN_FILE_MAX ((size_t)64 * 1024)
/* Largest certificate PEM file. */
#define CERT_FILE_MAX ((size_t)256 * 1024)

bool at_cli_remote_enabled(void)
{
    const char *u = at_cli_url();
    return u != NULL && u[0] != '\0';
}

/* Token characters: the base64url alphabet and '.', as a JWT has (RFC 7515 §7.1). */
static bool token_ok(const char *t, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int load_token(struct at_remote *r)
{
    const char *file = at_cli_token_file();
    uint8_t *buf = NULL;
    size_t len = 0;
    if (file != NULL) {
        struct at_err e;
        at_err_init(&e);
        if (!at_is_ok(at_file_read(file, TOKEN_FILE_MAX, &buf, &len, &e))) {
            fprintf(stderr, "attestctl %s: token file: %s\n", r->cmd, e.msg);
            return 2;
        }
    } else {
        const char *env = getenv("ATTESTD_TOKEN");
        if (env == NULL || env[0] == '\0') {
            fprintf(stderr, "attestctl %s: no bearer token (--token-file FILE or $ATTESTD_TOKEN)\n",
                    r->cmd);
            return 2;
        }
        len = strlen(env);
        buf = len < TOKEN_FILE_MAX ? malloc(len + 1) : NULL;
        if (buf == NULL) {
            fprintf(stderr, "attestctl %s: $ATTESTD_TOKEN is too long\n", r->cmd);
            return 2;
        }
        memcpy(buf, env, len + 1);
    }
    size_t cap = len + 1;
    /* Trim surrounding white space (files usually end in a newline). */
    size_t start = 0;
    while (start < len && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n' ||
                           buf[start] == '\r')) {
        start++;
    }
    while (len > start && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n' ||
                           buf[len - 1] == '\r')) {
        len--;
    }
    memmove(buf, buf + start, len - start);
    len -= start;
    buf[len] = '\0';
    if (!token_ok((const char *)buf, len)) {
        at_free_secret(buf, cap);
        fprintf(stderr, "attestctl %s: the bearer token is empty or holds characters a JWT "
                        "cannot\n", r->cmd);
        return 2;
    }
    r->token = (char *)buf;
    r->token_cap = cap;
    return 0;
}

int at_remote_open(struct at_remote *r, const char *cmd)
{
    memset(r, 0, sizeof(*r));
    r->cmd = cmd;
    r->cacert = at_cli_cacert();
    const char *u = at_cli_url();
    size_t n = u != NULL ? strlen(u) : 0;
    while (n > 0 && u[n - 1] == '/') {
        n--;
    }
    if (n == 0 || strncmp(u, "https://", 8) != 0 || n <= 8 || n >= sizeof(r->base) ||
        strpbrk(u, "?# \t\r\n") != NULL) {
        fprintf(stderr, "attestctl %s: --url must be an https:// URL without query\n", cmd);
        return 2;
    }
    memcpy(r->base, u, n);
    r->base[n] = '\0';
    return load_token(r);
}

void at_remote_close(struct at_remote *r)
{
    if (r->token != NULL) {
        at_free_secret(r->token, r->token_cap);
    }
    r->token = NULL;
    r->token_cap = 0;
}

/* Print a server message unless it would quote the token. */
static const char *redact(const struct at_remote *r, const char *s)
{
    if (s == NULL) {
        return "";
    }
    if (r->token != NULL && r->token[0] != '\0' && strstr(s, r->token) != NULL) {
        return "[message withheld: it quoted the bearer token]";
    }
    return s;
}

static void print_http_error(const struct at_remote *r, long status, const char *body)
{
    json_error_t je;
    json_t *j = body != NULL && body[0] != '\0' ? json_loads(body, 0, &je) : NULL;
    const json_t *err = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (code == NULL) {
        code = status == 401   ? "Unauthorized"
               : status == 403 ? "Forbidden"
               : status == 404 ? "NotFound"
                               : "Error";
    }
    fprintf(stderr, "attestctl %s: HTTP %ld %s: %s\n", r->cmd, status, redact(r, code),
            msg != NULL ? redact(r, msg) : "(no message)");
    json_decref(j);
}

int at_remote_call(struct at_remote *r, const char *method, const char *path,
                   const char *content_type, const char *body, size_t body_len, json_t **out)
{
    size_t need = strlen(r->base) + strlen(path) + 1;
    char *url = malloc(need);
    if (url == NULL) {
        fprintf(stderr, "attestctl %s: out of memory\n", r->cmd);
        return 2;
    }
    snprintf(url, need, "%s%s", r->base, path);
    struct at_http_req req = {method, url, r->cacert, r->token, content_type, body, body_len};
    struct at_http_resp resp = {0, NULL, 0};
    char err[CURL_ERROR_SIZE + 64];
    int hr = at_http_request(&req, &resp, err, sizeof(err));
    free(url);
    if (hr != 0) {
        fprintf(stderr, "attestctl %s: %s: %s\n", r->cmd, r->base, redact(r, err));
        return 2;
    }
    if (resp.status < 200 || resp.status > 299) {
        print_http_error(r, resp.status, resp.body);
        at_http_resp_clear(&resp);
        return 1;
    }
    int rc = 0;
    json_t *j = NULL;
    if (resp.body_len > 0) {
        json_error_t je;
        j = json_loadb(resp.body, resp.body_len, JSON_REJECT_DUPLICATES, &je);
        if (j == NULL) {
            fprintf(stderr, "attestctl %s: the server's answer is not JSON\n", r->cmd);
            rc = 1;
        }
    }
    at_http_resp_clear(&resp);
    if (rc == 0 && out != NULL) {
        *out = j;
    } else {
        json_decref(j);
    }
    return rc;
}

int at_remote_result(struct at_remote *r, const char *provider, const json_t *resp,
                     json_t **claims)
{
    const char *tok = json_string_value(json_object_get(resp, "token"));
    if (tok == NULL) {
        fprintf(stderr, "attestctl %s: the server's answer holds no token\n", r->cmd);
        return 1;
    }
    char path[128];
    snprintf(path, sizeof(path), "/providers/%s/certs", provider);
    json_t *jwks = NULL;
    int rc = at_remote_call(r, "GET", path, NULL, NULL, 0, &jwks);
    if (rc != 0) {
        return rc;
    }
    struct at_err e;
    at_err_init(&e);
    json_t *payload = NULL;
    if (!at_is_ok(at_jwt_verify(tok, jwks, &payload, &e))) {
        fprintf(stderr, "attestctl %s: the server's result token does not verify against its "
                        "/certs: %s\n", r->cmd, e.msg);
        json_decref(jwks);
        return 1;
    }
    json_decref(jwks);
    *claims = payload;
    return 0;
}

char *at_remote_escape(const char *s)
{
    size_t n = strlen(s);
    if (n > 4096) {
        return NULL;
    }
    char *c = curl_easy_escape(NULL, s, (int)n);
    if (c == NULL) {
        return NULL;
    }
    char *out = strdup(c);
    curl_free(c);
    return out;
}

int at_remote_emit(const char *cmd, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
                        : NULL;
    json_decref(j);
    if (s == NULL) {
        fprintf(stderr, "attestctl %s: out of memory\n", cmd);
        return 2;
    }
    int ok = printf("%s\n", s) >= 0 && fflush(stdout) == 0;
    free(s);
    return ok ? 0 : 2;
}

int at_remote_read_file(const char *cmd, const char *path, size_t max, unsigned char **out,
                        size_t *len)
{
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_file_read(path, max, out, len, &e))) {
        fprintf(stderr, "attestctl %s: %s\n", cmd, e.msg);
        return 2;
    }
    return 0;
}

/* Standard base64 (no line breaks) of a DER certificate, as a JSON string. */
static json_t *x5c_entry(X509 *c)
{
    unsigned char *der = NULL;
    int n = i2d_X509(c, &der);
    if (n <= 0 || n > (1 << 20)) {
        OPENSSL_free(der);
        return NULL;
    }
    size_t cap = 4 * (((size_t)n + 2) / 3) + 1;
    unsigned char *b64 = malloc(cap);
    json_t *s = NULL;
    if (b64 != NULL && EVP_EncodeBlock(b64, der, n) > 0) {
        s = json_string((const char *)b64);
    }
    free(b64);
    OPENSSL_free(der);
    return s;
}

/* "EC" when the certificate is signed with ECDSA, else "RSA" (maa-api.md §2.6). */
static const char *kty_of(const X509 *c)
{
    int pk = NID_undef;
    if (OBJ_find_sigid_algs(X509_get_signature_nid(c), NULL, &pk) == 1 &&
        pk == EVP_PKEY_EC) {
        return "EC";
    }
    return "RSA";
}

int at_remote_certs_x5c(const char *cmd, const char *path, json_t *x5c, size_t max_total,
                        const char **kty)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = at_remote_read_file(cmd, path, CERT_FILE_MAX, &buf, &len);
    if (rc != 0) {
        return rc;
    }
    struct at_err e;
    at_err_init(&e);
    STACK_OF(X509) *chain = NULL;
    at_status st = at_x509_pem_chain(buf, len, &chain, "certificate", &e);
    free(buf);
    if (!at_is_ok(st)) {
        fprintf(stderr, "attestctl %s: %s: %s\n", cmd, path, e.msg);
        return 1;
    }
    for (int i = 0; rc == 0 && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        if (json_array_size(x5c) >= max_total) {
            fprintf(stderr, "attestctl %s: more than %zu certificates\n", cmd, max_total);
            rc = 1;
        } else if (json_array_append_new(x5c, x5c_entry(c)) != 0) {
            fprintf(stderr, "attestctl %s: %s: cannot encode a certificate\n", cmd, path);
            rc = 2;
        } else if (i == 0 && kty != NULL) {
            *kty = kty_of(c);
        }
    }
    sk_X509_pop_free(chain, X509_free);
    return rc;
}
