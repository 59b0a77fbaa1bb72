/*
 * The attestation use case end to end below HTTP: a store with the test PKI's
 * collateral, the service, and tokens checked against the provider's JWKS.
 */
#include "base/encoding.h"
#include "crypto/digest.h"
#include "service/service.h"
#include "testpki.h"
#include "policy/policy.h"
#include "token/token.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

static const int64_t T0 = 1767225600; /* 2026-01-01T00:00:00Z */

struct fx {
    char dir[64];
    struct tp_pki *pki;
    struct at_store *store;
    struct at_service *svc;
    uint8_t runtime[40];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL || tu_tempdir(f->dir, sizeof(f->dir), "svc") == NULL) {
        return -1;
    }
    struct tp_pki_params pp;
    tp_pki_params_default(&pp, T0);
    f->pki = tp_pki_new(&pp);
    struct at_err e;
    at_err_init(&e);
    if (f->pki == NULL || !at_is_ok(at_store_open(f->dir, tu_kek(), &f->store, &e)) ||
        !at_is_ok(at_service_ensure_default(f->store, T0, &e))) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    for (int tdx = 0; tdx < 2; tdx++) {
        struct tp_collateral_params cp;
        struct at_dcap_collateral col;
        tp_collateral_params_default(&cp, f->pki, tdx != 0);
        if (tp_collateral_build(f->pki, &cp, &col) != 0 ||
            !at_is_ok(at_store_collateral_put(f->store, tdx ? "tdx" : "sgx", pp.ext.fmspc,
                                              "platform", &col, &e))) {
            fprintf(stderr, "setup collateral: %s\n", e.msg);
            return -1;
        }
        tp_collateral_free(&col);
    }
    char root[128];
    snprintf(root, sizeof(root), "%s/root.pem", f->dir);
    if (tp_pki_write_root_pem(f->pki, root) != 0) {
        return -1;
    }
    struct at_service_config cfg = {.store = f->store,
                                    .issuer_base = "https://attestd.test",
                                    .fixed_time = true,
                                    .fixed_now = T0 + 86400,
                                    .sgx_root_pem_path = root};
    if (!at_is_ok(at_service_new(&cfg, &f->svc, &e))) {
        fprintf(stderr, "setup service: %s\n", e.msg);
        return -1;
    }
    for (size_t i = 0; i < sizeof(f->runtime); i++) {
        f->runtime[i] = (uint8_t)(0xa0 + i);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    at_service_free(f->svc);
    at_store_close(f->store);
    tp_pki_free(f->pki);
    int rc = tu_rm_tree(f->dir);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* A quote of `kind` whose report data binds `runtime` (or not, with bind == false). */
static char *quote_b64(struct fx *f, enum tp_quote_kind kind, const uint8_t *rt, size_t rt_len,
                       void (*tweak)(struct tp_quote_params *))
{
    struct tp_quote_params qp;
    tp_quote_params_default(&qp, kind);
    uint8_t h[32];
    assert_int_equal(at_sha256(rt, rt_len, h), 0);
    memcpy(tp_quote_kind_is_tdx(kind) ? qp.td.report_data : qp.enclave.report_data, h, 32);
    if (tweak != NULL) {
        tweak(&qp);
    }
    uint8_t *q;
    size_t n;
    assert_int_equal(tp_quote_build(f->pki, &qp, &q, &n), 0);
    char *b = at_b64url_dup(q, n);
    free(q);
    return b;
}

static json_t *verify_token(struct fx *f, const char *jwt)
{
    struct at_err e;
    at_err_init(&e);
    json_t *jwks = at_service_jwks(f->svc, NULL, &e);
    assert_non_null(jwks);
    json_t *payload = NULL;
    at_status s = at_jwt_verify(jwt, jwks, &payload, &e);
    if (!at_is_ok(s)) {
        fprintf(stderr, "verify: %s\n", e.msg);
    }
    assert_true(at_is_ok(s));
    json_decref(jwks);
    return payload;
}

static at_status attest(struct fx *f, struct at_attest_request *rq, struct at_attest_result *r,
                        struct at_err *e)
{
    at_err_init(e);
    memset(r, 0, sizeof(*r));
    return at_service_attest(f->svc, rq, r, e);
}

static void test_sgx_binary_runtime(void **state)
{
    struct fx *f = *state;
    char *q = quote_b64(f, TP_SGX_V3, f->runtime, sizeof(f->runtime), NULL);
    char *rt = at_b64url_dup(f->runtime, sizeof(f->runtime));
    struct at_attest_request rq = {.type = AT_ATT_SGX_ENCLAVE,
                                   .evidence_b64 = q,
                                   .evidence_b64_len = strlen(q),
                                   .runtime_data = {true, rt, strlen(rt), false},
                                   .nonce = "n-123"};
    struct at_attest_result r;
    struct at_err e;
    at_status s = attest(f, &rq, &r, &e);
    if (!at_is_ok(s)) {
        fprintf(stderr, "attest: %s [%s]\n", e.msg, e.check ? e.check : "");
    }
    assert_true(at_is_ok(s));
    json_t *p = verify_token(f, r.token);
    assert_string_equal(json_string_value(json_object_get(p, "x-ms-attestation-type")), "sgx");
    assert_string_equal(json_string_value(json_object_get(p, "x-ms-sgx-mrenclave")),
                        "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f");
    assert_string_equal(json_string_value(json_object_get(p, "x-ms-sgx-ehd")), rt);
    assert_string_equal(json_string_value(json_object_get(p, "maa-ehd")), rt);
    assert_string_equal(json_string_value(json_object_get(p, "nonce")), "n-123");
    assert_string_equal(json_string_value(json_object_get(p, "iss")), "https://attestd.test");
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), T0 + 86400);
    assert_int_equal(json_integer_value(json_object_get(p, "nbf")), T0 + 86400);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), T0 + 86400 + 28800);
    assert_string_equal(json_string_value(json_object_get(p, "x-ms-ver")), "1.0");
    assert_string_equal(json_string_value(json_object_get(p, "jti")) != NULL ? "ok" : "", "ok");
    assert_int_equal(strlen(json_string_value(json_object_get(p, "jti"))), 64);
    /* The default SGX policy re-issues legacy names at the top level and in x-ms-policy. */
    assert_string_equal(json_string_value(json_object_get(p, "tee")), "sgx");
    assert_non_null(json_object_get(json_object_get(p, "x-ms-policy"), "sgx-mrenclave"));
    assert_non_null(json_object_get(p, "x-ms-sgx-collateral"));
    assert_string_equal(json_string_value(json_object_get(p, "x-ms-policy-hash")),
                        json_string_value(json_object_get(p, "x-ms-policy-hash")));
    json_decref(p);
    at_attest_result_clear(&r);

    /* The same quote with other runtime data: the binding fails. */
    f->runtime[0] ^= 1;
    char *rt2 = at_b64url_dup(f->runtime, sizeof(f->runtime));
    f->runtime[0] ^= 1;
    rq.runtime_data.data_b64 = rt2;
    rq.runtime_data.data_b64_len = strlen(rt2);
    s = attest(f, &rq, &r, &e);
    assert_int_equal(s.code, AT_E_MISMATCH);
    assert_string_equal(e.check, "runtime_data_binding");
    assert_string_equal(at_service_error_code(&e), "InvalidParameter");
    assert_null(r.token);
    free(rt2);
    free(rt);
    free(q);
}

