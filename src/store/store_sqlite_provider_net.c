/*
 * The SQLite store: a provider's allowed_networks (issue 6), a CIDR list that narrows
 * the daemon-wide network access for that provider's routes. The column is added by
 * the "network access" migration in store_sqlite.c; NULL means no narrowing. The list
 * is sealed like every content column (store_crypt.h: it maps a tenant's network).
 */
#include "base/secure.h"
#include "store/store_crypt.h"
#include "store/store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

struct net_args {
    const char *name;
    const char *cidrs; /* NULL or "": clear */
};

static at_status net_update(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct net_args *a = arg;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    bool clear = a->cidrs == NULL || a->cidrs[0] == '\0';
    if (!clear) {
        struct at_aad aad;
        at_aad_text(&aad, "providers", "allowed_networks", a->name, NULL, NULL);
        AT_TRY(at_crypt_seal(s, &aad, (const uint8_t *)a->cidrs, strlen(a->cidrs), &sealed,
                             &sealed_len, e));
    }
    sqlite3_stmt *st = NULL;
    at_status r = at_sql_prep(s,
                              "UPDATE providers SET allowed_networks = ?, version = version + 1"
                              " WHERE name = ?",
                              &st, e);
    if (at_is_ok(r)) {
        r = clear ? (sqlite3_bind_null(st, 1) == SQLITE_OK ? at_ok() : at_sql_err(s, e, "bind"))
                  : at_sql_bind_blob(s, st, 1, sealed, sealed_len, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 2, a->name, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "set allowed_networks", e);
    }
    sqlite3_finalize(st);
    free(sealed);
    AT_TRY(r);
    AT_ENSURE(sqlite3_changes(s->db) > 0, e, AT_E_NOT_FOUND, "provider", "provider '%s' not found",
              a->name);
    return at_ok();
}

at_status at_store_provider_networks_set(struct at_store *s, const char *name, const char *cidrs,
                                         struct at_err *e)
{
    AT_ENSURE(s != NULL, e, AT_E_USAGE, "store", "no store");
    AT_TRY(at_sql_check_name(name, e));
    AT_ENSURE(cidrs == NULL || strlen(cidrs) <= 4096, e, AT_E_LIMIT, "provider_networks",
              "allowed_networks longer than 4096 bytes");
    struct net_args a = {name, cidrs};
    return at_sql_write_tx(s, net_update, &a, e);
}

at_status at_store_provider_networks_get(struct at_store *s, const char *name, char **out,
                                         struct at_err *e)
{
    AT_ENSURE(s != NULL && out != NULL, e, AT_E_USAGE, "store", "no store or output");
    AT_TRY(at_sql_check_name(name, e));
    *out = NULL;
    at_sql_lock(s);
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    at_status r = at_sql_prep(s, "SELECT allowed_networks FROM providers WHERE name = ?", &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, name, e);
    }
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
                struct at_aad aad;
                at_aad_text(&aad, "providers", "allowed_networks", name, NULL, NULL);
                uint8_t *t = NULL;
                size_t tl = 0;
                r = at_crypt_column(s, st, 0, &aad, &t, &tl, e);
                if (at_is_ok(r)) {
                    v = (char *)t;
                }
            }
        } else if (rc == SQLITE_DONE) {
            r = at_fail_(e, AT_E_NOT_FOUND, "provider", __FILE__, __LINE__,
                         "provider '%s' not found", name);
        } else {
            r = at_sql_err(s, e, "read allowed_networks");
        }
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    if (!at_is_ok(r)) {
        free(v);
        return r;
    }
    *out = v;
    return at_ok();
}
