/*
 * Token signers: key generation, the self-signed certificate, PKCS#8 import and
 * export, and the kid (standard base64 of SHA-256 of the certificate DER, which is
 * what MAA's kids look like: maa-api.md §3.1).
 */
#include "base/secure.h"
#include "crypto/digest.h"
#include "crypto/x509.h"
#include "token/token_int.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

/* Longest validity a generated certificate may have (100 years). */
#define MAX_CERT_DAYS 36500
/* Largest DER key or certificate accepted by at_signer_load. */
#define MAX_DER_BYTES ((size_t)64 << 10)

const char *at_jws_alg_name(enum at_jws_alg a)
{
    switch (a) {
    case AT_ALG_RS256:
        return "RS256";
    case AT_ALG_PS256:
        return "PS256";
    case AT_ALG_ES256:
        return "ES256";
    }
    return "";
}

at_status at_jws_alg_parse(const char *s, enum at_jws_alg *out, struct at_err *e)
{
    static const enum at_jws_alg all[] = {AT_ALG_RS256, AT_ALG_PS256, AT_ALG_ES256};
    if (s == NULL) {
        AT_FAIL(e, AT_E_USAGE, "jws_alg", "no signing algorithm given");
    }
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, at_jws_alg_name(all[i])) == 0) {
            *out = all[i];
            return at_ok();
        }
    }
    AT_FAIL(e, AT_E_UNSUPPORTED, "jws_alg",
            "unsupported signing algorithm (expected RS256, PS256 or ES256)");
}

char *at_tok_b64std_dup(const uint8_t *in, size_t n)
{
    if (n > INT32_MAX / 2) {
        return NULL;
    }
    size_t cap = 4 * ((n + 2) / 3) + 1;
    char *out = malloc(cap);
    if (out == NULL) {
        return NULL;
    }
    /* EVP_EncodeBlock: standard alphabet, '=' padding, no line breaks, NUL-terminated. */
    int w = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    if (w < 0 || (size_t)w != cap - 1) {
        free(out);
        return NULL;
    }
    return out;
}

static bool is_p256(EVP_PKEY *pkey)
{
    char group[32];
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1) {
        ERR_clear_error();
        return false;
    }
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

bool at_tok_key_fits(EVP_PKEY *pkey, enum at_jws_alg alg)
{
    switch (alg) {
    case AT_ALG_RS256:
    case AT_ALG_PS256:
        /* 2048 bits minimum (RFC 7518 §3.3); 8192 maximum bounds verification cost. */
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) >= 2048 &&
               EVP_PKEY_get_bits(pkey) <= 8192;
    case AT_ALG_ES256:
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC && is_p256(pkey);
    }
    return false;
}

void at_signer_free(struct at_signer *s)
{
    if (s == NULL) {
        return;
    }
    EVP_PKEY_free(s->key);
    X509_free(s->cert);
    free(s->cert_der);
    free(s->x5c);
    free(s);
}

const char *at_signer_kid(const struct at_signer *s)
{
    return s->kid;
}

X509 *at_signer_cert(const struct at_signer *s)
{
    return s->cert;
}

enum at_jws_alg at_signer_alg(const struct at_signer *s)
{
    return s->alg;
}

/* Fill the cached encodings: cert DER, its x5c (standard base64) and the kid. */
static int signer_encode(struct at_signer *s)
{
    unsigned char *der = NULL;
    int n = i2d_X509(s->cert, &der);
    if (n <= 0) {
        ERR_clear_error();
        return -1;
    }
    s->cert_der = malloc((size_t)n);
    if (s->cert_der != NULL) {
        memcpy(s->cert_der, der, (size_t)n);
        s->cert_der_len = (size_t)n;
    }
    OPENSSL_free(der);
    uint8_t h[AT_SHA256_LEN];
    if (s->cert_der == NULL || at_sha256(s->cert_der, s->cert_der_len, h) != 0) {
        return -1;
    }
    s->x5c = at_tok_b64std_dup(s->cert_der, s->cert_der_len);
    char *kid = at_tok_b64std_dup(h, sizeof(h));
    int ok = s->x5c != NULL && kid != NULL && strlen(kid) == AT_KID_LEN;
    if (ok) {
        memcpy(s->kid, kid, AT_KID_LEN + 1);
    }
    free(kid);
    return ok ? 0 : -1;
}

