/*
 * Signed policy-management JWS in the shape MAA and its SDKs build (maa-api.md §2.5,
 * §2.6): header exactly {"alg":"RS256"|"ES256","x5c":["<std base64 DER of the signer
 * certificate>"]} (no kid, no typ), any payload bytes (a StoredAttestationPolicy, a
 * policyCertificate claim, or empty for a reset).
 */
#include "base/encoding.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "token/token_int.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

/* Largest PEM input for a key or certificate. */
#define PEM_MAX ((size_t)256 * 1024)

static EVP_PKEY *read_key(const uint8_t *pem, size_t len)
{
    BIO *b = len <= PEM_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
    /* NULL passphrase callback data: encrypted keys fail rather than prompt. */
    EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)(uintptr_t) "") : NULL;
    BIO_free(b);
    return k;
}

static X509 *read_cert(const uint8_t *pem, size_t len)
{
    BIO *b = len <= PEM_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
    X509 *c = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return c;
}

/* {"alg":A,"x5c":[b64 DER]} compact, in that order. Heap; NULL on failure. */
static char *header_b64(const char *alg, X509 *cert)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    char *x5c = n > 0 ? at_tok_b64std_dup(der, (size_t)n) : NULL;
    OPENSSL_free(der);
    json_t *h = x5c != NULL ? json_pack("{s:s,s:[s]}", "alg", alg, "x5c", x5c) : NULL;
    free(x5c);
    char *txt = h != NULL ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(h);
    char *b64 = txt != NULL ? at_b64url_dup((const uint8_t *)txt, strlen(txt)) : NULL;
    free(txt);
    return b64;
}

/* "<h>.<b64url(payload)>" heap. */
static char *signing_input(const char *h, const uint8_t *payload, size_t payload_len)
{
    size_t hl = strlen(h);
    size_t pl = at_b64url_encoded_len(payload_len);
    if (payload_len > SIZE_MAX / 2 || hl > SIZE_MAX / 2 - pl - 2) {
        return NULL;
    }
    char *s = malloc(hl + 1 + pl + 1);
    if (s == NULL) {
        return NULL;
    }
    memcpy(s, h, hl);
    s[hl] = '.';
    at_b64url_encode(payload, payload_len, s + hl + 1);
    return s;
}

static char *join_sig(const char *input, const uint8_t *sig, size_t sig_len)
{
    size_t il = strlen(input);
    size_t sl = at_b64url_encoded_len(sig_len);
    char *out = il < SIZE_MAX / 2 && sl < SIZE_MAX / 2 ? malloc(il + 1 + sl + 1) : NULL;
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, input, il);
    out[il] = '.';
    at_b64url_encode(sig, sig_len, out + il + 1);
    return out;
}

at_status at_jws_policy_sign(const uint8_t *key_pem, size_t key_len, const uint8_t *cert_pem,
                             size_t cert_len, const uint8_t *payload, size_t payload_len,
                             char **out, struct at_err *e)
{
    AT_ENSURE(key_pem != NULL && cert_pem != NULL && (payload != NULL || payload_len == 0), e,
              AT_E_USAGE, "jws_policy_sign", "a key, a certificate and a payload are required");
    EVP_PKEY *key = read_key(key_pem, key_len);
    if (key == NULL) {
        char why[128];
        at_err_openssl(why, sizeof(why));
        AT_FAIL(e, AT_E_BAD_VALUE, "jws_policy_sign",
                "the signing key is not an unencrypted PEM private key");
    }
    X509 *cert = read_cert(cert_pem, cert_len);
    const char *alg = NULL;
    enum at_jws_alg a = AT_ALG_RS256;
    if (at_tok_key_fits(key, AT_ALG_RS256)) {
        alg = "RS256";
    } else if (at_tok_key_fits(key, AT_ALG_ES256)) {
        alg = "ES256";
        a = AT_ALG_ES256;
    }
    const char *bad = cert == NULL  ? "the signing certificate is not PEM"
                      : alg == NULL ? "the key is neither RSA >= 2048 nor P-256"
                      : X509_check_private_key(cert, key) != 1
                          ? "the key does not match the certificate"
                          : NULL;
    if (bad != NULL) {
        ERR_clear_error();
        EVP_PKEY_free(key);
        X509_free(cert);
        AT_FAIL(e, AT_E_BAD_VALUE, "jws_policy_sign", "%s", bad);
    }
    char *h = header_b64(alg, cert);
    X509_free(cert);
    char *input = h != NULL ? signing_input(h, payload, payload_len) : NULL;
    free(h);
    if (input == NULL) {
        EVP_PKEY_free(key);
        AT_FAIL(e, AT_E_NOMEM, "jws_policy_sign", "out of memory");
    }
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    at_status st = at_tok_sign(key, a, input, strlen(input), &sig, &sig_len, e);
    EVP_PKEY_free(key);
    char *jws = at_is_ok(st) ? join_sig(input, sig, sig_len) : NULL;
    free(input);
    free(sig);
    AT_TRY(st);
    if (jws == NULL) {
        AT_FAIL(e, AT_E_NOMEM, "jws_policy_sign", "out of memory");
    }
    *out = jws;
    return at_ok();
}
