/* The SQLite store: policies per (provider, attestation type) and signer certificates. */
#include "base/limits.h"
#include "base/timeutil.h"
#include "crypto/digest.h"
#include "store/store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

struct policy_args {
    const char *provider;
    const char *type;
    const char *text;
    size_t text_len;
    const char *jws;
};

static at_status policy_upsert(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct policy_args *a = arg;
    AT_TRY(at_sql_bump_version(s, a->provider, e));
    struct at_aad at, aj;
    at_aad_text(&at, "policies", "text", a->provider, a->type, NULL);
    at_aad_text(&aj, "policies", "jws", a->provider, a->type, NULL);
    uint8_t *text = NULL, *jws = NULL;
    size_t text_len = 0, jws_len = 0;
    AT_TRY(at_crypt_seal(s, &at, (const uint8_t *)a->text, a->text_len, &text, &text_len, e));
    at_status r = a->jws == NULL ? at_ok()
                                 : at_crypt_seal(s, &aj, (const uint8_t *)a->jws, strlen(a->jws),
                                                 &jws, &jws_len, e);
    sqlite3_stmt *st = NULL;
    r = !at_is_ok(r) ? r
                     : at_sql_prep(s,
                    "INSERT INTO policies(provider, type, text, jws, updated_at) VALUES (?,?,?,?,?)"
                    " ON CONFLICT(provider, type) DO UPDATE SET text = excluded.text,"
                    " jws = excluded.jws, updated_at = excluded.updated_at",
                    &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, a->provider, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 2, a->type, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 3, text, text_len, e);
    }
    if (at_is_ok(r)) {
        r = jws != NULL ? at_sql_bind_blob(s, st, 4, jws, jws_len, e)
                        : at_sql_bind_text(s, st, 4, NULL, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 5, at_time_now(), e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "store policy", e);
    }
    sqlite3_finalize(st);
    free(text);
    free(jws);
    return r;
}

at_status at_store_policy_set(struct at_store *s, const char *provider, const char *type,
                              const char *text, size_t text_len, const char *jws, struct at_err *e)
{
    AT_TRY(at_sql_check_name(provider, e));
    AT_TRY(at_sql_check_type(type, e));
    AT_ENSURE(text != NULL || text_len == 0, e, AT_E_BAD_VALUE, "policy", "no policy text");
    AT_ENSURE(text_len <= (size_t)AT_LIMIT_POLICY_BYTES, e, AT_E_LIMIT, "policy",
              "policy is larger than %u bytes", AT_LIMIT_POLICY_BYTES);
    AT_ENSURE(jws == NULL || strlen(jws) <= 2 * (size_t)AT_LIMIT_POLICY_BYTES, e, AT_E_LIMIT,
              "policy", "policy JWS too large");
    struct policy_args a = {provider, type, text, text_len, jws};
    return at_sql_write_tx(s, policy_upsert, &a, e);
}

void at_policy_record_clear(struct at_policy_record *r)
{
    if (r == NULL) {
        return;
    }
    free(r->text);
    free(r->jws);
    memset(r, 0, sizeof(*r));
}