/* A configured token lifetime overrides the provider's 8 h. */
static void test_token_lifetime(void **state)
{
    struct fx *f = *state;
    char root[128];
    snprintf(root, sizeof(root), "%s/root.pem", f->dir);
    struct at_service_config cfg = {.store = f->store,
                                    .issuer_base = "https://attestd.test",
                                    .fixed_time = true,
                                    .fixed_now = T0 + 86400,
                                    .sgx_root_pem_path = root,
                                    .token_lifetime_s = 600};
    struct at_service *svc;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_service_new(&cfg, &svc, &e)));
    char *q = quote_b64(f, TP_SGX_V3, f->runtime, 0, NULL);
    struct at_attest_request rq = {
        .type = AT_ATT_SGX_ENCLAVE, .evidence_b64 = q, .evidence_b64_len = strlen(q)};
    struct at_attest_result r;
    memset(&r, 0, sizeof(r));
    assert_true(at_is_ok(at_service_attest(svc, &rq, &r, &e)));
    json_t *p = verify_token(f, r.token);
    assert_int_equal(json_integer_value(json_object_get(p, "exp")) -
                         json_integer_value(json_object_get(p, "iat")),
                     600);
    json_decref(p);
    at_attest_result_clear(&r);
    at_service_free(svc);
    free(q);
}

