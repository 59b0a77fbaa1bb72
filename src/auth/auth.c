/*
 * Management-plane authentication and authorisation (auth.h, docs/identity.md).
 *
 * at_auth_authenticate validates an OAuth 2.0 bearer token (RFC 6750) that is a JWT
 * (RFC 7519) from one of the configured OIDC issuers, in this order, each failure
 * naming its check: header syntax ("missing_token", "malformed_token"); the header's alg
 * among RS256/PS256/ES256 ("algorithm", before anything else is looked at, RFC 8725
 * §3.1); the unverified `iss` picks the issuer ("unknown_issuer"); the alg pinned for
 * that issuer ("algorithm"); kid in that issuer's JWKS ("unknown_kid"); the signature
 * ("bad_signature"); then the verified claims: exp/nbf/iat ("expired", "not_yet_valid"),
 * aud ("audience"), tid ("tenant"). The token itself never appears in a message.
 */
#include "auth/auth_int.h"
#include "base/encoding.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- names */

const char *at_role_name(enum at_role r)
{
    switch (r) {
    case AT_ROLE_NONE:
        return "None";
    case AT_ROLE_READER:
        return "Reader";
    case AT_ROLE_CONTRIBUTOR:
        return "Contributor";
    case AT_ROLE_OWNER:
        return "Owner";
    }
    return "None";
}

at_status at_role_parse(const char *s, enum at_role *out, struct at_err *e)
{
    static const enum at_role all[] = {AT_ROLE_READER, AT_ROLE_CONTRIBUTOR, AT_ROLE_OWNER};
    for (size_t i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcasecmp(s, at_role_name(all[i])) == 0) {
            *out = all[i];
            return at_ok();
        }
    }
    AT_FAIL(e, AT_E_BAD_VALUE, "role", "role must be Reader, Contributor or Owner");
}

const char *at_action_name(enum at_action a)
{
    switch (a) {
    case AT_ACT_POLICY_READ:
        return "policy.read";
    case AT_ACT_POLICY_WRITE:
        return "policy.write";
    case AT_ACT_SIGNER_READ:
        return "signer.read";
    case AT_ACT_SIGNER_WRITE:
        return "signer.write";
    case AT_ACT_PROVIDER_READ:
        return "provider.read";
    case AT_ACT_PROVIDER_WRITE:
        return "provider.write";
    case AT_ACT_ROLE_READ:
        return "role.read";
    case AT_ACT_ROLE_WRITE:
        return "role.write";
    case AT_ACT_ATTEST:
        return "attest";
    }
    return "unknown";
}

enum at_role at_action_min_role(enum at_action a)
{
    switch (a) {
    case AT_ACT_POLICY_READ:
    case AT_ACT_SIGNER_READ:
    case AT_ACT_PROVIDER_READ:
    case AT_ACT_ATTEST:
        return AT_ROLE_READER;
    case AT_ACT_POLICY_WRITE:
    case AT_ACT_SIGNER_WRITE:
        return AT_ROLE_CONTRIBUTOR;
    case AT_ACT_PROVIDER_WRITE:
    case AT_ACT_ROLE_READ:
    case AT_ACT_ROLE_WRITE:
        return AT_ROLE_OWNER;
    }
    /* Fail closed on a value outside the enum: nobody is above Owner. */
    return (enum at_role)(AT_ROLE_OWNER + 1);
}

/* ------------------------------------------------------- header syntax */

#define UNAUTH(e, check, ...) AT_FAIL(e, AT_E_UNAUTHENTICATED, check, __VA_ARGS__)

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* The token of "Bearer <token>" (borrowed from `h`). */
static at_status bearer_token(const char *h, const char **tok, struct at_err *e)
{
    if (h == NULL || h[0] == '\0') {
        UNAUTH(e, "missing_token", "no bearer token (send \"Authorization: Bearer <token>\")");
    }
    size_t len = strnlen(h, AT_AUTH_HEADER_MAX + 1);
    if (len > AT_AUTH_HEADER_MAX) {
        UNAUTH(e, "malformed_token", "Authorization header is larger than %d bytes",
               AT_AUTH_HEADER_MAX);
    }
    /* RFC 7235 §2.1: the auth-scheme is a case-insensitive token, then one or more SP;
       RFC 6750 §2.1's credentials grammar has exactly one. */
    size_t scheme = strcspn(h, " ");
    if (scheme != 6 || strncasecmp(h, "Bearer", 6) != 0) {
        UNAUTH(e, "missing_token", "no bearer token (Authorization scheme is not Bearer)");
    }
    const char *t = h + 7;
    if (h[6] != ' ' || t[0] == '\0') {
        UNAUTH(e, "malformed_token", "empty bearer token");
    }
    size_t i = 0;
    while (b64token_char(t[i])) {
        i++;
    }
    size_t body = i;
    while (t[i] == '=') {
        i++;
    }
    if (body == 0 || t[i] != '\0') {
        UNAUTH(e, "malformed_token",
               "bearer token has a character outside the RFC 6750 b64token"
               " syntax at offset %zu",
               (size_t)(t - h) + i);
    }
    *tok = t;
    return at_ok();
}

