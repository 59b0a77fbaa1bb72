/*
 * The management plane's use cases (maa-api.md §2.5, §2.6, §4, §6): policy get / set /
 * reset and policy management certificates get / add / remove, each answered with a JWT
 * signed by the provider's key. HTTP, authentication and RBAC live in the server; this
 * file applies the provider's trust model:
 *
 *   AAD       policies unsigned or signed by any certificate (reported back as
 *             x-ms-policy-signer); no policy management certificates.
 *   Isolated  every set/reset and every certificate add/remove is a JWS signed by a
 *             certificate byte-equal (DER) to a registered policy management certificate.
 *
 * Request JWSs are hashed exactly as received (after one layer of JSON string quoting is
 * stripped) for x-ms-policy-token-hash and stored verbatim, so GET returns them unchanged.
 */
#include "base/encoding.h"
#include "crypto/digest.h"
#include "crypto/x509.h"
#include "service/service_int.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* A policy management certificate's DER; far above any real certificate. */
#define MAX_CERT_DER ((size_t)64 * 1024)

/* Names the payload's certificate member has had over the API's history (§2.6). */
static const char *const cert_claims[] = {"policyCertificate", "maa-policyCertificate",
                                          "x-ms-policyCertificate", "aas-policyCertificate"};

const char *at_manage_op_name(enum at_manage_op op)
{
    switch (op) {
    case AT_MANAGE_POLICY_GET:
        return "policy.get";
    case AT_MANAGE_POLICY_SET:
        return "policy.set";
    case AT_MANAGE_POLICY_RESET:
        return "policy.reset";
    case AT_MANAGE_CERTS_GET:
        return "certificates.get";
    case AT_MANAGE_CERTS_ADD:
        return "certificates.add";
    case AT_MANAGE_CERTS_REMOVE:
        return "certificates.remove";
    }
    return "unknown";
}

void at_manage_result_clear(struct at_manage_result *r)
{
    free(r->token);
    r->token = NULL;
}

/* One request's state; mctx_clear releases everything. */
struct mctx {
    struct at_service *svc;
    const struct at_manage_request *req;
    const char *provider;
    struct svc_signer *signer; /* the provider (reference) */
    json_t *out;               /* the response claims */
    const char *code;          /* MAA code for input failures of the current stage */
    /* The request JWS (or bare policy text), NUL-terminated, quotes stripped. */
    char *jws;
    size_t jws_len;
    bool is_jws;
    json_t *payload;   /* decoded payload object, or NULL when empty */
    X509 *signer_cert; /* x5c[0] of a signed request, else NULL */
};

static void mctx_clear(struct mctx *c)
{
    if (c->signer != NULL) {
        at_cache_obj_unref(&c->signer->obj);
    }
    json_decref(c->out);
    free(c->jws);
    json_decref(c->payload);
    X509_free(c->signer_cert);
}

static at_status nomem(struct at_err *e)
{
    AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
}

static at_status put(json_t *o, const char *k, json_t *v, struct at_err *e)
{
    if (v == NULL || json_object_set_new(o, k, v) != 0) {
        return nomem(e);
    }
    return at_ok();
}

/* ---- encodings ---- */

/* Standard base64 (x5c entries, RFC 7517 §4.7) as a JSON string; NULL when out of memory. */
static json_t *b64_std_json(const uint8_t *p, size_t n)
{
    if (n > MAX_CERT_DER) {
        return NULL;
    }
    char *buf = malloc(4 * ((n + 2) / 3) + 1);
    if (buf == NULL) {
        return NULL;
    }
    json_t *s = EVP_EncodeBlock((unsigned char *)buf, p, (int)n) >= 0 ? json_string(buf) : NULL;
    free(buf);
    return s;
}

static at_status cert_der(X509 *cert, uint8_t **der, size_t *len, struct at_err *e)
{
    uint8_t *p = NULL;
    int n = i2d_X509(cert, &p);
    if (n <= 0) {
        AT_FAIL(e, AT_E_CRYPTO, NULL, "cannot encode a certificate");
    }
    *der = p;
    *len = (size_t)n;
    return at_ok();
}

