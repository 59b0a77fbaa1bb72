/* One-shot digests over OpenSSL with algorithms fetched once per process. */
#ifndef AT_CRYPTO_DIGEST_H
#define AT_CRYPTO_DIGEST_H

#include "base/status.h"

#include <openssl/evp.h>
#include <stdint.h>

#define AT_SHA256_LEN 32
#define AT_SHA384_LEN 48

/* Pre-fetched algorithms (never NULL after the first call; process lifetime). */
const EVP_MD *at_md_sha256(void);
const EVP_MD *at_md_sha384(void);

/* Returns 0 on success (OpenSSL digest failures are allocation failures). */
AT_NODISCARD int at_sha256(const void *p, size_t n, uint8_t out[AT_SHA256_LEN]);
AT_NODISCARD int at_sha384(const void *p, size_t n, uint8_t out[AT_SHA384_LEN]);

/* Incremental SHA-256 over several buffers: pairs of (pointer, length), NULL-terminated. */
AT_NODISCARD int at_sha256_parts(uint8_t out[AT_SHA256_LEN], const void *p, size_t n, ...);

#endif
