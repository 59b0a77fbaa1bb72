/*
 * The AMD VCEK/VLEK certificate extensions (evidence-formats.md §3.4), decoded with
 * OpenSSL's ASN.1 (X509_get_ext_by_OBJ + d2i): struct version, product name, the SPLs
 * (BL, TEE, SNP, UCODE, FMC) as INTEGERs, HWID (VCEK; raw 64 bytes or an OCTET STRING
 * wrapping them) and CSP_ID (VLEK). Nothing here says the certificate is trusted.
 */
#ifndef AT_EVIDENCE_SNP_VCEK_H
#define AT_EVIDENCE_SNP_VCEK_H

#include "evidence/snp.h"

#include <openssl/x509.h>

#define AT_SNP_PRODUCT_NAME_MAX 32
#define AT_SNP_HWID_LEN         64

/* Indexes of the SPLs in at_snp_vek_ext.spl. */
enum at_snp_spl { AT_SNP_SPL_BL, AT_SNP_SPL_TEE, AT_SNP_SPL_SNP, AT_SNP_SPL_UCODE, AT_SNP_SPL_FMC };
#define AT_SNP_SPL_COUNT 5

struct at_snp_vek_ext {
    bool has_spl[AT_SNP_SPL_COUNT];
    uint8_t spl[AT_SNP_SPL_COUNT]; /* each INTEGER in [0, 255] */
    bool has_product_name;
    char product_name[AT_SNP_PRODUCT_NAME_MAX + 1]; /* IA5String, NUL-terminated */
    bool has_hwid;
    uint8_t hwid[AT_SNP_HWID_LEN];
    size_t hwid_len; /* 64 (or 8 for Turin-style short HWIDs) */
};

/*
 * Decode the extensions present in `cert`; absent ones leave has_* false. A present
 * extension with the wrong ASN.1 type, length or range fails with AT_E_BAD_VALUE and
 * the check name "vcek_extensions".
 */
AT_NODISCARD at_status at_snp_vek_ext_parse(X509 *cert, struct at_snp_vek_ext *out,
                                            struct at_err *e);

/*
 * The product a product-name extension names: "Milan", "Milan-B0", "Genoa-...",
 * "Turin..." → that product; anything else AT_SNP_UNKNOWN.
 */
enum at_snp_product at_snp_product_from_name(const char *name);

/* "Milan", "Genoa", "Turin" or "unknown". */
const char *at_snp_product_str(enum at_snp_product p);

#endif
