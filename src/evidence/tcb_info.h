/*
 * Intel PCS collateral documents: TCB info (v2, v3; SGX and TDX) and enclave
 * identity (QE, TD_QE, QVE; v2). Parsers take the exact signed body bytes
 * (untrusted) and validate every field's type, length and domain.
 */
#ifndef AT_EVIDENCE_TCB_INFO_H
#define AT_EVIDENCE_TCB_INFO_H

#include "evidence/dcap_types.h"

/*
 * Split a PCS response `{"<key>":{...},"signature":"<128 hex>"}` into the exact byte
 * span of the body object (borrowed from doc) and the raw r||s signature. The body
 * is located by a tokenizer that tracks byte offsets, never by re-serialising.
 */
AT_NODISCARD at_status at_pcs_json_split(const uint8_t *doc, size_t len, const char *key,
                                         const uint8_t **body, size_t *body_len,
                                         uint8_t sig[64], struct at_err *e);

AT_NODISCARD at_status at_tcb_info_parse(const uint8_t *body, size_t len, struct at_tcb_info *out,
                                         struct at_err *e);
void at_tcb_info_clear(struct at_tcb_info *ti);

AT_NODISCARD at_status at_qe_identity_parse(const uint8_t *body, size_t len,
                                            struct at_qe_identity *out, struct at_err *e);
void at_qe_identity_clear(struct at_qe_identity *qi);

#endif
