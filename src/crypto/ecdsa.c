#include "crypto/ecdsa.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <string.h>

size_t at_curve_coord_len(enum at_curve c)
{
    switch (c) {
    case AT_CURVE_P256:
        return 32;
    case AT_CURVE_P384:
        return 48;
    }
    return 0;
}

static const char *curve_name(enum at_curve c)
{
    switch (c) {
    case AT_CURVE_P256:
        return "prime256v1";
    case AT_CURVE_P384:
        return "secp384r1";
    }
    return "";
}

at_status at_ec_key_from_xy(enum at_curve curve, const uint8_t *xy, size_t len, EVP_PKEY **out,
                            struct at_err *e)
{
    size_t cl = at_curve_coord_len(curve);
    if (len != 2 * cl) {
        AT_FAIL(e, AT_E_BAD_VALUE, "attestation_key", "EC public key must be %zu bytes, got %zu",
                2 * cl, len);
    }
    uint8_t pt[1 + 2 * 48];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, len);
    char group[16];
    memcpy(group, curve_name(curve), strlen(curve_name(curve)) + 1);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + len),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    int ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        AT_FAIL(e, AT_E_BAD_VALUE, "attestation_key", "EC public key is not a point on %s",
                curve_name(curve));
    }
    /*
     * fromdata decodes the point, which fails off the curve; check explicitly anyway.
     * The quick check (on the curve, not infinity) is complete for P-256/P-384, whose
     * cofactor is 1; the full check adds a scalar multiplication (~45 us) per quote.
     */
    EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    ok = chk != NULL && EVP_PKEY_public_check_quick(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    if (!ok) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        AT_FAIL(e, AT_E_BAD_VALUE, "attestation_key", "EC public key is not a point on %s",
                curve_name(curve));
    }
    *out = pkey;
    return at_ok();
}

static int rs_to_der(const uint8_t *rs, size_t half, bool le, uint8_t *der, size_t cap,
                     size_t *der_len)
{
    BIGNUM *r = le ? BN_lebin2bn(rs, (int)half, NULL) : BN_bin2bn(rs, (int)half, NULL);
    BIGNUM *s = le ? BN_lebin2bn(rs + half, (int)half, NULL) : BN_bin2bn(rs + half, (int)half, NULL);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    if (r == NULL || s == NULL || sig == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return -1;
    }
    int n = i2d_ECDSA_SIG(sig, NULL);
    if (n <= 0 || (size_t)n > cap) {
        ECDSA_SIG_free(sig);
        return -1;
    }
    uint8_t *p = der;
    n = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    *der_len = (size_t)n;
    return n > 0 ? 0 : -1;
}

at_status at_ecdsa_verify_digest(EVP_PKEY *key, const uint8_t *dgst, size_t dgst_len,
                                 const uint8_t *rs, size_t rs_len, bool little_endian,
                                 const char *check, struct at_err *e)
{
    int bits = EVP_PKEY_get_bits(key);
    size_t half = bits > 0 ? ((size_t)bits + 7) / 8 : 0;
    if (half == 0 || rs_len != 2 * half) {
        AT_FAIL(e, AT_E_SIGNATURE, check, "%s: signature must be %zu bytes, got %zu", check,
                2 * half, rs_len);
    }
    uint8_t der[160];
    size_t der_len;
    if (rs_to_der(rs, half, little_endian, der, sizeof(der), &der_len) != 0) {
        ERR_clear_error();
        AT_FAIL(e, AT_E_CRYPTO, check, "%s: cannot encode signature", check);
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int rc = -1;
    if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1) {
        rc = EVP_PKEY_verify(ctx, der, der_len, dgst, dgst_len);
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (rc != 1) {
        AT_FAIL(e, AT_E_SIGNATURE, check, "%s: signature does not verify", check);
    }
    return at_ok();
}

at_status at_ecdsa_verify_raw(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg, size_t msg_len,
                              const uint8_t *rs, size_t rs_len, bool little_endian,
                              const char *check, struct at_err *e)
{
    uint8_t dgst[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (EVP_Digest(msg, msg_len, dgst, &dl, md, NULL) != 1) {
        ERR_clear_error();
        AT_FAIL(e, AT_E_CRYPTO, check, "%s: digest failed", check);
    }
    return at_ecdsa_verify_digest(key, dgst, dl, rs, rs_len, little_endian, check, e);
}
