/*
 * at_dcap_verify against synthetic evidence from the run-time test PKI
 * (tests/support/testpki.h): every quote kind passes with concrete claims, every
 * TCB status comes out of the real pipeline, every failure path returns its exact
 * code, and truncation / bit-flip / trailing-byte sweeps never pass.
 *
 * With ATTESTD_WRITE_SEEDS=<dir> set, also writes one default quote per kind to
 * <dir> (the seeds of tests/fuzz/corpus/dcap_quote/).
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "base/encoding.h"
#include "evidence/dcap.h"
#include "evidence/dcap_pck.h"
#include "evidence/tcb_info.h"
#include "test_util.h"
#include "testpki.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 2025-06-20T00:00:00Z */
#define T0 ((int64_t)1750377600)

static struct tp_pki *g_pki;
static struct tp_pki *g_pki2; /* an unrelated PKI with the same parameters */

static const enum tp_quote_kind all_kinds[TP_QUOTE_KIND_COUNT] = {
    TP_SGX_V3, TP_SGX_V4, TP_SGX_V5, TP_TDX_V4, TP_TDX_V5_T2, TP_TDX_V5_T3};

/* ---------------------------------------------------------------- harness */

enum {
    F_ALT_ROOT = 1u << 0,      /* opts.root = same-DN impostor root */
    F_NULL_COL = 1u << 1,      /* collateral NULL */
    F_EXPECT_OTHER = 1u << 2,  /* ask for the other TEE */
    F_FOREIGN_QUOTE = 1u << 3, /* quote's PCK chain from g_pki2 */
};

struct scenario {
    enum tp_quote_kind kind;
    const struct tp_pki *pki; /* NULL = g_pki */
    struct tp_quote_params qp;
    struct tp_collateral_params cp;
    unsigned flags;
    int64_t at;
};

static void scenario_init(struct scenario *s, enum tp_quote_kind kind, const struct tp_pki *pki)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->pki = pki != NULL ? pki : g_pki;
    tp_quote_params_default(&s->qp, kind);
    tp_collateral_params_default(&s->cp, s->pki, tp_quote_kind_is_tdx(kind));
    s->at = T0;
}

static enum at_dcap_tee tee_of(enum tp_quote_kind k, unsigned flags)
{
    bool tdx = tp_quote_kind_is_tdx(k);
    if ((flags & F_EXPECT_OTHER) != 0) {
        tdx = !tdx;
    }
    return tdx ? AT_DCAP_TDX : AT_DCAP_SGX;
}

static enum at_code verify_bytes(const struct scenario *s, const uint8_t *q, size_t len,
                                 const struct at_dcap_collateral *col, struct at_dcap_result *res,
                                 struct at_err *e)
{
    struct at_dcap_verify_opts opts = {
        .at = s->at,
        .root = (s->flags & F_ALT_ROOT) != 0 ? tp_pki_alt_root(s->pki) : tp_pki_root(s->pki),
        .cache = NULL,
    };
    at_err_init(e);
    at_status st = at_dcap_verify(tee_of(s->kind, s->flags), q, len,
                                  (s->flags & F_NULL_COL) != 0 ? NULL : col, &opts, res, e);
    return st.code;
}

/* Build the quote and collateral of `s`, verify, return the code; res/e filled. */
static enum at_code run(const struct scenario *s, struct at_dcap_result *res, struct at_err *e)
{
    uint8_t *q = NULL;
    size_t len = 0;
    struct at_dcap_collateral col;
    const struct tp_pki *qpki = (s->flags & F_FOREIGN_QUOTE) != 0 ? g_pki2 : s->pki;
    assert_int_equal(tp_quote_build(qpki, &s->qp, &q, &len), 0);
    assert_int_equal(tp_collateral_build(s->pki, &s->cp, &col), 0);
    enum at_code code = verify_bytes(s, q, len, &col, res, e);
    tp_collateral_free(&col);
    free(q);
    return code;
}

static void expect_code(const struct scenario *s, enum at_code want, const char *check)
{
    struct at_dcap_result res;
    struct at_err e;
    at_dcap_result_init(&res);
    enum at_code got = run(s, &res, &e);
    if (got != want || (check != NULL && (e.check == NULL || strcmp(e.check, check) != 0))) {
        print_error("%s: want %s (check %s), got %s (check %s): %s\n", tp_quote_kind_name(s->kind),
                    at_code_name(want), check != NULL ? check : "-", at_code_name(got),
                    e.check != NULL ? e.check : "-", e.msg);
    }
    assert_int_equal(got, want);
    if (check != NULL) {
        assert_non_null(e.check);
        assert_string_equal(e.check, check);
    }
    at_dcap_result_clear(&res);
}

/* --------------------------------------------------------- claim checks */

static json_t *claim_json(const struct at_claims *cs, const char *type)
{
    const struct at_claim *c = at_claims_find(cs, type, NULL);
    if (c == NULL) {
        print_error("claim %s missing\n", type);
    }
    assert_non_null(c);
    json_t *j = at_claim_value_json(c);
    assert_non_null(j);
    return j;
}

static void claim_hex(const struct at_claims *cs, const char *type, const uint8_t *p, size_t n)
{
    json_t *j = claim_json(cs, type);
    char *h = at_hex_dup(p, n);
    assert_non_null(h);
    assert_true(json_is_string(j));
    assert_string_equal(json_string_value(j), h);
    free(h);
    json_decref(j);
}

static void claim_int(const struct at_claims *cs, const char *type, int64_t v)
{
    json_t *j = claim_json(cs, type);
    assert_true(json_is_integer(j));
    assert_int_equal(json_integer_value(j), v);
    json_decref(j);
}

static void claim_bool(const struct at_claims *cs, const char *type, bool v)
{
    json_t *j = claim_json(cs, type);
    assert_true(json_is_boolean(j));
    assert_int_equal(json_is_true(j), v);
    json_decref(j);
}

