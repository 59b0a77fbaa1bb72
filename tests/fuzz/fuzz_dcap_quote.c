/*
 * libFuzzer target: the DCAP quote parser and the claim extraction behind it
 * (at_dcap_quote_parse, at_sgx_report_claims, at_tdx_report_claims), reached through
 * at_dcap_verify with no collateral, which must then fail closed.
 */
#include "evidence/dcap.h"
#include "evidence/dcap_quote.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_err e;
    struct at_dcap_quote q;
    at_err_init(&e);
    at_status s = at_dcap_quote_parse(data, size, &q, &e);
    if (at_is_ok(s)) {
        /* Every view must lie inside the input. */
        if (q.body < data || q.body + q.body_len > data + size || q.signed_len > size ||
            q.cert_data + q.cert_data_len > data + size || q.qe_auth + q.qe_auth_len > data + size) {
            abort();
        }
    }
    for (int tee = 0; tee < 2; tee++) {
        struct at_dcap_result r;
        at_dcap_result_init(&r);
        at_err_init(&e);
        struct at_dcap_verify_opts o = {.at = 1700000000};
        s = at_dcap_verify(tee == 0 ? AT_DCAP_SGX : AT_DCAP_TDX, data, size, NULL, &o, &r, &e);
        if (at_is_ok(s)) {
            abort(); /* without collateral nothing may pass */
        }
        at_dcap_result_clear(&r);
    }
    return 0;
}
