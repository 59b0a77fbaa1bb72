/*
 * Policy lexer/parser: accepted forms, syntax and validation errors with
 * line:column and what was expected, strict versus lenient, limits, and
 * the printer round trip (parse -> print -> parse is stable, and canonical
 * text is strict-valid) over synthetic policies and the shared corpus.
 */
#include "base/limits.h"
#include "policy/policy.h"
#include "test_util.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct err_case {
    const char *text;
    unsigned mode_mask; /* 1 lenient, 2 strict */
    enum at_code code;
    unsigned line, col;
    const char *msg_part; /* substring of the diagnostic */
};

#define V10 "version=1.0;"
#define AUTHZ_OK "authorizationrules{=>permit();};"

static const struct err_case errors[] = {
    {"", 3, AT_E_PARSE, 1, 1, "expected 'version'"},
    {"version=1.0", 3, AT_E_PARSE, 1, 12, "expected ';'"},
    {"version=2.0;" AUTHZ_OK, 3, AT_E_UNSUPPORTED, 1, 9, "unsupported policy version 2.0"},
    {"version=1.3;" AUTHZ_OK, 3, AT_E_UNSUPPORTED, 1, 9, "unsupported"},
    {"version=1.00;" AUTHZ_OK, 3, AT_E_UNSUPPORTED, 1, 9, "unsupported"},
    {"version=x;", 3, AT_E_PARSE, 1, 9, "expected a version number"},
    {V10, 3, AT_E_PARSE, 1, 13, "expected 'authorizationrules', found end of input"},
    {"version=1.1;", 3, AT_E_PARSE, 1, 13, "expected 'configurationrules' or 'authorizationrules'"},
    {V10 "\nissuancerules{};", 3, AT_E_PARSE, 2, 1, "'authorizationrules'"},
    {V10 AUTHZ_OK "issuancerules{}; issuancerules{};", 3, AT_E_PARSE, 1, 62, "end of input"},
    {V10 "authorizationrules{\n  [type==\"a\"] => permit();\n  [type=\"a\"] => permit();\n};", 2,
     AT_E_PARSE, 3, 8, "comparison operator"},
    {V10 "authorizationrules{ => permit() };", 2, AT_E_PARSE, 1, 45, "expected ';'"},
    {V10 "authorizationrules{ => permit() => deny(); };", 2, AT_E_PARSE, 1, 45, "expected ';'"},
    {V10 "authorizationrules{ => permit(); }", 2, AT_E_PARSE, 1, 47, "expected ';'"},
    {V10 "authorizationrules{ [type==\"a\"] permit(); };", 3, AT_E_PARSE, 1, 45,
     "expected '&&' or '=>'"},
    {V10 "authorizationrules{ [type==\"a\" value==1] => permit(); };", 3, AT_E_PARSE, 1, 44,
     "expected ',' or ']'"},
    {V10 "authorizationrules{ [kind==\"a\"] => permit(); };", 3, AT_E_PARSE, 1, 34,
     "claim property"},
    {V10 "authorizationrules{ [type==] => permit(); };", 3, AT_E_PARSE, 1, 40,
     "expected an expression"},
    {V10 "authorizationrules{ => allow(); };", 3, AT_E_PARSE, 1, 36, "expected an action"},
    {V10 "authorizationrules{ => permit(1); };", 3, AT_E_PARSE, 1, 43, "expected ')'"},
    {V10 "authorizationrules{ [type==\"a\n\"] => permit(); };", 3, AT_E_PARSE, 1, 40,
     "line break inside a string"},
    {V10 "authorizationrules{ [type==\"abc", 3, AT_E_PARSE, 1, 40, "unterminated string"},
    {V10 "authorizationrules{ /* x", 3, AT_E_PARSE, 1, 33, "unterminated block comment"},
    {V10 "authorizationrules{ [value==0x10] => permit(); };", 3, AT_E_PARSE, 1, 41,
     "only decimal"},
    {V10 "authorizationrules{ [value==99999999999999999999] => permit(); };", 3, AT_E_PARSE, 1,
     41, "out of range"},
    {V10 "authorizationrules{ [value=~\"a\"] => permit(); };", 3, AT_E_PARSE, 1, 39, "A10"},
    {V10 "authorizationrules{ [value!~\"a\"] => permit(); };", 3, AT_E_PARSE, 1, 39, "A10"},
    {V10 "authorizationrules{ [value==1] & [value==2] => permit(); };", 3, AT_E_PARSE, 1, 44,
     "'&&'"},
    {V10 "authorizationrules{ @ };", 3, AT_E_PARSE, 1, 33, "unexpected character '@'"},
    {V10 "authorizationrules{ [type==\"\\ud800\"] => permit(); };", 3, AT_E_PARSE, 1, 41,
     "surrogate"},
    {V10 "authorizationrules{ [type==\"\\u0000\"] => permit(); };", 3, AT_E_PARSE, 1, 41,
     "\\u0000"},
    /* static validation, spec §3.3 */
    {V10 "configurationrules{};" AUTHZ_OK, 3, AT_E_PARSE, 1, 13, "version 1.1"},
    {"version=1.1;\n" AUTHZ_OK "issuancerules{ => issue(type=\"a\", value=NegateBool(true)); };",
     3, AT_E_PARSE, 2, 73, "version 1.2"},
    {"version=1.1;\nauthorizationrules{ ![type==\"a\"] => permit(); };", 3, AT_E_PARSE, 2, 21,
     "version 1.2"},
    {V10 AUTHZ_OK "issuancerules{ => deny(); };", 3, AT_E_PARSE, 1, 63, "authorizationrules"},
    {V10 "authorizationrules{ => issueproperty(type=\"a\", value=1); };", 3, AT_E_PARSE, 1, 36,
     "not allowed in authorizationrules"},
    {V10 "authorizationrules{ => issue(type=\"a\", value=1); => permit(); };", 2, AT_E_PARSE, 1,
     36, "A9"},
    {"version=1.1; configurationrules{ [type==\"a\"] => issueproperty(type=\"a\", value=1); };" AUTHZ_OK,
     3, AT_E_PARSE, 1, 34, "cannot have conditions"},
    {"version=1.1; configurationrules{ => add(type=\"a\", value=1); };" AUTHZ_OK, 3, AT_E_PARSE, 1,
     37, "only allow issueproperty"},
    {"version=1.1; configurationrules{ => issueproperty(type=\"require_valid_aik_cert\", "
     "value=1); };" AUTHZ_OK,
     3, AT_E_PARSE, 1, 34, "Boolean"},
    {V10 AUTHZ_OK "issuancerules{ [type==\"a\"] => issue(type=\"b\", value=c.value); };", 3,
     AT_E_PARSE, 1, 97, "not bound"},
    {V10 AUTHZ_OK "issuancerules{ c:[type==\"a\"] && [value==d.value] && d:[type==\"b\"] => "
                  "issue(claim=c); };",
     3, AT_E_PARSE, 1, 85, "not bound by an earlier condition"},
    {V10 AUTHZ_OK "issuancerules{ c:[type==\"a\"] && C:[type==\"b\"] => issue(claim=c); };", 3,
     AT_E_PARSE, 1, 77, "bound twice"},
    {V10 AUTHZ_OK "issuancerules{ [type==\"a\"] => issue(claim=c); };", 3, AT_E_PARSE, 1, 87,
     "not bound"},
    {V10 AUTHZ_OK "issuancerules{ type:[type==\"a\"] => issue(claim=type); };", 3, AT_E_PARSE, 1,
     60, "keyword"},
    {"version=1.2;" AUTHZ_OK "issuancerules{ => issue(type=\"a\", value=Nope(1)); };", 3,
     AT_E_PARSE, 1, 85, "unknown function 'Nope'"},
    {"version=1.2;" AUTHZ_OK "issuancerules{ => issue(type=\"a\", value=NegateBool(true, "
                             "false)); };",
     3, AT_E_PARSE, 1, 85, "NegateBool takes 1 argument, not 2"},
    {V10 AUTHZ_OK "issuancerules{ => issue(type=\"a\", type=\"b\"); };", 3, AT_E_PARSE, 1, 79,
     "'value ='"},
    {V10 AUTHZ_OK "issuancerules{ => issue(type=\"a\"); };", 3, AT_E_PARSE, 1, 77, "','"},
    {V10 AUTHZ_OK "issuancerules{ => issue(\"a\", value=1); };", 2, AT_E_PARSE, 1, 69,
     "'type ='"},
};

