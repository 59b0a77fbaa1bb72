/*
 * TCB evaluation (evidence-formats.md §1.9 steps 8, 10; §1.10): every real
 * sgx/tdx vector against meta.json, then synthetic TCB infos for every status,
 * each convergence rule, the TD relaunch rule and every identity mismatch.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "base/encoding.h"
#include "evidence/tcb_eval.h"
#include "evidence/tcb_info.h"
#include "test_util.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- synthetic fixtures ---- */

struct fx {
    struct at_tcb_info ti;
    struct at_qe_identity qe;
    struct at_pck_ext pck;
    uint8_t qe_report[384];
    uint8_t svn[16], svn2[16], mrsignerseam[48], seam_attr[8];
    bool has_svn2;
    bool input_sgx; /* evaluate as an SGX quote whatever the TCB info says */
    struct at_tcb_eval_input in;
};

static void set_adv(struct at_tcb_level *l, const char *a, const char *b)
{
    const char *ids[2] = {a, b};
    l->n_advisories = (size_t)(a != NULL) + (size_t)(b != NULL);
    l->advisories = calloc(2, sizeof(char *));
    assert_non_null(l->advisories);
    for (size_t i = 0; i < l->n_advisories; i++) {
        l->advisories[i] = strdup(ids[i]);
    }
}

/* A platform level: all 16 SGX components = sgx, TDX components 0 and 2 given. */
static struct at_tcb_level plat(uint8_t sgx, uint16_t pce, uint8_t tdx0, uint8_t tdx2,
                                enum at_tcb_status st)
{
    struct at_tcb_level l;
    memset(&l, 0, sizeof(l));
    memset(l.sgx, sgx, sizeof(l.sgx));
    l.pcesvn = pce;
    l.tdx[0] = tdx0;
    l.tdx[2] = tdx2;
    l.has_tdx = true;
    l.tcb_date = 1700000000 + sgx;
    l.status = st;
    return l;
}

static struct at_tcb_level isv(uint16_t svn, enum at_tcb_status st)
{
    struct at_tcb_level l;
    memset(&l, 0, sizeof(l));
    l.isvsvn = svn;
    l.status = st;
    return l;
}

static struct at_tcb_level *copy_levels(const struct at_tcb_level *src, size_t n)
{
    struct at_tcb_level *l = calloc(n, sizeof(*l));
    assert_non_null(l);
    memcpy(l, src, n * sizeof(*l));
    return l;
}

static const uint8_t qe_mrsigner[32] = {0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e,
                                        0x96, 0x13, 0x7f, 0x77, 0xc6, 0x8a, 0x82, 0x9a};

/* SGX by default; levels are copied. QE levels: isvsvn 8 UpToDate, 6 OutOfDate, 4 Revoked. */
static void fx_init(struct fx *f, bool tdx, const struct at_tcb_level *levels, size_t n)
{
    memset(f, 0, sizeof(*f));
    f->ti.version = 3;
    f->ti.is_tdx = tdx;
    f->ti.levels = copy_levels(levels, n);
    f->ti.n_levels = n;
    for (size_t i = 0; i < n; i++) {
        f->ti.levels[i].has_tdx = tdx;
    }
    f->qe.id = tdx ? AT_QEID_TD_QE : AT_QEID_QE;
    f->qe.version = 2;
    memset(f->qe.miscselect_mask, 0xff, 4);
    f->qe.attributes[0] = 0x11;
    f->qe.attributes_mask[0] = 0xfb;
    memset(f->qe.attributes_mask + 1, 0xff, 7);
    memcpy(f->qe.mrsigner, qe_mrsigner, 32);
    f->qe.isvprodid = 1;
    struct at_tcb_level ql[3] = {isv(8, AT_TCB_UP_TO_DATE), isv(6, AT_TCB_OUT_OF_DATE),
                                 isv(4, AT_TCB_REVOKED)};
    f->qe.levels = copy_levels(ql, 3);
    f->qe.n_levels = 3;
    /* QE report (§1.3): bits outside the masks are set to show they are ignored. */
    f->qe_report[48] = 0x15; /* 0x04 is masked out */
    f->qe_report[56] = 0xe7; /* XFRM, mask 0 */
    memcpy(f->qe_report + 128, qe_mrsigner, 32);
    f->qe_report[256] = 1;
    f->qe_report[258] = 8;
    memset(f->pck.comp_svn, 5, 16);
    f->pck.pcesvn = 13;
    if (tdx) {
        f->ti.has_tdx_module = true;
        memset(f->ti.module_attributes_mask, 0xff, 8);
        f->ti.module_ids = calloc(1, sizeof(*f->ti.module_ids));
        assert_non_null(f->ti.module_ids);
        f->ti.n_module_ids = 1;
        struct at_tdx_module_identity *m = &f->ti.module_ids[0];
        memcpy(m->id, "TDX_01", 7);
        memset(m->attributes_mask, 0xff, 8);
        struct at_tcb_level ml[3] = {isv(6, AT_TCB_UP_TO_DATE), isv(4, AT_TCB_OUT_OF_DATE),
                                     isv(2, AT_TCB_REVOKED)};
        m->levels = copy_levels(ml, 3);
        m->n_levels = 3;
        f->svn[0] = 6;
        f->svn[1] = 1;
        f->svn[2] = 3;
    }
}

