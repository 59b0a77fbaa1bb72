/*
 * Management-plane identity and RBAC (src/auth/): a test identity provider built at run
 * time (RSA and EC signers, JWKS files in a temp dir, tokens minted with at_jwt_sign or
 * by hand for malformed ones). Authentication cases are one table with the exact check
 * name; authorisation is one matrix of role x action x scope; then the role map, store
 * assignments overriding tokens, JWKS rotation and staleness, and configuration errors.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"
/* clang-format on */

#include "auth/auth.h"
#include "base/encoding.h"
#include "token/token.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2025-01-01T00:00:00Z */
#define T0 INT64_C(1735689600)

#define TID       "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define OTHER_TID "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
#define ISS_V2    "https://login.microsoftonline.com/" TID "/v2.0"
#define ISS_V1    "https://sts.windows.net/" TID "/"
#define AUD_V2    "api://attestd"
#define AUD_V1    "https://attest.azure.net"

/* Test IdP: RS256 and ES256 keys trusted for v2, an RS256 key for v1, keys trusted nowhere. */
static struct at_signer *rsa;   /* in both JWKS */
static struct at_signer *ec;    /* v2 JWKS only */
static struct at_signer *ps;    /* PS256, in the v2 JWKS, but v2 pins RS256+ES256 */
static struct at_signer *rogue; /* RS256, in no JWKS */
static char dir[64];
static char jwks_v2[128], jwks_v1[128];
static struct at_auth *auth;

static void write_file(const char *path, const char *text)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void write_jwks(const char *path, struct at_signer *const *s, size_t n)
{
    json_t *doc = at_jwks_document(s, n);
    assert_non_null(doc);
    char *txt = json_dumps(doc, JSON_COMPACT);
    assert_non_null(txt);
    write_file(path, txt);
    free(txt);
    json_decref(doc);
}

static json_t *base_config(void)
{
    json_t *c = json_pack(
        "{s:[{s:s,s:[s,s],s:s,s:[s,s],s:s},{s:s,s:[s],s:s,s:s}],s:i,s:{s:s,s:s,s:s}}", "issuers",
        "issuer", ISS_V2, "audiences", AUD_V2, "https://other.example", "jwks_file", jwks_v2,
        "algorithms", "RS256", "ES256", "tenant", TID, "issuer", ISS_V1, "audiences", AUD_V1,
        "jwks_file", jwks_v1, "tenant", TID, "clock_skew_s", 120, "role_map", "Attestation.Owner",
        "Owner", "Attestation.Contributor", "contributor", "Attestation.Reader", "Reader");
    assert_non_null(c);
    return c;
}

static int setup(void **state)
{
    (void)state;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_signer_generate(AT_ALG_RS256, "idp", T0 - 86400, 30, &rsa, &e)) ||
        !at_is_ok(at_signer_generate(AT_ALG_ES256, "idp", T0 - 86400, 30, &ec, &e)) ||
        !at_is_ok(at_signer_generate(AT_ALG_PS256, "idp", T0 - 86400, 30, &ps, &e)) ||
        !at_is_ok(at_signer_generate(AT_ALG_RS256, "rogue", T0 - 86400, 30, &rogue, &e))) {
        return -1;
    }
    if (tu_tempdir(dir, sizeof(dir), "auth") == NULL) {
        return -1;
    }
    snprintf(jwks_v2, sizeof(jwks_v2), "%s/v2-jwks.json", dir);
    snprintf(jwks_v1, sizeof(jwks_v1), "%s/v1-jwks.json", dir);
    struct at_signer *v2[3] = {rsa, ec, ps};
    write_jwks(jwks_v2, v2, 3);
    write_jwks(jwks_v1, &rsa, 1);
    json_t *c = base_config();
    at_status st = at_auth_new(c, &auth, &e);
    json_decref(c);
    if (!at_is_ok(st)) {
        fprintf(stderr, "at_auth_new: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    at_auth_free(auth);
    at_signer_free(rsa);
    at_signer_free(ec);
    at_signer_free(ps);
    at_signer_free(rogue);
    return tu_rm_tree(dir);
}

/* ------------------------------------------------------------ minting */

/* Claims of an Entra v2 user access token (delegated: scp). */
static json_t *v2_user(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "aud", AUD_V2, "iss",
                     ISS_V2, "tid", TID, "oid", "0b3f6a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "sub",
                     "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "azp",
                     "1950a258-227b-4e31-a9cf-717495945fc2", "scp", "Attestation.Manage", "ver",
                     "2.0", "iat", (json_int_t)(T0 - 60), "nbf", (json_int_t)(T0 - 60), "exp",
                     (json_int_t)(T0 + 3600), "name", "Alice");
}

/* Claims of an Entra v1 user access token (appid, upn, unique_name). */
static json_t *v1_user(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "aud", AUD_V1, "iss",
                     ISS_V1, "tid", TID, "oid", "5a6b7c8d-0000-4000-8000-000000000001", "sub",
                     "v1-subject", "appid", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "upn",
                     "bob@contoso.com", "unique_name", "bob@contoso.com", "scp",
                     "user_impersonation", "ver", "1.0", "iat", (json_int_t)(T0 - 60), "nbf",
                     (json_int_t)(T0 - 60), "exp", (json_int_t)(T0 + 3600));
}

/* A v2 app-only token (service principal or managed identity): idtyp app, roles, no scp. */
static json_t *v2_app(void)
{
    return json_pack("{s:[s,s],s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:s,s:I,s:I,s:I}", "aud",
                     "https://unrelated.example", AUD_V2, "iss", ISS_V2, "tid", TID, "oid",
                     "9d8c7b6a-0000-4000-8000-0000000000aa", "sub",
                     "9d8c7b6a-0000-4000-8000-0000000000aa", "azp",
                     "c0ffee00-0000-4000-8000-000000000042", "idtyp", "app", "roles",
                     "Attestation.Contributor", "ver", "2.0", "iat", (json_int_t)(T0 - 60), "nbf",
                     (json_int_t)(T0 - 60), "exp", (json_int_t)(T0 + 3600));
}