/* ------------------------------------------------- unverified JWS parts */

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Decode one base64url part as a JSON object (not yet trusted). */
static at_status part_object(const char *p, size_t len, const char *what, json_t **out,
                             struct at_err *e)
{
    for (size_t i = 0; i < len; i++) {
        if (!b64url_char(p[i])) {
            UNAUTH(e, "malformed_token", "token %s is not base64url", what);
        }
    }
    struct at_err sub;
    at_err_init(&sub);
    uint8_t *txt = NULL;
    size_t txt_len = 0;
    if (len == 0 || !at_is_ok(at_b64_decode_public(p, len, &txt, &txt_len, &sub))) {
        UNAUTH(e, "malformed_token", "token %s is not base64url", what);
    }
    json_error_t jerr;
    json_t *v = json_loadb((const char *)txt, txt_len, JSON_REJECT_DUPLICATES, &jerr);
    free(txt);
    if (!json_is_object(v)) {
        json_decref(v);
        UNAUTH(e, "malformed_token", "token %s is not a JSON object", what);
    }
    *out = v;
    return at_ok();
}

/* Header and payload of a compact JWS, before any signature check. */
static at_status jws_peek(const char *jwt, json_t **header, json_t **payload, struct at_err *e)
{
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    if (d2 == NULL || strchr(d2 + 1, '.') != NULL) {
        UNAUTH(e, "malformed_token", "token is not a compact JWS (three base64url parts)");
    }
    json_t *h = NULL, *p = NULL;
    AT_TRY(part_object(jwt, (size_t)(d1 - jwt), "header", &h, e));
    at_status st = part_object(d1 + 1, (size_t)(d2 - d1 - 1), "payload", &p, e);
    if (!at_is_ok(st)) {
        json_decref(h);
        return st;
    }
    *header = h;
    *payload = p;
    return at_ok();
}

/* RFC 8725 §3.1, §2.1: only our three asymmetric algs, never none or HMAC. */
static at_status alg_allowed(const json_t *h, struct at_err *e)
{
    const char *a = json_string_value(json_object_get(h, "alg"));
    if (a == NULL) {
        UNAUTH(e, "malformed_token", "token header has no \"alg\"");
    }
    struct at_err sub;
    at_err_init(&sub);
    enum at_jws_alg alg;
    if (!at_is_ok(at_jws_alg_parse(a, &alg, &sub))) {
        UNAUTH(e, "algorithm", "token algorithm is not accepted (only RS256, PS256, ES256)");
    }
    return at_ok();
}

static at_status find_issuer(const struct at_auth *a, const json_t *payload,
                             const struct at_auth_issuer **out, struct at_err *e)
{
    const char *iss = json_string_value(json_object_get(payload, "iss"));
    for (size_t i = 0; iss != NULL && i < a->n_issuers; i++) {
        if (strcmp(a->issuers[i].issuer, iss) == 0) {
            *out = &a->issuers[i];
            return at_ok();
        }
    }
    UNAUTH(e, "unknown_issuer", "token issuer is not a trusted issuer");
}

