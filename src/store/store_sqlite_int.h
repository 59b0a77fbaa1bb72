/*
 * Internal interface of the SQLite store back end, shared by its three files:
 * store_sqlite.c (connection, SQL helpers, transactions, schema, providers),
 * store_sqlite_policy.c (policies, signer certificates) and
 * store_sqlite_collateral.c (DCAP collateral). Not for use outside src/store/.
 *
 * Locking: at_sql_write_tx takes the handle's mutex itself; every other helper
 * expects the caller to hold it (at_sql_lock / at_sql_unlock).
 */
#ifndef AT_STORE_STORE_SQLITE_INT_H
#define AT_STORE_STORE_SQLITE_INT_H

#include "store/store.h"
#include "store/store_crypt.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#define AT_SQL_TYPE_NAME_MAX 32
#define AT_SQL_BLOB_MAX      ((size_t)1024 * 1024) /* keys, certificates, JWS envelopes */

struct at_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    uint64_t generation;  /* bumped on each committed write through this handle */
    int64_t data_version;   /* PRAGMA data_version last seen (any other connection's commit) */
    int64_t config_version; /* config_version.v last seen (their configuration writes) */
    struct at_crypt crypt; /* envelope encryption state (store_crypt.c) */
};

/* AT_E_IO with sqlite3_errmsg (which never contains bound values). */
at_status at_sql_fail_(struct at_store *s, struct at_err *e, const char *what, const char *file,
                       int line);
#define at_sql_err(s, e, what) at_sql_fail_((s), (e), (what), __FILE__, __LINE__)
at_status at_sql_nomem(struct at_err *e);

AT_NODISCARD at_status at_sql_prep(struct at_store *s, const char *sql, sqlite3_stmt **st,
                                   struct at_err *e);
/* Binds borrow their memory until the statement is finalized (SQLITE_STATIC). */
AT_NODISCARD at_status at_sql_bind_text(struct at_store *s, sqlite3_stmt *st, int i, const char *v,
                                        struct at_err *e);
/* A zero-length value binds as an empty blob, never as NULL. */
AT_NODISCARD at_status at_sql_bind_blob(struct at_store *s, sqlite3_stmt *st, int i, const void *p,
                                        size_t len, struct at_err *e);
AT_NODISCARD at_status at_sql_bind_int(struct at_store *s, sqlite3_stmt *st, int i, int64_t v,
                                       struct at_err *e);
/* Step a statement that returns no rows. */
AT_NODISCARD at_status at_sql_step_done(struct at_store *s, sqlite3_stmt *st, const char *what,
                                        struct at_err *e);
/* Run constant SQL (one or several statements, no parameters). */
AT_NODISCARD at_status at_sql_exec(struct at_store *s, const char *sql, struct at_err *e);
/* Run constant SQL returning one integer. */
AT_NODISCARD at_status at_sql_query_int(struct at_store *s, const char *sql, int64_t *out,
                                        struct at_err *e);
/* Copy a column into a new NUL-terminated heap buffer (len excludes the NUL). */
AT_NODISCARD at_status at_sql_column_dup(struct at_store *s, sqlite3_stmt *st, int col,
                                         uint8_t **out, size_t *len, struct at_err *e);
/* Column 0 (text) of every remaining row into a heap array of heap strings. */
AT_NODISCARD at_status at_sql_collect_strings(struct at_store *s, sqlite3_stmt *st, char ***out,
                                              size_t *count, struct at_err *e);

void at_sql_lock(struct at_store *s);
void at_sql_unlock(struct at_store *s);

typedef at_status (*at_sql_write_fn)(struct at_store *s, const void *arg, struct at_err *e);
/*
 * Run fn inside BEGIN IMMEDIATE ... COMMIT under the handle's mutex; ROLLBACK when
 * fn (or COMMIT) fails. The generation counter moves only on a committed write.
 */
AT_NODISCARD at_status at_sql_write_tx(struct at_store *s, at_sql_write_fn fn, const void *arg,
                                       struct at_err *e);

/* AT_E_BAD_VALUE unless a valid provider name / attestation type name. */
AT_NODISCARD at_status at_sql_check_name(const char *n, struct at_err *e);
AT_NODISCARD at_status at_sql_check_type(const char *t, struct at_err *e);
/* Inside a write: version + 1, AT_E_NOT_FOUND if the provider is absent. */
AT_NODISCARD at_status at_sql_bump_version(struct at_store *s, const char *name, struct at_err *e);

/* Associated data of signer_certs.der: (provider, blind index) (store_sqlite_policy.c). */
void at_sql_signer_aad(struct at_aad *a, const char *provider, const uint8_t *index);

#endif
