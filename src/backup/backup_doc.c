/*
 * The backup document (backup.h): collecting it from a store, parsing and
 * schema-checking it (untrusted once decrypted: it may come from anywhere), and
 * wiping it. Every check failure names the JSON path: "schema: providers[1].alg: ...".
 */
#include "backup/backup.h"
#include "base/encoding.h"
#include "base/fileio.h"
#include "base/secure.h"
#include "base/timeutil.h"
#include "crypto/digest.h"
#include "policy/policy.h"
#include "store/store.h"

#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_NAME_MAX   32
#define BLOB_MAX        ((size_t)1024 * 1024)
#define PRINCIPAL_MAX   319
#define CONFIG_FILE_MAX ((size_t)16 * 1024 * 1024)

/* ------------------------------------------------------------------ wiping */

static void wipe_strings(json_t *j, unsigned depth)
{
    if (j == NULL || depth > 64) {
        return;
    }
    if (json_is_string(j)) {
        const char *v = json_string_value(j);
        /* The tree is ours and about to be released: wipe its bytes in place. */
        at_zeroize((void *)(uintptr_t)v, json_string_length(j));
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            wipe_strings(v, depth + 1);
        }
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            wipe_strings(v, depth + 1);
        }
    }
}

void at_backup_doc_free(json_t *doc)
{
    if (doc != NULL && doc->refcount == 1) {
        wipe_strings(doc, 0);
    }
    json_decref(doc);
}

/* -------------------------------------------------------------- collecting */

static at_status nomem(struct at_err *e)
{
    AT_FAIL(e, AT_E_NOMEM, "backup", "out of memory");
}

/* obj[key] = v (v's reference is taken even on failure). */
static at_status put(json_t *obj, const char *key, json_t *v, struct at_err *e)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0) {
        return nomem(e);
    }
    return at_ok();
}

static at_status append(json_t *arr, json_t *v, struct at_err *e)
{
    if (v == NULL || json_array_append_new(arr, v) != 0) {
        return nomem(e);
    }
    return at_ok();
}

static json_t *b64_string(const uint8_t *p, size_t n)
{
    char *s = at_b64url_dup(p, n);
    if (s == NULL) {
        return NULL;
    }
    json_t *j = json_string(s);
    at_free_secret(s, strlen(s));
    return j;
}

