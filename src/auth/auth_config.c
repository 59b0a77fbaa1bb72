/*
 * The identity configuration (auth.h, docs/identity.md): trusted OIDC issuers, the
 * clock skew and the app-role map. Strict: unknown keys, wrong types, duplicates and
 * algorithms other than RS256/PS256/ES256 are refused at load, so a typo cannot
 * silently widen who is trusted.
 */
#include "auth/auth_int.h"
#include "base/fileio.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK "oidc_config"

#define DEFAULT_SKEW_S      120
#define DEFAULT_REFRESH_S   3600
#define DEFAULT_STALE_MAX_S 86400
#define MAX_REFRESH_S       (7 * 86400)
#define MAX_STALE_S         (30 * 86400)
#define MAX_PATH_LEN        4096

/* Every member of `obj` is one of `allowed` (NULL-terminated). */
static at_status only_keys(const json_t *obj, const char *const *allowed, const char *what,
                           struct at_err *e)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)obj, k, v)
    {
        (void)v;
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++) {
            ok = strcmp(k, allowed[i]) == 0;
        }
        AT_ENSURE(ok, e, AT_E_BAD_VALUE, CHECK, "%s: unknown key \"%.64s\"", what, k);
    }
    return at_ok();
}

/* `v` is a non-empty string of printable ASCII, at most max bytes; borrowed into *out. */
static at_status text_value(const json_t *v, size_t max, const char *what, const char *name,
                            const char **out, struct at_err *e)
{
    const char *s = json_string_value(v);
    AT_ENSURE(s != NULL, e, AT_E_BAD_VALUE, CHECK, "%s: %s must be a string", what, name);
    size_t n = json_string_length(v);
    AT_ENSURE(n > 0 && n <= max, e, AT_E_BAD_VALUE, CHECK, "%s: %s must be 1 to %zu characters",
              what, name, max);
    for (size_t i = 0; i < n; i++) {
        AT_ENSURE(s[i] >= 0x20 && s[i] <= 0x7e, e, AT_E_BAD_VALUE, CHECK,
                  "%s: %s must be printable ASCII", what, name);
    }
    *out = s;
    return at_ok();
}

static at_status get_text(const json_t *obj, const char *key, size_t max, const char *what,
                          const char **out, struct at_err *e)
{
    return text_value(json_object_get(obj, key), max, what, key, out, e);
}

/* An optional integer in [lo, hi]; *out untouched when absent. */
static at_status get_int(const json_t *obj, const char *key, int64_t lo, int64_t hi,
                         const char *what, int64_t *out, struct at_err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        return at_ok();
    }
    AT_ENSURE(json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi, e,
              AT_E_BAD_VALUE, CHECK, "%s: \"%s\" must be an integer from %lld to %lld", what, key,
              (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return at_ok();
}

static char *xstrdup(const char *s, struct at_err *e, at_status *st)
{
    char *d = strdup(s);
    if (d == NULL) {
        *st = at_fail_(e, AT_E_NOMEM, CHECK, __FILE__, __LINE__, "out of memory");
    }
    return d;
}

static void issuer_clear(struct at_auth_issuer *is)
{
    free(is->issuer);
    for (size_t i = 0; i < is->n_audiences; i++) {
        free(is->audiences[i]);
    }
    free(is->audiences);
    free(is->tenant);
    at_jwks_cache_free(is->jwks);
    memset(is, 0, sizeof(*is));
}

void at_auth_free(struct at_auth *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n_issuers; i++) {
        issuer_clear(&a->issuers[i]);
    }
    free(a->issuers);
    for (size_t i = 0; i < a->n_role_map; i++) {
        free(a->role_map[i].value);
    }
    free(a->role_map);
    free(a);
}

/*
 * OpenID Connect Discovery §3 / RFC 8414 §2: an issuer is an https URL without query or
 * fragment. '#' matters to us too: it separates issuer and sub in principal ids.
 */
static at_status check_issuer_url(const char *iss, const char *what, struct at_err *e)
{
    AT_ENSURE(strncmp(iss, "https://", 8) == 0 && iss[8] != '\0', e, AT_E_BAD_VALUE, CHECK,
              "%s: \"issuer\" must be an https:// URL", what);
    AT_ENSURE(strpbrk(iss, "#? ") == NULL, e, AT_E_BAD_VALUE, CHECK,
              "%s: \"issuer\" must not contain a query, fragment or space", what);
    return at_ok();
}

