/*
 * libFuzzer target: the SEV-SNP report parser (at_snp_report_parse) and the verifier's
 * early checks (at_snp_verify, at_snp_report_product, at_snp_tcb_split). Without
 * collateral, or with collateral that is not a certificate chain, nothing may pass.
 */
#include "evidence/snp.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_err e;
    struct at_snp_report r;
    at_err_init(&e);
    at_status s = at_snp_report_parse(data, size, &r, &e);
    if (at_is_ok(s)) {
        /* Every view must lie inside the input, and the input be exactly one report. */
        const uint8_t *views[] = {r.family_id,         r.image_id,  r.report_data,
                                  r.measurement,       r.host_data, r.id_key_digest,
                                  r.author_key_digest, r.report_id, r.report_id_ma,
                                  r.chip_id,           r.signature};
        for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
            if (views[i] < data || views[i] >= data + size) {
                abort();
            }
        }
        if (size != AT_SNP_REPORT_LEN || r.signature + 144 > data + size) {
            abort();
        }
        struct at_snp_tcb t;
        at_snp_tcb_split(r.reported_tcb, at_snp_report_product(&r), &t);
    } else if (e.code == AT_OK) {
        abort(); /* a failure must say why */
    }
    /* No collateral, then the input itself as a "chain": both must fail closed. */
    for (int round = 0; round < 2; round++) {
        struct at_snp_result res;
        at_snp_result_init(&res);
        at_err_init(&e);
        struct at_snp_collateral col = {
            .vek = data, .vek_len = size, .chain = data, .chain_len = size};
        struct at_snp_verify_opts o = {.at = 1700000000};
        s = at_snp_verify(data, size, round == 0 ? NULL : &col, &o, &res, &e);
        if (at_is_ok(s) || res.has_claims) {
            abort();
        }
        at_snp_result_clear(&res);
    }
    return 0;
}