static at_status file_digest(const char *path, json_t **out, struct at_err *e)
{
    if (path == NULL) {
        *out = json_null();
        return at_ok();
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    AT_TRY(at_file_read(path, CONFIG_FILE_MAX, &buf, &len, e));
    uint8_t h[AT_SHA256_LEN];
    int rc = at_sha256(buf, len, h);
    free(buf);
    AT_ENSURE(rc == 0, e, AT_E_NOMEM, "backup", "out of memory");
    char hex[2 * AT_SHA256_LEN + 1];
    at_hex_encode(h, sizeof(h), hex);
    *out = json_string(hex);
    return *out != NULL ? at_ok() : nomem(e);
}

static at_status collect_policies(struct at_store *s, const char *name, json_t *arr,
                                  struct at_err *e)
{
    char **types = NULL;
    size_t n = 0;
    AT_TRY(at_store_policy_list(s, name, &types, &n, e));
    at_status r = at_ok();
    for (size_t i = 0; i < n && at_is_ok(r); i++) {
        struct at_policy_record rec;
        memset(&rec, 0, sizeof(rec));
        r = at_store_policy_get(s, name, types[i], &rec, e);
        char hash[48];
        if (at_is_ok(r)) {
            r = at_backup_policy_hash(rec.text, rec.text_len, rec.jws, hash, e);
        }
        if (at_is_ok(r)) {
            json_t *p = json_object();
            r = p != NULL ? at_ok() : nomem(e);
            if (at_is_ok(r)) {
                r = append(arr, p, e);
            }
            if (at_is_ok(r)) {
                r = put(p, "type", json_string(types[i]), e);
            }
            if (at_is_ok(r)) {
                r = put(p, "text", b64_string((const uint8_t *)rec.text, rec.text_len), e);
            }
            if (at_is_ok(r)) {
                r = put(p, "jws", rec.jws != NULL ? json_string(rec.jws) : json_null(), e);
            }
            if (at_is_ok(r)) {
                r = put(p, "hash", json_string(hash), e);
            }
            char ph[44];
            if (at_is_ok(r)) {
                r = at_policy_hash(rec.text, rec.text_len, ph, e);
            }
            if (at_is_ok(r)) {
                r = put(p, "policy_hash", json_string(ph), e);
            }
        }
        at_policy_record_clear(&rec);
    }
    at_store_strings_free(types, n);
    return r;
}

static at_status collect_signers(struct at_store *s, const char *name, json_t *arr,
                                 struct at_err *e)
{
    uint8_t **ders = NULL;
    size_t *lens = NULL, n = 0;
    AT_TRY(at_store_signer_list(s, name, &ders, &lens, &n, e));
    at_status r = at_ok();
    for (size_t i = 0; i < n && at_is_ok(r); i++) {
        r = append(arr, b64_string(ders[i], lens[i]), e);
    }
    at_store_signers_free(ders, lens, n);
    return r;
}

static at_status collect_provider(struct at_store *s, const char *name, json_t *arr,
                                  struct at_err *e)
{
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    AT_TRY(at_store_provider_get(s, name, &p, e));
    json_t *o = json_object();
    json_t *pols = json_array();
    json_t *signers = json_array();
    at_status r = o != NULL && pols != NULL && signers != NULL ? at_ok() : nomem(e);
    if (at_is_ok(r)) {
        r = append(arr, o, e);
        o = NULL; /* owned by arr (or released) now */
    }
    json_t *po = json_array_get(arr, json_array_size(arr) - 1);
    if (at_is_ok(r)) {
        r = put(po, "name", json_string(p.name), e);
    }
    if (at_is_ok(r)) {
        r = put(po, "mode", json_string(p.mode == AT_MODE_ISOLATED ? "isolated" : "aad"), e);
    }
    if (at_is_ok(r)) {
        r = put(po, "alg", json_string(p.alg), e);
    }
    if (at_is_ok(r)) {
        r = put(po, "token_lifetime_s", json_integer(p.token_lifetime_s), e);
    }
    if (at_is_ok(r)) {
        r = put(po, "created_at", json_integer(p.created_at), e);
    }
    if (at_is_ok(r)) {
        r = put(po, "require_token", json_boolean(p.require_token_for_attestation), e);
    }
    if (at_is_ok(r)) {
        /* The provider's own network narrowing (issue 6), null when there is none. */
        char *nets = NULL;
        r = at_store_provider_networks_get(s, name, &nets, e);
        if (at_is_ok(r)) {
            r = put(po, "allowed_networks", nets != NULL ? json_string(nets) : json_null(), e);
        }
        free(nets);
    }
    if (at_is_ok(r)) {
        r = put(po, "signing_key", b64_string(p.signing_key, p.signing_key_len), e);
    }
    if (at_is_ok(r)) {
        r = put(po, "signing_cert", b64_string(p.signing_cert, p.signing_cert_len), e);
    }
    if (at_is_ok(r)) {
        r = collect_policies(s, name, pols, e);
    }
    if (at_is_ok(r)) {
        r = collect_signers(s, name, signers, e);
    }
    if (at_is_ok(r)) {
        r = put(po, "policies", pols, e);
        pols = NULL;
    }
    if (at_is_ok(r)) {
        r = put(po, "signer_certs", signers, e);
        signers = NULL;
    }
    json_decref(o);
    at_backup_doc_free(pols);
    json_decref(signers);
    at_provider_clear(&p);
    return r;
}

static at_status collect_roles(struct at_store *s, json_t *arr, struct at_err *e)
{
    struct at_role_assignment *ra = NULL;
    size_t n = 0;
    AT_TRY(at_store_role_list(s, NULL, &ra, &n, e));
    at_status r = at_ok();
    for (size_t i = 0; i < n && at_is_ok(r); i++) {
        r = append(arr,
                   json_pack("{s:s, s:s, s:s}", "principal", ra[i].principal, "role", ra[i].role,
                             "scope", ra[i].scope),
                   e);
    }
    free(ra);
    return r;
}

at_status at_backup_collect(struct at_store *s, const struct at_backup_meta *m, json_t **out,
                            struct at_err *e)
{
    json_t *doc = json_object();
    json_t *provs = json_array();
    json_t *roles = json_array();
    json_t *digest = json_object();
    at_status r =
        doc != NULL && provs != NULL && roles != NULL && digest != NULL ? at_ok() : nomem(e);
    char when[40] = "";
    at_time_format(m->now, when, sizeof(when));
    int64_t schema = 0;
    if (at_is_ok(r)) {
        r = at_store_schema_version(s, &schema, e);
    }
    if (at_is_ok(r)) {
        r = put(doc, "format", json_integer(AT_BACKUP_FORMAT), e);
    }
    if (at_is_ok(r)) {
        r = put(doc, "created_at", json_string(when), e);
    }
    if (at_is_ok(r)) {
        r = put(doc, "attestd_version", json_string(ATTESTD_VERSION), e);
    }
    if (at_is_ok(r)) {
        r = put(doc, "store_schema_version", json_integer(schema), e);
    }
    if (at_is_ok(r)) {
        r = put(doc, "collateral", json_string("not included"), e);
    }
    json_t *d = NULL;
    if (at_is_ok(r)) {
        r = file_digest(m->config_path, &d, e);
        if (at_is_ok(r)) {
            r = put(digest, "config", d, e);
        }
    }
    if (at_is_ok(r)) {
        r = file_digest(m->oidc_config_path, &d, e);
        if (at_is_ok(r)) {
            r = put(digest, "oidc_config", d, e);
        }
    }
    char **names = NULL;
    size_t n = 0;
    if (at_is_ok(r)) {
        r = at_store_provider_list(s, &names, &n, e);
        for (size_t i = 0; i < n && at_is_ok(r); i++) {
            r = collect_provider(s, names[i], provs, e);
        }
        at_store_strings_free(names, n);
    }
    if (at_is_ok(r)) {
        r = collect_roles(s, roles, e);
    }
    if (at_is_ok(r)) {
        r = put(doc, "config_digest", digest, e);
        digest = NULL;
    }
    if (at_is_ok(r)) {
        r = put(doc, "providers", provs, e);
        provs = NULL;
    }
    if (at_is_ok(r)) {
        r = put(doc, "role_assignments", roles, e);
        roles = NULL;
    }
    json_decref(digest);
    at_backup_doc_free(provs);
    json_decref(roles);
    if (!at_is_ok(r)) {
        at_backup_doc_free(doc);
        return r;
    }
    *out = doc;
    return at_ok();
}

/* ---------------------------------------------------------- schema checking */

#define SCHEMA_FAIL(e, path, ...) return schema_fail_((e), (path), __FILE__, __LINE__, __VA_ARGS__)

static at_status schema_fail_(struct at_err *e, const char *path, const char *file, int line,
                              const char *fmt, ...) AT_PRINTF(5, 6);

static at_status schema_fail_(struct at_err *e, const char *path, const char *file, int line,
                              const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return at_fail_(e, AT_E_BAD_VALUE, "backup_schema", file, line, "schema: %s: %s", path, msg);
}

static at_status want_string(const json_t *o, const char *key, const char *path, size_t max,
                             const char **out, struct at_err *e)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        SCHEMA_FAIL(e, path, "\"%s\" must be a string", key);
    }
    size_t n = json_string_length(v);
    if (n == 0 || n > max || strlen(json_string_value(v)) != n) {
        SCHEMA_FAIL(e, path, "\"%s\" is empty, too long or holds a NUL", key);
    }
    *out = json_string_value(v);
    return at_ok();
}