static at_status parse_audiences(const json_t *obj, struct at_auth_issuer *is, const char *what,
                                 struct at_err *e)
{
    const json_t *arr = json_object_get(obj, "audiences");
    size_t n = json_array_size(arr);
    AT_ENSURE(json_is_array(arr) && n > 0 && n <= AT_AUTH_MAX_AUDIENCES, e, AT_E_BAD_VALUE, CHECK,
              "%s: \"audiences\" must be an array of 1 to %d strings", what, AT_AUTH_MAX_AUDIENCES);
    is->audiences = calloc(n, sizeof(char *));
    AT_ENSURE(is->audiences != NULL, e, AT_E_NOMEM, CHECK, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = NULL;
        AT_TRY(text_value(json_array_get(arr, i), 1024, what, "each audience", &s, e));
        for (size_t j = 0; j < i; j++) {
            AT_ENSURE(strcmp(is->audiences[j], s) != 0, e, AT_E_BAD_VALUE, CHECK,
                      "%s: audience %zu is listed twice", what, i);
        }
        at_status st = at_ok();
        is->audiences[i] = xstrdup(s, e, &st);
        AT_TRY(st);
        is->n_audiences = i + 1;
    }
    return at_ok();
}

static at_status parse_algs(const json_t *obj, struct at_auth_issuer *is, const char *what,
                            struct at_err *e)
{
    const json_t *arr = json_object_get(obj, "algorithms");
    if (arr == NULL) {
        /* Entra ID signs access tokens with RS256 only. */
        is->algs[0] = AT_ALG_RS256;
        is->n_algs = 1;
        return at_ok();
    }
    size_t n = json_array_size(arr);
    AT_ENSURE(json_is_array(arr) && n > 0 && n <= 3, e, AT_E_BAD_VALUE, CHECK,
              "%s: \"algorithms\" must be an array of 1 to 3 of RS256, PS256, ES256", what);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        struct at_err sub;
        at_err_init(&sub);
        enum at_jws_alg alg = AT_ALG_RS256;
        AT_ENSURE(s != NULL && at_is_ok(at_jws_alg_parse(s, &alg, &sub)), e, AT_E_BAD_VALUE, CHECK,
                  "%s: algorithm %zu is not one of RS256, PS256, ES256 (none and HMAC are never"
                  " accepted)",
                  what, i);
        for (size_t j = 0; j < i; j++) {
            AT_ENSURE(is->algs[j] != alg, e, AT_E_BAD_VALUE, CHECK,
                      "%s: algorithm %s is listed twice", what, s);
        }
        is->algs[i] = alg;
        is->n_algs = i + 1;
    }
    return at_ok();
}

/* `path` resolved against base_dir when relative, into full[cap] (or borrowed). */
static at_status resolve_path(const char *path, const char *base_dir, char *full, size_t cap,
                              const char *what, const char *key, const char **out, struct at_err *e)
{
    if (path[0] != '/' && base_dir != NULL) {
        int n = snprintf(full, cap, "%s/%s", base_dir, path);
        AT_ENSURE(n > 0 && (size_t)n < cap, e, AT_E_BAD_VALUE, CHECK, "%s: %s path too long", what,
                  key);
        path = full;
    }
    *out = path;
    return at_ok();
}

/*
 * jwks_uri: an https URL without fragment or space; its optional jwks_ca_file must be
 * readable now. The first fetch happens here, but its failure is not a load error.
 */
static at_status open_jwks_uri(const json_t *obj, const char *base_dir, int64_t refresh_s,
                               int64_t stale_s, struct at_auth_issuer *is, const char *what,
                               struct at_err *e)
{
    const char *uri = NULL;
    AT_TRY(get_text(obj, "jwks_uri", AT_AUTH_URI_MAX, what, &uri, e));
    AT_ENSURE(strncmp(uri, "https://", 8) == 0 && uri[8] != '\0' && uri[8] != '/', e,
              AT_E_BAD_VALUE, CHECK, "%s: \"jwks_uri\" must be an https:// URL", what);
    AT_ENSURE(strpbrk(uri, "# ") == NULL, e, AT_E_BAD_VALUE, CHECK,
              "%s: \"jwks_uri\" must not contain a fragment or space", what);
    const char *ca = NULL;
    char full[2 * MAX_PATH_LEN + 2];
    if (json_object_get(obj, "jwks_ca_file") != NULL) {
        AT_TRY(get_text(obj, "jwks_ca_file", MAX_PATH_LEN, what, &ca, e));
        AT_TRY(resolve_path(ca, base_dir, full, sizeof(full), what, "jwks_ca_file", &ca, e));
        AT_ENSURE(access(ca, R_OK) == 0, e, AT_E_IO, CHECK, "%s: cannot read jwks_ca_file %s", what,
                  ca);
    }
    at_status st = at_jwks_cache_new_uri(uri, ca, refresh_s, stale_s, &is->jwks, e);
    if (!at_is_ok(st)) {
        at_err_context(e, what);
    }
    return st;
}

