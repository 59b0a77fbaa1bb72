/*
 * The admin JSON API's use cases (docs/management-api.md): providers (list, show,
 * create, update, delete) and role assignments (list, assign, remove), as plain JSON in
 * and out. Authentication and RBAC live in the server; this file validates requests
 * strictly (unknown members, wrong types and duplicates are refused) and never puts key
 * material into a response: a provider is described by its public metadata only.
 */
#include "base/encoding.h"
#include "base/timeutil.h"
#include "crypto/digest.h"
#include "crypto/x509.h"
#include "service/service.h"
#include "token/token.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A signer certificate's DER; far above any real certificate. */
#define MAX_CERT_DER ((size_t)64 * 1024)
/* Largest request body this API parses (a create with AT_ADMIN_SIGNER_CERTS_MAX certs). */
#define MAX_ADMIN_BODY ((size_t)(AT_ADMIN_SIGNER_CERTS_MAX + 1) * 2 * MAX_CERT_DER)
/* Token signing certificate of a new provider: ten years, as at_service_provider_create. */
#define PROVIDER_CERT_DAYS        3650
#define PROVIDER_TOKEN_LIFETIME_S 28800

static at_status nomem(struct at_err *e)
{
    AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
}

/* Set o[k] = v (stealing v); out of memory when either is missing. */
static at_status put(json_t *o, const char *k, json_t *v, struct at_err *e)
{
    if (o == NULL || v == NULL || json_object_set_new(o, k, v) != 0) {
        return nomem(e);
    }
    return at_ok();
}

/* ---- errors ---- */

const char *at_admin_error_code(const struct at_err *e)
{
    if (e->check != NULL && strcmp(e->check, "provider_exists") == 0) {
        return "Conflict";
    }
    if (e->check != NULL && strcmp(e->check, "default_provider") == 0) {
        return "InvalidOperation";
    }
    switch ((int)e->code / 100) {
    case 1:
    case 2:
        return "InvalidParameter";
    case 4:
        return "NotFound";
    case 5:
        return "RequestEntityTooLarge";
    default:
        return "InternalError";
    }
}

unsigned at_admin_http_status(const struct at_err *e)
{
    if (e->check != NULL && strcmp(e->check, "provider_exists") == 0) {
        return 409;
    }
    int st = at_code_http_status(e->code);
    /* 401/403 cannot come from here; anything unexpected is an internal error. */
    if (st != 400 && st != 404 && st != 413) {
        return 500;
    }
    return (unsigned)st;
}

/* ---- request bodies ---- */

/* A JSON object body; duplicate members refused. */
static at_status parse_body(const char *body, size_t len, json_t **out, struct at_err *e)
{
    AT_ENSURE(len <= MAX_ADMIN_BODY, e, AT_E_LIMIT, "admin_body", "request body too large");
    AT_ENSURE(body != NULL && len > 0, e, AT_E_PARSE, "admin_body",
              "a JSON object request body is required");
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    AT_ENSURE(root != NULL, e, AT_E_PARSE, "admin_body",
              "malformed JSON body at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        AT_FAIL(e, AT_E_PARSE, "admin_body", "the request body must be a JSON object");
    }
    *out = root;
    return at_ok();
}

/* Every member of `o` is one of `allowed` (NULL-terminated). */
static at_status only_members(json_t *o, const char *const *allowed, struct at_err *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        (void)v;
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++) {
            ok = strcmp(k, allowed[i]) == 0;
        }
        AT_ENSURE(ok, e, AT_E_BAD_VALUE, "admin_body", "unknown member \"%.64s\"", k);
    }
    return at_ok();
}

/* o[name] as a string of 1..max bytes without NULs; absent: *out = NULL unless required. */
static at_status str_member(const json_t *o, const char *name, size_t max, bool required,
                            const char **out, struct at_err *e)
{
    const json_t *v = json_object_get(o, name);
    *out = NULL;
    if (v == NULL) {
        AT_ENSURE(!required, e, AT_E_BAD_VALUE, "admin_body", "\"%s\" is required", name);
        return at_ok();
    }
    AT_ENSURE(json_is_string(v), e, AT_E_BAD_VALUE, "admin_body", "\"%s\" must be a string", name);
    size_t n = json_string_length(v);
    AT_ENSURE(n > 0 && n <= max && strlen(json_string_value(v)) == n, e, AT_E_BAD_VALUE,
              "admin_body", "\"%s\" must be 1 to %zu characters", name, max);
    *out = json_string_value(v);
    return at_ok();
}

