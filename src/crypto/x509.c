#include "crypto/x509.h"

#include "base/limits.h"
#include "base/timeutil.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

static const char pem_begin[] = "-----BEGIN ";

/* Concatenated DER certificates (Intel's TDX sample quote carries its chain so). */
static at_status der_chain(const uint8_t *p, size_t len, STACK_OF(X509) * *out, const char *what,
                           struct at_err *e)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (sk == NULL) {
        AT_FAIL(e, AT_E_NOMEM, what, "out of memory");
    }
    const unsigned char *q = p, *end = p + len;
    while (q < end && *q == 0x30) {
        X509 *x = d2i_X509(NULL, &q, (long)(end - q));
        if (x == NULL || sk_X509_num(sk) >= AT_LIMIT_CHAIN_CERTS || sk_X509_push(sk, x) <= 0) {
            X509_free(x);
            sk_X509_pop_free(sk, X509_free);
            ERR_clear_error();
            AT_FAIL(e, AT_E_PARSE, what, "%s: malformed DER certificate chain", what);
        }
    }
    while (q < end && *q == 0) {
        q++; /* trailing NUL padding */
    }
    if (q != end || sk_X509_num(sk) == 0) {
        sk_X509_pop_free(sk, X509_free);
        AT_FAIL(e, AT_E_PARSE, what, "%s: malformed DER certificate chain", what);
    }
    *out = sk;
    return at_ok();
}

at_status at_x509_pem_chain(const uint8_t *pem, size_t len, STACK_OF(X509) * *out, const char *what,
                            struct at_err *e)
{
    if (len > 0 && pem[0] == 0x30) {
        return der_chain(pem, len, out, what, e);
    }
    /* Trim trailing NULs and whitespace: quotes and PCS headers end chains with them. */
    while (len > 0 && (pem[len - 1] == 0 || pem[len - 1] == '\n' || pem[len - 1] == '\r' ||
                       pem[len - 1] == ' ' || pem[len - 1] == '\t')) {
        len--;
    }
    if (len == 0 || len > INT32_MAX) {
        AT_FAIL(e, AT_E_PARSE, what, "%s: empty or oversized certificate chain", what);
    }
    for (size_t i = 0; i < len; i++) {
        if (pem[i] == 0) {
            AT_FAIL(e, AT_E_PARSE, what, "%s: NUL byte inside PEM chain", what);
        }
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (bio == NULL || sk == NULL) {
        BIO_free(bio);
        sk_X509_free(sk);
        AT_FAIL(e, AT_E_NOMEM, what, "out of memory");
    }
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            break;
        }
        if (sk_X509_num(sk) >= AT_LIMIT_CHAIN_CERTS || sk_X509_push(sk, x) <= 0) {
            X509_free(x);
            BIO_free(bio);
            sk_X509_pop_free(sk, X509_free);
            AT_FAIL(e, AT_E_LIMIT, what, "%s: more than %d certificates", what,
                    AT_LIMIT_CHAIN_CERTS);
        }
    }
    ERR_clear_error();
    /* PEM_read_bio_X509 skips text between blocks; reject a block it could not parse. */
    size_t begins = 0;
    for (size_t i = 0; i + sizeof(pem_begin) - 1 <= len; i++) {
        if (memcmp(pem + i, pem_begin, sizeof(pem_begin) - 1) == 0) {
            begins++;
        }
    }
    char rest[8];
    int leftover = BIO_read(bio, rest, sizeof(rest));
    BIO_free(bio);
    if (sk_X509_num(sk) == 0 || (size_t)sk_X509_num(sk) != begins || leftover > 0) {
        int n = sk_X509_num(sk);
        sk_X509_pop_free(sk, X509_free);
        AT_FAIL(e, AT_E_PARSE, what, "%s: malformed PEM certificate chain (%d parsed, %zu blocks)",
                what, n, begins);
    }
    *out = sk;
    return at_ok();
}

