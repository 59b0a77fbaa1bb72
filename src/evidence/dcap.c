/*
 * DCAP quote verification: evidence-formats.md §1.9, steps 1–11, in Intel QVL's order.
 * Collateral (step 2–5) is verified once per platform and cached; a cached quote
 * costs its two signature checks (QE report, quote) and the TCB evaluation.
 */
#include "evidence/dcap.h"

#include "base/cache.h"
#include "base/encoding.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "crypto/ecdsa.h"
#include "crypto/roots.h"
#include "crypto/x509.h"
#include "evidence/dcap_collateral.h"
#include "evidence/dcap_pck.h"
#include "evidence/dcap_quote.h"
#include "evidence/sgx_quote.h"
#include "evidence/tcb_eval.h"

#include <stdlib.h>
#include <string.h>

void at_dcap_result_init(struct at_dcap_result *r)
{
    memset(r, 0, sizeof(*r));
    at_claims_init(&r->claims);
}

void at_dcap_result_clear(struct at_dcap_result *r)
{
    for (size_t i = 0; i < r->n_advisories; i++) {
        free(r->advisories[i]);
    }
    free(r->advisories);
    at_claims_clear(&r->claims);
    memset(r, 0, sizeof(*r));
}

/* Cache key: the collateral's digest, the PCK chain bytes and the trust anchor. */
static int cache_key(const struct at_dcap_collateral *col, const uint8_t *pem, size_t pem_len,
                     X509 *root, uint8_t key[32])
{
    uint8_t cd[32];
    const uint8_t *cdp = col->digest;
    if (!col->sealed) {
        struct at_dcap_collateral tmp = *col;
        if (at_dcap_collateral_seal(&tmp) != 0) {
            return -1;
        }
        memcpy(cd, tmp.digest, 32);
        cdp = cd;
    }
    unsigned char rd[EVP_MAX_MD_SIZE];
    unsigned int rdl = 0;
    if (X509_digest(root, at_md_sha256(), rd, &rdl) != 1) {
        return -1;
    }
    return at_sha256_parts(key, cdp, (size_t)32, pem, pem_len, rd, (size_t)rdl, NULL);
}

static at_status get_verified(const struct at_dcap_collateral *col, const struct at_dcap_quote *q,
                              const struct at_dcap_verify_opts *o, X509 *root,
                              struct at_dcap_verified **out, struct at_err *e)
{
    /*
     * The PCK chain: a chain supplied with the collateral takes precedence (Intel's
     * reference tools pass the PCK certificate beside the quote, and PPID forms, types
     * 1-4, carry none); otherwise the quote's own chain (type 5). Either way the QE
     * report must verify with that certificate's key, which binds it to this platform.
     */
    const uint8_t *pem = col->pck_cert_chain;
    size_t pem_len = col->pck_cert_chain_len;
    if (pem == NULL) {
        if (q->cert_type != 5) {
            AT_FAIL(e, AT_E_COLLATERAL, "pck_chain",
                    "certification data type %u carries no PCK certificate and the collateral "
                    "has no pck_cert_chain",
                    q->cert_type);
        }
        pem = q->cert_data;
        pem_len = q->cert_data_len;
    }
    uint8_t key[32];
    if (o->cache != NULL) {
        if (cache_key(col, pem, pem_len, root, key) != 0) {
            AT_FAIL(e, AT_E_CRYPTO, NULL, "cannot hash collateral");
        }
        struct at_cache_obj *hit = at_cache_get(o->cache, key, o->at);
        if (hit != NULL) {
            *out = (struct at_dcap_verified *)hit;
            return at_ok();
        }
    }
    struct at_dcap_verified *v;
    AT_TRY(at_dcap_collateral_verify(col, pem, pem_len, root, o->at, &v, e));
    if (o->cache != NULL) {
        at_cache_put(o->cache, key, &v->obj, v->valid_from, v->valid_until);
    }
    *out = v;
    return at_ok();
}

/* A parsed attestation key, cached by its bytes: one QE key signs many quotes. */
struct ak_obj {
    struct at_cache_obj obj;
    EVP_PKEY *key;
};

static void ak_destroy(struct at_cache_obj *o)
{
    struct ak_obj *a = (struct ak_obj *)o;
    EVP_PKEY_free(a->key);
    free(a);
}