static void fx_clear(struct fx *f)
{
    at_tcb_info_clear(&f->ti);
    at_qe_identity_clear(&f->qe);
}

static at_status run(struct fx *f, struct at_tcb_eval_result *r, struct at_err *e)
{
    memset(&f->in, 0, sizeof(f->in));
    f->in.is_tdx = f->ti.is_tdx && !f->input_sgx;
    f->in.quote_version = f->has_svn2 ? 5 : (f->ti.is_tdx ? 4 : 3);
    f->in.pck = &f->pck;
    f->in.qe_report = f->qe_report;
    if (f->in.is_tdx) {
        f->in.tee_tcb_svn = f->svn;
        f->in.mrsignerseam = f->mrsignerseam;
        f->in.seam_attributes = f->seam_attr;
        f->in.tee_tcb_svn2 = f->has_svn2 ? f->svn2 : NULL;
    }
    at_err_init(e);
    return at_tcb_evaluate(&f->ti, &f->qe, &f->in, r, e);
}

/* Run and check the code, the check name and the final status. */
static void expect(struct fx *f, enum at_code code, const char *check, enum at_tcb_status final,
                   const char *what)
{
    struct at_tcb_eval_result r;
    struct at_err e;
    at_status s = run(f, &r, &e);
    if (s.code != code || (check != NULL && (e.check == NULL || strcmp(e.check, check) != 0)) ||
        (code != AT_E_IDENTITY && code != AT_E_MISMATCH && r.final_status != final)) {
        fail_msg("%s: got %s/%s final %s (%s), want %s/%s final %s", what, at_code_name(s.code),
                 e.check ? e.check : "-", at_tcb_status_name(r.final_status), e.msg,
                 at_code_name(code), check ? check : "-", at_tcb_status_name(final));
    }
    at_tcb_eval_result_clear(&r);
}

static enum at_code code_for(enum at_tcb_status st)
{
    return st == AT_TCB_REVOKED         ? AT_E_REVOKED
           : st == AT_TCB_NOT_SUPPORTED ? AT_E_TCB_NOT_SUPPORTED
                                        : AT_OK;
}

static const char *check_for(enum at_tcb_status st)
{
    return st == AT_TCB_REVOKED ? "tcb_status" : st == AT_TCB_NOT_SUPPORTED ? "tcb_level" : NULL;
}

static const enum at_tcb_status platform_statuses[] = {
    AT_TCB_UP_TO_DATE,
    AT_TCB_SW_HARDENING_NEEDED,
    AT_TCB_CONFIGURATION_NEEDED,
    AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    AT_TCB_OUT_OF_DATE,
    AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    AT_TCB_REVOKED,
};
#define N_PLATFORM (sizeof(platform_statuses) / sizeof(platform_statuses[0]))

/* §1.10 convergence with an OutOfDate QE or module. */
static enum at_tcb_status with_ood(enum at_tcb_status st)
{
    if (st == AT_TCB_UP_TO_DATE || st == AT_TCB_SW_HARDENING_NEEDED) {
        return AT_TCB_OUT_OF_DATE;
    }
    if (st == AT_TCB_CONFIGURATION_NEEDED || st == AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED) {
        return AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    return st;
}

static void test_sgx_every_platform_status(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_PLATFORM; i++) {
        struct fx f;
        struct at_tcb_level l = plat(5, 13, 0, 0, platform_statuses[i]);
        fx_init(&f, false, &l, 1);
        expect(&f, code_for(platform_statuses[i]), check_for(platform_statuses[i]),
               platform_statuses[i], at_tcb_status_name(platform_statuses[i]));
        fx_clear(&f);
    }
}