/* {"kty","x5c":[b64 DER]} of a certificate (x-ms-policy-signer, the certificate list). */
static json_t *cert_jwk(X509 *cert, const uint8_t *der, size_t len)
{
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    const char *kty = pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ? "EC" : "RSA";
    json_t *x5c = json_array();
    json_t *b = b64_std_json(der, len);
    if (x5c == NULL || b == NULL || json_array_append_new(x5c, b) != 0) {
        json_decref(x5c);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "kty", kty, "x5c", x5c);
}

/* Upper-case hex SHA-1 of the DER (x-ms-certificate-thumbprint, .NET's convention). */
static at_status thumbprint(const uint8_t *der, size_t len, char out[41], struct at_err *e)
{
    uint8_t h[20];
    unsigned hl = 0;
    if (EVP_Digest(der, len, h, &hl, EVP_sha1(), NULL) != 1 || hl != sizeof(h)) {
        AT_FAIL(e, AT_E_CRYPTO, NULL, "SHA-1 failed");
    }
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < sizeof(h); i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[40] = '\0';
    return at_ok();
}

/* Unsigned policy JWS: none_hdr . b64url({"AttestationPolicy": b64url(text)}) . (empty). */
static at_status wrap_unsigned(const char *text, size_t len, char **out, struct at_err *e)
{
    char *b = at_b64url_dup((const uint8_t *)text, len);
    json_t *p = b != NULL ? json_pack("{s:s}", "AttestationPolicy", b) : NULL;
    free(b);
    if (p == NULL) {
        return nomem(e);
    }
    at_status s = at_jwt_unsecured(p, out, e);
    json_decref(p);
    return s;
}

/* ---- the request JWS ---- */

static bool ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/*
 * The body as the JWS (or bare text) to hash and parse (maa-api.md §8.1): surrounding
 * whitespace trimmed, one layer of JSON string quoting stripped; for the certificate
 * operations also the object form {"certificate": "<JWS>"} (2025-06-01 TypeSpec draft).
 */
static at_status extract(struct mctx *c, bool object_form, struct at_err *e)
{
    const char *b = c->req->body != NULL ? c->req->body : "";
    size_t n = c->req->body != NULL ? c->req->body_len : 0;
    AT_ENSURE(n <= AT_TOKEN_MAX_BYTES, e, AT_E_LIMIT, "manage_body",
              "request body larger than %zu bytes", AT_TOKEN_MAX_BYTES);
    while (n > 0 && ws(b[0])) {
        b++;
        n--;
    }
    while (n > 0 && ws(b[n - 1])) {
        n--;
    }
    const char *v = b;
    size_t vlen = n;
    json_t *j = NULL;
    if (n > 0 && (b[0] == '"' || (object_form && b[0] == '{'))) {
        json_error_t jerr;
        j = json_loadb(b, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        json_t *s = json_is_object(j) ? json_object_get(j, "certificate") : j;
        if (!json_is_string(s)) {
            json_decref(j);
            AT_FAIL(e, AT_E_PARSE, "manage_body",
                    "the body must be a JWS, or a JSON string holding one");
        }
        v = json_string_value(s);
        vlen = json_string_length(s);
    }
    if (memchr(v, '\0', vlen) != NULL) {
        json_decref(j);
        AT_FAIL(e, AT_E_PARSE, "manage_body", "NUL byte in the request body");
    }
    c->jws = malloc(vlen + 1);
    if (c->jws == NULL) {
        json_decref(j);
        return nomem(e);
    }
    memcpy(c->jws, v, vlen);
    c->jws[vlen] = '\0';
    c->jws_len = vlen;
    json_decref(j);
    /* Compact JWS: base64url characters and exactly two dots (policy text never is). */
    size_t dots = 0;
    bool chars_ok = vlen > 0;
    for (size_t i = 0; i < vlen && chars_ok; i++) {
        char ch = c->jws[i];
        if (ch == '.') {
            dots++;
        } else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '=')) {
            chars_ok = false;
        }
    }
    c->is_jws = chars_ok && dots == 2;
    return at_ok();
}

/* A JSON object from base64url text; AT_E_PARSE naming `what` otherwise. */
static at_status b64_json_object(const char *p, size_t n, const char *what, json_t **out,
                                 struct at_err *e)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    at_status s = at_b64_decode_public(p, n, &raw, &raw_len, e);
    if (!at_is_ok(s)) {
        at_err_context(e, what);
        return s;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, &jerr);
    free(raw);
    if (!json_is_object(j)) {
        json_decref(j);
        AT_FAIL(e, AT_E_PARSE, "manage_jws", "the JWS %s is not a JSON object", what);
    }
    *out = j;
    return at_ok();
}

