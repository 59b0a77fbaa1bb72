/*
 * JWS verification with the algorithms pinned by the relying party (RFC 8725 §3.1:
 * "libraries MUST enable the caller to specify a supported set of algorithms"). The
 * header's alg is checked against the caller's list before any key is looked up, so a
 * token cannot choose its own algorithm (alg none, HS256 keyed with a public key, or an
 * alg the issuer never uses); everything else is at_jwt_verify.
 */
#include "base/encoding.h"
#include "token/token.h"

#include <stdlib.h>
#include <string.h>

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* The protected header of a compact JWS (RFC 7515 §7.1), decoded, not yet trusted. */
static at_status unverified_header(const char *jwt, json_t **out, struct at_err *e)
{
    size_t len = strnlen(jwt, AT_TOKEN_MAX_BYTES + 1);
    AT_ENSURE(len <= AT_TOKEN_MAX_BYTES, e, AT_E_LIMIT, "jws_syntax", "token larger than %zu bytes",
              AT_TOKEN_MAX_BYTES);
    const char *dot = memchr(jwt, '.', len);
    AT_ENSURE(dot != NULL && dot != jwt, e, AT_E_PARSE, "jws_syntax", "JWS must have three parts");
    size_t hlen = (size_t)(dot - jwt);
    for (size_t i = 0; i < hlen; i++) {
        if (!b64url_char(jwt[i])) {
            at_status st = at_fail_at_(e, AT_E_PARSE, "header", i, __FILE__, __LINE__,
                                       "JWS header: byte %zu is not base64url", i);
            at_err_check(e, "jws_syntax");
            return st;
        }
    }
    uint8_t *txt = NULL;
    size_t txt_len = 0;
    at_status st = at_b64_decode_public(jwt, hlen, &txt, &txt_len, e);
    if (!at_is_ok(st)) {
        at_err_context(e, "header");
        at_err_check(e, "jws_syntax");
        return st;
    }
    json_error_t jerr;
    json_t *h = json_loadb((const char *)txt, txt_len, JSON_REJECT_DUPLICATES, &jerr);
    free(txt);
    if (!json_is_object(h)) {
        json_decref(h);
        AT_FAIL(e, AT_E_PARSE, "jws_header", "JWS header is not a JSON object");
    }
    *out = h;
    return at_ok();
}

/* RFC 7515 §4.1.1: the header's alg, which must be one of the pinned ones. */
static at_status pinned_alg(const json_t *h, const enum at_jws_alg *algs, size_t n_algs,
                            struct at_err *e)
{
    const char *a = json_string_value(json_object_get(h, "alg"));
    AT_ENSURE(a != NULL, e, AT_E_PARSE, "jws_header", "JWS header has no \"alg\" string");
    AT_ENSURE(strcmp(a, "none") != 0, e, AT_E_UNSUPPORTED, "jws_alg",
              "unsecured JWS (alg none) is not accepted");
    AT_ENSURE(strncmp(a, "HS", 2) != 0, e, AT_E_UNSUPPORTED, "jws_alg",
              "HMAC JWS algorithms are not accepted");
    struct at_err sub;
    at_err_init(&sub);
    enum at_jws_alg alg = AT_ALG_RS256;
    AT_ENSURE(at_is_ok(at_jws_alg_parse(a, &alg, &sub)), e, AT_E_UNSUPPORTED, "jws_alg",
              "unsupported JWS algorithm (expected RS256, PS256 or ES256)");
    for (size_t i = 0; i < n_algs; i++) {
        if (algs[i] == alg) {
            return at_ok();
        }
    }
    AT_FAIL(e, AT_E_UNSUPPORTED, "jws_alg", "JWS alg %s is not one this issuer uses",
            at_jws_alg_name(alg));
}

at_status at_jwt_verify_pinned(const char *jwt, const json_t *jwks, const enum at_jws_alg *algs,
                               size_t n_algs, json_t **header, json_t **payload, struct at_err *e)
{
    AT_ENSURE(jwt != NULL && jwks != NULL && payload != NULL && (algs != NULL || n_algs == 0), e,
              AT_E_USAGE, "jws_syntax", "a token, a JWKS and an algorithm list are required");
    json_t *h = NULL;
    AT_TRY(unverified_header(jwt, &h, e));
    at_status st = pinned_alg(h, algs, n_algs, e);
    json_t *p = NULL;
    if (at_is_ok(st)) {
        st = at_jwt_verify(jwt, jwks, &p, e);
    }
    if (!at_is_ok(st)) {
        json_decref(h);
        return st;
    }
    *payload = p;
    if (header != NULL) {
        *header = h;
    } else {
        json_decref(h);
    }
    return at_ok();
}