static void test_sgx_level_selection(void **state)
{
    (void)state;
    struct fx f;
    struct at_tcb_level l[3] = {plat(5, 13, 0, 0, AT_TCB_UP_TO_DATE),
                                plat(5, 14, 0, 0, AT_TCB_SW_HARDENING_NEEDED),
                                plat(4, 13, 0, 0, AT_TCB_CONFIGURATION_NEEDED)};
    l[0].sgx[7] = 6; /* one component above the PCK's 5 disqualifies the level */
    fx_init(&f, false, l, 3);
    struct at_tcb_eval_result r;
    struct at_err e;
    assert_true(at_is_ok(run(&f, &r, &e)));
    assert_int_equal(r.final_status, AT_TCB_CONFIGURATION_NEEDED);
    assert_int_equal(r.sgx_status, AT_TCB_CONFIGURATION_NEEDED);
    assert_int_equal(r.qe_status, AT_TCB_UP_TO_DATE);
    assert_int_equal(r.module_status, AT_TCB_UP_TO_DATE);
    assert_int_equal(r.tcb_date, 1700000004);
    at_tcb_eval_result_clear(&r);
    /* A higher component elsewhere does not compensate (not a numeric CPUSVN compare). */
    f.pck.comp_svn[0] = 200;
    f.pck.comp_svn[7] = 5;
    expect(&f, AT_OK, NULL, AT_TCB_CONFIGURATION_NEEDED, "higher comp 0");
    f.pck.comp_svn[7] = 6;
    expect(&f, AT_OK, NULL, AT_TCB_UP_TO_DATE, "comp 7 reaches level 0");
    /* Below every level: not supported, result still filled. */
    memset(f.pck.comp_svn, 3, 16);
    assert_int_equal(run(&f, &r, &e).code, AT_E_TCB_NOT_SUPPORTED);
    assert_string_equal(e.check, "tcb_level");
    assert_int_equal(r.final_status, AT_TCB_NOT_SUPPORTED);
    assert_int_equal(r.sgx_status, AT_TCB_NOT_SUPPORTED);
    assert_int_equal(r.qe_status, AT_TCB_UP_TO_DATE);
    at_tcb_eval_result_clear(&r);
    /* PCESVN below every level. */
    memset(f.pck.comp_svn, 9, 16);
    f.pck.pcesvn = 12;
    expect(&f, AT_E_TCB_NOT_SUPPORTED, "tcb_level", AT_TCB_NOT_SUPPORTED, "pcesvn low");
    fx_clear(&f);
}

/* §1.10 "Converge with QE status": QE ISVSVN 8 UpToDate, 7 OutOfDate, 5 Revoked, 3 none. */
static void test_qe_convergence(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_PLATFORM; i++) {
        enum at_tcb_status p = platform_statuses[i];
        struct fx f;
        struct at_tcb_level l = plat(5, 13, 0, 0, p);
        fx_init(&f, false, &l, 1);
        f.qe_report[258] = 7;
        enum at_tcb_status want = with_ood(p);
        expect(&f, code_for(want), check_for(want), want, "QE OutOfDate");
        f.qe_report[258] = 5;
        expect(&f, AT_E_REVOKED, "tcb_status", AT_TCB_REVOKED, "QE Revoked");
        f.qe_report[258] = 3;
        expect(&f, AT_E_TCB_NOT_SUPPORTED, "tcb_level", AT_TCB_NOT_SUPPORTED, "QE none");
        f.qe_report[259] = 1; /* ISVSVN 0x0103: u16 little-endian */
        expect(&f, code_for(p), check_for(p), p, "QE ISVSVN 259");
        fx_clear(&f);
    }
}

