/*
 * PCS collateral splitting and TCB info / enclave identity parsing
 * (evidence-formats.md §1.8): every real vector's collateral, then synthetic
 * documents with one defect each, truncation at every length and trailing bytes.
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
#include "base/limits.h"
#include "evidence/tcb_info.h"
#include "test_util.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SVN(n)             "{\"svn\":" #n "}"
#define COMPS4(a, b, c, d) SVN(a) "," SVN(b) "," SVN(c) "," SVN(d)
#define ZERO12             COMPS4(0, 0, 0, 0) "," COMPS4(0, 0, 0, 0) "," COMPS4(0, 0, 0, 0)

/* A small SGX v3 TCB info body (synthetic, Intel's layout). */
static const char sgx_v3[] =
    "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"2025-01-01T00:00:00Z\","
    "\"nextUpdate\":\"2025-02-01T00:00:00Z\",\"fmspc\":\"00906ED50000\",\"pceId\":\"0000\","
    "\"tcbType\":0,\"tcbEvaluationDataNumber\":17,\"tcbLevels\":["
    "{\"tcb\":{\"sgxtcbcomponents\":[" COMPS4(
        7, 7, 2, 4) "," ZERO12 "],\"pcesvn\":13},"
                    "\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":\"SWHardeningNeeded\","
                    "\"advisoryIDs\":[\"INTEL-SA-00615\"]},"
                    "{\"tcb\":{\"sgxtcbcomponents\":[{\"svn\":1,\"category\":\"BIOS\",\"type\":"
                    "\"Early Microcode "
                    "Update\"}," SVN(1) "," SVN(2) "," SVN(
                        4) "," ZERO12 "],\"pcesvn\":5},"
                           "\"tcbDate\":\"2018-01-04T00:00:00Z\",\"tcbStatus\":\"OutOfDate\","
                           "\"extra\":[1,2,{}]}]}";

/* The same in the legacy v2 layout. */
static const char sgx_v2[] =
    "{\"version\":2,\"issueDate\":\"2025-01-01T00:00:00Z\",\"nextUpdate\":\"2025-02-01T00:00:00Z\","
    "\"fmspc\":\"00906ed50000\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":12,"
    "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomp01svn\":17,\"sgxtcbcomp02svn\":17,\"sgxtcbcomp03svn\":2,"
    "\"sgxtcbcomp04svn\":4,\"sgxtcbcomp05svn\":1,\"sgxtcbcomp06svn\":128,\"sgxtcbcomp07svn\":6,"
    "\"sgxtcbcomp08svn\":0,\"sgxtcbcomp09svn\":0,\"sgxtcbcomp10svn\":0,\"sgxtcbcomp11svn\":0,"
    "\"sgxtcbcomp12svn\":0,\"sgxtcbcomp13svn\":0,\"sgxtcbcomp14svn\":0,\"sgxtcbcomp15svn\":0,"
    "\"sgxtcbcomp16svn\":255,\"pcesvn\":11},\"tcbDate\":\"2021-11-10T00:00:00Z\","
    "\"tcbStatus\":\"ConfigurationAndSWHardeningNeeded\"}]}";

#define Z96                                                                                        \
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "0000"

/* A TDX v3 TCB info body with a module identity. */
static const char tdx_v3[] =
    "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2025-01-01T00:00:00Z\","
    "\"nextUpdate\":\"2025-02-01T00:00:00Z\",\"fmspc\":\"90c06f000000\",\"pceId\":\"0000\","
    "\"tcbType\":0,\"tcbEvaluationDataNumber\":18,"
    "\"tdxModule\":{\"mrsigner\":\"" Z96 "\",\"attributes\":\"0000000000000000\","
    "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},"
    "\"tdxModuleIdentities\":[{\"id\":\"TDX_01\",\"mrsigner\":\"" Z96 "\","
    "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
    "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2024-11-13T00:00:00Z\","
    "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\","
    "\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-01036\"]}]}],"
    "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[" COMPS4(
        3, 3, 2, 2) "," ZERO12 "],"
                    "\"pcesvn\":13,\"tdxtcbcomponents\":[" COMPS4(
                        5, 0, 3,
                        0) "," ZERO12 "]},"
                           "\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}";

