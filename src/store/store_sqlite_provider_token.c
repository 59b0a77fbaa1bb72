/*
 * The SQLite store: a provider's require_token_for_attestation flag (MAA's
 * tpmAttestationAuthentication, generalised to every attestation type). The column is
 * added by migration 3 in store_sqlite.c; at_store_provider_create and
 * at_store_provider_get carry it in struct at_provider, this file sets it and reads it
 * alone for the attestation hot path.
 */
#include "store/store_sqlite_int.h"

struct require_args {
    const char *name;
    bool require;
};

static at_status require_update(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct require_args *a = arg;
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s,
                       "UPDATE providers SET require_token = ?, version = version + 1"
                       " WHERE name = ?",
                       &st, e));
    at_status r = at_sql_bind_int(s, st, 1, a->require ? 1 : 0, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 2, a->name, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "set require_token", e);
    }
    sqlite3_finalize(st);
    AT_TRY(r);
    AT_ENSURE(sqlite3_changes(s->db) > 0, e, AT_E_NOT_FOUND, "provider", "provider '%s' not found",
              a->name);
    return at_ok();
}

at_status at_store_provider_set_require_token(struct at_store *s, const char *name, bool require,
                                              struct at_err *e)
{
    AT_ENSURE(s != NULL, e, AT_E_USAGE, "store", "no store");
    AT_TRY(at_sql_check_name(name, e));
    struct require_args a = {name, require};
    return at_sql_write_tx(s, require_update, &a, e);
}

at_status at_store_provider_require_token(struct at_store *s, const char *name, bool *out,
                                          struct at_err *e)
{
    AT_ENSURE(s != NULL && out != NULL, e, AT_E_USAGE, "store", "no store or output");
    AT_TRY(at_sql_check_name(name, e));
    at_sql_lock(s);
    sqlite3_stmt *st = NULL;
    bool v = false;
    at_status r = at_sql_prep(s, "SELECT require_token FROM providers WHERE name = ?", &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, name, e);
    }
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0) != 0;
        } else if (rc == SQLITE_DONE) {
            r = at_fail_(e, AT_E_NOT_FOUND, "provider", __FILE__, __LINE__,
                         "provider '%s' not found", name);
        } else {
            r = at_sql_err(s, e, "read require_token");
        }
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    AT_TRY(r);
    *out = v;
    return at_ok();
}
