/*
 * The token layer (src/token/): signers, JWS sign/verify for RS256, PS256 and ES256,
 * unsecured tokens, the JWKS and OpenID documents. Negative cases assert exact codes;
 * an independent check verifies tokens with plain OpenSSL calls, not at_jwt_verify.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "base/encoding.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "token/token.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-01-01T00:00:00Z */
#define T0 INT64_C(1735689600)

static const enum at_jws_alg algs[] = {AT_ALG_RS256, AT_ALG_PS256, AT_ALG_ES256};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

/* One signer per alg plus a second RSA and EC signer, generated once for the file. */
static struct at_signer *sg[N_ALGS];
static struct at_signer *other_rsa;
static struct at_signer *other_ec;

static int setup(void **state)
{
    (void)state;
    struct at_err e;
    at_err_init(&e);
    for (size_t i = 0; i < N_ALGS; i++) {
        if (!at_is_ok(at_signer_generate(algs[i], "https://attestd.test", T0, 30, &sg[i], &e))) {
            return -1;
        }
    }
    if (!at_is_ok(at_signer_generate(AT_ALG_RS256, "other", T0, 30, &other_rsa, &e)) ||
        !at_is_ok(at_signer_generate(AT_ALG_ES256, "other", T0, 30, &other_ec, &e))) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ALGS; i++) {
        at_signer_free(sg[i]);
    }
    at_signer_free(other_rsa);
    at_signer_free(other_ec);
    return 0;
}

static json_t *sample_payload(void)
{
    return json_pack("{s:s,s:I,s:I,s:I,s:s,s:b,s:{s:[i,i]}}", "iss", "https://attestd.test", "iat",
                     (json_int_t)T0, "nbf", (json_int_t)T0, "exp", (json_int_t)(T0 + 28800),
                     "x-ms-ver", "1.0", "x-ms-sgx-is-debuggable", 0, "x-ms-runtime", "k", 1, 2);
}

static char *sign_sample(const struct at_signer *s, const char *jku, bool x5c)
{
    json_t *p = sample_payload();
    char *jwt = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_jwt_sign(s, p, jku, x5c, &jwt, &e)));
    json_decref(p);
    return jwt;
}

static json_t *jwks_of(struct at_signer *s)
{
    json_t *j = at_jwks_document(&s, 1);
    assert_non_null(j);
    return j;
}

/* Verify and return the code; the payload is checked against the sample when OK. */
static enum at_code verify_code(const char *jwt, const json_t *jwks)
{
    json_t *p = NULL;
    struct at_err e;
    at_err_init(&e);
    at_status st = at_jwt_verify(jwt, jwks, &p, &e);
    if (at_is_ok(st)) {
        json_t *want = sample_payload();
        bool same = json_equal(p, want);
        json_decref(want);
        json_decref(p);
        return same ? AT_OK : AT_E_INTERNAL;
    }
    assert_null(p);
    assert_int_equal(e.code, st.code);
    assert_true(e.msg[0] != '\0');
    return st.code;
}

static uint8_t *b64d(const char *s, size_t len, size_t *out_len)
{
    uint8_t *out = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_b64_decode_any(s, len, &out, out_len, &e)));
    return out;
}

/* Split a compact token into pointers at its two dots. */
static void split(const char *jwt, size_t *d1, size_t *d2)
{
    const char *a = strchr(jwt, '.');
    assert_non_null(a);
    const char *b = strchr(a + 1, '.');
    assert_non_null(b);
    *d1 = (size_t)(a - jwt);
    *d2 = (size_t)(b - jwt);
}

static EVP_PKEY *private_key(const struct at_signer *s)
{
    uint8_t *k = NULL, *c = NULL;
    size_t kl = 0, cl = 0;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_signer_export(s, &k, &kl, &c, &cl, &e)));
    const unsigned char *p = k;
    EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, (long)kl);
    assert_non_null(pk);
    at_free_secret(k, kl);
    free(c);
    return pk;
}

/*
 * Forge a token with an arbitrary header and payload text, signed by `key` as `how`
 * says (independently of src/token): "rs" PKCS#1 v1.5, "ps" PSS, "es" raw r||s, "der"
 * ECDSA DER as is.
 */
static char *forge(EVP_PKEY *key, const char *how, const char *header, const char *payload)
{
    char *h = at_b64url_dup((const uint8_t *)header, strlen(header));
    char *p = at_b64url_dup((const uint8_t *)payload, strlen(payload));
    size_t in_len = strlen(h) + 1 + strlen(p);
    char *in = malloc(in_len + 1);
    assert_non_null(in);
    snprintf(in, in_len + 1, "%s.%s", h, p);
    free(h);
    free(p);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_int_equal(EVP_DigestSignInit(m, &pc, EVP_sha256(), NULL, key), 1);
    if (strcmp(how, "ps") == 0) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32), 1);
    }
    uint8_t sig[512];
    size_t sl = sizeof(sig);
    assert_int_equal(EVP_DigestSign(m, sig, &sl, (const unsigned char *)in, in_len), 1);
    EVP_MD_CTX_free(m);
    if (strcmp(how, "es") == 0) {
        const unsigned char *q = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)sl);
        assert_non_null(es);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
        ECDSA_SIG_free(es);
        sl = 64;
    }
    char *s = at_b64url_dup(sig, sl);
    size_t out_len = in_len + 1 + strlen(s);
    char *out = malloc(out_len + 1);
    assert_non_null(out);
    snprintf(out, out_len + 1, "%s.%s", in, s);
    free(in);
    free(s);
    return out;
}