at_status at_store_policy_get(struct at_store *s, const char *provider, const char *type,
                              struct at_policy_record *out, struct at_err *e)
{
    AT_TRY(at_sql_check_name(provider, e));
    AT_TRY(at_sql_check_type(type, e));
    struct at_policy_record rec;
    memset(&rec, 0, sizeof(rec));
    at_sql_lock(s);
    sqlite3_stmt *st;
    at_status r = at_sql_prep(
        s, "SELECT text, jws, updated_at FROM policies WHERE provider = ? AND type = ?", &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, provider, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 2, type, e);
    }
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            uint8_t *t;
            struct at_aad at, aj;
            at_aad_text(&at, "policies", "text", provider, type, NULL);
            at_aad_text(&aj, "policies", "jws", provider, type, NULL);
            r = at_crypt_column(s, st, 0, &at, &t, &rec.text_len, e);
            if (at_is_ok(r)) {
                rec.text = (char *)t;
            }
            if (at_is_ok(r) && sqlite3_column_type(st, 1) != SQLITE_NULL) {
                size_t jl;
                r = at_crypt_column(s, st, 1, &aj, &t, &jl, e);
                if (at_is_ok(r)) {
                    rec.jws = (char *)t;
                }
            }
            rec.updated_at = sqlite3_column_int64(st, 2);
        } else if (rc == SQLITE_DONE) {
            r = at_fail_(e, AT_E_NOT_FOUND, "policy", __FILE__, __LINE__,
                         "no %s policy stored for provider '%s'", type, provider);
        } else {
            r = at_sql_err(s, e, "read policy");
        }
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    if (!at_is_ok(r)) {
        at_policy_record_clear(&rec);
        return r;
    }
    *out = rec;
    return at_ok();
}

static at_status policy_remove(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct policy_args *a = arg;
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, "DELETE FROM policies WHERE provider = ? AND type = ?", &st, e));
    at_status r = at_sql_bind_text(s, st, 1, a->provider, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 2, a->type, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "reset policy", e);
    }
    sqlite3_finalize(st);
    AT_TRY(r);
    /* Resetting to the default is idempotent, but the provider must exist; a deleted
       row is a change to the provider (its version moves). */
    return at_sql_bump_version(s, a->provider, e);
}

at_status at_store_policy_reset(struct at_store *s, const char *provider, const char *type,
                                struct at_err *e)
{
    AT_TRY(at_sql_check_name(provider, e));
    AT_TRY(at_sql_check_type(type, e));
    struct policy_args a = {provider, type, NULL, 0, NULL};
    return at_sql_write_tx(s, policy_remove, &a, e);
}

/* Fails with AT_E_NOT_FOUND if the provider does not exist. */
static at_status provider_must_exist(struct at_store *s, const char *name, struct at_err *e)
{
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, "SELECT 1 FROM providers WHERE name = ?", &st, e));
    at_status r = at_sql_bind_text(s, st, 1, name, e);
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = at_fail_(e, AT_E_NOT_FOUND, "provider", __FILE__, __LINE__,
                         "provider '%s' not found", name);
        } else if (rc != SQLITE_ROW) {
            r = at_sql_err(s, e, "read provider");
        }
    }
    sqlite3_finalize(st);
    return r;
}

at_status at_store_policy_list(struct at_store *s, const char *provider, char ***types,
                               size_t *count, struct at_err *e)
{
    AT_TRY(at_sql_check_name(provider, e));
    at_sql_lock(s);
    at_status r = provider_must_exist(s, provider, e);
    sqlite3_stmt *st = NULL;
    if (at_is_ok(r)) {
        r = at_sql_prep(s, "SELECT type FROM policies WHERE provider = ? ORDER BY type", &st, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, provider, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_collect_strings(s, st, types, count, e);
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    return r;
}

/* ------------------------------------------------------------ signer certs */

struct signer_args {
    const char *provider;
    const uint8_t *der;
    size_t len;
};

/* The associated data of signer_certs.der: (provider, blind index of the DER). */
void at_sql_signer_aad(struct at_aad *a, const char *provider, const uint8_t *index)
{
    at_aad_text(a, "signer_certs", "der", provider, NULL, NULL);
    a->id[1] = index;
    a->id_len[1] = AT_CRYPT_INDEX_LEN;
    a->n = 2;
}

static at_status signer_insert(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct signer_args *a = arg;
    AT_TRY(at_sql_bump_version(s, a->provider, e));
    /* The uniqueness column holds a keyed blind index, not an unkeyed fingerprint. */
    uint8_t index[AT_CRYPT_INDEX_LEN];
    AT_TRY(at_crypt_index(s, AT_INDEX_SIGNER, a->der, a->len, index, e));
    struct at_aad aad;
    at_sql_signer_aad(&aad, a->provider, index);
    uint8_t *der = NULL;
    size_t der_len = 0;
    AT_TRY(at_crypt_seal(s, &aad, a->der, a->len, &der, &der_len, e));
    sqlite3_stmt *st = NULL;
    at_status r = at_sql_prep(
        s, "INSERT INTO signer_certs(provider, der, sha256, added_at) VALUES (?,?,?,?)", &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, a->provider, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 2, der, der_len, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 3, index, sizeof(index), e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 4, at_time_now(), e);
    }
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_UNIQUE) {
            r = at_fail_(e, AT_E_BAD_VALUE, "signer_exists", __FILE__, __LINE__,
                         "provider '%s' already has this signer certificate", a->provider);
        } else if (rc != SQLITE_DONE) {
            r = at_sql_err(s, e, "insert signer certificate");
        }
    }
    sqlite3_finalize(st);
    free(der);
    return r;
}