/* o[name] as a boolean; absent: *present = false. */
static at_status bool_member(const json_t *o, const char *name, bool *present, bool *out,
                             struct at_err *e)
{
    const json_t *v = json_object_get(o, name);
    *present = v != NULL;
    if (v == NULL) {
        return at_ok();
    }
    AT_ENSURE(json_is_boolean(v), e, AT_E_BAD_VALUE, "admin_body", "\"%s\" must be true or false",
              name);
    *out = json_is_true(v);
    return at_ok();
}

/* ---- the provider object ---- */

/* kid as at_signer_kid defines it: standard base64 of the certificate's SHA-256. */
static json_t *kid_of(const uint8_t *cert, size_t len)
{
    uint8_t h[AT_SHA256_LEN];
    unsigned char b64[48];
    if (at_sha256(cert, len, h) != 0 || EVP_EncodeBlock(b64, h, (int)sizeof(h)) <= 0) {
        return NULL;
    }
    return json_string((const char *)b64);
}

/* Public metadata of `p` plus its signer certificate count; never key material. */
static at_status provider_json(struct at_store *store, const struct at_provider *p, json_t **out,
                               struct at_err *e)
{
    uint8_t **ders = NULL;
    size_t *lens = NULL, n_certs = 0;
    AT_TRY(at_store_signer_list(store, p->name, &ders, &lens, &n_certs, e));
    at_store_signers_free(ders, lens, n_certs);
    char created[32];
    at_time_format(p->created_at, created, sizeof(created));
    json_t *o = json_object();
    at_status s = put(o, "name", json_string(p->name), e);
    if (at_is_ok(s)) {
        s = put(o, "mode", json_string(p->mode == AT_MODE_ISOLATED ? "isolated" : "aad"), e);
    }
    if (at_is_ok(s)) {
        s = put(o, "alg", json_string(p->alg), e);
    }
    if (at_is_ok(s)) {
        s = put(o, "kid", kid_of(p->signing_cert, p->signing_cert_len), e);
    }
    if (at_is_ok(s)) {
        s = put(o, "created_at", json_string(created), e);
    }
    if (at_is_ok(s)) {
        s = put(o, "signer_certificates", json_integer((json_int_t)n_certs), e);
    }
    if (at_is_ok(s)) {
        s = put(o, "require_token_for_attestation", json_boolean(p->require_token_for_attestation),
                e);
    }
    if (!at_is_ok(s)) {
        json_decref(o);
        return s;
    }
    *out = o;
    return at_ok();
}

at_status at_admin_provider_show(struct at_store *store, const char *name, json_t **out,
                                 struct at_err *e)
{
    AT_ENSURE(at_store_provider_name_valid(name), e, AT_E_BAD_VALUE, "provider_name",
              "invalid provider name (want [a-z][a-z0-9-]{0,62})");
    struct at_provider p;
    AT_TRY(at_store_provider_get(store, name, &p, e));
    at_status s = provider_json(store, &p, out, e);
    at_provider_clear(&p); /* zeroizes the key */
    return s;
}

at_status at_admin_provider_list(struct at_store *store, json_t **out, struct at_err *e)
{
    char **names = NULL;
    size_t n = 0;
    AT_TRY(at_store_provider_list(store, &names, &n, e));
    json_t *arr = json_array();
    at_status s = arr != NULL ? at_ok() : nomem(e);
    for (size_t i = 0; at_is_ok(s) && i < n; i++) {
        json_t *o = NULL;
        struct at_err ie;
        at_err_init(&ie);
        s = at_admin_provider_show(store, names[i], &o, &ie);
        if (!at_is_ok(s) && s.code == AT_E_NOT_FOUND) {
            s = at_ok(); /* deleted since the listing: skip it */
            continue;
        }
        if (!at_is_ok(s)) {
            *e = ie;
        } else if (json_array_append_new(arr, o) != 0) {
            s = nomem(e);
        }
    }
    at_store_strings_free(names, n);
    json_t *doc = at_is_ok(s) ? json_object() : NULL;
    if (at_is_ok(s)) {
        s = put(doc, "value", arr, e);
        arr = NULL;
    }
    json_decref(arr);
    if (!at_is_ok(s)) {
        json_decref(doc);
        return s;
    }
    *out = doc;
    return at_ok();
}

/* ---- create ---- */

struct certs {
    uint8_t *der[AT_ADMIN_SIGNER_CERTS_MAX];
    size_t len[AT_ADMIN_SIGNER_CERTS_MAX];
    size_t n;
};

static void certs_clear(struct certs *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->der[i]);
    }
    c->n = 0;
}

