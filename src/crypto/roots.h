/* Pinned vendor roots. The returned certificates live for the whole process; do not free. */
#ifndef AT_CRYPTO_ROOTS_H
#define AT_CRYPTO_ROOTS_H


#include <openssl/x509.h>

/*
 * AMD SEV-SNP product generations, each with its own ARK. Defined here (crypto) so the
 * roots need nothing from the evidence layer; evidence/snp.h uses it.
 */
enum at_snp_product { AT_SNP_MILAN, AT_SNP_GENOA, AT_SNP_TURIN, AT_SNP_UNKNOWN };

X509 *at_root_intel_sgx(void);

/*
 * The pinned AMD root key (ARK) of a SEV-SNP product generation (Milan, Genoa, Turin);
 * NULL for AT_SNP_UNKNOWN. Each compiled-in DER is checked against its SHA-256
 * (evidence-formats.md §3.4) at first use, aborting on a mismatch.
 */
X509 *at_root_amd_ark(enum at_snp_product product);

#endif
