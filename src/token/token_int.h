/* Internals shared by signer.c, jws.c and jwks.c (not part of token.h). */
#ifndef AT_TOKEN_TOKEN_INT_H
#define AT_TOKEN_TOKEN_INT_H

#include "token/token.h"

/* kid = standard base64 (padded) of SHA-256(cert DER): 44 chars. */
#define AT_KID_LEN 44

struct at_signer {
    enum at_jws_alg alg;
    EVP_PKEY *key; /* private key; never copied out except by at_signer_export */
    X509 *cert;    /* self-signed certificate holding the public half */
    uint8_t *cert_der;
    size_t cert_der_len;
    char *x5c; /* standard base64 of cert_der (the JWKS / header x5c entry) */
    char kid[AT_KID_LEN + 1];
};

/* Standard base64 with padding, no line breaks (RFC 7517 x5c). Heap; NULL on failure. */
char *at_tok_b64std_dup(const uint8_t *in, size_t n);

/*
 * Sign `msg` with `key` as JWS `alg` needs it (RS256 PKCS#1 v1.5, PS256 with salt 32,
 * ES256 as raw r||s per RFC 7518 §3.4); *sig is heap (free()).
 */
AT_NODISCARD at_status at_tok_sign(EVP_PKEY *key, enum at_jws_alg alg, const char *msg,
                                   size_t msg_len, uint8_t **sig, size_t *sig_len,
                                   struct at_err *e);

/* Is `pkey` of the type `alg` needs (RSA >= 2048 bits, or EC P-256)? */
bool at_tok_key_fits(EVP_PKEY *pkey, enum at_jws_alg alg);

#endif
