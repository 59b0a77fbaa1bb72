#include "evidence/openenclave.h"

#include "base/cursor.h"
#include "base/secure.h"
#include "crypto/digest.h"

#include <string.h>

/* UUID bytes in the listed order (evidence-formats.md §2.2). */
static const uint8_t uuid_sgx_ecdsa[16] = {0xa3, 0xa2, 0x1e, 0x87, 0x1b, 0x4d, 0x40, 0x14,
                                           0xb7, 0x0a, 0xa1, 0x25, 0xd2, 0xfb, 0xcd, 0x8c};
static const uint8_t uuid_raw_sgx_quote[16] = {0x19, 0x23, 0xd9, 0x1e, 0x12, 0xd2, 0x4c, 0x72,
                                               0xb2, 0x20, 0x25, 0xcd, 0x8d, 0xac, 0xe8, 0x71};

#define CHECK "oe_structure"

/* Length of the v3 SGX quote at the start of `p` (436 + signature_data_len). */
static at_status quote_len(struct at_cur *c, size_t *out)
{
    struct at_cur q = *c;
    uint16_t version;
    uint32_t sig_len;
    AT_TRY(at_cur_u16le(&q, "quote_version", &version));
    if (version != 3) {
        AT_FAIL(c->err, AT_E_UNSUPPORTED, CHECK,
                "Open Enclave SGX_ECDSA evidence must carry a version 3 quote, not %u", version);
    }
    AT_TRY(at_cur_skip(&q, "quote_header_and_body", 430));
    AT_TRY(at_cur_u32le(&q, "signature_data_size", &sig_len));
    if (sig_len > at_cur_left(&q)) {
        AT_FAIL(c->err, AT_E_TRUNCATED, CHECK, "quote signature data runs past the evidence");
    }
    *out = 436 + (size_t)sig_len;
    return at_ok();
}

at_status at_oe_unwrap(const uint8_t *p, size_t len, struct at_oe_evidence *out, struct at_err *e)
{
    struct at_cur c;
    at_cur_init(&c, p, len, e);
    memset(out, 0, sizeof(*out));
    uint32_t version;
    AT_TRY(at_cur_u32le(&c, "oe_header_version", &version));
    if (version == 1) {
        /* oe_report_header_t: version, report_type, report_size, then the report. */
        uint32_t type;
        uint64_t size;
        AT_TRY(at_cur_u32le(&c, "oe_report_type", &type));
        AT_TRY(at_cur_u64le(&c, "oe_report_size", &size));
        if (type != 2) {
            AT_FAIL(e, AT_E_UNSUPPORTED, CHECK,
                    "Open Enclave report type %u is not a remote SGX report (2)", type);
        }
        if (size != at_cur_left(&c)) {
            AT_FAIL(e, AT_E_PARSE, CHECK,
                    "Open Enclave report size %llu does not match the %zu bytes that follow",
                    (unsigned long long)size, at_cur_left(&c));
        }
        AT_TRY(at_cur_bytes(&c, "oe_report", (size_t)size, &out->quote));
        out->quote_len = (size_t)size;
        return at_ok();
    }
    if (version != 3) {
        AT_FAIL(e, AT_E_UNSUPPORTED, CHECK, "Open Enclave header version %u is not supported (1, 3)",
                version);
    }
    const uint8_t *format;
    uint64_t data_size;
    AT_TRY(at_cur_bytes(&c, "oe_format_id", 16, &format));
    AT_TRY(at_cur_skip(&c, "oe_padding", 4));
    AT_TRY(at_cur_u64le(&c, "oe_data_size", &data_size));
    if (data_size != at_cur_left(&c)) {
        AT_FAIL(e, AT_E_PARSE, CHECK,
                "Open Enclave data size %llu does not match the %zu bytes that follow",
                (unsigned long long)data_size, at_cur_left(&c));
    }
    if (memcmp(format, uuid_raw_sgx_quote, 16) == 0) {
        AT_TRY(at_cur_bytes(&c, "oe_quote", at_cur_left(&c), &out->quote));
        out->quote_len = (size_t)data_size;
        return at_ok();
    }
    if (memcmp(format, uuid_sgx_ecdsa, 16) != 0) {
        AT_FAIL(e, AT_E_UNSUPPORTED, CHECK,
                "Open Enclave evidence format is not SGX_ECDSA or RAW_SGX_QUOTE_ECDSA");
    }
    size_t qlen = 0;
    AT_TRY(quote_len(&c, &qlen));
    AT_TRY(at_cur_bytes(&c, "oe_quote", qlen, &out->quote));
    out->quote_len = qlen;
    out->has_custom_claims = true;
    out->custom_claims_len = at_cur_left(&c);
    return at_cur_bytes(&c, "oe_custom_claims", out->custom_claims_len, &out->custom_claims);
}

at_status at_oe_check_binding(const struct at_oe_evidence *ev, const uint8_t *report_data,
                              struct at_err *e)
{
    if (!ev->has_custom_claims) {
        return at_ok();
    }
    uint8_t h[32];
    if (at_sha256(ev->custom_claims != NULL ? (const void *)ev->custom_claims : (const void *)"",
                  ev->custom_claims_len, h) != 0) {
        AT_FAIL(e, AT_E_CRYPTO, NULL, "digest failed");
    }
    if (!at_ct_equal(h, report_data, 32)) {
        AT_FAIL(e, AT_E_MISMATCH, "oe_custom_claims_binding",
                "REPORTDATA does not hold SHA-256 of the Open Enclave custom claims");
    }
    return at_ok();
}