/* A QE identity v2 body. */
static const char qe_v2[] =
    "{\"id\":\"QE\",\"version\":2,\"issueDate\":\"2025-01-01T00:00:00Z\","
    "\"nextUpdate\":\"2025-02-01T00:00:00Z\",\"tcbEvaluationDataNumber\":17,"
    "\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
    "\"attributes\":\"11000000000000000000000000000000\","
    "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
    "\"mrsigner\":\"8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF\","
    "\"isvprodid\":1,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":8},\"tcbDate\":\"2024-03-13T00:00:00Z\","
    "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2021-11-10T00:00:00Z\","
    "\"tcbStatus\":\"Revoked\",\"advisoryIDs\":[\"INTEL-SA-00615\",\"INTEL-SA-00657\"]}]}";

static const char sig_hex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
                              "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";

/* Copy of `doc` with the first `from` replaced by `to` (the test fails if absent). */
static char *mutate(const char *doc, const char *from, const char *to)
{
    const char *at = strstr(doc, from);
    if (at == NULL) {
        fail_msg("mutation anchor '%s' not found", from);
    }
    size_t a = (size_t)(at - doc), fl = strlen(from), tl = strlen(to), dl = strlen(doc);
    char *out = malloc(dl - fl + tl + 1);
    assert_non_null(out);
    memcpy(out, doc, a);
    memcpy(out + a, to, tl);
    memcpy(out + a + tl, doc + a + fl, dl - a - fl + 1);
    return out;
}

static char *wrap(const char *key, const char *body, const char *sig, const char *tail)
{
    size_t n = strlen(key) + strlen(body) + strlen(sig) + strlen(tail) + 64;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "{\"%s\":%s,\"signature\":\"%s\"}%s", key, body, sig, tail);
    return out;
}

static at_status parse_tcb(const char *doc, struct at_err *e)
{
    struct at_tcb_info ti;
    at_err_init(e);
    at_status s = at_tcb_info_parse((const uint8_t *)doc, strlen(doc), &ti, e);
    if (at_is_ok(s)) {
        at_tcb_info_clear(&ti);
    }
    return s;
}

static at_status parse_qe(const char *doc, struct at_err *e)
{
    struct at_qe_identity qi;
    at_err_init(e);
    at_status s = at_qe_identity_parse((const uint8_t *)doc, strlen(doc), &qi, e);
    if (at_is_ok(s)) {
        at_qe_identity_clear(&qi);
    }
    return s;
}