/* §1.9 step 8: each QE identity field mismatching is a hard identity failure. */
static void test_qe_identity_mismatch(void **state)
{
    (void)state;
    struct {
        size_t off;
        uint8_t xor ;
        const char *what;
    } cases[] = {
        {16, 0x01, "miscselect"},       {19, 0x80, "miscselect high byte"},
        {48, 0x02, "attributes DEBUG"}, {55, 0x01, "attributes flags"},
        {128, 0x01, "mrsigner"},        {159, 0x80, "mrsigner last"},
        {256, 0x01, "isvprodid"},       {257, 0x01, "isvprodid high"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx f;
        struct at_tcb_level l = plat(5, 13, 0, 0, AT_TCB_UP_TO_DATE);
        fx_init(&f, false, &l, 1);
        f.qe_report[cases[i].off] ^= cases[i].xor ;
        struct at_tcb_eval_result r;
        struct at_err e;
        assert_int_equal(run(&f, &r, &e).code, AT_E_IDENTITY);
        assert_string_equal(e.check, "qe_identity_match");
        assert_int_equal(r.n_advisories, 0);
        at_tcb_eval_result_clear(&r);
        fx_clear(&f);
    }
    /* Bits outside the masks do not matter. */
    struct fx f;
    struct at_tcb_level l = plat(5, 13, 0, 0, AT_TCB_UP_TO_DATE);
    fx_init(&f, false, &l, 1);
    f.qe.miscselect_mask[1] = 0xf0;
    f.qe_report[17] = 0x0f;
    f.qe_report[60] = 0xff;
    expect(&f, AT_OK, NULL, AT_TCB_UP_TO_DATE, "masked bits");
    /* The wrong kind of identity (TD_QE for an SGX quote) is a mismatch. */
    f.qe.id = AT_QEID_TD_QE;
    expect(&f, AT_E_MISMATCH, "qe_identity_type_match", AT_TCB_NOT_SUPPORTED, "TD_QE for SGX");
    f.qe.id = AT_QEID_QE;
    f.ti.is_tdx = true;
    f.input_sgx = true;
    expect(&f, AT_E_MISMATCH, "tcb_info_type_match", AT_TCB_NOT_SUPPORTED, "TDX TCB info for SGX");
    f.ti.is_tdx = false;
    fx_clear(&f);
}

/* TDX: every platform status with module UpToDate / OutOfDate / Revoked / none. */
static void test_tdx_module_convergence(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_PLATFORM; i++) {
        enum at_tcb_status p = platform_statuses[i];
        struct fx f;
        struct at_tcb_level l = plat(5, 13, 0, 3, p);
        fx_init(&f, true, &l, 1);
        expect(&f, code_for(p), check_for(p), p, "module UpToDate");
        f.svn[0] = 5;
        enum at_tcb_status want = with_ood(p);
        expect(&f, code_for(want), check_for(want), want, "module OutOfDate");
        f.svn[0] = 3;
        expect(&f, AT_E_REVOKED, "tcb_status", AT_TCB_REVOKED, "module Revoked");
        f.svn[0] = 1;
        expect(&f, AT_E_TCB_NOT_SUPPORTED, "tcb_level", AT_TCB_NOT_SUPPORTED, "module none");
        /* QE OutOfDate on top of module OutOfDate. */
        f.svn[0] = 4;
        f.qe_report[258] = 6;
        expect(&f, code_for(want), check_for(want), want, "module+QE OutOfDate");
        fx_clear(&f);
    }
}

/* §1.10 TDX level: S[i] >= L.tdx[i] from start (2 if S[1] > 0, else 0). */
static void test_tdx_level_matching(void **state)
{
    (void)state;
    struct fx f;
    struct at_tcb_level l[2] = {plat(5, 13, 9, 4, AT_TCB_UP_TO_DATE),
                                plat(5, 13, 0, 3, AT_TCB_OUT_OF_DATE)};
    fx_init(&f, true, l, 2);
    struct at_tcb_eval_result r;
    struct at_err e;
    /* S[2] = 3 < 4: level 0 fails on the TDX side only; tdx[0] = 9 is skipped (S[1] > 0). */
    assert_true(at_is_ok(run(&f, &r, &e)));
    assert_int_equal(r.sgx_status, AT_TCB_UP_TO_DATE);
    assert_int_equal(r.tdx_status, AT_TCB_OUT_OF_DATE);
    assert_int_equal(r.final_status, AT_TCB_OUT_OF_DATE);
    at_tcb_eval_result_clear(&r);
    f.svn[2] = 4;
    expect(&f, AT_OK, NULL, AT_TCB_UP_TO_DATE, "S[2] reaches level 0");
    f.svn[5] = 0;
    f.ti.levels[0].tdx[5] = 1;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "S[5] below level 0");
    f.ti.levels[0].tdx[5] = 0;
    /* S[1] == 0: components 0 and 1 count and the module is UpToDate via tdxModule. */
    f.svn[1] = 0;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "S[0] 6 < tdx[0] 9");
    f.svn[0] = 9;
    expect(&f, AT_OK, NULL, AT_TCB_UP_TO_DATE, "S[0] 9");
    f.ti.levels[1].tdx[2] = 5;
    f.svn[0] = 1;
    expect(&f, AT_E_TCB_NOT_SUPPORTED, "tcb_level", AT_TCB_NOT_SUPPORTED, "no TDX level");
    fx_clear(&f);
}

