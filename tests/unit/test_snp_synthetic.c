/*
 * at_snp_verify against synthetic SEV-SNP evidence from the run-time AMD test PKI
 * (tests/support/testpki_snp.h), with opts.ark = the test ARK: VCEK reports v2, v3, v4
 * and v5 and a VLEK report pass with concrete MAA claims (claim-sets.md §5.2); every
 * failure returns its exact code (evidence-formats.md §3.5, §3.7): a flipped bit in each
 * signed byte, the wrong ARK, TCB and CHIP_ID mismatches, expired and not-yet-valid
 * certificates, truncation and trailing bytes, unknown versions, POLICY bit 17 clear,
 * SIGNING_KEY 7, a VLEK report with a VCEK and a VLEK chained through the ASK.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "base/encoding.h"
#include "evidence/snp.h"
#include "testpki_snp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-06-20T00:00:00Z */
#define T0 ((int64_t)1750377600)

static struct tp_snp_pki *g_pki;

/* ---------------------------------------------------------------- harness */

struct scenario {
    const struct tp_snp_pki *pki; /* signs the report and provides the VEK and chain */
    struct tp_snp_report_params rp;
    enum tp_snp_vek vek;   /* the endorsement key certificate sent */
    enum tp_snp_vek chain; /* which intermediate: ASK (VCEK) or ASVK (VLEK) */
    bool vek_pem;          /* send the VEK as PEM instead of DER */
    X509 *ark;             /* opts.ark; NULL = the PKI's ARK */
    int64_t at;
};

static void scenario_init(struct scenario *s, uint32_t version, bool vlek)
{
    memset(s, 0, sizeof(*s));
    s->pki = g_pki;
    if (vlek) {
        tp_snp_report_params_default_vlek(&s->rp, g_pki, version);
    } else {
        tp_snp_report_params_default(&s->rp, g_pki, version);
    }
    s->vek = s->chain = vlek ? TP_SNP_VLEK : TP_SNP_VCEK;
    s->at = T0;
}

struct col_bufs {
    uint8_t *vek;
    size_t vek_len;
    char *chain;
    size_t chain_len;
};

static void col_make(const struct scenario *s, struct col_bufs *b, struct at_snp_collateral *col)
{
    memset(b, 0, sizeof(*b));
    if (s->vek_pem) {
        X509 *x = s->vek == TP_SNP_VCEK ? tp_snp_pki_vcek(s->pki) : tp_snp_pki_vlek(s->pki);
        char *pem = NULL;
        assert_int_equal(tp_pem_chain(&x, 1, &pem, &b->vek_len), 0);
        b->vek = (uint8_t *)pem;
    } else {
        assert_int_equal(tp_snp_vek_der(s->pki, s->vek, &b->vek, &b->vek_len), 0);
    }
    assert_int_equal(tp_snp_cert_chain_pem(s->pki, s->chain, &b->chain, &b->chain_len), 0);
    memset(col, 0, sizeof(*col));
    col->vek = b->vek;
    col->vek_len = b->vek_len;
    col->chain = (const uint8_t *)b->chain;
    col->chain_len = b->chain_len;
}

static void col_free(struct col_bufs *b)
{
    free(b->vek);
    free(b->chain);
}

static enum at_code verify_bytes(const struct scenario *s, const uint8_t *report, size_t len,
                                 struct at_snp_result *res, struct at_err *e)
{
    struct col_bufs b;
    struct at_snp_collateral col;
    col_make(s, &b, &col);
    struct at_snp_verify_opts opts = {
        .at = s->at,
        .ark = s->ark != NULL ? s->ark : tp_snp_pki_ark(s->pki),
        .cache = NULL,
    };
    at_err_init(e);
    at_status st = at_snp_verify(report, len, &col, &opts, res, e);
    col_free(&b);
    return st.code;
}

static enum at_code run(const struct scenario *s, struct at_snp_result *res, struct at_err *e)
{
    uint8_t report[TP_SNP_REPORT_LEN];
    assert_int_equal(tp_snp_report_build(s->pki, &s->rp, report), 0);
    return verify_bytes(s, report, sizeof(report), res, e);
}

