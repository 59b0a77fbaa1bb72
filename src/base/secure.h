/* Constant-time comparison and zeroization of secrets (over OpenSSL's primitives). */
#ifndef AT_BASE_SECURE_H
#define AT_BASE_SECURE_H

#include <stdbool.h>
#include <stddef.h>

/* Equality of two equal-length buffers in time independent of their contents. */
bool at_ct_equal(const void *a, const void *b, size_t n);
/* Zeroize memory in a way the optimiser cannot drop. */
void at_zeroize(void *p, size_t n);
/* Zeroize then free. */
void at_free_secret(void *p, size_t n);

#endif
