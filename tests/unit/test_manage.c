/*
 * The management plane below HTTP (service/manage.c): policy get/set/reset and policy
 * management certificates in AAD and Isolated mode, signed and unsigned, the wrong
 * signer, removing the last certificate, the x-ms-policy-token-hash vectors of
 * maa-api.md §2.5, and a byte-exact policy text round trip. Response tokens are
 * verified against the provider's JWKS.
 */
#include "base/encoding.h"
#include "crypto/digest.h"
#include "policy/policy.h"
#include "service/service.h"
#include "token/token.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
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

/* maa-api.md §2.5 test vectors (verified with the JS SDK). */
static const char VEC_BODY[] =
    "eyJhbGciOiJub25lIn0.eyJBdHRlc3RhdGlvblBvbGljeSI6ImRtVnljMmx2YmoweExqQTdJR0YxZEdodmNtbDZZWFJw"
    "YjI1eWRXeGxjM3M5UGlCd1pYSnRhWFFvS1R0OU95QnBjM04xWVc1alpYSjFiR1Z6ZTMwNyJ9.";
static const char VEC_HASH[] = "c6sEJQItV50OeP9IrP_bzywAMOVvj5uDPbklA_bwdYQ";
static const char VEC_RESET[] = "eyJhbGciOiJub25lIn0..";
static const char VEC_RESET_HASH[] = "SlVJkQKpZtLXQJDncc2fBGyLLhf6wuSfG3T2LQw3Xus";

static const char POLICY[] = "version=1.0; authorizationrules{=> permit();}; issuancerules{};";

/* A policy management identity: key + self-signed certificate. */
struct ident {
    struct at_signer *s;
    EVP_PKEY *key;
    uint8_t *der;
    size_t der_len;
};

struct fx {
    char dir[64];
    struct at_store *store;
    struct at_service *svc;
    struct ident a, b, c, ec;
};

static void ident_make(struct ident *id, enum at_jws_alg alg, const char *cn)
{
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_signer_generate(alg, cn, T0 - 86400, 365, &id->s, &e)));
    uint8_t *k = NULL;
    size_t kl = 0;
    assert_true(at_is_ok(at_signer_export(id->s, &k, &kl, &id->der, &id->der_len, &e)));
    const unsigned char *p = k;
    id->key = d2i_AutoPrivateKey(NULL, &p, (long)kl);
    assert_non_null(id->key);
    OPENSSL_cleanse(k, kl);
    free(k);
}

static void ident_free(struct ident *id)
{
    at_signer_free(id->s);
    EVP_PKEY_free(id->key);
    free(id->der);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return -1;
    }
    if (tu_tempdir(f->dir, sizeof(f->dir), "mgmt") == NULL) {
        return -1;
    }
    struct at_err e;
    at_err_init(&e);
    ident_make(&f->a, AT_ALG_RS256, "signer A");
    ident_make(&f->b, AT_ALG_RS256, "signer B");
    ident_make(&f->c, AT_ALG_RS256, "signer C");
    ident_make(&f->ec, AT_ALG_ES256, "signer EC");
    if (!at_is_ok(at_store_open(f->dir, tu_kek(), &f->store, &e)) ||
        !at_is_ok(at_service_ensure_default(f->store, T0, &e)) ||
        !at_is_ok(at_service_provider_create(f->store, "iso", AT_MODE_ISOLATED, "RS256", T0, &e)) ||
        !at_is_ok(at_store_signer_add(f->store, "iso", f->a.der, f->a.der_len, &e))) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    struct at_service_config cfg = {.store = f->store,
                                    .issuer_base = "https://attestd.test",
                                    .fixed_time = true,
                                    .fixed_now = T0 + 3600};
    if (!at_is_ok(at_service_new(&cfg, &f->svc, &e))) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    at_service_free(f->svc);
    at_store_close(f->store);
    ident_free(&f->a);
    ident_free(&f->b);
    ident_free(&f->c);
    ident_free(&f->ec);
    if (tu_rm_tree(f->dir) != 0) {
        fprintf(stderr, "cannot remove %s\n", f->dir);
    }
    free(f);
    return 0;
}

/* ---- building requests ---- */

static char *b64url_str(const char *s)
{
    return at_b64url_dup((const uint8_t *)s, strlen(s));
}

static char *std_b64(const uint8_t *p, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1);
    assert_non_null(o);
    assert_true(EVP_EncodeBlock((unsigned char *)o, p, (int)n) >= 0);
    return o;
}