static char *header_text(const char *alg, const char *kid, const char *extra)
{
    char *h = malloc(512);
    assert_non_null(h);
    snprintf(h, 512, "{\"alg\":\"%s\",\"kid\":\"%s\"%s}", alg, kid, extra);
    return h;
}

static void test_alg_names(void **state)
{
    (void)state;
    struct at_err e;
    for (size_t i = 0; i < N_ALGS; i++) {
        enum at_jws_alg a = AT_ALG_RS256;
        at_err_init(&e);
        assert_true(at_is_ok(at_jws_alg_parse(at_jws_alg_name(algs[i]), &a, &e)));
        assert_int_equal(a, algs[i]);
    }
    static const char *const bad[] = {"none", "HS256", "rs256", "RS384", "ES256K", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum at_jws_alg a = AT_ALG_ES256;
        at_err_init(&e);
        assert_int_equal(at_jws_alg_parse(bad[i], &a, &e).code, AT_E_UNSUPPORTED);
        assert_int_equal(a, AT_ALG_ES256);
    }
}

static void test_sign_verify_each_alg(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ALGS; i++) {
        json_t *jwks = jwks_of(sg[i]);
        char *a = sign_sample(sg[i], NULL, false);
        char *b = sign_sample(sg[i], "https://attestd.test/certs", true);
        assert_int_equal(verify_code(a, jwks), AT_OK);
        assert_int_equal(verify_code(b, jwks), AT_OK);
        /* A JWKS with several keys finds the right one. */
        struct at_signer *all[] = {other_rsa, sg[0], sg[1], sg[2], other_ec};
        json_t *many = at_jwks_document(all, 5);
        assert_int_equal(verify_code(a, many), AT_OK);
        json_decref(many);
        /* at_jwt_verify_cert with the certificate directly. */
        json_t *h = NULL, *p = NULL;
        struct at_err e;
        at_err_init(&e);
        assert_true(at_is_ok(at_jwt_verify_cert(b, at_signer_cert(sg[i]), &h, &p, &e)));
        assert_string_equal(json_string_value(json_object_get(h, "alg")), at_jws_alg_name(algs[i]));
        json_decref(h);
        json_decref(p);
        at_err_init(&e);
        assert_int_equal(at_jwt_verify_cert(b, at_signer_cert(other_rsa), NULL, &p, &e).code,
                         algs[i] == AT_ALG_ES256 ? AT_E_MISMATCH : AT_E_SIGNATURE);
        free(a);
        free(b);
        json_decref(jwks);
    }
}

static void test_header_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ALGS; i++) {
        const struct at_signer *s = sg[i];
        json_t *jwks = jwks_of(sg[i]);
        const json_t *k = json_array_get(json_object_get(jwks, "keys"), 0);
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *x5c = json_string_value(json_array_get(json_object_get(k, "x5c"), 0));
        assert_string_equal(kid, at_signer_kid(s));
        assert_int_equal(at_signer_alg(s), algs[i]);

        /* kid = standard base64 of SHA-256(cert DER). */
        unsigned char *der = NULL;
        int dl = i2d_X509(at_signer_cert(s), &der);
        assert_true(dl > 0);
        uint8_t h[32];
        assert_int_equal(at_sha256(der, (size_t)dl, h), 0);
        char want_kid[64];
        assert_int_equal(EVP_EncodeBlock((unsigned char *)want_kid, h, 32), 44);
        assert_string_equal(kid, want_kid);
        char *want_x5c = malloc(4 * ((size_t)dl + 2) / 3 + 4);
        assert_non_null(want_x5c);
        EVP_EncodeBlock((unsigned char *)want_x5c, der, dl);
        assert_string_equal(x5c, want_x5c);
        OPENSSL_free(der);

        /* Exact header bytes, in MAA's key order. */
        char want[4096];
        char *jwt = sign_sample(s, "https://attestd.test/certs", true);
        size_t d1, d2;
        split(jwt, &d1, &d2);
        size_t hl = 0;
        uint8_t *hdr = b64d(jwt, d1, &hl);
        snprintf(want, sizeof(want),
                 "{\"alg\":\"%s\",\"jku\":\"https://attestd.test/certs\",\"kid\":\"%s\","
                 "\"typ\":\"JWT\",\"x5c\":[\"%s\"]}",
                 at_jws_alg_name(algs[i]), kid, want_x5c);
        assert_int_equal(hl, strlen(want));
        assert_memory_equal(hdr, want, hl);
        free(hdr);
        free(jwt);

        jwt = sign_sample(s, NULL, false);
        split(jwt, &d1, &d2);
        hdr = b64d(jwt, d1, &hl);
        snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
                 at_jws_alg_name(algs[i]), kid);
        assert_int_equal(hl, strlen(want));
        assert_memory_equal(hdr, want, hl);
        free(hdr);
        /* Payload: compact, insertion order. */
        uint8_t *pl = b64d(jwt + d1 + 1, d2 - d1 - 1, &hl);
        snprintf(want, sizeof(want),
                 "{\"iss\":\"https://attestd.test\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,"
                 "\"x-ms-ver\":\"1.0\",\"x-ms-sgx-is-debuggable\":false,\"x-ms-runtime\":{\"k\":"
                 "[1,2]}}",
                 (long long)T0, (long long)T0, (long long)(T0 + 28800));
        assert_int_equal(hl, strlen(want));
        assert_memory_equal(pl, want, hl);
        free(pl);
        /* Signature size: 256 bytes for RSA-2048, 64 (raw r||s) for ES256. */
        uint8_t *sig = b64d(jwt + d2 + 1, strlen(jwt + d2 + 1), &hl);
        assert_int_equal(hl, algs[i] == AT_ALG_ES256 ? 64 : 256);
        free(sig);
        free(jwt);
        free(want_x5c);
        json_decref(jwks);
    }
}

