/*
 * Loading SEV-SNP collateral from a directory laid out like ../shared/vectors/snp/<name>/:
 * the endorsement key as vcek.der, vcek.pem, vlek.der or vlek.pem (first found),
 * cert_chain.pem (ASK or ASVK, then ARK) and an optional crl.der (or crl.pem).
 * The bundle owns its bytes; at_snp_bundle_collateral gives views into them.
 */
#ifndef AT_COLLATERAL_SNP_BUNDLE_H
#define AT_COLLATERAL_SNP_BUNDLE_H

#include "evidence/snp.h"

struct at_snp_bundle {
    uint8_t *vek;
    size_t vek_len;
    uint8_t *chain;
    size_t chain_len;
    uint8_t *crl; /* NULL when the directory has none */
    size_t crl_len;
};

/* Missing pieces fail with AT_E_COLLATERAL (check "collateral"); *out is cleared first. */
AT_NODISCARD at_status at_snp_bundle_from_dir(const char *dir, struct at_snp_bundle *out,
                                              struct at_err *e);
void at_snp_bundle_clear(struct at_snp_bundle *b);
/* Views into the bundle, valid while it lives. */
void at_snp_bundle_collateral(const struct at_snp_bundle *b, struct at_snp_collateral *out);

#endif
