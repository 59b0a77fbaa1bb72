/*
 * Loading DCAP collateral from offline bundles:
 *  - a directory in Intel PCS shapes: pck_crl.der, root_ca_crl.der, pck_crl_issuer_chain.pem,
 *    tcb_info.json + tcb_info_issuer_chain.pem, qe_identity.json + qe_identity_issuer_chain.pem
 *    (the JSON files are PCS response bodies {"tcbInfo":{...},"signature":"..."});
 *  - one JSON file with the field names of Intel's sgx_ql_qve_collateral_t
 *    (CRLs as hex DER or PEM, tcb_info / qe_identity as the exact signed body text,
 *    or as a whole PCS response, with tcb_info_signature / qe_identity_signature hex).
 * The result is sealed (its digest computed) for the verified-collateral cache.
 */
#ifndef AT_COLLATERAL_DCAP_BUNDLE_H
#define AT_COLLATERAL_DCAP_BUNDLE_H

#include "evidence/dcap_types.h"

#include <jansson.h>

AT_NODISCARD at_status at_dcap_bundle_load(const char *path, struct at_dcap_collateral *out,
                                           struct at_err *e);
AT_NODISCARD at_status at_dcap_bundle_from_dir(const char *dir, struct at_dcap_collateral *out,
                                               struct at_err *e);
AT_NODISCARD at_status at_dcap_bundle_from_json(const json_t *j, struct at_dcap_collateral *out,
                                                struct at_err *e);

#endif