/* The certificate a signed JWS names: header x5c[0], else jwk.x5c[0] (RFC 7515 §4.1.3, 4.1.6). */
static at_status header_cert(const json_t *hdr, X509 **out, struct at_err *e)
{
    const json_t *x5c = json_object_get(hdr, "x5c");
    if (x5c == NULL) {
        x5c = json_object_get(json_object_get(hdr, "jwk"), "x5c");
    }
    const json_t *x0 = json_array_get(x5c, 0);
    AT_ENSURE(json_is_string(x0) && json_string_length(x0) > 0, e, AT_E_PARSE, "manage_signer",
              "a signed JWS must carry its signing certificate in the header's x5c (or jwk.x5c)");
    AT_ENSURE(json_string_length(x0) <= 2 * MAX_CERT_DER, e, AT_E_LIMIT, "manage_signer",
              "the signing certificate is too large");
    uint8_t *der = NULL;
    size_t len = 0;
    at_status s = at_b64_decode_any(json_string_value(x0), json_string_length(x0), &der, &len, e);
    if (at_is_ok(s)) {
        s = at_x509_from_der(der, len, out, "x5c", e);
        free(der);
    }
    if (!at_is_ok(s)) {
        at_err_context(e, "JWS header x5c[0]");
    }
    return s;
}

/*
 * Parse c->jws: alg none (empty signature) or RS256/PS256/ES256 verified with the
 * header's certificate (at_jwt_verify_cert). An empty payload is allowed only when
 * `empty_ok` (reset).
 */
static at_status parse_jws(struct mctx *c, bool empty_ok, struct at_err *e)
{
    const char *j = c->jws;
    const char *d1 = strchr(j, '.');
    const char *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    AT_ENSURE(d1 != NULL && d2 != NULL && d1 > j, e, AT_E_PARSE, "manage_jws",
              "the request is not a compact JWS");
    size_t plen = (size_t)(d2 - d1 - 1);
    json_t *hdr = NULL;
    AT_TRY(b64_json_object(j, (size_t)(d1 - j), "header", &hdr, e));
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    bool none = alg != NULL && strcmp(alg, "none") == 0;
    at_status s = at_ok();
    if (alg == NULL) {
        s = at_fail_(e, AT_E_PARSE, "manage_jws", __FILE__, __LINE__,
                     "the JWS header has no \"alg\" string");
    } else if (none) {
        if (d2[1] != '\0') {
            s = at_fail_(e, AT_E_PARSE, "manage_jws", __FILE__, __LINE__,
                         "an unsecured JWS (alg none) must have an empty signature");
        } else if (plen > 0) {
            s = b64_json_object(d1 + 1, plen, "payload", &c->payload, e);
        }
    } else {
        s = header_cert(hdr, &c->signer_cert, e);
        if (at_is_ok(s)) {
            struct at_err ve;
            at_err_init(&ve);
            s = at_jwt_verify_cert(j, c->signer_cert, NULL, &c->payload, &ve);
            /*
             * A signed reset has an empty payload (maa-api.md §2.5): the signature is
             * checked before the payload is decoded, so "payload is not a JSON object"
             * on an empty payload means the signature verified.
             */
            if (!at_is_ok(s) && plen == 0 && ve.check != NULL &&
                strcmp(ve.check, "jws_payload") == 0) {
                s = at_ok();
            }
            if (!at_is_ok(s)) {
                *e = ve;
                at_err_context(e, "policy management JWS");
            }
        }
    }
    json_decref(hdr);
    AT_TRY(s);
    AT_ENSURE(c->payload != NULL || empty_ok, e, AT_E_PARSE, "manage_jws",
              "the JWS payload is empty");
    return at_ok();
}