static void test_sgx_json_runtime_and_draft(void **state)
{
    struct fx *f = *state;
    static const char json_rt[] = "{\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\"}}";
    char *q = quote_b64(f, TP_SGX_V3, (const uint8_t *)json_rt, strlen(json_rt), NULL);
    char *rt = at_b64url_dup((const uint8_t *)json_rt, strlen(json_rt));
    static const char draft[] = "version=1.0; authorizationrules { => permit(); }; "
                                "issuancerules { c:[type==\"x-ms-sgx-svn\"] => issue(type=\"svn-copy\", value=c.value); };";
    struct at_attest_request rq = {.type = AT_ATT_SGX_ENCLAVE,
                                   .evidence_b64 = q,
                                   .evidence_b64_len = strlen(q),
                                   .runtime_data = {true, rt, strlen(rt), true},
                                   .draft_policy = draft,
                                   .draft_policy_len = strlen(draft)};
    struct at_attest_result r;
    struct at_err e;
    assert_true(at_is_ok(attest(f, &rq, &r, &e)));
    /* Unsecured: header {"alg":"none"}, empty signature. */
    assert_memory_equal(r.token, "eyJhbGciOiJub25lIn0.", 20);
    assert_int_equal(r.token[strlen(r.token) - 1], '.');
    const char *body = r.token + 20;
    uint8_t *pj;
    size_t pl;
    assert_true(at_is_ok(at_b64_decode_any(body, strlen(body) - 1, &pj, &pl, &e)));
    json_t *p = json_loadb((const char *)pj, pl, 0, NULL);
    free(pj);
    assert_non_null(p);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(p, "x-ms-runtime"), "jwk"), "kty")),
        "EC");
    assert_null(json_object_get(p, "x-ms-sgx-ehd"));
    assert_int_equal(json_integer_value(json_object_get(p, "svn-copy")), 4);
    char hash[44];
    assert_true(at_is_ok(at_policy_hash(draft, strlen(draft), hash, &e)));
    assert_string_equal(json_string_value(json_object_get(p, "x-ms-policy-hash")), hash);
    json_decref(p);
    at_attest_result_clear(&r);

    /* A deny-all draft: PolicyEvaluationError with an explanation, no token. */
    static const char deny[] = "version=1.0; authorizationrules { => deny(); };";
    rq.draft_policy = deny;
    rq.draft_policy_len = strlen(deny);
    at_status s = attest(f, &rq, &r, &e);
    assert_int_equal(s.code, AT_E_POLICY);
    assert_string_equal(at_service_error_code(&e), "PolicyEvaluationError");
    assert_non_null(r.explain);
    assert_null(r.token);
    at_attest_result_clear(&r);

    /* A draft that does not parse: PolicyParsingError. */
    rq.draft_policy = "version=1.0; authorizationrules { => permit(; };";
    rq.draft_policy_len = strlen(rq.draft_policy);
    s = attest(f, &rq, &r, &e);
    assert_int_equal(s.code, AT_E_PARSE);
    assert_string_equal(at_service_error_code(&e), "PolicyParsingError");
    at_attest_result_clear(&r);
    free(rt);
    free(q);
}

static void flip_quote_sig(struct tp_quote_params *qp)
{
    qp->bad_quote_sig = true;
}

