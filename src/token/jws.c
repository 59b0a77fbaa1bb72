/*
 * JWS compact serialisation (RFC 7515 §7.1) with RS256, PS256 and ES256 (RFC 7518
 * §3.3, §3.4, §3.5), unsecured JWTs (RFC 7519 §6), and verification against a JWKS
 * the way MAA clients do it (maa-api.md §5.3), minus the SDK's trust in header keys.
 */
#include "base/encoding.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "crypto/x509.h"
#include "token/token_int.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

/* ES256 signatures are r||s, 32 bytes each (RFC 7518 §3.4). */
#define ES256_HALF    32
#define ES256_SIG_LEN ((size_t)64)
/* RSASSA-PSS salt length for PS256: the hash output size (RFC 7518 §3.5). */
#define PS256_SALT 32
/* Largest x5c entry (base64 characters) read from a JWKS. */
#define MAX_X5C_CHARS ((size_t)64 << 10)

/* base64url of {"alg":"none"} (RFC 7519 §6.1 example header, without whitespace). */
static const char none_header[] = "eyJhbGciOiJub25lIn0";

/* ---- signing ---- */

static int set_pss(EVP_PKEY_CTX *pctx)
{
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, PS256_SALT) == 1 &&
                   EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, at_md_sha256()) == 1
               ? 0
               : -1;
}

/* DER ECDSA-Sig-Value to fixed-width r||s (RFC 7518 §3.4). */
static int der_to_rs(const uint8_t *der, size_t der_len, uint8_t *rs)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    int ok = sig != NULL && p == der + der_len &&
             BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, ES256_HALF) == ES256_HALF &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + ES256_HALF, ES256_HALF) == ES256_HALF;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

at_status at_tok_sign(EVP_PKEY *key, enum at_jws_alg alg, const char *msg, size_t msg_len,
                      uint8_t **sig, size_t *sig_len, struct at_err *e)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *buf = NULL;
    size_t n = 0;
    int ok = mctx != NULL && EVP_DigestSignInit(mctx, &pctx, at_md_sha256(), NULL, key) == 1 &&
             (alg != AT_ALG_PS256 || set_pss(pctx) == 0) &&
             EVP_DigestSign(mctx, NULL, &n, (const unsigned char *)msg, msg_len) == 1 && n > 0 &&
             (buf = malloc(n)) != NULL &&
             EVP_DigestSign(mctx, buf, &n, (const unsigned char *)msg, msg_len) == 1;
    EVP_MD_CTX_free(mctx);
    if (ok && alg == AT_ALG_ES256) {
        uint8_t *rs = malloc(ES256_SIG_LEN);
        ok = rs != NULL && der_to_rs(buf, n, rs) == 0;
        free(buf);
        buf = rs;
        n = ES256_SIG_LEN;
    }
    if (!ok) {
        char why[128];
        at_err_openssl(why, sizeof(why));
        free(buf);
        AT_FAIL(e, AT_E_CRYPTO, "jws_sign", "%s signing failed: %s", at_jws_alg_name(alg), why);
    }
    *sig = buf;
    *sig_len = n;
    return at_ok();
}

/* JSON text of `v` as the JWS part: compact, in insertion order. Heap; NULL on failure. */
static char *dump_part(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* "<a>.<b64url(bytes)>" (+ "." when `dot`), heap. */
static char *append_b64(const char *a, size_t a_len, const uint8_t *b, size_t b_len, bool dot)
{
    size_t bl = at_b64url_encoded_len(b_len);
    if (b_len > SIZE_MAX / 2 || a_len > SIZE_MAX / 2 - bl - 3) {
        return NULL;
    }
    char *out = malloc(a_len + 1 + bl + 2);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, a, a_len);
    out[a_len] = '.';
    at_b64url_encode(b, b_len, out + a_len + 1);
    if (dot) {
        out[a_len + 1 + bl] = '.';
        out[a_len + 2 + bl] = '\0';
    }
    return out;
}