/* {"AttestationPolicy": b64url(text)} as JSON text (heap). */
static char *policy_payload(const char *text, size_t len)
{
    char *b = at_b64url_dup((const uint8_t *)text, len);
    json_t *j = json_pack("{s:s}", "AttestationPolicy", b);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(b);
    return s;
}

static char *unsigned_jws(const char *payload)
{
    char *p = b64url_str(payload);
    size_t n = strlen(p) + 32;
    char *o = malloc(n);
    snprintf(o, n, "eyJhbGciOiJub25lIn0.%s.", p);
    free(p);
    return o;
}

/* RS256 JWS in the SDK's shape: header {"alg":"RS256","x5c":[cert]}; payload may be "". */
static char *signed_jws(const struct ident *id, const char *payload)
{
    char *x5c = std_b64(id->der, id->der_len);
    size_t hl = strlen(x5c) + 64;
    char *h = malloc(hl);
    snprintf(h, hl, "{\"alg\":\"RS256\",\"x5c\":[\"%s\"]}", x5c);
    free(x5c);
    char *hb = b64url_str(h);
    char *pb = b64url_str(payload);
    free(h);
    size_t il = strlen(hb) + strlen(pb) + 2;
    char *input = malloc(il);
    snprintf(input, il, "%s.%s", hb, pb);
    free(hb);
    free(pb);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    uint8_t sig[512];
    size_t sl = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, id->key), 1);
    assert_int_equal(EVP_DigestSign(m, sig, &sl, (const uint8_t *)input, strlen(input)), 1);
    EVP_MD_CTX_free(m);
    char *sb = at_b64url_dup(sig, sl);
    size_t ol = strlen(input) + strlen(sb) + 2;
    char *o = malloc(ol);
    snprintf(o, ol, "%s.%s", input, sb);
    free(input);
    free(sb);
    return o;
}

/* A JWS signed through at_jwt_sign (any alg; header with kid, typ and x5c). */
static char *signer_jws(const struct ident *id, const char *payload)
{
    json_t *p = json_loads(payload, 0, NULL);
    assert_non_null(p);
    char *o = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_jwt_sign(id->s, p, NULL, true, &o, &e)));
    json_decref(p);
    return o;
}

/* "\"<jws>\"" (the certificate operations' JSON string body). */
static char *quoted(const char *s)
{
    size_t n = strlen(s) + 3;
    char *o = malloc(n);
    snprintf(o, n, "\"%s\"", s);
    return o;
}

/* The certificate operations' payload for `target` under claim `name`. */
static char *cert_payload(const char *name, const struct ident *target)
{
    char *x5c = std_b64(target->der, target->der_len);
    json_t *j = json_pack("{s:{s:s, s:[s]}}", name, "kty", "RSA", "x5c", x5c);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(x5c);
    return s;
}

/* ---- running requests ---- */

struct outcome {
    at_status st;
    struct at_err e;
    const char *code;
    json_t *claims; /* verified response body, or NULL */
};

static struct outcome run(struct fx *f, enum at_manage_op op, const char *provider,
                          enum at_att_type type, const char *body)
{
    struct outcome o;
    memset(&o, 0, sizeof(o));
    at_err_init(&o.e);
    struct at_manage_request req = {op,   provider, NULL,
                                    type, body,     body != NULL ? strlen(body) : 0};
    struct at_manage_result res;
    o.st = at_service_manage(f->svc, &req, &res, &o.e);
    o.code = res.error_code;
    if (at_is_ok(o.st)) {
        assert_non_null(res.token);
        struct at_err ve;
        at_err_init(&ve);
        json_t *jwks = at_service_jwks(f->svc, provider, &ve);
        assert_non_null(jwks);
        assert_true(at_is_ok(at_jwt_verify(res.token, jwks, &o.claims, &ve)));
        json_decref(jwks);
        const char *iss = json_string_value(json_object_get(o.claims, "iss"));
        assert_string_equal(iss, "https://attestd.test");
        assert_non_null(json_object_get(o.claims, "exp"));
        assert_non_null(json_object_get(o.claims, "jti"));
        assert_string_equal(json_string_value(json_object_get(o.claims, "x-ms-ver")), "1.0");
    } else {
        assert_null(res.token);
        assert_non_null(o.code);
    }
    at_manage_result_clear(&res);
    return o;
}

