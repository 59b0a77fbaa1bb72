/*
 * The run-time AMD SEV-SNP test PKI and synthetic attestation reports
 * (evidence-formats.md §3).
 *
 * Everything is generated at run time with OpenSSL 3:
 *   - ARK (RSA-4096, self-signed), ASK and ASVK (RSA-4096, signed by the ARK), all
 *     RSASSA-PSS SHA-384 / MGF1-SHA-384 / salt 48, with AMD's subject fields (§3.4);
 *   - VCEK and VLEK (EC P-384 keys) signed by the ASK / ASVK with RSA-PSS, carrying the
 *     AMD extensions 1.3.6.1.4.1.3704.1.* (struct version, product name, SPLs, HWID for
 *     the VCEK, CSP_ID for the VLEK); serial 0, no AKI/keyUsage/basicConstraints, like
 *     the VCEKs of AMD's KDS;
 *   - a second, independent ARK with the same subject (the "impostor" ARK);
 *   - 1184-byte ATTESTATION_REPORTs (versions 2, 3, 5) signed with the VCEK or VLEK.
 *
 * RSA-4096 key generation is slow (about a second each), so the ARK, ASK and ASVK keys
 * are generated once per process and shared by every tp_snp_pki (the certificates are
 * made per PKI from the params, so validity and names still vary). The impostor ARK's
 * key is generated on first use of tp_snp_pki_alt_ark. tp_snp_keys_release frees the
 * shared keys (optional; call it last, e.g. from a group teardown).
 *
 * Ownership: tp_snp_pki_new returns an object freed by tp_snp_pki_free; accessors return
 * borrowed pointers valid until then. Builders that return buffers malloc them; the
 * caller frees them with free(). Not thread-safe.
 *
 * Fallible functions return 0 on success and -1 on failure (an OpenSSL or allocation
 * failure, or invalid params; a line goes to stderr). Out-parameters are set only on
 * success.
 */
#ifndef AT_TESTS_TESTPKI_SNP_H
#define AT_TESTS_TESTPKI_SNP_H

#include "testpki.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_SNP_REPORT_LEN 0x4A0
#define TP_SNP_SIGNED_LEN 0x2A0
#define TP_SNP_SIG_OFF    0x2A0

/* Byte offsets of ATTESTATION_REPORT fields (§3.1), for tampering in tests. */
#define TP_SNP_OFF_VERSION       0x000
#define TP_SNP_OFF_GUEST_SVN     0x004
#define TP_SNP_OFF_POLICY        0x008
#define TP_SNP_OFF_VMPL          0x030
#define TP_SNP_OFF_SIG_ALGO      0x034
#define TP_SNP_OFF_CURRENT_TCB   0x038
#define TP_SNP_OFF_SIGNER_INFO   0x048
#define TP_SNP_OFF_REPORT_DATA   0x050
#define TP_SNP_OFF_MEASUREMENT   0x090
#define TP_SNP_OFF_HOST_DATA     0x0C0
#define TP_SNP_OFF_REPORTED_TCB  0x180
#define TP_SNP_OFF_CHIP_ID       0x1A0
#define TP_SNP_OFF_COMMITTED_TCB 0x1E0

/* The guest POLICY bit that must be set (§3.3) and the DEBUG bit. */
#define TP_SNP_POLICY_RESERVED_1 (UINT64_C(1) << 17)
#define TP_SNP_POLICY_SMT        (UINT64_C(1) << 16)
#define TP_SNP_POLICY_MIGRATE_MA (UINT64_C(1) << 18)
#define TP_SNP_POLICY_DEBUG      (UINT64_C(1) << 19)

/* ---------------------------------------------------------------- the PKI */

/* TCB_VERSION components in the Milan/Genoa layout (§3.1). */
struct tp_snp_tcb {
    uint8_t bootloader, tee, snp, microcode;
};

/* TCB_VERSION as the report stores it: byte 0 BL, 1 TEE, 6 SNP, 7 UCODE (Milan/Genoa). */
uint64_t tp_snp_tcb_u64(const struct tp_snp_tcb *t);

struct tp_snp_pki_params {
    int64_t t0;
    const char *product;      /* CNs "ARK-<p>", "SEV-<p>", "SEV-VLEK-<p>" (default "Milan") */
    const char *product_name; /* extension .1.2 of the VCEK/VLEK ("Milan-B0"); NULL = omit */
    struct tp_validity ark_validity, ask_validity, vek_validity; /* ASK and ASVK share one */
    long struct_version;     /* extension .1.1 (default 0, as AMD's) */
    struct tp_snp_tcb tcb;   /* SPL extensions .1.3.1/.2/.3/.8 of the VCEK and VLEK */
    uint8_t hwid[64];        /* VCEK extension .1.4 */
    bool hwid_raw;           /* .1.4 as the 64 raw bytes (older VCEKs), not an OCTET STRING */
    const char *csp_id;      /* VLEK extension .1.5 (default "attestd-test-csp") */
    bool vlek_issued_by_ask; /* misissue the VLEK under the ASK instead of the ASVK */
};

/*
 * Defaults relative to t0: ARK [t0-5y, t0+25y], ASK/ASVK [t0-5y, t0+25y], VCEK/VLEK
 * [t0-30d, t0+7y]; product "Milan" / "Milan-B0"; TCB {BL 3, TEE 0, SNP 8, UCODE 209}
 * (UCODE >= 0x80 on purpose: its INTEGER needs two content bytes); HWID bytes
 * 0x3a + 7*i; CSP_ID "attestd-test-csp".
 */
void tp_snp_pki_params_default(struct tp_snp_pki_params *p, int64_t t0);

struct tp_snp_pki;