/*
 * Assemble a signer from a private key and its certificate, taking ownership of
 * both (freed on failure too). Checks the key type against alg and that the
 * certificate holds the key's public half.
 */
static at_status signer_build(enum at_jws_alg alg, EVP_PKEY *pkey, X509 *cert,
                              struct at_signer **out, struct at_err *e)
{
    struct at_signer *s = NULL;
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    at_status st = at_ok();
    if (!at_tok_key_fits(pkey, alg)) {
        st = at_fail_(e, AT_E_MISMATCH, "signer_key", __FILE__, __LINE__,
                      "signing key does not fit %s (%s)", at_jws_alg_name(alg),
                      alg == AT_ALG_ES256 ? "needs EC P-256" : "needs RSA of 2048 to 8192 bits");
        goto out;
    }
    if (pub == NULL || EVP_PKEY_eq(pub, pkey) != 1) {
        ERR_clear_error();
        st = at_fail_(e, AT_E_MISMATCH, "signer_cert", __FILE__, __LINE__,
                      "certificate public key does not match the signing key");
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        st = at_fail_(e, AT_E_NOMEM, "signer", __FILE__, __LINE__, "out of memory");
        goto out;
    }
    s->alg = alg;
    s->key = pkey;
    s->cert = cert;
    pkey = NULL;
    cert = NULL;
    if (signer_encode(s) != 0) {
        st = at_fail_(e, AT_E_NOMEM, "signer", __FILE__, __LINE__,
                      "cannot encode the signing certificate");
        goto out;
    }
    *out = s;
    s = NULL;
out:
    at_signer_free(s);
    EVP_PKEY_free(pkey);
    X509_free(cert);
    return st;
}

