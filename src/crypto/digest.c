#include "crypto/digest.h"

#include <pthread.h>
#include <stdarg.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static EVP_MD *sha384_md;

static void fetch(void)
{
    /* Fetching once avoids OpenSSL 3's per-call implicit fetch on the hot path. */
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha384_md = EVP_MD_fetch(NULL, "SHA384", NULL);
    at_assert(sha256_md != NULL && sha384_md != NULL);
}

const EVP_MD *at_md_sha256(void)
{
    pthread_once(&once, fetch);
    return sha256_md;
}

const EVP_MD *at_md_sha384(void)
{
    pthread_once(&once, fetch);
    return sha384_md;
}

int at_sha256(const void *p, size_t n, uint8_t out[AT_SHA256_LEN])
{
    return EVP_Digest(p, n, out, NULL, at_md_sha256(), NULL) == 1 ? 0 : -1;
}

int at_sha384(const void *p, size_t n, uint8_t out[AT_SHA384_LEN])
{
    return EVP_Digest(p, n, out, NULL, at_md_sha384(), NULL) == 1 ? 0 : -1;
}

int at_sha256_parts(uint8_t out[AT_SHA256_LEN], const void *p, size_t n, ...)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, at_md_sha256(), NULL) == 1;
    va_list ap;
    va_start(ap, n);
    while (ok && p != NULL) {
        ok = EVP_DigestUpdate(ctx, p, n) == 1;
        p = va_arg(ap, const void *);
        if (p != NULL) {
            n = va_arg(ap, size_t);
        }
    }
    va_end(ap);
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}