static void test_certificate(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ALGS; i++) {
        X509 *c = at_signer_cert(sg[i]);
        assert_int_equal(X509_get_version(c), X509_VERSION_3);
        const ASN1_INTEGER *sn = X509_get0_serialNumber(c);
        assert_int_equal(ASN1_STRING_length(sn), 16);
        /* Self-signed (X509_check_issued would refuse: no keyCertSign, by design). */
        assert_int_equal(X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)), 0);
        assert_int_equal(X509_verify(c, X509_get0_pubkey(c)), 1);
        char cn[128];
        assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, cn,
                                              sizeof(cn)) > 0);
        assert_string_equal(cn, "https://attestd.test");
        assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(c), (time_t)T0), 0);
        assert_int_equal(
            ASN1_TIME_cmp_time_t(X509_get0_notAfter(c), (time_t)(T0 + INT64_C(30) * 86400)), 0);
        assert_int_equal(X509_check_ca(c), 0);
        assert_true((X509_get_key_usage(c) & KU_DIGITAL_SIGNATURE) != 0);
        assert_true((X509_get_key_usage(c) & KU_KEY_CERT_SIGN) == 0);
        assert_non_null(X509_get0_subject_key_id(c));
        assert_int_equal(X509_get_signature_nid(c), algs[i] == AT_ALG_ES256
                                                        ? NID_ecdsa_with_SHA256
                                                        : NID_sha256WithRSAEncryption);
    }
    struct at_err e;
    struct at_signer *s = NULL;
    at_err_init(&e);
    assert_int_equal(at_signer_generate(AT_ALG_ES256, "", T0, 1, &s, &e).code, AT_E_USAGE);
    at_err_init(&e);
    assert_int_equal(at_signer_generate(AT_ALG_ES256, "x", T0, 0, &s, &e).code, AT_E_USAGE);
    at_err_init(&e);
    assert_int_equal(at_signer_generate(AT_ALG_ES256, "x", -1, 1, &s, &e).code, AT_E_USAGE);
    assert_null(s);
}

