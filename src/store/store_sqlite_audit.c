/*
 * The SQLite store: the audit log's chain head (table audit_head, added by the audit
 * migration in store_sqlite.c). Written by the audit writer thread after each durable
 * batch and read at start and by `attestctl audit verify --data-dir` (docs/audit-log.md).
 */
#include "store/store_sqlite_int.h"

#include <string.h>

#define CHAIN_NAME_MAX 64u

static at_status check_chain(const char *chain, struct at_err *e)
{
    AT_ENSURE(chain != NULL && chain[0] != '\0' && strlen(chain) <= CHAIN_NAME_MAX, e,
              AT_E_BAD_VALUE, "audit_chain", "bad audit chain name");
    return at_ok();
}

at_status at_store_audit_head_get(struct at_store *s, const char *chain, uint64_t *seq,
                                  uint8_t hash[32], struct at_err *e)
{
    AT_ENSURE(s != NULL && seq != NULL && hash != NULL, e, AT_E_USAGE, "store",
              "no store or output");
    AT_TRY(check_chain(chain, e));
    at_sql_lock(s);
    sqlite3_stmt *st = NULL;
    at_status r = at_sql_prep(s, "SELECT seq, hash FROM audit_head WHERE chain = ?", &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, chain, e);
    }
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            int64_t v = sqlite3_column_int64(st, 0);
            const void *h = sqlite3_column_blob(st, 1);
            int hl = sqlite3_column_bytes(st, 1);
            if (v < 0 || h == NULL || hl != 32) {
                r = at_fail_(e, AT_E_BAD_VALUE, "audit_head", __FILE__, __LINE__,
                             "the stored audit chain head is malformed");
            } else {
                *seq = (uint64_t)v;
                memcpy(hash, h, 32);
            }
        } else if (rc == SQLITE_DONE) {
            r = at_fail_(e, AT_E_NOT_FOUND, "audit_head", __FILE__, __LINE__,
                         "no audit chain head '%s' in the store", chain);
        } else {
            r = at_sql_err(s, e, "read audit head");
        }
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    return r;
}

at_status at_store_audit_head_set(struct at_store *s, const char *chain, uint64_t seq,
                                  const uint8_t hash[32], int64_t now, struct at_err *e)
{
    AT_ENSURE(s != NULL && hash != NULL && seq <= (uint64_t)INT64_MAX, e, AT_E_USAGE, "store",
              "no store or bad head");
    AT_TRY(check_chain(chain, e));
    at_sql_lock(s);
    sqlite3_stmt *st = NULL;
    at_status r = at_sql_prep(s,
                              "INSERT INTO audit_head(chain, seq, hash, updated_at)"
                              " VALUES (?, ?, ?, ?) ON CONFLICT(chain) DO UPDATE SET"
                              " seq = excluded.seq, hash = excluded.hash,"
                              " updated_at = excluded.updated_at",
                              &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, chain, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 2, (int64_t)seq, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 3, hash, 32, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 4, now, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "write audit head", e);
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    return r;
}
