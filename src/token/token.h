/*
 * Attestation tokens: a provider's signing key and self-signed certificate, JWS
 * compact signing (RS256 default, PS256, ES256) and verification, unsecured
 * (alg none) tokens, the JWKS and OpenID metadata documents.
 */
#ifndef AT_TOKEN_TOKEN_H
#define AT_TOKEN_TOKEN_H

#include "base/status.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>

/* Largest compact JWS at_jwt_verify accepts, in bytes (attest tokens are a few KiB). */
#define AT_TOKEN_MAX_BYTES ((size_t)1 << 20)

enum at_jws_alg { AT_ALG_RS256, AT_ALG_PS256, AT_ALG_ES256 };

const char *at_jws_alg_name(enum at_jws_alg a);
AT_NODISCARD at_status at_jws_alg_parse(const char *s, enum at_jws_alg *out, struct at_err *e);

/* A token signer: private key + self-signed certificate + kid. Immutable once built; thread-safe.
 */
struct at_signer;

/*
 * Generate a key for `alg` (RSA-2048 for RS256/PS256, P-256 for ES256) and a self-signed
 * certificate with subject CN=`cn`, valid from `now` for `days`.
 */
AT_NODISCARD at_status at_signer_generate(enum at_jws_alg alg, const char *cn, int64_t now,
                                          int days, struct at_signer **out, struct at_err *e);
/* From stored PKCS#8 DER key + DER certificate (checks they match). */
AT_NODISCARD at_status at_signer_load(enum at_jws_alg alg, const uint8_t *key_der, size_t key_len,
                                      const uint8_t *cert_der, size_t cert_len,
                                      struct at_signer **out, struct at_err *e);
/* PKCS#8 DER of the private key (caller frees with at_free_secret) and DER of the cert. */
AT_NODISCARD at_status at_signer_export(const struct at_signer *s, uint8_t **key_der,
                                        size_t *key_len, uint8_t **cert_der, size_t *cert_len,
                                        struct at_err *e);
void at_signer_free(struct at_signer *s);
/* kid: standard base64 of the SHA-256 of the certificate DER (as MAA's kids look). */
const char *at_signer_kid(const struct at_signer *s);
X509 *at_signer_cert(const struct at_signer *s);
enum at_jws_alg at_signer_alg(const struct at_signer *s);

/*
 * Sign `payload` as a compact JWS. The header is {"alg","jku"?,"kid","typ":"JWT"} plus
 * "x5c" when include_x5c. jku may be NULL. *out is heap (free()).
 */
AT_NODISCARD at_status at_jwt_sign(const struct at_signer *s, const json_t *payload,
                                   const char *jku, bool include_x5c, char **out, struct at_err *e);
/* Unsecured JWT: header {"alg":"none"}, empty signature ("h.p."). */
AT_NODISCARD at_status at_jwt_unsecured(const json_t *payload, char **out, struct at_err *e);

/*
 * Verify a compact JWS against a JWKS document ({"keys":[{kid, x5c}...]}): the header's kid
 * selects the key (its x5c[0] certificate's public key), alg must be RS256/PS256/ES256 and
 * match the key type. On success *payload is the decoded payload (new reference).
 *
 * Codes: AT_E_LIMIT (token over AT_TOKEN_MAX_BYTES), AT_E_PARSE (not three strict base64url
 * parts, header not a JSON object, no alg/kid, payload not a JSON object), AT_E_UNSUPPORTED
 * (alg none, HS*, any other alg, or a "crit" header), AT_E_NOT_FOUND (no JWKS key with that
 * kid), AT_E_MISMATCH (alg does not fit the key type, or the JWK's own "alg"/"use" disagree),
 * AT_E_SIGNATURE (bad signature), AT_E_USAGE (jwks is not {"keys":[...]}) and AT_E_BAD_VALUE
 * (the matching key's x5c[0] is not a certificate). The header's own jku/x5c/jwk are never
 * trusted. The payload is decoded only after the signature verifies.
 */
AT_NODISCARD at_status at_jwt_verify(const char *jwt, const json_t *jwks, json_t **payload,
                                     struct at_err *e);

/*
 * Verify a compact JWS with the public key of `cert` (borrowed), whatever the header's kid
 * (which may be absent); same rules and codes as at_jwt_verify otherwise. For signed
 * policies and management tokens whose signer is known. On success *header and *payload
 * are new references; header may be NULL when not wanted.
 */
AT_NODISCARD at_status at_jwt_verify_cert(const char *jwt, X509 *cert, json_t **header,
                                          json_t **payload, struct at_err *e);

/*
 * at_jwt_verify with the algorithms pinned by the caller (RFC 8725 §3.1), for tokens from
 * an issuer known to use only `algs` (n_algs entries): the header's alg must be one of them,
 * checked before any key is looked up; then exactly at_jwt_verify. On success *payload and,
 * when header is not NULL, *header are new references. Extra failure: AT_E_UNSUPPORTED with
 * check "jws_alg" when the alg is not pinned (none and HS* never are).
 * (src/token/jws_verify_pinned.c)
 */
AT_NODISCARD at_status at_jwt_verify_pinned(const char *jwt, const json_t *jwks,
                                            const enum at_jws_alg *algs, size_t n_algs,
                                            json_t **header, json_t **payload, struct at_err *e);

/*
 * A policy-management JWS as MAA clients build it (maa-api.md §2.5, §2.6): header exactly
 * {"alg":"RS256"|"ES256","x5c":["<std base64 DER of the certificate>"]} (no kid, no typ),
 * payload the given bytes (empty for a reset). key_pem is an unencrypted PEM private key
 * (RSA >= 2048 -> RS256, P-256 -> ES256; borrowed, the caller wipes it); cert_pem the PEM
 * certificate of that key (the first one is used). *out is heap (free()).
 * Codes: AT_E_USAGE, AT_E_BAD_VALUE (unreadable key or certificate, unsupported key,
 * key and certificate do not match), AT_E_CRYPTO, AT_E_NOMEM. (src/token/jws_policy.c)
 */
AT_NODISCARD at_status at_jws_policy_sign(const uint8_t *key_pem, size_t key_len,
                                          const uint8_t *cert_pem, size_t cert_len,
                                          const uint8_t *payload, size_t payload_len, char **out,
                                          struct at_err *e);

/* {"keys":[{"kty","kid","use":"sig","alg","x5c":[b64 DER], + n/e or crv/x/y}]}. New reference. */
json_t *at_jwks_document(struct at_signer *const *signers, size_t n);
/* One signer's JWK as in at_jwks_document (e.g. for x-ms-policy-signer). New reference or NULL. */
json_t *at_signer_jwk(const struct at_signer *s);
/* OpenID discovery document for `issuer` (attest URI, no trailing slash). New reference. */
json_t *at_openid_metadata(const char *issuer);

/* 64 lowercase hex chars from 32 random bytes into out[65]. */
AT_NODISCARD at_status at_token_jti(char out[65], struct at_err *e);

#endif