static void test_export_load(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ALGS; i++) {
        uint8_t *k = NULL, *c = NULL;
        size_t kl = 0, cl = 0;
        struct at_err e;
        at_err_init(&e);
        assert_true(at_is_ok(at_signer_export(sg[i], &k, &kl, &c, &cl, &e)));
        struct at_signer *s = NULL;
        assert_true(at_is_ok(at_signer_load(algs[i], k, kl, c, cl, &s, &e)));
        assert_string_equal(at_signer_kid(s), at_signer_kid(sg[i]));
        /* The loaded signer's tokens verify against the original's JWKS, and vice versa. */
        json_t *j_orig = jwks_of(sg[i]);
        json_t *j_load = jwks_of(s);
        assert_true(json_equal(j_orig, j_load));
        char *t = sign_sample(s, NULL, false);
        assert_int_equal(verify_code(t, j_orig), AT_OK);
        free(t);
        json_decref(j_orig);
        json_decref(j_load);
        at_signer_free(s);

        /* Wrong alg for the key type. */
        enum at_jws_alg wrong = algs[i] == AT_ALG_ES256 ? AT_ALG_RS256 : AT_ALG_ES256;
        s = NULL;
        at_err_init(&e);
        assert_int_equal(at_signer_load(wrong, k, kl, c, cl, &s, &e).code, AT_E_MISMATCH);
        assert_null(s);
        /* Key and certificate of different signers. */
        uint8_t *k2 = NULL, *c2 = NULL;
        size_t kl2 = 0, cl2 = 0;
        struct at_signer *o = algs[i] == AT_ALG_ES256 ? other_ec : other_rsa;
        assert_true(at_is_ok(at_signer_export(o, &k2, &kl2, &c2, &cl2, &e)));
        at_err_init(&e);
        assert_int_equal(at_signer_load(algs[i], k, kl, c2, cl2, &s, &e).code, AT_E_MISMATCH);
        assert_null(s);
        /* Truncated or trailing DER. */
        at_err_init(&e);
        assert_int_equal(at_signer_load(algs[i], k, kl - 1, c, cl, &s, &e).code, AT_E_PARSE);
        at_err_init(&e);
        assert_int_equal(at_signer_load(algs[i], k, kl, c, cl - 1, &s, &e).code, AT_E_PARSE);
        uint8_t *kx = malloc(kl + 1);
        assert_non_null(kx);
        memcpy(kx, k, kl);
        kx[kl] = 0;
        at_err_init(&e);
        assert_int_equal(at_signer_load(algs[i], kx, kl + 1, c, cl, &s, &e).code, AT_E_PARSE);
        at_err_init(&e);
        assert_int_equal(at_signer_load(algs[i], c, cl, c, cl, &s, &e).code, AT_E_PARSE);
        assert_null(s);
        at_free_secret(kx, kl + 1);
        at_free_secret(k, kl);
        at_free_secret(k2, kl2);
        free(c);
        free(c2);
    }
}

static void test_unsecured(void **state)
{
    (void)state;
    json_t *p = sample_payload();
    char *jwt = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_jwt_unsecured(p, &jwt, &e)));
    assert_memory_equal(jwt, "eyJhbGciOiJub25lIn0.", 20);
    size_t n = strlen(jwt);
    assert_int_equal(jwt[n - 1], '.');
    size_t pl = 0;
    uint8_t *body = b64d(jwt + 20, n - 21, &pl);
    json_error_t je;
    json_t *back = json_loadb((const char *)body, pl, 0, &je);
    assert_true(json_equal(back, p));
    json_decref(back);
    free(body);
    /* Verification refuses alg none outright, whatever the JWKS. */
    json_t *jwks = jwks_of(sg[0]);
    assert_int_equal(verify_code(jwt, jwks), AT_E_UNSUPPORTED);
    free(jwt);
    /* Not even with a signature part or a kid. */
    EVP_PKEY *k = private_key(sg[0]);
    char *h = header_text("none", at_signer_kid(sg[0]), "");
    jwt = forge(k, "rs", h, "{}");
    assert_int_equal(verify_code(jwt, jwks), AT_E_UNSUPPORTED);
    free(jwt);
    free(h);
    EVP_PKEY_free(k);
    json_decref(jwks);
    json_decref(p);
    /* Payload must be an object. */
    json_t *arr = json_array();
    at_err_init(&e);
    assert_int_equal(at_jwt_unsecured(arr, &jwt, &e).code, AT_E_USAGE);
    at_err_init(&e);
    assert_int_equal(at_jwt_sign(sg[0], arr, NULL, false, &jwt, &e).code, AT_E_USAGE);
    json_decref(arr);
}

static void test_tamper(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ALGS; i++) {
        json_t *jwks = jwks_of(sg[i]);
        char *jwt = sign_sample(sg[i], NULL, false);
        size_t n = strlen(jwt), d1, d2;
        split(jwt, &d1, &d2);
        /* Tampered payload: a different claim value, re-encoded, old signature. */
        {
            const char *fake = "{\"iss\":\"https://evil.test\"}";
            char *fp = at_b64url_dup((const uint8_t *)fake, strlen(fake));
            size_t len = d1 + 1 + strlen(fp) + 1 + (n - d2 - 1) + 1;
            char *t = malloc(len);
            assert_non_null(t);
            snprintf(t, len, "%.*s.%s.%s", (int)d1, jwt, fp, jwt + d2 + 1);
            assert_int_equal(verify_code(t, jwks), AT_E_SIGNATURE);
            free(fp);
            free(t);
        }
        /* Every byte of the signing input replaced by another base64url character. */
        char *t = strdup(jwt);
        assert_non_null(t);
        for (size_t pos = 0; pos < d2; pos++) {
            if (pos == d1) {
                continue;
            }
            char keep = t[pos];
            t[pos] = keep == 'A' ? 'B' : 'A';
            enum at_code c = verify_code(t, jwks);
            assert_true(c == AT_E_SIGNATURE || c == AT_E_PARSE || c == AT_E_UNSUPPORTED ||
                        c == AT_E_NOT_FOUND);
            if (pos > d1) {
                /* A payload change past syntax checks is always a signature failure. */
                assert_true(c == AT_E_SIGNATURE || c == AT_E_PARSE);
            }
            t[pos] = keep;
        }
        /* Tampered signature: flip each bit of the first and last bytes. */
        size_t sl = 0;
        uint8_t *sig = b64d(jwt + d2 + 1, n - d2 - 1, &sl);
        for (size_t bit = 0; bit < 16; bit++) {
            size_t byte = bit < 8 ? 0 : sl - 1;
            sig[byte] ^= (uint8_t)(1u << (bit % 8));
            char *s64 = at_b64url_dup(sig, sl);
            size_t len = d2 + 1 + strlen(s64) + 1;
            char *u = malloc(len);
            assert_non_null(u);
            snprintf(u, len, "%.*s.%s", (int)d2, jwt, s64);
            assert_int_equal(verify_code(u, jwks), AT_E_SIGNATURE);
            free(u);
            free(s64);
            sig[byte] ^= (uint8_t)(1u << (bit % 8));
        }
        free(sig);
        /* The restored token still verifies (the sweep left no trace). */
        assert_int_equal(verify_code(t, jwks), AT_OK);
        free(t);
        free(jwt);
        json_decref(jwks);
    }
}