static void test_errors(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        const struct err_case *c = &errors[i];
        for (unsigned m = 1; m <= 2; m++) {
            if ((c->mode_mask & m) == 0) {
                continue;
            }
            struct at_policy *p = NULL;
            struct at_policy_diag d;
            struct at_err e;
            at_err_init(&e);
            at_status s = at_policy_compile(c->text, strlen(c->text),
                                            m == 2 ? AT_POLICY_STRICT : AT_POLICY_LENIENT, &p,
                                            &d, &e);
            if (at_is_ok(s)) {
                printf("case %zu accepted: %s\n", i, c->text);
                at_policy_free(p);
                fail();
            }
            if (s.code != c->code || d.line != c->line || d.col != c->col ||
                strstr(d.msg, c->msg_part) == NULL) {
                printf("case %zu (%s): got code %d at %u:%u '%s'; want %d at %u:%u '%s'\n", i,
                       m == 2 ? "strict" : "lenient", s.code, d.line, d.col, d.msg, c->code,
                       c->line, c->col, c->msg_part);
                bad++;
                continue;
            }
            /* the at_err message carries line:column too */
            char pos[32];
            snprintf(pos, sizeof(pos), "%u:%u: ", c->line, c->col);
            assert_non_null(strstr(e.msg, pos));
        }
    }
    assert_int_equal(bad, 0);
}