static void expect_bytes(const struct scenario *s, const uint8_t *report, size_t len,
                         enum at_code want, const char *check, const char *what)
{
    struct at_snp_result res;
    struct at_err e;
    at_snp_result_init(&res);
    enum at_code got = verify_bytes(s, report, len, &res, &e);
    if (got != want || (check != NULL && (e.check == NULL || strcmp(e.check, check) != 0))) {
        print_error("%s: want %s (check %s), got %s (check %s): %s\n", what, at_code_name(want),
                    check != NULL ? check : "-", at_code_name(got), e.check != NULL ? e.check : "-",
                    e.msg);
    }
    assert_int_equal(got, want);
    if (check != NULL) {
        assert_non_null(e.check);
        assert_string_equal(e.check, check);
    }
    if (want != AT_OK) {
        assert_false(res.has_claims);
    }
    at_snp_result_clear(&res);
}

static void expect_code(const struct scenario *s, enum at_code want, const char *check,
                        const char *what)
{
    uint8_t report[TP_SNP_REPORT_LEN];
    assert_int_equal(tp_snp_report_build(s->pki, &s->rp, report), 0);
    expect_bytes(s, report, sizeof(report), want, check, what);
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
    if (!json_is_string(j) || strcmp(json_string_value(j), h) != 0) {
        print_error("claim %s: want \"%s\"\n", type, h);
    }
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

static void claim_str(const struct at_claims *cs, const char *type, const char *v)
{
    json_t *j = claim_json(cs, type);
    assert_true(json_is_string(j));
    assert_string_equal(json_string_value(j), v);
    json_decref(j);
}

/* The MAA claims of claim-sets.md §5.2 against the params the report was built from. */
static void check_claims(const struct at_claims *cs, const struct tp_snp_report_params *rp,
                         const struct tp_snp_tcb *tcb)
{
    claim_str(cs, "x-ms-attestation-type", "sevsnpvm");
    claim_hex(cs, "x-ms-sevsnpvm-launchmeasurement", rp->measurement, 48);
    claim_hex(cs, "x-ms-sevsnpvm-reportdata", rp->report_data, 64);
    claim_hex(cs, "x-ms-sevsnpvm-hostdata", rp->host_data, 32);
    claim_hex(cs, "x-ms-sevsnpvm-idkeydigest", rp->id_key_digest, 48);
    claim_hex(cs, "x-ms-sevsnpvm-authorkeydigest", rp->author_key_digest, 48);
    claim_hex(cs, "x-ms-sevsnpvm-familyId", rp->family_id, 16);
    claim_hex(cs, "x-ms-sevsnpvm-imageId", rp->image_id, 16);
    claim_hex(cs, "x-ms-sevsnpvm-reportid", rp->report_id, 32);
    claim_int(cs, "x-ms-sevsnpvm-vmpl", rp->vmpl);
    claim_int(cs, "x-ms-sevsnpvm-guestsvn", rp->guest_svn);
    claim_int(cs, "x-ms-sevsnpvm-bootloader-svn", tcb->bootloader);
    claim_int(cs, "x-ms-sevsnpvm-tee-svn", tcb->tee);
    claim_int(cs, "x-ms-sevsnpvm-snpfw-svn", tcb->snp);
    claim_int(cs, "x-ms-sevsnpvm-microcode-svn", tcb->microcode);
    claim_bool(cs, "x-ms-sevsnpvm-is-debuggable", (rp->policy & TP_SNP_POLICY_DEBUG) != 0);
    claim_bool(cs, "x-ms-sevsnpvm-migration-allowed", (rp->policy & TP_SNP_POLICY_MIGRATE_MA) != 0);
    claim_bool(cs, "x-ms-sevsnpvm-smt-allowed", (rp->policy & TP_SNP_POLICY_SMT) != 0);
}

static void pass(const struct scenario *s, const char *what)
{
    struct at_snp_result res;
    struct at_err e;
    at_snp_result_init(&res);
    enum at_code got = run(s, &res, &e);
    if (got != AT_OK) {
        print_error("%s: %s (%s): %s\n", what, at_code_name(got), e.check ? e.check : "-", e.msg);
    }
    assert_int_equal(got, AT_OK);
    assert_true(res.has_claims);
    assert_int_equal(res.product, AT_SNP_MILAN);
    check_claims(&res.claims, &s->rp, &tp_snp_pki_params_get(s->pki)->tcb);
    at_snp_result_clear(&res);
}

/* ------------------------------------------------------------ pass cases */

static void test_pass_vcek_versions(void **state)
{
    (void)state;
    static const uint32_t versions[] = {2, 3, 4, 5};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        struct scenario s;
        scenario_init(&s, versions[i], false);
        s.rp.guest_svn = 0x01020304;
        s.rp.vmpl = 2;
        for (size_t j = 0; j < 48; j++) {
            s.rp.measurement[j] = (uint8_t)(0xa5 ^ (j * 3));
        }
        char what[32];
        snprintf(what, sizeof(what), "VCEK v%u", versions[i]);
        pass(&s, what);
    }
}

