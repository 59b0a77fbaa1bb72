#include "evidence/sgx_quote.h"

uint16_t at_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

uint64_t at_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) {
        x = (x << 8) | p[i];
    }
    return x;
}

at_status at_sgx_report_claims(const uint8_t *b, struct at_claims *cs, struct at_err *e)
{
    uint64_t flags = at_le64(b + AT_SGX_OFF_ATTRIBUTES);
    AT_TRY(at_claims_add_str(cs, "x-ms-attestation-type", NULL, "sgx", e));
    AT_TRY(at_claims_add_bool(cs, "x-ms-sgx-is-debuggable", NULL, (flags & 2u) != 0, e));
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-mrenclave", NULL, b + AT_SGX_OFF_MRENCLAVE, 32, e));
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-mrsigner", NULL, b + AT_SGX_OFF_MRSIGNER, 32, e));
    AT_TRY(at_claims_add_int(cs, "x-ms-sgx-product-id", NULL, at_le16(b + AT_SGX_OFF_ISVPRODID),
                             e));
    AT_TRY(at_claims_add_int(cs, "x-ms-sgx-svn", NULL, at_le16(b + AT_SGX_OFF_ISVSVN), e));
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-report-data", NULL, b + AT_SGX_OFF_REPORTDATA, 64,
                               e));
    /*
     * KSS fields. MAA documents them as present for KSS enclaves only; we always
     * expose them (zero when unused) so a policy can require them to be zero.
     */
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-config-id", NULL, b + AT_SGX_OFF_CONFIGID, 64, e));
    AT_TRY(at_claims_add_int(cs, "x-ms-sgx-config-svn", NULL, at_le16(b + AT_SGX_OFF_CONFIGSVN),
                             e));
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-isv-extended-product-id", NULL,
                               b + AT_SGX_OFF_ISVEXTPRODID, 16, e));
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-isv-family-id", NULL, b + AT_SGX_OFF_ISVFAMILYID, 16,
                               e));
    /* [R] raw attribute fields, useful to policies that pin them. */
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-attributes", NULL, b + AT_SGX_OFF_ATTRIBUTES, 16, e));
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-miscselect", NULL, b + AT_SGX_OFF_MISCSELECT, 4, e));
    AT_TRY(at_claims_add_bytes(cs, "x-ms-sgx-cpusvn", NULL, b + AT_SGX_OFF_CPUSVN, 16, e));
    return at_ok();
}