/* §1.10 TD relaunch rule (v5, TD report 1.5). */
static void test_td_relaunch(void **state)
{
    (void)state;
    struct fx f;
    /* SGX level 0 (UpToDate); TDX level 1 (OutOfDate) because S[2] = 3 < 4. */
    struct at_tcb_level l[2] = {plat(5, 13, 5, 4, AT_TCB_UP_TO_DATE),
                                plat(5, 13, 5, 3, AT_TCB_OUT_OF_DATE)};
    fx_init(&f, true, l, 2);
    f.svn[0] = 4; /* module OutOfDate */
    f.svn[2] = 3;
    f.has_svn2 = true;
    memcpy(f.svn2, f.svn, 16);
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "svn2 = svn");
    f.svn2[0] = 6;
    f.svn2[2] = 4;
    expect(&f, AT_OK, NULL, AT_TCB_TD_RELAUNCH_ADVISED, "relaunch via module identity");
    f.svn2[2] = 3;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "svn2[2] below latest tdx[2]");
    f.svn2[2] = 4;
    f.svn2[0] = 5;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "svn2[0] below latest module isvsvn");
    /* S2[1] == 0: compare with the latest level's tdx[0] and tdx[2]. */
    f.svn2[1] = 0;
    expect(&f, AT_OK, NULL, AT_TCB_TD_RELAUNCH_ADVISED, "svn2[1] == 0");
    f.svn2[0] = 4;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "svn2[1] == 0, svn2[0] low");
    /* A major version without identity is a module mismatch. */
    f.svn2[1] = 2;
    expect(&f, AT_E_IDENTITY, "tdx_module_identity", AT_TCB_NOT_SUPPORTED, "svn2 TDX_02");
    f.svn2[1] = 1;
    f.svn2[0] = 6;
    /* ConfigurationNeeded on the SGX or TDX side -> ...ConfigurationNeeded. */
    f.ti.levels[0].status = AT_TCB_CONFIGURATION_NEEDED;
    expect(&f, AT_OK, NULL, AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED, "SGX config");
    f.ti.levels[0].status = AT_TCB_UP_TO_DATE;
    f.ti.levels[1].status = AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    expect(&f, AT_OK, NULL, AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED, "TDX config");
    f.ti.levels[1].status = AT_TCB_CONFIGURATION_NEEDED; /* + module OOD -> OODCN */
    expect(&f, AT_OK, NULL, AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED, "TDX CN");
    f.ti.levels[1].status = AT_TCB_OUT_OF_DATE;
    /* Not applied: SGX OutOfDate, QE OutOfDate, module UpToDate, or a TD 1.0 quote. */
    f.ti.levels[0].status = AT_TCB_OUT_OF_DATE;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "SGX OutOfDate");
    f.ti.levels[0].status = AT_TCB_UP_TO_DATE;
    f.qe_report[258] = 7;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "QE OutOfDate");
    f.qe_report[258] = 8;
    f.svn[0] = 6;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "module UpToDate");
    f.svn[0] = 4;
    f.has_svn2 = false;
    expect(&f, AT_OK, NULL, AT_TCB_OUT_OF_DATE, "TD 1.0");
    f.has_svn2 = true;
    expect(&f, AT_OK, NULL, AT_TCB_TD_RELAUNCH_ADVISED, "back to relaunch");
    /* The relaunch result converges with a revoked QE. */
    f.qe_report[258] = 5;
    expect(&f, AT_E_REVOKED, "tcb_status", AT_TCB_REVOKED, "QE Revoked");
    fx_clear(&f);
}

/* §1.9 step 10: module identity (TDX_<maj> or tdxModule). */
static void test_module_identity_mismatch(void **state)
{
    (void)state;
    struct fx f;
    struct at_tcb_level l = plat(5, 13, 0, 3, AT_TCB_UP_TO_DATE);
    fx_init(&f, true, &l, 1);
    expect(&f, AT_OK, NULL, AT_TCB_UP_TO_DATE, "baseline");
    f.mrsignerseam[47] = 1;
    expect(&f, AT_E_IDENTITY, "tdx_module_identity", AT_TCB_NOT_SUPPORTED, "mrsignerseam");
    f.mrsignerseam[47] = 0;
    f.seam_attr[0] = 1;
    expect(&f, AT_E_IDENTITY, "tdx_module_identity", AT_TCB_NOT_SUPPORTED, "seam attributes");
    f.ti.module_ids[0].attributes_mask[0] = 0xfe;
    expect(&f, AT_OK, NULL, AT_TCB_UP_TO_DATE, "masked seam attribute bit");
    f.seam_attr[0] = 0;
    f.svn[1] = 2;
    expect(&f, AT_E_IDENTITY, "tdx_module_identity", AT_TCB_NOT_SUPPORTED, "no TDX_02");
    memcpy(f.ti.module_ids[0].id, "tdx_02", 7);
    expect(&f, AT_OK, NULL, AT_TCB_UP_TO_DATE, "case-insensitive id");
    /* maj == 0: the tdxModule entry applies, not the identities. */
    f.svn[1] = 0;
    f.ti.module_mrsigner[0] = 1;
    expect(&f, AT_E_IDENTITY, "tdx_module_identity", AT_TCB_NOT_SUPPORTED, "tdxModule mrsigner");
    f.ti.module_mrsigner[0] = 0;
    f.ti.module_attributes[7] = 0x80;
    expect(&f, AT_E_IDENTITY, "tdx_module_identity", AT_TCB_NOT_SUPPORTED, "tdxModule attrs");
    f.ti.module_attributes[7] = 0;
    f.svn[0] = 0; /* module TCB not evaluated through identities when maj == 0 */
    expect(&f, AT_OK, NULL, AT_TCB_UP_TO_DATE, "maj 0");
    fx_clear(&f);
}