static bool has_advisory(const struct at_dcap_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_advisories; i++) {
        if (strcmp(r->advisories[i], id) == 0) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------ pass cases */

static void pass_one(enum tp_quote_kind kind, bool debug)
{
    struct scenario s;
    scenario_init(&s, kind, NULL);
    for (size_t i = 0; i < 32; i++) {
        s.qp.enclave.mrenclave[i] = (uint8_t)(0x5a ^ (i * 7));
    }
    s.qp.enclave.isvprodid = 0x1234;
    s.qp.enclave.isvsvn = 0x0102;
    if (debug) {
        s.qp.enclave.flags |= 2u;
        s.qp.td.td_attributes |= 1u;
    }
    for (size_t i = 0; i < 48; i++) {
        s.qp.td.mrtd[i] = (uint8_t)(0xa5 ^ (i * 3));
    }
    struct at_dcap_result res;
    struct at_err e;
    at_dcap_result_init(&res);
    enum at_code got = run(&s, &res, &e);
    if (got != AT_OK) {
        print_error("%s: %s (%s): %s\n", tp_quote_kind_name(kind), at_code_name(got),
                    e.check != NULL ? e.check : "-", e.msg);
    }
    assert_int_equal(got, AT_OK);
    assert_true(res.has_claims);
    assert_true(res.has_tcb_status);
    assert_int_equal(res.tcb_status, AT_TCB_UP_TO_DATE);
    assert_int_equal(res.qe_status, AT_TCB_UP_TO_DATE);
    if (tp_quote_kind_is_tdx(kind)) {
        claim_hex(&res.claims, "tdx_mrtd", s.qp.td.mrtd, 48);
        claim_hex(&res.claims, "tdx_rtmr2", s.qp.td.rtmr[2], 48);
        claim_hex(&res.claims, "tdx_report_data", s.qp.td.report_data, 64);
        claim_hex(&res.claims, "tdx_tee_tcb_svn", s.qp.td.tee_tcb_svn, 16);
        claim_bool(&res.claims, "tdx_td_attributes_debug", debug);
        claim_bool(&res.claims, "tdx_td_attributes_septve_disable", true);
        if (kind == TP_TDX_V5_T3) {
            claim_hex(&res.claims, "tdx_mrservicetd", s.qp.td.mrservicetd, 48);
        }
        assert_int_equal(res.module_status, AT_TCB_UP_TO_DATE);
    } else {
        claim_hex(&res.claims, "x-ms-sgx-mrenclave", s.qp.enclave.mrenclave, 32);
        claim_hex(&res.claims, "x-ms-sgx-mrsigner", s.qp.enclave.mrsigner, 32);
        claim_hex(&res.claims, "x-ms-sgx-report-data", s.qp.enclave.report_data, 64);
        claim_bool(&res.claims, "x-ms-sgx-is-debuggable", debug);
        claim_int(&res.claims, "x-ms-sgx-product-id", 0x1234);
        claim_int(&res.claims, "x-ms-sgx-svn", 0x0102);
    }
    at_dcap_result_clear(&res);
}

static void test_pass_all_kinds(void **state)
{
    (void)state;
    for (size_t i = 0; i < TP_QUOTE_KIND_COUNT; i++) {
        pass_one(all_kinds[i], false);
        pass_one(all_kinds[i], true);
    }
}

/* A Processor-CA PCK cert (5 extension entries) and its PCK CRL. */
static void test_pass_processor_ca(void **state)
{
    (void)state;
    struct tp_pki_params pp;
    tp_pki_params_default(&pp, T0);
    pp.ca = TP_CA_PROCESSOR;
    pp.ext.platform_entries = false;
    struct tp_pki *pki = tp_pki_new(&pp);
    assert_non_null(pki);
    struct scenario s;
    scenario_init(&s, TP_SGX_V3, pki);
    expect_code(&s, AT_OK, NULL);
    scenario_init(&s, TP_TDX_V4, pki);
    expect_code(&s, AT_OK, NULL);
    tp_pki_free(pki);
}

/* Legacy TCB info v2 (sgxtcbcompNNsvn fields) for SGX. */
static void test_pass_tcb_info_v2(void **state)
{
    (void)state;
    struct scenario s;
    scenario_init(&s, TP_SGX_V3, NULL);
    s.cp.tcb_info_version = 2;
    expect_code(&s, AT_OK, NULL);
}

/* Real buffers are often zero-padded; the PEM chain may end with NULs. */
static void test_pass_padding(void **state)
{
    (void)state;
    for (size_t i = 0; i < TP_QUOTE_KIND_COUNT; i++) {
        struct scenario s;
        scenario_init(&s, all_kinds[i], NULL);
        s.qp.trailing_zero_len = 39;
        s.qp.pem_nul_pad = 1;
        expect_code(&s, AT_OK, NULL);
    }
}

/* ------------------------------------------------------------- statuses */

static const char *const status_names[] = {"UpToDate",
                                           "SWHardeningNeeded",
                                           "ConfigurationNeeded",
                                           "ConfigurationAndSWHardeningNeeded",
                                           "OutOfDate",
                                           "OutOfDateConfigurationNeeded"};
static const enum at_tcb_status status_values[] = {
    AT_TCB_UP_TO_DATE,           AT_TCB_SW_HARDENING_NEEDED,
    AT_TCB_CONFIGURATION_NEEDED, AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    AT_TCB_OUT_OF_DATE,          AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED};

/* levels[0] is above the platform in every component; levels[1] matches with `status`. */
static void two_levels(struct tp_collateral_params *cp, const struct tp_pki *pki,
                       const char *status, bool with_advisories)
{
    const struct tp_pki_params *pp = tp_pki_params_get(pki);
    struct tp_tcb_level *l0 = &cp->levels[0], *l1 = &cp->levels[1];
    memset(l0, 0, sizeof(*l0));
    memset(l1, 0, sizeof(*l1));
    for (size_t i = 0; i < 16; i++) {
        l0->sgx[i] = (uint8_t)(pp->ext.comp_svn[i] + 1);
    }
    l0->pcesvn = (uint16_t)(pp->ext.pcesvn + 1);
    l0->tdx[0] = 4;
    l0->tdx[2] = 8;
    l0->status = "UpToDate";
    memcpy(l1->sgx, pp->ext.comp_svn, 16);
    l1->pcesvn = pp->ext.pcesvn;
    l1->tdx[0] = 3;
    l1->tdx[2] = 7;
    l1->status = status;
    l1->date = "2023-02-15T00:00:00Z";
    if (with_advisories) {
        l1->advisories[0] = "INTEL-SA-00615";
        l1->advisories[1] = "INTEL-SA-00828";
        l1->n_advisories = 2;
    }
    cp->n_levels = 2;
}

static void check_status(enum tp_quote_kind kind, const char *name, enum at_tcb_status want)
{
    struct scenario s;
    scenario_init(&s, kind, NULL);
    bool adv = strcmp(name, "UpToDate") != 0;
    two_levels(&s.cp, s.pki, name, adv);
    struct at_dcap_result res;
    struct at_err e;
    at_dcap_result_init(&res);
    enum at_code got = run(&s, &res, &e);
    if (got != AT_OK) {
        print_error("%s %s: %s (%s): %s\n", tp_quote_kind_name(kind), name, at_code_name(got),
                    e.check != NULL ? e.check : "-", e.msg);
    }
    assert_int_equal(got, AT_OK);
    assert_true(res.has_tcb_status);
    assert_int_equal(res.tcb_status, want);
    assert_int_equal(res.platform_status, want);
    if (adv) {
        assert_true(has_advisory(&res, "INTEL-SA-00615"));
        assert_true(has_advisory(&res, "INTEL-SA-00828"));
    }
    assert_string_equal(at_tcb_status_name(res.tcb_status), name);
    at_dcap_result_clear(&res);
}

static void test_status_each(void **state)
{
    (void)state;
    static const enum tp_quote_kind kinds[] = {TP_SGX_V3, TP_SGX_V5, TP_TDX_V4, TP_TDX_V5_T3};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
            check_status(kinds[k], status_names[i], status_values[i]);
        }
    }
}

