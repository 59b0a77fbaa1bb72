/*
 * Policy evaluator: semantics with concrete issued claims (spec §6-§7),
 * the explain trace and denial details, runtime limits, default policies,
 * the x-ms-policy-hash vectors of §12.1, and token assembly (§9).
 */
#include "base/limits.h"
#include "policy/policy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Claims from JSON ({type: value} or [{type,value,issuer}]). */
static void claims_from(struct at_claims *cs, const char *json)
{
    at_claims_init(cs);
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_claims_from_json(cs, j, &e)));
    json_decref(j);
}

static struct at_policy *compile(const char *text)
{
    struct at_policy *p = NULL;
    struct at_err e;
    at_err_init(&e);
    at_status s = at_policy_compile(text, strlen(text), AT_POLICY_LENIENT, &p, NULL, &e);
    if (!at_is_ok(s)) {
        printf("compile failed: %s\n", e.msg);
    }
    assert_true(at_is_ok(s));
    return p;
}

/* Evaluate and compare verdict and x-ms-policy (issued NULL = not checked). */
static void check(const char *policy, const char *claims, enum at_policy_verdict want,
                  const char *issued)
{
    struct at_policy *p = compile(policy);
    struct at_claims cs;
    claims_from(&cs, claims);
    struct at_policy_result r;
    at_policy_result_init(&r);
    struct at_err e;
    at_err_init(&e);
    at_status s = at_policy_eval(p, &cs, NULL, &r, &e);
    if (r.verdict != want) {
        printf("verdict %s (%s), want %s\npolicy: %s\n", at_policy_verdict_name(r.verdict),
               r.err.msg, at_policy_verdict_name(want), policy);
    }
    assert_int_equal(r.verdict, want);
    assert_int_equal(at_is_ok(s), want == AT_POLICY_PERMIT);
    if (issued != NULL) {
        json_t *w = json_loads(issued, 0, NULL);
        json_t *h = at_policy_claims_object(&r.issued);
        assert_non_null(w);
        if (!json_equal(w, h)) {
            char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf("issued %s, want %s\n", hs, issued);
            free(hs);
            fail();
        }
        json_decref(w);
        json_decref(h);
    }
    at_policy_result_clear(&r);
    at_claims_clear(&cs);
    at_policy_free(p);
}

#define P10 "version=1.0;"
#define P12 "version=1.2;"
#define PERMIT "authorizationrules{=>permit();};"

static void test_verdicts(void **state)
{
    (void)state;
    /* deny-by-default, deny-overrides in both orders */
    check(P10 "authorizationrules{};", "{}", AT_POLICY_NOPERMIT, NULL);
    check(P10 "authorizationrules{=>permit();=>deny();};", "{}", AT_POLICY_DENY, NULL);
    check(P10 "authorizationrules{=>deny();=>permit();};", "{}", AT_POLICY_DENY, NULL);
    /* issuance does not run after a failed authorization */
    check(P10 "authorizationrules{};issuancerules{=>issue(type=\"x\",value=1);};", "{}",
          AT_POLICY_NOPERMIT, NULL);
    check(P10 PERMIT, "{}", AT_POLICY_PERMIT, "{}");
}