/* Verify the signature with the issuer's keys and pinned algs; *payload is verified. */
static at_status verify(const struct at_auth_issuer *is, const char *jwt, const json_t *header,
                        int64_t now, json_t **payload, struct at_err *e)
{
    const char *kid = json_string_value(json_object_get(header, "kid"));
    if (kid == NULL || kid[0] == '\0') {
        UNAUTH(e, "unknown_kid", "token header has no \"kid\"");
    }
    json_t *jwks = NULL;
    struct at_err sub;
    at_err_init(&sub);
    if (!at_is_ok(at_jwks_cache_get(is->jwks, now, kid, &jwks, &sub))) {
        UNAUTH(e, "unknown_kid", "the issuer's signing keys are unavailable");
    }
    at_err_init(&sub);
    at_status st = at_jwt_verify_pinned(jwt, jwks, is->algs, is->n_algs, NULL, payload, &sub);
    json_decref(jwks);
    if (at_is_ok(st)) {
        return at_ok();
    }
    if (st.code == AT_E_UNSUPPORTED && sub.check != NULL && strcmp(sub.check, "jws_alg") == 0) {
        UNAUTH(e, "algorithm", "token algorithm is not one this issuer uses");
    }
    if (st.code == AT_E_MISMATCH) {
        UNAUTH(e, "algorithm", "token algorithm does not fit the issuer's key: %s", sub.msg);
    }
    if (st.code == AT_E_NOT_FOUND) {
        UNAUTH(e, "unknown_kid", "no signing key of the issuer has the token's kid");
    }
    if (st.code == AT_E_BAD_VALUE) {
        UNAUTH(e, "unknown_kid", "the issuer's key with the token's kid is unusable");
    }
    if (st.code == AT_E_SIGNATURE) {
        UNAUTH(e, "bad_signature", "token signature does not verify");
    }
    if (st.code == AT_E_NOMEM || st.code == AT_E_CRYPTO || st.code == AT_E_INTERNAL) {
        AT_FAIL(e, st.code, "auth", "token verification failed internally: %s", sub.msg);
    }
    UNAUTH(e, "malformed_token", "token is malformed: %s", sub.msg);
}

/* ------------------------------------------------------------- claims */

/* RFC 7519 §2 NumericDate, rounded down (round_up false) or up; clamped to int64. */
static int64_t numeric_date(const json_t *v, bool round_up)
{
    if (json_is_integer(v)) {
        return (int64_t)json_integer_value(v);
    }
    double d = json_real_value(v);
    if (!(d > -9.0e18)) {
        return INT64_MIN;
    }
    if (!(d < 9.0e18)) {
        return INT64_MAX;
    }
    int64_t t = (int64_t)d;
    if (!round_up && (double)t > d) {
        t--;
    }
    if (round_up && (double)t < d) {
        t++;
    }
    return t;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* RFC 7519 §4.1.4, §4.1.5, §4.1.6 with the configured skew. */
static at_status check_times(const struct at_auth *a, const json_t *p, int64_t now,
                             struct at_err *e)
{
    const json_t *exp = json_object_get(p, "exp");
    const json_t *nbf = json_object_get(p, "nbf");
    const json_t *iat = json_object_get(p, "iat");
    if (exp == NULL) {
        UNAUTH(e, "expired", "token has no \"exp\" claim (tokens without an expiry are refused)");
    }
    if (!json_is_number(exp) || (nbf != NULL && !json_is_number(nbf)) ||
        (iat != NULL && !json_is_number(iat))) {
        UNAUTH(e, "malformed_token", "token exp, nbf and iat must be numbers");
    }
    if (numeric_date(exp, false) <= sat_add(now, -a->skew_s)) {
        UNAUTH(e, "expired", "token has expired");
    }
    if (nbf != NULL && numeric_date(nbf, true) > sat_add(now, a->skew_s)) {
        UNAUTH(e, "not_yet_valid", "token is not valid yet (nbf)");
    }
    if (iat != NULL && numeric_date(iat, true) > sat_add(now, a->skew_s)) {
        UNAUTH(e, "not_yet_valid", "token was issued in the future (iat)");
    }
    return at_ok();
}

static bool audience_ok(const struct at_auth_issuer *is, const char *aud)
{
    for (size_t i = 0; aud != NULL && i < is->n_audiences; i++) {
        if (strcmp(is->audiences[i], aud) == 0) {
            return true;
        }
    }
    return false;
}

/* RFC 7519 §4.1.3: one of the token's audiences must be one of ours. */
static at_status check_audience(const struct at_auth_issuer *is, const json_t *p, struct at_err *e)
{
    const json_t *aud = json_object_get(p, "aud");
    if (json_is_string(aud)) {
        if (audience_ok(is, json_string_value(aud))) {
            return at_ok();
        }
    } else if (json_is_array(aud)) {
        for (size_t i = 0; i < json_array_size(aud); i++) {
            const json_t *x = json_array_get(aud, i);
            if (!json_is_string(x)) {
                UNAUTH(e, "malformed_token", "token \"aud\" entries must be strings");
            }
            if (audience_ok(is, json_string_value(x))) {
                return at_ok();
            }
        }
    } else if (aud != NULL) {
        UNAUTH(e, "malformed_token", "token \"aud\" must be a string or an array of strings");
    }
    UNAUTH(e, "audience", "token audience is not this service");
}

/* Identifier claims of the principal: [A-Za-z0-9._-]{1,63} (GUIDs for Entra). */
static bool id_claim_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (n >= AT_AUTH_CLAIM_MAX ||
            !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return n > 0;
}

/* An optional identifier claim copied into dst (size AT_AUTH_CLAIM_MAX + 1). */
static at_status id_claim(const json_t *p, const char *name, char *dst, struct at_err *e)
{
    const json_t *v = json_object_get(p, name);
    if (v == NULL) {
        dst[0] = '\0';
        return at_ok();
    }
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != json_string_length(v) || !id_claim_ok(s)) {
        UNAUTH(e, "malformed_token", "token \"%s\" claim is not a valid identifier", name);
    }
    memcpy(dst, s, strlen(s) + 1);
    return at_ok();
}