/* *out gets a new EVP_PKEY reference. */
static at_status attestation_key(const uint8_t xy[64], struct at_cache *cache, EVP_PKEY **out,
                                 struct at_err *e)
{
    static const char domain[] = "attestd/dcap/attestation-key";
    uint8_t key[32];
    if (cache != NULL) {
        if (at_sha256_parts(key, domain, sizeof(domain), xy, (size_t)64, NULL) != 0) {
            AT_FAIL(e, AT_E_CRYPTO, NULL, "digest failed");
        }
        struct ak_obj *hit = (struct ak_obj *)at_cache_get(cache, key, 0);
        if (hit != NULL) {
            EVP_PKEY_up_ref(hit->key);
            *out = hit->key;
            at_cache_obj_unref(&hit->obj);
            return at_ok();
        }
    }
    EVP_PKEY *pk = NULL;
    AT_TRY(at_ec_key_from_xy(AT_CURVE_P256, xy, 64, &pk, e));
    if (cache != NULL) {
        struct ak_obj *a = calloc(1, sizeof(*a));
        if (a != NULL) {
            at_cache_obj_init(&a->obj, ak_destroy);
            EVP_PKEY_up_ref(pk);
            a->key = pk;
            at_cache_put(cache, key, &a->obj, INT64_MIN, INT64_MAX);
            at_cache_obj_unref(&a->obj);
        }
    }
    *out = pk;
    return at_ok();
}

static at_status check_binding(const struct at_dcap_quote *q, struct at_err *e)
{
    uint8_t h[32];
    if (at_sha256_parts(h, q->att_key, (size_t)64, q->qe_auth, q->qe_auth_len, NULL) != 0) {
        AT_FAIL(e, AT_E_CRYPTO, "qe_report_data_binding", "digest failed");
    }
    const uint8_t *rd = q->qe_report + AT_SGX_OFF_REPORTDATA;
    static const uint8_t zero[32];
    /* QVL checks the first half; go-tdx-guest all 64 bytes. Do both. */
    if (!at_ct_equal(rd, h, 32) || !at_ct_equal(rd + 32, zero, 32)) {
        AT_FAIL(e, AT_E_MISMATCH, "qe_report_data_binding",
                "QE report data is not SHA-256(attestation key || QE auth data) || zeros");
    }
    return at_ok();
}

static at_status add_advisories(struct at_dcap_result *r, struct at_tcb_eval_result *ev,
                                bool is_tdx, struct at_err *e)
{
    r->has_tcb_status = true;
    r->tcb_status = ev->final_status;
    r->platform_status = is_tdx ? ev->tdx_status : ev->sgx_status;
    r->qe_status = ev->qe_status;
    r->module_status = ev->module_status;
    r->tcb_date = ev->tcb_date;
    r->advisories = ev->advisories;
    r->n_advisories = ev->n_advisories;
    ev->advisories = NULL;
    ev->n_advisories = 0;
    const char *st = is_tdx ? "attester_tcb_status" : "x-ms-sgx-tcb-status";
    const char *adv = is_tdx ? "attester_advisory_ids" : "x-ms-sgx-advisory-ids";
    AT_TRY(at_claims_add_str(&r->claims, st, NULL, at_tcb_status_name(r->tcb_status), e));
    for (size_t i = 0; i < r->n_advisories; i++) {
        AT_TRY(at_claims_add_str(&r->claims, adv, NULL, r->advisories[i], e));
    }
    return at_ok();
}

static at_status collateral_claim(struct at_dcap_result *r, const struct at_dcap_verified *v,
                                  const uint8_t *quote, size_t quote_len, bool is_tdx,
                                  struct at_err *e)
{
    uint8_t qh[32];
    char qhex[65];
    if (at_sha256(quote, quote_len, qh) != 0) {
        AT_FAIL(e, AT_E_CRYPTO, NULL, "digest failed");
    }
    at_hex_encode(qh, 32, qhex);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "qeidcertshash", v->qeidcertshash,
                          "qeidcrlhash", v->qeidcrlhash, "qeidhash", v->qeidhash, "quotehash", qhex,
                          "tcbinfocertshash", v->tcbinfocertshash, "tcbinfocrlhash",
                          v->tcbinfocrlhash, "tcbinfohash", v->tcbinfohash);
    if (j == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    at_status s = at_claims_add_json(
        &r->claims, is_tdx ? "x-ms-tdx-collateral" : "x-ms-sgx-collateral", NULL, j, e);
    json_decref(j);
    return s;
}

