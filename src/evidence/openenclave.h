/*
 * Open Enclave evidence wrappers around an SGX quote (evidence-formats.md §2):
 * the legacy remote report header (16 bytes, version 1, report type 2) that MAA's
 * OpenEnclave endpoint takes, and the attestation header version 3 with the
 * SGX_ECDSA (quote + custom claims, bound through REPORTDATA) or
 * RAW_SGX_QUOTE_ECDSA formats.
 */
#ifndef AT_EVIDENCE_OPENENCLAVE_H
#define AT_EVIDENCE_OPENENCLAVE_H

#include "base/status.h"

#include <stdint.h>

struct at_oe_evidence {
    const uint8_t *quote;        /* borrowed from the input */
    size_t quote_len;
    bool has_custom_claims;      /* SGX_ECDSA format: claims buffer follows the quote */
    const uint8_t *custom_claims;
    size_t custom_claims_len;
};

AT_NODISCARD at_status at_oe_unwrap(const uint8_t *p, size_t len, struct at_oe_evidence *out,
                                    struct at_err *e);

/*
 * For SGX_ECDSA: REPORTDATA[0,32) of the quote must equal SHA-256 of the custom claims
 * buffer (empty buffer: SHA-256 of ""). `report_data` is the quote's 64-byte field.
 */
AT_NODISCARD at_status at_oe_check_binding(const struct at_oe_evidence *ev,
                                           const uint8_t *report_data, struct at_err *e);

#endif
