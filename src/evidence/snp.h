/*
 * AMD SEV-SNP attestation reports (evidence-formats.md §3): parse the 1184-byte
 * ATTESTATION_REPORT (versions 2, 3, 5; 4 uses the v3 layout), verify its ECDSA P-384
 * signature with the VCEK or VLEK, that key's chain to the pinned ARK of the product
 * (Milan, Genoa, Turin) through the ASK or ASVK (RSA-PSS), CRLs when given, and the
 * binding of the certificate's TCB/HWID extensions to the report; then claims with MAA
 * names (claim-sets.md §5).
 *
 * Thread safety: at_snp_verify is safe to call concurrently with the same cache.
 */
#ifndef AT_EVIDENCE_SNP_H
#define AT_EVIDENCE_SNP_H

#include "claims/claims.h"
#include "crypto/roots.h"

#include <openssl/x509.h>
#include <stdint.h>

#define AT_SNP_REPORT_LEN 0x4A0
#define AT_SNP_SIGNED_LEN 0x2A0

/* enum at_snp_product: crypto/roots.h (the pinned ARK of each product). */
enum at_snp_key { AT_SNP_KEY_VCEK = 0, AT_SNP_KEY_VLEK = 1 };

/* TCB_VERSION split by product generation (§3.1); fmc only on Turin. */
struct at_snp_tcb {
    uint8_t bootloader, tee, snp, microcode, fmc;
};

struct at_snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    const uint8_t *family_id, *image_id; /* 16 each */
    uint32_t vmpl;
    uint32_t sig_algo;
    uint64_t current_tcb, reported_tcb, committed_tcb, launch_tcb; /* raw */
    uint64_t platform_info;
    uint32_t signer_info;
    enum at_snp_key signing_key;
    bool author_key_en, mask_chip_key;
    const uint8_t *report_data;        /* 64 */
    const uint8_t *measurement;        /* 48 */
    const uint8_t *host_data;          /* 32 */
    const uint8_t *id_key_digest;      /* 48 */
    const uint8_t *author_key_digest;  /* 48 */
    const uint8_t *report_id, *report_id_ma; /* 32 each */
    const uint8_t *chip_id;            /* 64 */
    uint8_t cpuid_fam, cpuid_mod, cpuid_step; /* v3+ */
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_mit_vector, current_mit_vector; /* v5 */
    const uint8_t *signature;          /* 144: R (72 LE) || S (72 LE) */
};

/* Parse (structure only). Exactly AT_SNP_REPORT_LEN bytes. */
AT_NODISCARD at_status at_snp_report_parse(const uint8_t *p, size_t len, struct at_snp_report *r,
                                           struct at_err *e);

/*
 * The product generation a v3+ report's CPUID fields name (§3.1); AT_SNP_UNKNOWN for v2
 * and for CPUIDs that are not Milan, Genoa or Turin.
 */
enum at_snp_product at_snp_report_product(const struct at_snp_report *r);

/* Split a raw TCB_VERSION by the product's layout (§3.1); Milan layout for AT_SNP_UNKNOWN. */
void at_snp_tcb_split(uint64_t raw, enum at_snp_product p, struct at_snp_tcb *out);

/* The collateral: the endorsement key certificate and its chain (PEM or DER). */
struct at_snp_collateral {
    const uint8_t *vek;            /* VCEK or VLEK, DER or PEM; NULL = chain[0] is the VEK */
    size_t vek_len;
    const uint8_t *chain;          /* PEM: ASK or ASVK, then ARK (the ARK is compared to the pin) */
    size_t chain_len;
    const uint8_t *crl;            /* optional: AMD CRL (DER) for the product, NULL if none */
    size_t crl_len;
};

struct at_cache;

struct at_snp_verify_opts {
    int64_t at;                    /* verification time T */
    X509 *ark;                     /* trust anchor; NULL = the pinned ARK of the product */
    struct at_cache *cache;        /* verified VCEK chains, NULL = none */
};

struct at_snp_result {
    bool has_claims;
    struct at_claims claims;
    enum at_snp_product product;
};

void at_snp_result_init(struct at_snp_result *r);
void at_snp_result_clear(struct at_snp_result *r);

/* Verify and produce claims. e->check names the failing check on failure. */
AT_NODISCARD at_status at_snp_verify(const uint8_t *report, size_t len,
                                     const struct at_snp_collateral *col,
                                     const struct at_snp_verify_opts *opts,
                                     struct at_snp_result *res, struct at_err *e);

#endif