static void test_status_revoked(void **state)
{
    (void)state;
    static const enum tp_quote_kind kinds[] = {TP_SGX_V3, TP_TDX_V4};
    for (size_t k = 0; k < 2; k++) {
        struct scenario s;
        scenario_init(&s, kinds[k], NULL);
        two_levels(&s.cp, s.pki, "Revoked", true);
        struct at_dcap_result res;
        struct at_err e;
        at_dcap_result_init(&res);
        assert_int_equal(run(&s, &res, &e), AT_E_REVOKED);
        assert_string_equal(e.check, "tcb_status");
        assert_true(res.has_tcb_status);
        assert_int_equal(res.tcb_status, AT_TCB_REVOKED);
        at_dcap_result_clear(&res);
    }
}

static void test_status_not_supported(void **state)
{
    (void)state;
    static const enum tp_quote_kind kinds[] = {TP_SGX_V4, TP_TDX_V5_T2};
    for (size_t k = 0; k < 2; k++) {
        /* Only the level above the platform: nothing matches. */
        struct scenario s;
        scenario_init(&s, kinds[k], NULL);
        two_levels(&s.cp, s.pki, "UpToDate", false);
        s.cp.n_levels = 1;
        expect_code(&s, AT_E_TCB_NOT_SUPPORTED, "tcb_level");
        /* One component lower than the only level disqualifies it (no CPUSVN ordering). */
        scenario_init(&s, kinds[k], NULL);
        s.cp.levels[0].sgx[15] = 1;
        s.cp.n_levels = 1;
        expect_code(&s, AT_E_TCB_NOT_SUPPORTED, "tcb_level");
        /* PCESVN below every level. */
        scenario_init(&s, kinds[k], NULL);
        s.cp.levels[0].pcesvn = 12;
        s.cp.n_levels = 1;
        expect_code(&s, AT_E_TCB_NOT_SUPPORTED, "tcb_level");
    }
    /* TDX: the TDX component (TEE_TCB_SVN[2]) below every level. */
    struct scenario s;
    scenario_init(&s, TP_TDX_V4, NULL);
    s.qp.td.tee_tcb_svn[2] = 5;
    expect_code(&s, AT_E_TCB_NOT_SUPPORTED, "tcb_level");
}

/* QE TCB: isvsvn 7 matches the OutOfDate QE level; converges to OutOfDate. */
static void test_status_qe_out_of_date(void **state)
{
    (void)state;
    struct scenario s;
    scenario_init(&s, TP_SGX_V3, NULL);
    s.qp.qe.isvsvn = 7;
    struct at_dcap_result res;
    struct at_err e;
    at_dcap_result_init(&res);
    assert_int_equal(run(&s, &res, &e), AT_OK);
    assert_int_equal(res.qe_status, AT_TCB_OUT_OF_DATE);
    assert_int_equal(res.platform_status, AT_TCB_UP_TO_DATE);
    assert_int_equal(res.tcb_status, AT_TCB_OUT_OF_DATE);
    assert_true(has_advisory(&res, "INTEL-SA-00615"));
    at_dcap_result_clear(&res);
    /* Below every QE level: not supported. */
    scenario_init(&s, TP_SGX_V3, NULL);
    s.qp.qe.isvsvn = 5;
    expect_code(&s, AT_E_TCB_NOT_SUPPORTED, NULL);
    /* QE level Revoked. */
    scenario_init(&s, TP_SGX_V3, NULL);
    s.cp.qe_levels[0].status = "Revoked";
    expect_code(&s, AT_E_REVOKED, NULL);
}

/* TDX module OutOfDate (TDX_01 level isvsvn 2) turns an UpToDate platform into OutOfDate. */
static void test_status_module_out_of_date(void **state)
{
    (void)state;
    struct scenario s;
    scenario_init(&s, TP_TDX_V4, NULL);
    s.qp.td.tee_tcb_svn[0] = 2;
    struct at_dcap_result res;
    struct at_err e;
    at_dcap_result_init(&res);
    assert_int_equal(run(&s, &res, &e), AT_OK);
    assert_int_equal(res.module_status, AT_TCB_OUT_OF_DATE);
    assert_int_equal(res.tcb_status, AT_TCB_OUT_OF_DATE);
    assert_true(has_advisory(&res, "INTEL-SA-00960"));
    at_dcap_result_clear(&res);
    /* Module level Revoked. */
    scenario_init(&s, TP_TDX_V4, NULL);
    s.cp.module_ids[0].levels[0].status = "Revoked";
    expect_code(&s, AT_E_REVOKED, NULL);
}

/*
 * TD relaunch (§1.10): platform matches the OutOfDate level only through the
 * TDX component, module OutOfDate, but TEE_TCB_SVN2 is already at the latest.
 */
static void relaunch(const char *l1_status, enum at_tcb_status want, enum tp_quote_kind kind)
{
    struct scenario s;
    scenario_init(&s, kind, NULL);
    s.cp.levels[1] = s.cp.levels[0];
    s.cp.levels[1].tdx[0] = 2;
    s.cp.levels[1].tdx[2] = 6;
    s.cp.levels[1].status = l1_status;
    s.cp.levels[1].advisories[0] = "INTEL-SA-00960";
    s.cp.levels[1].n_advisories = 1;
    s.qp.td.tee_tcb_svn[0] = 2;
    s.qp.td.tee_tcb_svn[2] = 6;
    s.qp.td.tee_tcb_svn2[0] = 3;
    s.qp.td.tee_tcb_svn2[1] = 1;
    s.qp.td.tee_tcb_svn2[2] = 7;
    struct at_dcap_result res;
    struct at_err e;
    at_dcap_result_init(&res);
    enum at_code got = run(&s, &res, &e);
    if (got != AT_OK) {
        print_error("relaunch: %s (%s): %s\n", at_code_name(got), e.check != NULL ? e.check : "-",
                    e.msg);
    }
    assert_int_equal(got, AT_OK);
    if (res.tcb_status != want) {
        print_error("relaunch %s: got %s\n", l1_status, at_tcb_status_name(res.tcb_status));
    }
    assert_int_equal(res.tcb_status, want);
    at_dcap_result_clear(&res);
}

static void test_status_td_relaunch(void **state)
{
    (void)state;
    relaunch("OutOfDate", AT_TCB_TD_RELAUNCH_ADVISED, TP_TDX_V5_T3);
    relaunch("OutOfDateConfigurationNeeded", AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
             TP_TDX_V5_T3);
    /* Without TEE_TCB_SVN2 (TD report 1.0) the rule does not apply. */
    relaunch("OutOfDate", AT_TCB_OUT_OF_DATE, TP_TDX_V5_T2);
    relaunch("OutOfDate", AT_TCB_OUT_OF_DATE, TP_TDX_V4);
}

