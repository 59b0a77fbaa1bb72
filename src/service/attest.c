/*
 * The attestation use case (maa-api.md §2.1–§2.3; the SevSnpVm verification and binding
 * are in attest_snp.c): decode → verify with collateral
 * from the store → bind runtime/init-time data → evaluate the stored, default or draft
 * policy → assemble and sign the token.
 */
#include "service/service_int.h"

#include "base/encoding.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "evidence/dcap.h"
#include "evidence/openenclave.h"

#include <stdlib.h>
#include <string.h>

void at_attest_result_clear(struct at_attest_result *r)
{
    free(r->token);
    json_decref(r->explain);
    memset(r, 0, sizeof(*r));
}

/* Everything one request owns, released in one place. */
struct attest_ctx {
    uint8_t *evidence;
    size_t evidence_len;
    uint8_t *runtime;
    size_t runtime_len;
    json_t *runtime_json;
    uint8_t *inittime;
    size_t inittime_len;
    json_t *inittime_json;
    struct at_dcap_result vr;
    struct svc_collateral *col;
    struct svc_signer *signer;
    struct svc_policy *stored;
    struct at_policy *draft;
    struct at_claims incoming;
    struct at_policy_result pr;
    json_t *token;
};

static void ctx_clear(struct attest_ctx *c)
{
    free(c->evidence);
    free(c->runtime);
    json_decref(c->runtime_json);
    free(c->inittime);
    json_decref(c->inittime_json);
    at_dcap_result_clear(&c->vr);
    if (c->col != NULL) {
        at_cache_obj_unref(&c->col->obj);
    }
    if (c->signer != NULL) {
        at_cache_obj_unref(&c->signer->obj);
    }
    if (c->stored != NULL) {
        at_cache_obj_unref(&c->stored->obj);
    }
    at_policy_free(c->draft);
    at_claims_clear(&c->incoming);
    at_policy_result_clear(&c->pr);
    json_decref(c->token);
}

static at_status decode_data(const struct at_data *d, const char *what, uint8_t **out,
                             size_t *len, json_t **json, struct at_err *e)
{
    if (!d->present) {
        return at_ok();
    }
    at_status s = at_b64_decode_public(d->data_b64, d->data_b64_len, out, len, e);
    if (!at_is_ok(s)) {
        at_err_context(e, what);
        return s;
    }
    if (d->is_json) {
        json_error_t je;
        *json = json_loadb((const char *)*out, *len, JSON_REJECT_DUPLICATES, &je);
        if (*json == NULL) {
            AT_FAIL(e, AT_E_PARSE, what, "%s has dataType JSON but is not valid JSON: %s", what,
                    je.text);
        }
    }
    return at_ok();
}

/* SHA-256(data) must equal `field[0,32)` (constant-time). */
static at_status bind(const uint8_t *data, size_t len, const struct at_claim *field,
                      const char *what, const char *where, const char *check, struct at_err *e)
{
    if (field == NULL || field->kind != AT_CLAIM_BYTES || field->v.bytes.len < 32) {
        AT_FAIL(e, AT_E_INTERNAL, check, "%s: the evidence has no field to bind it to", what);
    }
    uint8_t h[32];
    if (at_sha256(len > 0 ? (const void *)data : (const void *)"", len, h) != 0) {
        AT_FAIL(e, AT_E_CRYPTO, check, "digest failed");
    }
    if (!at_ct_equal(h, field->v.bytes.p, 32)) {
        AT_FAIL(e, AT_E_MISMATCH, check,
                "SHA-256 of %s does not match %s of the evidence", what, where);
    }
    return at_ok();
}

