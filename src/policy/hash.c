/*
 * x-ms-policy-hash (spec §1.4, verified against real tokens, §12.1):
 * BASE64URL(SHA-256(ASCII(BASE64URL(UTF8(policy text))))), no padding,
 * over the exact stored bytes.
 */
#include "base/encoding.h"
#include "policy/policy.h"

#include <openssl/evp.h>
#include <stdlib.h>

at_status at_policy_hash(const char *text, size_t len, char out[44], struct at_err *e)
{
    char *b64 = at_b64url_dup((const uint8_t *)text, len);
    if (b64 == NULL) {
        AT_FAIL(e, AT_E_NOMEM, "policy_hash", "out of memory");
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(b64, at_b64url_encoded_len(len), md, &mdlen, EVP_sha256(), NULL);
    free(b64);
    if (ok != 1 || mdlen != sizeof(md)) {
        AT_FAIL(e, AT_E_CRYPTO, "policy_hash", "SHA-256 failed");
    }
    at_b64url_encode(md, sizeof(md), out);
    return at_ok();
}