struct tp_snp_pki *tp_snp_pki_new(const struct tp_snp_pki_params *p);
void tp_snp_pki_free(struct tp_snp_pki *pki);
/* Free the process-wide RSA keys (the next tp_snp_pki_new generates them again). */
void tp_snp_keys_release(void);

const struct tp_snp_pki_params *tp_snp_pki_params_get(const struct tp_snp_pki *pki);
X509 *tp_snp_pki_ark(const struct tp_snp_pki *pki);
X509 *tp_snp_pki_ask(const struct tp_snp_pki *pki);
X509 *tp_snp_pki_asvk(const struct tp_snp_pki *pki);
X509 *tp_snp_pki_vcek(const struct tp_snp_pki *pki);
X509 *tp_snp_pki_vlek(const struct tp_snp_pki *pki);
EVP_PKEY *tp_snp_pki_vcek_key(const struct tp_snp_pki *pki);
EVP_PKEY *tp_snp_pki_vlek_key(const struct tp_snp_pki *pki);
/* An independent self-signed ARK with the same subject; made on first call (NULL on error). */
X509 *tp_snp_pki_alt_ark(struct tp_snp_pki *pki);

enum tp_snp_vek { TP_SNP_VCEK, TP_SNP_VLEK };

/* DER of the VCEK or VLEK (malloc'd). */
__attribute__((warn_unused_result)) int
tp_snp_vek_der(const struct tp_snp_pki *pki, enum tp_snp_vek which, uint8_t **der, size_t *len);
/* PEM "VEK, ASK|ASVK, ARK" (the VcekCertChain of an MAA SevSnpVm request), NUL-terminated. */
__attribute__((warn_unused_result)) int
tp_snp_full_chain_pem(const struct tp_snp_pki *pki, enum tp_snp_vek which, char **out, size_t *len);
/* PEM "ASK|ASVK, ARK" (KDS cert_chain), NUL-terminated. */
__attribute__((warn_unused_result)) int
tp_snp_cert_chain_pem(const struct tp_snp_pki *pki, enum tp_snp_vek which, char **out, size_t *len);
__attribute__((warn_unused_result)) int tp_snp_write_ark_pem(const struct tp_snp_pki *pki,
                                                             const char *path);
/*
 * The vectors' layout into `dir` (must exist): vcek.der or vlek.der, cert_chain.pem
 * (ASK|ASVK then ARK) and root_ark.pem.
 */
__attribute__((warn_unused_result)) int tp_snp_write_dir(const struct tp_snp_pki *pki,
                                                         enum tp_snp_vek which, const char *dir);

/* ---------------------------------------------------------------- reports */

struct tp_snp_report_params {
    uint32_t version; /* 2, 3 or 5 (any value is written; other values are a test, too) */
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16], image_id[16];
    uint32_t vmpl;
    uint32_t sig_algo;
    uint64_t current_tcb, reported_tcb, committed_tcb, launch_tcb;
    uint64_t platform_info;
    /* signer info (0x48): bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY */
    bool author_key_en, mask_chip_key;
    uint32_t signing_key;       /* 0 VCEK, 1 VLEK, 7 none; written as given */
    uint32_t signer_info_extra; /* ORed into the signer info word (reserved bits) */
    uint8_t report_data[64], measurement[48], host_data[32];
    uint8_t id_key_digest[48], author_key_digest[48];
    uint8_t report_id[32], report_id_ma[32];
    uint8_t cpuid_fam, cpuid_mod, cpuid_step; /* written for version >= 3 only */
    uint8_t chip_id[64];
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_mit_vector, current_mit_vector; /* written for version >= 5 only */
    enum tp_snp_vek sign_with; /* the key that really signs (independent of signing_key) */
};

/*
 * Defaults for a report the VCEK of `pki` signs and that verifies at T0: `version`;
 * guest SVN 2; policy 0x30000 (bit 17 + SMT, no debug, no migration agent); family id
 * 0x01.., image id 0x02..; VMPL 0; sig algo 1; all four TCBs = the PKI's SPLs; platform
 * info 0x3; signing key 0 (VCEK); report data 0x30..; measurement 0x40..; host data
 * 0x50..; id key digest 0x60..; author key digest 0x70..; report id 0x80..;
 * report id MA all 0xff; CPUID 0x19/0x01/0x01 (Milan); chip id = the PKI's HWID;
 * firmware 1.55 build 21 (current and committed); v5 mitigation vectors 0x5 / 0x7.
 */
void tp_snp_report_params_default(struct tp_snp_report_params *rp, const struct tp_snp_pki *pki,
                                  uint32_t version);

/* Same, for a VLEK-signed report (signing key 1, sign_with VLEK, chip id zero + masked). */
void tp_snp_report_params_default_vlek(struct tp_snp_report_params *rp,
                                       const struct tp_snp_pki *pki, uint32_t version);

/* Fill all 1184 bytes and sign [0, 0x2A0) (ECDSA P-384, SHA-384, r and s as 72-byte LE). */
__attribute__((warn_unused_result)) int tp_snp_report_build(const struct tp_snp_pki *pki,
                                                            const struct tp_snp_report_params *rp,
                                                            uint8_t out[TP_SNP_REPORT_LEN]);
/* Sign [0, 0x2A0) of `report` again (after tampering with a field) with the VCEK or VLEK. */
__attribute__((warn_unused_result)) int tp_snp_report_sign(const struct tp_snp_pki *pki,
                                                           enum tp_snp_vek which,
                                                           uint8_t report[TP_SNP_REPORT_LEN]);

/* Little-endian stores into a report (for tampering). */
void tp_snp_put_u32(uint8_t *p, uint32_t v);
void tp_snp_put_u64(uint8_t *p, uint64_t v);

#endif
