/* The PCK certificate's SGX extension (evidence-formats.md §1.7), read through OpenSSL's ASN.1. */
#ifndef AT_EVIDENCE_DCAP_PCK_H
#define AT_EVIDENCE_DCAP_PCK_H

#include "evidence/dcap_types.h"

#include <openssl/x509.h>

/*
 * Read and validate the SGX extension of `cert`: exactly the entries a Processor-CA
 * (5) or Platform-CA (7) certificate carries, no duplicates, no unknown OIDs,
 * each with its ASN.1 type and length.
 */
AT_NODISCARD at_status at_pck_ext_parse(X509 *cert, struct at_pck_ext *out, struct at_err *e);

#endif