/* A v1 managed-identity token: appid, no scp, no idtyp. */
static json_t *v1_mi(void)
{
    json_t *p = v1_user();
    json_object_del(p, "scp");
    json_object_del(p, "upn");
    json_object_del(p, "unique_name");
    json_object_set_new(p, "oid", json_string("aa11bb22-0000-4000-8000-00000000c0de"));
    json_object_set_new(p, "appidacr", json_string("2"));
    return p;
}

static char *cat2(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    assert_non_null(s);
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* "Bearer " + at_jwt_sign(s, payload); payload is consumed. */
static char *mint(const struct at_signer *s, json_t *payload)
{
    assert_non_null(payload);
    struct at_err e;
    at_err_init(&e);
    char *jwt = NULL;
    assert_true(at_is_ok(at_jwt_sign(s, payload, NULL, false, &jwt, &e)));
    json_decref(payload);
    char *h = cat2("Bearer ", jwt);
    free(jwt);
    return h;
}

static char *b64u(const void *p, size_t n)
{
    char *s = at_b64url_dup(p, n);
    assert_non_null(s);
    return s;
}

/* "Bearer " + b64u(header) "." b64u(payload) "." b64u(sig) from raw texts. */
static char *raw_token(const char *header, const char *payload, const uint8_t *sig, size_t sig_len)
{
    char *h = b64u(header, strlen(header));
    char *p = b64u(payload, strlen(payload));
    char *s = b64u(sig, sig_len);
    size_t n = strlen(h) + strlen(p) + strlen(s) + 16;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "Bearer %s.%s.%s", h, p, s);
    free(h);
    free(p);
    free(s);
    return out;
}

static char *payload_text(json_t *p)
{
    char *t = json_dumps(p, JSON_COMPACT);
    assert_non_null(t);
    json_decref(p);
    return t;
}

/* payload with k set to v (v consumed; NULL deletes k). */
static json_t *set(json_t *p, const char *k, json_t *v)
{
    if (v == NULL) {
        json_object_del(p, k);
    } else {
        json_object_set_new(p, k, v);
    }
    return p;
}

/* Replace part `idx` (0 header, 1 payload, 2 signature) of token `h` by that of `from`. */
static char *splice(char *h, const char *from, int idx)
{
    const char *src = from + 7, *dst = h + 7;
    const char *sp[4], *dp[4];
    sp[0] = src;
    dp[0] = dst;
    sp[1] = strchr(src, '.') + 1;
    dp[1] = strchr(dst, '.') + 1;
    sp[2] = strchr(sp[1], '.') + 1;
    dp[2] = strchr(dp[1], '.') + 1;
    sp[3] = src + strlen(src) + 1;
    dp[3] = dst + strlen(dst) + 1;
    size_t n = strlen(h) + strlen(from) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    size_t o = 0;
    for (int i = 0; i < 3; i++) {
        const char *a = i == idx ? sp[i] : dp[i];
        const char *b = i == idx ? sp[i + 1] : dp[i + 1];
        size_t len = (size_t)(b - a) - 1;
        if (i > 0) {
            out[o++] = '.';
        }
        memcpy(out + o, a, len);
        o += len;
    }
    out[o] = '\0';
    char *full = cat2("Bearer ", out);
    free(out);
    free(h);
    return full;
}