/* Exactly one of jwks_file (resolved against base_dir when relative) and jwks_uri. */
static at_status open_jwks(const json_t *obj, const char *base_dir, int64_t refresh_s,
                           int64_t stale_s, struct at_auth_issuer *is, const char *what,
                           struct at_err *e)
{
    bool has_file = json_object_get(obj, "jwks_file") != NULL;
    bool has_uri = json_object_get(obj, "jwks_uri") != NULL;
    AT_ENSURE(has_file != has_uri, e, AT_E_BAD_VALUE, CHECK,
              "%s: exactly one of \"jwks_file\" and \"jwks_uri\" is required", what);
    if (has_uri) {
        return open_jwks_uri(obj, base_dir, refresh_s, stale_s, is, what, e);
    }
    AT_ENSURE(json_object_get(obj, "jwks_ca_file") == NULL, e, AT_E_BAD_VALUE, CHECK,
              "%s: \"jwks_ca_file\" applies only to \"jwks_uri\"", what);
    const char *path = NULL;
    AT_TRY(get_text(obj, "jwks_file", MAX_PATH_LEN, what, &path, e));
    char full[2 * MAX_PATH_LEN + 2];
    AT_TRY(resolve_path(path, base_dir, full, sizeof(full), what, "jwks_file", &path, e));
    at_status st = at_jwks_cache_new(path, refresh_s, stale_s, &is->jwks, e);
    if (!at_is_ok(st)) {
        at_err_context(e, what);
    }
    return st;
}

static at_status parse_issuer(const json_t *obj, const char *base_dir, struct at_auth_issuer *is,
                              const char *what, struct at_err *e)
{
    static const char *const keys[] = {
        "issuer", "audiences",      "jwks_file",        "jwks_uri",     "algorithms",
        "tenant", "jwks_refresh_s", "jwks_stale_max_s", "jwks_ca_file", NULL};
    AT_ENSURE(json_is_object(obj), e, AT_E_BAD_VALUE, CHECK, "%s must be an object", what);
    AT_TRY(only_keys(obj, keys, what, e));
    const char *iss = NULL;
    AT_TRY(get_text(obj, "issuer", AT_AUTH_ISSUER_MAX, what, &iss, e));
    AT_TRY(check_issuer_url(iss, what, e));
    at_status st = at_ok();
    is->issuer = xstrdup(iss, e, &st);
    AT_TRY(st);
    AT_TRY(parse_audiences(obj, is, what, e));
    AT_TRY(parse_algs(obj, is, what, e));
    if (json_object_get(obj, "tenant") != NULL) {
        const char *t = NULL;
        AT_TRY(get_text(obj, "tenant", AT_AUTH_CLAIM_MAX, what, &t, e));
        is->tenant = xstrdup(t, e, &st);
        AT_TRY(st);
    }
    int64_t refresh_s = DEFAULT_REFRESH_S, stale_s = DEFAULT_STALE_MAX_S;
    AT_TRY(get_int(obj, "jwks_refresh_s", 1, MAX_REFRESH_S, what, &refresh_s, e));
    AT_TRY(get_int(obj, "jwks_stale_max_s", 1, MAX_STALE_S, what, &stale_s, e));
    AT_ENSURE(stale_s >= refresh_s, e, AT_E_BAD_VALUE, CHECK,
              "%s: jwks_stale_max_s must be at least jwks_refresh_s", what);
    return open_jwks(obj, base_dir, refresh_s, stale_s, is, what, e);
}

static at_status parse_issuers(const json_t *arr, const char *base_dir, struct at_auth *a,
                               struct at_err *e)
{
    size_t n = json_array_size(arr);
    AT_ENSURE(json_is_array(arr) && n > 0 && n <= AT_AUTH_MAX_ISSUERS, e, AT_E_BAD_VALUE, CHECK,
              "\"issuers\" must be an array of 1 to %d issuers", AT_AUTH_MAX_ISSUERS);
    a->issuers = calloc(n, sizeof(*a->issuers));
    AT_ENSURE(a->issuers != NULL, e, AT_E_NOMEM, CHECK, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof(what), "issuers[%zu]", i);
        a->n_issuers = i + 1;
        AT_TRY(parse_issuer(json_array_get(arr, i), base_dir, &a->issuers[i], what, e));
        for (size_t j = 0; j < i; j++) {
            AT_ENSURE(strcmp(a->issuers[j].issuer, a->issuers[i].issuer) != 0, e, AT_E_BAD_VALUE,
                      CHECK, "%s: issuer is configured twice", what);
        }
    }
    return at_ok();
}