static void test_parse_synthetic_ok(void **state)
{
    (void)state;
    struct at_err e;
    struct at_tcb_info ti;
    struct at_qe_identity qi;

    at_err_init(&e);
    assert_true(at_is_ok(at_tcb_info_parse((const uint8_t *)sgx_v3, strlen(sgx_v3), &ti, &e)));
    assert_int_equal(ti.version, 3);
    assert_false(ti.is_tdx);
    assert_int_equal(ti.n_levels, 2);
    assert_int_equal(ti.levels[0].sgx[0], 7);
    assert_int_equal(ti.levels[0].sgx[3], 4);
    assert_int_equal(ti.levels[0].pcesvn, 13);
    assert_int_equal(ti.levels[0].status, AT_TCB_SW_HARDENING_NEEDED);
    assert_int_equal(ti.levels[0].n_advisories, 1);
    assert_string_equal(ti.levels[0].advisories[0], "INTEL-SA-00615");
    assert_int_equal(ti.levels[1].status, AT_TCB_OUT_OF_DATE);
    assert_int_equal(ti.levels[1].n_advisories, 0);
    assert_int_equal(ti.fmspc[0], 0x00);
    assert_int_equal(ti.fmspc[2], 0x6e);
    assert_int_equal(ti.eval_data_number, 17);
    assert_int_equal(ti.issue_date, 1735689600);
    at_tcb_info_clear(&ti);

    assert_true(at_is_ok(at_tcb_info_parse((const uint8_t *)sgx_v2, strlen(sgx_v2), &ti, &e)));
    assert_int_equal(ti.version, 2);
    assert_int_equal(ti.levels[0].sgx[5], 128);
    assert_int_equal(ti.levels[0].sgx[15], 255);
    assert_int_equal(ti.levels[0].pcesvn, 11);
    assert_int_equal(ti.levels[0].status, AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    at_tcb_info_clear(&ti);

    assert_true(at_is_ok(at_tcb_info_parse((const uint8_t *)tdx_v3, strlen(tdx_v3), &ti, &e)));
    assert_true(ti.is_tdx);
    assert_true(ti.has_tdx_module);
    assert_int_equal(ti.module_attributes_mask[7], 0xff);
    assert_int_equal(ti.n_module_ids, 1);
    assert_string_equal(ti.module_ids[0].id, "TDX_01");
    assert_int_equal(ti.module_ids[0].n_levels, 2);
    assert_int_equal(ti.module_ids[0].levels[1].isvsvn, 4);
    assert_int_equal(ti.module_ids[0].levels[1].status, AT_TCB_OUT_OF_DATE);
    assert_true(ti.levels[0].has_tdx);
    assert_int_equal(ti.levels[0].tdx[0], 5);
    assert_int_equal(ti.levels[0].tdx[2], 3);
    at_tcb_info_clear(&ti);

    assert_true(at_is_ok(at_qe_identity_parse((const uint8_t *)qe_v2, strlen(qe_v2), &qi, &e)));
    assert_int_equal(qi.id, AT_QEID_QE);
    assert_int_equal(qi.isvprodid, 1);
    assert_int_equal(qi.attributes[0], 0x11);
    assert_int_equal(qi.attributes_mask[0], 0xfb);
    assert_int_equal(qi.mrsigner[0], 0x8c);
    assert_int_equal(qi.n_levels, 2);
    assert_int_equal(qi.levels[1].status, AT_TCB_REVOKED);
    assert_int_equal(qi.levels[1].n_advisories, 2);
    at_qe_identity_clear(&qi);
}

struct mut_case {
    const char *doc_name;
    const char *from, *to;
    enum at_code code;
    const char *field;
};

static const struct mut_case tcb_cases[] = {
    {"sgx_v3", "\"fmspc\":\"00906ED50000\"", "\"fmspc\":\"00906ED500\"", AT_E_BAD_VALUE, "fmspc"},
    {"sgx_v3", "\"fmspc\":\"00906ED50000\"", "\"fmspc\":\"00906ED5000G\"", AT_E_PARSE, "fmspc"},
    {"sgx_v3", "\"pceId\":\"0000\"", "\"pceId\":\"00000\"", AT_E_BAD_VALUE, "pceId"},
    {"sgx_v3", "\"pceId\":\"0000\"", "\"pceId\":0", AT_E_PARSE, "pceId"},
    {"sgx_v3", "\"SWHardeningNeeded\"", "\"SwHardeningNeeded\"", AT_E_BAD_VALUE, "tcbStatus"},
    {"sgx_v3", "\"OutOfDate\"", "\"\"", AT_E_BAD_VALUE, "tcbStatus"},
    {"sgx_v3", "2024-11-13T00:00:00Z", "2024-13-13T00:00:00Z", AT_E_BAD_VALUE, "tcbDate"},
    {"sgx_v3", "2025-01-01T00:00:00Z", "2025-01-01", AT_E_BAD_VALUE, "issueDate"},
    {"sgx_v3", "\"2025-02-01T00:00:00Z\"", "\"2024-02-01T00:00:00Z\"", AT_E_BAD_VALUE,
     "nextUpdate"},
    {"sgx_v3", "\"nextUpdate\"", "\"nextUpdat\"", AT_E_PARSE, "nextUpdate"},
    {"sgx_v3", "\"tcbType\":0,", "", AT_E_PARSE, "tcbType"},
    {"sgx_v3", "\"tcbType\":0", "\"tcbType\":1", AT_E_UNSUPPORTED, "tcbType"},
    {"sgx_v3", "\"id\":\"SGX\",", "", AT_E_PARSE, "id"},
    {"sgx_v3", "\"id\":\"SGX\"", "\"id\":\"SEV\"", AT_E_UNSUPPORTED, "id"},
    {"sgx_v3", "\"version\":3", "\"version\":4", AT_E_UNSUPPORTED, "version"},
    {"sgx_v3", "\"version\":3", "\"version\":3.0", AT_E_PARSE, "version"},
    {"sgx_v3", "\"version\":3", "\"version\":\"3\"", AT_E_PARSE, "version"},
    {"sgx_v3", "\"pcesvn\":13", "\"pcesvn\":65536", AT_E_BAD_VALUE, "pcesvn"},
    {"sgx_v3", "\"pcesvn\":13", "\"pcesvn\":-1", AT_E_BAD_VALUE, "pcesvn"},
    {"sgx_v3", "{\"svn\":7}", "{\"svn\":256}", AT_E_BAD_VALUE, "svn"},
    {"sgx_v3", "{\"svn\":7},", "", AT_E_BAD_VALUE, "sgxtcbcomponents"},
    {"sgx_v3", "{\"svn\":7}", "{\"svm\":7}", AT_E_PARSE, "svn"},
    {"sgx_v3", "\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":4294967296",
     AT_E_BAD_VALUE, "tcbEvaluationDataNumber"},
    {"sgx_v3", "[\"INTEL-SA-00615\"]", "[\"INTEL SA\"]", AT_E_BAD_VALUE, "advisoryIDs"},
    {"sgx_v3", "[\"INTEL-SA-00615\"]", "[7]", AT_E_PARSE, "advisoryIDs"},
    {"sgx_v3", "[\"INTEL-SA-00615\"]", "\"INTEL-SA-00615\"", AT_E_PARSE, "advisoryIDs"},
    {"sgx_v3", "\"tcbType\":0", "\"tcbType\":0,\"tcbType\":0", AT_E_PARSE, "json"},
    {"sgx_v3", "\"pcesvn\":13", "\"pcesvn\":13,\"pcesvn\":14", AT_E_PARSE, "json"},
    {"sgx_v2", "\"sgxtcbcomp16svn\":255", "\"sgxtcbcomp16svn\":256", AT_E_BAD_VALUE,
     "sgxtcbcomp16svn"},
    {"sgx_v2", "\"sgxtcbcomp09svn\":0,", "", AT_E_PARSE, "sgxtcbcomp09svn"},
    {"tdx_v3", "\"tdxModule\"", "\"tdxModul\"", AT_E_PARSE, "tdxModule"},
    {"tdx_v3", "\"attributes\":\"0000000000000000\"", "\"attributes\":\"00000000\"", AT_E_BAD_VALUE,
     "attributes"},
    {"tdx_v3", "\"mrsigner\":\"" Z96 "\"", "\"mrsigner\":\"00\"", AT_E_BAD_VALUE, "mrsigner"},
    {"tdx_v3", "\"id\":\"TDX_01\"", "\"id\":\"TDX_1\"", AT_E_BAD_VALUE, "id"},
    {"tdx_v3", "\"tcbStatus\":\"UpToDate\"}", "\"tcbStatus\":\"ConfigurationNeeded\"}",
     AT_E_BAD_VALUE, "tcbStatus"},
    {"tdx_v3", ",\"tdxtcbcomponents\":", ",\"tdxtcbcomponentz\":", AT_E_PARSE, "tdxtcbcomponents"},
    {"tdx_v3", "\"tcbLevels\":[{\"tcb\":{\"sgx", "\"tcbLevels\":[],\"x\":[{\"tcb\":{\"sgx",
     AT_E_BAD_VALUE, "tcbLevels"},
};

static const char *doc_by_name(const char *name)
{
    if (strcmp(name, "sgx_v3") == 0) {
        return sgx_v3;
    }
    if (strcmp(name, "sgx_v2") == 0) {
        return sgx_v2;
    }
    return tdx_v3;
}

static void test_parse_tcb_negative(void **state)
{
    (void)state;
    struct at_err e;
    for (size_t i = 0; i < sizeof(tcb_cases) / sizeof(tcb_cases[0]); i++) {
        const struct mut_case *c = &tcb_cases[i];
        char *doc = mutate(doc_by_name(c->doc_name), c->from, c->to);
        at_status s = parse_tcb(doc, &e);
        if (s.code != c->code || e.field == NULL || strcmp(e.field, c->field) != 0) {
            fail_msg("case %zu (%s -> %s): got %s field %s (%s), want %s field %s", i, c->from,
                     c->to, at_code_name(s.code), e.field ? e.field : "-", e.msg,
                     at_code_name(c->code), c->field);
        }
        assert_string_equal(e.check, "tcb_info_parse");
        free(doc);
    }
}

static const struct mut_case qe_cases[] = {
    {"qe", "\"id\":\"QE\"", "\"id\":\"QAE\"", AT_E_UNSUPPORTED, "id"},
    {"qe", "\"version\":2", "\"version\":1", AT_E_UNSUPPORTED, "version"},
    {"qe", "\"miscselect\":\"00000000\"", "\"miscselect\":\"000000\"", AT_E_BAD_VALUE,
     "miscselect"},
    {"qe", "\"miscselectMask\":\"FFFFFFFF\"", "\"miscselectMask\":\"FFFFFFFFFF\"", AT_E_BAD_VALUE,
     "miscselectMask"},
    {"qe", "\"attributes\":\"11000000000000000000000000000000\"", "\"attributes\":\"11\"",
     AT_E_BAD_VALUE, "attributes"},
    {"qe", "\"mrsigner\":\"8C4F", "\"mrsigner\":\"", AT_E_BAD_VALUE, "mrsigner"},
    {"qe", "\"mrsigner\":\"8C4F", "\"mrsigner\":\"XC4F", AT_E_PARSE, "mrsigner"},
    {"qe", "\"isvprodid\":1", "\"isvprodid\":65536", AT_E_BAD_VALUE, "isvprodid"},
    {"qe", "\"isvprodid\":1,", "", AT_E_PARSE, "isvprodid"},
    {"qe", "{\"isvsvn\":8}", "{\"isvsvn\":70000}", AT_E_BAD_VALUE, "isvsvn"},
    {"qe", "\"Revoked\"", "\"SWHardeningNeeded\"", AT_E_BAD_VALUE, "tcbStatus"},
    {"qe", "\"Revoked\"", "\"revoked\"", AT_E_BAD_VALUE, "tcbStatus"},
    {"qe", "\"2021-11-10T00:00:00Z\"", "\"2021-11-10T00:00:00\"", AT_E_BAD_VALUE, "tcbDate"},
    {"qe", "\"2021-11-10T00:00:00Z\"", "20211110", AT_E_PARSE, "tcbDate"},
    {"qe", "\"tcbEvaluationDataNumber\":17,", "", AT_E_PARSE, "tcbEvaluationDataNumber"},
    {"qe", "\"isvprodid\":1", "\"isvprodid\":1,\"isvprodid\":1", AT_E_PARSE, "json"},
    {"qe", "\"tcbLevels\":[{", "\"tcbLevels\":[7,{", AT_E_PARSE, "tcbLevels"},
};

static void test_parse_qe_negative(void **state)
{
    (void)state;
    struct at_err e;
    for (size_t i = 0; i < sizeof(qe_cases) / sizeof(qe_cases[0]); i++) {
        const struct mut_case *c = &qe_cases[i];
        char *doc = mutate(qe_v2, c->from, c->to);
        at_status s = parse_qe(doc, &e);
        if (s.code != c->code || e.field == NULL || strcmp(e.field, c->field) != 0) {
            fail_msg("case %zu (%s -> %s): got %s field %s (%s), want %s field %s", i, c->from,
                     c->to, at_code_name(s.code), e.field ? e.field : "-", e.msg,
                     at_code_name(c->code), c->field);
        }
        assert_string_equal(e.check, "qe_identity_parse");
        free(doc);
    }
}

/* Every strict prefix of a document is AT_E_TRUNCATED; appended bytes are AT_E_TRAILING. */
static void test_truncate_and_trailing(void **state)
{
    (void)state;
    struct at_err e;
    const char *docs[] = {qe_v2, sgx_v3, tdx_v3, sgx_v2};
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        size_t n = strlen(docs[d]);
        for (size_t len = 0; len < n; len++) {
            struct at_tcb_info ti;
            struct at_qe_identity qi;
            at_err_init(&e);
            at_status s = d == 0 ? at_qe_identity_parse((const uint8_t *)docs[d], len, &qi, &e)
                                 : at_tcb_info_parse((const uint8_t *)docs[d], len, &ti, &e);
            if (s.code != AT_E_TRUNCATED) {
                fail_msg("doc %zu len %zu: %s (%s)", d, len, at_code_name(s.code), e.msg);
            }
        }
        const char *tails[] = {" x", "{}", ",", "\0", "}"};
        for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
            char *doc = malloc(n + 4);
            assert_non_null(doc);
            memcpy(doc, docs[d], n);
            size_t tl = tails[t][0] == '\0' ? 1 : strlen(tails[t]);
            memcpy(doc + n, tails[t], tl);
            struct at_tcb_info ti;
            at_err_init(&e);
            at_status s = at_tcb_info_parse((const uint8_t *)doc, n + tl, &ti, &e);
            assert_int_equal(s.code, AT_E_TRAILING);
            assert_true(e.has_offset);
            free(doc);
        }
    }
}

