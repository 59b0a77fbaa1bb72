#include "evidence/dcap_quote.h"

#include "base/cursor.h"
#include "base/limits.h"

#include <string.h>

static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

#define CHECK "quote_structure"

/* QE report ‖ QE report signature ‖ auth data ‖ PCK certification data (§1.5). */
static at_status parse_qe_part(struct at_cur *c, struct at_dcap_quote *q, bool inner_v4)
{
    uint16_t auth_len;
    uint32_t cert_len;
    AT_TRY(at_cur_bytes(c, "qe_report", AT_SGX_REPORT_LEN, &q->qe_report));
    AT_TRY(at_cur_bytes(c, "qe_report_signature", 64, &q->qe_report_sig));
    AT_TRY(at_cur_u16le(c, "qe_auth_data_size", &auth_len));
    AT_TRY(at_cur_bytes(c, "qe_auth_data", auth_len, &q->qe_auth));
    q->qe_auth_len = auth_len;
    size_t type_pos = at_cur_pos(c);
    AT_TRY(at_cur_u16le(c, "certification_data_type", &q->cert_type));
    AT_TRY(at_cur_u32le(c, "certification_data_size", &cert_len));
    if (q->cert_type < 1 || q->cert_type > 5) {
        return at_fail_at_(c->err, AT_E_UNSUPPORTED, "certification_data_type", type_pos, __FILE__,
                           __LINE__, "%scertification data type %u is not supported (1..5)",
                           inner_v4 ? "inner " : "", q->cert_type);
    }
    AT_TRY(at_cur_bytes(c, "certification_data", cert_len, &q->cert_data));
    q->cert_data_len = cert_len;
    return at_ok();
}

static at_status parse(const uint8_t *p, size_t len, struct at_dcap_quote *q, struct at_err *e)
{
    struct at_cur c;
    at_cur_init(&c, p, len, e);
    if (len > AT_LIMIT_EVIDENCE_BYTES) {
        AT_FAIL(e, AT_E_LIMIT, CHECK, "quote is %zu bytes, more than %u", len,
                AT_LIMIT_EVIDENCE_BYTES);
    }
    memset(q, 0, sizeof(*q));
    q->header = p;
    AT_TRY(at_cur_u16le(&c, "version", &q->version));
    AT_TRY(at_cur_u16le(&c, "attestation_key_type", &q->att_key_type));
    AT_TRY(at_cur_u32le(&c, "tee_type", &q->tee_type));
    AT_TRY(at_cur_skip(&c, "reserved", 4));
    const uint8_t *vendor;
    AT_TRY(at_cur_bytes(&c, "qe_vendor_id", 16, &vendor));
    AT_TRY(at_cur_skip(&c, "user_data", 20));

    if (q->version < 3 || q->version > 5) {
        AT_FAIL(e, AT_E_UNSUPPORTED, CHECK, "quote version %u is not supported (3, 4, 5)",
                q->version);
    }
    if (q->att_key_type != 2) {
        AT_FAIL(e, AT_E_UNSUPPORTED, CHECK,
                "attestation key type %u is not supported (2 = ECDSA P-256)", q->att_key_type);
    }
    if (q->tee_type != AT_DCAP_TEE_SGX && q->tee_type != AT_DCAP_TEE_TDX) {
        AT_FAIL(e, AT_E_UNSUPPORTED, CHECK, "TEE type 0x%x is not supported", q->tee_type);
    }
    if (q->version == 3 && q->tee_type != AT_DCAP_TEE_SGX) {
        AT_FAIL(e, AT_E_PARSE, CHECK, "a version 3 quote must be SGX (header bytes 4..8 zero)");
    }
    if (memcmp(vendor, intel_qe_vendor, sizeof(intel_qe_vendor)) != 0) {
        AT_FAIL(e, AT_E_UNSUPPORTED, CHECK, "QE vendor ID is not Intel's");
    }

    if (q->version == 5) {
        uint16_t type;
        uint32_t size;
        AT_TRY(at_cur_u16le(&c, "body_type", &type));
        AT_TRY(at_cur_u32le(&c, "body_size", &size));
        size_t want = type == AT_BODY_SGX    ? AT_SGX_REPORT_LEN
                      : type == AT_BODY_TD10 ? AT_TD10_REPORT_LEN
                      : type == AT_BODY_TD15 ? AT_TD15_REPORT_LEN
                                             : 0;
        if (want == 0) {
            AT_FAIL(e, AT_E_UNSUPPORTED, CHECK, "quote body type %u is not supported", type);
        }
        if (size != want) {
            AT_FAIL(e, AT_E_PARSE, CHECK, "quote body type %u must be %zu bytes, says %u", type,
                    want, size);
        }
        if ((type == AT_BODY_SGX) != (q->tee_type == AT_DCAP_TEE_SGX)) {
            AT_FAIL(e, AT_E_PARSE, CHECK, "quote body type %u does not match TEE type 0x%x", type,
                    q->tee_type);
        }
        q->body_type = (enum at_dcap_body)type;
        q->body_len = size;
    } else {
        q->body_type = q->tee_type == AT_DCAP_TEE_SGX ? AT_BODY_SGX : AT_BODY_TD10;
        q->body_len = q->body_type == AT_BODY_SGX ? AT_SGX_REPORT_LEN : AT_TD10_REPORT_LEN;
    }
    AT_TRY(at_cur_bytes(&c, "report_body", q->body_len, &q->body));
    q->signed_len = c.off;

    uint32_t sig_len;
    AT_TRY(at_cur_u32le(&c, "signature_data_size", &sig_len));
    struct at_cur sig;
    AT_TRY(at_cur_sub(&c, "signature_data", sig_len, &sig));
    /* Quote buffers from the TDX guest driver are zero-padded; note anything else. */
    for (size_t i = c.off; i < c.len; i++) {
        if (c.base[i] != 0) {
            q->trailing_garbage_off = c.off;
            q->trailing_garbage_len = c.len - c.off;
            break;
        }
    }

    AT_TRY(at_cur_bytes(&sig, "quote_signature", 64, &q->signature));
    AT_TRY(at_cur_bytes(&sig, "attestation_key", 64, &q->att_key));
    if (q->version == 3) {
        AT_TRY(parse_qe_part(&sig, q, false));
        return at_cur_end(&sig, "certification data");
    }
    uint16_t outer_type;
    uint32_t outer_len;
    size_t type_pos = at_cur_pos(&sig);
    AT_TRY(at_cur_u16le(&sig, "certification_data_type", &outer_type));
    AT_TRY(at_cur_u32le(&sig, "certification_data_size", &outer_len));
    if (outer_type != 6) {
        return at_fail_at_(e, AT_E_UNSUPPORTED, "certification_data_type", type_pos, __FILE__,
                           __LINE__,
                           "v%u quotes must carry QE report certification data (type 6), not %u",
                           q->version, outer_type);
    }
    struct at_cur inner;
    AT_TRY(at_cur_sub(&sig, "qe_report_certification_data", outer_len, &inner));
    AT_TRY(parse_qe_part(&inner, q, true));
    AT_TRY(at_cur_end(&inner, "QE report certification data"));
    return at_cur_end(&sig, "signature data");
}

at_status at_dcap_quote_parse(const uint8_t *p, size_t len, struct at_dcap_quote *q,
                              struct at_err *e)
{
    at_status s = parse(p, len, q, e);
    at_err_check(e, CHECK);
    return s;
}
