/*
 * attestctl signer: an isolated provider's policy management certificates, remote only
 * (maa-api.md §2.6).
 *
 *   attestctl --url U signer add|remove --provider NAME --cert PEM
 *                                       --sign-key KEY.pem --sign-cert CERT.pem
 *     -> POST /providers/NAME/certificates:add|:remove with a JSON string body holding
 *        a JWS signed by a current signer, payload {"policyCertificate":{"kty","x5c"}}.
 *        Prints {"result": "IsPresent"|"IsAbsent", "thumbprint": hex SHA-1}.
 *   attestctl --url U signer list --provider NAME
 *     -> GET /providers/NAME/certificates; prints {"keys":[JWK...]}.
 *
 * Result tokens must verify against the provider's /certs. Exit 0 ok, 1 the server
 * refused or a result did not verify, 2 usage, I/O or connection errors.
 */
#include "base/secure.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "token/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_FILE_MAX ((size_t)256 * 1024)

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl --url URL signer add|remove --provider NAME --cert PEM "
               "--sign-key KEY.pem --sign-cert CERT.pem\n"
               "       attestctl --url URL signer list --provider NAME\n");
}

struct opts {
    const char *sub, *provider, *cert, *key, *sign_cert;
};

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 63) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '-')) {
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
        } else if (strcmp(a, "--cert") == 0 && has) {
            o->cert = argv[++i];
        } else if (strcmp(a, "--sign-key") == 0 && has) {
            o->key = argv[++i];
        } else if (strcmp(a, "--sign-cert") == 0 && has) {
            o->sign_cert = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    bool list = strcmp(o->sub, "list") == 0;
    bool needs = o->cert != NULL && o->key != NULL && o->sign_cert != NULL;
    bool none = o->cert == NULL && o->key == NULL && o->sign_cert == NULL;
    if (o->provider == NULL || (list ? !none : !needs)) {
        usage(stderr);
        return 2;
    }
    if (!name_ok(o->provider)) {
        fprintf(stderr, "attestctl signer: invalid provider name\n");
        return 2;
    }
    return 0;
}

/* The request body: a JSON string literal of the signed policyCertificate JWS. */
static int make_body(const struct opts *o, char **out)
{
    json_t *x5c = json_array();
    const char *kty = "RSA";
    int rc = x5c != NULL ? at_remote_certs_x5c("signer", o->cert, x5c, 1, &kty) : 2;
    json_t *pl = rc == 0 ? json_pack("{s:{s:s,s:O}}", "policyCertificate", "kty", kty, "x5c", x5c)
                         : NULL;
    json_decref(x5c);
    char *ptxt = pl != NULL ? json_dumps(pl, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(pl);
    if (rc == 0 && ptxt == NULL) {
        rc = 2;
    }
    uint8_t *key = NULL, *cert = NULL;
    size_t key_len = 0, cert_len = 0;
    if (rc == 0) {
        rc = at_remote_read_file("signer", o->key, PEM_FILE_MAX, &key, &key_len);
    }
    if (rc == 0) {
        rc = at_remote_read_file("signer", o->sign_cert, PEM_FILE_MAX, &cert, &cert_len);
    }
    char *jws = NULL;
    if (rc == 0) {
        struct at_err e;
        at_err_init(&e);
        if (!at_is_ok(at_jws_policy_sign(key, key_len, cert, cert_len, (const uint8_t *)ptxt,
                                         strlen(ptxt), &jws, &e))) {
            fprintf(stderr, "attestctl signer: %s\n", e.msg);
            rc = at_cli_exit_code(&e);
        }
    }
    if (key != NULL) {
        at_free_secret(key, key_len);
    }
    free(cert);
    free(ptxt);
    if (rc == 0) {
        json_t *s = json_string(jws);
        *out = s != NULL ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        json_decref(s);
        rc = *out != NULL ? 0 : 2;
    }
    free(jws);
    return rc;
}

static int run(struct at_remote *r, const struct opts *o)
{
    bool list = strcmp(o->sub, "list") == 0;
    char path[192];
    snprintf(path, sizeof(path), "/providers/%s/certificates%s?" AT_REMOTE_API, o->provider,
             list ? "" : strcmp(o->sub, "add") == 0 ? ":add" : ":remove");
    char *body = NULL;
    int rc = list ? 0 : make_body(o, &body);
    json_t *resp = NULL, *claims = NULL;
    if (rc == 0) {
        rc = at_remote_call(r, list ? "GET" : "POST", path, list ? NULL : "application/json",
                            body, body != NULL ? strlen(body) : 0, &resp);
    }
    free(body);
    if (rc == 0) {
        rc = at_remote_result(r, o->provider, resp, &claims);
    }
    json_decref(resp);
    if (rc != 0) {
        return rc;
    }
    json_t *out = NULL;
    if (list) {
        out = json_incref(json_object_get(claims, "x-ms-policy-certificates"));
    } else {
        const char *res = json_string_value(json_object_get(claims, "x-ms-policycertificates-result"));
        const char *tp = json_string_value(json_object_get(claims, "x-ms-certificate-thumbprint"));
        out = res != NULL && tp != NULL
                  ? json_pack("{s:s,s:s}", "result", res, "thumbprint", tp)
                  : NULL;
    }
    json_decref(claims);
    if (out == NULL) {
        fprintf(stderr, "attestctl signer: the server's result lacks the expected claims\n");
        return 1;
    }
    return at_remote_emit("signer", out);
}

int at_cli_signer(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0 && strcmp(sub, "list") != 0) {
        fprintf(stderr, "attestctl signer: unknown subcommand '%s'\n", sub);
        usage(stderr);
        return 2;
    }
    struct opts o = {sub, NULL, NULL, NULL, NULL};
    int rc = parse(argc - 2, argv + 2, &o);
    if (rc != 0) {
        return rc;
    }
    if (!at_cli_remote_enabled()) {
        fprintf(stderr, "attestctl signer: needs --url (or $ATTESTD_URL); locally use "
                        "'provider create --signer-cert'\n");
        return 2;
    }
    struct at_remote r;
    rc = at_remote_open(&r, "signer");
    if (rc == 0) {
        rc = run(&r, &o);
    }
    at_remote_close(&r);
    return rc;
}
