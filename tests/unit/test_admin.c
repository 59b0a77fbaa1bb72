/*
 * The admin JSON API below HTTP (service/admin.c): provider list / show / create /
 * update / delete and role assignment list / parse / assign / remove, the
 * require_token_for_attestation column (migration 3, store_sqlite_provider_token.c),
 * and the error mapping the server answers with. Negative cases are tables of input,
 * expected code and HTTP status; a failed create never leaves a provider behind.
 */
#include "service/service.h"
#include "token/token.h"

#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka needs the headers above first. */
/* clang-format off */
#include <cmocka.h>

#include "test_util.h"
/* clang-format on */

static const int64_t T0 = 1767225600; /* 2026-01-01T00:00:00Z */

struct fx {
    char dir[64];
    struct at_store *store;
    char cert_b64[4096]; /* a signer certificate, standard base64 DER */
    char cert2_b64[4096];
};

static void make_cert_b64(const char *cn, char *out, size_t cap)
{
    struct at_err e;
    at_err_init(&e);
    struct at_signer *s = NULL;
    assert_true(at_is_ok(at_signer_generate(AT_ALG_ES256, cn, T0 - 86400, 365, &s, &e)));
    uint8_t *k = NULL, *der = NULL;
    size_t kl = 0, dl = 0;
    assert_true(at_is_ok(at_signer_export(s, &k, &kl, &der, &dl, &e)));
    assert_true(4 * ((dl + 2) / 3) < cap);
    assert_true(EVP_EncodeBlock((unsigned char *)out, der, (int)dl) > 0);
    OPENSSL_cleanse(k, kl);
    free(k);
    free(der);
    at_signer_free(s);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return -1;
    }
    if (tu_tempdir(f->dir, sizeof(f->dir), "admin") == NULL) {
        return -1;
    }
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_store_open(f->dir, tu_kek(), &f->store, &e)) ||
        !at_is_ok(at_service_ensure_default(f->store, T0, &e))) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    make_cert_b64("admin test signer 1", f->cert_b64, sizeof(f->cert_b64));
    make_cert_b64("admin test signer 2", f->cert2_b64, sizeof(f->cert2_b64));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    at_store_close(f->store);
    if (tu_rm_tree(f->dir) != 0) {
        fprintf(stderr, "cannot remove %s\n", f->dir);
    }
    free(f);
    return 0;
}

static at_status create(struct fx *f, const char *name, const char *body, json_t **out,
                        struct at_err *e)
{
    return at_admin_provider_create(f->store, name, body, strlen(body), T0, out, e);
}

static bool exists(struct fx *f, const char *name)
{
    bool unused;
    struct at_err e;
    at_err_init(&e);
    return at_is_ok(at_store_provider_require_token(f->store, name, &unused, &e));
}

/* ---- providers ---- */