at_status at_store_signer_add(struct at_store *s, const char *provider, const uint8_t *der,
                              size_t len, struct at_err *e)
{
    AT_TRY(at_sql_check_name(provider, e));
    AT_ENSURE(der != NULL && len > 0, e, AT_E_BAD_VALUE, "signer_cert", "empty certificate");
    AT_ENSURE(len <= AT_SQL_BLOB_MAX, e, AT_E_LIMIT, "signer_cert", "certificate too large");
    struct signer_args a = {provider, der, len};
    return at_sql_write_tx(s, signer_insert, &a, e);
}

void at_store_signers_free(uint8_t **v, size_t *lens, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i]);
    }
    free(v);
    free(lens);
}

static at_status collect_ders(struct at_store *s, sqlite3_stmt *st, const char *provider,
                              uint8_t ***ders, size_t **lens, size_t *count, struct at_err *e)
{
    uint8_t **v = NULL;
    size_t *l = NULL, n = 0, cap = 0;
    at_status r = at_ok();
    int rc;
    while (at_is_ok(r) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 4 : cap * 2;
            uint8_t **nv = realloc(v, ncap * sizeof(*nv));
            if (nv != NULL) {
                v = nv;
            }
            size_t *nl = nv != NULL ? realloc(l, ncap * sizeof(*nl)) : NULL;
            if (nl == NULL) {
                r = at_sql_nomem(e);
                break;
            }
            l = nl;
            cap = ncap;
        }
        if (sqlite3_column_bytes(st, 1) != AT_CRYPT_INDEX_LEN) {
            r = at_fail_(e, AT_E_IO, "store", __FILE__, __LINE__,
                         "store: signer certificate row is malformed");
            break;
        }
        struct at_aad aad;
        at_sql_signer_aad(&aad, provider, sqlite3_column_blob(st, 1));
        r = at_crypt_column(s, st, 0, &aad, &v[n], &l[n], e);
        if (at_is_ok(r)) {
            n++;
        }
    }
    if (at_is_ok(r) && rc != SQLITE_DONE) {
        r = at_sql_err(s, e, "list signer certificates");
    }
    if (!at_is_ok(r)) {
        at_store_signers_free(v, l, n);
        return r;
    }
    *ders = v;
    *lens = l;
    *count = n;
    return at_ok();
}

at_status at_store_signer_list(struct at_store *s, const char *provider, uint8_t ***ders,
                               size_t **lens, size_t *count, struct at_err *e)
{
    AT_TRY(at_sql_check_name(provider, e));
    at_sql_lock(s);
    at_status r = provider_must_exist(s, provider, e);
    sqlite3_stmt *st = NULL;
    if (at_is_ok(r)) {
        r = at_sql_prep(s, "SELECT der, sha256 FROM signer_certs WHERE provider = ? ORDER BY rowid", &st,
                        e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, provider, e);
    }
    if (at_is_ok(r)) {
        r = collect_ders(s, st, provider, ders, lens, count, e);
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    return r;
}
