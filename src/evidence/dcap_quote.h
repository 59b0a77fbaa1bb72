/*
 * Intel DCAP ECDSA quote parser: versions 3, 4 and 5, SGX and TDX bodies
 * (evidence-formats.md §1.1–1.5). Pure structure: no signature is checked here.
 * Every view borrows from the input buffer.
 */
#ifndef AT_EVIDENCE_DCAP_QUOTE_H
#define AT_EVIDENCE_DCAP_QUOTE_H

#include "base/status.h"

#include <stdint.h>

#define AT_DCAP_HEADER_LEN 48
#define AT_SGX_REPORT_LEN 384
#define AT_TD10_REPORT_LEN 584
#define AT_TD15_REPORT_LEN 648
#define AT_DCAP_TEE_SGX 0x00000000u
#define AT_DCAP_TEE_TDX 0x00000081u

enum at_dcap_body { AT_BODY_SGX = 1, AT_BODY_TD10 = 2, AT_BODY_TD15 = 3 };

struct at_dcap_quote {
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    enum at_dcap_body body_type;
    const uint8_t *header;      /* 48 bytes */
    const uint8_t *body;        /* the report body */
    size_t body_len;
    size_t signed_len;          /* the quote signature covers [0, signed_len) */
    const uint8_t *signature;   /* 64, raw r||s */
    const uint8_t *att_key;     /* 64, X||Y */
    const uint8_t *qe_report;   /* 384 */
    const uint8_t *qe_report_sig; /* 64 */
    const uint8_t *qe_auth;
    size_t qe_auth_len;
    uint16_t cert_type;         /* the PCK certification data type (inner type for v4/v5) */
    const uint8_t *cert_data;
    size_t cert_data_len;
    /* Non-zero bytes after the signature data: unsigned, never parsed. The verifier
       rejects such a quote after the cryptographic checks (so diagnostics stay complete). */
    size_t trailing_garbage_len;
    size_t trailing_garbage_off;
};

/*
 * Parse `p`. Trusts the length fields and requires every nested size to consume its
 * parent exactly. Bytes after the signature data are not parsed: zero padding is
 * normal (TDX guest driver buffers); anything else is reported in
 * trailing_garbage_len for the caller to reject.
 */
AT_NODISCARD at_status at_dcap_quote_parse(const uint8_t *p, size_t len, struct at_dcap_quote *q,
                                           struct at_err *e);

#endif