static char *c_v2_user(void)
{
    return mint(rsa, v2_user());
}
static char *c_v2_user_es(void)
{
    return mint(ec, v2_user());
}
static char *c_v1_user(void)
{
    return mint(rsa, v1_user());
}
static char *c_v2_app(void)
{
    return mint(ec, v2_app());
}
static char *c_v1_mi(void)
{
    return mint(rsa, v1_mi());
}
static char *c_sub_only(void)
{
    return mint(rsa, set(v2_user(), "oid", NULL));
}
static char *c_lower_scheme(void)
{
    char *h = mint(rsa, v2_user());
    memcpy(h, "bearer", 6);
    return h;
}
static char *c_upper_scheme(void)
{
    char *h = mint(rsa, v2_user());
    memcpy(h, "BEARER", 6);
    return h;
}
static char *c_exp_in_skew(void)
{
    return mint(rsa, set(v2_user(), "exp", json_integer(T0 - 119)));
}
static char *c_exp_real(void)
{
    return mint(rsa, set(v2_user(), "exp", json_real((double)T0 + 0.5)));
}
static char *c_nbf_in_skew(void)
{
    return mint(rsa, set(v2_user(), "nbf", json_integer(T0 + 120)));
}
static char *c_expired(void)
{
    return mint(rsa, set(v2_user(), "exp", json_integer(T0 - 121)));
}
static char *c_expired_edge(void)
{
    return mint(rsa, set(v2_user(), "exp", json_integer(T0 - 120)));
}
static char *c_missing_exp(void)
{
    return mint(rsa, set(v2_user(), "exp", NULL));
}
static char *c_exp_string(void)
{
    return mint(rsa, set(v2_user(), "exp", json_string("tomorrow")));
}
static char *c_nbf_future(void)
{
    return mint(rsa, set(v2_user(), "nbf", json_integer(T0 + 121)));
}
static char *c_iat_future(void)
{
    return mint(rsa, set(v2_user(), "iat", json_integer(T0 + 300)));
}
static char *c_wrong_iss(void)
{
    return mint(rsa, set(v2_user(), "iss", json_string("https://evil.example/" TID "/v2.0")));
}
static char *c_iss_slash(void)
{
    return mint(rsa, set(v2_user(), "iss", json_string(ISS_V2 "/")));
}
static char *c_no_iss(void)
{
    return mint(rsa, set(v2_user(), "iss", NULL));
}
static char *c_wrong_aud(void)
{
    return mint(rsa, set(v2_user(), "aud", json_string("api://other")));
}
static char *c_aud_array_miss(void)
{
    return mint(rsa, set(v2_user(), "aud", json_pack("[s,s]", "api://x", "api://y")));
}
static char *c_no_aud(void)
{
    return mint(rsa, set(v2_user(), "aud", NULL));
}
static char *c_aud_other_issuer(void)
{
    return mint(rsa, set(v2_user(), "aud", json_string(AUD_V1)));
}
static char *c_aud_number(void)
{
    return mint(rsa, set(v2_user(), "aud", json_integer(1)));
}
static char *c_wrong_tid(void)
{
    return mint(rsa, set(v2_user(), "tid", json_string(OTHER_TID)));
}
static char *c_no_tid(void)
{
    return mint(rsa, set(v2_user(), "tid", NULL));
}
static char *c_tid_slash(void)
{
    return mint(rsa, set(v2_user(), "oid", json_string("a/b")));
}
static char *c_no_principal(void)
{
    return mint(rsa, set(set(v2_user(), "oid", NULL), "sub", NULL));
}
static char *c_roles_not_array(void)
{
    return mint(rsa, set(v2_user(), "roles", json_string("Attestation.Owner")));
}
static char *c_bad_sig_tampered(void)
{
    char *h = mint(rsa, v2_user());
    char *other = mint(rsa, set(v2_user(), "exp", json_integer(T0 + 999999)));
    h = splice(h, other, 1);
    free(other);
    return h;
}
static char *c_bad_sig_rogue(void)
{
    /* The trusted key's kid over a rogue key's signature. */
    char *h = mint(rogue, v2_user());
    char *good = mint(rsa, v2_user());
    h = splice(h, good, 0);
    free(good);
    return h;
}
static char *c_bad_sig_es(void)
{
    char *h = mint(ec, v2_user());
    char *other = mint(ec, set(v2_user(), "name", json_string("Mallory")));
    h = splice(h, other, 1);
    free(other);
    return h;
}
static char *c_alg_none(void)
{
    struct at_err e;
    at_err_init(&e);
    json_t *p = v2_user();
    char *jwt = NULL;
    assert_true(at_is_ok(at_jwt_unsecured(p, &jwt, &e)));
    json_decref(p);
    char *h = cat2("Bearer ", jwt);
    free(jwt);
    return h;
}
static char *hdr(const char *alg, const char *kid)
{
    json_t *h = kid != NULL ? json_pack("{s:s,s:s,s:s}", "alg", alg, "kid", kid, "typ", "JWT")
                            : json_pack("{s:s,s:s}", "alg", alg, "typ", "JWT");
    return payload_text(h);
}
static char *c_alg_none_kid(void)
{
    char *h = hdr("none", at_signer_kid(rsa));
    char *p = payload_text(v2_user());
    char *t = raw_token(h, p, (const uint8_t *)"", 0);
    free(h);
    free(p);
    return t;
}
/* The classic confusion: HS256 keyed with the RSA public key as published. */
static char *c_hs256_confusion(void)
{
    EVP_PKEY *pub = X509_get0_pubkey(at_signer_cert(rsa));
    unsigned char *der = NULL;
    int der_len = i2d_PUBKEY(pub, &der);
    assert_true(der_len > 0);
    char *h = hdr("HS256", at_signer_kid(rsa));
    char *p = payload_text(v2_user());
    char *hb = b64u(h, strlen(h));
    char *pb = b64u(p, strlen(p));
    char *input = malloc(strlen(hb) + strlen(pb) + 2);
    assert_non_null(input);
    snprintf(input, strlen(hb) + strlen(pb) + 2, "%s.%s", hb, pb);
    uint8_t mac[32];
    size_t mac_len = 0;
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, der, (size_t)der_len,
                              (const unsigned char *)input, strlen(input), mac, sizeof(mac),
                              &mac_len));
    char *t = raw_token(h, p, mac, mac_len);
    OPENSSL_free(der);
    free(input);
    free(hb);
    free(pb);
    free(h);
    free(p);
    return t;
}
static char *c_rs512(void)
{
    char *h = hdr("RS512", at_signer_kid(rsa));
    char *p = payload_text(v2_user());
    uint8_t sig[256] = {1};
    char *t = raw_token(h, p, sig, sizeof(sig));
    free(h);
    free(p);
    return t;
}
static char *c_ps_not_pinned(void)
{
    return mint(ps, v2_user());
}
static char *c_es_on_v1(void)
{
    return mint(ec, v1_user());
}
static char *c_alg_key_mismatch(void)
{
    /* RS256 header naming the EC key. */
    char *h = hdr("RS256", at_signer_kid(ec));
    char *p = payload_text(v2_user());
    uint8_t sig[256] = {2};
    char *t = raw_token(h, p, sig, sizeof(sig));
    free(h);
    free(p);
    return t;
}
static char *c_unknown_kid(void)
{
    return mint(rogue, v2_user());
}
static char *c_no_kid(void)
{
    char *h = hdr("RS256", NULL);
    char *p = payload_text(v2_user());
    uint8_t sig[256] = {3};
    char *t = raw_token(h, p, sig, sizeof(sig));
    free(h);
    free(p);
    return t;
}
static char *dupstr(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}
static char *c_two_parts(void)
{
    return dupstr("Bearer eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ");
}
static char *c_four_parts(void)
{
    char *h = mint(rsa, v2_user());
    char *t = cat2(h, ".AAAA");
    free(h);
    return t;
}
static char *c_header_b64_std(void)
{
    return dupstr("Bearer eyJhbGciOiJSUzI1NiJ9+.eyJhIjoxfQ.AAAA");
}
static char *c_header_b64_bad_len(void)
{
    return dupstr("Bearer e.eyJhIjoxfQ.AAAA");
}
static char *c_header_not_json(void)
{
    char *p = payload_text(v2_user());
    char *t = raw_token("not json", p, (const uint8_t *)"x", 1);
    free(p);
    return t;
}
static char *c_payload_not_json(void)
{
    char *h = hdr("RS256", at_signer_kid(rsa));
    char *t = raw_token(h, "{\"iss\":", (const uint8_t *)"x", 1);
    free(h);
    return t;
}
static char *c_payload_array(void)
{
    char *h = hdr("RS256", at_signer_kid(rsa));
    char *t = raw_token(h, "[1,2]", (const uint8_t *)"x", 1);
    free(h);
    return t;
}
static char *c_dup_claims(void)
{
    char *h = hdr("RS256", at_signer_kid(rsa));
    char *t =
        raw_token(h, "{\"iss\":\"" ISS_V2 "\",\"iss\":\"" ISS_V1 "\"}", (const uint8_t *)"x", 1);
    free(h);
    return t;
}
static char *c_bad_b64token(void)
{
    return dupstr("Bearer abc$def");
}
static char *c_inner_space(void)
{
    return dupstr("Bearer abc def");
}
static char *c_trailing_space(void)
{
    char *h = mint(rsa, v2_user());
    char *t = cat2(h, " ");
    free(h);
    return t;
}
static char *c_double_space(void)
{
    char *h = mint(rsa, v2_user());
    char *t = cat2("Bearer  ", h + 7);
    free(h);
    return t;
}
static char *c_bearer_only(void)
{
    return dupstr("Bearer");
}
static char *c_bearer_space(void)
{
    return dupstr("Bearer ");
}
static char *c_only_padding(void)
{
    return dupstr("Bearer ==");
}
static char *c_empty(void)
{
    return dupstr("");
}
static char *c_basic(void)
{
    return dupstr("Basic dXNlcjpwYXNzd29yZA==");
}
static char *c_no_scheme(void)
{
    char *h = mint(rsa, v2_user());
    char *t = dupstr(h + 7);
    free(h);
    return t;
}
static char *c_bearerx(void)
{
    char *h = mint(rsa, v2_user());
    char *t = cat2("Bearerx ", h + 7);
    free(h);
    return t;
}
static char *c_oversized(void)
{
    size_t n = AT_AUTH_HEADER_MAX + 1;
    char *t = malloc(n + 1);
    assert_non_null(t);
    memcpy(t, "Bearer ", 7);
    memset(t + 7, 'a', n - 7);
    t[n] = '\0';
    return t;
}
static char *c_oversized_jwt(void)
{
    /* A correctly signed token, just too big. */
    char pad[AT_AUTH_HEADER_MAX];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    return mint(rsa, set(v2_user(), "pad", json_string(pad)));
}

