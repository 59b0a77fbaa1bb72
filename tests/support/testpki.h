/*
 * The run-time test PKI and synthetic Intel DCAP evidence (evidence-formats.md §1).
 *
 * Everything is generated at run time with OpenSSL 3 (ECDSA P-256, SHA-256):
 *   - an Intel-like certificate hierarchy: root CA, PCK Platform/Processor CA,
 *     PCK leaf with the SGX extension (§1.7), TCB signing cert, and a second,
 *     independent root with the same subject (the "impostor" root);
 *   - CRLs (root CA CRL, PCK CRL), TCB info (v2/v3, SGX/TDX) and enclave identity
 *     (QE / TD_QE) JSON signed like Intel PCS (§1.8);
 *   - SGX v3/v4/v5 and TDX v4/v5 (body types 2 and 3) quotes (§1.2–1.5).
 *
 * Times are fixed relative to the caller's base time T0, so the same params give
 * the same fields; keys and ECDSA signatures are random on every run.
 *
 * Ownership: tp_pki_new returns an object freed by tp_pki_free; the accessors
 * return borrowed pointers valid until then. Builders return heap buffers the
 * caller frees with free(). Not thread-safe (one PKI per thread).
 *
 * Fallible functions return 0 on success and -1 on failure (an OpenSSL or
 * allocation failure, or invalid params; a line goes to stderr). Out-parameters
 * are set only on success.
 */
#ifndef AT_TESTS_TESTPKI_H
#define AT_TESTS_TESTPKI_H

#include "evidence/dcap_types.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_DAY_S  ((int64_t)86400)
#define TP_YEAR_S ((int64_t)365 * TP_DAY_S)

#define TP_MAX_LEVELS     8
#define TP_MAX_ADVISORIES 6
#define TP_MAX_MODULE_IDS 4
#define TP_MAX_REVOKED    8

/* ---------------------------------------------------------------- the PKI */

enum tp_ca { TP_CA_PLATFORM, TP_CA_PROCESSOR };

/* Top-level entries of the PCK SGX extension, in encoding order (§1.7). */
enum tp_ext_entry {
    TP_EXT_PPID,
    TP_EXT_TCB,
    TP_EXT_PCEID,
    TP_EXT_FMSPC,
    TP_EXT_SGX_TYPE,
    TP_EXT_PLATFORM_INSTANCE_ID, /* Platform CA certs only (default) */
    TP_EXT_CONFIGURATION,        /* Platform CA certs only (default) */
    TP_EXT_COUNT
};
#define TP_EXT_BIT(entry) (1u << (unsigned)(entry))

struct tp_validity {
    int64_t not_before;
    int64_t not_after;
};

/* Contents of the PCK leaf's SGX extension (OID 1.2.840.113741.1.13.1). */
struct tp_pck_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16]; /* SGX TCB COMP01..16 SVN */
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t pceid[2];
    uint8_t fmspc[6];
    int sgx_type; /* ENUMERATED 0..2 */
    uint8_t platform_instance_id[16];
    bool dynamic_platform, cached_keys, smt_enabled;
    unsigned omit;      /* TP_EXT_BIT mask of entries left out */
    unsigned duplicate; /* TP_EXT_BIT mask of entries encoded twice */
    /* Emit PlatformInstanceID + Configuration (default true; clear it together with
     * ca = TP_CA_PROCESSOR for a realistic 5-entry Processor-CA PCK cert). */
    bool platform_entries;
};

struct tp_pki_params {
    int64_t t0;
    enum tp_ca ca;
    struct tp_validity root_validity, ca_validity, pck_validity, tcb_signer_validity;
    uint64_t root_serial, ca_serial, pck_serial, tcb_signer_serial;
    struct tp_pck_ext ext;
};

/*
 * Defaults, all relative to t0: root [t0-5y, t0+25y], PCK CA [t0-3y, t0+10y],
 * PCK leaf [t0-1y, t0+6y], TCB signer [t0-30d, t0+5y]; Platform CA; component
 * SVNs {7,7,2,2,3,1,0,3,0...}, PCESVN 11, PCE-ID 0000, FMSPC 00806F050000,
 * SGX type 1 (Scalable), Configuration {true,false,true}.
 */
void tp_pki_params_default(struct tp_pki_params *p, int64_t t0);

struct tp_pki;

struct tp_pki *tp_pki_new(const struct tp_pki_params *p);
void tp_pki_free(struct tp_pki *pki);