static void test_pass_vlek(void **state)
{
    (void)state;
    struct scenario s;
    scenario_init(&s, 3, true);
    pass(&s, "VLEK v3");
    scenario_init(&s, 5, true);
    s.rp.policy |= TP_SNP_POLICY_MIGRATE_MA;
    pass(&s, "VLEK v5, migration agent allowed");
}

static void test_pass_variants(void **state)
{
    (void)state;
    struct scenario s;
    scenario_init(&s, 3, false);
    s.rp.policy |= TP_SNP_POLICY_DEBUG;
    s.rp.policy &= ~TP_SNP_POLICY_SMT;
    pass(&s, "debug policy, no SMT");

    scenario_init(&s, 3, false);
    s.vek_pem = true;
    pass(&s, "VCEK as PEM");

    /* A masked chip id (all zero) is not compared with the HWID. */
    scenario_init(&s, 3, false);
    s.rp.mask_chip_key = true;
    memset(s.rp.chip_id, 0, sizeof(s.rp.chip_id));
    pass(&s, "masked CHIP_ID");

    /* Older VCEKs store the HWID as the raw 64 bytes. */
    struct tp_snp_pki_params pp = *tp_snp_pki_params_get(g_pki);
    pp.hwid_raw = true;
    pp.tcb = (struct tp_snp_tcb){.bootloader = 2, .tee = 0, .snp = 5, .microcode = 68};
    struct tp_snp_pki *raw = tp_snp_pki_new(&pp);
    assert_non_null(raw);
    scenario_init(&s, 2, false);
    s.pki = raw;
    tp_snp_report_params_default(&s.rp, raw, 2);
    pass(&s, "raw HWID extension, small UCODE SPL");
    tp_snp_pki_free(raw);
}

/* ------------------------------------------------------ signature sweeps */

/* The code a flip of bit 7 of signed byte `off` must produce (evidence-formats.md §3.1). */
static enum at_code flip_expect(size_t off, uint32_t version)
{
    if (off < 0x004) {
        return AT_E_UNSUPPORTED; /* VERSION becomes >= 0x80 */
    }
    if (off >= 0x034 && off < 0x038) {
        return AT_E_UNSUPPORTED; /* SIGNATURE_ALGO != 1 */
    }
    if (off >= 0x048 && off < 0x050) {
        return AT_E_BAD_VALUE; /* signer info bit 7 / bits 31:8 MBZ, reserved 0x04C */
    }
    if (off >= 0x188 && off < 0x18B) {
        if (version < 3) {
            return AT_E_BAD_VALUE; /* reserved in v2 */
        }
        /* family 0x99 / model 0x81: no known product, so no ARK to verify with. */
        return off == 0x18A ? AT_E_SIGNATURE : AT_E_UNSUPPORTED;
    }
    if ((off >= 0x18B && off < 0x1A0) || off == 0x1EB || off == 0x1EF) {
        return AT_E_BAD_VALUE;
    }
    if (off >= 0x1F8 && off < 0x208) {
        return version >= 5 ? AT_E_SIGNATURE : AT_E_BAD_VALUE;
    }
    if (off >= 0x208 && off < 0x2A0) {
        return AT_E_BAD_VALUE;
    }
    return AT_E_SIGNATURE;
}