static void test_provider_lifecycle(void **state)
{
    struct fx *f = *state;
    struct at_err e;
    at_err_init(&e);
    char body[16384];
    snprintf(body, sizeof(body),
             "{\"mode\":\"isolated\",\"alg\":\"ES256\",\"signer_certificates\":[\"%s\",\"%s\"],"
             "\"require_token_for_attestation\":true}",
             f->cert_b64, f->cert2_b64);
    json_t *o = NULL;
    assert_true(at_is_ok(create(f, "iso", body, &o, &e)));
    assert_string_equal(json_string_value(json_object_get(o, "name")), "iso");
    assert_string_equal(json_string_value(json_object_get(o, "mode")), "isolated");
    assert_string_equal(json_string_value(json_object_get(o, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(o, "created_at")),
                        "2026-01-01T00:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(o, "signer_certificates")), 2);
    assert_true(json_is_true(json_object_get(o, "require_token_for_attestation")));
    const char *kid = json_string_value(json_object_get(o, "kid"));
    assert_non_null(kid);
    assert_int_equal(strlen(kid), 44); /* base64 of a SHA-256 */
    /* No key material, ever. */
    assert_int_equal(json_object_size(o), 7);
    json_decref(o);

    /* Show equals what create returned; the flag is in the store. */
    assert_true(at_is_ok(at_admin_provider_show(f->store, "iso", &o, &e)));
    assert_true(json_is_true(json_object_get(o, "require_token_for_attestation")));
    json_decref(o);
    bool req = false;
    assert_true(at_is_ok(at_store_provider_require_token(f->store, "iso", &req, &e)));
    assert_true(req);

    /* List: sorted, both providers; the default one does not require a token. */
    assert_true(at_is_ok(at_admin_provider_list(f->store, &o, &e)));
    json_t *v = json_object_get(o, "value");
    assert_int_equal(json_array_size(v), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "name")),
                        "default");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "mode")), "aad");
    assert_true(
        json_is_false(json_object_get(json_array_get(v, 0), "require_token_for_attestation")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 1), "name")), "iso");
    json_decref(o);

    /* Update: the flag flips and the version moves. */
    struct at_provider p;
    assert_true(at_is_ok(at_store_provider_get(f->store, "iso", &p, &e)));
    uint64_t v0 = p.version;
    assert_true(p.require_token_for_attestation);
    at_provider_clear(&p);
    const char *off = "{\"require_token_for_attestation\":false}";
    assert_true(at_is_ok(at_admin_provider_update(f->store, "iso", off, strlen(off), &o, &e)));
    assert_true(json_is_false(json_object_get(o, "require_token_for_attestation")));
    json_decref(o);
    assert_true(at_is_ok(at_store_provider_get(f->store, "iso", &p, &e)));
    assert_false(p.require_token_for_attestation);
    assert_true(p.version > v0);
    at_provider_clear(&p);

    /* Duplicate: 409 Conflict, and the existing provider is untouched. */
    at_err_init(&e);
    assert_false(at_is_ok(create(f, "iso", "{\"mode\":\"aad\"}", &o, &e)));
    assert_int_equal(at_admin_http_status(&e), 409);
    assert_string_equal(at_admin_error_code(&e), "Conflict");
    assert_true(exists(f, "iso"));

    /* Delete; then 404. The default provider is undeletable. */
    at_err_init(&e);
    assert_true(at_is_ok(at_admin_provider_delete(f->store, "iso", &e)));
    assert_false(exists(f, "iso"));
    at_err_init(&e);
    assert_false(at_is_ok(at_admin_provider_show(f->store, "iso", &o, &e)));
    assert_int_equal(e.code, AT_E_NOT_FOUND);
    assert_int_equal(at_admin_http_status(&e), 404);
    at_err_init(&e);
    assert_false(at_is_ok(at_admin_provider_delete(f->store, "iso", &e)));
    assert_int_equal(e.code, AT_E_NOT_FOUND);
    at_err_init(&e);
    assert_false(at_is_ok(at_admin_provider_delete(f->store, "default", &e)));
    assert_int_equal(e.code, AT_E_UNSUPPORTED);
    assert_int_equal(at_admin_http_status(&e), 400);
    assert_string_equal(at_admin_error_code(&e), "InvalidOperation");
    assert_true(exists(f, "default"));
}

static void test_provider_aad_defaults(void **state)
{
    struct fx *f = *state;
    struct at_err e;
    at_err_init(&e);
    json_t *o = NULL;
    assert_true(at_is_ok(create(f, "plain", "{\"mode\":\"aad\"}", &o, &e)));
    assert_string_equal(json_string_value(json_object_get(o, "alg")), "RS256");
    assert_int_equal(json_integer_value(json_object_get(o, "signer_certificates")), 0);
    assert_true(json_is_false(json_object_get(o, "require_token_for_attestation")));
    json_decref(o);
    /* Providers made by at_service_provider_create (attestctl) start without the flag. */
    assert_true(
        at_is_ok(at_service_provider_create(f->store, "old", AT_MODE_AAD, "RS256", T0, &e)));
    bool req = true;
    assert_true(at_is_ok(at_store_provider_require_token(f->store, "old", &req, &e)));
    assert_false(req);
    assert_true(at_is_ok(at_store_provider_set_require_token(f->store, "old", true, &e)));
    assert_true(at_is_ok(at_store_provider_require_token(f->store, "old", &req, &e)));
    assert_true(req);
    at_err_init(&e);
    assert_false(at_is_ok(at_store_provider_set_require_token(f->store, "nope", true, &e)));
    assert_int_equal(e.code, AT_E_NOT_FOUND);
    at_err_init(&e);
    assert_false(at_is_ok(at_store_provider_require_token(f->store, "Bad!", &req, &e)));
    assert_int_equal(e.code, AT_E_BAD_VALUE);
}

struct create_case {
    const char *what;
    const char *name;
    const char *body; /* "%s" is replaced by the test certificate */
    enum at_code code;
    unsigned http;
};

