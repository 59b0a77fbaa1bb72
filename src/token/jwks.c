/*
 * Published documents: the JWKS served at /certs (RFC 7517, maa-api.md §2.7), the
 * OpenID discovery document, and token ids (jti, maa-api.md §3.2).
 */
#include "base/encoding.h"
#include "token/token_int.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* P-256 coordinates are 32 bytes (RFC 7518 §6.2.1.2: full length, leading zeros kept). */
#define P256_COORD 32

/* base64url of a key parameter (big-endian, minimal unless `pad` > 0). New reference. */
static json_t *bn_param_b64(EVP_PKEY *pkey, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        ERR_clear_error();
        return NULL;
    }
    int n = pad > 0 ? pad : BN_num_bytes(bn);
    json_t *out = NULL;
    uint8_t *buf = n > 0 && n <= 1024 ? malloc((size_t)n) : NULL;
    if (buf != NULL && BN_bn2binpad(bn, buf, n) == n) {
        char *s = at_b64url_dup(buf, (size_t)n);
        out = s != NULL ? json_string(s) : NULL;
        free(s);
    }
    free(buf);
    BN_free(bn);
    return out;
}

json_t *at_signer_jwk(const struct at_signer *s)
{
    if (s == NULL) {
        return NULL;
    }
    /* Public parameters only; the private key never appears here. */
    EVP_PKEY *pub = X509_get0_pubkey(s->cert);
    json_t *k = json_object();
    bool ec = s->alg == AT_ALG_ES256;
    int bad = k == NULL || pub == NULL;
    bad |= json_object_set_new(k, "kty", json_string(ec ? "EC" : "RSA"));
    bad |= json_object_set_new(k, "kid", json_string(s->kid));
    bad |= json_object_set_new(k, "use", json_string("sig"));
    bad |= json_object_set_new(k, "alg", json_string(at_jws_alg_name(s->alg)));
    json_t *x5c = json_array();
    bad |= json_array_append_new(x5c, json_string(s->x5c));
    bad |= json_object_set_new(k, "x5c", x5c);
    if (ec && pub != NULL) {
        bad |= json_object_set_new(k, "crv", json_string("P-256"));
        bad |= json_object_set_new(k, "x", bn_param_b64(pub, OSSL_PKEY_PARAM_EC_PUB_X, P256_COORD));
        bad |= json_object_set_new(k, "y", bn_param_b64(pub, OSSL_PKEY_PARAM_EC_PUB_Y, P256_COORD));
    } else if (pub != NULL) {
        bad |= json_object_set_new(k, "n", bn_param_b64(pub, OSSL_PKEY_PARAM_RSA_N, 0));
        bad |= json_object_set_new(k, "e", bn_param_b64(pub, OSSL_PKEY_PARAM_RSA_E, 0));
    }
    if (bad != 0) {
        json_decref(k);
        return NULL;
    }
    return k;
}

json_t *at_jwks_document(struct at_signer *const *signers, size_t n)
{
    json_t *keys = json_array();
    json_t *doc = json_object();
    int bad = keys == NULL || doc == NULL || (n > 0 && signers == NULL);
    for (size_t i = 0; i < n && bad == 0; i++) {
        bad |= json_array_append_new(keys, at_signer_jwk(signers[i]));
    }
    bad |= json_object_set_new(doc, "keys", keys);
    if (bad != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* issuer + suffix as a JSON string. New reference or NULL. */
static json_t *url(const char *issuer, const char *suffix)
{
    size_t a = strlen(issuer);
    size_t b = strlen(suffix);
    if (a > SIZE_MAX / 2) {
        return NULL;
    }
    char *s = malloc(a + b + 1);
    if (s == NULL) {
        return NULL;
    }
    snprintf(s, a + b + 1, "%s%s", issuer, suffix);
    json_t *v = json_string(s);
    free(s);
    return v;
}

static json_t *string_array(const char *const *items, size_t n)
{
    json_t *a = json_array();
    int bad = a == NULL;
    for (size_t i = 0; i < n; i++) {
        bad |= json_array_append_new(a, json_string(items[i]));
    }
    if (bad != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* The claims attestd issues (maa-api.md §3.2, §3.3, §3.5); advisory, for OpenID clients. */
static const char *const claims[] = {
    "exp",
    "iat",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "cnf",
    "x-ms-ver",
    "x-ms-attestation-type",
    "x-ms-policy-hash",
    "x-ms-policy-signer",
    "x-ms-runtime",
    "x-ms-inittime",
    "x-ms-sgx-is-debuggable",
    "x-ms-sgx-mrenclave",
    "x-ms-sgx-mrsigner",
    "x-ms-sgx-product-id",
    "x-ms-sgx-svn",
    "x-ms-sgx-ehd",
    "x-ms-sgx-report-data",
    "x-ms-sgx-collateral",
    "x-ms-sgx-config-id",
    "x-ms-sgx-config-svn",
    "x-ms-sgx-isv-extended-product-id",
    "x-ms-sgx-isv-family-id",
    "is-debuggable",
    "product-id",
    "sgx-mrenclave",
    "sgx-mrsigner",
    "svn",
    "tee",
    "policy_hash",
    "tdx_mrtd",
    "tdx_mrconfigid",
    "tdx_mrowner",
    "tdx_mrownerconfig",
    "tdx_mrseam",
    "tdx_mrsignerseam",
    "tdx_rtmr0",
    "tdx_rtmr1",
    "tdx_rtmr2",
    "tdx_rtmr3",
    "tdx_report_data",
    "tdx_seam_attributes",
    "tdx_seamsvn",
    "tdx_td_attributes",
    "tdx_td_attributes_debug",
    "tdx_td_attributes_key_locker",
    "tdx_td_attributes_perfmon",
    "tdx_td_attributes_protection_keys",
    "tdx_td_attributes_septve_disable",
    "tdx_tee_tcb_svn",
    "tdx_xfam",
    "attester_tcb_status",
    "eat_profile",
    "dbgstat",
    "intuse",
    "x-ms-compliance-status",
};

json_t *at_openid_metadata(const char *issuer)
{
    static const char *const rtypes[] = {"token", "none"};
    static const char *const algs[] = {"RS256", "PS256", "ES256"};
    if (issuer == NULL) {
        return NULL;
    }
    json_t *m = json_object();
    int bad = m == NULL;
    bad |= json_object_set_new(m, "issuer", json_string(issuer));
    bad |= json_object_set_new(m, "jwks_uri", url(issuer, "/certs"));
    bad |= json_object_set_new(m, "response_types_supported",
                               string_array(rtypes, sizeof(rtypes) / sizeof(rtypes[0])));
    bad |= json_object_set_new(m, "id_token_signing_alg_values_supported",
                               string_array(algs, sizeof(algs) / sizeof(algs[0])));
    bad |= json_object_set_new(m, "revocation_endpoint", url(issuer, "/revoke"));
    bad |= json_object_set_new(m, "claims_supported",
                               string_array(claims, sizeof(claims) / sizeof(claims[0])));
    if (bad != 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

at_status at_token_jti(char out[65], struct at_err *e)
{
    uint8_t r[32];
    if (RAND_bytes(r, (int)sizeof(r)) != 1) {
        ERR_clear_error();
        AT_FAIL(e, AT_E_CRYPTO, "jti", "random number generator failed");
    }
    at_hex_encode(r, sizeof(r), out);
    return at_ok();
}