static void sweep_version(uint32_t version)
{
    struct scenario s;
    scenario_init(&s, version, false);
    uint8_t good[TP_SNP_REPORT_LEN], bad[TP_SNP_REPORT_LEN];
    assert_int_equal(tp_snp_report_build(s.pki, &s.rp, good), 0);
    char what[64];
    for (size_t off = 0; off < TP_SNP_SIGNED_LEN; off++) {
        memcpy(bad, good, sizeof(bad));
        bad[off] ^= 0x80;
        snprintf(what, sizeof(what), "v%u: bit 7 of byte 0x%03zx flipped", version, off);
        expect_bytes(&s, bad, sizeof(bad), flip_expect(off, version),
                     flip_expect(off, version) == AT_E_SIGNATURE ? "report_signature" : NULL, what);
    }
    /* R and S: a flip in the 48 value bytes breaks the signature; the zero padding is MBZ. */
    for (size_t half = 0; half < 2; half++) {
        size_t base = TP_SNP_SIG_OFF + 72 * half;
        static const size_t inside[] = {0, 1, 24, 47};
        for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
            memcpy(bad, good, sizeof(bad));
            bad[base + inside[i]] ^= 0x01;
            snprintf(what, sizeof(what), "v%u: signature byte 0x%03zx", version, base + inside[i]);
            expect_bytes(&s, bad, sizeof(bad), AT_E_SIGNATURE, "report_signature", what);
        }
        memcpy(bad, good, sizeof(bad));
        bad[base + 48] ^= 0x01;
        snprintf(what, sizeof(what), "v%u: signature padding 0x%03zx", version, base + 48);
        expect_bytes(&s, bad, sizeof(bad), AT_E_BAD_VALUE, NULL, what);
    }
    memcpy(bad, good, sizeof(bad));
    bad[TP_SNP_REPORT_LEN - 1] ^= 0x01;
    expect_bytes(&s, bad, sizeof(bad), AT_E_BAD_VALUE, NULL, "reserved tail of the signature");
}

static void test_bit_flips(void **state)
{
    (void)state;
    sweep_version(2);
    sweep_version(3);
    sweep_version(5);
}

static void test_truncated_and_oversized(void **state)
{
    (void)state;
    struct scenario s;
    scenario_init(&s, 3, false);
    uint8_t good[TP_SNP_REPORT_LEN + 4096];
    memset(good, 0, sizeof(good));
    assert_int_equal(tp_snp_report_build(s.pki, &s.rp, good), 0);
    char what[64];
    for (size_t len = 0; len < TP_SNP_REPORT_LEN; len++) {
        /* A fresh exact-size heap copy, so ASan sees any read past `len`. */
        uint8_t *p = malloc(len > 0 ? len : 1);
        assert_non_null(p);
        memcpy(p, good, len);
        snprintf(what, sizeof(what), "truncated to %zu bytes", len);
        expect_bytes(&s, p, len, AT_E_TRUNCATED, NULL, what);
        free(p);
    }
    static const size_t extra[] = {1, 2, 24, 0x4A0, 4096};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        snprintf(what, sizeof(what), "%zu trailing bytes", extra[i]);
        expect_bytes(&s, good, TP_SNP_REPORT_LEN + extra[i], AT_E_TRAILING, NULL, what);
    }
    expect_bytes(&s, NULL, 0, AT_E_TRUNCATED, NULL, "NULL report");
}

/* --------------------------------------------------- structural failures */

static void test_report_fields(void **state)
{
    (void)state;
    struct scenario s;
    static const uint32_t bad_versions[] = {0, 1, 6, 0x100, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        scenario_init(&s, bad_versions[i], false);
        expect_code(&s, AT_E_UNSUPPORTED, NULL, "unknown version");
    }
    scenario_init(&s, 3, false);
    s.rp.policy &= ~TP_SNP_POLICY_RESERVED_1;
    expect_code(&s, AT_E_BAD_VALUE, NULL, "POLICY bit 17 clear");

    for (uint32_t key = 2; key <= 7; key++) {
        scenario_init(&s, 3, false);
        s.rp.signing_key = key;
        expect_code(&s, AT_E_BAD_VALUE, NULL, "SIGNING_KEY reserved or 7 (none)");
    }
    scenario_init(&s, 3, false);
    s.rp.sig_algo = 2;
    expect_code(&s, AT_E_UNSUPPORTED, NULL, "SIGNATURE_ALGO 2");

    scenario_init(&s, 3, false);
    s.rp.signer_info_extra = 1u << 5;
    expect_code(&s, AT_E_BAD_VALUE, NULL, "signer info bit 5 set");

    /* CPUID of a Genoa part with a Milan VCEK: the product does not match. */
    scenario_init(&s, 3, false);
    s.rp.cpuid_mod = 0x11;
    expect_code(&s, AT_E_MISMATCH, NULL, "Genoa CPUID, Milan VCEK");
}

