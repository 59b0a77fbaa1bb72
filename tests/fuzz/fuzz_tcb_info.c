/*
 * Fuzz target for the PCS TCB info path (evidence-formats.md §1.8): covers
 * at_pcs_json_split ("tcbInfo"), at_tcb_info_parse on the split body and on the
 * raw input, and at_tcb_info_clear. Deterministic; no state between runs.
 */
#include "evidence/tcb_info.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const uint8_t *p, size_t n)
{
    struct at_tcb_info ti;
    struct at_err e;
    at_err_init(&e);
    if (at_is_ok(at_tcb_info_parse(p, n, &ti, &e))) {
        /* Invariants the evaluator relies on. */
        if (ti.n_levels == 0 || (ti.is_tdx && !ti.has_tdx_module)) {
            __builtin_trap();
        }
        at_tcb_info_clear(&ti);
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
    if (at_is_ok(at_pcs_json_split(data, size, "tcbInfo", &body, &body_len, sig, &e))) {
        /* The body is a sub-span of the input that starts with '{' and ends with '}'. */
        if (body < data || body_len < 2 || (size_t)(body - data) > size - body_len ||
            body[0] != '{' || body[body_len - 1] != '}') {
            __builtin_trap();
        }
        parse(body, body_len);
    }
    parse(data, size);
    return 0;
}