struct authn_case {
    const char *name;
    char *(*make)(void); /* NULL: no Authorization header at all */
    const char *check;   /* NULL: must succeed */
};

static const struct authn_case authn_cases[] = {
    {"valid v2 user RS256", c_v2_user, NULL},
    {"valid v2 user ES256", c_v2_user_es, NULL},
    {"valid v1 user", c_v1_user, NULL},
    {"valid v2 app (service principal)", c_v2_app, NULL},
    {"valid v1 managed identity", c_v1_mi, NULL},
    {"valid without oid (iss#sub)", c_sub_only, NULL},
    {"scheme lowercase", c_lower_scheme, NULL},
    {"scheme uppercase", c_upper_scheme, NULL},
    {"exp within skew", c_exp_in_skew, NULL},
    {"exp as a real number", c_exp_real, NULL},
    {"nbf within skew", c_nbf_in_skew, NULL},
    {"expired", c_expired, "expired"},
    {"expired at the skew edge", c_expired_edge, "expired"},
    {"missing exp", c_missing_exp, "expired"},
    {"exp not a number", c_exp_string, "malformed_token"},
    {"not yet valid", c_nbf_future, "not_yet_valid"},
    {"issued in the future", c_iat_future, "not_yet_valid"},
    {"wrong issuer", c_wrong_iss, "unknown_issuer"},
    {"issuer with trailing slash", c_iss_slash, "unknown_issuer"},
    {"no issuer", c_no_iss, "unknown_issuer"},
    {"wrong audience", c_wrong_aud, "audience"},
    {"audience array without ours", c_aud_array_miss, "audience"},
    {"no audience", c_no_aud, "audience"},
    {"audience of the other issuer", c_aud_other_issuer, "audience"},
    {"audience not a string", c_aud_number, "malformed_token"},
    {"wrong tenant", c_wrong_tid, "tenant"},
    {"no tenant", c_no_tid, "tenant"},
    {"oid with a slash", c_tid_slash, "malformed_token"},
    {"no principal", c_no_principal, "malformed_token"},
    {"roles not an array", c_roles_not_array, "malformed_token"},
    {"bad signature (payload swapped)", c_bad_sig_tampered, "bad_signature"},
    {"bad signature (rogue key, trusted kid)", c_bad_sig_rogue, "bad_signature"},
    {"bad signature ES256", c_bad_sig_es, "bad_signature"},
    {"alg none", c_alg_none, "algorithm"},
    {"alg none with a trusted kid", c_alg_none_kid, "algorithm"},
    {"HS256 keyed with the RSA public key", c_hs256_confusion, "algorithm"},
    {"RS512", c_rs512, "algorithm"},
    {"PS256 not pinned for the issuer", c_ps_not_pinned, "algorithm"},
    {"ES256 to an RS256-only issuer", c_es_on_v1, "algorithm"},
    {"RS256 naming an EC key", c_alg_key_mismatch, "algorithm"},
    {"unknown kid", c_unknown_kid, "unknown_kid"},
    {"no kid", c_no_kid, "unknown_kid"},
    {"two parts", c_two_parts, "malformed_token"},
    {"four parts", c_four_parts, "malformed_token"},
    {"header in standard base64", c_header_b64_std, "malformed_token"},
    {"header base64 bad length", c_header_b64_bad_len, "malformed_token"},
    {"header not JSON", c_header_not_json, "malformed_token"},
    {"payload not JSON", c_payload_not_json, "malformed_token"},
    {"payload an array", c_payload_array, "malformed_token"},
    {"duplicate claims", c_dup_claims, "malformed_token"},
    {"character outside b64token", c_bad_b64token, "malformed_token"},
    {"space inside the token", c_inner_space, "malformed_token"},
    {"trailing space", c_trailing_space, "malformed_token"},
    {"two spaces after Bearer", c_double_space, "malformed_token"},
    {"Bearer alone", c_bearer_only, "malformed_token"},
    {"Bearer and a space", c_bearer_space, "malformed_token"},
    {"only padding", c_only_padding, "malformed_token"},
    {"oversized header", c_oversized, "malformed_token"},
    {"oversized signed token", c_oversized_jwt, "malformed_token"},
    {"no header", NULL, "missing_token"},
    {"empty header", c_empty, "missing_token"},
    {"Basic scheme", c_basic, "missing_token"},
    {"token without scheme", c_no_scheme, "missing_token"},
    {"scheme Bearerx", c_bearerx, "missing_token"},
};

/* The token must not show up in the message: no 12-character window of it. */
static void assert_no_token_in(const char *msg, const char *h)
{
    size_t n = h != NULL ? strlen(h) : 0;
    for (size_t i = 7; i + 12 <= n; i++) {
        char w[13];
        memcpy(w, h + i, 12);
        w[12] = '\0';
        if (strstr(msg, w) != NULL) {
            fail_msg("message quotes the token: %s", msg);
        }
    }
}