/* ----------------------------------------------------------- the chain */

static void test_wrong_ark(void **state)
{
    (void)state;
    struct scenario s;
    scenario_init(&s, 3, false);
    s.ark = tp_snp_pki_alt_ark(g_pki);
    assert_non_null(s.ark);
    expect_code(&s, AT_E_CHAIN, NULL, "VCEK chain with an impostor ARK as the anchor");
    scenario_init(&s, 3, true);
    s.ark = tp_snp_pki_alt_ark(g_pki);
    expect_code(&s, AT_E_CHAIN, NULL, "VLEK chain with an impostor ARK as the anchor");
}

static void tcb_bump(struct tp_snp_tcb *t, int comp, int d)
{
    uint8_t *f = comp == 0   ? &t->bootloader
                 : comp == 1 ? &t->tee
                 : comp == 2 ? &t->snp
                             : &t->microcode;
    *f = (uint8_t)(*f + d);
}

static void test_tcb_mismatch(void **state)
{
    (void)state;
    static const char *const names[] = {"BL", "TEE", "SNP", "UCODE"};
    for (int comp = 0; comp < 4; comp++) {
        for (int d = -1; d <= 1; d += 2) {
            struct tp_snp_tcb t = tp_snp_pki_params_get(g_pki)->tcb;
            tcb_bump(&t, comp, d);
            struct scenario s;
            scenario_init(&s, 3, false);
            s.rp.reported_tcb = tp_snp_tcb_u64(&t);
            char what[64];
            snprintf(what, sizeof(what), "REPORTED_TCB %s %+d vs the VCEK", names[comp], d);
            expect_code(&s, AT_E_MISMATCH, "vcek_tcb_matches_reported_tcb", what);
        }
    }
    /* A VCEK issued for another TCB, with a report of the default TCB. */
    struct tp_snp_pki_params pp = *tp_snp_pki_params_get(g_pki);
    pp.tcb.microcode = 208;
    struct tp_snp_pki *other = tp_snp_pki_new(&pp);
    assert_non_null(other);
    struct scenario s;
    scenario_init(&s, 3, false);
    s.pki = other;
    tp_snp_report_params_default(&s.rp, g_pki, 3); /* the TCB of g_pki */
    expect_code(&s, AT_E_MISMATCH, "vcek_tcb_matches_reported_tcb", "VCEK UCODE SPL 208");
    tp_snp_pki_free(other);
}

static void test_chip_id_mismatch(void **state)
{
    (void)state;
    struct scenario s;
    static const size_t at[] = {0, 7, 8, 63};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        scenario_init(&s, 3, false);
        s.rp.chip_id[at[i]] ^= 0x01;
        expect_code(&s, AT_E_MISMATCH, "vcek_hwid_matches_chip_id", "CHIP_ID != HWID");
    }
}

static struct tp_snp_pki *pki_with(void (*edit)(struct tp_snp_pki_params *))
{
    struct tp_snp_pki_params pp = *tp_snp_pki_params_get(g_pki);
    edit(&pp);
    struct tp_snp_pki *k = tp_snp_pki_new(&pp);
    assert_non_null(k);
    return k;
}

static void vek_expired(struct tp_snp_pki_params *p)
{
    p->vek_validity = (struct tp_validity){T0 - 2 * TP_YEAR_S, T0 - 1};
}

static void vek_future(struct tp_snp_pki_params *p)
{
    p->vek_validity = (struct tp_validity){T0 + 1, T0 + TP_YEAR_S};
}

static void ask_expired(struct tp_snp_pki_params *p)
{
    p->ask_validity = (struct tp_validity){T0 - 2 * TP_YEAR_S, T0 - 1};
}