static void test_der_signature_rejected(void **state)
{
    (void)state;
    /* JWS ES256 is raw r||s; an ASN.1 DER signature over the same input must fail. */
    EVP_PKEY *k = private_key(sg[2]);
    json_t *jwks = jwks_of(sg[2]);
    char *h = header_text("ES256", at_signer_kid(sg[2]), "");
    char *good = forge(k, "es", h, "{\"a\":1}");
    char *der = forge(k, "der", h, "{\"a\":1}");
    json_t *p = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_jwt_verify(good, jwks, &p, &e)));
    json_decref(p);
    assert_int_equal(verify_code(der, jwks), AT_E_SIGNATURE);
    free(good);
    free(der);
    free(h);
    json_decref(jwks);
    EVP_PKEY_free(k);
}

static void test_truncate_and_trailing(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ALGS; i++) {
        json_t *jwks = jwks_of(sg[i]);
        char *jwt = sign_sample(sg[i], NULL, false);
        size_t n = strlen(jwt);
        char *t = malloc(n + 8);
        assert_non_null(t);
        for (size_t len = 0; len < n; len++) {
            memcpy(t, jwt, len);
            t[len] = '\0';
            enum at_code c = verify_code(t, jwks);
            assert_true(c == AT_E_PARSE || c == AT_E_SIGNATURE);
        }
        static const char *const tails[] = {".", ".x", "..", "A", "AA", "=", " ", "\n"};
        for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
            snprintf(t, n + 8, "%s%s", jwt, tails[k]);
            enum at_code c = verify_code(t, jwks);
            if (tails[k][0] == '.' || tails[k][0] == '=' || tails[k][0] == ' ' ||
                tails[k][0] == '\n') {
                assert_int_equal(c, AT_E_PARSE);
            } else {
                assert_true(c == AT_E_PARSE || c == AT_E_SIGNATURE);
            }
        }
        free(t);
        free(jwt);
        json_decref(jwks);
    }
}

static void test_bad_chars(void **state)
{
    (void)state;
    json_t *jwks = jwks_of(sg[0]);
    char *jwt = sign_sample(sg[0], NULL, false);
    size_t d1, d2;
    split(jwt, &d1, &d2);
    static const char bad[] = {'+', '/', '=', ' ', '!', '\x80', '\t', '*'};
    size_t where[] = {1, d1 + 2, d2 + 2};
    for (size_t w = 0; w < 3; w++) {
        for (size_t b = 0; b < sizeof(bad); b++) {
            char *t = strdup(jwt);
            assert_non_null(t);
            t[where[w]] = bad[b];
            json_t *p = NULL;
            struct at_err e;
            at_err_init(&e);
            assert_int_equal(at_jwt_verify(t, jwks, &p, &e).code, AT_E_PARSE);
            assert_true(e.has_offset);
            assert_int_equal(e.offset, where[w]);
            free(t);
        }
    }
    /* Padding '=' at the end of a part is refused too (RFC 7515 §2). */
    assert_int_equal(verify_code("eyJhbGciOiJSUzI1NiJ9=.e30.AAAA", jwks), AT_E_PARSE);
    free(jwt);
    json_decref(jwks);
}

