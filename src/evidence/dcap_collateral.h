/*
 * Verified DCAP collateral for one platform: the PCK chain of a quote checked to
 * the root with both CRLs, the TCB info and QE identity checked (issuer chain,
 * signature, dates) and parsed. Built once per (collateral, PCK chain, root) and
 * cached until the earliest expiry of anything that went into it.
 */
#ifndef AT_EVIDENCE_DCAP_COLLATERAL_H
#define AT_EVIDENCE_DCAP_COLLATERAL_H

#include "base/cache.h"
#include "evidence/dcap_types.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

struct at_dcap_verified {
    struct at_cache_obj obj;     /* first: cache bookkeeping */
    EVP_PKEY *pck_key;           /* PCK leaf public key */
    struct at_pck_ext pck;
    struct at_tcb_info tcb_info;
    struct at_qe_identity qe_identity;
    int64_t valid_from, valid_until;
    /* Hex SHA-256 of the collateral pieces, for x-ms-sgx-collateral. */
    char tcbinfohash[65], tcbinfocertshash[65], tcbinfocrlhash[65];
    char qeidhash[65], qeidcertshash[65], qeidcrlhash[65];
};

/*
 * Verify collateral + the quote's PCK chain (PEM, certification data type 5) to
 * `root` at `at`. On success *out holds one reference (release with
 * at_cache_obj_unref(&out->obj)).
 */
AT_NODISCARD at_status at_dcap_collateral_verify(const struct at_dcap_collateral *col,
                                                 const uint8_t *pck_pem, size_t pck_pem_len,
                                                 X509 *root, int64_t at,
                                                 struct at_dcap_verified **out, struct at_err *e);

#endif