static at_status check_tenant(const struct at_auth_issuer *is, const char *tid, struct at_err *e)
{
    if (is->tenant != NULL && strcmp(is->tenant, tid) != 0) {
        UNAUTH(e, "tenant", "token tenant is not the configured tenant");
    }
    return at_ok();
}

/* "<tid>/<oid>", else "<iss>#<sub>": tid and oid have no ':', issuers always do. */
static at_status principal_id(const json_t *p, struct at_principal *pr, struct at_err *e)
{
    if (pr->tenant[0] != '\0' && pr->object_id[0] != '\0') {
        int n = snprintf(pr->id, sizeof(pr->id), "%s/%s", pr->tenant, pr->object_id);
        at_assert(n > 0 && (size_t)n < sizeof(pr->id));
        return at_ok();
    }
    const json_t *sv = json_object_get(p, "sub");
    const char *sub = json_string_value(sv);
    size_t n = sub != NULL ? json_string_length(sv) : 0;
    if (n == 0) {
        UNAUTH(e, "malformed_token", "token names no principal (no tid and oid, and no sub)");
    }
    for (size_t i = 0; i < n; i++) {
        if (sub[i] < 0x21 || sub[i] > 0x7e) {
            UNAUTH(e, "malformed_token", "token \"sub\" must be printable ASCII");
        }
    }
    int w = snprintf(pr->id, sizeof(pr->id), "%s#%s", pr->issuer, sub);
    if (w < 0 || (size_t)w >= sizeof(pr->id)) {
        UNAUTH(e, "malformed_token", "token \"sub\" is too long");
    }
    return at_ok();
}

/* The highest role any `roles` entry maps to (Entra app roles, RFC 9068 §2.2.3.1). */
static at_status token_role(const struct at_auth *a, const json_t *p, enum at_role *out,
                            struct at_err *e)
{
    const json_t *roles = json_object_get(p, "roles");
    enum at_role best = AT_ROLE_NONE;
    if (roles != NULL && !json_is_array(roles)) {
        UNAUTH(e, "malformed_token", "token \"roles\" must be an array of strings");
    }
    for (size_t i = 0; i < json_array_size(roles); i++) {
        const char *r = json_string_value(json_array_get(roles, i));
        if (r == NULL) {
            UNAUTH(e, "malformed_token", "token \"roles\" must be an array of strings");
        }
        for (size_t j = 0; j < a->n_role_map; j++) {
            if (strcmp(a->role_map[j].value, r) == 0 && a->role_map[j].role > best) {
                best = a->role_map[j].role;
            }
        }
    }
    *out = best;
    return at_ok();
}