static void test_semantics(void **state)
{
    (void)state;
    /* add vs issue; single pass; the incoming set grows in order */
    check(P10 PERMIT "issuancerules{ [type==\"late\"] => issue(type=\"saw\", value=true);"
                     "=> add(type=\"late\", value=1);"
                     "[type==\"late\", issuer==\"AttestationPolicy\"] => issue(type=\"after\", "
                     "value=2);};",
          "{}", AT_POLICY_PERMIT, "{\"after\":2}");
    /* set semantics: an identifier binds all matches; the action runs once and fans out */
    check(P10 PERMIT "issuancerules{ c:[type==\"n\"] => issue(type=\"copy\", value=c.value); };",
          "{\"n\":[3,1,2]}", AT_POLICY_PERMIT, "{\"copy\":[3,1,2]}");
    /* claim=c copies every bound claim, keeping type and issuer */
    check(P10 PERMIT "issuancerules{ c:[type==\"n\", value>1] => issue(claim=c); };",
          "{\"n\":[3,1,2]}", AT_POLICY_PERMIT, "{\"n\":[3,2]}");
    /* no coercion: "1" != 1; != with another type is true; ordering on strings is false */
    check(P10 "authorizationrules{ [type==\"n\", value==\"1\"] => deny();"
              "[type==\"n\", value!=\"1\"] => permit(); [type==\"s\", value>\"a\"] => deny();};",
          "{\"n\":1,\"s\":\"b\"}", AT_POLICY_PERMIT, NULL);
    /* != is a filter, not absence */
    check(P10 "authorizationrules{ [type==\"n\", value!=1] => permit(); };", "{}",
          AT_POLICY_NOPERMIT, NULL);
    /* two conditions may match different claims */
    check(P10 "authorizationrules{ [type==\"x\", value>=2] && [type==\"x\", value<5] => permit();};",
          "{\"x\":[7,1]}", AT_POLICY_PERMIT, NULL);
    /* cross-reference: existential over the bound set */
    check(P10 "authorizationrules{ e:[type==\"want\"] && [type==\"have\", value==e.value] => "
              "permit();};",
          "{\"want\":[\"a\",\"b\"],\"have\":\"b\"}", AT_POLICY_PERMIT, NULL);
    /* valueType and issuer filters; ordinal case-sensitive strings */
    check(P10 "authorizationrules{ [type==\"h\", valueType==\"String\", value==\"AB\"] => deny();"
              "[type==\"h\", valueType==\"String\", issuer==\"AttestationService\"] => permit();};",
          "{\"h\":\"ab\"}", AT_POLICY_PERMIT, NULL);
    check(P10 "authorizationrules{ [type==\"c\", issuer==\"AttestationService\"] => permit();};",
          "[{\"type\":\"c\",\"value\":1,\"issuer\":\"CustomClaim\"}]", AT_POLICY_NOPERMIT, NULL);
    /* integers: full signed 64-bit range */
    check(P10 "authorizationrules{ [type==\"i\", value<=-9223372036854775808] => permit();};",
          "{\"i\":-9223372036854775808}", AT_POLICY_PERMIT, NULL);
    /* a type issued twice becomes an array; issue is visible to later rules */
    check(P10 PERMIT "issuancerules{ =>issue(type=\"t\",value=\"a\"); =>issue(type=\"t\",value=1);"
                     "[type==\"t\", value==1] => issue(type=\"u\", value=2);};",
          "{}", AT_POLICY_PERMIT, "{\"t\":[\"a\",1],\"u\":2}");
}

static void test_functions(void **state)
{
    (void)state;
    check(P12 PERMIT "issuancerules{"
                     "=> issue(type=\"j\", value=JmesPath(\"{\\\"a\\\":[1,{\\\"b\\\":\\\"x\\\"}]}\", "
                     "\"a[1]\"));"
                     "=> issue(type=\"s\", value=JmesPath(\"{\\\"a\\\":\\\"x\\\"}\", \"a\"));"
                     "=> issue(type=\"n\", value=JmesPath(\"{}\", \"a\"));"
                     "=> issue(type=\"v\", value=JsonToClaimValue(\"[1, null, \\\"s\\\", true, 2.0]\"));"
                     "=> issue(type=\"none\", value=JsonToClaimValue(\"null\"));"
                     "=> issue(type=\"cat\", value=AppendString(\"ab\", \"\"));"
                     "=> issue(type=\"neg\", value=NegateBool(false));"
                     "=> issue(type=\"sub\", value=IsSubsetOf(JsonToClaimValue(\"[]\"), \"x\"));"
                     "=> issue(type=\"only\", value=ContainsOnlyValue(JsonToClaimValue(\"[]\"), 1));"
                     "};",
          "{}", AT_POLICY_PERMIT,
          "{\"j\":\"{\\\"b\\\":\\\"x\\\"}\",\"s\":\"\\\"x\\\"\",\"n\":\"null\","
          "\"v\":[1,\"s\",true,2],\"cat\":\"ab\",\"neg\":true,\"sub\":true,\"only\":false}");
    /* JSON claims are JSON text to the policy */
    check(P12 PERMIT "issuancerules{ c:[type==\"doc\"] => issue(type=\"k\", "
                     "value=JsonToClaimValue(JmesPath(c.value, \"k\"))); };",
          "{\"doc\":{\"k\":5}}", AT_POLICY_PERMIT, "{\"k\":5}");
    /* a query built at run time */
    check(P12 PERMIT "issuancerules{ => add(type=\"q\", value=AppendString(\"a\", \".b\"));"
                     "c:[type==\"q\"] => issue(type=\"r\", value=JsonToClaimValue(JmesPath("
                     "\"{\\\"a\\\":{\\\"b\\\":7}}\", c.value))); };",
          "{}", AT_POLICY_PERMIT, "{\"r\":7}");
}

