/*
 * Raw ECDSA: keys given as X||Y coordinates and signatures as fixed-width r||s
 * (big-endian for Intel quotes and Nitro, little-endian for AMD SEV-SNP).
 */
#ifndef AT_CRYPTO_ECDSA_H
#define AT_CRYPTO_ECDSA_H

#include "base/status.h"

#include <openssl/evp.h>
#include <stdint.h>

enum at_curve { AT_CURVE_P256, AT_CURVE_P384 };

/* Coordinate size in bytes: 32 or 48. */
size_t at_curve_coord_len(enum at_curve c);

/*
 * Build a public key from raw X||Y (2 * coord bytes, no 0x04 prefix) with
 * EVP_PKEY_fromdata; the point is checked to lie on the curve.
 */
AT_NODISCARD at_status at_ec_key_from_xy(enum at_curve curve, const uint8_t *xy, size_t len,
                                         EVP_PKEY **out, struct at_err *e);

/*
 * Verify an ECDSA signature over `msg` hashed with `md` (SHA-256 / SHA-384).
 * `rs` holds r then s, each coord_len bytes; `little_endian` for SNP. Fails with
 * AT_E_SIGNATURE and `check` as the check name when the signature is invalid.
 */
AT_NODISCARD at_status at_ecdsa_verify_raw(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
                                           size_t msg_len, const uint8_t *rs, size_t rs_len,
                                           bool little_endian, const char *check,
                                           struct at_err *e);

/* Same, over a digest already computed. */
AT_NODISCARD at_status at_ecdsa_verify_digest(EVP_PKEY *key, const uint8_t *dgst, size_t dgst_len,
                                              const uint8_t *rs, size_t rs_len,
                                              bool little_endian, const char *check,
                                              struct at_err *e);

#endif