/* Advisory IDs: de-duplicated union, platform level, then QE level, then module level. */
static void test_advisory_union(void **state)
{
    (void)state;
    struct fx f;
    struct at_tcb_level l = plat(5, 13, 0, 3, AT_TCB_SW_HARDENING_NEEDED);
    fx_init(&f, true, &l, 1);
    set_adv(&f.ti.levels[0], "SA-A", "SA-B");
    set_adv(&f.qe.levels[1], "SA-B", "SA-C");
    set_adv(&f.ti.module_ids[0].levels[1], "SA-C", "SA-D");
    f.qe_report[258] = 6;
    f.svn[0] = 4;
    struct at_tcb_eval_result r;
    struct at_err e;
    assert_true(at_is_ok(run(&f, &r, &e)));
    assert_int_equal(r.final_status, AT_TCB_OUT_OF_DATE);
    assert_int_equal(r.qe_status, AT_TCB_OUT_OF_DATE);
    assert_int_equal(r.module_status, AT_TCB_OUT_OF_DATE);
    assert_int_equal(r.tdx_status, AT_TCB_SW_HARDENING_NEEDED);
    assert_int_equal(r.n_advisories, 4);
    assert_string_equal(r.advisories[0], "SA-A");
    assert_string_equal(r.advisories[1], "SA-B");
    assert_string_equal(r.advisories[2], "SA-C");
    assert_string_equal(r.advisories[3], "SA-D");
    at_tcb_eval_result_clear(&r);
    /* Not supported still reports what matched (the QE level here). */
    memset(f.pck.comp_svn, 0, 16);
    assert_int_equal(run(&f, &r, &e).code, AT_E_TCB_NOT_SUPPORTED);
    /* QVL order: the module is not evaluated without a TDX level, so only QE [B,C]. */
    assert_int_equal(r.n_advisories, 2);
    assert_string_equal(r.advisories[0], "SA-B");
    assert_string_equal(r.advisories[1], "SA-C");
    at_tcb_eval_result_clear(&r);
    fx_clear(&f);
}

/* ---- real vectors ---- */

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void hex_field(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
    json_t *v = json_object_get(obj, key);
    size_t got;
    struct at_err e;
    at_err_init(&e);
    if (!json_is_string(v) ||
        !at_is_ok(at_hex_decode(json_string_value(v), json_string_length(v), out, n, &got, &e)) ||
        got != n) {
        fail_msg("meta.json: bad hex field %s", key);
    }
}

/* The QE report inside quote.bin (§1.5): v3 inline, v4/v5 in certification data type 6. */
static bool quote_qe_report(const uint8_t *q, size_t len, uint8_t out[384])
{
    if (len < 48) {
        return false;
    }
    unsigned version = (unsigned)(q[0] | q[1] << 8);
    uint32_t tee =
        (uint32_t)q[4] | (uint32_t)q[5] << 8 | (uint32_t)q[6] << 16 | (uint32_t)q[7] << 24;
    size_t off;
    if (version == 3) {
        off = 48 + 384 + 4 + 128;
    } else if (version == 4) {
        off = 48 + (tee == 0x81 ? 584u : 384u) + 4 + 134;
    } else if (version == 5 && len >= 54) {
        size_t body =
            (size_t)q[50] | (size_t)q[51] << 8 | (size_t)q[52] << 16 | (size_t)q[53] << 24;
        off = 54 + body + 4 + 134;
    } else {
        return false;
    }
    if (off > len || len - off < 384) {
        return false;
    }
    memcpy(out, q + off, 384);
    return true;
}

static int n_eval_matched, n_alt_matched, n_not_evaluable;

/* Build the evaluator input from meta.json claims + quote.bin. */
struct vin {
    struct at_pck_ext pck;
    uint8_t qe_report[384], svn[16], svn2[16], mrsignerseam[48], seam_attr[8];
    struct at_tcb_eval_input in;
};

