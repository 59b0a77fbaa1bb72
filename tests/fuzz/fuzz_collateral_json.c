/*
 * libFuzzer target: a collateral bundle in sgx_ql_qve_collateral_t JSON form
 * (at_dcap_bundle_from_json), including CRL hex/base64/PEM decoding and the PCS
 * document split when a whole response is embedded.
 */
#include "collateral/dcap_bundle.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        return 0;
    }
    struct at_dcap_collateral c;
    struct at_err e;
    at_err_init(&e);
    if (at_is_ok(at_dcap_bundle_from_json(j, &c, &e))) {
        at_dcap_collateral_clear(&c);
    }
    json_decref(j);
    return 0;
}