static void check_error(const char *policy, const char *claims, const char *msg_part)
{
    struct at_policy *p = compile(policy);
    struct at_claims cs;
    claims_from(&cs, claims);
    struct at_policy_result r;
    at_policy_result_init(&r);
    struct at_err e;
    at_err_init(&e);
    at_status s = at_policy_eval(p, &cs, NULL, &r, &e);
    assert_false(at_is_ok(s));
    assert_int_equal(r.verdict, AT_POLICY_ERROR);
    if (strstr(r.err.msg, msg_part) == NULL) {
        printf("error '%s' lacks '%s'\n", r.err.msg, msg_part);
        fail();
    }
    assert_string_equal(e.msg, r.err.msg);
    assert_int_equal(r.issued.count, 0);
    assert_non_null(json_object_get(r.detail, "rule"));
    at_policy_result_clear(&r);
    at_claims_clear(&cs);
    at_policy_free(p);
}

static void test_runtime_errors(void **state)
{
    (void)state;
    check_error(P12 PERMIT "issuancerules{=> issue(type=\"x\", value=JsonToClaimValue(\"{}\"));};",
                "{}", "object");
    check_error(P12 PERMIT "issuancerules{=> issue(type=\"x\", value=JsonToClaimValue(\"1.5\"));};",
                "{}", "not a 64-bit integer");
    check_error(P12 PERMIT "issuancerules{=> issue(type=\"x\", value=JsonToClaimValue(\"[[1]]\"));};",
                "{}", "nested");
    check_error(P12 PERMIT "issuancerules{=> issue(type=\"x\", value=JsonToClaimValue(\"{\"));};",
                "{}", "not valid JSON");
    check_error(P12 PERMIT "issuancerules{=> issue(type=\"x\", value=JmesPath(\"{}\", \"a[\"));};",
                "{}", "JMESPath");
    check_error(P12 PERMIT "issuancerules{=> issue(type=\"x\", value=JmesPath(\"\", \"a\"));};",
                "{}", "non-empty");
    check_error(P12 PERMIT "issuancerules{=> issue(type=\"x\", value=NegateBool(1));};", "{}",
                "must be a Boolean");
    check_error(P12 PERMIT "issuancerules{ c:[type==\"n\"] => issue(type=\"x\", "
                           "value=AppendString(c.value, \"s\"));};",
                "{\"n\":[\"a\",\"b\"]}", "set of 2 values");
    check_error(P12 PERMIT "issuancerules{ => issue(type=1, value=1);};", "{}",
                "single String");
    /* read-only pcrs: add is fine, issue is an error (A8), also through functions */
    check_error(P12 PERMIT "issuancerules{ c:[type==\"pcrs\"] => add(type=\"a\", value=c.value);"
                           "c:[type==\"a\"] => issue(type=\"b\", value=AppendString(c.value, "
                           "\"\"));};",
                "{\"pcrs\":\"{}\"}", "read-only");
    check_error(P10 PERMIT "issuancerules{ c:[type==\"pcrs\"] => issue(claim=c);};",
                "{\"pcrs\":\"{}\"}", "read-only");
    /* property value types */
    check_error(P10 PERMIT "issuancerules{ => issueproperty(type=\"omit_x5c\", value=1);};", "{}",
                "Boolean");
}