static void test_kid_and_alg_rules(void **state)
{
    (void)state;
    json_t *rsa_jwks = jwks_of(sg[0]);
    json_t *ec_jwks = jwks_of(sg[2]);
    EVP_PKEY *rk = private_key(sg[0]);
    EVP_PKEY *ek = private_key(sg[2]);
    const char *rkid = at_signer_kid(sg[0]);
    const char *ekid = at_signer_kid(sg[2]);
    char *h, *t;

    /* Wrong kid: token of one signer, JWKS of another. */
    t = sign_sample(other_rsa, NULL, false);
    assert_int_equal(verify_code(t, rsa_jwks), AT_E_NOT_FOUND);
    free(t);

    /* No kid at all; kid of the wrong JSON type. */
    t = forge(rk, "rs", "{\"alg\":\"RS256\"}", "{}");
    assert_int_equal(verify_code(t, rsa_jwks), AT_E_PARSE);
    free(t);
    t = forge(rk, "rs", "{\"alg\":\"RS256\",\"kid\":7}", "{}");
    assert_int_equal(verify_code(t, rsa_jwks), AT_E_PARSE);
    free(t);

    /* RS256 header naming an EC key: the alg does not fit the key type. */
    h = header_text("RS256", ekid, "");
    t = forge(ek, "es", h, "{}");
    assert_int_equal(verify_code(t, ec_jwks), AT_E_MISMATCH);
    free(t);
    free(h);
    /* ES256 header naming an RSA key. */
    h = header_text("ES256", rkid, "");
    t = forge(rk, "rs", h, "{}");
    assert_int_equal(verify_code(t, rsa_jwks), AT_E_MISMATCH);
    free(t);
    free(h);
    /* PS256 header, RS256 key entry (JWK "alg" disagrees). */
    h = header_text("PS256", rkid, "");
    t = forge(rk, "ps", h, "{}");
    assert_int_equal(verify_code(t, rsa_jwks), AT_E_MISMATCH);
    free(t);
    free(h);
    /* ... but with the JWK's "alg" and "use" removed, PS256 by the RSA key is fine. */
    json_t *bare = json_deep_copy(rsa_jwks);
    json_t *k0 = json_array_get(json_object_get(bare, "keys"), 0);
    json_object_del(k0, "alg");
    json_object_del(k0, "use");
    h = header_text("PS256", rkid, "");
    t = forge(rk, "ps", h, "{\"a\":1}");
    json_t *p = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_jwt_verify(t, bare, &p, &e)));
    json_decref(p);
    free(t);
    /* PS256 header, PKCS#1 v1.5 signature. */
    t = forge(rk, "rs", h, "{\"a\":1}");
    assert_int_equal(verify_code(t, bare), AT_E_SIGNATURE);
    free(t);
    free(h);
    /* Key-type check alone (no JWK "alg"): RS256 header with an EC key, ES256 with RSA. */
    json_t *bare_ec = json_deep_copy(ec_jwks);
    json_object_del(json_array_get(json_object_get(bare_ec, "keys"), 0), "alg");
    h = header_text("RS256", ekid, "");
    t = forge(ek, "der", h, "{}");
    at_err_init(&e);
    assert_int_equal(at_jwt_verify(t, bare_ec, &p, &e).code, AT_E_MISMATCH);
    assert_string_equal(e.check, "jws_key");
    free(t);
    free(h);
    json_decref(bare_ec);
    h = header_text("ES256", rkid, "");
    t = forge(rk, "rs", h, "{}");
    at_err_init(&e);
    assert_int_equal(at_jwt_verify(t, bare, &p, &e).code, AT_E_MISMATCH);
    free(t);
    free(h);
    /* "use":"enc" on the JWK. */
    json_object_set_new(k0, "use", json_string("enc"));
    t = sign_sample(sg[0], NULL, false);
    assert_int_equal(verify_code(t, bare), AT_E_MISMATCH);
    free(t);
    json_decref(bare);

    /* HS256 and other algs; crit. */
    static const char *const refused[] = {"HS256", "HS512", "none", "RS384", "ES384", "EdDSA"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        h = header_text(refused[i], rkid, "");
        t = forge(rk, "rs", h, "{}");
        assert_int_equal(verify_code(t, rsa_jwks), AT_E_UNSUPPORTED);
        free(t);
        free(h);
    }
    h = header_text("RS256", rkid, ",\"crit\":[\"exp\"],\"exp\":1");
    t = forge(rk, "rs", h, "{}");
    assert_int_equal(verify_code(t, rsa_jwks), AT_E_UNSUPPORTED);
    free(t);
    free(h);

    /* Header: not JSON, not an object, duplicate keys, alg not a string. */
    static const char *const bad_headers[] = {
        "not json",
        "[\"RS256\"]",
        "{\"alg\":\"RS256\",\"alg\":\"RS256\",\"kid\":\"x\"}",
        "{\"alg\":256,\"kid\":\"x\"}",
        "\"RS256\"",
        "",
    };
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        t = forge(rk, "rs", bad_headers[i], "{}");
        assert_int_equal(verify_code(t, rsa_jwks), AT_E_PARSE);
        free(t);
    }
    /* Correctly signed payload that is not a JSON object. */
    h = header_text("RS256", rkid, "");
    static const char *const bad_payloads[] = {"[1]", "nope", "{\"a\":1,\"a\":2}", "", "1"};
    for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++) {
        t = forge(rk, "rs", h, bad_payloads[i]);
        assert_int_equal(verify_code(t, rsa_jwks), AT_E_PARSE);
        free(t);
    }
    free(h);

    /* The header's own x5c is never trusted (unlike the JS SDK, maa-api.md §5.3). */
    t = sign_sample(other_rsa, NULL, true);
    assert_int_equal(verify_code(t, rsa_jwks), AT_E_NOT_FOUND);
    free(t);

    EVP_PKEY_free(rk);
    EVP_PKEY_free(ek);
    json_decref(rsa_jwks);
    json_decref(ec_jwks);
}

