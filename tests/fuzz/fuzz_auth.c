/*
 * Fuzz target for management-plane authentication (src/auth/auth.c, jwks_cache.c and
 * src/token/jws_verify_pinned.c): at_auth_authenticate over arbitrary Authorization
 * header values against a fixed configuration, both as given and behind "Bearer ".
 *
 * The configuration trusts one issuer, "https://idp.test/t/v2.0" (audience
 * "api://attestd", tenant "t", RS256 and ES256 pinned) whose JWKS (a temporary file
 * written once per process) holds a fresh RSA key with kid "r" and a P-256 key with
 * kid "e", so seeds can name a key and reach signature verification. Arbitrary input
 * cannot carry a valid signature, so every input must fail: with AT_E_UNAUTHENTICATED,
 * one of the documented check names, a message, the output untouched, and (for short
 * inputs) no 16-byte window of the input quoted in the message.
 */
#include "auth/auth.h"
#include "token/token.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2025-01-01T00:00:00Z */
#define T0 ((int64_t)1735689600)

static struct at_auth *auth;

static const char *const checks[] = {
    "missing_token", "malformed_token", "unknown_issuer", "bad_signature", "algorithm",
    "expired",       "not_yet_valid",   "audience",       "tenant",        "unknown_kid"};

static json_t *relabel(json_t *jwk, const char *kid)
{
    if (jwk == NULL || json_object_set_new(jwk, "kid", json_string(kid)) != 0) {
        __builtin_trap();
    }
    return jwk;
}

static void init(void)
{
    struct at_err e;
    at_err_init(&e);
    struct at_signer *rsa = NULL, *ec = NULL;
    if (!at_is_ok(at_signer_generate(AT_ALG_RS256, "fuzz", T0 - 86400, 30, &rsa, &e)) ||
        !at_is_ok(at_signer_generate(AT_ALG_ES256, "fuzz", T0 - 86400, 30, &ec, &e))) {
        __builtin_trap();
    }
    json_t *jwks = json_pack("{s:[o,o]}", "keys", relabel(at_signer_jwk(rsa), "r"),
                             relabel(at_signer_jwk(ec), "e"));
    char path[] = "/tmp/attestd-fuzz-auth-XXXXXX";
    int fd = mkstemp(path);
    if (jwks == NULL || fd < 0 || json_dumpfd(jwks, fd, JSON_COMPACT) != 0 || close(fd) != 0) {
        __builtin_trap();
    }
    json_decref(jwks);
    json_t *cfg = json_pack("{s:[{s:s,s:[s],s:s,s:[s,s],s:s}],s:{s:s}}", "issuers", "issuer",
                            "https://idp.test/t/v2.0", "audiences", "api://attestd", "jwks_file",
                            path, "algorithms", "RS256", "ES256", "tenant", "t", "role_map",
                            "Attestation.Owner", "Owner");
    if (cfg == NULL || !at_is_ok(at_auth_new(cfg, &auth, &e))) {
        __builtin_trap();
    }
    json_decref(cfg);
    /* The keys are in memory now; the file is not needed until it changes. */
    unlink(path);
    at_signer_free(rsa);
    at_signer_free(ec);
}

static bool known_check(const char *c)
{
    for (size_t i = 0; c != NULL && i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (strcmp(c, checks[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void run(const char *h)
{
    struct at_err e;
    at_err_init(&e);
    struct at_principal p;
    memset(&p, 0xA5, sizeof(p));
    at_status st = at_auth_authenticate(auth, h, T0, &p, &e);
    if (at_is_ok(st) || st.code != AT_E_UNAUTHENTICATED || e.code != st.code ||
        !known_check(e.check) || e.msg[0] == '\0' || ((const uint8_t *)&p)[0] != 0xA5) {
        __builtin_trap();
    }
    size_t n = strlen(h);
    for (size_t i = 0; n <= 1024 && i + 16 <= n; i++) {
        char w[17];
        memcpy(w, h + i, 16);
        w[16] = '\0';
        if (strstr(e.msg, w) != NULL) {
            __builtin_trap(); /* the message quotes the token */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (auth == NULL) {
        init();
    }
    char *s = malloc(size + 8);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, "Bearer ", 7);
    memcpy(s + 7, data, size);
    s[size + 7] = '\0';
    run(s + 7);
    run(s);
    free(s);
    return 0;
}