static at_status verify(enum at_dcap_tee expect, const uint8_t *quote, size_t quote_len,
                        const struct at_dcap_collateral *col, const struct at_dcap_verify_opts *o,
                        struct at_dcap_result *r, struct at_err *e)
{
    /* Step 1: structure. */
    struct at_dcap_quote q;
    AT_TRY(at_dcap_quote_parse(quote, quote_len, &q, e));
    bool is_tdx = q.tee_type == AT_DCAP_TEE_TDX;
    if (is_tdx != (expect == AT_DCAP_TDX)) {
        AT_FAIL(e, AT_E_MISMATCH, "tee_type", "expected a%s quote, got a%s quote",
                expect == AT_DCAP_TDX ? " TDX" : "n SGX", is_tdx ? " TDX" : "n SGX");
    }
    if (is_tdx) {
        AT_TRY(at_tdx_report_claims(&q, &r->claims, e));
    } else {
        AT_TRY(at_sgx_report_claims(q.body, &r->claims, e));
    }
    r->has_claims = true;
    if (col == NULL) {
        AT_FAIL(e, AT_E_COLLATERAL, "collateral",
                "no collateral: a quote is never accepted without TCB info, QE identity and CRLs");
    }
    X509 *root = o->root != NULL ? o->root : at_root_intel_sgx();

    /* Steps 2–5: PCK chain, CRLs, TCB info, QE identity (cached). */
    struct at_dcap_verified *v = NULL;
    AT_TRY(get_verified(col, &q, o, root, &v, e));
    at_status s = at_ok();
    struct at_tcb_eval_result ev;
    memset(&ev, 0, sizeof(ev));
    if (v->tcb_info.is_tdx != is_tdx) {
        s = at_fail_(e, AT_E_MISMATCH, "tcb_info_type_match", __FILE__, __LINE__,
                     "TCB info is for %s but the quote is %s", v->tcb_info.is_tdx ? "TDX" : "SGX",
                     is_tdx ? "TDX" : "SGX");
        goto out;
    }
    if (v->qe_identity.id != (is_tdx ? AT_QEID_TD_QE : AT_QEID_QE)) {
        s = at_fail_(e, AT_E_MISMATCH, "qe_identity_type_match", __FILE__, __LINE__,
                     "QE identity must be %s for %s quotes", is_tdx ? "TD_QE" : "QE",
                     is_tdx ? "TDX" : "SGX");
        goto out;
    }
    /* Step 6: QE report signed by the PCK key. */
    s = at_ecdsa_verify_raw(v->pck_key, at_md_sha256(), q.qe_report, AT_SGX_REPORT_LEN,
                            q.qe_report_sig, 64, false, "qe_report_signature", e);
    if (!at_is_ok(s)) {
        goto out;
    }
    /* Step 7: the attestation key is the one the QE vouched for. */
    s = check_binding(&q, e);
    if (!at_is_ok(s)) {
        goto out;
    }
    /* Step 9: the quote signature by the attestation key. */
    EVP_PKEY *ak = NULL;
    s = attestation_key(q.att_key, o->cache, &ak, e);
    if (!at_is_ok(s)) {
        goto out;
    }
    s = at_ecdsa_verify_raw(ak, at_md_sha256(), quote, q.signed_len, q.signature, 64, false,
                            "quote_signature", e);
    EVP_PKEY_free(ak);
    if (!at_is_ok(s)) {
        goto out;
    }
    /* Steps 8, 10, 11: QE identity, TDX module, TCB levels and convergence. */
    struct at_tcb_eval_input in = {
        .is_tdx = is_tdx,
        .quote_version = q.version,
        .pck = &v->pck,
        .qe_report = q.qe_report,
    };
    if (is_tdx) {
        in.tee_tcb_svn = q.body + AT_TD_OFF_TEE_TCB_SVN;
        in.mrsignerseam = q.body + AT_TD_OFF_MRSIGNERSEAM;
        in.seam_attributes = q.body + AT_TD_OFF_SEAMATTRIBUTES;
        in.tee_tcb_svn2 = q.body_type == AT_BODY_TD15 ? q.body + AT_TD_OFF_TEE_TCB_SVN2 : NULL;
    }
    s = at_tcb_evaluate(&v->tcb_info, &v->qe_identity, &in, &ev, e);
    if (at_is_ok(s) || s.code == AT_E_TCB_NOT_SUPPORTED || s.code == AT_E_REVOKED) {
        at_status s2 = add_advisories(r, &ev, is_tdx, e);
        if (at_is_ok(s)) {
            s = s2;
        }
    }
    if (!at_is_ok(s)) {
        goto out;
    }
    s = collateral_claim(r, v, quote, quote_len, is_tdx, e);
    if (at_is_ok(s) && q.trailing_garbage_len > 0) {
        s = at_fail_at_(e, AT_E_TRAILING, "trailing_data", q.trailing_garbage_off, __FILE__,
                        __LINE__,
                        "%zu unsigned non-zero bytes after the signature data at offset %zu",
                        q.trailing_garbage_len, q.trailing_garbage_off);
        at_err_check(e, "quote_structure");
    }
out:
    at_tcb_eval_result_clear(&ev);
    at_cache_obj_unref(&v->obj);
    return s;
}

