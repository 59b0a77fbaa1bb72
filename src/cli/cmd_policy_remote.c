/*
 * attestctl policy, remote and signing halves.
 *
 *   attestctl policy sign --key KEY.pem --cert CERT.pem [FILE]
 *     prints the MAA signed-policy JWS (header {"alg","x5c"}, payload
 *     {"AttestationPolicy": b64url(text)}) for FILE (or stdin). Local; no server.
 *   attestctl --url U policy get|set|reset --provider NAME --type T [FILE]
 *             [--sign-key KEY.pem --sign-cert CERT.pem]
 *     -> GET/PUT /providers/NAME/policies/T, POST /providers/NAME/policies/T:reset
 *        (maa-api.md §2.5). set sends the raw JWS as text/plain (unsigned
 *        "eyJhbGciOiJub25lIn0.<payload>." without a key); reset an empty-payload JWS.
 *
 * get prints the policy text byte-exact; set/reset print {"result","policy_token_hash",
 * "signer"?}. Every result token must verify against the provider's /certs and, for
 * set/reset, carry the hash of exactly the JWS sent; else exit 1. Exit 1 also when the
 * server refuses (its error code and message on stderr); 2 usage, I/O or connection.
 */
#include "base/encoding.h"
#include "base/fileio.h"
#include "base/limits.h"
#include "base/secure.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "crypto/digest.h"
#include "token/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_FILE_MAX ((size_t)256 * 1024)
/* base64url of {"alg":"none"}: the unsecured JWS header (RFC 7519 §6.1). */
#define NONE_HEADER "eyJhbGciOiJub25lIn0"

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl policy sign --key KEY.pem --cert CERT.pem [FILE]\n"
               "       attestctl --url URL policy get|set|reset --provider NAME --type TYPE "
               "[FILE] [--sign-key KEY.pem --sign-cert CERT.pem]\n");
}