static const struct create_case create_cases[] = {
    {"invalid name", "Bad!", "{\"mode\":\"aad\"}", AT_E_BAD_VALUE, 400},
    {"empty body", "p1", "", AT_E_PARSE, 400},
    {"not JSON", "p1", "{mode", AT_E_PARSE, 400},
    {"array body", "p1", "[]", AT_E_PARSE, 400},
    {"duplicate member", "p1", "{\"mode\":\"aad\",\"mode\":\"aad\"}", AT_E_PARSE, 400},
    {"no mode", "p1", "{}", AT_E_BAD_VALUE, 400},
    {"mode not a string", "p1", "{\"mode\":1}", AT_E_BAD_VALUE, 400},
    {"unknown mode", "p1", "{\"mode\":\"AAD\"}", AT_E_BAD_VALUE, 400},
    {"unknown member", "p1", "{\"mode\":\"aad\",\"policy\":\"x\"}", AT_E_BAD_VALUE, 400},
    {"alg HS256", "p1", "{\"mode\":\"aad\",\"alg\":\"HS256\"}", AT_E_BAD_VALUE, 400},
    {"alg none", "p1", "{\"mode\":\"aad\",\"alg\":\"none\"}", AT_E_BAD_VALUE, 400},
    {"flag not bool", "p1", "{\"mode\":\"aad\",\"require_token_for_attestation\":1}",
     AT_E_BAD_VALUE, 400},
    {"isolated without certs", "p1", "{\"mode\":\"isolated\"}", AT_E_BAD_VALUE, 400},
    {"isolated empty certs", "p1", "{\"mode\":\"isolated\",\"signer_certificates\":[]}",
     AT_E_BAD_VALUE, 400},
    {"aad with certs", "p1", "{\"mode\":\"aad\",\"signer_certificates\":[\"%s\"]}", AT_E_BAD_VALUE,
     400},
    {"certs not an array", "p1", "{\"mode\":\"isolated\",\"signer_certificates\":\"%s\"}",
     AT_E_BAD_VALUE, 400},
    {"cert not a string", "p1", "{\"mode\":\"isolated\",\"signer_certificates\":[1]}",
     AT_E_BAD_VALUE, 400},
    {"cert not base64", "p1", "{\"mode\":\"isolated\",\"signer_certificates\":[\"!!!!\"]}",
     AT_E_PARSE, 400},
    {"cert not DER", "p1", "{\"mode\":\"isolated\",\"signer_certificates\":[\"AAAA\"]}", AT_E_PARSE,
     400},
    {"same cert twice", "p1", "{\"mode\":\"isolated\",\"signer_certificates\":[\"%s\",\"%s\"]}",
     AT_E_BAD_VALUE, 400},
};

/* Copy `tmpl` into out with every "%s" replaced by `cert`. */
static void subst(char *out, size_t cap, const char *tmpl, const char *cert)
{
    size_t n = 0;
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 's') {
            size_t l = strlen(cert);
            assert_true(n + l < cap);
            memcpy(out + n, cert, l);
            n += l;
            p++;
            continue;
        }
        assert_true(n + 1 < cap);
        out[n++] = *p;
    }
    out[n] = '\0';
}

static void test_provider_create_negative(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < sizeof(create_cases) / sizeof(create_cases[0]); i++) {
        const struct create_case *c = &create_cases[i];
        char body[16384];
        subst(body, sizeof(body), c->body, f->cert_b64);
        struct at_err e;
        at_err_init(&e);
        json_t *o = NULL;
        at_status s = create(f, c->name, body, &o, &e);
        if (at_is_ok(s) || e.code != c->code || at_admin_http_status(&e) != c->http) {
            fail_msg("%s: got %s (%s)", c->what, at_code_name(e.code), e.msg);
        }
        assert_null(o);
        /* Nothing half-made stays behind. */
        if (at_store_provider_name_valid(c->name) && exists(f, c->name)) {
            fail_msg("%s: provider left behind", c->what);
        }
    }
    /* Too many certificates: 413. */
    char body[2048];
    size_t n =
        (size_t)snprintf(body, sizeof(body), "{\"mode\":\"isolated\",\"signer_certificates\":[");
    for (int i = 0; i <= AT_ADMIN_SIGNER_CERTS_MAX; i++) {
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"AAAA\"", i > 0 ? "," : "");
    }
    snprintf(body + n, sizeof(body) - n, "]}");
    struct at_err e;
    at_err_init(&e);
    json_t *o = NULL;
    assert_false(at_is_ok(create(f, "p1", body, &o, &e)));
    assert_int_equal(e.code, AT_E_LIMIT);
    assert_int_equal(at_admin_http_status(&e), 413);
}