static json_t *make_header(const struct at_signer *s, const char *jku, bool include_x5c)
{
    /* Key order as MAA emits it (maa-api.md §3.1): alg, jku, kid, typ, then x5c. */
    json_t *h = json_object();
    int bad = h == NULL;
    bad |= json_object_set_new(h, "alg", json_string(at_jws_alg_name(s->alg)));
    if (jku != NULL) {
        bad |= json_object_set_new(h, "jku", json_string(jku));
    }
    bad |= json_object_set_new(h, "kid", json_string(s->kid));
    bad |= json_object_set_new(h, "typ", json_string("JWT"));
    if (include_x5c) {
        json_t *arr = json_array();
        bad |= json_array_append_new(arr, json_string(s->x5c));
        bad |= json_object_set_new(h, "x5c", arr);
    }
    if (bad != 0) {
        json_decref(h);
        return NULL;
    }
    return h;
}

at_status at_jwt_sign(const struct at_signer *s, const json_t *payload, const char *jku,
                      bool include_x5c, char **out, struct at_err *e)
{
    AT_ENSURE(s != NULL && json_is_object(payload), e, AT_E_USAGE, "jws_sign",
              "a signer and a JSON object payload are required");
    json_t *h = make_header(s, jku, include_x5c);
    char *htxt = h != NULL ? dump_part(h) : NULL;
    json_decref(h);
    char *ptxt = htxt != NULL ? dump_part(payload) : NULL;
    char *hb = htxt != NULL ? at_b64url_dup((const uint8_t *)htxt, strlen(htxt)) : NULL;
    char *input = hb != NULL && ptxt != NULL
                      ? append_b64(hb, strlen(hb), (const uint8_t *)ptxt, strlen(ptxt), false)
                      : NULL;
    free(htxt);
    free(ptxt);
    free(hb);
    if (input == NULL) {
        json_t *probe = jku != NULL ? json_string(jku) : NULL;
        bool bad_jku = jku != NULL && probe == NULL;
        json_decref(probe);
        AT_ENSURE(!bad_jku, e, AT_E_USAGE, "jws_sign", "jku is not valid UTF-8");
        AT_FAIL(e, AT_E_NOMEM, "jws_sign", "cannot serialise the token");
    }
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    at_status st = at_tok_sign(s->key, s->alg, input, strlen(input), &sig, &sig_len, e);
    if (!at_is_ok(st)) {
        free(input);
        return st;
    }
    char *jwt = append_b64(input, strlen(input), sig, sig_len, false);
    free(input);
    free(sig);
    AT_ENSURE(jwt != NULL, e, AT_E_NOMEM, "jws_sign", "out of memory");
    *out = jwt;
    return at_ok();
}

at_status at_jwt_unsecured(const json_t *payload, char **out, struct at_err *e)
{
    AT_ENSURE(json_is_object(payload), e, AT_E_USAGE, "jws_sign",
              "a JSON object payload is required");
    char *ptxt = dump_part(payload);
    char *jwt = ptxt != NULL ? append_b64(none_header, sizeof(none_header) - 1,
                                          (const uint8_t *)ptxt, strlen(ptxt), true)
                             : NULL;
    free(ptxt);
    AT_ENSURE(jwt != NULL, e, AT_E_NOMEM, "jws_sign", "out of memory");
    *out = jwt;
    return at_ok();
}

/* ---- verification ---- */

/* A compact JWS split and decoded; syntax checked, signature not yet. */
struct jws {
    json_t *header;
    enum at_jws_alg alg;
    const char *kid;   /* borrowed from header; NULL when absent */
    const char *input; /* signing input "h.p" (borrowed from the token) */
    size_t input_len;
    uint8_t *payload;
    size_t payload_len;
    uint8_t *sig;
    size_t sig_len;
};

static void jws_clear(struct jws *j)
{
    json_decref(j->header);
    free(j->payload);
    free(j->sig);
    memset(j, 0, sizeof(*j));
}

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Strict base64url (RFC 7515 §2: no padding, no '+' '/', canonical last character). */
static at_status b64url_strict(const char *in, size_t len, size_t offset, const char *field,
                               uint8_t **out, size_t *out_len, struct at_err *e)
{
    for (size_t i = 0; i < len; i++) {
        if (!b64url_char(in[i])) {
            at_status st = at_fail_at_(e, AT_E_PARSE, field, offset + i, __FILE__, __LINE__,
                                       "JWS %s: byte %zu is not base64url", field, offset + i);
            at_err_check(e, "jws_syntax");
            return st;
        }
    }
    at_status st = at_b64_decode_any(in, len, out, out_len, e);
    if (!at_is_ok(st)) {
        at_err_context(e, field);
        at_err_check(e, "jws_syntax");
    }
    return st;
}