at_status at_x509_from_der(const uint8_t *der, size_t len, X509 **out, const char *what,
                           struct at_err *e)
{
    const unsigned char *p = der;
    if (len > INT32_MAX) {
        AT_FAIL(e, AT_E_LIMIT, what, "%s: certificate too large", what);
    }
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        X509_free(x);
        ERR_clear_error();
        AT_FAIL(e, AT_E_PARSE, what, "%s: malformed DER certificate", what);
    }
    *out = x;
    return at_ok();
}

at_status at_x509_from_pem_or_der(const uint8_t *p, size_t len, X509 **out, const char *what,
                                  struct at_err *e)
{
    if (len >= sizeof(pem_begin) - 1 && memchr(p, '-', len > 64 ? 64 : len) != NULL) {
        STACK_OF(X509) *sk = NULL;
        AT_TRY(at_x509_pem_chain(p, len, &sk, what, e));
        if (sk_X509_num(sk) != 1) {
            sk_X509_pop_free(sk, X509_free);
            AT_FAIL(e, AT_E_PARSE, what, "%s: expected exactly one certificate", what);
        }
        *out = sk_X509_shift(sk);
        sk_X509_free(sk);
        return at_ok();
    }
    return at_x509_from_der(p, len, out, what, e);
}

at_status at_crl_parse(const uint8_t *p, size_t len, X509_CRL **out, const char *what,
                       struct at_err *e)
{
    if (len == 0 || len > INT32_MAX) {
        AT_FAIL(e, AT_E_PARSE, what, "%s: empty or oversized CRL", what);
    }
    X509_CRL *crl = NULL;
    if (len > 10 && memcmp(p, "-----BEGIN", 10) == 0) {
        BIO *bio = BIO_new_mem_buf(p, (int)len);
        crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    } else {
        const unsigned char *q = p;
        crl = d2i_X509_CRL(NULL, &q, (long)len);
        if (crl != NULL && q != p + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    ERR_clear_error();
    if (crl == NULL) {
        AT_FAIL(e, AT_E_PARSE, what, "%s: malformed CRL", what);
    }
    *out = crl;
    return at_ok();
}

/* Does `name` carry exactly one CN, equal to `cn`? */
static bool name_cn_is(X509_NAME *name, const char *cn)
{
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0) {
        return false; /* absent or ambiguous */
    }
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    size_t n = strlen(cn);
    return s != NULL && (size_t)ASN1_STRING_length(s) == n &&
           memcmp(ASN1_STRING_get0_data(s), cn, n) == 0;
}

bool at_x509_cn_is(X509 *cert, const char *cn)
{
    return name_cn_is(X509_get_subject_name(cert), cn);
}

bool at_x509_issuer_cn_is(X509 *cert, const char *cn)
{
    return name_cn_is(X509_get_issuer_name(cert), cn);
}

at_status at_asn1_time_to_epoch(const ASN1_TIME *t, int64_t *out, struct at_err *e)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        AT_FAIL(e, AT_E_PARSE, NULL, "invalid ASN.1 time");
    }
    int64_t days = at_days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                                      (unsigned)tm.tm_mday);
    *out = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return at_ok();
}

at_status at_x509_validity(X509 *cert, int64_t *not_before, int64_t *not_after, struct at_err *e)
{
    AT_TRY(at_asn1_time_to_epoch(X509_get0_notBefore(cert), not_before, e));
    return at_asn1_time_to_epoch(X509_get0_notAfter(cert), not_after, e);
}

at_status at_crl_validity(X509_CRL *crl, int64_t *this_update, int64_t *next_update,
                          struct at_err *e)
{
    AT_TRY(at_asn1_time_to_epoch(X509_CRL_get0_lastUpdate(crl), this_update, e));
    if (X509_CRL_get0_nextUpdate(crl) == NULL) {
        AT_FAIL(e, AT_E_COLLATERAL, NULL, "CRL has no nextUpdate");
    }
    return at_asn1_time_to_epoch(X509_CRL_get0_nextUpdate(crl), next_update, e);
}

bool at_x509_equal(X509 *a, X509 *b)
{
    return X509_cmp(a, b) == 0; /* compares the DER encodings' SHA-1 cache + bytes */
}

