/*
 * Fuzz target for the PCS enclave identity path (evidence-formats.md §1.8):
 * covers at_pcs_json_split ("enclaveIdentity"), at_qe_identity_parse on the
 * split body and on the raw input, and at_qe_identity_clear. Deterministic.
 */
#include "evidence/tcb_info.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const uint8_t *p, size_t n)
{
    struct at_qe_identity qi;
    struct at_err e;
    at_err_init(&e);
    if (at_is_ok(at_qe_identity_parse(p, n, &qi, &e))) {
        if (qi.n_levels == 0 || qi.version != 2) {
            __builtin_trap();
        }
        at_qe_identity_clear(&qi);
    } else if (e.code == AT_OK) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *body;
    size_t body_len;
    uint8_t sig[64];
    struct at_err e;
    at_err_init(&e);
    if (at_is_ok(at_pcs_json_split(data, size, "enclaveIdentity", &body, &body_len, sig, &e))) {
        if (body < data || body_len < 2 || (size_t)(body - data) > size - body_len ||
            body[0] != '{' || body[body_len - 1] != '}') {
            __builtin_trap();
        }
        parse(body, body_len);
    }
    parse(data, size);
    return 0;
}