static void test_authenticate_table(void **state)
{
    (void)state;
    size_t n = sizeof(authn_cases) / sizeof(authn_cases[0]);
    for (size_t i = 0; i < n; i++) {
        const struct authn_case *c = &authn_cases[i];
        char *h = c->make != NULL ? c->make() : NULL;
        struct at_err e;
        at_err_init(&e);
        struct at_principal p;
        memset(&p, 0x5a, sizeof(p));
        at_status st = at_auth_authenticate(auth, h, T0, &p, &e);
        if (c->check == NULL) {
            if (!at_is_ok(st)) {
                fail_msg("%s: expected success, got %s: %s", c->name, e.check ? e.check : "(null)",
                         e.msg);
            }
            assert_non_null(memchr(p.id, '\0', sizeof(p.id)));
        } else {
            if (st.code != AT_E_UNAUTHENTICATED || e.code != AT_E_UNAUTHENTICATED ||
                e.check == NULL || strcmp(e.check, c->check) != 0) {
                fail_msg("%s: expected %s, got code %d check %s: %s", c->name, c->check, st.code,
                         e.check ? e.check : "(null)", e.msg);
            }
            assert_true(e.msg[0] != '\0');
            assert_no_token_in(e.msg, h);
            /* out untouched on failure */
            assert_int_equal(((unsigned char *)&p)[0], 0x5a);
        }
        free(h);
    }
    print_message("authentication cases: %zu\n", n);
}

/* The principal each valid shape yields. */
static void authn_ok(char *h, struct at_principal *p)
{
    struct at_err e;
    at_err_init(&e);
    at_status st = at_auth_authenticate(auth, h, T0, p, &e);
    if (!at_is_ok(st)) {
        fail_msg("unexpected %s: %s", e.check, e.msg);
    }
    free(h);
}

static void test_principal_shapes(void **state)
{
    (void)state;
    struct at_principal p;
    authn_ok(c_v2_user(), &p);
    assert_string_equal(p.id, TID "/0b3f6a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_string_equal(p.issuer, ISS_V2);
    assert_string_equal(p.tenant, TID);
    assert_string_equal(p.object_id, "0b3f6a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_string_equal(p.app_id, "1950a258-227b-4e31-a9cf-717495945fc2");
    assert_false(p.is_app);
    assert_int_equal(p.token_role, AT_ROLE_NONE);

    authn_ok(c_v1_user(), &p);
    assert_string_equal(p.id, TID "/5a6b7c8d-0000-4000-8000-000000000001");
    assert_string_equal(p.issuer, ISS_V1);
    assert_string_equal(p.app_id, "04b07795-8ddb-461a-bbee-02f9e1bf7b46");
    assert_false(p.is_app);

    authn_ok(c_v2_app(), &p);
    assert_string_equal(p.id, TID "/9d8c7b6a-0000-4000-8000-0000000000aa");
    assert_string_equal(p.app_id, "c0ffee00-0000-4000-8000-000000000042");
    assert_true(p.is_app);
    assert_int_equal(p.token_role, AT_ROLE_CONTRIBUTOR);

    authn_ok(c_v1_mi(), &p);
    assert_true(p.is_app); /* no scp */
    assert_string_equal(p.id, TID "/aa11bb22-0000-4000-8000-00000000c0de");

    authn_ok(c_sub_only(), &p);
    assert_string_equal(p.id, ISS_V2 "#AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ");
    assert_string_equal(p.object_id, "");

    /* idtyp=app wins even with scp present. */
    authn_ok(mint(rsa, set(v2_user(), "idtyp", json_string("app"))), &p);
    assert_true(p.is_app);
}

/* token `roles` through role_map: the highest mapped one; unknown values ignored. */
static void test_role_map(void **state)
{
    (void)state;
    struct {
        json_t *roles;
        enum at_role want;
    } cases[] = {
        {json_pack("[]"), AT_ROLE_NONE},
        {json_pack("[s]", "Attestation.Reader"), AT_ROLE_READER},
        {json_pack("[s]", "Attestation.Contributor"), AT_ROLE_CONTRIBUTOR},
        {json_pack("[s,s]", "Attestation.Reader", "Attestation.Owner"), AT_ROLE_OWNER},
        {json_pack("[s,s]", "Attestation.Owner", "Attestation.Reader"), AT_ROLE_OWNER},
        {json_pack("[s]", "attestation.owner"), AT_ROLE_NONE}, /* values are case-sensitive */
        {json_pack("[s,s]", "Something.Else", "Attestation.Reader"), AT_ROLE_READER},
        {json_pack("[s]", "Owner"), AT_ROLE_NONE}, /* only mapped values count */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct at_principal p;
        authn_ok(mint(rsa, set(v2_user(), "roles", cases[i].roles)), &p);
        if (p.token_role != cases[i].want) {
            fail_msg("role map case %zu: got %d want %d", i, p.token_role, cases[i].want);
        }
    }
}

/* ------------------------------------------------------- authorisation */

static const enum at_action all_actions[] = {
    AT_ACT_POLICY_READ,  AT_ACT_POLICY_WRITE,  AT_ACT_SIGNER_READ,
    AT_ACT_SIGNER_WRITE, AT_ACT_PROVIDER_READ, AT_ACT_PROVIDER_WRITE,
    AT_ACT_ROLE_READ,    AT_ACT_ROLE_WRITE,    AT_ACT_ATTEST,
};
#define N_ACTIONS (sizeof(all_actions) / sizeof(all_actions[0]))
/* The minimum role per action, as auth.h lists it (written out, not computed). */
static const enum at_role min_role[N_ACTIONS] = {
    AT_ROLE_READER, AT_ROLE_CONTRIBUTOR, AT_ROLE_READER, AT_ROLE_CONTRIBUTOR, AT_ROLE_READER,
    AT_ROLE_OWNER,  AT_ROLE_OWNER,       AT_ROLE_OWNER,  AT_ROLE_READER,
};
static const enum at_role all_roles[] = {AT_ROLE_NONE, AT_ROLE_READER, AT_ROLE_CONTRIBUTOR,
                                         AT_ROLE_OWNER};
#define N_ROLES (sizeof(all_roles) / sizeof(all_roles[0]))

enum scope_kind { SC_PROVIDER, SC_ALL, SC_OTHER };
static const char *const scope_names[] = {"provider", "*", "other provider"};

static struct at_store *open_store(void)
{
    char sdir[128];
    snprintf(sdir, sizeof(sdir), "%s/store", dir);
    struct at_store *s = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_open(sdir, tu_kek(), &s, &e)));
    return s;
}