static void test_explain(void **state)
{
    (void)state;
    struct at_policy *p = compile(P10 "authorizationrules{\n"
                                      "  [type==\"svn\", value>=5] => permit();\n"
                                      "  c:[type==\"dbg\", value==true] => deny();\n"
                                      "};");
    struct at_claims cs;
    claims_from(&cs, "{\"svn\":3,\"dbg\":true}");
    struct at_policy_result r;
    at_policy_result_init(&r);
    struct at_policy_eval_opts o = {true, 0};
    struct at_err e;
    at_err_init(&e);
    assert_false(at_is_ok(at_policy_eval(p, &cs, &o, &r, &e)));
    assert_int_equal(r.verdict, AT_POLICY_DENY);
    assert_int_equal(json_array_size(r.explain), 2);
    json_t *e0 = json_array_get(r.explain, 0);
    assert_true(json_is_false(json_object_get(e0, "matched")));
    json_t *f = json_object_get(e0, "failed");
    assert_int_equal(json_integer_value(json_object_get(f, "condition")), 0);
    assert_int_equal(json_integer_value(json_object_get(f, "line")), 2);
    assert_string_equal(json_string_value(json_object_get(f, "failed_test")), "value>=5");
    assert_int_equal(json_integer_value(json_object_get(f, "expected")), 5);
    assert_int_equal(json_integer_value(json_object_get(f, "actual")), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f, "closest_claim"), "type")), "svn");
    json_t *e1 = json_array_get(r.explain, 1);
    assert_true(json_is_true(json_object_get(e1, "matched")));
    assert_string_equal(json_string_value(json_object_get(e1, "action")), "deny");
    /* the denial names the deciding rule and the claims involved */
    json_t *rule = json_object_get(r.detail, "rule");
    assert_int_equal(json_integer_value(json_object_get(rule, "line")), 3);
    assert_int_equal(json_integer_value(json_object_get(rule, "column")), 3);
    assert_string_equal(json_string_value(json_object_get(rule, "text")),
                        "c:[type==\"dbg\", value==true] => deny()");
    json_t *claims = json_object_get(r.detail, "claims");
    assert_int_equal(json_array_size(claims), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(claims, 0), "type")),
                        "dbg");
    at_policy_result_clear(&r);
    at_claims_clear(&cs);
    at_policy_free(p);

    /* a missing type and a negated condition */
    p = compile(P12 "authorizationrules{ [type==\"nope\"] => permit(); ![type==\"dbg\"] => "
                    "permit(); };");
    claims_from(&cs, "{\"dbg\":true}");
    at_err_init(&e);
    assert_false(at_is_ok(at_policy_eval(p, &cs, &o, &r, &e)));
    assert_int_equal(r.verdict, AT_POLICY_NOPERMIT);
    f = json_object_get(json_array_get(r.explain, 0), "failed");
    assert_string_equal(json_string_value(json_object_get(f, "reason")),
                        "no claim has a matching type");
    f = json_object_get(json_array_get(r.explain, 1), "failed");
    assert_string_equal(json_string_value(json_object_get(f, "reason")),
                        "a claim matched the negated condition");
    assert_non_null(json_object_get(f, "matching_claim"));
    at_policy_result_clear(&r);
    at_claims_clear(&cs);
    at_policy_free(p);
}