static at_status parse_role_map(const json_t *obj, struct at_auth *a, struct at_err *e)
{
    if (obj == NULL) {
        return at_ok();
    }
    size_t n = json_object_size(obj);
    AT_ENSURE(json_is_object(obj) && n <= AT_AUTH_MAX_ROLE_MAP, e, AT_E_BAD_VALUE, CHECK,
              "\"role_map\" must be an object of at most %d app roles", AT_AUTH_MAX_ROLE_MAP);
    a->role_map = calloc(n > 0 ? n : 1, sizeof(*a->role_map));
    AT_ENSURE(a->role_map != NULL, e, AT_E_NOMEM, CHECK, "out of memory");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)obj, k, v)
    {
        size_t kl = strlen(k);
        AT_ENSURE(kl > 0 && kl <= 256, e, AT_E_BAD_VALUE, CHECK,
                  "role_map: app role names must be 1 to 256 characters");
        struct at_err sub;
        at_err_init(&sub);
        enum at_role r = AT_ROLE_NONE;
        AT_ENSURE(at_is_ok(at_role_parse(json_string_value(v), &r, &sub)), e, AT_E_BAD_VALUE, CHECK,
                  "role_map: \"%.64s\" must map to Reader, Contributor or Owner", k);
        at_status st = at_ok();
        a->role_map[a->n_role_map].value = xstrdup(k, e, &st);
        AT_TRY(st);
        a->role_map[a->n_role_map].role = r;
        a->n_role_map++;
    }
    return at_ok();
}

static at_status parse_all(const json_t *config, const char *base_dir, struct at_auth *a,
                           struct at_err *e)
{
    static const char *const keys[] = {"issuers", "clock_skew_s", "role_map", NULL};
    AT_ENSURE(json_is_object(config), e, AT_E_BAD_VALUE, CHECK,
              "identity configuration must be a JSON object");
    AT_TRY(only_keys(config, keys, "identity configuration", e));
    a->skew_s = DEFAULT_SKEW_S;
    AT_TRY(get_int(config, "clock_skew_s", 0, AT_AUTH_SKEW_MAX_S, "identity configuration",
                   &a->skew_s, e));
    AT_TRY(parse_role_map(json_object_get(config, "role_map"), a, e));
    return parse_issuers(json_object_get(config, "issuers"), base_dir, a, e);
}

at_status at_auth_config_parse(const json_t *config, const char *base_dir, struct at_auth **out,
                               struct at_err *e)
{
    AT_ENSURE(out != NULL, e, AT_E_USAGE, CHECK, "no output");
    struct at_auth *a = calloc(1, sizeof(*a));
    AT_ENSURE(a != NULL, e, AT_E_NOMEM, CHECK, "out of memory");
    at_status st = parse_all(config, base_dir, a, e);
    if (!at_is_ok(st)) {
        at_auth_free(a);
        return st;
    }
    *out = a;
    return at_ok();
}

at_status at_auth_new(const json_t *config, struct at_auth **out, struct at_err *e)
{
    return at_auth_config_parse(config, NULL, out, e);
}

at_status at_auth_load(const char *path, struct at_auth **out, struct at_err *e)
{
    AT_ENSURE(path != NULL && out != NULL, e, AT_E_USAGE, CHECK, "no configuration path");
    uint8_t *buf = NULL;
    size_t len = 0;
    AT_TRY(at_file_read(path, AT_AUTH_CONFIG_MAX, &buf, &len, e));
    json_error_t jerr;
    json_t *cfg = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (cfg == NULL) {
        AT_FAIL(e, AT_E_PARSE, CHECK, "%s is not JSON (line %d: %s)", path, jerr.line, jerr.text);
    }
    /* Relative jwks_file / jwks_ca_file paths: relative to the configuration's directory. */
    char *dir = strdup(path);
    at_status st = at_ok();
    if (dir == NULL) {
        st = at_fail_(e, AT_E_NOMEM, CHECK, __FILE__, __LINE__, "out of memory");
    } else {
        char *slash = strrchr(dir, '/');
        if (slash != NULL) {
            slash[slash == dir ? 1 : 0] = '\0';
        }
        st = at_auth_config_parse(cfg, slash != NULL ? dir : NULL, out, e);
        if (!at_is_ok(st)) {
            at_err_context(e, path);
        }
    }
    free(dir);
    json_decref(cfg);
    return st;
}