static const char *claim(const struct outcome *o, const char *k)
{
    return json_string_value(json_object_get(o->claims, k));
}

static void expect_fail(struct outcome o, const char *code, int http)
{
    if (at_is_ok(o.st)) {
        fail_msg("expected %s, got success", code);
    }
    assert_string_equal(o.code, code);
    assert_int_equal(at_code_http_status(o.e.code), http);
}

/* The policy text inside a policy JWS (heap). */
static char *jws_policy_text(const char *jws, size_t *len)
{
    const char *d1 = strchr(jws, '.');
    const char *d2 = strchr(d1 + 1, '.');
    uint8_t *p = NULL;
    size_t pl = 0;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_b64_decode_any(d1 + 1, (size_t)(d2 - d1 - 1), &p, &pl, &e)));
    json_t *j = json_loadb((const char *)p, pl, 0, NULL);
    free(p);
    const char *ap = json_string_value(json_object_get(j, "AttestationPolicy"));
    assert_non_null(ap);
    uint8_t *t = NULL;
    assert_true(at_is_ok(at_b64_decode_any(ap, strlen(ap), &t, len, &e)));
    json_decref(j);
    return (char *)t;
}

/* ---- tests ---- */

static void test_hash_vectors(void **state)
{
    struct fx *f = *state;
    struct outcome o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_SGX_ENCLAVE, VEC_BODY);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-policy-result"), "Updated");
    assert_string_equal(claim(&o, "x-ms-policy-token-hash"), VEC_HASH);
    assert_string_equal(claim(&o, "x-ms-policy"), VEC_BODY);
    assert_null(json_object_get(o.claims, "x-ms-policy-signer"));
    json_decref(o.claims);

    /* Same JWS as the SDK's text/plain body with a trailing newline, and JSON-quoted. */
    char *q = quoted(VEC_BODY);
    o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_SGX_ENCLAVE, q);
    free(q);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-policy-token-hash"), VEC_HASH);
    json_decref(o.claims);

    o = run(f, AT_MANAGE_POLICY_RESET, NULL, AT_ATT_SGX_ENCLAVE, VEC_RESET);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-policy-result"), "Removed");
    assert_string_equal(claim(&o, "x-ms-policy-token-hash"), VEC_RESET_HASH);
    assert_null(json_object_get(o.claims, "x-ms-policy-signer"));
    json_decref(o.claims);
}

static void test_policy_round_trip(void **state)
{
    struct fx *f = *state;
    /* Leading newline, CRLF, tabs, comment, no trailing newline: stored byte for byte. */
    static const char text[] = "\nversion= 1.0;\r\nauthorizationrules\r\n{\t=> permit(); };\r\n"
                               "// note\r\nissuancerules { };";
    char *pl = policy_payload(text, strlen(text));
    char *body = unsigned_jws(pl);
    free(pl);
    struct outcome o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_OPEN_ENCLAVE, body);
    assert_true(at_is_ok(o.st));
    json_decref(o.claims);
    o = run(f, AT_MANAGE_POLICY_GET, NULL, AT_ATT_OPEN_ENCLAVE, NULL);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-policy"), body); /* the stored JWS, verbatim */
    size_t len = 0;
    char *back = jws_policy_text(claim(&o, "x-ms-policy"), &len);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(back, text, len);
    free(back);
    json_decref(o.claims);
    free(body);

    /* Bare policy text (old upload form): GET wraps it in an unsigned JWS. */
    o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_SEV_SNP_VM, POLICY);
    assert_true(at_is_ok(o.st));
    json_decref(o.claims);
    o = run(f, AT_MANAGE_POLICY_GET, NULL, AT_ATT_SEV_SNP_VM, NULL);
    assert_true(at_is_ok(o.st));
    back = jws_policy_text(claim(&o, "x-ms-policy"), &len);
    assert_int_equal(len, strlen(POLICY));
    assert_memory_equal(back, POLICY, len);
    assert_true(strncmp(claim(&o, "x-ms-policy"), "eyJhbGciOiJub25lIn0.", 20) == 0);
    free(back);
    json_decref(o.claims);
}