static void test_provider_update_negative(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *name;
        const char *body;
        enum at_code code;
    } cases[] = {
        {"default", "{}", AT_E_BAD_VALUE},
        {"default", "{\"require_token_for_attestation\":\"yes\"}", AT_E_BAD_VALUE},
        {"default", "{\"require_token_for_attestation\":true,\"mode\":\"aad\"}", AT_E_BAD_VALUE},
        {"default", "nope", AT_E_PARSE},
        {"missing", "{\"require_token_for_attestation\":true}", AT_E_NOT_FOUND},
        {"Bad", "{\"require_token_for_attestation\":true}", AT_E_BAD_VALUE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct at_err e;
        at_err_init(&e);
        json_t *o = NULL;
        at_status s = at_admin_provider_update(f->store, cases[i].name, cases[i].body,
                                               strlen(cases[i].body), &o, &e);
        if (at_is_ok(s) || e.code != cases[i].code) {
            fail_msg("update case %zu: got %s (%s)", i, at_code_name(e.code), e.msg);
        }
        assert_null(o);
    }
    bool req = true;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_provider_require_token(f->store, "default", &req, &e)));
    assert_false(req);
}

/* ---- role assignments ---- */

static void test_roles(void **state)
{
    struct fx *f = *state;
    struct at_err e;
    at_err_init(&e);
    json_t *o = NULL;
    assert_true(at_is_ok(create(f, "p1", "{\"mode\":\"aad\"}", &o, &e)));
    json_decref(o);

    static const char *const bodies[] = {
        "{\"principal\":\"tid/alice\",\"role\":\"reader\",\"scope\":\"p1\"}",
        "{\"principal\":\"tid/alice\",\"role\":\"Owner\",\"scope\":\"*\"}",
        "{\"principal\":\"https://idp.example#bob\",\"role\":\"CONTRIBUTOR\",\"scope\":\"p1\"}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct at_role_assignment a;
        assert_true(at_is_ok(at_admin_role_parse(bodies[i], strlen(bodies[i]), &a, &e)));
        assert_true(at_is_ok(at_admin_role_assign(f->store, &a, &o, &e)));
        json_decref(o);
    }
    /* The stored (and returned) role is canonical. */
    assert_true(at_is_ok(at_admin_role_list(f->store, NULL, NULL, &o, &e)));
    json_t *v = json_object_get(o, "value");
    assert_int_equal(json_array_size(v), 3);
    json_decref(o);
    assert_true(at_is_ok(at_admin_role_list(f->store, "tid/alice", NULL, &o, &e)));
    v = json_object_get(o, "value");
    assert_int_equal(json_array_size(v), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "scope")), "*");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "role")), "Owner");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 1), "role")), "Reader");
    json_decref(o);
    assert_true(at_is_ok(at_admin_role_list(f->store, NULL, "p1", &o, &e)));
    v = json_object_get(o, "value");
    assert_int_equal(json_array_size(v), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "role")),
                        "Contributor");
    json_decref(o);
    assert_true(at_is_ok(at_admin_role_list(f->store, "tid/alice", "*", &o, &e)));
    assert_int_equal(json_array_size(json_object_get(o, "value")), 1);
    json_decref(o);

    /* Remove, then remove again: 404. */
    assert_true(at_is_ok(at_admin_role_remove(f->store, "tid/alice", "p1", &e)));
    at_err_init(&e);
    assert_false(at_is_ok(at_admin_role_remove(f->store, "tid/alice", "p1", &e)));
    assert_int_equal(e.code, AT_E_NOT_FOUND);
    assert_int_equal(at_admin_http_status(&e), 404);
    assert_string_equal(at_admin_error_code(&e), "NotFound");

    /* A scope naming a missing provider is refused. */
    struct at_role_assignment a;
    const char *ghost = "{\"principal\":\"tid/x\",\"role\":\"Reader\",\"scope\":\"ghost\"}";
    at_err_init(&e);
    assert_true(at_is_ok(at_admin_role_parse(ghost, strlen(ghost), &a, &e)));
    assert_false(at_is_ok(at_admin_role_assign(f->store, &a, &o, &e)));
    assert_int_equal(e.code, AT_E_NOT_FOUND);

    /* Bad filters. */
    at_err_init(&e);
    assert_false(at_is_ok(at_admin_role_list(f->store, NULL, "Bad!", &o, &e)));
    assert_int_equal(e.code, AT_E_BAD_VALUE);
    at_err_init(&e);
    assert_false(at_is_ok(at_admin_role_remove(f->store, "tid/x", "Bad!", &e)));
    assert_int_equal(e.code, AT_E_BAD_VALUE);
    at_err_init(&e);
    assert_false(at_is_ok(at_admin_role_remove(f->store, "", "*", &e)));
    assert_int_equal(e.code, AT_E_BAD_VALUE);
}

