/*
 * TCB evaluation for DCAP quotes (evidence-formats.md §1.9 steps 8, 10, 11 and §1.10):
 * QE identity match and QE TCB, TDX module identity and module TCB, platform TCB
 * level matching (SGX and TDX), TD relaunch, and status convergence as Intel's
 * QVL does it.
 */
#ifndef AT_EVIDENCE_TCB_EVAL_H
#define AT_EVIDENCE_TCB_EVAL_H

#include "evidence/dcap_types.h"

struct at_tcb_eval_input {
    bool is_tdx;
    int quote_version;              /* 3, 4 or 5 */
    const struct at_pck_ext *pck;   /* components and PCESVN used for matching */
    const uint8_t *qe_report;       /* 384-byte QE report body */
    /* TDX only (NULL for SGX): */
    const uint8_t *tee_tcb_svn;     /* 16 bytes */
    const uint8_t *mrsignerseam;    /* 48 bytes */
    const uint8_t *seam_attributes; /* 8 bytes */
    const uint8_t *tee_tcb_svn2;    /* 16 bytes, TD report 1.5 (v5 body type 3) only, else NULL */
};

struct at_tcb_eval_result {
    enum at_tcb_status final_status;
    enum at_tcb_status sgx_status;    /* platform SGX level */
    enum at_tcb_status tdx_status;    /* platform TDX level (TDX only) */
    enum at_tcb_status qe_status;
    enum at_tcb_status module_status; /* TDX module (UpToDate when not applicable) */
    int64_t tcb_date;                 /* of the matched platform level */
    char **advisories;                /* de-duplicated union, owned */
    size_t n_advisories;
};

void at_tcb_eval_result_clear(struct at_tcb_eval_result *r);

/*
 * Evaluate. Fails with AT_E_IDENTITY (check "qe_identity_match" or
 * "tdx_module_identity"), AT_E_TCB_NOT_SUPPORTED (check "tcb_level") or
 * AT_E_REVOKED (check "tcb_status") — in the last two cases `out` is still filled
 * so callers can report the status. The caller has already verified signatures,
 * dates and FMSPC/PCE-ID equality.
 */
AT_NODISCARD at_status at_tcb_evaluate(const struct at_tcb_info *ti,
                                       const struct at_qe_identity *qe,
                                       const struct at_tcb_eval_input *in,
                                       struct at_tcb_eval_result *out, struct at_err *e);

#endif