static void test_expected_field(void **state)
{
    (void)state;
    const char *t = V10 "authorizationrules{ [type==\"a\"] permit(); };";
    struct at_policy *p = NULL;
    struct at_policy_diag d;
    struct at_err e;
    at_err_init(&e);
    assert_false(at_is_ok(at_policy_compile(t, strlen(t), AT_POLICY_LENIENT, &p, &d, &e)));
    assert_string_equal(d.expected, "'&&' or '=>'");
    assert_non_null(strstr(d.msg, "found 'permit'"));
}

static struct at_policy *compile_ok(const char *t, enum at_policy_mode mode)
{
    struct at_policy *p = NULL;
    struct at_err e;
    at_err_init(&e);
    at_status s = at_policy_compile(t, strlen(t), mode, &p, NULL, &e);
    if (!at_is_ok(s)) {
        printf("unexpected error: %s\n", e.msg);
    }
    assert_true(at_is_ok(s));
    return p;
}

static void test_accepted_forms(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "version=1.0;authorizationrules{};",
        "\xEF\xBB\xBFversion = 1.0 ; authorizationrules { } ; issuancerules { } ;",
        "\r\nversion=1.0;\r\nauthorizationrules { => permit(); };\r\nissuancerules {};",
        "version= 1.0;authorizationrules{c :[type==\"a\"] && c2: [value>=-5, value<=9223372036854775807,"
        " issuer!=\"x\", valueType==\"Integer\"] =>permit();};",
        "version=1.1;configurationrules{};authorizationrules{=> permit();};",
        "version=1.2;authorizationrules{![type==\"a\"] && c:[] => add(value=c.value, type=\"b\");};"
        "issuancerules{c:[type==\"b\"] => issue(type=c.type, value=c.issuer);"
        "=> issue(type=\"j\", value=JsonToClaimValue(JmesPath(\"{}\", \"a\")));"
        "=> issue(type=\"k\", value=IsSubsetOf(AppendString(\"a\",\"b\"), NegateBool(false)));"
        "=> issue(type=\"l\", value=ContainsOnlyValue(\"a\", \"a\"));};",
        "// c1\nversion=1.0; /* c2 */ authorizationrules{ // c3\n => permit(); /* c4 */ };",
        "version=1.0;authorizationrules{ [value==-9223372036854775808] => deny(); };",
        "version=1.0;authorizationrules{ => permit(); };issuancerules{ => issue(type=\"s\", "
        "value=\"\\\"\\\\\\/\\n\\r\\t\\u00e9\\ud83d\\ude00\\q\\u12\"); };",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        at_policy_free(compile_ok(ok[i], AT_POLICY_STRICT));
    }
}