/* ---------------------------------------------------------- failure paths */

/* Each modifier changes one thing; the table below says which code must come out. */
static void m_none(struct scenario *s)
{
    (void)s;
}

static void m_revoke_pck(struct scenario *s)
{
    s->cp.pck_crl.revoked[0] = 0x1111;
    s->cp.pck_crl.revoked[1] = tp_pki_params_get(s->pki)->pck_serial;
    s->cp.pck_crl.n_revoked = 2;
}

static void m_revoke_ca(struct scenario *s)
{
    s->cp.root_crl.revoked[0] = tp_pki_params_get(s->pki)->ca_serial;
    s->cp.root_crl.n_revoked = 1;
}

static void m_revoke_tcb_signer(struct scenario *s)
{
    s->cp.root_crl.revoked[0] = tp_pki_params_get(s->pki)->tcb_signer_serial;
    s->cp.root_crl.n_revoked = 1;
}

static void m_unrelated_revocations(struct scenario *s)
{
    s->cp.root_crl.revoked[0] = 0x42;
    s->cp.root_crl.n_revoked = 1;
    s->cp.pck_crl.revoked[0] = 0x43;
    s->cp.pck_crl.revoked[1] = 0x44;
    s->cp.pck_crl.n_revoked = 2;
}

static void m_tcb_expired(struct scenario *s)
{
    s->cp.tcb_issue_date = T0 - 31 * TP_DAY_S;
    s->cp.tcb_next_update = T0 - 3600;
}

static void m_tcb_future(struct scenario *s)
{
    s->cp.tcb_issue_date = T0 + 3600;
}

static void m_qe_expired(struct scenario *s)
{
    s->cp.qe_issue_date = T0 - 31 * TP_DAY_S;
    s->cp.qe_next_update = T0 - 1;
}

static void m_pck_crl_expired(struct scenario *s)
{
    s->cp.pck_crl.this_update = T0 - 31 * TP_DAY_S;
    s->cp.pck_crl.next_update = T0 - 3600;
}

static void m_root_crl_expired(struct scenario *s)
{
    s->cp.root_crl.this_update = T0 - 31 * TP_DAY_S;
    s->cp.root_crl.next_update = T0 - 3600;
}

static void m_pck_crl_future(struct scenario *s)
{
    s->cp.pck_crl.this_update = T0 + 3600;
}

static void m_bad_tcb_sig(struct scenario *s)
{
    s->cp.bad_tcb_info_sig = true;
}

static void m_bad_qe_id_sig(struct scenario *s)
{
    s->cp.bad_qe_identity_sig = true;
}

static void m_bad_qe_report_sig(struct scenario *s)
{
    s->qp.bad_qe_report_sig = true;
}

static void m_bad_quote_sig(struct scenario *s)
{
    s->qp.bad_quote_sig = true;
}

static void m_bad_binding(struct scenario *s)
{
    s->qp.bad_report_data_binding = true;
}

static void m_fmspc(struct scenario *s)
{
    s->cp.fmspc[5] ^= 1;
}

static void m_pceid(struct scenario *s)
{
    s->cp.pceid[1] ^= 1;
}

static void m_sgx_tcb_info(struct scenario *s)
{
    /* SGX TCB info (id "SGX", no TDX parts) with the TD_QE identity. */
    s->cp.tdx = false;
}

static void m_tcb_info_tdx_for_sgx(struct scenario *s)
{
    /* A complete TDX TCB info (tdxModule, TDX components) with the SGX QE identity. */
    s->cp.tdx = true;
    s->cp.has_tdx_module = true;
    memset(s->cp.module_attributes_mask, 0xff, 8);
    s->cp.levels[0].tdx[2] = 7;
}

static void m_tcb_next_update_eq_t(struct scenario *s)
{
    s->cp.tcb_issue_date = T0 - TP_DAY_S;
    s->cp.tcb_next_update = T0;
}

static void m_qe_issue_eq_t(struct scenario *s)
{
    s->cp.qe_issue_date = T0;
}

static void m_crl_next_update_eq_t(struct scenario *s)
{
    s->cp.pck_crl.next_update = T0;
    s->cp.root_crl.next_update = T0;
}

static void m_crl_this_update_eq_t(struct scenario *s)
{
    s->cp.pck_crl.this_update = T0;
    s->cp.root_crl.this_update = T0;
}

static void m_qe_id_kind(struct scenario *s)
{
    s->cp.qe_id = tp_quote_kind_is_tdx(s->kind) ? "QE" : "TD_QE";
}

static void m_qe_mrsigner(struct scenario *s)
{
    s->cp.qe_mrsigner[7] ^= 0x80;
}

static void m_qe_prodid(struct scenario *s)
{
    s->qp.qe.isvprodid = 9;
}

static void m_qe_debug(struct scenario *s)
{
    s->qp.qe.flags |= 2u; /* a debug QE: masked attributes differ */
}

static void m_qe_miscselect(struct scenario *s)
{
    s->qp.qe.miscselect = 1;
}

static void m_no_module_ids(struct scenario *s)
{
    s->cp.n_module_ids = 0;
}

static void m_module_other_major(struct scenario *s)
{
    s->cp.module_ids[0].id = "TDX_03";
}

static void m_module_mrsigner(struct scenario *s)
{
    s->qp.td.mrsignerseam[0] = 1;
}

static void m_seam_attributes(struct scenario *s)
{
    s->qp.td.seam_attributes = 1;
}

static void m_tcb_type(struct scenario *s)
{
    s->cp.tcb_type = 1;
}

static void m_bad_status_string(struct scenario *s)
{
    s->cp.levels[0].status = "Fine";
}

struct neg_case {
    const char *name;
    enum tp_quote_kind kind;
    void (*mod)(struct scenario *s);
    unsigned flags;
    enum at_code code;
    enum at_code alt_code; /* a second acceptable code, or AT_OK for none */
    const char *check;     /* NULL: not asserted */
};

