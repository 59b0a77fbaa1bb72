/* Hex and base64url (RFC 4648 §5) codecs. Decoders take untrusted input. */
#ifndef AT_BASE_ENCODING_H
#define AT_BASE_ENCODING_H

#include "base/status.h"

#include <stdint.h>

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void at_hex_encode(const uint8_t *in, size_t n, char *out);
/* Heap-allocated lowercase hex string; NULL on allocation failure. */
char *at_hex_dup(const uint8_t *in, size_t n);
/* Decode exactly `len` hex chars (either case) into out (cap bytes); *out_len set on success. */
AT_NODISCARD at_status at_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                                     size_t *out_len, struct at_err *e);

/* Encoded length (no padding) of n bytes, without the NUL. */
size_t at_b64url_encoded_len(size_t n);
/* Encode without padding into out (at_b64url_encoded_len(n)+1 bytes). */
void at_b64url_encode(const uint8_t *in, size_t n, char *out);
char *at_b64url_dup(const uint8_t *in, size_t n);
/*
 * Decode base64url; also accepts the standard alphabet ('+','/') and '=' padding, as
 * MAA clients send both. Decoding is branch-free over the data (safe for secrets).
 * *out is heap-allocated (free with free()); NUL-terminated for convenience.
 */
AT_NODISCARD at_status at_b64_decode_any(const char *in, size_t len, uint8_t **out, size_t *out_len,
                                         struct at_err *e);

/*
 * The same accepted inputs as at_b64_decode_any, table-driven and several times faster:
 * for public data only (evidence, tokens), never for secrets.
 */
AT_NODISCARD at_status at_b64_decode_public(const char *in, size_t len, uint8_t **out,
                                            size_t *out_len, struct at_err *e);

/*
 * A decimal integer in [min, max] (configuration values): digits only, no sign, no
 * spaces. Fails with AT_E_BAD_VALUE, check "config_integer" ("KEY: expected a decimal
 * integer" / "KEY: integer too large") or "config_range" ("KEY: V is outside MIN..MAX").
 */
AT_NODISCARD at_status at_dec_parse(const char *s, size_t len, uint64_t min, uint64_t max,
                                    uint64_t *out, const char *key, struct at_err *e);
/* The same into a uint32_t (max must fit). */
AT_NODISCARD at_status at_dec_parse_u32(const char *s, size_t len, uint32_t min, uint32_t max,
                                        uint32_t *out, const char *key, struct at_err *e);

#endif