const struct tp_pki_params *tp_pki_params_get(const struct tp_pki *pki);
X509 *tp_pki_root(const struct tp_pki *pki);
/* A second, independent self-signed root with the same subject DN as tp_pki_root. */
X509 *tp_pki_alt_root(const struct tp_pki *pki);
X509 *tp_pki_pck_ca(const struct tp_pki *pki);
X509 *tp_pki_pck_leaf(const struct tp_pki *pki);
X509 *tp_pki_tcb_signer(const struct tp_pki *pki);
EVP_PKEY *tp_pki_root_key(const struct tp_pki *pki);
EVP_PKEY *tp_pki_pck_ca_key(const struct tp_pki *pki);
EVP_PKEY *tp_pki_pck_key(const struct tp_pki *pki);
EVP_PKEY *tp_pki_tcb_key(const struct tp_pki *pki);

/* PEM of certificates concatenated in order (n of them), NUL-terminated; *len excludes the NUL. */
__attribute__((warn_unused_result)) int tp_pem_chain(X509 *const *certs, size_t n, char **out,
                                                     size_t *len);
/* The PCK chain as a quote carries it (cert data type 5): leaf ‖ CA ‖ root. */
__attribute__((warn_unused_result)) int tp_pki_pck_chain_pem(const struct tp_pki *pki, char **out,
                                                             size_t *len);
__attribute__((warn_unused_result)) int tp_pki_write_root_pem(const struct tp_pki *pki,
                                                              const char *path);

/* ------------------------------------------------------------------- CRLs */

struct tp_crl_params {
    int64_t this_update;
    int64_t next_update;
    uint64_t revoked[TP_MAX_REVOKED]; /* serial numbers */
    size_t n_revoked;
    long number; /* CRL Number */
};

/* DER CRL v2 (CRL Number + AKI) issued by `issuer` (root for the root CA CRL, PCK CA for the PCK
 * CRL). */
__attribute__((warn_unused_result)) int tp_crl_der(X509 *issuer, EVP_PKEY *issuer_key,
                                                   const struct tp_crl_params *cp, uint8_t **der,
                                                   size_t *len);

/* ------------------------------------------------------------- collateral */

/* One platform TCB level of TCB info (§1.8). */
struct tp_tcb_level {
    uint8_t sgx[16];
    uint16_t pcesvn;
    uint8_t tdx[16];    /* emitted for TDX TCB info only */
    const char *status; /* "UpToDate", ... (any string: invalid ones are a test, too) */
    const char *date;   /* tcbDate; NULL = "2024-03-13T00:00:00Z" */
    const char *advisories[TP_MAX_ADVISORIES];
    size_t n_advisories;
};

/* One level of an enclave identity or TDX module identity. */
struct tp_id_level {
    uint16_t isvsvn;
    const char *status;
    const char *date; /* NULL = "2024-03-13T00:00:00Z" */
    const char *advisories[TP_MAX_ADVISORIES];
    size_t n_advisories;
};

struct tp_module_identity {
    const char *id; /* "TDX_01" */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    struct tp_id_level levels[TP_MAX_LEVELS];
    size_t n_levels;
};

struct tp_collateral_params {
    bool tdx; /* TCB info id "TDX" with tdxModule(+Identities), identity "TD_QE" */
    /* TCB info */
    int tcb_info_version;    /* 3 (default) or 2 (SGX only, sgxtcbcompNNsvn fields) */
    const char *tcb_info_id; /* NULL = "SGX"/"TDX" from tdx */
    int64_t tcb_issue_date, tcb_next_update;
    uint8_t fmspc[6];
    uint8_t pceid[2];
    uint32_t tcb_type;
    uint32_t tcb_eval_num;
    struct tp_tcb_level levels[TP_MAX_LEVELS];
    size_t n_levels;
    bool has_tdx_module;
    uint8_t module_mrsigner[48];
    uint8_t module_attributes[8];
    uint8_t module_attributes_mask[8];
    struct tp_module_identity module_ids[TP_MAX_MODULE_IDS];
    size_t n_module_ids;
    /* Enclave identity */
    const char *qe_id; /* "QE" / "TD_QE" */
    int qe_version;
    int64_t qe_issue_date, qe_next_update;
    uint32_t qe_eval_num;
    uint8_t qe_miscselect[4], qe_miscselect_mask[4];
    uint8_t qe_attributes[16], qe_attributes_mask[16];
    uint8_t qe_mrsigner[32];
    uint16_t qe_isvprodid;
    struct tp_id_level qe_levels[TP_MAX_LEVELS];
    size_t n_qe_levels;
    /* CRLs */
    struct tp_crl_params root_crl, pck_crl;
    /* Tampering: flip a bit of the signature after signing. */
    bool bad_tcb_info_sig, bad_qe_identity_sig;
};