/* Isolated mode: the request's signer must be byte-equal to a registered certificate. */
static at_status check_isolated_signer(struct mctx *c, struct at_err *e)
{
    AT_ENSURE(c->signer_cert != NULL, e, AT_E_UNSUPPORTED, "manage_unsigned",
              "provider '%s' is in Isolated mode: the request must be a JWS signed by one of its "
              "policy management certificates",
              c->provider);
    uint8_t *der = NULL;
    size_t len = 0;
    AT_TRY(cert_der(c->signer_cert, &der, &len, e));
    uint8_t **ders = NULL;
    size_t *lens = NULL, n = 0;
    at_status s = at_store_signer_list(c->svc->store, c->provider, &ders, &lens, &n, e);
    bool found = false;
    for (size_t i = 0; at_is_ok(s) && i < n && !found; i++) {
        found = lens[i] == len && memcmp(ders[i], der, len) == 0;
    }
    at_store_signers_free(ders, lens, n);
    char tp[41] = "";
    if (at_is_ok(s) && !found) {
        s = thumbprint(der, len, tp, e);
    }
    OPENSSL_free(der);
    AT_TRY(s);
    AT_ENSURE(found, e, AT_E_SIGNATURE, "manage_signer",
              "the request is signed by certificate %s, which is not a policy management "
              "certificate of provider '%s'",
              tp, c->provider);
    return at_ok();
}

/* The trust model's rule for a set/reset/add/remove request (maa-api.md §6). */
static at_status check_trust(struct mctx *c, struct at_err *e)
{
    switch (c->signer->mode) {
    case AT_MODE_AAD:
        return at_ok();
    case AT_MODE_ISOLATED:
        return check_isolated_signer(c, e);
    }
    AT_FAIL(e, AT_E_INTERNAL, NULL, "unknown provider mode");
}

/* x-ms-policy-token-hash: b64url(SHA-256(the JWS as received)) (policy-language.md §1.5). */
static at_status put_token_hash(struct mctx *c, struct at_err *e)
{
    uint8_t h[AT_SHA256_LEN];
    if (at_sha256(c->jws, c->jws_len, h) != 0) {
        return nomem(e);
    }
    char b[48];
    at_b64url_encode(h, sizeof(h), b);
    return put(c->out, "x-ms-policy-token-hash", json_string(b), e);
}

static at_status put_signer(struct mctx *c, struct at_err *e)
{
    if (c->signer_cert == NULL) {
        return at_ok(); /* absent for unsigned requests (maa-api.md §2.5) */
    }
    uint8_t *der = NULL;
    size_t len = 0;
    AT_TRY(cert_der(c->signer_cert, &der, &len, e));
    json_t *jwk = cert_jwk(c->signer_cert, der, len);
    OPENSSL_free(der);
    return put(c->out, "x-ms-policy-signer", jwk, e);
}

/* ---- policy get / set / reset (maa-api.md §2.5) ---- */

/* The policy JWS a GET returns now (heap): stored JWS, else unsigned over text or default. */
static at_status current_policy_jws(struct mctx *c, char **out, struct at_err *e)
{
    const char *type = at_att_type_name(c->req->type);
    struct at_policy_record rec;
    memset(&rec, 0, sizeof(rec));
    struct at_err ge;
    at_err_init(&ge);
    at_status s = at_store_policy_get(c->svc->store, c->provider, type, &rec, &ge);
    char *jws = NULL;
    if (at_is_ok(s)) {
        s = rec.jws != NULL ? ((jws = strdup(rec.jws)) != NULL ? at_ok() : nomem(e))
                            : wrap_unsigned(rec.text, rec.text_len, &jws, e);
    } else if (s.code == AT_E_NOT_FOUND) {
        const char *def = at_policy_default_text(type);
        /* No default (Tpm): reported as an empty-payload unsigned JWS (policy-language.md §1.7). */
        s = def != NULL ? wrap_unsigned(def, strlen(def), &jws, e)
            : (jws = strdup("eyJhbGciOiJub25lIn0..")) != NULL ? at_ok()
                                                              : nomem(e);
    } else {
        *e = ge;
    }
    at_policy_record_clear(&rec);
    AT_TRY(s);
    *out = jws;
    return at_ok();
}

static at_status policy_get(struct mctx *c, struct at_err *e)
{
    char *jws = NULL;
    AT_TRY(current_policy_jws(c, &jws, e));
    at_status s = put(c->out, "x-ms-policy", json_string(jws), e);
    free(jws);
    return s;
}

/* b64url(SHA-256(current policy JWS)) into out[48] for the audit record; "" on failure. */
static void current_policy_hash(struct mctx *c, char out[48])
{
    out[0] = '\0';
    char *jws = NULL;
    struct at_err e;
    at_err_init(&e);
    uint8_t h[AT_SHA256_LEN];
    if (at_is_ok(current_policy_jws(c, &jws, &e)) && at_sha256(jws, strlen(jws), h) == 0) {
        at_b64url_encode(h, sizeof(h), out);
    }
    free(jws);
}