static void test_lenient_warnings(void **state)
{
    (void)state;
    const char *t = "VERSION=1.0;\nauthorizationrules{\n [type=\"a\"] => permit()\n};"
                    "issuancerules{ => issue(\"n\", value=1) }";
    assert_null(NULL);
    struct at_policy *p = compile_ok(t, AT_POLICY_LENIENT);
    /* case, '=', missing ';' after rule, positional arg, missing ';' after rule and section */
    assert_true(at_policy_warning_count(p) >= 5);
    const struct at_policy_diag *w = at_policy_warning(p, 0);
    assert_int_equal(w->line, 1);
    assert_int_equal(w->col, 1);
    assert_non_null(strstr(w->msg, "A1"));
    w = at_policy_warning(p, 1);
    assert_int_equal(w->line, 3);
    assert_int_equal(w->col, 7);
    at_policy_free(p);
}

static char *roundtrip(const char *text, size_t len, enum at_policy_mode mode)
{
    struct at_policy *p = NULL;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_policy_compile(text, len, mode, &p, NULL, &e))) {
        return NULL;
    }
    char *a = at_policy_print(p);
    at_policy_free(p);
    assert_non_null(a);
    struct at_policy *q = NULL;
    at_err_init(&e);
    if (!at_is_ok(at_policy_compile(a, strlen(a), AT_POLICY_STRICT, &q, NULL, &e))) {
        printf("canonical text does not parse strictly (%s):\n%s\n", e.msg, a);
        fail();
    }
    assert_int_equal(at_policy_warning_count(q) > 0 &&
                         strstr(at_policy_warning(q, 0)->msg, "JMESPath") == NULL,
                     0);
    char *b = at_policy_print(q);
    at_policy_free(q);
    assert_non_null(b);
    if (strcmp(a, b) != 0) {
        printf("not stable:\n%s\n---\n%s\n", a, b);
        fail();
    }
    free(b);
    return a;
}

static void test_printer_canonical(void **state)
{
    (void)state;
    const char *t = "Version = 1.2 ;\nAuthorizationRules{ C1:[Type=\"a\", value>=3] && ![issuer==\"x\"]"
                    " => Issue(\"t\", value = c1.Value) ; => permit() };"
                    "issuancerules{ c:[] => issue(claim=c); => add(value=\"q\\\"\\\\\\n\", type="
                    "\"y\");};";
    char *a = roundtrip(t, strlen(t), AT_POLICY_LENIENT);
    assert_non_null(a);
    assert_string_equal(a, "version=1.2;\n"
                           "authorizationrules\n{\n"
                           "    c1:[type==\"a\", value>=3] && ![issuer==\"x\"] => "
                           "add(type=\"t\", value=c1.value);\n"
                           "    => permit();\n"
                           "};\n"
                           "issuancerules\n{\n"
                           "    c:[] => issue(claim=c);\n"
                           "    => add(type=\"y\", value=\"q\\\"\\\\\\n\");\n"
                           "};\n");
    free(a);
}

static void test_printer_corpus(void **state)
{
    (void)state;
    const char *env = getenv("ATTESTD_SPEC");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/policies",
             env != NULL && env[0] != '\0' ? env : ATTESTD_SOURCE_DIR "/../shared/spec");
    DIR *d = opendir(dir);
    if (d == NULL) {
        printf("SKIPPED: policy corpus not found under %s\n", dir);
        skip();
    }
    struct dirent *de;
    int parsed = 0, rejected = 0;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 8 || strcmp(de->d_name + n - 7, ".policy") != 0) {
            continue;
        }
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t len;
        uint8_t *text = tu_read_file(path, &len);
        assert_non_null(text);
        char *a = roundtrip((const char *)text, len, AT_POLICY_LENIENT);
        if (a != NULL) {
            parsed++;
        } else {
            rejected++;
        }
        free(a);
        free(text);
    }
    closedir(d);
    printf("printer round trip: %d corpus policies stable, %d rejected by the parser\n", parsed,
           rejected);
    assert_true(parsed > 0);
}