static void test_limits(void **state)
{
    (void)state;
    /* step budget */
    struct at_policy *p = compile(P10 PERMIT "issuancerules{ c:[] => add(claim=c); c:[] => "
                                             "add(claim=c); c:[] => add(claim=c); };");
    struct at_claims cs;
    claims_from(&cs, "{\"a\":[1,2,3,4,5,6,7,8,9,10]}");
    struct at_policy_result r;
    at_policy_result_init(&r);
    struct at_policy_eval_opts o = {false, 50};
    struct at_err e;
    at_err_init(&e);
    at_status s = at_policy_eval(p, &cs, &o, &r, &e);
    assert_int_equal(s.code, AT_E_LIMIT);
    assert_int_equal(r.verdict, AT_POLICY_ERROR);
    at_policy_result_clear(&r);
    at_policy_free(p);
    at_claims_clear(&cs);
    /* claim count: doubling the set each rule */
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof(text), P10 PERMIT "issuancerules{");
    for (int i = 0; i < 16; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "c:[] => add(claim=c);");
    }
    snprintf(text + n, sizeof(text) - n, "};");
    p = compile(text);
    claims_from(&cs, "{\"a\":1}");
    at_err_init(&e);
    s = at_policy_eval(p, &cs, NULL, &r, &e);
    assert_int_equal(s.code, AT_E_LIMIT);
    at_policy_result_clear(&r);
    at_policy_free(p);
    at_claims_clear(&cs);
    /* string growth through AppendString */
    n = (size_t)snprintf(text, sizeof(text), P12 PERMIT "issuancerules{ => add(type=\"s\", "
                                                        "value=\"0123456789abcdef\");");
    for (int i = 0; i < 24; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n,
                              "c:[type==\"s\"] => add(type=\"s\", value=AppendString(c.value, "
                              "c.value));");
    }
    snprintf(text + n, sizeof(text) - n, "};");
    p = compile(text);
    claims_from(&cs, "{}");
    at_err_init(&e);
    s = at_policy_eval(p, &cs, NULL, &r, &e);
    assert_int_equal(r.verdict, AT_POLICY_ERROR); /* a set of 2 after the first rule */
    at_policy_result_clear(&r);
    at_policy_free(p);
    at_claims_clear(&cs);
    /* JSON size */
    size_t big = AT_LIMIT_POLICY_JSON_BYTES + 16;
    char *doc = malloc(big + 1);
    assert_non_null(doc);
    memset(doc, ' ', big);
    doc[0] = '1';
    doc[big] = '\0';
    at_claims_init(&cs);
    assert_true(at_is_ok(at_claims_add_str(&cs, "doc", NULL, doc, &e)));
    free(doc);
    p = compile(P12 PERMIT "issuancerules{ c:[type==\"doc\"] => issue(type=\"x\", "
                           "value=JsonToClaimValue(c.value)); };");
    at_err_init(&e);
    s = at_policy_eval(p, &cs, NULL, &r, &e);
    assert_int_equal(s.code, AT_E_LIMIT);
    at_policy_result_clear(&r);
    at_policy_free(p);
    at_claims_clear(&cs);
}

static void test_hash_vectors(void **state)
{
    (void)state;
    static const char *const vec[][2] = {
        {"version= 1.0;authorizationrules{=> permit();};",
         "9NY0VnTQ-IiBriBplVUpFbczcDaEBUwsiFYAzHu_gco"},
        {"\r\nversion=1.0;\r\nauthorizationrules { => permit(); };\r\nissuancerules {};",
         "inZ7lUqdPSfg5enUez7ijEO-_vv2F7WEWmuncIQNPWE"},
    };
    for (size_t i = 0; i < 2; i++) {
        char h[44];
        struct at_err e;
        at_err_init(&e);
        assert_true(at_is_ok(at_policy_hash(vec[i][0], strlen(vec[i][0]), h, &e)));
        assert_string_equal(h, vec[i][1]);
    }
    /* the shipped SGX default is the observed text, byte for byte (§12.1) */
    char h[44];
    struct at_err e;
    at_err_init(&e);
    const char *sgx = at_policy_default_text("SgxEnclave");
    assert_true(at_is_ok(at_policy_hash(sgx, strlen(sgx), h, &e)));
    assert_string_equal(h, "bROrN897ZfWmWY2V0FLUlu3uwk5xatGnKYHn3zBbSlw");
    const char *snp = at_policy_default_text("SevSnpVm");
    assert_true(at_is_ok(at_policy_hash(snp, strlen(snp), h, &e)));
    assert_string_equal(h, "9NY0VnTQ-IiBriBplVUpFbczcDaEBUwsiFYAzHu_gco");
}

static void test_defaults(void **state)
{
    (void)state;
    assert_string_equal(at_policy_default_text("OpenEnclave"),
                        at_policy_default_text("SgxEnclave"));
    assert_string_equal(at_policy_default_text("TdxVm"), at_policy_default_text("SevSnpVm"));
    assert_null(at_policy_default_text("Tpm"));
    assert_null(at_policy_default_text("VbsEnclave"));
    assert_null(at_policy_default_text("Nope"));
    const char *types[] = {"SgxEnclave", "OpenEnclave", "SevSnpVm", "TdxVm", "AzureGuest"};
    for (size_t i = 0; i < 5; i++) {
        const char *t = at_policy_default_text(types[i]);
        struct at_policy *p = NULL;
        struct at_err e;
        at_err_init(&e);
        assert_true(at_is_ok(at_policy_compile(t, strlen(t), AT_POLICY_STRICT, &p, NULL, &e)));
        assert_int_equal(at_policy_warning_count(p), 0);
        at_policy_free(p);
    }
    check(at_policy_default_text("SgxEnclave"),
          "{\"x-ms-sgx-is-debuggable\":false,\"x-ms-sgx-product-id\":2,\"x-ms-sgx-svn\":4,"
          "\"x-ms-sgx-mrsigner\":\"aa\",\"x-ms-sgx-mrenclave\":\"bb\",\"x-ms-attestation-type\":"
          "\"sgx\"}",
          AT_POLICY_PERMIT,
          "{\"is-debuggable\":false,\"sgx-mrsigner\":\"aa\",\"sgx-mrenclave\":\"bb\","
          "\"product-id\":2,\"svn\":4,\"tee\":\"sgx\"}");
}