/* signer_certificates[i]: standard base64 of one DER certificate; *der heap on success. */
static at_status parse_cert(const json_t *x, size_t i, uint8_t **der, size_t *len, struct at_err *e)
{
    AT_ENSURE(json_is_string(x) && json_string_length(x) > 0, e, AT_E_BAD_VALUE,
              "signer_certificates", "signer_certificates[%zu] must be a base64 string", i);
    AT_ENSURE(json_string_length(x) <= 2 * MAX_CERT_DER, e, AT_E_LIMIT, "signer_certificates",
              "signer_certificates[%zu] is too large", i);
    uint8_t *d = NULL;
    size_t n = 0;
    AT_TRY(at_b64_decode_public(json_string_value(x), json_string_length(x), &d, &n, e));
    X509 *cert = NULL;
    at_status s = at_x509_from_der(d, n, &cert, "signer certificate", e);
    X509_free(cert);
    if (!at_is_ok(s)) {
        free(d);
        at_err_check(e, "signer_certificates");
        return s;
    }
    *der = d;
    *len = n;
    return at_ok();
}

/* "signer_certificates": every entry standard base64 of one DER certificate. */
static at_status parse_certs(const json_t *v, struct certs *c, struct at_err *e)
{
    if (v == NULL) {
        return at_ok();
    }
    AT_ENSURE(json_is_array(v), e, AT_E_BAD_VALUE, "signer_certificates",
              "\"signer_certificates\" must be an array of base64 DER certificates");
    AT_ENSURE(json_array_size(v) <= AT_ADMIN_SIGNER_CERTS_MAX, e, AT_E_LIMIT, "signer_certificates",
              "more than %d signer certificates", AT_ADMIN_SIGNER_CERTS_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        AT_TRY(parse_cert(json_array_get(v, i), i, &c->der[c->n], &c->len[c->n], e));
        c->n++;
    }
    return at_ok();
}

struct create_req {
    enum at_provider_mode mode;
    const char *alg;
    bool require_token;
    struct certs certs;
};

/* "mode" (required) and "alg" (default RS256). */
static at_status parse_mode_alg(const json_t *o, struct create_req *r, struct at_err *e)
{
    const char *mode = NULL;
    AT_TRY(str_member(o, "mode", 16, true, &mode, e));
    if (strcmp(mode, "aad") == 0) {
        r->mode = AT_MODE_AAD;
    } else if (strcmp(mode, "isolated") == 0) {
        r->mode = AT_MODE_ISOLATED;
    } else {
        AT_FAIL(e, AT_E_BAD_VALUE, "provider_mode", "\"mode\" must be \"aad\" or \"isolated\"");
    }
    AT_TRY(str_member(o, "alg", 7, false, &r->alg, e));
    if (r->alg == NULL) {
        r->alg = "RS256";
    }
    enum at_jws_alg alg;
    struct at_err ae;
    at_err_init(&ae);
    AT_ENSURE(at_is_ok(at_jws_alg_parse(r->alg, &alg, &ae)), e, AT_E_BAD_VALUE, "provider_alg",
              "\"alg\" must be RS256, PS256 or ES256");
    return at_ok();
}

static at_status parse_create(json_t *o, struct create_req *r, struct at_err *e)
{
    static const char *const allowed[] = {"mode", "alg", "signer_certificates",
                                          "require_token_for_attestation", NULL};
    AT_TRY(only_members(o, allowed, e));
    AT_TRY(parse_mode_alg(o, r, e));
    bool present = false;
    AT_TRY(bool_member(o, "require_token_for_attestation", &present, &r->require_token, e));
    AT_TRY(parse_certs(json_object_get(o, "signer_certificates"), &r->certs, e));
    AT_ENSURE(r->mode != AT_MODE_ISOLATED || r->certs.n > 0, e, AT_E_BAD_VALUE,
              "signer_certificates", "an isolated provider needs at least one signer certificate");
    AT_ENSURE(r->mode != AT_MODE_AAD || r->certs.n == 0, e, AT_E_BAD_VALUE, "signer_certificates",
              "an aad provider has no signer certificates");
    return at_ok();
}

/*
 * The provider row with a fresh signing key; the flag goes in with the row so the
 * provider never exists, even briefly, without its token requirement.
 */
