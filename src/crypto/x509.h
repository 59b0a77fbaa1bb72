/*
 * X.509 over OpenSSL: loading certificates and CRLs from untrusted bytes, and
 * chain verification to one pinned root with CRLs at a given time T.
 */
#ifndef AT_CRYPTO_X509_H
#define AT_CRYPTO_X509_H

#include "base/status.h"

#include <openssl/x509.h>
#include <stdint.h>

/*
 * Parse a PEM bundle of certificates (in order). Tolerates trailing NUL bytes and
 * whitespace (quotes carry NUL-terminated chains); anything else after the last
 * certificate, an empty bundle, or more than AT_LIMIT_CHAIN_CERTS fails. Input that
 * starts with a DER SEQUENCE is read as concatenated DER certificates instead.
 */
AT_NODISCARD at_status at_x509_pem_chain(const uint8_t *pem, size_t len, STACK_OF(X509) **out,
                                         const char *what, struct at_err *e);

AT_NODISCARD at_status at_x509_from_der(const uint8_t *der, size_t len, X509 **out,
                                        const char *what, struct at_err *e);

/* One certificate from PEM (exactly one) or DER. */
AT_NODISCARD at_status at_x509_from_pem_or_der(const uint8_t *p, size_t len, X509 **out,
                                               const char *what, struct at_err *e);

/* A CRL in DER, or PEM (some PCS/PCCS deployments serve PEM). */
AT_NODISCARD at_status at_crl_parse(const uint8_t *p, size_t len, X509_CRL **out,
                                    const char *what, struct at_err *e);

/* Does the certificate's subject CN equal `cn` exactly? */
bool at_x509_cn_is(X509 *cert, const char *cn);
/* The same for the issuer's CN. */
bool at_x509_issuer_cn_is(X509 *cert, const char *cn);

/* notBefore / notAfter as seconds since the epoch. */
AT_NODISCARD at_status at_x509_validity(X509 *cert, int64_t *not_before, int64_t *not_after,
                                        struct at_err *e);
AT_NODISCARD at_status at_crl_validity(X509_CRL *crl, int64_t *this_update, int64_t *next_update,
                                       struct at_err *e);

/* Byte-for-byte certificate equality (DER). */
bool at_x509_equal(X509 *a, X509 *b);

/*
 * Verify `leaf` up to `root` (the only trust anchor; never partial chains) through
 * `untrusted` intermediates, at time `at`. With crls != NULL every certificate but
 * the root must be covered by a CRL in `crls`, each checked for signature, issuer
 * and validity at `at`. Errors map to AT_E_CHAIN / AT_E_SIGNATURE / AT_E_REVOKED /
 * AT_E_EXPIRED / AT_E_NOT_YET_VALID / AT_E_COLLATERAL, with `check` as the check name.
 */
AT_NODISCARD at_status at_x509_verify_chain(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root,
                                            STACK_OF(X509_CRL) *crls, int64_t at,
                                            const char *check, struct at_err *e);

/*
 * The same with the verification flags chosen by the caller: `extra_flags` are OR-ed in
 * (X509_V_FLAG_*), and `strict` = false drops X509_V_FLAG_X509_STRICT, which AMD's
 * VCEK/VLEK certificates fail (no Authority Key Identifier, serial 0; evidence-formats.md
 * §0.3). at_x509_verify_chain is this with (0, true). Never add X509_V_FLAG_PARTIAL_CHAIN.
 */
AT_NODISCARD at_status at_x509_verify_chain_ex(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root,
                                               STACK_OF(X509_CRL) *crls, int64_t at,
                                               unsigned long extra_flags, bool strict,
                                               const char *check, struct at_err *e);

/* Convert an ASN1_TIME to seconds since the epoch. */
AT_NODISCARD at_status at_asn1_time_to_epoch(const ASN1_TIME *t, int64_t *out, struct at_err *e);

#endif