static void test_limits(void **state)
{
    (void)state;
    struct at_err e;
    struct at_policy *p = NULL;
    struct at_policy_diag d;
    /* text size */
    size_t big = AT_LIMIT_POLICY_BYTES + 1;
    char *t = malloc(big);
    assert_non_null(t);
    memset(t, ' ', big);
    at_err_init(&e);
    at_status s = at_policy_compile(t, big, AT_POLICY_LENIENT, &p, &d, &e);
    assert_int_equal(s.code, AT_E_LIMIT);
    free(t);
    /* rule count */
    struct {
        char *p;
        size_t len, cap;
    } b = {NULL, 0, 0};
    size_t cap = 64 + (AT_LIMIT_POLICY_RULES + 1) * 16;
    b.p = malloc(cap);
    assert_non_null(b.p);
    b.len = (size_t)snprintf(b.p, cap, "version=1.0;authorizationrules{");
    for (unsigned i = 0; i <= AT_LIMIT_POLICY_RULES; i++) {
        memcpy(b.p + b.len, "=> permit();", 12);
        b.len += 12;
    }
    memcpy(b.p + b.len, "};", 2);
    b.len += 2;
    at_err_init(&e);
    s = at_policy_compile(b.p, b.len, AT_POLICY_LENIENT, &p, &d, &e);
    assert_int_equal(s.code, AT_E_LIMIT);
    assert_non_null(strstr(d.msg, "rules"));
    free(b.p);
    /* call nesting */
    char nest[2048];
    size_t n = (size_t)snprintf(nest, sizeof(nest),
                                "version=1.2;authorizationrules{=> add(type=\"a\", value=");
    for (unsigned i = 0; i <= AT_LIMIT_POLICY_DEPTH; i++) {
        n += (size_t)snprintf(nest + n, sizeof(nest) - n, "NegateBool(");
    }
    n += (size_t)snprintf(nest + n, sizeof(nest) - n, "true");
    for (unsigned i = 0; i <= AT_LIMIT_POLICY_DEPTH; i++) {
        nest[n++] = ')';
    }
    n += (size_t)snprintf(nest + n, sizeof(nest) - n, ");};");
    at_err_init(&e);
    s = at_policy_compile(nest, n, AT_POLICY_LENIENT, &p, &d, &e);
    assert_int_equal(s.code, AT_E_LIMIT);
    assert_non_null(strstr(d.msg, "nested"));
    /* conditions per rule */
    char conds[8192];
    n = (size_t)snprintf(conds, sizeof(conds), "version=1.0;authorizationrules{");
    for (unsigned i = 0; i <= AT_LIMIT_POLICY_ITEMS; i++) {
        n += (size_t)snprintf(conds + n, sizeof(conds) - n, "%s[]", i > 0 ? "&&" : "");
    }
    n += (size_t)snprintf(conds + n, sizeof(conds) - n, "=>permit();};");
    at_err_init(&e);
    s = at_policy_compile(conds, n, AT_POLICY_LENIENT, &p, &d, &e);
    assert_int_equal(s.code, AT_E_LIMIT);
}

/* Deeply nested brackets, many tokens: errors, not crashes. */
static void test_garbage(void **state)
{
    (void)state;
    char buf[4096];
    memset(buf, '[', sizeof(buf));
    struct at_policy *p = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_false(at_is_ok(at_policy_compile(buf, sizeof(buf), AT_POLICY_LENIENT, &p, NULL, &e)));
    static const char *const junk[] = {
        "version", "version=", "version=1.", "version=1.0;authorizationrules", "version=1.0;a{",
        "version=1.0;authorizationrules{=>", "version=1.0;authorizationrules{=>permit(",
        "version=1.0;authorizationrules{c:", "version=1.0;authorizationrules{c:[type==",
        "version=1.0;authorizationrules{=>issue(type=\"a\",value=c.",
        "version=1.0;authorizationrules{!", "version=1.0;authorizationrules{\"\\",
        "version=1.0;authorizationrules{-",
        /* fuzz regression: a JMESPath literal compiled before a later syntax error leaked */
        ("version=1.2;authorizationrules{=>permit();};issuancerules{=>add(type=\"e\", "
         "value=JmesPath(\"{}\", \"a.b\"))N"),
        "\xff\xfe", "version=1.0;\x00",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        at_err_init(&e);
        size_t len = strlen(junk[i]);
        if (i == sizeof(junk) / sizeof(junk[0]) - 1) {
            len = 13;
        }
        assert_false(at_is_ok(at_policy_compile(junk[i], len, AT_POLICY_LENIENT, &p, NULL, &e)));
        assert_int_not_equal(e.msg[0], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),          cmocka_unit_test(test_expected_field),
        cmocka_unit_test(test_accepted_forms),  cmocka_unit_test(test_lenient_warnings),
        cmocka_unit_test(test_printer_canonical), cmocka_unit_test(test_printer_corpus),
        cmocka_unit_test(test_limits),          cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