static void principal_named(struct at_principal *p, const char *id, enum at_role token_role)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->token_role = token_role;
}

static at_status authz(struct at_store *s, const struct at_principal *p, const char *prov,
                       enum at_action a, struct at_err *e)
{
    at_err_init(e);
    return at_auth_authorize(auth, s, p, prov, a, e);
}

static void expect_authz(struct at_store *s, const struct at_principal *p, const char *prov,
                         enum at_action a, bool allowed, const char *what)
{
    struct at_err e;
    at_status st = authz(s, p, prov, a, &e);
    if (allowed && !at_is_ok(st)) {
        fail_msg("%s: %s on %s should be allowed: %s", what, at_action_name(a), prov, e.msg);
    }
    if (!allowed) {
        if (st.code != AT_E_FORBIDDEN) {
            fail_msg("%s: %s on %s should be forbidden, got %d", what, at_action_name(a), prov,
                     st.code);
        }
        /* The message names the action, the provider and the role needed. */
        assert_non_null(strstr(e.msg, at_action_name(a)));
        if (prov != NULL) {
            assert_non_null(strstr(e.msg, prov));
        }
        assert_non_null(strstr(e.msg, at_role_name(at_action_min_role(a))));
    }
}

/* Every role x every action x scope (assignment on the provider, on "*", on another). */
static void test_authorize_matrix(void **state)
{
    (void)state;
    struct at_store *s = open_store();
    size_t cells = 0;
    for (size_t r = 0; r < N_ROLES; r++) {
        for (int k = SC_PROVIDER; k <= SC_OTHER; k++) {
            char id[64];
            snprintf(id, sizeof(id), "%s/matrix-%zu-%d", TID, r, k);
            if (all_roles[r] != AT_ROLE_NONE) {
                struct at_err e;
                at_err_init(&e);
                const char *scope = k == SC_PROVIDER ? "prov-a" : k == SC_ALL ? "*" : "prov-b";
                assert_true(
                    at_is_ok(at_store_role_assign(s, id, at_role_name(all_roles[r]), scope, &e)));
            }
            struct at_principal p;
            principal_named(&p, id, AT_ROLE_NONE);
            for (size_t a = 0; a < N_ACTIONS; a++) {
                assert_int_equal(at_action_min_role(all_actions[a]), min_role[a]);
                bool allowed = k != SC_OTHER && all_roles[r] >= min_role[a];
                char what[96];
                snprintf(what, sizeof(what), "store role %s scope %s", at_role_name(all_roles[r]),
                         scope_names[k]);
                expect_authz(s, &p, "prov-a", all_actions[a], allowed, what);
                /* No single provider (list, create): only "*" counts. */
                expect_authz(s, &p, NULL, all_actions[a], allowed && k == SC_ALL, what);
                cells += 2;
            }
        }
        /* The same role from the token: every scope. */
        struct at_principal p;
        principal_named(&p, TID "/token-only", all_roles[r]);
        for (size_t a = 0; a < N_ACTIONS; a++) {
            bool allowed = all_roles[r] >= min_role[a];
            expect_authz(s, &p, "prov-a", all_actions[a], allowed, "token role");
            expect_authz(s, &p, "prov-b", all_actions[a], allowed, "token role");
            expect_authz(s, &p, NULL, all_actions[a], allowed, "token role");
            cells += 3;
        }
    }
    print_message("authorisation matrix: %zu cells\n", cells);
    at_store_close(s);
}

/* Store assignments raise a token's role where they apply, and never lower it. */
static void test_store_overrides(void **state)
{
    (void)state;
    struct at_store *s = open_store();
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_role_assign(s, TID "/ovr", "Owner", "prov-a", &e)));
    assert_true(at_is_ok(at_store_role_assign(s, TID "/low", "Reader", "*", &e)));

    /* A real token's principal: Reader through role_map, Owner on prov-a from the store. */
    struct at_principal p;
    authn_ok(mint(rsa, set(set(v2_user(), "oid", json_string("ovr")), "roles",
                           json_pack("[s]", "Attestation.Reader"))),
             &p);
    assert_string_equal(p.id, TID "/ovr");
    assert_int_equal(p.token_role, AT_ROLE_READER);
    expect_authz(s, &p, "prov-a", AT_ACT_ROLE_WRITE, true, "override");
    expect_authz(s, &p, "prov-a", AT_ACT_POLICY_WRITE, true, "override");
    expect_authz(s, &p, "prov-b", AT_ACT_POLICY_READ, true, "override");
    expect_authz(s, &p, "prov-b", AT_ACT_POLICY_WRITE, false, "override");

    struct at_principal q;
    principal_named(&q, TID "/low", AT_ROLE_OWNER);
    expect_authz(s, &q, "prov-a", AT_ACT_PROVIDER_WRITE, true, "no lowering");

    /* Removing the assignment takes the role away again. */
    at_err_init(&e);
    assert_true(at_is_ok(at_store_role_remove(s, TID "/ovr", "prov-a", &e)));
    expect_authz(s, &p, "prov-a", AT_ACT_POLICY_WRITE, false, "removed");

    /* Without a store only the token counts. */
    expect_authz(NULL, &p, "prov-a", AT_ACT_POLICY_READ, true, "no store");
    expect_authz(NULL, &p, "prov-a", AT_ACT_POLICY_WRITE, false, "no store");

    /* Bad inputs. */
    assert_int_equal(authz(s, &p, "Not A Provider", AT_ACT_POLICY_READ, &e).code, AT_E_BAD_VALUE);
    assert_int_equal(authz(s, NULL, "prov-a", AT_ACT_POLICY_READ, &e).code, AT_E_USAGE);
    struct at_principal empty;
    principal_named(&empty, "", AT_ROLE_OWNER);
    assert_int_equal(authz(s, &empty, "prov-a", AT_ACT_POLICY_READ, &e).code, AT_E_USAGE);
    at_store_close(s);
}