static void test_failures(void **state)
{
    struct fx *f = *state;
    struct at_attest_result r;
    struct at_err e;
    char *q = quote_b64(f, TP_SGX_V3, f->runtime, 0, flip_quote_sig);
    struct at_attest_request rq = {
        .type = AT_ATT_SGX_ENCLAVE, .evidence_b64 = q, .evidence_b64_len = strlen(q)};
    at_status s = attest(f, &rq, &r, &e);
    assert_int_equal(s.code, AT_E_SIGNATURE);
    assert_string_equal(e.check, "quote_signature");
    assert_string_equal(at_service_error_code(&e), "InvalidParameter");
    assert_null(r.token);
    at_attest_result_clear(&r);

    /* Not base64. */
    rq.evidence_b64 = "***";
    rq.evidence_b64_len = 3;
    assert_int_equal(attest(f, &rq, &r, &e).code, AT_E_PARSE);
    /* Unknown provider: 404. */
    rq.evidence_b64 = q;
    rq.evidence_b64_len = strlen(q);
    rq.provider = "nope";
    assert_int_equal(attest(f, &rq, &r, &e).code, AT_E_NOT_FOUND);
    assert_string_equal(at_service_error_code(&e), "NotFound");
    rq.provider = NULL;
    /* An SGX quote sent as TDX: a TDX type mismatch, never a token. */
    rq.type = AT_ATT_TDX_VM;
    s = attest(f, &rq, &r, &e);
    assert_false(at_is_ok(s));
    assert_null(r.token);
    /* An SGX quote sent as SevSnpVm: not the {SnpReport, VcekCertChain} envelope. */
    rq.type = AT_ATT_SEV_SNP_VM;
    assert_int_equal(attest(f, &rq, &r, &e).code, AT_E_PARSE);
    assert_null(r.token);
    /* Not implemented yet: TPM. */
    rq.type = AT_ATT_TPM;
    assert_int_equal(attest(f, &rq, &r, &e).code, AT_E_UNSUPPORTED);
    free(q);
}

static void test_tdx_and_oe(void **state)
{
    struct fx *f = *state;
    char *q = quote_b64(f, TP_TDX_V4, f->runtime, sizeof(f->runtime), NULL);
    char *rt = at_b64url_dup(f->runtime, sizeof(f->runtime));
    struct at_attest_request rq = {.type = AT_ATT_TDX_VM,
                                   .evidence_b64 = q,
                                   .evidence_b64_len = strlen(q),
                                   .runtime_data = {true, rt, strlen(rt), false}};
    struct at_attest_result r;
    struct at_err e;
    at_status s = attest(f, &rq, &r, &e);
    if (!at_is_ok(s)) {
        fprintf(stderr, "tdx: %s\n", e.msg);
    }
    assert_true(at_is_ok(s));
    json_t *p = verify_token(f, r.token);
    assert_string_equal(json_string_value(json_object_get(p, "x-ms-attestation-type")), "tdxvm");
    assert_string_equal(json_string_value(json_object_get(p, "attester_tcb_status")), "UpToDate");
    assert_string_equal(json_string_value(json_object_get(p, "eat_profile")),
                        "https://aka.ms/maa-eat-profile-tdxvm");
    assert_non_null(json_object_get(p, "tdx_mrtd"));
    json_decref(p);
    at_attest_result_clear(&r);
    free(q);

    /* Open Enclave: the 16-byte legacy header around an SGX quote. */
    struct tp_quote_params qp;
    tp_quote_params_default(&qp, TP_SGX_V3);
    uint8_t *quote;
    size_t n;
    assert_int_equal(tp_quote_build(f->pki, &qp, &quote, &n), 0);
    uint8_t *oe = malloc(16 + n);
    uint8_t hdr[16] = {1, 0, 0, 0, 2, 0, 0, 0};
    for (int i = 0; i < 8; i++) {
        hdr[8 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    memcpy(oe, hdr, 16);
    memcpy(oe + 16, quote, n);
    char *b = at_b64url_dup(oe, 16 + n);
    rq = (struct at_attest_request){
        .type = AT_ATT_OPEN_ENCLAVE, .evidence_b64 = b, .evidence_b64_len = strlen(b)};
    assert_true(at_is_ok(attest(f, &rq, &r, &e)));
    p = verify_token(f, r.token);
    assert_string_equal(json_string_value(json_object_get(p, "x-ms-attestation-type")), "sgx");
    json_decref(p);
    at_attest_result_clear(&r);
    /* A header whose size disagrees with the data. */
    oe[8] ^= 1;
    free(b);
    b = at_b64url_dup(oe, 16 + n);
    rq.evidence_b64 = b;
    rq.evidence_b64_len = strlen(b);
    assert_int_equal(attest(f, &rq, &r, &e).code, AT_E_PARSE);
    free(b);
    free(oe);
    free(quote);
    free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_binary_runtime),
        cmocka_unit_test(test_sgx_json_runtime_and_draft),
        cmocka_unit_test(test_token_lifetime),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_tdx_and_oe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