/* RFC 7515 §4.1.1: alg. Only our three; none and HMAC are refused by name. */
static at_status header_alg(const json_t *h, enum at_jws_alg *alg, struct at_err *e)
{
    const char *a = json_string_value(json_object_get(h, "alg"));
    AT_ENSURE(a != NULL, e, AT_E_PARSE, "jws_header", "JWS header has no \"alg\" string");
    AT_ENSURE(strcmp(a, "none") != 0, e, AT_E_UNSUPPORTED, "jws_alg",
              "unsecured JWS (alg none) is not accepted");
    AT_ENSURE(strncmp(a, "HS", 2) != 0, e, AT_E_UNSUPPORTED, "jws_alg",
              "HMAC JWS algorithms are not accepted");
    at_status st = at_jws_alg_parse(a, alg, e);
    if (!at_is_ok(st)) {
        at_err_context(e, "JWS header");
        return st;
    }
    /* RFC 7515 §4.1.11: we understand no extensions, so any "crit" must be refused. */
    AT_ENSURE(json_object_get(h, "crit") == NULL, e, AT_E_UNSUPPORTED, "jws_header",
              "JWS header has \"crit\" extensions, none of which are supported");
    return at_ok();
}

/* RFC 7515 §7.1: exactly three parts separated by two dots; the offsets of the dots. */
static at_status split_parts(const char *jwt, size_t len, size_t *d1, size_t *d2, struct at_err *e)
{
    const char *a = memchr(jwt, '.', len);
    AT_ENSURE(a != NULL, e, AT_E_PARSE, "jws_syntax", "JWS must have three parts");
    size_t p1 = (size_t)(a - jwt) + 1;
    const char *b = memchr(jwt + p1, '.', len - p1);
    AT_ENSURE(b != NULL, e, AT_E_PARSE, "jws_syntax", "JWS must have three parts");
    size_t p2 = (size_t)(b - jwt) + 1;
    AT_ENSURE(memchr(jwt + p2, '.', len - p2) == NULL, e, AT_E_PARSE, "jws_syntax",
              "JWS must have exactly three parts (JWE and JSON serialisation not accepted)");
    AT_ENSURE(p1 > 1, e, AT_E_PARSE, "jws_syntax", "JWS header is empty");
    *d1 = p1 - 1;
    *d2 = p2 - 1;
    return at_ok();
}

/* The header: a JSON object (no duplicate names) with a usable alg and a string kid. */
static at_status parse_header(const uint8_t *txt, size_t len, struct jws *j, struct at_err *e)
{
    json_error_t jerr;
    j->header = json_loadb((const char *)txt, len, JSON_REJECT_DUPLICATES, &jerr);
    AT_ENSURE(json_is_object(j->header), e, AT_E_PARSE, "jws_header",
              "JWS header is not a JSON object");
    AT_TRY(header_alg(j->header, &j->alg, e));
    const json_t *kid = json_object_get(j->header, "kid");
    AT_ENSURE(kid == NULL || json_is_string(kid), e, AT_E_PARSE, "jws_header",
              "JWS header \"kid\" is not a string");
    j->kid = json_string_value(kid);
    return at_ok();
}

/* Split, decode and check the syntax of a compact JWS; *j owns its parts (jws_clear). */
static at_status jws_parse(const char *jwt, struct jws *j, struct at_err *e)
{
    memset(j, 0, sizeof(*j));
    AT_ENSURE(jwt != NULL, e, AT_E_USAGE, "jws_syntax", "no token given");
    size_t len = strnlen(jwt, AT_TOKEN_MAX_BYTES + 1);
    AT_ENSURE(len <= AT_TOKEN_MAX_BYTES, e, AT_E_LIMIT, "jws_syntax", "token larger than %zu bytes",
              AT_TOKEN_MAX_BYTES);
    size_t d1 = 0, d2 = 0;
    AT_TRY(split_parts(jwt, len, &d1, &d2, e));
    j->input = jwt;
    j->input_len = d2;

    uint8_t *htxt = NULL;
    size_t htxt_len = 0;
    AT_TRY(b64url_strict(jwt, d1, 0, "header", &htxt, &htxt_len, e));
    at_status st = b64url_strict(jwt + d1 + 1, d2 - d1 - 1, d1 + 1, "payload", &j->payload,
                                 &j->payload_len, e);
    if (at_is_ok(st)) {
        st =
            b64url_strict(jwt + d2 + 1, len - d2 - 1, d2 + 1, "signature", &j->sig, &j->sig_len, e);
    }
    if (at_is_ok(st)) {
        st = parse_header(htxt, htxt_len, j, e);
    }
    free(htxt);
    return st;
}

