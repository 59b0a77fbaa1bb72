/*
 * Types shared by the Intel DCAP (SGX and TDX) verifier: TCB statuses, the
 * parsed TCB info and enclave (QE) identity, the PCK certificate's SGX
 * extension, and the raw collateral bundle.
 */
#ifndef AT_EVIDENCE_DCAP_TYPES_H
#define AT_EVIDENCE_DCAP_TYPES_H

#include "base/status.h"

#include <stdint.h>

enum at_tcb_status {
    AT_TCB_UP_TO_DATE,
    AT_TCB_SW_HARDENING_NEEDED,
    AT_TCB_CONFIGURATION_NEEDED,
    AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    AT_TCB_OUT_OF_DATE,
    AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    AT_TCB_REVOKED,
    AT_TCB_TD_RELAUNCH_ADVISED,
    AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
    AT_TCB_NOT_SUPPORTED, /* no level matched: verification fails */
};

/* "UpToDate", ..., "TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded", "TCB_NOT_SUPPORTED" */
const char *at_tcb_status_name(enum at_tcb_status s);

/* One entry of tcbLevels (platform, QE identity or TDX module identity). */
struct at_tcb_level {
    uint8_t sgx[16];   /* sgxtcbcomponents[i].svn (platform levels) */
    uint16_t pcesvn;   /* platform levels */
    uint8_t tdx[16];   /* tdxtcbcomponents[i].svn (TDX platform levels) */
    bool has_tdx;
    uint16_t isvsvn;   /* QE / module identity levels: tcb.isvsvn */
    int64_t tcb_date;  /* seconds since epoch */
    enum at_tcb_status status;
    char **advisories; /* advisoryIDs, owned strings */
    size_t n_advisories;
};

struct at_tdx_module_identity {
    char id[16];              /* "TDX_03" as given */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    struct at_tcb_level *levels;
    size_t n_levels;
};

struct at_tcb_info {
    int version;              /* 2 or 3 */
    bool is_tdx;              /* id == "TDX" (v3); v2 is always SGX */
    int64_t issue_date;
    int64_t next_update;
    uint8_t fmspc[6];
    uint8_t pceid[2];
    uint32_t tcb_type;
    uint32_t eval_data_number;
    bool has_tdx_module;
    uint8_t module_mrsigner[48];
    uint8_t module_attributes[8];
    uint8_t module_attributes_mask[8];
    struct at_tdx_module_identity *module_ids;
    size_t n_module_ids;
    struct at_tcb_level *levels; /* in document (descending) order */
    size_t n_levels;
};

enum at_qe_id_kind { AT_QEID_QE, AT_QEID_TD_QE, AT_QEID_QVE };

struct at_qe_identity {
    enum at_qe_id_kind id;
    int version;
    int64_t issue_date;
    int64_t next_update;
    uint32_t eval_data_number;
    uint8_t miscselect[4];      /* report byte order, as the hex string gives it */
    uint8_t miscselect_mask[4];
    uint8_t attributes[16];
    uint8_t attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    struct at_tcb_level *levels;
    size_t n_levels;
};

/* The PCK certificate's SGX extension (OID 1.2.840.113741.1.13.1). */
struct at_pck_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16];
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t pceid[2];
    uint8_t fmspc[6];
    int sgx_type;             /* 0 Standard, 1 Scalable, 2 ScalableWithIntegrity */
    bool has_platform_instance_id;
    uint8_t platform_instance_id[16];
    bool has_configuration;
    bool dynamic_platform, cached_keys, smt_enabled;
};

/*
 * The collateral for one quote, as bytes (each heap-allocated, owned by the
 * struct). PEM chains are signer first, then root. The TCB info and QE
 * identity bodies are the exact signed bytes (the JSON object from `{` to `}`).
 */
struct at_dcap_collateral {
    uint8_t *pck_crl_issuer_chain;
    size_t pck_crl_issuer_chain_len;
    uint8_t *root_ca_crl;          /* DER */
    size_t root_ca_crl_len;
    uint8_t *pck_crl;              /* DER */
    size_t pck_crl_len;
    uint8_t *tcb_info_issuer_chain;
    size_t tcb_info_issuer_chain_len;
    uint8_t *tcb_info;             /* signed body bytes */
    size_t tcb_info_len;
    uint8_t tcb_info_sig[64];      /* raw r||s */
    uint8_t *qe_identity_issuer_chain;
    size_t qe_identity_issuer_chain_len;
    uint8_t *qe_identity;          /* signed body bytes */
    size_t qe_identity_len;
    uint8_t qe_identity_sig[64];
    /* Optional: the PCK chain (PEM) for quotes whose certification data is a PPID form
       (types 1-4) rather than the chain itself; NULL when absent. */
    uint8_t *pck_cert_chain;
    size_t pck_cert_chain_len;
    /* SHA-256 over all of the above, set by at_dcap_collateral_seal (cache key). */
    uint8_t digest[32];
    bool sealed;
};

/* Compute `digest` once the bundle is complete; loaders call it. Returns 0 on success. */
int at_dcap_collateral_seal(struct at_dcap_collateral *c);

void at_dcap_collateral_clear(struct at_dcap_collateral *c);

#endif