/* The policy text from a StoredAttestationPolicy payload (heap, NUL-terminated). */
static at_status payload_policy(struct mctx *c, uint8_t **text, size_t *len, struct at_err *e)
{
    const json_t *ap = json_object_get(c->payload, "AttestationPolicy");
    AT_ENSURE(json_is_string(ap), e, AT_E_PARSE, "manage_payload",
              "the JWS payload has no \"AttestationPolicy\" string");
    AT_ENSURE(json_string_length(ap) <= 2 * (size_t)AT_LIMIT_POLICY_BYTES, e, AT_E_LIMIT,
              "manage_payload", "policy larger than %u bytes", AT_LIMIT_POLICY_BYTES);
    at_status s = at_b64_decode_public(json_string_value(ap), json_string_length(ap), text, len, e);
    if (!at_is_ok(s)) {
        at_err_context(e, "AttestationPolicy");
    }
    return s;
}

static at_status policy_set(struct mctx *c, struct at_err *e)
{
    c->code = "InvalidOperation";
    AT_TRY(extract(c, false, e));
    if (c->is_jws) {
        AT_TRY(parse_jws(c, false, e));
    }
    AT_TRY(check_trust(c, e));
    uint8_t *text = NULL;
    size_t len = 0;
    if (c->is_jws) {
        AT_TRY(payload_policy(c, &text, &len, e));
    } else {
        /* The bare-text upload form (policy-language.md §1.2). */
        text = (uint8_t *)strdup(c->jws);
        len = c->jws_len;
        if (text == NULL) {
            return nomem(e);
        }
    }
    c->code = "PolicyParsingError";
    struct at_policy *pol = NULL;
    at_status s = len <= AT_LIMIT_POLICY_BYTES
                      ? at_policy_compile((const char *)text, len, AT_POLICY_LENIENT, &pol, NULL, e)
                      : at_fail_(e, AT_E_LIMIT, "policy", __FILE__, __LINE__,
                                 "policy larger than %u bytes", AT_LIMIT_POLICY_BYTES);
    at_policy_free(pol);
    char *stored = NULL;
    if (at_is_ok(s)) {
        c->code = NULL;
        s = c->is_jws ? ((stored = strdup(c->jws)) != NULL ? at_ok() : nomem(e))
                      : wrap_unsigned((const char *)text, len, &stored, e);
    }
    if (at_is_ok(s)) {
        s = at_store_policy_set(c->svc->store, c->provider, at_att_type_name(c->req->type),
                                (const char *)text, len, c->is_jws ? c->jws : NULL, e);
    }
    free(text);
    if (at_is_ok(s)) {
        s = put(c->out, "x-ms-policy-result", json_string("Updated"), e);
    }
    if (at_is_ok(s)) {
        s = put_token_hash(c, e);
    }
    if (at_is_ok(s)) {
        s = put_signer(c, e);
    }
    if (at_is_ok(s)) {
        s = put(c->out, "x-ms-policy", json_string(stored), e);
    }
    free(stored);
    return s;
}

static at_status policy_reset(struct mctx *c, struct at_err *e)
{
    c->code = "InvalidOperation";
    AT_TRY(extract(c, false, e));
    if (c->jws_len == 0) {
        /* An empty body resets like the unsigned empty-payload JWS. */
        free(c->jws);
        c->jws = strdup("eyJhbGciOiJub25lIn0..");
        AT_ENSURE(c->jws != NULL, e, AT_E_NOMEM, NULL, "out of memory");
        c->jws_len = strlen(c->jws);
        c->is_jws = true;
    }
    AT_ENSURE(c->is_jws, e, AT_E_PARSE, "manage_jws", "a reset request must be a compact JWS");
    AT_TRY(parse_jws(c, true, e));
    AT_TRY(check_trust(c, e));
    c->code = NULL;
    AT_TRY(at_store_policy_reset(c->svc->store, c->provider, at_att_type_name(c->req->type), e));
    AT_TRY(put(c->out, "x-ms-policy-result", json_string("Removed"), e));
    AT_TRY(put_token_hash(c, e));
    return put_signer(c, e);
}