/*
 * Collateral that makes tp_quote_params_default quotes verify as UpToDate with `pki`'s
 * PCK cert at T0: FMSPC/PCE-ID from the PKI; levels[0] = the PCK's component SVNs and
 * PCESVN (UpToDate), levels[1] = all lower (OutOfDate, INTEL-SA-00615). TDX adds
 * tdx comps {3,0,7} / {2,0,6}, tdxModule (zero mrsigner, mask FF..) and TDX_01 with
 * levels isvsvn 3 UpToDate / 2 OutOfDate. QE identity like Intel's (SGX QE: prodid 1,
 * levels 8 UpToDate / 6 OutOfDate; TD_QE: prodid 2, level 4 UpToDate). Documents
 * valid [T0-1d, T0+30d]; CRLs [T0-1d, T0+30d] and empty.
 */
void tp_collateral_params_default(struct tp_collateral_params *cp, const struct tp_pki *pki,
                                  bool tdx);

/* Exact signed body bytes (compact JSON like PCS) and raw r||s signature by the TCB signer. */
__attribute__((warn_unused_result)) int tp_tcb_info_body(const struct tp_pki *pki,
                                                         const struct tp_collateral_params *cp,
                                                         char **body, size_t *len, uint8_t sig[64]);
__attribute__((warn_unused_result)) int tp_qe_identity_body(const struct tp_pki *pki,
                                                            const struct tp_collateral_params *cp,
                                                            char **body, size_t *len,
                                                            uint8_t sig[64]);

/*
 * Fill `out` (overwritten; heap copies, sealed with at_dcap_collateral_seal) — free with
 * tp_collateral_free or at_dcap_collateral_clear.
 */
__attribute__((warn_unused_result)) int tp_collateral_build(const struct tp_pki *pki,
                                                            const struct tp_collateral_params *cp,
                                                            struct at_dcap_collateral *out);
/* Frees what tp_collateral_build allocated and zeroes the struct (like at_dcap_collateral_clear).
 */
void tp_collateral_free(struct at_dcap_collateral *c);
/* Deep copy for tampering with one field; the copy is unsealed (reseal it if a cache is used). */
__attribute__((warn_unused_result)) int tp_collateral_copy(const struct at_dcap_collateral *in,
                                                           struct at_dcap_collateral *out);

/*
 * Write the vector layout into `dir` (must exist): pck_crl.der, root_ca_crl.der,
 * pck_crl_issuer_chain.pem, tcb_info.json ({"tcbInfo":<body>,"signature":"<hex>"}),
 * tcb_info_issuer_chain.pem, qe_identity.json ({"enclaveIdentity":...}),
 * qe_identity_issuer_chain.pem; with pki != NULL also pck_cert_chain.pem and root_ca.pem.
 */
__attribute__((warn_unused_result)) int tp_collateral_write_dir(const struct at_dcap_collateral *c,
                                                                const struct tp_pki *pki,
                                                                const char *dir);
/*
 * One JSON file with the field names of the vectors' collateral.json
 * (sgx_ql_qve_collateral_t / dcap-qvl): PEM chains as strings, CRLs as hex DER,
 * tcb_info / qe_identity as the exact signed body strings, signatures as hex r||s.
 */
__attribute__((warn_unused_result)) int tp_collateral_write_json(const struct at_dcap_collateral *c,
                                                                 const char *path);

/* ----------------------------------------------------------------- quotes */

enum tp_quote_kind {
    TP_SGX_V3,
    TP_SGX_V4,
    TP_SGX_V5,    /* body type 1 */
    TP_TDX_V4,    /* TD report 1.0 */
    TP_TDX_V5_T2, /* body type 2: TD report 1.0 */
    TP_TDX_V5_T3, /* body type 3: TD report 1.5 */
};
#define TP_QUOTE_KIND_COUNT 6

bool tp_quote_kind_is_tdx(enum tp_quote_kind k);
const char *tp_quote_kind_name(enum tp_quote_kind k);

/* SGX report body (§1.3): the enclave body and the QE report. */
struct tp_sgx_report {
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t isvextprodid[16];
    uint64_t flags; /* bit 1 = DEBUG */
    uint64_t xfrm;
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint8_t configid[64];
    uint16_t isvprodid, isvsvn, configsvn;
    uint8_t isvfamilyid[16];
    uint8_t report_data[64]; /* ignored for the QE report unless bad_report_data_binding */
};