static void test_policy_default(void **state)
{
    struct fx *f = *state;
    struct outcome o = run(f, AT_MANAGE_POLICY_GET, NULL, AT_ATT_SGX_ENCLAVE, NULL);
    assert_true(at_is_ok(o.st));
    size_t len = 0;
    char *t = jws_policy_text(claim(&o, "x-ms-policy"), &len);
    const char *def = at_policy_default_text("SgxEnclave");
    assert_int_equal(len, strlen(def));
    assert_memory_equal(t, def, len);
    free(t);
    json_decref(o.claims);
    /* TPM has no default: an empty-payload unsigned JWS (policy-language.md §1.7). */
    o = run(f, AT_MANAGE_POLICY_GET, NULL, AT_ATT_TPM, NULL);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-policy"), "eyJhbGciOiJub25lIn0..");
    json_decref(o.claims);
}

static void test_policy_parse_error(void **state)
{
    struct fx *f = *state;
    static const char bad[] =
        "version=1.0;\nauthorizationrules{ c:[type==] => permit(); };\nissuancerules{};";
    char *pl = policy_payload(bad, strlen(bad));
    char *body = unsigned_jws(pl);
    struct outcome o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_SGX_ENCLAVE, body);
    expect_fail(o, "PolicyParsingError", 400);
    assert_non_null(strstr(o.e.msg, "2:")); /* line:column */
    free(body);
    free(pl);
    /* Malformed JWS forms: InvalidOperation. */
    static const char *const malformed[] = {
        "eyJhbGciOiJub25lIn0.e30.",      /* no AttestationPolicy */
        "eyJhbGciOiJub25lIn0..",         /* empty payload on set */
        "eyJhbGciOiJub25lIn0.e30.c2ln",  /* alg none with a signature */
        "e30.e30.",                      /* no alg */
        "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", /* HS256 */
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", /* RS256 without x5c */
        "\"unterminated",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_SGX_ENCLAVE, malformed[i]);
        expect_fail(o, "InvalidOperation", 400);
    }
}

static void test_aad_signed_any(void **state)
{
    struct fx *f = *state;
    char *pl = policy_payload(POLICY, strlen(POLICY));
    /* Signed by a certificate the provider has never seen: fine in AAD mode, reported. */
    char *body = signed_jws(&f->c, pl);
    struct outcome o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_SGX_ENCLAVE, body);
    assert_true(at_is_ok(o.st));
    json_t *s = json_object_get(o.claims, "x-ms-policy-signer");
    assert_string_equal(json_string_value(json_object_get(s, "kty")), "RSA");
    char *x5c = std_b64(f->c.der, f->c.der_len);
    assert_string_equal(json_string_value(json_array_get(json_object_get(s, "x5c"), 0)), x5c);
    free(x5c);
    assert_string_equal(claim(&o, "x-ms-policy"), body);
    json_decref(o.claims);
    free(body);
    /* ES256 through the token module's signer (header with kid and typ too). */
    body = signer_jws(&f->ec, pl);
    o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_SGX_ENCLAVE, body);
    assert_true(at_is_ok(o.st));
    s = json_object_get(o.claims, "x-ms-policy-signer");
    assert_string_equal(json_string_value(json_object_get(s, "kty")), "EC");
    json_decref(o.claims);
    /* A flipped signature byte. */
    size_t n = strlen(body);
    body[n - 5] = body[n - 5] == 'A' ? 'B' : 'A';
    o = run(f, AT_MANAGE_POLICY_SET, NULL, AT_ATT_SGX_ENCLAVE, body);
    expect_fail(o, "InvalidOperation", 400);
    free(body);
    free(pl);
    /* Certificates: empty in AAD mode; add/remove refused. */
    o = run(f, AT_MANAGE_CERTS_GET, NULL, AT_ATT_SGX_ENCLAVE, NULL);
    assert_true(at_is_ok(o.st));
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(o.claims, "x-ms-policy-certificates"), "keys")),
                     0);
    json_decref(o.claims);
    char *cp = cert_payload("policyCertificate", &f->b);
    char *jws = signed_jws(&f->a, cp);
    char *q = quoted(jws);
    expect_fail(run(f, AT_MANAGE_CERTS_ADD, NULL, AT_ATT_SGX_ENCLAVE, q), "InvalidOperation", 400);
    expect_fail(run(f, AT_MANAGE_CERTS_REMOVE, NULL, AT_ATT_SGX_ENCLAVE, q), "InvalidOperation",
                400);
    free(q);
    free(jws);
    free(cp);
}

