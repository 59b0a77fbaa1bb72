/*
 * Intel DCAP quote verification (SGX quote v3/v4/v5, TDX quote v4/v5), from
 * hostile bytes to claims, as ../shared/spec/evidence-formats.md §1.9 lays out.
 *
 * Thread safety: at_dcap_verify is safe to call concurrently with the same
 * cache (the cache locks internally).
 */
#ifndef AT_EVIDENCE_DCAP_H
#define AT_EVIDENCE_DCAP_H

#include "claims/claims.h"
#include "evidence/dcap_types.h"

#include <openssl/x509.h>

enum at_dcap_tee { AT_DCAP_SGX, AT_DCAP_TDX };

struct at_cache; /* verified collateral + PCK chains, see base/cache.h */

struct at_dcap_verify_opts {
    int64_t at;                   /* verification time T, seconds since epoch */
    X509 *root;                   /* trust anchor; NULL = the pinned Intel SGX Root CA */
    struct at_cache *cache;       /* NULL = verify everything every time */
};

struct at_dcap_result {
    bool has_tcb_status;             /* TCB evaluation ran (even if it then failed) */
    enum at_tcb_status tcb_status;   /* final, converged */
    enum at_tcb_status platform_status, qe_status, module_status;
    int64_t tcb_date;
    char **advisories;               /* de-duplicated, owned */
    size_t n_advisories;
    bool has_claims;                 /* the quote parsed: claims hold its fields */
    struct at_claims claims;
};

void at_dcap_result_init(struct at_dcap_result *r);
void at_dcap_result_clear(struct at_dcap_result *r);

/*
 * Verify `quote` against `col` at opts->at. `expect` is the TEE the caller asked
 * for (an SGX quote sent as TDX fails). col == NULL fails closed
 * (AT_E_COLLATERAL). On success the result holds the claims and the TCB
 * status; on failure `e` names the failing check (e->check) and the result may
 * still hold claims/status for diagnostics — never use them to issue a token.
 */
AT_NODISCARD at_status at_dcap_verify(enum at_dcap_tee expect, const uint8_t *quote,
                                      size_t quote_len, const struct at_dcap_collateral *col,
                                      const struct at_dcap_verify_opts *opts,
                                      struct at_dcap_result *res, struct at_err *e);

/*
 * Which platform a quote's PCK chain names, to look its collateral up: the FMSPC and
 * the PCK CA kind ("platform" or "processor"). Nothing is verified here (at_dcap_verify
 * does that); results are cached by the chain's bytes when cache != NULL.
 */
AT_NODISCARD at_status at_dcap_quote_platform(const uint8_t *quote, size_t quote_len,
                                              struct at_cache *cache, uint8_t fmspc[6],
                                              const char **ca, struct at_err *e);

#endif