static void test_split_synthetic(void **state)
{
    (void)state;
    struct at_err e;
    const uint8_t *body;
    size_t body_len;
    uint8_t sig[64];

    char *doc = wrap("tcbInfo", sgx_v3, sig_hex, "");
    at_err_init(&e);
    assert_true(at_is_ok(at_pcs_json_split((const uint8_t *)doc, strlen(doc), "tcbInfo", &body,
                                           &body_len, sig, &e)));
    assert_int_equal(body_len, strlen(sgx_v3));
    assert_memory_equal(body, sgx_v3, body_len);
    assert_int_equal(sig[0], 0x00);
    assert_int_equal(sig[17], 0x11);
    assert_int_equal(sig[63], 0xff);
    /* Every prefix is truncated. */
    for (size_t len = 0; len < strlen(doc); len++) {
        at_err_init(&e);
        at_status s =
            at_pcs_json_split((const uint8_t *)doc, len, "tcbInfo", &body, &body_len, sig, &e);
        if (s.code != AT_E_TRUNCATED) {
            fail_msg("len %zu: %s (%s)", len, at_code_name(s.code), e.msg);
        }
    }
    free(doc);

    struct {
        const char *doc;
        enum at_code code;
    } bad[] = {
        {"{\"tcbInfo\":{},\"signature\":\"00\"}", AT_E_BAD_VALUE},
        {"{\"tcbInfo\":[],\"signature\":\"00\"}", AT_E_PARSE},
        {"{\"tcbInfo\":{}}", AT_E_PARSE},
        {"{\"signature\":\"00\"}", AT_E_BAD_VALUE},
        {"[]", AT_E_PARSE},
        {"", AT_E_TRUNCATED},
        {"{\"a\":1,\"a\":2}", AT_E_PARSE},
        {"{\"tcb\\u0049nfo\":{}}", AT_E_PARSE},
        {"{\"x\":tru}", AT_E_PARSE},
        {"{\"x\":01}", AT_E_PARSE},
        {"{\"x\":\"\\q\"}", AT_E_PARSE},
        {"{\"x\":\"\x01\"}", AT_E_PARSE},
        {"{\"x\":\"\xc3\x28\"}", AT_E_PARSE},
        {"{\"x\":1 2}", AT_E_PARSE},
        {"{\"x\":[1,]}", AT_E_PARSE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_err_init(&e);
        at_status s = at_pcs_json_split((const uint8_t *)bad[i].doc, strlen(bad[i].doc), "tcbInfo",
                                        &body, &body_len, sig, &e);
        if (s.code != bad[i].code) {
            fail_msg("bad %zu: %s (%s)", i, at_code_name(s.code), e.msg);
        }
    }

    /* Duplicate body, trailing garbage, extra members, whitespace, non-hex signature. */
    char *dup = wrap("tcbInfo", "{}", sig_hex, "");
    char *dup2 = mutate(dup, "\"signature\"", "\"tcbInfo\":{},\"signature\"");
    at_err_init(&e);
    assert_int_equal(
        at_pcs_json_split((const uint8_t *)dup2, strlen(dup2), "tcbInfo", &body, &body_len, sig, &e)
            .code,
        AT_E_PARSE);
    char rep[200];
    snprintf(rep, sizeof(rep), "},\"signature\":\"%s\"", sig_hex);
    char *dsig = mutate(dup, "}", rep);
    at_err_init(&e);
    assert_int_equal(
        at_pcs_json_split((const uint8_t *)dsig, strlen(dsig), "tcbInfo", &body, &body_len, sig, &e)
            .code,
        AT_E_PARSE);
    const char *tails[] = {"x", "{}", " }", "\n,"};
    for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
        char *tr = wrap("tcbInfo", "{}", sig_hex, tails[t]);
        at_err_init(&e);
        assert_int_equal(
            at_pcs_json_split((const uint8_t *)tr, strlen(tr), "tcbInfo", &body, &body_len, sig, &e)
                .code,
            AT_E_TRAILING);
        free(tr);
    }
    char *ws = wrap("tcbInfo", " { \"a\" : [ 1 , { } ] } ", sig_hex, " \r\n\t");
    char *ws2 = mutate(ws, "{\"tcbInfo\"", " {\"x\":{\"y\":null},\"tcbInfo\"");
    at_err_init(&e);
    assert_true(at_is_ok(at_pcs_json_split((const uint8_t *)ws2, strlen(ws2), "tcbInfo", &body,
                                           &body_len, sig, &e)));
    assert_int_equal(body_len, strlen("{ \"a\" : [ 1 , { } ] }"));
    char *nh = mutate(dup, "00112233", "0011223g");
    at_err_init(&e);
    assert_int_equal(
        at_pcs_json_split((const uint8_t *)nh, strlen(nh), "tcbInfo", &body, &body_len, sig, &e)
            .code,
        AT_E_PARSE);
    assert_string_equal(e.field, "signature");
    free(dup);
    free(dup2);
    free(dsig);
    free(ws);
    free(ws2);
    free(nh);
}