static at_status verify_dcap(struct at_service *svc, uint64_t gen,
                             const struct at_attest_request *req, struct attest_ctx *c,
                             struct at_err *e)
{
    const uint8_t *quote = c->evidence;
    size_t quote_len = c->evidence_len;
    struct at_oe_evidence oe;
    memset(&oe, 0, sizeof(oe));
    if (req->type == AT_ATT_OPEN_ENCLAVE) {
        AT_TRY(at_oe_unwrap(c->evidence, c->evidence_len, &oe, e));
        quote = oe.quote;
        quote_len = oe.quote_len;
    }
    bool tdx = req->type == AT_ATT_TDX_VM;
    uint8_t fmspc[6];
    const char *ca;
    AT_TRY(at_dcap_quote_platform(quote, quote_len, svc->dcap_cache, fmspc, &ca, e));
    at_status s = svc_collateral_get(svc, gen, tdx ? "tdx" : "sgx", fmspc, ca, &c->col, e);
    if (!at_is_ok(s)) {
        char hex[13];
        at_hex_encode(fmspc, 6, hex);
        at_err_context(e, tdx ? "TDX collateral" : "SGX collateral");
        if (s.code == AT_E_COLLATERAL) {
            e->msg[0] = '\0';
            snprintf(e->msg, sizeof(e->msg),
                     "no collateral for FMSPC %s (PCK %s CA): import it with "
                     "'attestctl collateral import'",
                     hex, ca);
        }
        return s;
    }
    struct at_dcap_verify_opts o = {.at = at_service_now(svc), .root = svc->sgx_root,
                                    .cache = svc->dcap_cache};
    AT_TRY(at_dcap_verify(tdx ? AT_DCAP_TDX : AT_DCAP_SGX, quote, quote_len, &c->col->col, &o,
                          &c->vr, e));
    if (oe.has_custom_claims) {
        const struct at_claim *rd = at_claims_find(&c->vr.claims, "x-ms-sgx-report-data", NULL);
        AT_TRY(at_oe_check_binding(&oe, rd->v.bytes.p, e));
    }
    return at_ok();
}

/* Verifier claims + request-derived claims, as the policy sees them. */
static at_status build_incoming(const struct at_attest_request *req, struct attest_ctx *c,
                                struct at_err *e)
{
    bool sgx = req->type != AT_ATT_TDX_VM;
    for (size_t i = 0; i < c->vr.claims.count; i++) {
        AT_TRY(at_claims_add_copy(&c->incoming, &c->vr.claims.items[i], e));
    }
    const struct at_claim *rd = at_claims_find(&c->vr.claims,
                                               sgx ? "x-ms-sgx-report-data" : "tdx_report_data",
                                               NULL);
    if (c->runtime != NULL || req->runtime_data.present) {
        AT_TRY(bind(c->runtime, c->runtime_len, rd, "runtimeData", "REPORTDATA[0,32)",
                    "runtime_data_binding", e));
        if (c->runtime_json != NULL) {
            AT_TRY(at_claims_add_json(&c->incoming, "x-ms-runtime", NULL, c->runtime_json, e));
        } else if (sgx) {
            char *b = at_b64url_dup(c->runtime, c->runtime_len);
            if (b == NULL) {
                AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
            }
            at_status s = at_claims_add_str(&c->incoming, "x-ms-sgx-ehd", NULL, b, e);
            free(b);
            AT_TRY(s);
        }
    }
    if (req->init_time_data.present) {
        if (!sgx) {
            AT_FAIL(e, AT_E_UNSUPPORTED, "init_time_data_binding",
                    "initTimeData is not supported for TdxVm (no field binds it)");
        }
        /* SGX KSS: SHA-256(initTimeData) = CONFIGID[0,32) (claim-sets.md §1). */
        AT_TRY(bind(c->inittime, c->inittime_len,
                    at_claims_find(&c->vr.claims, "x-ms-sgx-config-id", NULL), "initTimeData",
                    "CONFIGID[0,32)", "init_time_data_binding", e));
        if (c->inittime_json != NULL) {
            AT_TRY(at_claims_add_json(&c->incoming, "x-ms-inittime", NULL, c->inittime_json, e));
        }
    }
    return at_ok();
}

static at_status set_str(json_t *o, const char *k, const char *v, struct at_err *e)
{
    if (json_object_set_new(o, k, json_string(v)) != 0) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    return at_ok();
}

static at_status set_new(json_t *o, const char *k, json_t *v, struct at_err *e)
{
    if (v == NULL || json_object_set_new(o, k, v) != 0) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    return at_ok();
}