static at_status want_int(const json_t *o, const char *key, const char *path, json_int_t min,
                          json_int_t max, json_int_t *out, struct at_err *e)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        SCHEMA_FAIL(e, path, "\"%s\" must be an integer in %lld..%lld", key, (long long)min,
                    (long long)max);
    }
    *out = json_integer_value(v);
    return at_ok();
}

/* A base64url member decoding to 1..BLOB_MAX bytes; *der (heap) is optional. */
static at_status want_b64(const json_t *v, const char *path, const char *what, bool secret,
                          uint8_t **der, size_t *len, struct at_err *e)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 2 * BLOB_MAX) {
        SCHEMA_FAIL(e, path, "\"%s\" must be a base64url string", what);
    }
    uint8_t *b = NULL;
    size_t n = 0;
    struct at_err de;
    at_err_init(&de);
    at_status s =
        secret ? at_b64_decode_any(json_string_value(v), json_string_length(v), &b, &n, &de)
               : at_b64_decode_public(json_string_value(v), json_string_length(v), &b, &n, &de);
    if (!at_is_ok(s) || n == 0 || n > BLOB_MAX) {
        at_free_secret(b, n);
        SCHEMA_FAIL(e, path, "\"%s\" is not valid base64url of 1..%zu bytes", what, BLOB_MAX);
    }
    if (der != NULL) {
        *der = b;
        *len = n;
    } else {
        at_free_secret(b, n);
    }
    return at_ok();
}