/* Nesting deeper than AT_LIMIT_JSON_DEPTH is AT_E_LIMIT (jansson has no such limit). */
static void test_depth_limit(void **state)
{
    (void)state;
    struct at_err e;
    for (size_t depth = AT_LIMIT_JSON_DEPTH - 1; depth <= AT_LIMIT_JSON_DEPTH + 1; depth++) {
        /* {"x": [[[...]]]} with `depth` total levels. */
        size_t n = depth - 1;
        char *doc = malloc(2 * n + 16);
        assert_non_null(doc);
        size_t o = 0;
        memcpy(doc, "{\"x\":", 5);
        o = 5;
        memset(doc + o, '[', n);
        o += n;
        memset(doc + o, ']', n);
        o += n;
        doc[o++] = '}';
        doc[o] = '\0';
        struct at_tcb_info ti;
        at_err_init(&e);
        at_status s = at_tcb_info_parse((const uint8_t *)doc, o, &ti, &e);
        assert_int_equal(s.code, depth <= AT_LIMIT_JSON_DEPTH ? AT_E_PARSE : AT_E_LIMIT);
        char *w = wrap("tcbInfo", doc, sig_hex, "");
        const uint8_t *body;
        size_t body_len;
        uint8_t sig[64];
        at_err_init(&e);
        s = at_pcs_json_split((const uint8_t *)w, strlen(w), "tcbInfo", &body, &body_len, sig, &e);
        /* The wrapper adds one level. */
        assert_int_equal(s.code, depth + 1 <= AT_LIMIT_JSON_DEPTH ? AT_OK : AT_E_LIMIT);
        free(w);
        free(doc);
    }
}