/* The token body: service claims (claim-sets.md §1–§3, §6), then policy output (§9). */
static at_status build_token(struct at_service *svc, const struct at_attest_request *req,
                             struct attest_ctx *c, const char *issuer, const char *policy_hash,
                             int64_t lifetime, struct at_err *e)
{
    int64_t now = at_service_now(svc);
    char jti[65];
    AT_TRY(at_token_jti(jti, e));
    json_t *t = json_object();
    c->token = t;
    if (t == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    AT_TRY(set_new(t, "exp", json_integer(now + lifetime), e));
    AT_TRY(set_new(t, "iat", json_integer(now), e));
    AT_TRY(set_str(t, "iss", issuer, e));
    AT_TRY(set_str(t, "jti", jti, e));
    AT_TRY(set_new(t, "nbf", json_integer(now), e));
    json_t *claims = at_claims_to_json(&c->incoming);
    if (claims == NULL || json_object_update(t, claims) != 0) {
        json_decref(claims);
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    json_decref(claims);
    bool sgx = req->type != AT_ATT_TDX_VM;
    if (sgx) {
        /* Deprecated copies MAA still emits (maa-api.md §3.3). */
        json_t *ehd = json_object_get(t, "x-ms-sgx-ehd");
        if (ehd != NULL) {
            AT_TRY(set_new(t, "maa-ehd", json_deep_copy(ehd), e));
            AT_TRY(set_new(t, "aas-ehd", json_deep_copy(ehd), e));
        }
        json_t *col = json_object_get(t, "x-ms-sgx-collateral");
        if (col != NULL) {
            AT_TRY(set_new(t, "maa-attestationcollateral", json_deep_copy(col), e));
        }
    } else {
        AT_TRY(set_str(t, "eat_profile", "https://aka.ms/maa-eat-profile-tdxvm", e));
        AT_TRY(set_str(t, "intuse", "generic", e));
    }
    AT_TRY(set_str(t, "x-ms-ver", "1.0", e));
    if (req->nonce != NULL) {
        AT_TRY(set_str(t, "nonce", req->nonce, e));
    }
    return at_policy_assemble(t, at_att_type_name(req->type), &c->pr.issued, policy_hash, e);
}

static at_status attest(struct at_service *svc, const struct at_attest_request *req,
                        struct attest_ctx *c, struct at_attest_result *res, struct at_err *e)
{
    const char *provider = req->provider != NULL ? req->provider : AT_PROVIDER_DEFAULT;
    switch (req->type) {
    case AT_ATT_SGX_ENCLAVE:
    case AT_ATT_OPEN_ENCLAVE:
    case AT_ATT_TDX_VM:
    case AT_ATT_SEV_SNP_VM:
        break;
    case AT_ATT_TPM:
        AT_FAIL(e, AT_E_UNSUPPORTED, "attestation_type",
                "attestation type %s is not supported by this attestd yet",
                at_att_type_name(req->type));
    }
    /* The provider first: an unknown provider is a 404 before any work. */
    uint64_t gen = at_store_generation(svc->store);
    AT_TRY(svc_signer_get(svc, gen, provider, &c->signer, e));
    bool report = req->type == AT_ATT_OPEN_ENCLAVE || req->type == AT_ATT_SEV_SNP_VM;
    if (req->evidence_b64 == NULL || req->evidence_b64_len == 0) {
        AT_FAIL(e, AT_E_PARSE, "evidence", "the request carries no %s",
                report ? "report" : "quote");
    }
    if (req->evidence_b64_len > (size_t)AT_LIMIT_EVIDENCE_BYTES * 2) {
        AT_FAIL(e, AT_E_LIMIT, "evidence", "evidence larger than %u bytes",
                AT_LIMIT_EVIDENCE_BYTES);
    }
    at_status s = at_b64_decode_public(req->evidence_b64, req->evidence_b64_len, &c->evidence,
                                    &c->evidence_len, e);
    if (!at_is_ok(s)) {
        at_err_context(e, report ? "report" : "quote");
        return s;
    }
    uint8_t evh[AT_SHA256_LEN];
    if (at_sha256(c->evidence, c->evidence_len, evh) == 0) {
        at_hex_encode(evh, sizeof(evh), res->evidence_sha256);
    }
    AT_TRY(decode_data(&req->runtime_data, "runtimeData", &c->runtime, &c->runtime_len,
                       &c->runtime_json, e));
    AT_TRY(decode_data(&req->init_time_data, "initTimeData", &c->inittime, &c->inittime_len,
                       &c->inittime_json, e));
    /* A draft policy is compiled before the (costlier) verification: fail fast. */
    const struct at_policy *pol;
    if (req->draft_policy != NULL) {
        s = at_policy_compile(req->draft_policy, req->draft_policy_len, AT_POLICY_LENIENT,
                              &c->draft, NULL, e);
        if (!at_is_ok(s)) {
            e->check = "draft_policy";
            at_err_context(e, "draftPolicyForAttestation");
            return s;
        }
        pol = c->draft;
    } else {
        AT_TRY(svc_policy_get(svc, gen, provider, req->type, &c->stored, e));
        pol = c->stored->policy;
    }
    snprintf(res->policy_hash, sizeof(res->policy_hash), "%s", at_policy_hash_str(pol));
    if (req->type == AT_ATT_SEV_SNP_VM) {
        struct svc_bound_data rt = {req->runtime_data.present, c->runtime, c->runtime_len,
                                    c->runtime_json};
        struct svc_bound_data it = {req->init_time_data.present, c->inittime, c->inittime_len,
                                    c->inittime_json};
        AT_TRY(svc_snp_incoming(svc, c->evidence, c->evidence_len, &rt, &it, &c->incoming, e));
    } else {
        AT_TRY(verify_dcap(svc, gen, req, c, e));
        AT_TRY(build_incoming(req, c, e));
    }
    /* The explain trace costs more than the evaluation: build it only for a denial. */
    struct at_policy_eval_opts po = {.explain = false};
    s = at_policy_eval(pol, &c->incoming, &po, &c->pr, e);
    if (!at_is_ok(s) && s.code == AT_E_POLICY) {
        struct at_err e2;
        at_err_init(&e2);
        po.explain = true;
        at_status s2 = at_policy_eval(pol, &c->incoming, &po, &c->pr, &e2);
        (void)s2; /* same verdict: evaluation is deterministic */
    }
    if (!at_is_ok(s)) {
        json_t *x = json_object();
        if (x != NULL) {
            json_object_set_new(x, "verdict",
                                json_string(at_policy_verdict_name(c->pr.verdict)));
            if (c->pr.detail != NULL) {
                json_object_set(x, "detail", c->pr.detail);
            }
            if (c->pr.explain != NULL) {
                json_object_set(x, "explain", c->pr.explain);
            }
        }
        res->explain = x;
        return s;
    }
    char issuer[512];
    snprintf(issuer, sizeof(issuer), "%s",
             req->issuer != NULL         ? req->issuer
             : svc->issuer_base != NULL ? svc->issuer_base
                                         : "https://localhost");
    int64_t lifetime = svc->token_lifetime_s > 0 ? svc->token_lifetime_s : c->signer->lifetime_s;
    AT_TRY(build_token(svc, req, c, issuer, at_policy_hash_str(pol), lifetime, e));
    snprintf(res->jti, sizeof(res->jti), "%s",
             json_string_value(json_object_get(c->token, "jti")) != NULL
                 ? json_string_value(json_object_get(c->token, "jti"))
                 : "");
    if (c->draft != NULL) {
        /* Draft-policy tokens are unsecured, as MAA returns them (maa-api.md §2.1). */
        return at_jwt_unsecured(c->token, &res->token, e);
    }
    char jku[600];
    snprintf(jku, sizeof(jku), "%s/certs", issuer);
    return at_jwt_sign(c->signer->signer, c->token, jku, false, &res->token, e);
}

at_status at_service_attest(struct at_service *svc, const struct at_attest_request *req,
                            struct at_attest_result *res, struct at_err *e)
{
    struct attest_ctx c;
    memset(&c, 0, sizeof(c));
    at_dcap_result_init(&c.vr);
    at_claims_init(&c.incoming);
    at_policy_result_init(&c.pr);
    memset(res, 0, sizeof(*res));
    at_status s = attest(svc, req, &c, res, e);
    ctx_clear(&c);
    if (!at_is_ok(s)) {
        free(res->token);
        res->token = NULL;
    }
    return s;
}