/* ------------------------------------------------------- JWKS rollover */

static void test_jwks_rotation(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof(path), "%s/rot-jwks.json", dir);
    struct at_signer *k1 = NULL, *k2 = NULL;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_signer_generate(AT_ALG_RS256, "k1", T0 - 86400, 30, &k1, &e)));
    assert_true(at_is_ok(at_signer_generate(AT_ALG_RS256, "k2", T0 - 86400, 30, &k2, &e)));
    write_jwks(path, &k1, 1);
    json_t *c = json_pack("{s:[{s:s,s:[s],s:s,s:i,s:i}]}", "issuers", "issuer", ISS_V2, "audiences",
                          AUD_V2, "jwks_file", path, "jwks_refresh_s", 60, "jwks_stale_max_s", 600);
    struct at_auth *a = NULL;
    assert_true(at_is_ok(at_auth_new(c, &a, &e)));
    json_decref(c);

    struct at_principal p;
    char *t1 = mint(k1, v2_user());
    char *t2 = mint(k2, v2_user());
    at_err_init(&e);
    assert_true(at_is_ok(at_auth_authenticate(a, t1, T0, &p, &e)));
    at_err_init(&e);
    assert_int_equal(at_auth_authenticate(a, t2, T0, &p, &e).code, AT_E_UNAUTHENTICATED);
    assert_string_equal(e.check, "unknown_kid");

    /* Rollover: the file changes (new inode by rename), k2 is in, k1 is out. */
    write_jwks(path, &k2, 1);
    at_err_init(&e);
    assert_true(at_is_ok(at_auth_authenticate(a, t2, T0 + 1, &p, &e)));
    at_err_init(&e);
    assert_int_equal(at_auth_authenticate(a, t1, T0 + 1, &p, &e).code, AT_E_UNAUTHENTICATED);
    assert_string_equal(e.check, "unknown_kid");

    /* The file breaks: the last good keys stay usable up to jwks_stale_max_s... */
    write_file(path, "{not json");
    at_err_init(&e);
    assert_true(at_is_ok(at_auth_authenticate(a, t2, T0 + 2, &p, &e)));
    at_err_init(&e);
    assert_true(at_is_ok(at_auth_authenticate(a, t2, T0 + 500, &p, &e)));
    /* ...and not after (the token itself is still valid at T0 + 700). */
    at_err_init(&e);
    assert_int_equal(at_auth_authenticate(a, t2, T0 + 700, &p, &e).code, AT_E_UNAUTHENTICATED);
    assert_string_equal(e.check, "unknown_kid");

    /* Fixed again: back in business. */
    write_jwks(path, &k2, 1);
    at_err_init(&e);
    assert_true(at_is_ok(at_auth_authenticate(a, t2, T0 + 701, &p, &e)));

    free(t1);
    free(t2);
    at_auth_free(a);
    at_signer_free(k1);
    at_signer_free(k2);
}

/* ------------------------------------------------------- configuration */

struct cfg_case {
    const char *name;
    const char *json; /* %s: the v2 JWKS path */
    enum at_code code;
    const char *needle; /* in the message */
};

static const struct cfg_case cfg_cases[] = {
    {"not an object", "[]", AT_E_BAD_VALUE, "object"},
    {"unknown top-level key", "{\"issuers\":[],\"extra\":1}", AT_E_BAD_VALUE, "extra"},
    {"no issuers", "{}", AT_E_BAD_VALUE, "issuers"},
    {"empty issuers", "{\"issuers\":[]}", AT_E_BAD_VALUE, "issuers"},
    {"unknown issuer key",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"audience\":\"a\"}]}",
     AT_E_BAD_VALUE, "audience"},
    {"http issuer",
     "{\"issuers\":[{\"issuer\":\"http://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\"}]}",
     AT_E_BAD_VALUE, "https"},
    {"issuer with fragment",
     "{\"issuers\":[{\"issuer\":\"https://i#x\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\"}]}",
     AT_E_BAD_VALUE, "fragment"},
    {"issuer not a string",
     "{\"issuers\":[{\"issuer\":1,\"audiences\":[\"a\"],\"jwks_file\":\"%s\"}]}", AT_E_BAD_VALUE,
     "issuer"},
    {"audiences a string",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":\"a\",\"jwks_file\":\"%s\"}]}",
     AT_E_BAD_VALUE, "audiences"},
    {"empty audiences",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[],\"jwks_file\":\"%s\"}]}",
     AT_E_BAD_VALUE, "audiences"},
    {"audience empty string",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"\"],\"jwks_file\":\"%s\"}]}",
     AT_E_BAD_VALUE, "audience"},
    {"jwks_uri not https",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_uri\":\"http://"
     "login.microsoftonline.com/common/discovery/v2.0/keys\"}]}",
     AT_E_BAD_VALUE, "jwks_uri\" must be an https:// URL"},
    {"no jwks", "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"]}]}", AT_E_BAD_VALUE,
     "jwks_file"},
    {"jwks file missing",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s.nope\"}]}",
     AT_E_IO, "nope"},
    {"alg none",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"algorithms\":[\"none\"]}]}",
     AT_E_BAD_VALUE, "algorithm"},
    {"alg HS256",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"algorithms\":[\"RS256\",\"HS256\"]}]}",
     AT_E_BAD_VALUE, "algorithm 1"},
    {"alg twice",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"algorithms\":[\"RS256\",\"RS256\"]}]}",
     AT_E_BAD_VALUE, "twice"},
    {"algorithms empty",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"algorithms\":[]}]}",
     AT_E_BAD_VALUE, "algorithms"},
    {"tenant not a string",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"tenant\":true}]}",
     AT_E_BAD_VALUE, "tenant"},
    {"refresh zero",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"jwks_refresh_s\":0}]}",
     AT_E_BAD_VALUE, "jwks_refresh_s"},
    {"stale below refresh",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\","
     "\"jwks_refresh_s\":600,\"jwks_stale_max_s\":60}]}",
     AT_E_BAD_VALUE, "jwks_stale_max_s"},
    {"duplicate issuer",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\"},"
     "{\"issuer\":\"https://i\",\"audiences\":[\"b\"],\"jwks_file\":\"%s\"}]}",
     AT_E_BAD_VALUE, "twice"},
    {"skew negative",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\"}],"
     "\"clock_skew_s\":-1}",
     AT_E_BAD_VALUE, "clock_skew_s"},
    {"skew a string",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\"}],"
     "\"clock_skew_s\":\"120\"}",
     AT_E_BAD_VALUE, "clock_skew_s"},
    {"role_map bad role",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\"}],"
     "\"role_map\":{\"X\":\"Admin\"}}",
     AT_E_BAD_VALUE, "role_map"},
    {"role_map not an object",
     "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"jwks_file\":\"%s\"}],"
     "\"role_map\":[\"Owner\"]}",
     AT_E_BAD_VALUE, "role_map"},
};