static at_status want_cert(const json_t *v, const char *path, const char *what, struct at_err *e)
{
    uint8_t *der = NULL;
    size_t n = 0;
    AT_TRY(want_b64(v, path, what, false, &der, &n, e));
    const unsigned char *p = der;
    X509 *x = n <= (size_t)INT32_MAX ? d2i_X509(NULL, &p, (long)n) : NULL;
    bool ok = x != NULL && p == der + n;
    X509_free(x);
    free(der);
    if (!ok) {
        SCHEMA_FAIL(e, path, "\"%s\" is not a DER X.509 certificate", what);
    }
    return at_ok();
}

static bool type_name_ok(const char *t)
{
    size_t i = 0;
    for (; t[i] != '\0'; i++) {
        char c = t[i];
        if (i >= TYPE_NAME_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return i > 0;
}

static at_status check_policy(const json_t *pol, const char *path, struct at_err *e)
{
    if (!json_is_object(pol)) {
        SCHEMA_FAIL(e, path, "must be an object");
    }
    const char *type = NULL, *hash = NULL;
    AT_TRY(want_string(pol, "type", path, TYPE_NAME_MAX, &type, e));
    if (!type_name_ok(type)) {
        SCHEMA_FAIL(e, path, "invalid attestation type name");
    }
    uint8_t *text = NULL;
    size_t text_len = 0;
    AT_TRY(want_b64(json_object_get(pol, "text"), path, "text", false, &text, &text_len, e));
    const json_t *jws = json_object_get(pol, "jws");
    at_status s = at_ok();
    if (!json_is_null(jws) && !(json_is_string(jws) && json_string_length(jws) > 0 &&
                                json_string_length(jws) <= 2 * BLOB_MAX &&
                                strlen(json_string_value(jws)) == json_string_length(jws))) {
        s = schema_fail_(e, path, __FILE__, __LINE__, "\"jws\" must be a string or null");
    }
    if (at_is_ok(s)) {
        s = want_string(pol, "hash", path, 47, &hash, e);
    }
    char want[48];
    if (at_is_ok(s)) {
        s = at_backup_policy_hash((const char *)text, text_len,
                                  json_is_string(jws) ? json_string_value(jws) : NULL, want, e);
    }
    const char *ph = NULL;
    if (at_is_ok(s)) {
        s = want_string(pol, "policy_hash", path, 43, &ph, e);
    }
    char want_ph[44];
    if (at_is_ok(s)) {
        s = at_policy_hash((const char *)text, text_len, want_ph, e);
    }
    free(text);
    AT_TRY(s);
    if (strcmp(want, hash) != 0) {
        SCHEMA_FAIL(e, path, "\"hash\" does not match the policy");
    }
    if (strcmp(want_ph, ph) != 0) {
        SCHEMA_FAIL(e, path, "\"policy_hash\" does not match the policy");
    }
    return at_ok();
}

static at_status check_provider(const json_t *p, const char *path, struct at_backup_counts *c,
                                struct at_err *e)
{
    if (!json_is_object(p)) {
        SCHEMA_FAIL(e, path, "must be an object");
    }
    const char *name = NULL, *mode = NULL, *alg = NULL;
    AT_TRY(want_string(p, "name", path, AT_PROVIDER_NAME_MAX, &name, e));
    if (!at_store_provider_name_valid(name)) {
        SCHEMA_FAIL(e, path, "invalid provider name");
    }
    AT_TRY(want_string(p, "mode", path, 16, &mode, e));
    if (strcmp(mode, "aad") != 0 && strcmp(mode, "isolated") != 0) {
        SCHEMA_FAIL(e, path, "\"mode\" must be \"aad\" or \"isolated\"");
    }
    AT_TRY(want_string(p, "alg", path, 7, &alg, e));
    if (strcmp(alg, "RS256") != 0 && strcmp(alg, "PS256") != 0 && strcmp(alg, "ES256") != 0) {
        SCHEMA_FAIL(e, path, "\"alg\" must be RS256, PS256 or ES256");
    }
    json_int_t v;
    AT_TRY(want_int(p, "token_lifetime_s", path, 1, (json_int_t)366 * 86400, &v, e));
    AT_TRY(want_int(p, "created_at", path, 0, (json_int_t)253402300799, &v, e));
    if (!json_is_boolean(json_object_get(p, "require_token"))) {
        SCHEMA_FAIL(e, path, "\"require_token\" must be a boolean");
    }
    /* Optional (backups made before issue 6 lack it): a CIDR list or null. */
    const json_t *nets = json_object_get(p, "allowed_networks");
    if (nets != NULL && !json_is_null(nets) &&
        (!json_is_string(nets) || json_string_length(nets) == 0 ||
         json_string_length(nets) > 4096 ||
         strspn(json_string_value(nets), "0123456789abcdefABCDEF.:/, ") !=
             json_string_length(nets))) {
        SCHEMA_FAIL(e, path, "\"allowed_networks\" must be a CIDR list or null");
    }
    AT_TRY(want_b64(json_object_get(p, "signing_key"), path, "signing_key", true, NULL, NULL, e));
    AT_TRY(want_cert(json_object_get(p, "signing_cert"), path, "signing_cert", e));
    const json_t *pols = json_object_get(p, "policies");
    const json_t *signers = json_object_get(p, "signer_certs");
    if (!json_is_array(pols) || !json_is_array(signers)) {
        SCHEMA_FAIL(e, path, "\"policies\" and \"signer_certs\" must be arrays");
    }
    char sub[160];
    for (size_t i = 0; i < json_array_size(pols); i++) {
        snprintf(sub, sizeof(sub), "%s.policies[%zu]", path, i);
        AT_TRY(check_policy(json_array_get(pols, i), sub, e));
        const char *t = json_string_value(json_object_get(json_array_get(pols, i), "type"));
        for (size_t j = 0; t != NULL && j < i; j++) {
            if (strcmp(t, json_string_value(json_object_get(json_array_get(pols, j), "type"))) ==
                0) {
                SCHEMA_FAIL(e, sub, "duplicate attestation type");
            }
        }
        c->policies++;
    }
    if (strcmp(mode, "aad") == 0 && json_array_size(signers) > 0) {
        SCHEMA_FAIL(e, path, "an aad provider has no signer certificates");
    }
    for (size_t i = 0; i < json_array_size(signers); i++) {
        snprintf(sub, sizeof(sub), "%s.signer_certs[%zu]", path, i);
        AT_TRY(want_cert(json_array_get(signers, i), sub, "certificate", e));
        c->signers++;
    }
    return at_ok();
}

static at_status check_role(const json_t *r, const char *path, struct at_err *e)
{
    if (!json_is_object(r)) {
        SCHEMA_FAIL(e, path, "must be an object");
    }
    const char *principal = NULL, *role = NULL, *scope = NULL;
    AT_TRY(want_string(r, "principal", path, PRINCIPAL_MAX, &principal, e));
    AT_TRY(want_string(r, "role", path, 15, &role, e));
    AT_TRY(want_string(r, "scope", path, AT_PROVIDER_NAME_MAX, &scope, e));
    if (strcmp(role, "Reader") != 0 && strcmp(role, "Contributor") != 0 &&
        strcmp(role, "Owner") != 0) {
        SCHEMA_FAIL(e, path, "\"role\" must be Reader, Contributor or Owner");
    }
    if (strcmp(scope, "*") != 0 && !at_store_provider_name_valid(scope)) {
        SCHEMA_FAIL(e, path, "\"scope\" must be \"*\" or a provider name");
    }
    return at_ok();
}

at_status at_backup_check_doc(const json_t *doc, struct at_backup_counts *out, struct at_err *e)
{
    struct at_backup_counts c;
    memset(&c, 0, sizeof(c));
    if (!json_is_object(doc)) {
        SCHEMA_FAIL(e, "$", "the document must be an object");
    }
    json_int_t v;
    AT_TRY(want_int(doc, "format", "$", AT_BACKUP_FORMAT, AT_BACKUP_FORMAT, &v, e));
    const char *s = NULL;
    AT_TRY(want_string(doc, "created_at", "$", 64, &s, e));
    int64_t t;
    struct at_err te;
    at_err_init(&te);
    if (!at_is_ok(at_time_parse(s, strlen(s), &t, &te))) {
        SCHEMA_FAIL(e, "$", "\"created_at\" is not an RFC 3339 time");
    }
    AT_TRY(want_string(doc, "attestd_version", "$", 64, &s, e));
    AT_TRY(want_int(doc, "store_schema_version", "$", 1, 1000000, &v, e));
    const json_t *dg = json_object_get(doc, "config_digest");
    if (!json_is_object(dg)) {
        SCHEMA_FAIL(e, "$", "\"config_digest\" must be an object");
    }
    static const char *const dkeys[] = {"config", "oidc_config"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *d = json_object_get(dg, dkeys[i]);
        if (!json_is_null(d) && !(json_is_string(d) && json_string_length(d) == 64)) {
            SCHEMA_FAIL(e, "$.config_digest", "\"%s\" must be null or 64 hex digits", dkeys[i]);
        }
    }
    const json_t *provs = json_object_get(doc, "providers");
    const json_t *roles = json_object_get(doc, "role_assignments");
    if (!json_is_array(provs) || !json_is_array(roles)) {
        SCHEMA_FAIL(e, "$", "\"providers\" and \"role_assignments\" must be arrays");
    }
    char path[64];
    for (size_t i = 0; i < json_array_size(provs); i++) {
        snprintf(path, sizeof(path), "providers[%zu]", i);
        AT_TRY(check_provider(json_array_get(provs, i), path, &c, e));
        const char *n = json_string_value(json_object_get(json_array_get(provs, i), "name"));
        for (size_t j = 0; j < i; j++) {
            if (strcmp(n, json_string_value(json_object_get(json_array_get(provs, j), "name"))) ==
                0) {
                SCHEMA_FAIL(e, path, "duplicate provider name");
            }
        }
        c.providers++;
    }
    for (size_t i = 0; i < json_array_size(roles); i++) {
        snprintf(path, sizeof(path), "role_assignments[%zu]", i);
        AT_TRY(check_role(json_array_get(roles, i), path, e));
        c.roles++;
    }
    if (out != NULL) {
        *out = c;
    }
    return at_ok();
}

at_status at_backup_parse_doc(const uint8_t *text, size_t len, json_t **out, struct at_err *e)
{
    json_error_t je;
    json_t *doc = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) {
        /* Not je.text: it may quote bytes of the (secret) document. */
        AT_FAIL(e, AT_E_PARSE, "backup_json", "json: invalid document (line %d, column %d)",
                je.line, je.column);
    }
    at_status s = at_backup_check_doc(doc, NULL, e);
    if (!at_is_ok(s)) {
        at_backup_doc_free(doc);
        return s;
    }
    *out = doc;
    return at_ok();
}