/* ES256 r||s (RFC 7518 §3.4) to the DER ECDSA-Sig-Value OpenSSL verifies. */
static int rs_to_der(const uint8_t *rs, uint8_t *der, size_t cap, size_t *der_len)
{
    BIGNUM *r = BN_bin2bn(rs, ES256_HALF, NULL);
    BIGNUM *s = BN_bin2bn(rs + ES256_HALF, ES256_HALF, NULL);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    if (r == NULL || s == NULL || sig == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return -1;
    }
    int n = i2d_ECDSA_SIG(sig, NULL);
    unsigned char *p = der;
    int ok = n > 0 && (size_t)n <= cap && i2d_ECDSA_SIG(sig, &p) == n;
    ECDSA_SIG_free(sig);
    if (!ok) {
        return -1;
    }
    *der_len = (size_t)n;
    return 0;
}

static at_status verify_sig(const struct jws *j, EVP_PKEY *pub, struct at_err *e)
{
    const char *name = at_jws_alg_name(j->alg);
    AT_ENSURE(pub != NULL && at_tok_key_fits(pub, j->alg), e, AT_E_MISMATCH, "jws_key",
              "JWS alg %s does not fit the key type of the signing certificate", name);
    const uint8_t *sig = j->sig;
    size_t sig_len = j->sig_len;
    uint8_t der[80];
    if (j->alg == AT_ALG_ES256) {
        AT_ENSURE(j->sig_len == ES256_SIG_LEN, e, AT_E_SIGNATURE, "jws_signature",
                  "ES256 signature must be %zu bytes, got %zu", ES256_SIG_LEN, j->sig_len);
        if (rs_to_der(j->sig, der, sizeof(der), &sig_len) != 0) {
            ERR_clear_error();
            AT_FAIL(e, AT_E_CRYPTO, "jws_signature", "cannot encode the ES256 signature");
        }
        sig = der;
    } else {
        int sz = EVP_PKEY_get_size(pub);
        AT_ENSURE(sz > 0 && j->sig_len == (size_t)sz, e, AT_E_SIGNATURE, "jws_signature",
                  "%s signature must be %d bytes, got %zu", name, sz, j->sig_len);
    }
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int rc = -1;
    if (mctx != NULL && EVP_DigestVerifyInit(mctx, &pctx, at_md_sha256(), NULL, pub) == 1 &&
        (j->alg != AT_ALG_PS256 || set_pss(pctx) == 0)) {
        rc = EVP_DigestVerify(mctx, sig, sig_len, (const unsigned char *)j->input, j->input_len);
    }
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    AT_ENSURE(rc == 1, e, AT_E_SIGNATURE, "jws_signature", "%s signature does not verify", name);
    return at_ok();
}

/* After the signature: RFC 7519 §7.2 step 10, the claims set is a JSON object. */
static at_status decode_payload(const struct jws *j, json_t **out, struct at_err *e)
{
    json_error_t jerr;
    json_t *p = json_loadb((const char *)j->payload, j->payload_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(p)) {
        json_decref(p);
        AT_FAIL(e, AT_E_PARSE, "jws_payload", "JWS payload is not a JSON object");
    }
    *out = p;
    return at_ok();
}

/* The first JWK in `jwks` whose kid equals `kid`, or NULL. */
static const json_t *find_jwk(const json_t *keys, const char *kid)
{
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i);
        const char *v = json_string_value(json_object_get(k, "kid"));
        if (v != NULL && strcmp(v, kid) == 0) {
            return k;
        }
    }
    return NULL;
}