/* Copy `tpl` into buf with every "%s" replaced by `path` (no printf formats from data). */
static void subst_path(char *buf, size_t cap, const char *tpl, const char *path)
{
    size_t o = 0, pl = strlen(path);
    for (const char *c = tpl; *c != '\0'; c++) {
        if (c[0] == '%' && c[1] == 's') {
            assert_true(o + pl < cap);
            memcpy(buf + o, path, pl);
            o += pl;
            c++;
        } else {
            assert_true(o + 1 < cap);
            buf[o++] = *c;
        }
    }
    buf[o] = '\0';
}

static void test_config_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++) {
        char buf[1024];
        subst_path(buf, sizeof(buf), cfg_cases[i].json, jwks_v2);
        json_error_t jerr;
        json_t *c = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
        assert_non_null(c);
        struct at_err e;
        at_err_init(&e);
        struct at_auth *a = NULL;
        at_status st = at_auth_new(c, &a, &e);
        json_decref(c);
        if (st.code != cfg_cases[i].code || strstr(e.msg, cfg_cases[i].needle) == NULL) {
            fail_msg("config case '%s': code %d msg %s", cfg_cases[i].name, st.code, e.msg);
        }
        assert_null(a);
    }
}

/* A JWKS holding private key material is refused: only public keys belong there. */
static void test_config_private_jwks(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof(path), "%s/private-jwks.json", dir);
    write_file(path, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\",\"k\":\"c2VjcmV0\"}]}");
    json_t *c = json_pack("{s:[{s:s,s:[s],s:s}]}", "issuers", "issuer", ISS_V2, "audiences", AUD_V2,
                          "jwks_file", path);
    struct at_err e;
    at_err_init(&e);
    struct at_auth *a = NULL;
    assert_int_equal(at_auth_new(c, &a, &e).code, AT_E_BAD_VALUE);
    assert_non_null(strstr(e.msg, "private or symmetric"));
    json_decref(c);
}

/* at_auth_load: relative jwks_file resolves against the configuration file's folder. */
static void test_config_load(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof(path), "%s/oidc.json", dir);
    write_file(path, "{\"issuers\":[{\"issuer\":\"" ISS_V2 "\",\"audiences\":[\"" AUD_V2
                     "\"],\"jwks_file\":\"v2-jwks.json\",\"algorithms\":[\"RS256\"]}],"
                     "\"clock_skew_s\":0}");
    struct at_err e;
    at_err_init(&e);
    struct at_auth *a = NULL;
    if (!at_is_ok(at_auth_load(path, &a, &e))) {
        fail_msg("load: %s", e.msg);
    }
    char *h = mint(rsa, v2_user());
    struct at_principal p;
    at_err_init(&e);
    assert_true(at_is_ok(at_auth_authenticate(a, h, T0, &p, &e)));
    /* No skew: a token expired a second ago fails. */
    free(h);
    h = mint(rsa, set(v2_user(), "exp", json_integer(T0)));
    at_err_init(&e);
    assert_int_equal(at_auth_authenticate(a, h, T0, &p, &e).code, AT_E_UNAUTHENTICATED);
    assert_string_equal(e.check, "expired");
    free(h);
    at_auth_free(a);

    write_file(path, "{\"issuers\": [}");
    at_err_init(&e);
    assert_int_equal(at_auth_load(path, &a, &e).code, AT_E_PARSE);
    write_file(path, "{\"issuers\":[],\"issuers\":[]}");
    at_err_init(&e);
    assert_int_equal(at_auth_load(path, &a, &e).code, AT_E_PARSE);
    at_err_init(&e);
    assert_int_equal(at_auth_load("/nonexistent/oidc.json", &a, &e).code, AT_E_IO);
}

static void test_names(void **state)
{
    (void)state;
    struct at_err e;
    enum at_role r = AT_ROLE_NONE;
    const char *ok[] = {"Reader",      "reader", "READER", "Contributor",
                        "contributor", "Owner",  "oWnEr"};
    const enum at_role want[] = {AT_ROLE_READER,      AT_ROLE_READER,      AT_ROLE_READER,
                                 AT_ROLE_CONTRIBUTOR, AT_ROLE_CONTRIBUTOR, AT_ROLE_OWNER,
                                 AT_ROLE_OWNER};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        at_err_init(&e);
        assert_true(at_is_ok(at_role_parse(ok[i], &r, &e)));
        assert_int_equal(r, want[i]);
    }
    const char *bad[] = {"", "None", "Admin", "Reader ", "Own", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_err_init(&e);
        assert_int_equal(at_role_parse(bad[i], &r, &e).code, AT_E_BAD_VALUE);
    }
    assert_string_equal(at_role_name(AT_ROLE_READER), "Reader");
    assert_string_equal(at_role_name(AT_ROLE_CONTRIBUTOR), "Contributor");
    assert_string_equal(at_role_name(AT_ROLE_OWNER), "Owner");
    for (size_t i = 0; i < N_ACTIONS; i++) {
        const char *n = at_action_name(all_actions[i]);
        assert_non_null(n);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(n, at_action_name(all_actions[j]));
        }
    }
    assert_string_equal(at_action_name(AT_ACT_POLICY_WRITE), "policy.write");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authenticate_table), cmocka_unit_test(test_principal_shapes),
        cmocka_unit_test(test_role_map),           cmocka_unit_test(test_authorize_matrix),
        cmocka_unit_test(test_store_overrides),    cmocka_unit_test(test_jwks_rotation),
        cmocka_unit_test(test_config_errors),      cmocka_unit_test(test_config_private_jwks),
        cmocka_unit_test(test_config_load),        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
