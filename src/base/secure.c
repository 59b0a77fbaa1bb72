#include "base/secure.h"

#include <openssl/crypto.h>
#include <stdlib.h>

bool at_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void at_zeroize(void *p, size_t n)
{
    if (p != NULL && n > 0) {
        OPENSSL_cleanse(p, n);
    }
}

void at_free_secret(void *p, size_t n)
{
    at_zeroize(p, n);
    free(p);
}
