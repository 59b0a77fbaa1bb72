/* The SQLite store: removing a signer certificate (management plane, maa-api.md §2.6). */
#include "store/store_sqlite_int.h"

#include <string.h>

struct signer_rm_args {
    const char *provider;
    const uint8_t *der;
    size_t len;
    uint8_t *sha256; /* [AT_CRYPT_INDEX_LEN] the keyed blind index, filled in the transaction */
    bool keep_last;
    bool *removed;
};

/* Number of rows `sql` (provider, sha256 bound as 1, 2) counts. */
static at_status count_rows(struct at_store *s, const char *sql, const struct signer_rm_args *a,
                            bool bind_hash, int64_t *out, struct at_err *e)
{
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, sql, &st, e));
    at_status r = at_sql_bind_text(s, st, 1, a->provider, e);
    if (at_is_ok(r) && bind_hash) {
        r = at_sql_bind_blob(s, st, 2, a->sha256, AT_CRYPT_INDEX_LEN, e);
    }
    if (at_is_ok(r)) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
        } else {
            r = at_sql_err(s, e, "count signer certificates");
        }
    }
    sqlite3_finalize(st);
    return r;
}

static at_status signer_delete(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct signer_rm_args *a = arg;
    /* Also the provider-exists check (AT_E_NOT_FOUND). */
    AT_TRY(at_sql_bump_version(s, a->provider, e));
    AT_TRY(at_crypt_index(s, AT_INDEX_SIGNER, a->der, a->len, a->sha256, e));
    int64_t present = 0, total = 0;
    AT_TRY(count_rows(s, "SELECT count(*) FROM signer_certs WHERE provider = ? AND sha256 = ?", a,
                      true, &present, e));
    if (present == 0) {
        *a->removed = false;
        return at_ok();
    }
    AT_TRY(
        count_rows(s, "SELECT count(*) FROM signer_certs WHERE provider = ?", a, false, &total, e));
    AT_ENSURE(!a->keep_last || total > 1, e, AT_E_BAD_VALUE, "signer_last",
              "cannot remove the last policy management certificate of provider '%s'", a->provider);
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, "DELETE FROM signer_certs WHERE provider = ? AND sha256 = ?", &st, e));
    at_status r = at_sql_bind_text(s, st, 1, a->provider, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 2, a->sha256, AT_CRYPT_INDEX_LEN, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "delete signer certificate", e);
    }
    sqlite3_finalize(st);
    AT_TRY(r);
    *a->removed = true;
    return at_ok();
}

at_status at_store_signer_remove(struct at_store *s, const char *provider, const uint8_t *der,
                                 size_t len, bool keep_last, bool *removed, struct at_err *e)
{
    AT_TRY(at_sql_check_name(provider, e));
    AT_ENSURE(der != NULL && len > 0, e, AT_E_BAD_VALUE, "signer_cert", "empty certificate");
    AT_ENSURE(len <= AT_SQL_BLOB_MAX, e, AT_E_LIMIT, "signer_cert", "certificate too large");
    bool r = false;
    uint8_t index[AT_CRYPT_INDEX_LEN];
    struct signer_rm_args a = {provider, der, len, index, keep_last, &r};
    AT_TRY(at_sql_write_tx(s, signer_delete, &a, e));
    *removed = r;
    return at_ok();
}
