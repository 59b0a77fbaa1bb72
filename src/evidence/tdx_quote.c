#include "evidence/sgx_quote.h"

static at_status hex48(struct at_claims *cs, const char *type, const uint8_t *p, struct at_err *e)
{
    return at_claims_add_bytes(cs, type, NULL, p, 48, e);
}

at_status at_tdx_report_claims(const struct at_dcap_quote *q, struct at_claims *cs,
                               struct at_err *e)
{
    const uint8_t *b = q->body;
    uint64_t attr = at_le64(b + AT_TD_OFF_TDATTRIBUTES);
    bool debug = (attr & 1u) != 0;
    AT_TRY(at_claims_add_str(cs, "x-ms-attestation-type", NULL, "tdxvm", e));
    AT_TRY(at_claims_add_bytes(cs, "tdx_tee_tcb_svn", NULL, b + AT_TD_OFF_TEE_TCB_SVN, 16, e));
    AT_TRY(hex48(cs, "tdx_mrseam", b + AT_TD_OFF_MRSEAM, e));
    AT_TRY(hex48(cs, "tdx_mrsignerseam", b + AT_TD_OFF_MRSIGNERSEAM, e));
    AT_TRY(at_claims_add_bytes(cs, "tdx_seam_attributes", NULL, b + AT_TD_OFF_SEAMATTRIBUTES, 8,
                               e));
    AT_TRY(at_claims_add_bytes(cs, "tdx_td_attributes", NULL, b + AT_TD_OFF_TDATTRIBUTES, 8, e));
    AT_TRY(at_claims_add_bool(cs, "tdx_td_attributes_debug", NULL, debug, e));
    AT_TRY(at_claims_add_bool(cs, "tdx_td_attributes_septve_disable", NULL,
                              (attr >> 28 & 1u) != 0, e));
    AT_TRY(at_claims_add_bool(cs, "tdx_td_attributes_protection_keys", NULL,
                              (attr >> 30 & 1u) != 0, e));
    AT_TRY(at_claims_add_bool(cs, "tdx_td_attributes_key_locker", NULL, (attr >> 31 & 1u) != 0,
                              e));
    AT_TRY(at_claims_add_bool(cs, "tdx_td_attributes_perfmon", NULL, (attr >> 63 & 1u) != 0, e));
    AT_TRY(at_claims_add_bytes(cs, "tdx_xfam", NULL, b + AT_TD_OFF_XFAM, 8, e));
    AT_TRY(hex48(cs, "tdx_mrtd", b + AT_TD_OFF_MRTD, e));
    AT_TRY(hex48(cs, "tdx_mrconfigid", b + AT_TD_OFF_MRCONFIGID, e));
    AT_TRY(hex48(cs, "tdx_mrowner", b + AT_TD_OFF_MROWNER, e));
    AT_TRY(hex48(cs, "tdx_mrownerconfig", b + AT_TD_OFF_MROWNERCONFIG, e));
    static const char *const rtmr[] = {"tdx_rtmr0", "tdx_rtmr1", "tdx_rtmr2", "tdx_rtmr3"};
    for (size_t i = 0; i < 4; i++) {
        AT_TRY(hex48(cs, rtmr[i], b + AT_TD_OFF_RTMR0 + 48 * i, e));
    }
    AT_TRY(at_claims_add_bytes(cs, "tdx_report_data", NULL, b + AT_TD_OFF_REPORTDATA, 64, e));
    /* The module SVN is TEE_TCB_SVN byte 0 in both observed MAA tokens (claim-sets.md §6.2). */
    AT_TRY(at_claims_add_int(cs, "tdx_seamsvn", NULL, b[AT_TD_OFF_TEE_TCB_SVN], e));
    AT_TRY(at_claims_add_str(cs, "dbgstat", NULL, debug ? "enabled" : "disabled", e));
    if (q->body_type == AT_BODY_TD15) {
        AT_TRY(at_claims_add_bytes(cs, "tdx_tee_tcb_svn2", NULL, b + AT_TD_OFF_TEE_TCB_SVN2, 16,
                                   e));
        AT_TRY(hex48(cs, "tdx_mrservicetd", b + AT_TD_OFF_MRSERVICETD, e));
    }
    return at_ok();
}