static void test_assemble(void **state)
{
    (void)state;
    struct at_claims is;
    at_claims_init(&is);
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_claims_add_str(&is, "tee", AT_ISSUER_POLICY, "sgx", &e)));
    assert_true(at_is_ok(at_claims_add_str(&is, "tee", AT_ISSUER_POLICY, "sgx", &e)));
    assert_true(at_is_ok(at_claims_add_int(&is, "x-ms-ver", AT_ISSUER_POLICY, 9, &e)));
    json_t *tok = json_pack("{s:s}", "x-ms-ver", "1.0");
    assert_true(at_is_ok(at_policy_assemble(tok, "SgxEnclave", &is, "HASH", &e)));
    /* top level copy; service claim wins; array for a repeated type */
    assert_string_equal(json_string_value(json_object_get(tok, "x-ms-ver")), "1.0");
    assert_int_equal(json_array_size(json_object_get(tok, "tee")), 2);
    json_t *xp = json_object_get(tok, "x-ms-policy");
    assert_int_equal(json_integer_value(json_object_get(xp, "x-ms-ver")), 9);
    assert_string_equal(json_string_value(json_object_get(tok, "x-ms-policy-hash")), "HASH");
    json_decref(tok);
    /* TPM: only inside x-ms-policy */
    tok = json_object();
    assert_true(at_is_ok(at_policy_assemble(tok, "Tpm", &is, NULL, &e)));
    assert_null(json_object_get(tok, "tee"));
    assert_non_null(json_object_get(tok, "x-ms-policy"));
    json_decref(tok);
    /* nothing issued: no x-ms-policy */
    at_claims_clear(&is);
    tok = json_object();
    assert_true(at_is_ok(at_policy_assemble(tok, "SgxEnclave", &is, NULL, &e)));
    assert_int_equal(json_object_size(tok), 0);
    json_decref(tok);
}

static void test_config_properties(void **state)
{
    (void)state;
    struct at_policy *p = compile("version=1.1;configurationrules{"
                                  "=> issueproperty(type=\"required_pcr_mask\", value=1);"
                                  "=> issueproperty(type=\"required_pcr_mask\", value=15);"
                                  "=> issueproperty(type=\"my_option\", value=\"x\");};" PERMIT
                                  "issuancerules{ [type==\"required_pcr_mask\", value==15, "
                                  "issuer==\"AttestationPolicy\"] => issue(type=\"seen\", "
                                  "value=true);"
                                  "=> issueproperty(type=\"report_validity_in_minutes\", "
                                  "value=60);};");
    /* last assignment wins; unknown names are accepted with a warning (A18) */
    const struct at_claim *c = at_policy_prop_find(at_policy_config(p), "required_pcr_mask");
    assert_non_null(c);
    assert_int_equal(c->v.i, 15);
    assert_int_equal(at_policy_warning_count(p), 1);
    struct at_claims cs;
    claims_from(&cs, "{}");
    struct at_policy_result r;
    at_policy_result_init(&r);
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_policy_eval(p, &cs, NULL, &r, &e)));
    assert_int_equal(r.issued.count, 1);
    c = at_policy_prop_find(&r.properties, "report_validity_in_minutes");
    assert_non_null(c);
    assert_int_equal(c->v.i, 60);
    at_policy_result_clear(&r);
    at_claims_clear(&cs);
    at_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),       cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_functions),      cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_explain),        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hash_vectors),   cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_assemble),       cmocka_unit_test(test_config_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