static void test_bad_jwks(void **state)
{
    (void)state;
    char *t = sign_sample(sg[0], NULL, false);
    json_t *p = NULL;
    struct at_err e;
    json_t *j;

    at_err_init(&e);
    assert_int_equal(at_jwt_verify(t, NULL, &p, &e).code, AT_E_USAGE);
    j = json_pack("{s:s}", "keys", "x");
    at_err_init(&e);
    assert_int_equal(at_jwt_verify(t, j, &p, &e).code, AT_E_USAGE);
    json_decref(j);
    /* Matching kid, unusable x5c. */
    static const char *const x5cs[] = {"", "!!!!", "AAAA", "MIIB"};
    for (size_t i = 0; i < sizeof(x5cs) / sizeof(x5cs[0]); i++) {
        j = json_pack("{s:[{s:s,s:[s]}]}", "keys", "kid", at_signer_kid(sg[0]), "x5c", x5cs[i]);
        at_err_init(&e);
        assert_int_equal(at_jwt_verify(t, j, &p, &e).code, AT_E_BAD_VALUE);
        json_decref(j);
    }
    j = json_pack("{s:[{s:s}]}", "keys", "kid", at_signer_kid(sg[0]));
    at_err_init(&e);
    assert_int_equal(at_jwt_verify(t, j, &p, &e).code, AT_E_BAD_VALUE);
    json_decref(j);
    /* Matching kid whose x5c is another key's certificate. */
    json_t *other = jwks_of(other_rsa);
    json_t *k0 = json_array_get(json_object_get(other, "keys"), 0);
    json_object_set_new(k0, "kid", json_string(at_signer_kid(sg[0])));
    at_err_init(&e);
    assert_int_equal(at_jwt_verify(t, other, &p, &e).code, AT_E_SIGNATURE);
    json_decref(other);
    assert_null(p);

    /* Size limit. */
    json_t *jwks = jwks_of(sg[0]);
    size_t big = AT_TOKEN_MAX_BYTES + 1;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'A', big);
    huge[big] = '\0';
    at_err_init(&e);
    assert_int_equal(at_jwt_verify(huge, jwks, &p, &e).code, AT_E_LIMIT);
    free(huge);
    at_err_init(&e);
    assert_int_equal(at_jwt_verify(NULL, jwks, &p, &e).code, AT_E_USAGE);
    assert_int_equal(verify_code("", jwks), AT_E_PARSE);
    assert_int_equal(verify_code("..", jwks), AT_E_PARSE);
    assert_int_equal(verify_code("a.b", jwks), AT_E_PARSE);
    json_decref(jwks);
    free(t);
}

/* ---- independent cross-check with plain OpenSSL ---- */

static EVP_PKEY *key_from_jwks_x5c(const json_t *jwks)
{
    const char *x5c = json_string_value(json_array_get(
        json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "x5c"), 0));
    assert_non_null(x5c);
    /* Standard base64 via OpenSSL's own decoder. */
    size_t n = strlen(x5c);
    unsigned char *der = malloc(n);
    assert_non_null(der);
    int dl = EVP_DecodeBlock(der, (const unsigned char *)x5c, (int)n);
    assert_true(dl > 0);
    while (n > 0 && x5c[n - 1] == '=') { /* EVP_DecodeBlock counts padding bytes */
        dl--;
        n--;
    }
    const unsigned char *p = der;
    X509 *c = d2i_X509(NULL, &p, dl);
    assert_non_null(c);
    EVP_PKEY *k = X509_get_pubkey(c);
    X509_free(c);
    free(der);
    return k;
}

