/* Internals shared by the service's files. */
#ifndef AT_SERVICE_SERVICE_INT_H
#define AT_SERVICE_SERVICE_INT_H

#include "base/cache.h"
#include "base/limits.h"
#include "base/timeutil.h"
#include "policy/policy.h"
#include "service/service.h"
#include "token/token.h"

#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>

struct svc_signer {
    struct at_cache_obj obj;
    char name[AT_PROVIDER_NAME_MAX + 1];
    enum at_provider_mode mode;
    int64_t lifetime_s;
    uint64_t gen;
    struct at_signer *signer;
};

struct svc_policy {
    struct at_cache_obj obj;
    char provider[AT_PROVIDER_NAME_MAX + 1];
    enum at_att_type type;
    uint64_t gen;
    struct at_policy *policy;
};

struct svc_collateral {
    struct at_cache_obj obj;
    char tee[4];
    uint8_t fmspc[6];
    char ca[12];
    uint64_t gen;
    struct at_dcap_collateral col;
};

struct at_service {
    struct at_store *store;
    char *issuer_base;
    bool fixed_time;
    int64_t fixed_now;
    int64_t token_lifetime_s;     /* 0: the provider's */
    X509 *sgx_root;               /* NULL: the pinned Intel root */
    X509 *amd_ark;                /* NULL: the pinned AMD ARK of the report's product */
    struct at_cache *dcap_cache;  /* verified collateral, attestation keys, platforms */
    pthread_mutex_t mu;           /* guards the three lists below */
    /* Cache lists hold struct at_cache_obj pointers (each the first member of its
       svc_* object); read them through the SIG/POL/COL accessors in service.c. */
    struct at_cache_obj *signers[64];
    size_t n_signers;
    struct at_cache_obj *policies[64];
    size_t n_policies;
    struct at_cache_obj *collateral[64];
    size_t n_collateral;
};

/*
 * Each returns a new reference (release with at_cache_obj_unref(&x->obj)). `gen` is the
 * store generation read once per request (at_store_generation costs a query).
 */
AT_NODISCARD at_status svc_signer_get(struct at_service *svc, uint64_t gen, const char *provider,
                                      struct svc_signer **out, struct at_err *e);
AT_NODISCARD at_status svc_policy_get(struct at_service *svc, uint64_t gen, const char *provider,
                                      enum at_att_type type, struct svc_policy **out,
                                      struct at_err *e);
AT_NODISCARD at_status svc_collateral_get(struct at_service *svc, uint64_t gen, const char *tee,
                                          const uint8_t fmspc[6], const char *ca,
                                          struct svc_collateral **out, struct at_err *e);

/* Runtime or init-time data of a request, decoded (attest.c owns the buffers). */
struct svc_bound_data {
    bool present;
    const uint8_t *p;
    size_t len;
    json_t *json; /* dataType JSON: the parsed value, else NULL */
};

/*
 * attest_snp.c, the SevSnpVm branch (maa-api.md §2.2): `evidence` is the decoded `report`
 * (the JSON envelope). Verifies it, binds runtime data to REPORT_DATA and init-time data
 * to HOST_DATA, and adds the verifier's and the request's claims to `incoming`.
 */
AT_NODISCARD at_status svc_snp_incoming(struct at_service *svc, const uint8_t *evidence,
                                        size_t evidence_len, const struct svc_bound_data *runtime,
                                        const struct svc_bound_data *inittime,
                                        struct at_claims *incoming, struct at_err *e);

#endif