static void test_isolated_policy(void **state)
{
    struct fx *f = *state;
    char *pl = policy_payload(POLICY, strlen(POLICY));
    char *body = unsigned_jws(pl);
    struct outcome o = run(f, AT_MANAGE_POLICY_SET, "iso", AT_ATT_SGX_ENCLAVE, body);
    expect_fail(o, "InvalidOperation", 400);
    free(body);
    expect_fail(run(f, AT_MANAGE_POLICY_SET, "iso", AT_ATT_SGX_ENCLAVE, POLICY), "InvalidOperation",
                400);
    /* Wrong signer: says which certificate. */
    body = signed_jws(&f->b, pl);
    o = run(f, AT_MANAGE_POLICY_SET, "iso", AT_ATT_SGX_ENCLAVE, body);
    expect_fail(o, "InvalidOperation", 400);
    assert_non_null(strstr(o.e.msg, "not a policy management certificate"));
    free(body);
    /* The registered signer. */
    body = signed_jws(&f->a, pl);
    o = run(f, AT_MANAGE_POLICY_SET, "iso", AT_ATT_SGX_ENCLAVE, body);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-policy-result"), "Updated");
    assert_non_null(json_object_get(o.claims, "x-ms-policy-signer"));
    json_decref(o.claims);
    o = run(f, AT_MANAGE_POLICY_GET, "iso", AT_ATT_SGX_ENCLAVE, NULL);
    assert_string_equal(claim(&o, "x-ms-policy"), body);
    json_decref(o.claims);
    free(body);
    free(pl);
    /* Reset: unsigned refused, wrong signer refused, signed empty payload accepted. */
    expect_fail(run(f, AT_MANAGE_POLICY_RESET, "iso", AT_ATT_SGX_ENCLAVE, VEC_RESET),
                "InvalidOperation", 400);
    body = signed_jws(&f->b, "");
    expect_fail(run(f, AT_MANAGE_POLICY_RESET, "iso", AT_ATT_SGX_ENCLAVE, body), "InvalidOperation",
                400);
    free(body);
    body = signed_jws(&f->a, "");
    o = run(f, AT_MANAGE_POLICY_RESET, "iso", AT_ATT_SGX_ENCLAVE, body);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-policy-result"), "Removed");
    assert_non_null(json_object_get(o.claims, "x-ms-policy-signer"));
    uint8_t h[32];
    char hb[48];
    assert_int_equal(at_sha256(body, strlen(body), h), 0);
    at_b64url_encode(h, sizeof(h), hb);
    assert_string_equal(claim(&o, "x-ms-policy-token-hash"), hb);
    json_decref(o.claims);
    /* A signed empty payload with a corrupted signature is still refused. */
    size_t n = strlen(body);
    body[n - 3] = body[n - 3] == 'A' ? 'B' : 'A';
    expect_fail(run(f, AT_MANAGE_POLICY_RESET, "iso", AT_ATT_SGX_ENCLAVE, body), "InvalidOperation",
                400);
    free(body);
}

static size_t key_count(struct fx *f)
{
    struct outcome o = run(f, AT_MANAGE_CERTS_GET, "iso", AT_ATT_SGX_ENCLAVE, NULL);
    assert_true(at_is_ok(o.st));
    size_t n = json_array_size(
        json_object_get(json_object_get(o.claims, "x-ms-policy-certificates"), "keys"));
    json_decref(o.claims);
    return n;
}

static struct outcome cert_op(struct fx *f, enum at_manage_op op, const char *claim_name,
                              const struct ident *by, const struct ident *target)
{
    char *cp = cert_payload(claim_name, target);
    char *jws = signed_jws(by, cp);
    char *q = quoted(jws);
    struct outcome o = run(f, op, "iso", AT_ATT_SGX_ENCLAVE, q);
    free(q);
    free(jws);
    free(cp);
    return o;
}

static void thumb(const struct ident *id, char out[41])
{
    uint8_t h[20];
    unsigned hl = 0;
    assert_int_equal(EVP_Digest(id->der, id->der_len, h, &hl, EVP_sha1(), NULL), 1);
    for (size_t i = 0; i < 20; i++) {
        snprintf(out + 2 * i, 3, "%02X", h[i]);
    }
}