static at_status provider_insert(struct at_store *store, const char *name,
                                 const struct create_req *r, int64_t now, struct at_err *e)
{
    enum at_jws_alg alg;
    AT_TRY(at_jws_alg_parse(r->alg, &alg, e));
    char cn[AT_PROVIDER_NAME_MAX + 32];
    snprintf(cn, sizeof(cn), "attestd provider %s", name);
    struct at_signer *signer;
    AT_TRY(at_signer_generate(alg, cn, now, PROVIDER_CERT_DAYS, &signer, e));
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "%s", name);
    p.mode = r->mode;
    snprintf(p.alg, sizeof(p.alg), "%s", at_jws_alg_name(alg));
    p.token_lifetime_s = PROVIDER_TOKEN_LIFETIME_S;
    p.created_at = now;
    p.require_token_for_attestation = r->require_token;
    at_status s = at_signer_export(signer, &p.signing_key, &p.signing_key_len, &p.signing_cert,
                                   &p.signing_cert_len, e);
    at_signer_free(signer);
    if (at_is_ok(s)) {
        s = at_store_provider_create(store, &p, e);
    }
    at_provider_clear(&p); /* zeroizes the key bytes */
    return s;
}

static at_status create_parsed(struct at_store *store, const char *name, const struct create_req *r,
                               int64_t now, json_t **out, struct at_err *e)
{
    AT_TRY(provider_insert(store, name, r, now, e));
    at_status s = at_ok();
    for (size_t i = 0; at_is_ok(s) && i < r->certs.n; i++) {
        s = at_store_signer_add(store, name, r->certs.der[i], r->certs.len[i], e);
    }
    if (at_is_ok(s)) {
        s = at_admin_provider_show(store, name, out, e);
    }
    if (!at_is_ok(s)) {
        /* Do not leave a half-configured provider behind. */
        struct at_err ignored;
        at_err_init(&ignored);
        at_status undo = at_store_provider_delete(store, name, &ignored);
        (void)undo;
    }
    return s;
}

at_status at_admin_provider_create(struct at_store *store, const char *name, const char *body,
                                   size_t body_len, int64_t now, json_t **out, struct at_err *e)
{
    AT_ENSURE(at_store_provider_name_valid(name), e, AT_E_BAD_VALUE, "provider_name",
              "invalid provider name (want [a-z][a-z0-9-]{0,62})");
    json_t *root = NULL;
    AT_TRY(parse_body(body, body_len, &root, e));
    struct create_req r;
    memset(&r, 0, sizeof(r));
    at_status s = parse_create(root, &r, e);
    if (at_is_ok(s)) {
        s = create_parsed(store, name, &r, now, out, e);
    }
    certs_clear(&r.certs);
    json_decref(root);
    return s;
}

/* ---- update, delete ---- */

at_status at_admin_provider_update(struct at_store *store, const char *name, const char *body,
                                   size_t body_len, json_t **out, struct at_err *e)
{
    AT_ENSURE(at_store_provider_name_valid(name), e, AT_E_BAD_VALUE, "provider_name",
              "invalid provider name (want [a-z][a-z0-9-]{0,62})");
    json_t *root = NULL;
    AT_TRY(parse_body(body, body_len, &root, e));
    static const char *const allowed[] = {"require_token_for_attestation", NULL};
    bool present = false, require = false;
    at_status s = only_members(root, allowed, e);
    if (at_is_ok(s)) {
        s = bool_member(root, "require_token_for_attestation", &present, &require, e);
    }
    json_decref(root);
    AT_TRY(s);
    AT_ENSURE(present, e, AT_E_BAD_VALUE, "admin_body",
              "\"require_token_for_attestation\" is required");
    AT_TRY(at_store_provider_set_require_token(store, name, require, e));
    return at_admin_provider_show(store, name, out, e);
}

at_status at_admin_provider_delete(struct at_store *store, const char *name, struct at_err *e)
{
    AT_ENSURE(at_store_provider_name_valid(name), e, AT_E_BAD_VALUE, "provider_name",
              "invalid provider name (want [a-z][a-z0-9-]{0,62})");
    AT_ENSURE(strcmp(name, AT_PROVIDER_DEFAULT) != 0, e, AT_E_UNSUPPORTED, "default_provider",
              "the default provider cannot be deleted");
    return at_store_provider_delete(store, name, e);
}

/* ---- role assignments ---- */

static const char *const role_names[] = {"Reader", "Contributor", "Owner"};

/* The canonical spelling of `role` (case-insensitive), or NULL. */
static const char *canonical_role(const char *role)
{
    for (size_t i = 0; role != NULL && i < sizeof(role_names) / sizeof(role_names[0]); i++) {
        if (strcasecmp(role, role_names[i]) == 0) {
            return role_names[i];
        }
    }
    return NULL;
}