/*
 * RFC 5280 §4.1.2.5: validity runs from notBefore through notAfter, inclusive. OpenSSL
 * treats t == notAfter (and t == nextUpdate of a CRL) as expired; accept exactly that
 * second and nothing else. The verification time is the one set in the context.
 */
static int inclusive_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok) {
        return ok;
    }
    int err = X509_STORE_CTX_get_error(ctx);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    int64_t at = (int64_t)X509_VERIFY_PARAM_get_time(param);
    int64_t t = INT64_MIN;
    if (err == X509_V_ERR_CERT_HAS_EXPIRED) {
        X509 *x = X509_STORE_CTX_get_current_cert(ctx);
        if (x == NULL || !at_is_ok(at_asn1_time_to_epoch(X509_get0_notAfter(x), &t, NULL))) {
            return 0;
        }
    } else if (err == X509_V_ERR_CRL_HAS_EXPIRED) {
        X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
        if (crl == NULL || X509_CRL_get0_nextUpdate(crl) == NULL ||
            !at_is_ok(at_asn1_time_to_epoch(X509_CRL_get0_nextUpdate(crl), &t, NULL))) {
            return 0;
        }
    }
    return t == at ? 1 : 0;
}

static at_status map_verify_error(int err, int depth, X509 *cert, const char *check,
                                  struct at_err *e)
{
    char subj[160] = "?";
    if (cert != NULL) {
        X509_NAME_oneline(X509_get_subject_name(cert), subj, (int)sizeof(subj));
    }
    const char *why = X509_verify_cert_error_string(err);
    enum at_code code;
    switch (err) {
    case X509_V_ERR_CERT_REVOKED:
        code = AT_E_REVOKED;
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED:
        code = AT_E_EXPIRED;
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_NOT_YET_VALID:
        code = AT_E_NOT_YET_VALID;
        break;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
        code = AT_E_SIGNATURE;
        break;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        code = AT_E_COLLATERAL;
        break;
    default:
        code = AT_E_CHAIN;
        break;
    }
    AT_FAIL(e, code, check, "%s: %s (depth %d, %s)", check, why, depth, subj);
}

at_status at_x509_verify_chain(X509 *leaf, STACK_OF(X509) * untrusted, X509 *root,
                               STACK_OF(X509_CRL) * crls, int64_t at, const char *check,
                               struct at_err *e)
{
    return at_x509_verify_chain_ex(leaf, untrusted, root, crls, at, 0, true, check, e);
}

at_status at_x509_verify_chain_ex(X509 *leaf, STACK_OF(X509) * untrusted, X509 *root,
                                  STACK_OF(X509_CRL) * crls, int64_t at, unsigned long extra_flags,
                                  bool strict, const char *check, struct at_err *e)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    at_status s = at_ok();
    if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, root) != 1 ||
        X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        s = at_fail_(e, AT_E_NOMEM, check, __FILE__, __LINE__, "%s: cannot set up verification",
                     check);
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    unsigned long flags = extra_flags | (strict ? (unsigned long)X509_V_FLAG_X509_STRICT : 0UL);
    if (crls != NULL) {
        X509_STORE_CTX_set0_crls(ctx, crls);
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    }
    X509_VERIFY_PARAM_set_flags(param, flags);
    X509_STORE_CTX_set_verify_cb(ctx, inclusive_cb);
    /* Never X509_V_FLAG_PARTIAL_CHAIN: the chain must end at `root`. */
    if (X509_verify_cert(ctx) != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        s = map_verify_error(err, depth, X509_STORE_CTX_get_current_cert(ctx), check, e);
        goto out;
    }
    /* The verified chain's anchor must be our root, byte for byte. */
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    X509 *top = chain != NULL ? sk_X509_value(chain, sk_X509_num(chain) - 1) : NULL;
    if (top == NULL || !at_x509_equal(top, root)) {
        s = at_fail_(e, AT_E_CHAIN, check, __FILE__, __LINE__,
                     "%s: chain does not end at the pinned root", check);
    }
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return s;
}