static const struct neg_case neg_cases[] = {
    {"sanity: unrelated serials revoked", TP_SGX_V3, m_unrelated_revocations, 0, AT_OK, AT_OK,
     NULL},
    {"wrong root (same DN, other key)", TP_SGX_V3, m_none, F_ALT_ROOT, AT_E_CHAIN, AT_OK,
     "pck_chain"},
    {"wrong root tdx", TP_TDX_V5_T3, m_none, F_ALT_ROOT, AT_E_CHAIN, AT_OK, "pck_chain"},
    {"PCK chain from another PKI", TP_SGX_V4, m_none, F_FOREIGN_QUOTE, AT_E_CHAIN, AT_OK,
     "pck_chain"},
    {"PCK leaf revoked", TP_SGX_V3, m_revoke_pck, 0, AT_E_REVOKED, AT_OK, "pck_chain"},
    {"PCK leaf revoked tdx", TP_TDX_V4, m_revoke_pck, 0, AT_E_REVOKED, AT_OK, "pck_chain"},
    {"PCK CA revoked in root CRL", TP_SGX_V3, m_revoke_ca, 0, AT_E_REVOKED, AT_OK, "pck_chain"},
    {"TCB signer revoked in root CRL", TP_SGX_V3, m_revoke_tcb_signer, 0, AT_E_REVOKED, AT_OK,
     "tcb_info_chain"},
    {"TCB info expired", TP_SGX_V3, m_tcb_expired, 0, AT_E_EXPIRED, AT_OK, "tcb_info_validity"},
    {"TCB info not yet issued", TP_TDX_V4, m_tcb_future, 0, AT_E_NOT_YET_VALID, AT_OK,
     "tcb_info_validity"},
    {"QE identity expired", TP_TDX_V5_T2, m_qe_expired, 0, AT_E_EXPIRED, AT_OK,
     "qe_identity_validity"},
    {"PCK CRL past nextUpdate", TP_SGX_V3, m_pck_crl_expired, 0, AT_E_EXPIRED, AT_OK, NULL},
    {"root CA CRL past nextUpdate", TP_TDX_V4, m_root_crl_expired, 0, AT_E_EXPIRED, AT_OK, NULL},
    {"PCK CRL thisUpdate after T", TP_SGX_V3, m_pck_crl_future, 0, AT_E_NOT_YET_VALID, AT_OK, NULL},
    {"bad TCB info signature", TP_SGX_V3, m_bad_tcb_sig, 0, AT_E_SIGNATURE, AT_OK,
     "tcb_info_signature"},
    {"bad QE identity signature", TP_TDX_V4, m_bad_qe_id_sig, 0, AT_E_SIGNATURE, AT_OK,
     "qe_identity_signature"},
    {"bad QE report signature v3", TP_SGX_V3, m_bad_qe_report_sig, 0, AT_E_SIGNATURE, AT_OK,
     "qe_report_signature"},
    {"bad QE report signature v5", TP_TDX_V5_T3, m_bad_qe_report_sig, 0, AT_E_SIGNATURE, AT_OK,
     "qe_report_signature"},
    {"bad quote signature v3", TP_SGX_V3, m_bad_quote_sig, 0, AT_E_SIGNATURE, AT_OK,
     "quote_signature"},
    {"bad quote signature v4", TP_TDX_V4, m_bad_quote_sig, 0, AT_E_SIGNATURE, AT_OK,
     "quote_signature"},
    {"bad quote signature v5", TP_SGX_V5, m_bad_quote_sig, 0, AT_E_SIGNATURE, AT_OK,
     "quote_signature"},
    {"bad REPORTDATA binding", TP_SGX_V4, m_bad_binding, 0, AT_E_MISMATCH, AT_OK,
     "qe_report_data_binding"},
    {"bad REPORTDATA binding tdx", TP_TDX_V5_T2, m_bad_binding, 0, AT_E_MISMATCH, AT_OK,
     "qe_report_data_binding"},
    {"FMSPC mismatch", TP_SGX_V3, m_fmspc, 0, AT_E_MISMATCH, AT_OK, "fmspc_match"},
    {"FMSPC mismatch tdx", TP_TDX_V4, m_fmspc, 0, AT_E_MISMATCH, AT_OK, "fmspc_match"},
    {"PCE-ID mismatch", TP_SGX_V3, m_pceid, 0, AT_E_MISMATCH, AT_OK, "pceid_match"},
    {"SGX TCB info for a TDX quote", TP_TDX_V4, m_sgx_tcb_info, 0, AT_E_MISMATCH, AT_E_COLLATERAL,
     NULL},
    {"TDX TCB info for an SGX quote", TP_SGX_V3, m_tcb_info_tdx_for_sgx, 0, AT_E_MISMATCH,
     AT_E_COLLATERAL, NULL},
    /* §1.9 step 4: issueDate <= T <= nextUpdate, both ends inclusive; same for CRLs (step 3). */
    {"boundary: TCB info nextUpdate == T", TP_SGX_V3, m_tcb_next_update_eq_t, 0, AT_OK, AT_OK,
     NULL},
    {"boundary: QE identity issueDate == T", TP_TDX_V4, m_qe_issue_eq_t, 0, AT_OK, AT_OK, NULL},
    {"boundary: CRL thisUpdate == T", TP_SGX_V3, m_crl_this_update_eq_t, 0, AT_OK, AT_OK, NULL},
    {"QE identity of the other kind", TP_TDX_V4, m_qe_id_kind, 0, AT_E_MISMATCH, AT_E_IDENTITY,
     NULL},
    {"QE identity of the other kind sgx", TP_SGX_V3, m_qe_id_kind, 0, AT_E_MISMATCH, AT_E_IDENTITY,
     NULL},
    {"QE MRSIGNER mismatch", TP_SGX_V3, m_qe_mrsigner, 0, AT_E_IDENTITY, AT_OK,
     "qe_identity_match"},
    {"QE MRSIGNER mismatch tdx", TP_TDX_V5_T3, m_qe_mrsigner, 0, AT_E_IDENTITY, AT_OK,
     "qe_identity_match"},
    {"QE ISVPRODID mismatch", TP_SGX_V4, m_qe_prodid, 0, AT_E_IDENTITY, AT_OK, "qe_identity_match"},
    {"debug QE", TP_SGX_V3, m_qe_debug, 0, AT_E_IDENTITY, AT_OK, "qe_identity_match"},
    {"QE MISCSELECT mismatch", TP_TDX_V4, m_qe_miscselect, 0, AT_E_IDENTITY, AT_OK,
     "qe_identity_match"},
    {"TDX module identity missing", TP_TDX_V4, m_no_module_ids, 0, AT_E_IDENTITY, AT_OK,
     "tdx_module_identity"},
    {"TDX module identity for another major", TP_TDX_V5_T3, m_module_other_major, 0, AT_E_IDENTITY,
     AT_OK, "tdx_module_identity"},
    {"MRSIGNERSEAM mismatch", TP_TDX_V4, m_module_mrsigner, 0, AT_E_IDENTITY, AT_OK,
     "tdx_module_identity"},
    {"SEAM attributes mismatch", TP_TDX_V5_T2, m_seam_attributes, 0, AT_E_IDENTITY, AT_OK,
     "tdx_module_identity"},
    {"tcbType 1", TP_SGX_V3, m_tcb_type, 0, AT_E_UNSUPPORTED, AT_OK, NULL},
    {"unknown tcbStatus string", TP_SGX_V3, m_bad_status_string, 0, AT_E_PARSE, AT_E_BAD_VALUE,
     NULL},
    {"expect SGX, TDX quote given", TP_TDX_V4, m_none, F_EXPECT_OTHER, AT_E_MISMATCH,
     AT_E_UNSUPPORTED, NULL},
    {"expect TDX, SGX quote given", TP_SGX_V4, m_none, F_EXPECT_OTHER, AT_E_MISMATCH,
     AT_E_UNSUPPORTED, NULL},
    {"NULL collateral", TP_SGX_V3, m_none, F_NULL_COL, AT_E_COLLATERAL, AT_OK, "collateral"},
    {"NULL collateral tdx", TP_TDX_V5_T3, m_none, F_NULL_COL, AT_E_COLLATERAL, AT_OK, "collateral"},
};

