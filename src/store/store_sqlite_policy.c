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
    sqlite3_stmt *st;
    AT_TRY(
        at_sql_prep(s,
                    "INSERT INTO policies(provider, type, text, jws, updated_at) VALUES (?,?,?,?,?)"
                    " ON CONFLICT(provider, type) DO UPDATE SET text = excluded.text,"
                    " jws = excluded.jws, updated_at = excluded.updated_at",
                    &st, e));
    at_status r = at_sql_bind_text(s, st, 1, a->provider, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 2, a->type, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 3, a->text, a->text_len, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 4, a->jws, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 5, at_time_now(), e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "store policy", e);
    }
    sqlite3_finalize(st);
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
            r = at_sql_column_dup(s, st, 0, &t, &rec.text_len, e);
            if (at_is_ok(r)) {
                rec.text = (char *)t;
            }
            if (at_is_ok(r) && sqlite3_column_type(st, 1) != SQLITE_NULL) {
                size_t jl;
                r = at_sql_column_dup(s, st, 1, &t, &jl, e);
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
    uint8_t sha256[AT_SHA256_LEN];
};

static at_status signer_insert(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct signer_args *a = arg;
    AT_TRY(at_sql_bump_version(s, a->provider, e));
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(
        s, "INSERT INTO signer_certs(provider, der, sha256, added_at) VALUES (?,?,?,?)", &st, e));
    at_status r = at_sql_bind_text(s, st, 1, a->provider, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 2, a->der, a->len, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 3, a->sha256, sizeof(a->sha256), e);
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
    return r;
}

at_status at_store_signer_add(struct at_store *s, const char *provider, const uint8_t *der,
                              size_t len, struct at_err *e)
{
    AT_TRY(at_sql_check_name(provider, e));
    AT_ENSURE(der != NULL && len > 0, e, AT_E_BAD_VALUE, "signer_cert", "empty certificate");
    AT_ENSURE(len <= AT_SQL_BLOB_MAX, e, AT_E_LIMIT, "signer_cert", "certificate too large");
    struct signer_args a = {provider, der, len, {0}};
    if (at_sha256(der, len, a.sha256) != 0) {
        return at_sql_nomem(e);
    }
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

static at_status collect_ders(struct at_store *s, sqlite3_stmt *st, uint8_t ***ders, size_t **lens,
                              size_t *count, struct at_err *e)
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
        r = at_sql_column_dup(s, st, 0, &v[n], &l[n], e);
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
        r = at_sql_prep(s, "SELECT der FROM signer_certs WHERE provider = ? ORDER BY rowid", &st,
                        e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, provider, e);
    }
    if (at_is_ok(r)) {
        r = collect_ders(s, st, ders, lens, count, e);
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    return r;
}