static bool scope_valid(const char *scope)
{
    return scope != NULL && (strcmp(scope, "*") == 0 || at_store_provider_name_valid(scope));
}

static json_t *assignment_json(const struct at_role_assignment *a)
{
    return json_pack("{s:s, s:s, s:s}", "principal", a->principal, "role", a->role, "scope",
                     a->scope);
}

at_status at_admin_role_list(struct at_store *store, const char *principal, const char *scope,
                             json_t **out, struct at_err *e)
{
    AT_ENSURE(scope == NULL || scope_valid(scope), e, AT_E_BAD_VALUE, "scope",
              "scope must be \"*\" or a provider name ([a-z][a-z0-9-]{0,62})");
    struct at_role_assignment *v = NULL;
    size_t n = 0;
    AT_TRY(at_store_role_list(store, principal, &v, &n, e));
    json_t *arr = json_array();
    at_status s = arr != NULL ? at_ok() : nomem(e);
    for (size_t i = 0; at_is_ok(s) && i < n; i++) {
        if (scope != NULL && strcmp(v[i].scope, scope) != 0) {
            continue;
        }
        json_t *o = assignment_json(&v[i]);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            s = nomem(e);
        }
    }
    free(v);
    json_t *doc = at_is_ok(s) ? json_object() : NULL;
    if (at_is_ok(s)) {
        s = put(doc, "value", arr, e);
        arr = NULL;
    }
    json_decref(arr);
    if (!at_is_ok(s)) {
        json_decref(doc);
        return s;
    }
    *out = doc;
    return at_ok();
}

at_status at_admin_role_parse(const char *body, size_t body_len, struct at_role_assignment *out,
                              struct at_err *e)
{
    json_t *root = NULL;
    AT_TRY(parse_body(body, body_len, &root, e));
    static const char *const allowed[] = {"principal", "role", "scope", NULL};
    struct at_role_assignment a;
    memset(&a, 0, sizeof(a));
    const char *principal = NULL, *role = NULL, *scope = NULL;
    at_status s = only_members(root, allowed, e);
    if (at_is_ok(s)) {
        s = str_member(root, "principal", sizeof(a.principal) - 1, true, &principal, e);
    }
    if (at_is_ok(s)) {
        s = str_member(root, "role", sizeof(a.role) - 1, true, &role, e);
    }
    if (at_is_ok(s)) {
        s = str_member(root, "scope", sizeof(a.scope) - 1, true, &scope, e);
    }
    const char *canon = at_is_ok(s) ? canonical_role(role) : NULL;
    if (at_is_ok(s) && canon == NULL) {
        s = at_fail_(e, AT_E_BAD_VALUE, "role", __FILE__, __LINE__,
                     "\"role\" must be Reader, Contributor or Owner");
    }
    if (at_is_ok(s) && !scope_valid(scope)) {
        s = at_fail_(e, AT_E_BAD_VALUE, "scope", __FILE__, __LINE__,
                     "\"scope\" must be \"*\" or a provider name ([a-z][a-z0-9-]{0,62})");
    }
    if (at_is_ok(s)) {
        snprintf(a.principal, sizeof(a.principal), "%s", principal);
        snprintf(a.role, sizeof(a.role), "%s", canon);
        snprintf(a.scope, sizeof(a.scope), "%s", scope);
    }
    json_decref(root);
    AT_TRY(s);
    *out = a;
    return at_ok();
}

at_status at_admin_role_assign(struct at_store *store, const struct at_role_assignment *a,
                               json_t **out, struct at_err *e)
{
    AT_ENSURE(scope_valid(a->scope), e, AT_E_BAD_VALUE, "scope",
              "scope must be \"*\" or a provider name ([a-z][a-z0-9-]{0,62})");
    if (strcmp(a->scope, "*") != 0) {
        bool unused;
        AT_TRY(at_store_provider_require_token(store, a->scope, &unused, e));
    }
    AT_TRY(at_store_role_assign(store, a->principal, a->role, a->scope, e));
    json_t *o = assignment_json(a);
    if (o == NULL) {
        return nomem(e);
    }
    *out = o;
    return at_ok();
}

at_status at_admin_role_remove(struct at_store *store, const char *principal, const char *scope,
                               struct at_err *e)
{
    AT_ENSURE(principal != NULL && principal[0] != '\0', e, AT_E_BAD_VALUE, "principal",
              "principal is required");
    AT_ENSURE(scope_valid(scope), e, AT_E_BAD_VALUE, "scope",
              "scope must be \"*\" or a provider name ([a-z][a-z0-9-]{0,62})");
    return at_store_role_remove(store, principal, scope, e);
}