/* ---- real vectors ---- */

static char *path_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
    return p;
}

/* Vectors whose collateral is known not to parse, and why (see meta.json). */
static enum at_code expected_tcb_parse(const char *name)
{
    /* Intel's synthetic TDX sample lists component SVNs like 65473 (> 255). */
    return strcmp(name, "intel-qvl-sample-tdx-v4-TESTPKI") == 0 ? AT_E_BAD_VALUE : AT_OK;
}

static int n_tcb_parsed, n_qe_parsed, n_split_checked, n_body_identical, n_alt_parsed;

/* Split `file` with `key`, compare with collateral.json's body/signature, then parse. */
static void check_pcs_file(const char *vdir, const char *name, const char *file, const char *key,
                           const char *cj_body, const char *cj_sig, bool is_tcb)
{
    char *p = path_join(vdir, file, NULL);
    size_t len;
    uint8_t *doc = tu_read_file(p, &len);
    free(p);
    if (doc == NULL) {
        return;
    }
    struct at_err e;
    const uint8_t *body;
    size_t body_len;
    uint8_t sig[64];
    at_err_init(&e);
    if (!at_is_ok(at_pcs_json_split(doc, len, key, &body, &body_len, sig, &e))) {
        fail_msg("%s/%s: split failed: %s", name, file, e.msg);
    }
    n_split_checked++;
    json_t *cj = NULL;
    if (cj_body != NULL) {
        char *cp = path_join(vdir, "collateral.json", NULL);
        json_error_t jerr;
        cj = json_load_file(cp, 0, &jerr);
        free(cp);
    }
    if (cj != NULL) {
        json_t *b = json_object_get(cj, cj_body);
        json_t *s = json_object_get(cj, cj_sig);
        assert_non_null(b);
        assert_non_null(s);
        if (json_string_length(b) != body_len ||
            memcmp(json_string_value(b), body, body_len) != 0) {
            fail_msg("%s: %s body differs from collateral.json %s", name, file, cj_body);
        }
        uint8_t sig2[64];
        size_t n2;
        assert_true(at_is_ok(at_hex_decode(json_string_value(s), json_string_length(s), sig2,
                                           sizeof(sig2), &n2, &e)));
        assert_int_equal(n2, 64);
        assert_memory_equal(sig, sig2, 64);
        n_body_identical++;
        json_decref(cj);
    }
    at_err_init(&e);
    if (is_tcb) {
        struct at_tcb_info ti;
        at_status s = at_tcb_info_parse(body, body_len, &ti, &e);
        if (s.code != expected_tcb_parse(name)) {
            fail_msg("%s/%s: parse gave %s (%s)", name, file, at_code_name(s.code), e.msg);
        }
        if (at_is_ok(s)) {
            assert_true(ti.n_levels > 0);
            assert_int_equal(ti.is_tdx, strstr(vdir, "/tdx/") != NULL);
            at_tcb_info_clear(&ti);
            n_tcb_parsed++;
        }
    } else {
        struct at_qe_identity qi;
        if (!at_is_ok(at_qe_identity_parse(body, body_len, &qi, &e))) {
            fail_msg("%s/%s: parse failed: %s", name, file, e.msg);
        }
        assert_int_equal(qi.id, strstr(vdir, "/tdx/") != NULL ? AT_QEID_TD_QE : AT_QEID_QE);
        at_qe_identity_clear(&qi);
        n_qe_parsed++;
    }
    free(doc);
}