/* FILE, or all of stdin when path is NULL; at most AT_LIMIT_POLICY_BYTES. */
static int read_text(const char *path, uint8_t **out, size_t *len)
{
    if (path != NULL) {
        return at_remote_read_file("policy", path, AT_LIMIT_POLICY_BYTES, out, len);
    }
    size_t cap = AT_LIMIT_POLICY_BYTES + 1;
    uint8_t *buf = malloc(cap + 1);
    size_t n = 0;
    while (buf != NULL && n < cap) {
        size_t got = fread(buf + n, 1, cap - n, stdin);
        if (got == 0) {
            break;
        }
        n += got;
    }
    if (buf == NULL || ferror(stdin) || n > AT_LIMIT_POLICY_BYTES) {
        fprintf(stderr, "attestctl policy: cannot read the policy from standard input%s\n",
                n > AT_LIMIT_POLICY_BYTES ? " (too large)" : "");
        free(buf);
        return 2;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* A JWS over `payload`: signed with key+cert when key_path is set, else unsecured. */
static int make_jws(const char *key_path, const char *cert_path, const uint8_t *payload,
                    size_t payload_len, char **out)
{
    if (key_path == NULL) {
        char *p = at_b64url_dup(payload, payload_len);
        size_t need = sizeof(NONE_HEADER) + (p != NULL ? strlen(p) : 0) + 2;
        char *j = p != NULL ? malloc(need) : NULL;
        if (j == NULL) {
            free(p);
            fprintf(stderr, "attestctl policy: out of memory\n");
            return 2;
        }
        snprintf(j, need, "%s.%s.", NONE_HEADER, p);
        free(p);
        *out = j;
        return 0;
    }
    uint8_t *key = NULL, *cert = NULL;
    size_t key_len = 0, cert_len = 0;
    int rc = at_remote_read_file("policy", key_path, PEM_FILE_MAX, &key, &key_len);
    if (rc == 0) {
        rc = at_remote_read_file("policy", cert_path, PEM_FILE_MAX, &cert, &cert_len);
    }
    if (rc == 0) {
        struct at_err e;
        at_err_init(&e);
        if (!at_is_ok(at_jws_policy_sign(key, key_len, cert, cert_len, payload, payload_len, out,
                                         &e))) {
            fprintf(stderr, "attestctl policy: %s\n", e.msg);
            rc = at_cli_exit_code(&e);
        }
    }
    if (key != NULL) {
        at_free_secret(key, key_len);
    }
    free(cert);
    return rc;
}

/* {"AttestationPolicy": b64url(text)} compact, then the JWS. */
static int policy_jws(const char *key, const char *cert, const uint8_t *text, size_t len,
                      char **out)
{
    char *b = at_b64url_dup(text, len);
    json_t *o = b != NULL ? json_pack("{s:s}", "AttestationPolicy", b) : NULL;
    free(b);
    char *p = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (p == NULL) {
        fprintf(stderr, "attestctl policy: out of memory\n");
        return 2;
    }
    int rc = make_jws(key, cert, (const uint8_t *)p, strlen(p), out);
    free(p);
    return rc;
}

int at_cli_policy_sign(int argc, char **argv)
{
    const char *key = NULL, *cert = NULL, *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc) {
            cert = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || file != NULL) {
            usage(stderr);
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (key == NULL || cert == NULL) {
        usage(stderr);
        return 2;
    }
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = read_text(file, &text, &len);
    char *jws = NULL;
    if (rc == 0) {
        rc = policy_jws(key, cert, text, len, &jws);
    }
    free(text);
    if (rc == 0) {
        rc = printf("%s\n", jws) >= 0 && fflush(stdout) == 0 ? 0 : 2;
    }
    free(jws);
    return rc;
}

/* ---- remote get/set/reset ---- */

struct opts {
    const char *sub, *provider, *type, *file, *key, *cert;
};

static bool ident_ok(const char *s, bool lower_dash)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = lower_dash ? (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
                             : (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                   (c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int parse(int argc, char **argv, struct opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--provider") == 0 && has) {
            o->provider = argv[++i];
        } else if (strcmp(a, "--type") == 0 && has) {
            o->type = argv[++i];
        } else if (strcmp(a, "--sign-key") == 0 && has) {
            o->key = argv[++i];
        } else if (strcmp(a, "--sign-cert") == 0 && has) {
            o->cert = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if (a[0] == '-' || o->file != NULL || strcmp(o->sub, "set") != 0) {
            usage(stderr);
            return 2;
        } else {
            o->file = a;
        }
    }
    if (o->provider == NULL || o->type == NULL || (o->key == NULL) != (o->cert == NULL) ||
        (o->key != NULL && strcmp(o->sub, "get") == 0)) {
        usage(stderr);
        return 2;
    }
    if (!ident_ok(o->provider, true) || !ident_ok(o->type, false)) {
        fprintf(stderr, "attestctl policy: invalid provider name or attestation type\n");
        return 2;
    }
    return 0;
}

/* The policy text inside a PolicyResult's x-ms-policy JWS, written to stdout. */
static int print_policy(const json_t *claims)
{
    const char *jws = json_string_value(json_object_get(claims, "x-ms-policy"));
    const char *d1 = jws != NULL ? strchr(jws, '.') : NULL;
    const char *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    struct at_err e;
    at_err_init(&e);
    uint8_t *pl = NULL, *text = NULL;
    size_t pl_len = 0, text_len = 0;
    json_t *stored = NULL;
    int rc = 1;
    if (d2 != NULL &&
        at_is_ok(at_b64_decode_any(d1 + 1, (size_t)(d2 - d1 - 1), &pl, &pl_len, &e)) &&
        (stored = json_loadb((const char *)pl, pl_len, JSON_REJECT_DUPLICATES, NULL)) != NULL) {
        const char *b = json_string_value(json_object_get(stored, "AttestationPolicy"));
        if (b != NULL && at_is_ok(at_b64_decode_any(b, strlen(b), &text, &text_len, &e))) {
            rc = text_len == 0 || fwrite(text, 1, text_len, stdout) == text_len ? 0 : 2;
            rc = rc == 0 && fflush(stdout) == 0 ? 0 : 2;
        }
    }
    if (rc == 1) {
        fprintf(stderr, "attestctl policy: the server's answer holds no readable x-ms-policy\n");
    }
    json_decref(stored);
    free(pl);
    free(text);
    return rc;
}

/* {"result","policy_token_hash","signer"?} after checking the hash of what we sent. */
static int print_result(const json_t *claims, const char *sent)
{
    uint8_t h[AT_SHA256_LEN];
    char want[64];
    if (at_sha256(sent, strlen(sent), h) != 0) {
        return 2;
    }
    at_b64url_encode(h, sizeof(h), want);
    const char *hash = json_string_value(json_object_get(claims, "x-ms-policy-token-hash"));
    const char *result = json_string_value(json_object_get(claims, "x-ms-policy-result"));
    if (hash == NULL || result == NULL || strcmp(hash, want) != 0) {
        fprintf(stderr, "attestctl policy: the result's x-ms-policy-token-hash is not the hash "
                        "of the JWS sent\n");
        return 1;
    }
    json_t *o = json_pack("{s:s,s:s}", "result", result, "policy_token_hash", hash);
    json_t *signer = json_object_get(claims, "x-ms-policy-signer");
    if (o != NULL && signer != NULL) {
        json_object_set(o, "signer", signer);
    }
    return at_remote_emit("policy", o);
}

static int run(struct at_remote *r, const struct opts *o)
{
    char path[256];
    bool reset = strcmp(o->sub, "reset") == 0;
    snprintf(path, sizeof(path), "/providers/%s/policies/%s%s?" AT_REMOTE_API, o->provider,
             o->type, reset ? ":reset" : "");
    char *jws = NULL;
    int rc = 0;
    if (strcmp(o->sub, "set") == 0) {
        uint8_t *text = NULL;
        size_t len = 0;
        rc = read_text(o->file, &text, &len);
        rc = rc == 0 ? policy_jws(o->key, o->cert, text, len, &jws) : rc;
        free(text);
    } else if (reset) {
        rc = make_jws(o->key, o->cert, (const uint8_t *)"", 0, &jws);
    }
    json_t *resp = NULL, *claims = NULL;
    if (rc == 0) {
        const char *method = jws == NULL ? "GET" : reset ? "POST" : "PUT";
        rc = at_remote_call(r, method, path, jws != NULL ? "text/plain" : NULL, jws,
                            jws != NULL ? strlen(jws) : 0, &resp);
    }
    if (rc == 0) {
        rc = at_remote_result(r, o->provider, resp, &claims);
    }
    if (rc == 0) {
        rc = jws == NULL ? print_policy(claims) : print_result(claims, jws);
    }
    json_decref(resp);
    json_decref(claims);
    free(jws);
    return rc;
}

int at_cli_policy_remote(int argc, char **argv)
{
    struct opts o = {argv[1], NULL, NULL, NULL, NULL, NULL};
    int rc = parse(argc - 2, argv + 2, &o);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    struct at_remote r;
    rc = at_remote_open(&r, "policy");
    if (rc == 0) {
        rc = run(&r, &o);
    }
    at_remote_close(&r);
    return rc;
}