at_status at_dcap_verify(enum at_dcap_tee expect, const uint8_t *quote, size_t quote_len,
                         const struct at_dcap_collateral *col,
                         const struct at_dcap_verify_opts *opts, struct at_dcap_result *res,
                         struct at_err *e)
{
    return verify(expect, quote, quote_len, col, opts, res, e);
}

struct platform_obj {
    struct at_cache_obj obj;
    uint8_t fmspc[6];
    const char *ca;
};

static void platform_destroy(struct at_cache_obj *o)
{
    free(o);
}

static at_status platform_of_chain(const uint8_t *pem, size_t len, uint8_t fmspc[6],
                                   const char **ca, struct at_err *e)
{
    STACK_OF(X509) *chain = NULL;
    AT_TRY(at_x509_pem_chain(pem, len, &chain, "pck_chain", e));
    X509 *leaf = NULL;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        if (at_x509_cn_is(sk_X509_value(chain, i), "Intel SGX PCK Certificate")) {
            leaf = sk_X509_value(chain, i);
        }
    }
    struct at_pck_ext ext;
    at_status s = leaf != NULL ? at_pck_ext_parse(leaf, &ext, e)
                               : at_fail_(e, AT_E_CHAIN, "pck_chain", __FILE__, __LINE__,
                                          "pck_chain: no 'Intel SGX PCK Certificate'");
    if (at_is_ok(s)) {
        if (at_x509_issuer_cn_is(leaf, "Intel SGX PCK Platform CA")) {
            *ca = "platform";
        } else if (at_x509_issuer_cn_is(leaf, "Intel SGX PCK Processor CA")) {
            *ca = "processor";
        } else {
            s = at_fail_(e, AT_E_CHAIN, "pck_chain", __FILE__, __LINE__,
                         "pck_chain: PCK certificate is not issued by an Intel SGX PCK CA");
        }
        memcpy(fmspc, ext.fmspc, 6);
    }
    sk_X509_pop_free(chain, X509_free);
    return s;
}

at_status at_dcap_quote_platform(const uint8_t *quote, size_t quote_len, struct at_cache *cache,
                                 uint8_t fmspc[6], const char **ca, struct at_err *e)
{
    struct at_dcap_quote q;
    AT_TRY(at_dcap_quote_parse(quote, quote_len, &q, e));
    if (q.cert_type != 5) {
        AT_FAIL(e, AT_E_COLLATERAL, "pck_chain",
                "certification data type %u carries no PCK certificate to look collateral up by",
                q.cert_type);
    }
    static const char domain[] = "attestd/dcap/platform";
    uint8_t key[32];
    if (cache != NULL) {
        if (at_sha256_parts(key, domain, sizeof(domain), q.cert_data, q.cert_data_len, NULL) != 0) {
            AT_FAIL(e, AT_E_CRYPTO, NULL, "digest failed");
        }
        struct platform_obj *hit = (struct platform_obj *)at_cache_get(cache, key, 0);
        if (hit != NULL) {
            memcpy(fmspc, hit->fmspc, 6);
            *ca = hit->ca;
            at_cache_obj_unref(&hit->obj);
            return at_ok();
        }
    }
    AT_TRY(platform_of_chain(q.cert_data, q.cert_data_len, fmspc, ca, e));
    if (cache != NULL) {
        struct platform_obj *o = calloc(1, sizeof(*o));
        if (o != NULL) {
            at_cache_obj_init(&o->obj, platform_destroy);
            memcpy(o->fmspc, fmspc, 6);
            o->ca = *ca;
            at_cache_put(cache, key, &o->obj, INT64_MIN, INT64_MAX);
            at_cache_obj_unref(&o->obj);
        }
    }
    return at_ok();
}