/* TD report body (§1.4). tee_tcb_svn2 and mrservicetd are used for body type 3 only. */
struct tp_td_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint64_t seam_attributes;
    uint64_t td_attributes; /* bit 0 = DEBUG */
    uint64_t xfam;
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16];
    uint8_t mrservicetd[48];
};

#define TP_QE_AUTH_MAX 256

struct tp_quote_params {
    enum tp_quote_kind kind;
    uint16_t qe_svn, pce_svn; /* header bytes 8..12 */
    uint8_t user_data[20];
    struct tp_sgx_report enclave; /* SGX kinds */
    struct tp_td_report td;       /* TDX kinds */
    struct tp_sgx_report qe;      /* QE report; REPORTDATA is computed */
    uint8_t qe_auth[TP_QE_AUTH_MAX];
    size_t qe_auth_len; /* default 32 */
    size_t pem_nul_pad; /* NUL bytes after the PEM chain, inside the cert data */
    /* Tampering */
    bool bad_qe_report_sig;       /* flip a bit of the QE report signature */
    bool bad_quote_sig;           /* flip a bit of the quote signature */
    bool bad_report_data_binding; /* QE REPORTDATA[0] ^= 1 before signing the QE report */
    size_t trailing_zero_len;     /* zero bytes after signature data */
    size_t trailing_garbage_len;  /* 0xA5 bytes after signature data (after the zeros) */
};

/*
 * Defaults: header QE SVN 8 / PCE SVN 11; enclave mrenclave 0x10.., mrsigner 0x20..,
 * flags INIT|MODE64BIT (not debug), xfrm 3, prodid 3, svn 4, report data 0x30..;
 * TD: tee_tcb_svn {3,1,7}, mrseam 0x40.., zero mrsignerseam/seam attributes,
 * td_attributes SEPT_VE_DISABLE, xfam 0x61ae7, mrtd 0x50.., rtmr[i] (0x60+16i).., report
 * data 0xa0.., tee_tcb_svn2 = tee_tcb_svn, mrservicetd 0xb0..; QE report flags 0x15,
 * xfrm 0xe7, Intel QE mrsigner (SGX: prodid 1 svn 8; TDX: TD QE, prodid 2 svn 5);
 * auth data 0..31.
 */
void tp_quote_params_default(struct tp_quote_params *qp, enum tp_quote_kind kind);

/* Build a quote signed by a fresh attestation key certified by `pki`'s PCK key; *out is malloc'd.
 */
__attribute__((warn_unused_result)) int tp_quote_build(const struct tp_pki *pki,
                                                       const struct tp_quote_params *qp,
                                                       uint8_t **out, size_t *len);

/* Absolute offsets inside a quote built from `qp` (independent of the PKI). */
struct tp_quote_layout {
    size_t body_off, body_len;
    size_t signed_len;        /* quote signature covers [0, signed_len) */
    size_t sig_data_len_off;  /* u32 signature_data_len */
    size_t quote_sig_off;     /* 64 */
    size_t att_key_off;       /* 64 */
    size_t qe_report_off;     /* 384 */
    size_t qe_report_sig_off; /* 64 */
    size_t qe_auth_off, qe_auth_len;
    size_t cert_data_off; /* the type-5 PEM chain */
};
void tp_quote_layout(const struct tp_quote_params *qp, struct tp_quote_layout *l);

/* Intel's QE vendor ID and the default QE identities used by the defaults above. */
extern const uint8_t tp_intel_qe_vendor_id[16];
extern const uint8_t tp_sgx_qe_mrsigner[32];
extern const uint8_t tp_td_qe_mrsigner[32];

/* ---------------------------------------------------------------- helpers */

/* ECDSA-P256-SHA256 over msg, as raw r||s (big-endian, 32+32). */
__attribute__((warn_unused_result)) int tp_sign_raw(EVP_PKEY *key, const uint8_t *msg, size_t len,
                                                    uint8_t sig[64]);
/* Uncompressed public key X||Y (64 bytes) of a P-256 key. */
__attribute__((warn_unused_result)) int tp_pub_xy(EVP_PKEY *key, uint8_t xy[64]);
__attribute__((warn_unused_result)) int tp_write_file(const char *path, const void *p, size_t n);
/* malloc'd copy of n bytes plus a NUL (so text can be used as a C string); NULL on failure. */
uint8_t *tp_memdup(const void *p, size_t n);

#endif