static void test_failure_paths(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++) {
        const struct neg_case *c = &neg_cases[i];
        struct scenario s;
        scenario_init(&s, c->kind, NULL);
        s.flags = c->flags;
        c->mod(&s);
        struct at_dcap_result res;
        struct at_err e;
        at_dcap_result_init(&res);
        enum at_code got = run(&s, &res, &e);
        bool code_ok = got == c->code || (c->alt_code != AT_OK && got == c->alt_code);
        bool check_ok = c->check == NULL || (e.check != NULL && strcmp(e.check, c->check) == 0);
        if (!code_ok || !check_ok) {
            print_error("FAIL %s: want %s%s%s (check %s), got %s (check %s): %s\n", c->name,
                        at_code_name(c->code), c->alt_code != AT_OK ? " or " : "",
                        c->alt_code != AT_OK ? at_code_name(c->alt_code) : "",
                        c->check != NULL ? c->check : "-", at_code_name(got),
                        e.check != NULL ? e.check : "-", e.msg);
            bad++;
        }
        at_dcap_result_clear(&res);
    }
    assert_int_equal(bad, 0);
}

/* Certificate validity windows (each needs its own PKI). */
struct pki_case {
    const char *name;
    enum tp_quote_kind kind;
    int which; /* 0 PCK leaf, 1 PCK CA, 2 TCB signer, 3 root */
    int64_t not_before, not_after;
    enum at_code code;
    const char *check;
};