static void test_isolated_certificates(void **state)
{
    struct fx *f = *state;
    assert_int_equal(key_count(f), 1);
    struct outcome o = run(f, AT_MANAGE_CERTS_GET, "iso", AT_ATT_SGX_ENCLAVE, NULL);
    json_t *k0 = json_array_get(
        json_object_get(json_object_get(o.claims, "x-ms-policy-certificates"), "keys"), 0);
    char *x5c = std_b64(f->a.der, f->a.der_len);
    assert_string_equal(json_string_value(json_array_get(json_object_get(k0, "x5c"), 0)), x5c);
    assert_string_equal(json_string_value(json_object_get(k0, "kty")), "RSA");
    free(x5c);
    json_decref(o.claims);

    char tb[41], ta[41];
    thumb(&f->b, tb);
    thumb(&f->a, ta);
    /* Add B, signed by A. */
    o = cert_op(f, AT_MANAGE_CERTS_ADD, "policyCertificate", &f->a, &f->b);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-certificate-thumbprint"), tb);
    assert_string_equal(claim(&o, "x-ms-policycertificates-result"), "IsPresent");
    json_decref(o.claims);
    assert_int_equal(key_count(f), 2);
    /* Adding again is idempotent; older claim names work. */
    o = cert_op(f, AT_MANAGE_CERTS_ADD, "maa-policyCertificate", &f->b, &f->b);
    assert_true(at_is_ok(o.st));
    json_decref(o.claims);
    assert_int_equal(key_count(f), 2);
    /* Signed by a stranger / unsigned: refused. */
    expect_fail(cert_op(f, AT_MANAGE_CERTS_ADD, "policyCertificate", &f->c, &f->c),
                "InvalidOperation", 400);
    char *cp = cert_payload("policyCertificate", &f->c);
    char *uj = unsigned_jws(cp);
    char *q = quoted(uj);
    expect_fail(run(f, AT_MANAGE_CERTS_ADD, "iso", AT_ATT_SGX_ENCLAVE, q), "InvalidOperation", 400);
    free(q);
    free(uj);
    free(cp);
    expect_fail(cert_op(f, AT_MANAGE_CERTS_ADD, "notACertificate", &f->a, &f->c),
                "InvalidOperation", 400);
    assert_int_equal(key_count(f), 2);
    /* B can now sign a policy. */
    char *pl = policy_payload(POLICY, strlen(POLICY));
    char *body = signed_jws(&f->b, pl);
    o = run(f, AT_MANAGE_POLICY_SET, "iso", AT_ATT_TDX_VM, body);
    assert_true(at_is_ok(o.st));
    json_decref(o.claims);
    free(body);
    free(pl);
    /* Remove A, signed by B (x-ms- name); then A may no longer sign. */
    o = cert_op(f, AT_MANAGE_CERTS_REMOVE, "x-ms-policyCertificate", &f->b, &f->a);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-certificate-thumbprint"), ta);
    assert_string_equal(claim(&o, "x-ms-policycertificates-result"), "IsAbsent");
    json_decref(o.claims);
    assert_int_equal(key_count(f), 1);
    expect_fail(cert_op(f, AT_MANAGE_CERTS_ADD, "policyCertificate", &f->a, &f->a),
                "InvalidOperation", 400);
    /* Removing an absent certificate: IsAbsent. */
    o = cert_op(f, AT_MANAGE_CERTS_REMOVE, "aas-policyCertificate", &f->b, &f->c);
    assert_true(at_is_ok(o.st));
    assert_string_equal(claim(&o, "x-ms-policycertificates-result"), "IsAbsent");
    json_decref(o.claims);
    /* The last certificate stays. */
    o = cert_op(f, AT_MANAGE_CERTS_REMOVE, "policyCertificate", &f->b, &f->b);
    expect_fail(o, "InvalidOperation", 400);
    assert_non_null(strstr(o.e.msg, "last"));
    assert_int_equal(key_count(f), 1);
}

static void test_not_found(void **state)
{
    struct fx *f = *state;
    expect_fail(run(f, AT_MANAGE_POLICY_GET, "nosuch", AT_ATT_SGX_ENCLAVE, NULL), "NotFound", 404);
    expect_fail(run(f, AT_MANAGE_CERTS_GET, "nosuch", AT_ATT_SGX_ENCLAVE, NULL), "NotFound", 404);
    assert_string_equal(at_manage_op_name(AT_MANAGE_CERTS_REMOVE), "certificates.remove");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hash_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_parse_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aad_signed_any, setup, teardown),
        cmocka_unit_test_setup_teardown(test_isolated_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_isolated_certificates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