/* alt_collateral/<name>.json: collateral.json layout with the bodies as strings. */
static void check_alt(const char *vdir, const char *name)
{
    char *ad = path_join(vdir, "alt_collateral", NULL);
    DIR *d = opendir(ad);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".json") == NULL) {
            continue;
        }
        char *p = path_join(ad, de->d_name, NULL);
        json_error_t jerr;
        json_t *cj = json_load_file(p, 0, &jerr);
        free(p);
        assert_non_null(cj);
        json_t *tb = json_object_get(cj, "tcb_info"), *qb = json_object_get(cj, "qe_identity");
        struct at_err e;
        struct at_tcb_info ti;
        struct at_qe_identity qi;
        at_err_init(&e);
        if (!at_is_ok(at_tcb_info_parse((const uint8_t *)json_string_value(tb),
                                        json_string_length(tb), &ti, &e)) ||
            !at_is_ok(at_qe_identity_parse((const uint8_t *)json_string_value(qb),
                                           json_string_length(qb), &qi, &e))) {
            fail_msg("%s/%s: %s", name, de->d_name, e.msg);
        }
        at_tcb_info_clear(&ti);
        at_qe_identity_clear(&qi);
        json_decref(cj);
        n_alt_parsed++;
    }
    if (d != NULL) {
        closedir(d);
    }
    free(ad);
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
        char *td = path_join(vd, tees[t], NULL);
        DIR *d = opendir(td);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') {
                continue;
            }
            char *vdir = path_join(td, de->d_name, NULL);
            check_pcs_file(vdir, de->d_name, "collateral/tcb_info.json", "tcbInfo", "tcb_info",
                           "tcb_info_signature", true);
            check_pcs_file(vdir, de->d_name, "collateral/qe_identity.json", "enclaveIdentity",
                           "qe_identity", "qe_identity_signature", false);
            check_pcs_file(vdir, de->d_name, "collateral/partial/tcb_info.json", "tcbInfo", NULL,
                           NULL, true);
            check_alt(vdir, de->d_name);
            free(vdir);
        }
        if (d != NULL) {
            closedir(d);
        }
        free(td);
    }
    printf("real vectors: %d PCS splits (%d byte-identical to collateral.json), %d TCB infos, "
           "%d QE identities, %d alt collateral sets parsed\n",
           n_split_checked, n_body_identical, n_tcb_parsed, n_qe_parsed, n_alt_parsed);
    assert_true(n_tcb_parsed > 20);
    assert_true(n_qe_parsed > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_synthetic_ok), cmocka_unit_test(test_parse_tcb_negative),
        cmocka_unit_test(test_parse_qe_negative),  cmocka_unit_test(test_truncate_and_trailing),
        cmocka_unit_test(test_split_synthetic),    cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_real_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