static void vin_build(const char *vdir, const json_t *meta, struct vin *v)
{
    memset(v, 0, sizeof(*v));
    const json_t *claims = json_object_get(meta, "claims");
    const json_t *pck = json_object_get(claims, "pck_cert");
    const json_t *comps = json_object_get(pck, "sgx_tcb_comp_svn");
    assert_int_equal(json_array_size(comps), 16);
    for (size_t i = 0; i < 16; i++) {
        v->pck.comp_svn[i] = (uint8_t)json_integer_value(json_array_get(comps, i));
    }
    v->pck.pcesvn = (uint16_t)json_integer_value(json_object_get(pck, "pcesvn"));
    hex_field(pck, "fmspc", v->pck.fmspc, 6);
    hex_field(pck, "pceid", v->pck.pceid, 2);
    char *qp = path_join(vdir, "quote.bin");
    size_t qlen;
    uint8_t *q = tu_read_file(qp, &qlen);
    free(qp);
    assert_non_null(q);
    assert_true(quote_qe_report(q, qlen, v->qe_report));
    free(q);
    /* The QE report we located agrees with meta.json's decoded fields. */
    const json_t *qr = json_object_get(claims, "qe_report");
    uint8_t mrsigner[32];
    hex_field(qr, "mrsigner", mrsigner, 32);
    assert_memory_equal(v->qe_report + 128, mrsigner, 32);
    assert_int_equal(v->qe_report[258] | v->qe_report[259] << 8,
                     json_integer_value(json_object_get(qr, "isvsvn")));
    assert_int_equal(v->qe_report[256] | v->qe_report[257] << 8,
                     json_integer_value(json_object_get(qr, "isvprodid")));
    v->in.is_tdx = strcmp(json_string_value(json_object_get(meta, "tee")), "tdx") == 0;
    v->in.quote_version = (int)json_integer_value(json_object_get(claims, "quote_version"));
    v->in.pck = &v->pck;
    v->in.qe_report = v->qe_report;
    if (v->in.is_tdx) {
        hex_field(claims, "tee_tcb_svn", v->svn, 16);
        hex_field(claims, "mrsignerseam", v->mrsignerseam, 48);
        hex_field(claims, "seam_attributes", v->seam_attr, 8);
        v->in.tee_tcb_svn = v->svn;
        v->in.mrsignerseam = v->mrsignerseam;
        v->in.seam_attributes = v->seam_attr;
        const char *bt = json_string_value(json_object_get(claims, "body_type"));
        if (bt != NULL && strcmp(bt, "td15") == 0) {
            hex_field(claims, "tee_tcb_svn2", v->svn2, 16);
            v->in.tee_tcb_svn2 = v->svn2;
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Advisory IDs as sets (meta.json lists them sorted). */
static void check_advisories(const char *what, const struct at_tcb_eval_result *r,
                             const json_t *want)
{
    size_t n = json_array_size(want);
    if (n != r->n_advisories) {
        fail_msg("%s: %zu advisories, meta.json has %zu", what, r->n_advisories, n);
    }
    const char **got = calloc(n + 1, sizeof(char *));
    assert_non_null(got);
    for (size_t i = 0; i < n; i++) {
        got[i] = r->advisories[i];
    }
    qsort(got, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++) {
        const char *w = json_string_value(json_array_get(want, i));
        if (w == NULL || strcmp(got[i], w) != 0) {
            fail_msg("%s: advisory %s, meta.json %s", what, got[i], w ? w : "?");
        }
    }
    free(got);
}

static void check_status(const char *what, const char *label, enum at_tcb_status got,
                         const json_t *want)
{
    if (want == NULL) {
        return;
    }
    if (strcmp(at_tcb_status_name(got), json_string_value(want)) != 0) {
        fail_msg("%s: %s %s, meta.json %s", what, label, at_tcb_status_name(got),
                 json_string_value(want));
    }
}

/* Parse bodies, evaluate, compare with the expected statuses; false if not evaluable. */
static bool eval_vector(const char *what, const uint8_t *tb, size_t tlen, const uint8_t *qb,
                        size_t qlen, const struct vin *v, const json_t *expect_obj, bool full)
{
    struct at_tcb_info ti;
    struct at_qe_identity qi;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_tcb_info_parse(tb, tlen, &ti, &e))) {
        printf("  %s: not evaluable: TCB info rejected: %s\n", what, e.msg);
        return false;
    }
    assert_true(at_is_ok(at_qe_identity_parse(qb, qlen, &qi, &e)));
    assert_memory_equal(ti.fmspc, v->pck.fmspc, 6);
    assert_memory_equal(ti.pceid, v->pck.pceid, 2);
    struct at_tcb_eval_result r;
    at_err_init(&e);
    at_status s = at_tcb_evaluate(&ti, &qi, &v->in, &r, &e);
    const char *final = json_string_value(json_object_get(expect_obj, "final_tcb_status"));
    assert_non_null(final);
    enum at_code want_code = strcmp(final, "TCB_NOT_SUPPORTED") == 0 ? AT_E_TCB_NOT_SUPPORTED
                             : strcmp(final, "Revoked") == 0         ? AT_E_REVOKED
                                                                     : AT_OK;
    if (s.code != want_code) {
        fail_msg("%s: %s (%s), want %s", what, at_code_name(s.code), e.msg,
                 at_code_name(want_code));
    }
    check_status(what, "final", r.final_status, json_object_get(expect_obj, "final_tcb_status"));
    if (full) {
        check_status(what, "qe", r.qe_status, json_object_get(expect_obj, "qe_tcb_status"));
        check_status(what, "platform", v->in.is_tdx ? r.tdx_status : r.sgx_status,
                     json_object_get(expect_obj, "platform_tcb_status"));
        check_status(what, "module", r.module_status,
                     json_object_get(expect_obj, "tdx_module_status"));
    }
    check_advisories(what, &r, json_object_get(expect_obj, "advisory_ids"));
    at_tcb_eval_result_clear(&r);
    at_tcb_info_clear(&ti);
    at_qe_identity_clear(&qi);
    return true;
}

static void split_file(const char *vdir, const char *file, const char *key, uint8_t **doc,
                       const uint8_t **body, size_t *len)
{
    char *p = path_join(vdir, file);
    size_t dlen;
    *doc = tu_read_file(p, &dlen);
    free(p);
    assert_non_null(*doc);
    uint8_t sig[64];
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_pcs_json_split(*doc, dlen, key, body, len, sig, &e)));
}

