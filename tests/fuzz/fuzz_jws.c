/*
 * Fuzz target for JWS verification (src/token/jws.c): covers at_jwt_verify over
 * arbitrary bytes against a fixed small JWKS, at_jwt_verify_cert, and a sign/verify
 * round trip when the input happens to be a JSON object.
 *
 * The JWKS is built once per process from freshly generated RS256, PS256 and ES256
 * signers, with the kids rewritten to short fixed labels so that seeds can name a key
 * and reach signature verification: "r" (RS256), "p" (PS256), "e" (ES256), "n" (the
 * RSA key with no JWK alg/use, so key-type checks decide) and "x" (an unusable x5c).
 * Results never depend on the keys: arbitrary input cannot carry a valid signature.
 */
#include "token/token.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct at_signer *signers[3];
static json_t *jwks;

static json_t *relabel(json_t *jwk, const char *kid)
{
    if (jwk == NULL || json_object_set_new(jwk, "kid", json_string(kid)) != 0) {
        __builtin_trap();
    }
    return jwk;
}

static void init(void)
{
    static const enum at_jws_alg algs[3] = {AT_ALG_RS256, AT_ALG_PS256, AT_ALG_ES256};
    static const char *const kids[3] = {"r", "p", "e"};
    struct at_err e;
    at_err_init(&e);
    jwks = json_object();
    json_t *keys = json_array();
    for (size_t i = 0; i < 3; i++) {
        if (!at_is_ok(at_signer_generate(algs[i], "fuzz", 1735689600, 30, &signers[i], &e))) {
            __builtin_trap();
        }
        json_array_append_new(keys, relabel(at_signer_jwk(signers[i]), kids[i]));
    }
    json_t *bare = relabel(at_signer_jwk(signers[0]), "n");
    json_object_del(bare, "alg");
    json_object_del(bare, "use");
    json_array_append_new(keys, bare);
    json_array_append_new(keys, json_pack("{s:s,s:[s]}", "kid", "x", "x5c", "AAAA"));
    json_object_set_new(jwks, "keys", keys);
}

static void check_fail(at_status st, const struct at_err *e, const json_t *out)
{
    /* A failure always has a code, the same one in the error, and no output. */
    if (st.code == AT_OK || e->code != st.code || out != NULL || e->msg[0] == '\0') {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (jwks == NULL) {
        init();
    }
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    struct at_err e;
    at_err_init(&e);
    json_t *payload = NULL;
    at_status st = at_jwt_verify(s, jwks, &payload, &e);
    if (at_is_ok(st)) {
        __builtin_trap(); /* a forged signature verified */
    }
    check_fail(st, &e, payload);

    at_err_init(&e);
    json_t *header = NULL;
    st = at_jwt_verify_cert(s, at_signer_cert(signers[2]), &header, &payload, &e);
    if (at_is_ok(st)) {
        __builtin_trap();
    }
    check_fail(st, &e, payload);
    check_fail(st, &e, header);

    /* Round trip: a JSON object input, signed by each signer, verifies to itself. */
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (json_is_object(obj)) {
        char *jwt = NULL;
        at_err_init(&e);
        if (at_is_ok(at_jwt_sign(signers[0], obj, NULL, false, &jwt, &e))) {
            at_err_init(&e);
            if (!at_is_ok(
                    at_jwt_verify_cert(jwt, at_signer_cert(signers[0]), NULL, &payload, &e)) ||
                !json_equal(payload, obj)) {
                __builtin_trap();
            }
            json_decref(payload);
            free(jwt);
        }
    }
    json_decref(obj);
    free(s);
    return 0;
}