static EVP_PKEY *keygen(enum at_jws_alg alg)
{
    switch (alg) {
    case AT_ALG_RS256:
    case AT_ALG_PS256:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    case AT_ALG_ES256:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    }
    return NULL;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A positive 16-byte serial (RFC 5280 §4.1.2.2: at most 20 octets, positive). */
static int set_serial(X509 *cert)
{
    uint8_t r[16];
    if (RAND_bytes(r, (int)sizeof(r)) != 1) {
        return -1;
    }
    r[0] = (uint8_t)((r[0] & 0x7f) | 0x40); /* positive, and exactly 16 bytes in DER */
    BIGNUM *bn = BN_bin2bn(r, (int)sizeof(r), NULL);
    ASN1_INTEGER *ai = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = ai != NULL && X509_set_serialNumber(cert, ai) == 1;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *pkey, const char *cn, int64_t now, int days)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    int ok =
        cert != NULL && name != NULL && X509_set_version(cert, X509_VERSION_3) == 1 &&
        set_serial(cert) == 0 &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) == 1 &&
        X509_set_subject_name(cert, name) == 1 && X509_set_issuer_name(cert, name) == 1 &&
        ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)now) != NULL &&
        ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)(now + (int64_t)days * 86400)) != NULL &&
        X509_set_pubkey(cert, pkey) == 1 &&
        add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
        add_ext(cert, NID_key_usage, "critical,digitalSignature") == 0 &&
        add_ext(cert, NID_subject_key_identifier, "hash") == 0 &&
        X509_sign(cert, pkey, at_md_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

at_status at_signer_generate(enum at_jws_alg alg, const char *cn, int64_t now, int days,
                             struct at_signer **out, struct at_err *e)
{
    AT_ENSURE(cn != NULL && cn[0] != '\0' && strlen(cn) <= 64, e, AT_E_USAGE, "signer_cn",
              "certificate CN must be 1 to 64 bytes");
    AT_ENSURE(days > 0 && days <= MAX_CERT_DAYS, e, AT_E_USAGE, "signer_days",
              "certificate validity must be 1 to %d days", MAX_CERT_DAYS);
    AT_ENSURE(now >= 0 && now <= INT64_C(253402300799) - (int64_t)MAX_CERT_DAYS * 86400, e,
              AT_E_USAGE, "signer_time", "certificate start time out of range");
    EVP_PKEY *pkey = keygen(alg);
    if (pkey == NULL) {
        ERR_clear_error();
        AT_FAIL(e, AT_E_CRYPTO, "signer_keygen", "key generation failed for %s",
                at_jws_alg_name(alg));
    }
    X509 *cert = make_cert(pkey, cn, now, days);
    if (cert == NULL) {
        char why[128];
        at_err_openssl(why, sizeof(why));
        EVP_PKEY_free(pkey);
        AT_FAIL(e, AT_E_CRYPTO, "signer_cert", "cannot build the signing certificate: %s", why);
    }
    return signer_build(alg, pkey, cert, out, e);
}

at_status at_signer_load(enum at_jws_alg alg, const uint8_t *key_der, size_t key_len,
                         const uint8_t *cert_der, size_t cert_len, struct at_signer **out,
                         struct at_err *e)
{
    AT_ENSURE(key_der != NULL && key_len > 0 && key_len <= MAX_DER_BYTES, e, AT_E_PARSE,
              "signer_key", "signing key must be 1 to %zu bytes of PKCS#8 DER", MAX_DER_BYTES);
    AT_ENSURE(cert_der != NULL && cert_len > 0 && cert_len <= MAX_DER_BYTES, e, AT_E_PARSE,
              "signer_cert", "signing certificate must be 1 to %zu bytes of DER", MAX_DER_BYTES);
    /* Reads straight from the caller's buffer: no copy of the key bytes is made here. */
    const unsigned char *p = key_der;
    EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, (long)key_len);
    if (pkey == NULL || p != key_der + key_len) {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        AT_FAIL(e, AT_E_PARSE, "signer_key", "signing key is not a PKCS#8 DER private key");
    }
    X509 *cert = NULL;
    at_status st = at_x509_from_der(cert_der, cert_len, &cert, "signer_cert", e);
    if (!at_is_ok(st)) {
        EVP_PKEY_free(pkey);
        return st;
    }
    return signer_build(alg, pkey, cert, out, e);
}

at_status at_signer_export(const struct at_signer *s, uint8_t **key_der, size_t *key_len,
                           uint8_t **cert_der, size_t *cert_len, struct at_err *e)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(s->key);
    int n = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
    if (n <= 0) {
        PKCS8_PRIV_KEY_INFO_free(p8);
        ERR_clear_error();
        AT_FAIL(e, AT_E_CRYPTO, "signer_export", "cannot encode the signing key");
    }
    /* Two-pass i2d straight into our buffer, so the only copy is the caller's. */
    uint8_t *kb = malloc((size_t)n);
    uint8_t *cb = malloc(s->cert_der_len);
    unsigned char *q = kb;
    if (kb == NULL || cb == NULL || i2d_PKCS8_PRIV_KEY_INFO(p8, &q) != n) {
        PKCS8_PRIV_KEY_INFO_free(p8); /* wipes its copy of the key (ASN.1 free callback) */
        ERR_clear_error();
        at_free_secret(kb, kb != NULL ? (size_t)n : 0);
        free(cb);
        AT_FAIL(e, AT_E_NOMEM, "signer_export", "cannot encode the signing key");
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    memcpy(cb, s->cert_der, s->cert_der_len);
    *key_der = kb;
    *key_len = (size_t)n;
    *cert_der = cb;
    *cert_len = s->cert_der_len;
    return at_ok();
}