static void ark_future(struct tp_snp_pki_params *p)
{
    p->ark_validity = (struct tp_validity){T0 + 1, T0 + TP_YEAR_S};
}

static void validity_case(void (*edit)(struct tp_snp_pki_params *), bool vlek, enum at_code want,
                          const char *what)
{
    struct tp_snp_pki *k = pki_with(edit);
    struct scenario s;
    scenario_init(&s, 3, vlek);
    s.pki = k;
    if (vlek) {
        tp_snp_report_params_default_vlek(&s.rp, k, 3);
    } else {
        tp_snp_report_params_default(&s.rp, k, 3);
    }
    expect_code(&s, want, NULL, what);
    tp_snp_pki_free(k);
}

static void test_validity(void **state)
{
    (void)state;
    validity_case(vek_expired, false, AT_E_EXPIRED, "VCEK expired");
    validity_case(vek_expired, true, AT_E_EXPIRED, "VLEK expired");
    validity_case(vek_future, false, AT_E_NOT_YET_VALID, "VCEK not yet valid");
    validity_case(ask_expired, false, AT_E_EXPIRED, "ASK expired");
    validity_case(ask_expired, true, AT_E_EXPIRED, "ASVK expired");
    validity_case(ark_future, false, AT_E_NOT_YET_VALID, "ARK not yet valid");

    /* The same good chain at other times T. */
    struct scenario s;
    scenario_init(&s, 3, false);
    s.at = T0 + 8 * TP_YEAR_S; /* after the VCEK's notAfter (T0 + 7 years) */
    expect_code(&s, AT_E_EXPIRED, NULL, "verified after the VCEK's notAfter");
    s.at = T0 - 31 * TP_DAY_S; /* before its notBefore (T0 - 30 days) */
    expect_code(&s, AT_E_NOT_YET_VALID, NULL, "verified before the VCEK's notBefore");
}

static void test_key_kind(void **state)
{
    (void)state;
    struct scenario s;
    /* The report says VLEK (and the VLEK signed it), the collateral is the VCEK chain. */
    scenario_init(&s, 3, true);
    s.vek = s.chain = TP_SNP_VCEK;
    expect_code(&s, AT_E_MISMATCH, NULL, "VLEK-signed report, VCEK given");
    /* ... and the reverse. */
    scenario_init(&s, 3, false);
    s.vek = s.chain = TP_SNP_VLEK;
    expect_code(&s, AT_E_MISMATCH, NULL, "VCEK-signed report, VLEK given");

    /* A VLEK with the ASK (not its ASVK) as the intermediate. */
    scenario_init(&s, 3, true);
    s.chain = TP_SNP_VCEK;
    expect_code(&s, AT_E_CHAIN, NULL, "VLEK with the ASK in cert_chain");

    /* A VLEK really issued by the ASK: the signatures verify, the intermediate is wrong. */
    struct tp_snp_pki_params pp = *tp_snp_pki_params_get(g_pki);
    pp.vlek_issued_by_ask = true;
    struct tp_snp_pki *k = tp_snp_pki_new(&pp);
    assert_non_null(k);
    scenario_init(&s, 3, true);
    s.pki = k;
    tp_snp_report_params_default_vlek(&s.rp, k, 3);
    s.chain = TP_SNP_VCEK;
    expect_code(&s, AT_E_CHAIN, NULL, "VLEK issued by the ASK");
    tp_snp_pki_free(k);
}

/* ------------------------------------------------------------------ main */

static int setup(void **state)
{
    (void)state;
    struct tp_snp_pki_params pp;
    tp_snp_pki_params_default(&pp, T0);
    g_pki = tp_snp_pki_new(&pp);
    return g_pki != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tp_snp_pki_free(g_pki);
    tp_snp_keys_release();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_vcek_versions), cmocka_unit_test(test_pass_vlek),
        cmocka_unit_test(test_pass_variants),      cmocka_unit_test(test_report_fields),
        cmocka_unit_test(test_wrong_ark),          cmocka_unit_test(test_tcb_mismatch),
        cmocka_unit_test(test_chip_id_mismatch),   cmocka_unit_test(test_validity),
        cmocka_unit_test(test_key_kind),           cmocka_unit_test(test_truncated_and_oversized),
        cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