static void cross_check(size_t idx)
{
    json_t *jwks = jwks_of(sg[idx]);
    EVP_PKEY *pub = key_from_jwks_x5c(jwks);
    char *jwt = sign_sample(sg[idx], "https://attestd.test/certs", false);
    size_t d1, d2, sl = 0;
    split(jwt, &d1, &d2);
    uint8_t *sig = b64d(jwt + d2 + 1, strlen(jwt + d2 + 1), &sl);
    unsigned char der[80];
    const unsigned char *vsig = sig;
    size_t vlen = sl;
    if (algs[idx] == AT_ALG_ES256) {
        assert_int_equal(sl, 64);
        ECDSA_SIG *es = ECDSA_SIG_new();
        assert_int_equal(
            ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
        unsigned char *q = der;
        int n = i2d_ECDSA_SIG(es, &q);
        assert_true(n > 0 && (size_t)n <= sizeof(der));
        ECDSA_SIG_free(es);
        vsig = der;
        vlen = (size_t)n;
    }
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_int_equal(EVP_DigestVerifyInit(m, &pc, EVP_sha256(), NULL, pub), 1);
    if (algs[idx] == AT_ALG_PS256) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32), 1);
    }
    assert_int_equal(EVP_DigestVerify(m, vsig, vlen, (const unsigned char *)jwt, d2), 1);
    EVP_MD_CTX_free(m);
    /* And with the key rebuilt from the JWK's n/e or x/y, not the certificate. */
    const json_t *k = json_array_get(json_object_get(jwks, "keys"), 0);
    if (algs[idx] == AT_ALG_ES256) {
        assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
        assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
        size_t xl = 0, yl = 0;
        const char *xs = json_string_value(json_object_get(k, "x"));
        const char *ys = json_string_value(json_object_get(k, "y"));
        uint8_t *x = b64d(xs, strlen(xs), &xl);
        uint8_t *y = b64d(ys, strlen(ys), &yl);
        assert_int_equal(xl, 32);
        assert_int_equal(yl, 32);
        unsigned char pt[65];
        assert_int_equal(
            EVP_PKEY_get_octet_string_param(pub, "encoded-pub-key", pt, sizeof(pt), &xl), 1);
        assert_int_equal(xl, 65);
        assert_memory_equal(pt + 1, x, 32);
        assert_memory_equal(pt + 33, y, 32);
        free(x);
        free(y);
    } else {
        assert_string_equal(json_string_value(json_object_get(k, "kty")), "RSA");
        assert_string_equal(json_string_value(json_object_get(k, "e")), "AQAB");
        const char *ns = json_string_value(json_object_get(k, "n"));
        size_t nl = 0;
        uint8_t *nb = b64d(ns, strlen(ns), &nl);
        assert_int_equal(nl, 256);
        BIGNUM *bn = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(pub, "n", &bn), 1);
        BIGNUM *bn2 = BN_bin2bn(nb, (int)nl, NULL);
        assert_int_equal(BN_cmp(bn, bn2), 0);
        BN_free(bn);
        BN_free(bn2);
        free(nb);
    }
    assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), at_jws_alg_name(algs[idx]));
    free(sig);
    free(jwt);
    EVP_PKEY_free(pub);
    json_decref(jwks);
}

static void test_cross_check_openssl(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ALGS; i++) {
        cross_check(i);
    }
}

static void test_documents(void **state)
{
    (void)state;
    json_t *empty = at_jwks_document(NULL, 0);
    assert_non_null(empty);
    assert_int_equal(json_array_size(json_object_get(empty, "keys")), 0);
    json_decref(empty);
    json_t *all = at_jwks_document(sg, N_ALGS);
    assert_int_equal(json_array_size(json_object_get(all, "keys")), N_ALGS);
    /* No private parameters anywhere. */
    char *txt = json_dumps(all, JSON_COMPACT);
    assert_null(strstr(txt, "\"d\""));
    assert_null(strstr(txt, "\"p\""));
    free(txt);
    json_decref(all);

    json_t *m = at_openid_metadata("https://attestd.test");
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "issuer")), "https://attestd.test");
    assert_string_equal(json_string_value(json_object_get(m, "jwks_uri")),
                        "https://attestd.test/certs");
    assert_string_equal(json_string_value(json_object_get(m, "revocation_endpoint")),
                        "https://attestd.test/revoke");
    const json_t *rt = json_object_get(m, "response_types_supported");
    assert_int_equal(json_array_size(rt), 2);
    assert_string_equal(json_string_value(json_array_get(rt, 0)), "token");
    const json_t *al = json_object_get(m, "id_token_signing_alg_values_supported");
    assert_int_equal(json_array_size(al), 3);
    assert_string_equal(json_string_value(json_array_get(al, 0)), "RS256");
    const json_t *cl = json_object_get(m, "claims_supported");
    bool has_mrenclave = false, has_mrtd = false;
    for (size_t i = 0; i < json_array_size(cl); i++) {
        const char *c = json_string_value(json_array_get(cl, i));
        has_mrenclave |= strcmp(c, "x-ms-sgx-mrenclave") == 0;
        has_mrtd |= strcmp(c, "tdx_mrtd") == 0;
    }
    assert_true(has_mrenclave && has_mrtd);
    json_decref(m);
    assert_null(at_openid_metadata(NULL));
}

static void test_jti(void **state)
{
    (void)state;
    char a[65], b[65];
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_token_jti(a, &e)));
    assert_true(at_is_ok(at_token_jti(b, &e)));
    assert_int_equal(strlen(a), 64);
    for (size_t i = 0; i < 64; i++) {
        assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
    }
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_sign_verify_each_alg),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_certificate),
        cmocka_unit_test(test_export_load),
        cmocka_unit_test(test_unsecured),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_der_signature_rejected),
        cmocka_unit_test(test_truncate_and_trailing),
        cmocka_unit_test(test_bad_chars),
        cmocka_unit_test(test_kid_and_alg_rules),
        cmocka_unit_test(test_bad_jwks),
        cmocka_unit_test(test_cross_check_openssl),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_jti),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