/* ---- policy management certificates (maa-api.md §2.6) ---- */

static at_status certs_get(struct mctx *c, struct at_err *e)
{
    json_t *keys = json_array();
    AT_TRY(put(c->out, "x-ms-policy-certificates", json_pack("{s:o}", "keys", keys), e));
    if (c->signer->mode == AT_MODE_AAD) {
        return at_ok(); /* always present, empty in AAD mode: the SDK iterates it */
    }
    uint8_t **ders = NULL;
    size_t *lens = NULL, n = 0;
    AT_TRY(at_store_signer_list(c->svc->store, c->provider, &ders, &lens, &n, e));
    at_status s = at_ok();
    for (size_t i = 0; i < n && at_is_ok(s); i++) {
        X509 *x = NULL;
        s = at_x509_from_der(ders[i], lens[i], &x, "policy management certificate", e);
        json_t *jwk = at_is_ok(s) ? cert_jwk(x, ders[i], lens[i]) : NULL;
        char tp[41];
        if (at_is_ok(s)) {
            s = jwk != NULL ? thumbprint(ders[i], lens[i], tp, e) : nomem(e);
        }
        if (at_is_ok(s)) {
            s = put(jwk, "kid", json_string(tp), e);
        }
        if (at_is_ok(s) && json_array_append(keys, jwk) != 0) {
            s = nomem(e);
        }
        json_decref(jwk);
        X509_free(x);
    }
    at_store_signers_free(ders, lens, n);
    return s;
}

/* The target certificate of an add/remove payload: {"<name>": {"kty","x5c":[b64 DER]}}. */
static at_status payload_cert(struct mctx *c, uint8_t **der, size_t *len, struct at_err *e)
{
    const json_t *pc = NULL;
    for (size_t i = 0; i < sizeof(cert_claims) / sizeof(cert_claims[0]) && pc == NULL; i++) {
        pc = json_object_get(c->payload, cert_claims[i]);
    }
    AT_ENSURE(json_is_object(pc), e, AT_E_PARSE, "manage_payload",
              "the JWS payload has no \"policyCertificate\" object");
    const json_t *x0 = json_array_get(json_object_get(pc, "x5c"), 0);
    AT_ENSURE(json_is_string(x0) && json_string_length(x0) > 0, e, AT_E_PARSE, "manage_payload",
              "policyCertificate has no x5c certificate");
    AT_ENSURE(json_string_length(x0) <= 2 * MAX_CERT_DER, e, AT_E_LIMIT, "manage_payload",
              "policyCertificate is too large");
    uint8_t *d = NULL;
    size_t dl = 0;
    AT_TRY(at_b64_decode_any(json_string_value(x0), json_string_length(x0), &d, &dl, e));
    X509 *x = NULL;
    at_status s = at_x509_from_der(d, dl, &x, "policyCertificate", e);
    X509_free(x);
    if (!at_is_ok(s)) {
        free(d);
        return s;
    }
    *der = d;
    *len = dl;
    return at_ok();
}

static at_status certs_modify(struct mctx *c, bool add, struct at_err *e)
{
    c->code = "InvalidOperation";
    AT_ENSURE(c->signer->mode == AT_MODE_ISOLATED, e, AT_E_UNSUPPORTED, "manage_mode",
              "provider '%s' is in AAD mode: policy management certificates exist only in "
              "Isolated mode",
              c->provider);
    AT_TRY(extract(c, true, e));
    AT_ENSURE(c->is_jws, e, AT_E_PARSE, "manage_jws",
              "the body must be a JSON string holding a compact JWS");
    AT_TRY(parse_jws(c, false, e));
    AT_TRY(check_trust(c, e));
    uint8_t *der = NULL;
    size_t len = 0;
    AT_TRY(payload_cert(c, &der, &len, e));
    char tp[41];
    at_status s = thumbprint(der, len, tp, e);
    bool present = add;
    if (at_is_ok(s) && add) {
        struct at_err ae;
        at_err_init(&ae);
        s = at_store_signer_add(c->svc->store, c->provider, der, len, &ae);
        if (!at_is_ok(s) && ae.check != NULL && strcmp(ae.check, "signer_exists") == 0) {
            s = at_ok(); /* adding a present certificate leaves it present */
        } else if (!at_is_ok(s)) {
            *e = ae;
        }
    } else if (at_is_ok(s)) {
        bool removed = false;
        s = at_store_signer_remove(c->svc->store, c->provider, der, len, true, &removed, e);
        present = false;
    }
    free(der);
    AT_TRY(s);
    c->code = NULL;
    AT_TRY(put(c->out, "x-ms-certificate-thumbprint", json_string(tp), e));
    return put(c->out, "x-ms-policycertificates-result",
               json_string(present ? "IsPresent" : "IsAbsent"), e);
}

