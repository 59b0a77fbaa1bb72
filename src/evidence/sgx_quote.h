/* Claims from an SGX enclave report body (claim-sets.md §2) and a TD report body (§6). */
#ifndef AT_EVIDENCE_SGX_QUOTE_H
#define AT_EVIDENCE_SGX_QUOTE_H

#include "claims/claims.h"
#include "evidence/dcap_quote.h"

/* SGX report body offsets (evidence-formats.md §1.3). */
#define AT_SGX_OFF_CPUSVN 0
#define AT_SGX_OFF_MISCSELECT 16
#define AT_SGX_OFF_ISVEXTPRODID 32
#define AT_SGX_OFF_ATTRIBUTES 48
#define AT_SGX_OFF_MRENCLAVE 64
#define AT_SGX_OFF_MRSIGNER 128
#define AT_SGX_OFF_CONFIGID 192
#define AT_SGX_OFF_ISVPRODID 256
#define AT_SGX_OFF_ISVSVN 258
#define AT_SGX_OFF_CONFIGSVN 260
#define AT_SGX_OFF_ISVFAMILYID 304
#define AT_SGX_OFF_REPORTDATA 320

/* TD report body offsets (§1.4). */
#define AT_TD_OFF_TEE_TCB_SVN 0
#define AT_TD_OFF_MRSEAM 16
#define AT_TD_OFF_MRSIGNERSEAM 64
#define AT_TD_OFF_SEAMATTRIBUTES 112
#define AT_TD_OFF_TDATTRIBUTES 120
#define AT_TD_OFF_XFAM 128
#define AT_TD_OFF_MRTD 136
#define AT_TD_OFF_MRCONFIGID 184
#define AT_TD_OFF_MROWNER 232
#define AT_TD_OFF_MROWNERCONFIG 280
#define AT_TD_OFF_RTMR0 328
#define AT_TD_OFF_REPORTDATA 520
#define AT_TD_OFF_TEE_TCB_SVN2 584
#define AT_TD_OFF_MRSERVICETD 600

uint16_t at_le16(const uint8_t *p);
uint64_t at_le64(const uint8_t *p);

AT_NODISCARD at_status at_sgx_report_claims(const uint8_t *body, struct at_claims *cs,
                                            struct at_err *e);
AT_NODISCARD at_status at_tdx_report_claims(const struct at_dcap_quote *q, struct at_claims *cs,
                                            struct at_err *e);

#endif