/* RFC 7517 §4.2, §4.4: when the JWK states its use or alg, the token must agree. */
static at_status jwk_agrees(const json_t *jwk, enum at_jws_alg alg, struct at_err *e)
{
    const json_t *use = json_object_get(jwk, "use");
    AT_ENSURE(use == NULL || (json_is_string(use) && strcmp(json_string_value(use), "sig") == 0), e,
              AT_E_MISMATCH, "jws_key", "the signing key is not for signatures");
    const json_t *a = json_object_get(jwk, "alg");
    AT_ENSURE(a == NULL ||
                  (json_is_string(a) && strcmp(json_string_value(a), at_jws_alg_name(alg)) == 0),
              e, AT_E_MISMATCH, "jws_key", "JWS alg %s differs from the signing key's alg",
              at_jws_alg_name(alg));
    return at_ok();
}

/* The JWK's x5c[0] (standard base64 DER, RFC 7517 §4.7) as a certificate. */
static at_status jwk_cert(const json_t *jwk, X509 **cert, struct at_err *e)
{
    const json_t *x0 = json_array_get(json_object_get(jwk, "x5c"), 0);
    const char *x5c = json_string_value(x0);
    size_t x5c_len = x5c != NULL ? json_string_length(x0) : 0;
    AT_ENSURE(x5c_len > 0 && x5c_len <= MAX_X5C_CHARS, e, AT_E_BAD_VALUE, "jws_key",
              "the signing key has no usable x5c certificate");
    /* A local error: a bad x5c[0] is a bad JWKS value, whatever the decoders call it. */
    struct at_err sub;
    at_err_init(&sub);
    uint8_t *der = NULL;
    size_t der_len = 0;
    at_status st = at_b64_decode_any(x5c, x5c_len, &der, &der_len, &sub);
    if (at_is_ok(st)) {
        st = at_x509_from_der(der, der_len, cert, "jws_key", &sub);
        free(der);
    }
    AT_ENSURE(at_is_ok(st), e, AT_E_BAD_VALUE, "jws_key",
              "the signing key's x5c[0] is not a base64 DER certificate");
    return at_ok();
}

/* The JWK whose kid equals the token's, checked for agreement; its certificate in *cert. */
static at_status jwks_find(const json_t *jwks, const struct jws *j, X509 **cert, struct at_err *e)
{
    const json_t *keys = json_object_get(jwks, "keys");
    AT_ENSURE(json_is_array(keys), e, AT_E_USAGE, "jwks", "JWKS has no \"keys\" array");
    AT_ENSURE(j->kid != NULL, e, AT_E_PARSE, "jws_header", "JWS header has no \"kid\"");
    const json_t *jwk = find_jwk(keys, j->kid);
    AT_ENSURE(jwk != NULL, e, AT_E_NOT_FOUND, "jws_kid", "no signing key with the token's kid");
    AT_TRY(jwk_agrees(jwk, j->alg, e));
    return jwk_cert(jwk, cert, e);
}

at_status at_jwt_verify(const char *jwt, const json_t *jwks, json_t **payload, struct at_err *e)
{
    AT_ENSURE(jwks != NULL && payload != NULL, e, AT_E_USAGE, "jwks", "no JWKS given");
    struct jws j;
    at_status st = jws_parse(jwt, &j, e);
    X509 *cert = NULL;
    if (at_is_ok(st) && j.kid == NULL) {
        st = at_fail_(e, AT_E_PARSE, "jws_header", __FILE__, __LINE__, "JWS header has no \"kid\"");
    }
    if (at_is_ok(st)) {
        st = jwks_find(jwks, &j, &cert, e);
    }
    if (at_is_ok(st)) {
        st = verify_sig(&j, X509_get0_pubkey(cert), e);
    }
    if (at_is_ok(st)) {
        st = decode_payload(&j, payload, e);
    }
    X509_free(cert);
    jws_clear(&j);
    return st;
}

at_status at_jwt_verify_cert(const char *jwt, X509 *cert, json_t **header, json_t **payload,
                             struct at_err *e)
{
    AT_ENSURE(cert != NULL && payload != NULL, e, AT_E_USAGE, "jws_key", "no certificate given");
    struct jws j;
    at_status st = jws_parse(jwt, &j, e);
    if (at_is_ok(st)) {
        st = verify_sig(&j, X509_get0_pubkey(cert), e);
    }
    json_t *p = NULL;
    if (at_is_ok(st)) {
        st = decode_payload(&j, &p, e);
    }
    if (at_is_ok(st)) {
        *payload = p;
        if (header != NULL) {
            *header = json_incref(j.header);
        }
    }
    jws_clear(&j);
    return st;
}