/* ---- the response token (maa-api.md §4) ---- */

static at_status sign_response(struct mctx *c, struct at_manage_result *res, struct at_err *e)
{
    struct at_service *svc = c->svc;
    int64_t now = at_service_now(svc);
    int64_t life = svc->token_lifetime_s > 0 ? svc->token_lifetime_s : c->signer->lifetime_s;
    const char *iss = c->req->issuer != NULL     ? c->req->issuer
                      : svc->issuer_base != NULL ? svc->issuer_base
                                                 : "https://localhost";
    char jti[65];
    AT_TRY(at_token_jti(jti, e));
    AT_TRY(put(c->out, "exp", json_integer(now + life), e));
    AT_TRY(put(c->out, "iat", json_integer(now), e));
    AT_TRY(put(c->out, "iss", json_string(iss), e));
    AT_TRY(put(c->out, "jti", json_string(jti), e));
    AT_TRY(put(c->out, "nbf", json_integer(now), e));
    AT_TRY(put(c->out, "x-ms-ver", json_string("1.0"), e));
    char jku[600];
    snprintf(jku, sizeof(jku), "%s/certs", iss);
    return at_jwt_sign(c->signer->signer, c->out, jku, false, &res->token, e);
}

static at_status manage(struct mctx *c, struct at_manage_result *res, struct at_err *e)
{
    uint64_t gen = at_store_generation(c->svc->store);
    AT_TRY(svc_signer_get(c->svc, gen, c->provider, &c->signer, e));
    c->out = json_object();
    if (c->out == NULL) {
        return nomem(e);
    }
    bool changes_policy =
        c->req->op == AT_MANAGE_POLICY_SET || c->req->op == AT_MANAGE_POLICY_RESET;
    if (changes_policy) {
        current_policy_hash(c, res->policy_hash_before);
    }
    switch (c->req->op) {
    case AT_MANAGE_POLICY_GET:
        AT_TRY(policy_get(c, e));
        break;
    case AT_MANAGE_POLICY_SET:
        AT_TRY(policy_set(c, e));
        break;
    case AT_MANAGE_POLICY_RESET:
        AT_TRY(policy_reset(c, e));
        break;
    case AT_MANAGE_CERTS_GET:
        AT_TRY(certs_get(c, e));
        break;
    case AT_MANAGE_CERTS_ADD:
        AT_TRY(certs_modify(c, true, e));
        break;
    case AT_MANAGE_CERTS_REMOVE:
        AT_TRY(certs_modify(c, false, e));
        break;
    }
    const char *r = json_string_value(json_object_get(c->out, "x-ms-policy-result"));
    if (r == NULL) {
        r = json_string_value(json_object_get(c->out, "x-ms-policycertificates-result"));
    }
    snprintf(res->result, sizeof(res->result), "%s", r != NULL ? r : "");
    if (changes_policy) {
        current_policy_hash(c, res->policy_hash_after);
    }
    return sign_response(c, res, e);
}

at_status at_service_manage(struct at_service *svc, const struct at_manage_request *req,
                            struct at_manage_result *res, struct at_err *e)
{
    memset(res, 0, sizeof(*res));
    struct mctx c;
    memset(&c, 0, sizeof(c));
    c.svc = svc;
    c.req = req;
    c.provider = req->provider != NULL ? req->provider : AT_PROVIDER_DEFAULT;
    at_status s = manage(&c, res, e);
    if (!at_is_ok(s)) {
        free(res->token);
        res->token = NULL;
        res->result[0] = '\0';
        /* Input and verification failures take the stage's MAA code (§1). */
        int cls = (int)e->code / 100;
        res->error_code =
            (cls == 1 || cls == 2) && c.code != NULL ? c.code : at_service_error_code(e);
    }
    mctx_clear(&c);
    return s;
}
