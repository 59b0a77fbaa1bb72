/*
 * The keys of the stored DCAP collateral (tee, FMSPC, PCK CA), for the collateral-expiry
 * metric and alert (monitor/collateral_expiry.c reads each bundle through
 * at_store_collateral_get, so digests are checked as on the attestation path).
 */
#include "store/store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define LIST_MAX 4096u

at_status at_store_collateral_list(struct at_store *s, struct at_collateral_key **out,
                                   size_t *count, struct at_err *e)
{
    *out = NULL;
    *count = 0;
    struct at_collateral_key *keys = NULL;
    size_t n = 0, cap = 0;
    at_sql_lock(s);
    sqlite3_stmt *st = NULL;
    at_status r = at_sql_prep(s, "SELECT tee, fmspc, ca FROM collateral ORDER BY tee, fmspc, ca",
                              &st, e);
    while (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            r = at_sql_err(s, e, "list collateral");
            break;
        }
        const char *tee = (const char *)sqlite3_column_text(st, 0);
        const char *ca = (const char *)sqlite3_column_text(st, 2);
        if (tee == NULL || ca == NULL || sqlite3_column_bytes(st, 1) != 6 ||
            strlen(tee) >= sizeof(keys[0].tee) || strlen(ca) >= sizeof(keys[0].ca)) {
            r = at_fail_(e, AT_E_IO, "store", __FILE__, __LINE__,
                         "store: collateral key row is malformed");
            break;
        }
        if (n == LIST_MAX) {
            break; /* bounded: the metric is capped anyway */
        }
        if (n == cap) {
            size_t nc = cap == 0 ? 16 : cap * 2;
            struct at_collateral_key *nk = realloc(keys, nc * sizeof(*nk));
            if (nk == NULL) {
                r = at_sql_nomem(e);
                break;
            }
            keys = nk;
            cap = nc;
        }
        memset(&keys[n], 0, sizeof(keys[n]));
        memcpy(keys[n].tee, tee, strlen(tee));
        memcpy(keys[n].fmspc, sqlite3_column_blob(st, 1), 6);
        memcpy(keys[n].ca, ca, strlen(ca));
        n++;
    }
    if (st != NULL) {
        sqlite3_finalize(st);
    }
    at_sql_unlock(s);
    if (!at_is_ok(r)) {
        free(keys);
        return r;
    }
    *out = keys;
    *count = n;
    return at_ok();
}