static void eval_alternatives(const char *vdir, const char *name, const json_t *meta,
                              const struct vin *v)
{
    const json_t *alts = json_object_get(meta, "alternative_collateral");
    for (size_t i = 0; i < json_array_size(alts); i++) {
        const json_t *a = json_array_get(alts, i);
        char *p = path_join(vdir, json_string_value(json_object_get(a, "file")));
        json_error_t jerr;
        json_t *cj = json_load_file(p, 0, &jerr);
        free(p);
        assert_non_null(cj);
        const json_t *tb = json_object_get(cj, "tcb_info"),
                     *qb = json_object_get(cj, "qe_identity");
        char what[300];
        int wn = snprintf(what, sizeof(what), "%.200s alt %zu", name, i);
        assert_true(wn > 0);
        if (eval_vector(what, (const uint8_t *)json_string_value(tb), json_string_length(tb),
                        (const uint8_t *)json_string_value(qb), json_string_length(qb), v, a,
                        false)) {
            n_alt_matched++;
        }
        json_decref(cj);
    }
}

static void test_real_vectors(void **state)
{
    (void)state;
    const char *vd = tu_vectors_dir();
    if (vd == NULL) {
        printf("SKIPPED: vectors folder not found\n");
        skip();
    }
    const char *tees[] = {"sgx", "tdx"};
    for (size_t t = 0; t < 2; t++) {
        char *td = path_join(vd, tees[t]);
        DIR *d = opendir(td);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') {
                continue;
            }
            char *vdir = path_join(td, de->d_name);
            char *mp = path_join(vdir, "meta.json");
            json_error_t jerr;
            json_t *meta = json_load_file(mp, 0, &jerr);
            free(mp);
            const json_t *ver = json_object_get(meta, "verification");
            if (meta == NULL || !json_is_true(json_object_get(meta, "has_collateral")) ||
                json_object_get(ver, "final_tcb_status") == NULL) {
                json_decref(meta);
                free(vdir);
                continue;
            }
            struct vin v;
            vin_build(vdir, meta, &v);
            uint8_t *tdoc, *qdoc;
            const uint8_t *tb, *qb;
            size_t tlen, qlen;
            split_file(vdir, "collateral/tcb_info.json", "tcbInfo", &tdoc, &tb, &tlen);
            split_file(vdir, "collateral/qe_identity.json", "enclaveIdentity", &qdoc, &qb, &qlen);
            if (eval_vector(de->d_name, tb, tlen, qb, qlen, &v, ver, true)) {
                n_eval_matched++;
            } else {
                n_not_evaluable++;
            }
            eval_alternatives(vdir, de->d_name, meta, &v);
            free(tdoc);
            free(qdoc);
            json_decref(meta);
            free(vdir);
        }
        if (d != NULL) {
            closedir(d);
        }
        free(td);
    }
    printf("real vectors: %d match meta.json, %d alt collateral sets match, %d not evaluable\n",
           n_eval_matched, n_alt_matched, n_not_evaluable);
    assert_true(n_eval_matched > 20);
    assert_true(n_not_evaluable <= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_every_platform_status),
        cmocka_unit_test(test_sgx_level_selection),
        cmocka_unit_test(test_qe_convergence),
        cmocka_unit_test(test_qe_identity_mismatch),
        cmocka_unit_test(test_tdx_module_convergence),
        cmocka_unit_test(test_tdx_level_matching),
        cmocka_unit_test(test_td_relaunch),
        cmocka_unit_test(test_module_identity_mismatch),
        cmocka_unit_test(test_advisory_union),
        cmocka_unit_test(test_real_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