static at_status fill_principal(const struct at_auth *a, const struct at_auth_issuer *is,
                                const json_t *p, struct at_principal *pr, struct at_err *e)
{
    memset(pr, 0, sizeof(*pr));
    at_assert(strlen(is->issuer) < sizeof(pr->issuer));
    memcpy(pr->issuer, is->issuer, strlen(is->issuer) + 1);
    AT_TRY(id_claim(p, "tid", pr->tenant, e));
    AT_TRY(check_tenant(is, pr->tenant, e));
    AT_TRY(id_claim(p, "oid", pr->object_id, e));
    /* v1 tokens name the client in appid, v2 in azp. */
    AT_TRY(id_claim(p, json_object_get(p, "appid") != NULL ? "appid" : "azp", pr->app_id, e));
    AT_TRY(principal_id(p, pr, e));
    const char *idtyp = json_string_value(json_object_get(p, "idtyp"));
    pr->is_app = (idtyp != NULL && strcmp(idtyp, "app") == 0) || json_object_get(p, "scp") == NULL;
    return token_role(a, p, &pr->token_role, e);
}

at_status at_auth_authenticate(struct at_auth *a, const char *authorization, int64_t now,
                               struct at_principal *out, struct at_err *e)
{
    AT_ENSURE(a != NULL && out != NULL, e, AT_E_USAGE, "auth", "no identity configuration");
    const char *jwt = NULL;
    AT_TRY(bearer_token(authorization, &jwt, e));
    json_t *header = NULL, *unverified = NULL;
    AT_TRY(jws_peek(jwt, &header, &unverified, e));
    const struct at_auth_issuer *is = NULL;
    json_t *p = NULL;
    at_status st = alg_allowed(header, e);
    if (at_is_ok(st)) {
        st = find_issuer(a, unverified, &is, e);
    }
    json_decref(unverified);
    if (at_is_ok(st)) {
        st = verify(is, jwt, header, now, &p, e);
    }
    json_decref(header);
    AT_TRY(st);
    struct at_principal pr;
    st = check_times(a, p, now, e);
    if (at_is_ok(st)) {
        st = check_audience(is, p, e);
    }
    if (at_is_ok(st)) {
        st = fill_principal(a, is, p, &pr, e);
    }
    json_decref(p);
    AT_TRY(st);
    *out = pr;
    return at_ok();
}

/* ---------------------------------------------------------- authorize */

/* The highest store assignment of `id` at scope `provider` (NULL: only "*") or "*". */
static at_status assigned_role(struct at_store *store, const char *id, const char *provider,
                               enum at_role *out, struct at_err *e)
{
    struct at_role_assignment *v = NULL;
    size_t n = 0;
    AT_TRY(at_store_role_list(store, id, &v, &n, e));
    enum at_role best = AT_ROLE_NONE;
    for (size_t i = 0; i < n; i++) {
        bool in_scope =
            strcmp(v[i].scope, "*") == 0 || (provider != NULL && strcmp(v[i].scope, provider) == 0);
        struct at_err sub;
        at_err_init(&sub);
        enum at_role r = AT_ROLE_NONE;
        if (in_scope && at_is_ok(at_role_parse(v[i].role, &r, &sub)) && r > best) {
            best = r;
        }
    }
    free(v);
    *out = best;
    return at_ok();
}

at_status at_auth_authorize(struct at_auth *a, struct at_store *store, const struct at_principal *p,
                            const char *provider, enum at_action action, struct at_err *e)
{
    (void)a;
    AT_ENSURE(p != NULL && memchr(p->id, '\0', sizeof(p->id)) != NULL && p->id[0] != '\0', e,
              AT_E_USAGE, "auth", "no authenticated principal");
    AT_ENSURE(provider == NULL || at_store_provider_name_valid(provider), e, AT_E_BAD_VALUE,
              "provider_name", "invalid provider name");
    enum at_role need = at_action_min_role(action);
    enum at_role have = p->token_role;
    if (have < need && store != NULL) {
        enum at_role stored = AT_ROLE_NONE;
        AT_TRY(assigned_role(store, p->id, provider, &stored, e));
        have = stored > have ? stored : have;
    }
    if (have >= need) {
        return at_ok();
    }
    const char *role = need <= AT_ROLE_OWNER ? at_role_name(need) : "(none)";
    if (provider == NULL) {
        AT_FAIL(e, AT_E_FORBIDDEN, "role", "%s on all providers requires the %s role",
                at_action_name(action), role);
    }
    AT_FAIL(e, AT_E_FORBIDDEN, "role", "%s on provider '%s' requires the %s role",
            at_action_name(action), provider, role);
}