static void test_role_parse_negative(void **state)
{
    (void)state;
    char long_principal[400];
    memset(long_principal, 'a', sizeof(long_principal));
    long_principal[sizeof(long_principal) - 1] = '\0';
    char long_body[512];
    snprintf(long_body, sizeof(long_body),
             "{\"principal\":\"%s\",\"role\":\"Reader\",\"scope\":\"*\"}", long_principal);
    const struct {
        const char *body;
        enum at_code code;
    } cases[] = {
        {"", AT_E_PARSE},
        {"[1]", AT_E_PARSE},
        {"{\"role\":\"Reader\",\"scope\":\"*\"}", AT_E_BAD_VALUE},
        {"{\"principal\":\"p\",\"scope\":\"*\"}", AT_E_BAD_VALUE},
        {"{\"principal\":\"p\",\"role\":\"Reader\"}", AT_E_BAD_VALUE},
        {"{\"principal\":\"p\",\"role\":\"Admin\",\"scope\":\"*\"}", AT_E_BAD_VALUE},
        {"{\"principal\":\"p\",\"role\":\"Reader\",\"scope\":\"Prov\"}", AT_E_BAD_VALUE},
        {"{\"principal\":\"p\",\"role\":\"Reader\",\"scope\":\"\"}", AT_E_BAD_VALUE},
        {"{\"principal\":\"\",\"role\":\"Reader\",\"scope\":\"*\"}", AT_E_BAD_VALUE},
        {"{\"principal\":1,\"role\":\"Reader\",\"scope\":\"*\"}", AT_E_BAD_VALUE},
        {"{\"principal\":\"p\",\"role\":\"Reader\",\"scope\":\"*\",\"x\":1}", AT_E_BAD_VALUE},
        {"{\"principal\":\"p\",\"principal\":\"q\",\"role\":\"Reader\",\"scope\":\"*\"}",
         AT_E_PARSE},
        {"{\"principal\":\"p\\u0000q\",\"role\":\"Reader\",\"scope\":\"*\"}", AT_E_PARSE},
        {long_body, AT_E_BAD_VALUE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct at_err e;
        at_err_init(&e);
        struct at_role_assignment a;
        at_status s = at_admin_role_parse(cases[i].body, strlen(cases[i].body), &a, &e);
        if (at_is_ok(s) || e.code != cases[i].code || at_admin_http_status(&e) != 400) {
            fail_msg("role parse case %zu: got %s (%s)", i, at_code_name(e.code), e.msg);
        }
    }
}

static void test_error_mapping(void **state)
{
    (void)state;
    static const struct {
        enum at_code code;
        const char *check;
        unsigned http;
        const char *name;
    } cases[] = {
        {AT_E_PARSE, NULL, 400, "InvalidParameter"},
        {AT_E_BAD_VALUE, "provider_exists", 409, "Conflict"},
        {AT_E_UNSUPPORTED, "default_provider", 400, "InvalidOperation"},
        {AT_E_NOT_FOUND, "provider", 404, "NotFound"},
        {AT_E_LIMIT, NULL, 413, "RequestEntityTooLarge"},
        {AT_E_IO, "store", 500, "InternalError"},
        {AT_E_NOMEM, NULL, 500, "InternalError"},
        {AT_E_FORBIDDEN, NULL, 500, "InternalError"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct at_err e;
        at_err_init(&e);
        e.code = cases[i].code;
        e.check = cases[i].check;
        assert_int_equal(at_admin_http_status(&e), cases[i].http);
        assert_string_equal(at_admin_error_code(&e), cases[i].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_provider_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_aad_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_create_negative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_update_negative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
        cmocka_unit_test(test_role_parse_negative),
        cmocka_unit_test(test_error_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