static void test_cert_validity(void **state)
{
    (void)state;
    static const struct pki_case cases[] = {
        {"PCK leaf expired", TP_SGX_V3, 0, T0 - 2 * TP_YEAR_S, T0 - TP_DAY_S, AT_E_EXPIRED,
         "pck_chain"},
        {"PCK leaf expired tdx", TP_TDX_V5_T3, 0, T0 - 2 * TP_YEAR_S, T0 - 1, AT_E_EXPIRED,
         "pck_chain"},
        {"PCK leaf not yet valid", TP_SGX_V4, 0, T0 + 1, T0 + TP_YEAR_S, AT_E_NOT_YET_VALID,
         "pck_chain"},
        {"PCK CA expired", TP_SGX_V3, 1, T0 - 2 * TP_YEAR_S, T0 - TP_DAY_S, AT_E_EXPIRED,
         "pck_chain"},
        {"TCB signer expired", TP_TDX_V4, 2, T0 - 2 * TP_YEAR_S, T0 - TP_DAY_S, AT_E_EXPIRED, NULL},
        {"TCB signer not yet valid", TP_SGX_V3, 2, T0 + TP_DAY_S, T0 + TP_YEAR_S,
         AT_E_NOT_YET_VALID, NULL},
        {"root expired", TP_SGX_V3, 3, T0 - 10 * TP_YEAR_S, T0 - TP_DAY_S, AT_E_EXPIRED, NULL},
        {"boundary: PCK notAfter == T-1", TP_SGX_V3, 0, T0 - TP_YEAR_S, T0 - 1, AT_E_EXPIRED,
         "pck_chain"},
        {"boundary: PCK notBefore == T", TP_SGX_V3, 0, T0, T0 + TP_YEAR_S, AT_OK, NULL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pki_case *c = &cases[i];
        struct tp_pki_params pp;
        tp_pki_params_default(&pp, T0);
        struct tp_validity v = {c->not_before, c->not_after};
        switch (c->which) {
        case 0:
            pp.pck_validity = v;
            break;
        case 1:
            pp.ca_validity = v;
            break;
        case 2:
            pp.tcb_signer_validity = v;
            break;
        default:
            pp.root_validity = v;
            break;
        }
        struct tp_pki *pki = tp_pki_new(&pp);
        assert_non_null(pki);
        struct scenario s;
        scenario_init(&s, c->kind, pki);
        struct at_dcap_result res;
        struct at_err e;
        at_dcap_result_init(&res);
        enum at_code got = run(&s, &res, &e);
        if (got != c->code ||
            (c->check != NULL && (e.check == NULL || strcmp(e.check, c->check)))) {
            print_error("FAIL %s: want %s (check %s), got %s (check %s): %s\n", c->name,
                        at_code_name(c->code), c->check != NULL ? c->check : "-", at_code_name(got),
                        e.check != NULL ? e.check : "-", e.msg);
            bad++;
        }
        at_dcap_result_clear(&res);
        tp_pki_free(pki);
    }
    assert_int_equal(bad, 0);
}

/*
 * Upper bounds are inclusive: §1.9 step 2 "notBefore <= T <= notAfter" (RFC 5280 §4.1.2.5:
 * the validity period includes notAfter) and step 3 "thisUpdate <= T <= nextUpdate", the
 * same rule the verifier applies to TCB info / QE identity nextUpdate. OpenSSL's
 * X509_cmp_time treats "equal" as "earlier", so a verifier relying on X509_verify_cert
 * alone rejects T == notAfter and T == nextUpdate.
 */
static void test_boundary_upper_inclusive(void **state)
{
    (void)state;
    struct tp_pki_params pp;
    tp_pki_params_default(&pp, T0);
    pp.pck_validity = (struct tp_validity){T0 - TP_YEAR_S, T0};
    struct tp_pki *pki = tp_pki_new(&pp);
    assert_non_null(pki);
    struct scenario s;
    scenario_init(&s, TP_SGX_V3, pki);
    expect_code(&s, AT_OK, NULL);
    tp_pki_free(pki);
    scenario_init(&s, TP_SGX_V3, NULL);
    m_crl_next_update_eq_t(&s);
    expect_code(&s, AT_OK, NULL);
}

/* Malformed PCK SGX extensions (§1.7: reject missing and duplicate entries). */
static void test_pck_extension(void **state)
{
    (void)state;
    static const struct {
        unsigned omit, dup;
    } cases[] = {
        {TP_EXT_BIT(TP_EXT_FMSPC), 0},    {TP_EXT_BIT(TP_EXT_PCEID), 0},
        {TP_EXT_BIT(TP_EXT_TCB), 0},      {TP_EXT_BIT(TP_EXT_PPID), 0},
        {TP_EXT_BIT(TP_EXT_SGX_TYPE), 0}, {0, TP_EXT_BIT(TP_EXT_FMSPC)},
        {0, TP_EXT_BIT(TP_EXT_TCB)},      {0, TP_EXT_BIT(TP_EXT_CONFIGURATION)},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tp_pki_params pp;
        tp_pki_params_default(&pp, T0);
        pp.ext.omit = cases[i].omit;
        pp.ext.duplicate = cases[i].dup;
        struct tp_pki *pki = tp_pki_new(&pp);
        assert_non_null(pki);
        struct scenario s;
        scenario_init(&s, TP_SGX_V3, pki);
        struct at_dcap_result res;
        struct at_err e;
        at_dcap_result_init(&res);
        enum at_code got = run(&s, &res, &e);
        if (got != AT_E_PARSE || e.check == NULL || strcmp(e.check, "pck_extension") != 0) {
            print_error("FAIL ext omit=%#x dup=%#x: got %s (check %s): %s\n", cases[i].omit,
                        cases[i].dup, at_code_name(got), e.check != NULL ? e.check : "-", e.msg);
            bad++;
        }
        at_dcap_result_clear(&res);
        tp_pki_free(pki);
    }
    assert_int_equal(bad, 0);
}

/* The extension as built parses back to the params (testpki self-check via the verifier's parser).
 */
static void test_pck_extension_roundtrip(void **state)
{
    (void)state;
    const struct tp_pki_params *pp = tp_pki_params_get(g_pki);
    struct at_pck_ext x;
    struct at_err e;
    at_err_init(&e);
    memset(&x, 0, sizeof(x));
    assert_true(at_is_ok(at_pck_ext_parse(tp_pki_pck_leaf(g_pki), &x, &e)));
    assert_memory_equal(x.ppid, pp->ext.ppid, 16);
    assert_memory_equal(x.comp_svn, pp->ext.comp_svn, 16);
    assert_int_equal(x.pcesvn, pp->ext.pcesvn);
    assert_memory_equal(x.cpusvn, pp->ext.cpusvn, 16);
    assert_memory_equal(x.pceid, pp->ext.pceid, 2);
    assert_memory_equal(x.fmspc, pp->ext.fmspc, 6);
    assert_int_equal(x.sgx_type, pp->ext.sgx_type);
    assert_true(x.has_platform_instance_id);
    assert_memory_equal(x.platform_instance_id, pp->ext.platform_instance_id, 16);
    assert_true(x.has_configuration);
    assert_int_equal(x.dynamic_platform, pp->ext.dynamic_platform);
    assert_int_equal(x.cached_keys, pp->ext.cached_keys);
    assert_int_equal(x.smt_enabled, pp->ext.smt_enabled);
}

/* ----------------------------------------------------------------- sweeps */

/* Bytes signed by someone (quote header+body, attestation key, QE report, QE auth data) and the
 * signatures. */
static void sweep_kind(enum tp_quote_kind kind, const struct at_dcap_collateral *col)
{
    struct scenario s;
    scenario_init(&s, kind, NULL);
    uint8_t *q = NULL;
    size_t len = 0;
    assert_int_equal(tp_quote_build(s.pki, &s.qp, &q, &len), 0);
    struct tp_quote_layout l;
    tp_quote_layout(&s.qp, &l);
    struct at_dcap_result res;
    struct at_err e;
    int bad = 0;

    at_dcap_result_init(&res);
    assert_int_equal(verify_bytes(&s, q, len, col, &res, &e), AT_OK);
    at_dcap_result_clear(&res);

    /* Truncation at every length; the tail is a private heap copy so ASan sees overreads. */
    for (size_t n = 0; n < len; n++) {
        uint8_t *t = malloc(n > 0 ? n : 1);
        assert_non_null(t);
        memcpy(t, q, n);
        at_dcap_result_init(&res);
        if (verify_bytes(&s, t, n, col, &res, &e) == AT_OK) {
            print_error("%s: truncated to %zu passes\n", tp_quote_kind_name(kind), n);
            bad++;
        }
        at_dcap_result_clear(&res);
        free(t);
    }

    /* One bit per byte (bit i % 8) in every signed region and both signatures. */
    const size_t regions[][2] = {
        {0, l.signed_len},      {l.quote_sig_off, 64},     {l.att_key_off, 64},
        {l.qe_report_off, 384}, {l.qe_report_sig_off, 64}, {l.qe_auth_off, l.qe_auth_len},
    };
    for (size_t r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
        for (size_t i = regions[r][0]; i < regions[r][0] + regions[r][1]; i++) {
            uint8_t bit = (uint8_t)(1u << (i % 8));
            q[i] ^= bit;
            at_dcap_result_init(&res);
            enum at_code got = verify_bytes(&s, q, len, col, &res, &e);
            if (got == AT_OK) {
                print_error("%s: bit flip at %zu passes\n", tp_quote_kind_name(kind), i);
                bad++;
            }
            at_dcap_result_clear(&res);
            q[i] ^= bit;
        }
    }
    assert_int_equal(bad, 0);
    free(q);

    /* Trailing bytes: zeros pass, anything else is AT_E_TRAILING. */
    s.qp.trailing_zero_len = 64;
    expect_code(&s, AT_OK, NULL);
    s.qp.trailing_zero_len = 0;
    s.qp.trailing_garbage_len = 1;
    expect_code(&s, AT_E_TRAILING, NULL);
    s.qp.trailing_zero_len = 16;
    s.qp.trailing_garbage_len = 3;
    expect_code(&s, AT_E_TRAILING, NULL);
}

static void test_sweeps(void **state)
{
    (void)state;
    for (size_t i = 0; i < TP_QUOTE_KIND_COUNT; i++) {
        struct tp_collateral_params cp;
        struct at_dcap_collateral col;
        tp_collateral_params_default(&cp, g_pki, tp_quote_kind_is_tdx(all_kinds[i]));
        assert_int_equal(tp_collateral_build(g_pki, &cp, &col), 0);
        sweep_kind(all_kinds[i], &col);
        tp_collateral_free(&col);
    }
}

/* --------------------------------------------------- collateral outputs */

static uint8_t *read_in(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return tu_read_file(path, len);
}

static void test_collateral_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/attestd-testpki-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct tp_collateral_params cp;
    struct at_dcap_collateral col;
    tp_collateral_params_default(&cp, g_pki, true);
    assert_int_equal(tp_collateral_build(g_pki, &cp, &col), 0);
    assert_int_equal(tp_collateral_write_dir(&col, g_pki, dir), 0);
    char jpath[4200];
    snprintf(jpath, sizeof(jpath), "%s/collateral.json", dir);
    assert_int_equal(tp_collateral_write_json(&col, jpath), 0);

    /* tcb_info.json / qe_identity.json: the body is the exact signed span. */
    static const struct {
        const char *file, *key;
    } docs[] = {{"tcb_info.json", "tcbInfo"}, {"qe_identity.json", "enclaveIdentity"}};
    for (size_t i = 0; i < 2; i++) {
        size_t n = 0;
        uint8_t *doc = read_in(dir, docs[i].file, &n);
        assert_non_null(doc);
        const uint8_t *body = NULL;
        size_t body_len = 0;
        uint8_t sig[64];
        struct at_err e;
        at_err_init(&e);
        assert_true(at_is_ok(at_pcs_json_split(doc, n, docs[i].key, &body, &body_len, sig, &e)));
        if (i == 0) {
            assert_int_equal(body_len, col.tcb_info_len);
            assert_memory_equal(body, col.tcb_info, body_len);
            assert_memory_equal(sig, col.tcb_info_sig, 64);
        } else {
            assert_int_equal(body_len, col.qe_identity_len);
            assert_memory_equal(body, col.qe_identity, body_len);
            assert_memory_equal(sig, col.qe_identity_sig, 64);
        }
        free(doc);
    }
    static const char *const files[] = {"pck_crl.der",
                                        "root_ca_crl.der",
                                        "pck_crl_issuer_chain.pem",
                                        "tcb_info_issuer_chain.pem",
                                        "qe_identity_issuer_chain.pem",
                                        "pck_cert_chain.pem",
                                        "root_ca.pem"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n = 0;
        uint8_t *p = read_in(dir, files[i], &n);
        assert_non_null(p);
        assert_true(n > 100);
        free(p);
    }
    size_t n = 0;
    uint8_t *der = read_in(dir, "pck_crl.der", &n);
    assert_non_null(der);
    assert_int_equal(n, col.pck_crl_len);
    assert_memory_equal(der, col.pck_crl, n);
    free(der);

    /* collateral.json: field names and encodings of the vectors. */
    json_error_t jerr;
    json_t *j = json_load_file(jpath, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(j);
    const char *tcb = json_string_value(json_object_get(j, "tcb_info"));
    assert_non_null(tcb);
    assert_int_equal(strlen(tcb), col.tcb_info_len);
    assert_memory_equal(tcb, col.tcb_info, col.tcb_info_len);
    char *hex = at_hex_dup(col.qe_identity_sig, 64);
    assert_string_equal(json_string_value(json_object_get(j, "qe_identity_signature")), hex);
    free(hex);
    hex = at_hex_dup(col.root_ca_crl, col.root_ca_crl_len);
    assert_string_equal(json_string_value(json_object_get(j, "root_ca_crl")), hex);
    free(hex);
    static const char *const keys[] = {"pck_crl_issuer_chain",     "pck_crl",
                                       "tcb_info_issuer_chain",    "tcb_info_signature",
                                       "qe_identity_issuer_chain", "qe_identity"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        assert_true(json_is_string(json_object_get(j, keys[i])));
    }
    json_decref(j);
    tp_collateral_free(&col);

    static const char *const all[] = {"pck_crl.der",
                                      "root_ca_crl.der",
                                      "pck_crl_issuer_chain.pem",
                                      "tcb_info.json",
                                      "tcb_info_issuer_chain.pem",
                                      "qe_identity.json",
                                      "qe_identity_issuer_chain.pem",
                                      "pck_cert_chain.pem",
                                      "root_ca.pem",
                                      "collateral.json"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", dir, all[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Collateral deep copy: tampering with the copy leaves the original intact. */
static void test_collateral_copy(void **state)
{
    (void)state;
    struct scenario s;
    scenario_init(&s, TP_SGX_V3, NULL);
    uint8_t *q = NULL;
    size_t len = 0;
    struct at_dcap_collateral col, bad;
    assert_int_equal(tp_quote_build(s.pki, &s.qp, &q, &len), 0);
    assert_int_equal(tp_collateral_build(s.pki, &s.cp, &col), 0);
    assert_int_equal(tp_collateral_copy(&col, &bad), 0);
    bad.tcb_info[10] ^= 0x01; /* a byte of the signed body */
    struct at_dcap_result res;
    struct at_err e;
    at_dcap_result_init(&res);
    assert_int_equal(verify_bytes(&s, q, len, &bad, &res, &e), AT_E_SIGNATURE);
    at_dcap_result_clear(&res);
    at_dcap_result_init(&res);
    assert_int_equal(verify_bytes(&s, q, len, &col, &res, &e), AT_OK);
    at_dcap_result_clear(&res);
    tp_collateral_free(&bad);
    tp_collateral_free(&col);
    free(q);
}

/* ------------------------------------------------------------ fuzz seeds */

static void test_write_seeds(void **state)
{
    (void)state;
    const char *dir = getenv("ATTESTD_WRITE_SEEDS");
    if (dir == NULL || dir[0] == '\0') {
        skip();
    }
    for (size_t i = 0; i < TP_QUOTE_KIND_COUNT; i++) {
        struct tp_quote_params qp;
        tp_quote_params_default(&qp, all_kinds[i]);
        uint8_t *q = NULL;
        size_t len = 0;
        assert_int_equal(tp_quote_build(g_pki, &qp, &q, &len), 0);
        char path[4096];
        snprintf(path, sizeof(path), "%s/synthetic-%s.bin", dir, tp_quote_kind_name(all_kinds[i]));
        assert_int_equal(tp_write_file(path, q, len), 0);
        free(q);
    }
}

static int setup(void **state)
{
    (void)state;
    struct tp_pki_params pp;
    tp_pki_params_default(&pp, T0);
    g_pki = tp_pki_new(&pp);
    g_pki2 = tp_pki_new(&pp);
    return g_pki != NULL && g_pki2 != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tp_pki_free(g_pki);
    tp_pki_free(g_pki2);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pck_extension_roundtrip),
        cmocka_unit_test(test_pass_all_kinds),
        cmocka_unit_test(test_pass_processor_ca),
        cmocka_unit_test(test_pass_tcb_info_v2),
        cmocka_unit_test(test_pass_padding),
        cmocka_unit_test(test_status_each),
        cmocka_unit_test(test_status_revoked),
        cmocka_unit_test(test_status_not_supported),
        cmocka_unit_test(test_status_qe_out_of_date),
        cmocka_unit_test(test_status_module_out_of_date),
        cmocka_unit_test(test_status_td_relaunch),
        cmocka_unit_test(test_failure_paths),
        cmocka_unit_test(test_cert_validity),
        cmocka_unit_test(test_boundary_upper_inclusive),
        cmocka_unit_test(test_pck_extension),
        cmocka_unit_test(test_collateral_files),
        cmocka_unit_test(test_collateral_copy),
        cmocka_unit_test(test_sweeps),
        cmocka_unit_test(test_write_seeds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
