/*
 * The embedded SQLite back end of the store (store.h): the connection, SQL helpers,
 * transactions, the schema and its migrations, and providers. Policies and signer
 * certificates are in store_sqlite_policy.c, collateral in store_sqlite_collateral.c.
 *
 * One file, <dir>/attestd.db (mode 0600; SQLite gives its -wal and -shm files the
 * same mode), in WAL mode with synchronous=FULL, foreign keys on and secure_delete
 * on (so a deleted provider's key bytes are overwritten in the file, not just
 * unlinked from the b-tree).
 *
 * Thread safety: one connection per struct at_store, guarded by a mutex; every
 * public function holds it for its whole duration. Several processes (or several
 * at_store handles) may share the file: writes take the write lock up front
 * (BEGIN IMMEDIATE) and wait up to BUSY_TIMEOUT_MS for it.
 *
 * Every write runs in one transaction, rolled back on any error. SQL text is
 * constant; every value goes through a bound parameter.
 *
 * Errors: AT_E_NOT_FOUND (absent row), AT_E_BAD_VALUE (invalid name or
 * argument, duplicate), AT_E_LIMIT (over-size value), AT_E_IO (SQLite failed:
 * the message carries sqlite3_errmsg, which never contains bound values).
 */
#include "base/secure.h"
#include "store/store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_FILE                  "attestd.db"
#define BUSY_TIMEOUT_MS          15000
#define DEFAULT_TOKEN_LIFETIME_S ((int64_t)8 * 3600)

/* ------------------------------------------------------------------ errors */

at_status at_sql_fail_(struct at_store *s, struct at_err *e, const char *what, const char *file,
                       int line)
{
    return at_fail_(e, AT_E_IO, "store", file, line, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

at_status at_sql_nomem(struct at_err *e)
{
    AT_FAIL(e, AT_E_NOMEM, "store", "out of memory");
}

/* ---------------------------------------------------------- SQL helpers */

at_status at_sql_prep(struct at_store *s, const char *sql, sqlite3_stmt **st, struct at_err *e)
{
    *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return at_sql_err(s, e, "prepare");
    }
    return at_ok();
}

at_status at_sql_bind_text(struct at_store *s, sqlite3_stmt *st, int i, const char *v,
                           struct at_err *e)
{
    int rc = v != NULL ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
    return rc == SQLITE_OK ? at_ok() : at_sql_err(s, e, "bind");
}

at_status at_sql_bind_blob(struct at_store *s, sqlite3_stmt *st, int i, const void *p, size_t len,
                           struct at_err *e)
{
    int rc = len == 0 ? sqlite3_bind_zeroblob(st, i, 0)
                      : sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)len, SQLITE_STATIC);
    return rc == SQLITE_OK ? at_ok() : at_sql_err(s, e, "bind");
}

at_status at_sql_bind_int(struct at_store *s, sqlite3_stmt *st, int i, int64_t v, struct at_err *e)
{
    return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? at_ok() : at_sql_err(s, e, "bind");
}

at_status at_sql_step_done(struct at_store *s, sqlite3_stmt *st, const char *what, struct at_err *e)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    return rc == SQLITE_DONE ? at_ok() : at_sql_err(s, e, what);
}

at_status at_sql_exec(struct at_store *s, const char *sql, struct at_err *e)
{
    const char *tail = sql;
    while (tail != NULL && *tail != '\0') {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, tail, -1, &st, &tail) != SQLITE_OK) {
            sqlite3_finalize(st);
            return at_sql_err(s, e, "prepare");
        }
        if (st == NULL) { /* trailing whitespace or comment */
            break;
        }
        at_status r = at_sql_step_done(s, st, "exec", e);
        sqlite3_finalize(st);
        AT_TRY(r);
    }
    return at_ok();
}

at_status at_sql_query_int(struct at_store *s, const char *sql, int64_t *out, struct at_err *e)
{
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, sql, &st, e));
    int rc = sqlite3_step(st);
    at_status r = at_ok();
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else {
        r = at_sql_err(s, e, "query");
    }
    sqlite3_finalize(st);
    return r;
}

at_status at_sql_column_dup(struct at_store *s, sqlite3_stmt *st, int col, uint8_t **out,
                            size_t *len, struct at_err *e)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (n < 0 || (p == NULL && n > 0)) {
        return at_sql_err(s, e, "read column");
    }
    uint8_t *b = malloc((size_t)n + 1);
    if (b == NULL) {
        return at_sql_nomem(e);
    }
    if (n > 0) {
        memcpy(b, p, (size_t)n);
    }
    b[n] = 0;
    *out = b;
    *len = (size_t)n;
    return at_ok();
}

/* ------------------------------------------------------------ transactions */

void at_sql_lock(struct at_store *s)
{
    at_assert(pthread_mutex_lock(&s->mu) == 0);
}

void at_sql_unlock(struct at_store *s)
{
    at_assert(pthread_mutex_unlock(&s->mu) == 0);
}

typedef at_status (*at_sql_write_fn)(struct at_store *s, const void *arg, struct at_err *e);

at_status at_sql_write_tx(struct at_store *s, at_sql_write_fn fn, const void *arg, struct at_err *e)
{
    at_sql_lock(s);
    at_status r = at_sql_exec(s, "BEGIN IMMEDIATE", e);
    if (at_is_ok(r) && s->crypt.ready) {
        r = at_crypt_sync(s, e); /* another process may have rotated the data key */
    }
    if (at_is_ok(r)) {
        int before = sqlite3_total_changes(s->db);
        r = fn(s, arg, e);
        /* Only a transaction that changed rows is a new configuration (opening a store
           with nothing to migrate writes nothing, not even this counter). */
        if (at_is_ok(r) && sqlite3_total_changes(s->db) != before) {
            r = at_sql_exec(s, "UPDATE config_version SET v = v + 1 WHERE id = 1", e);
        }
        if (at_is_ok(r)) {
            r = at_sql_exec(s, "COMMIT", e);
        }
        if (at_is_ok(r)) {
            s->generation++;
        } else if (!sqlite3_get_autocommit(s->db)) {
            /* The first error is the one reported; a failed ROLLBACK adds nothing. */
            struct at_err ignored;
            at_err_init(&ignored);
            at_status rb = at_sql_exec(s, "ROLLBACK", &ignored);
            (void)rb;
        }
    }
    at_sql_unlock(s);
    return r;
}

/* --------------------------------------------------------------- validation */

bool at_store_provider_name_valid(const char *n)
{
    if (n == NULL || !(n[0] >= 'a' && n[0] <= 'z')) {
        return false;
    }
    size_t i = 1;
    for (; n[i] != '\0'; i++) {
        char c = n[i];
        if (i >= AT_PROVIDER_NAME_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

at_status at_sql_check_name(const char *n, struct at_err *e)
{
    AT_ENSURE(at_store_provider_name_valid(n), e, AT_E_BAD_VALUE, "provider_name",
              "invalid provider name (want [a-z][a-z0-9-]{0,62})");
    return at_ok();
}

/* Attestation type names as the API spells them: ASCII letters and digits. */
at_status at_sql_check_type(const char *t, struct at_err *e)
{
    size_t i = 0;
    for (; t != NULL && t[i] != '\0' && i <= AT_SQL_TYPE_NAME_MAX; i++) {
        char c = t[i];
        AT_ENSURE((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'), e,
                  AT_E_BAD_VALUE, "attestation_type", "invalid attestation type name");
    }
    AT_ENSURE(i > 0 && i <= AT_SQL_TYPE_NAME_MAX, e, AT_E_BAD_VALUE, "attestation_type",
              "invalid attestation type name");
    return at_ok();
}

static const char *mode_name(enum at_provider_mode m)
{
    switch (m) {
    case AT_MODE_AAD:
        return "aad";
    case AT_MODE_ISOLATED:
        return "isolated";
    }
    return NULL;
}

static bool alg_valid(const char *a)
{
    return strcmp(a, "RS256") == 0 || strcmp(a, "PS256") == 0 || strcmp(a, "ES256") == 0;
}

/* -------------------------------------------------------------- open/close */

/*
 * Schema migrations, applied in order inside one transaction; schema_version holds
 * how many have been applied. Append only: never edit a released entry.
 */
static const char *const migrations[] = {
    /* 1: initial schema */
    "CREATE TABLE providers("
    " name TEXT PRIMARY KEY NOT NULL,"
    " mode TEXT NOT NULL CHECK (mode IN ('aad','isolated')),"
    " alg TEXT NOT NULL,"
    " signing_key BLOB NOT NULL,"
    " signing_cert BLOB NOT NULL,"
    " token_lifetime_s INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE policies("
    " provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
    " type TEXT NOT NULL,"
    " text BLOB NOT NULL,"
    " jws TEXT NULL,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (provider, type));"
    "CREATE TABLE signer_certs("
    " provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
    " der BLOB NOT NULL,"
    " sha256 BLOB NOT NULL CHECK (length(sha256) = 32),"
    " added_at INTEGER NOT NULL,"
    " UNIQUE (provider, sha256));"
    "CREATE TABLE collateral("
    " tee TEXT NOT NULL CHECK (tee IN ('sgx','tdx')),"
    " fmspc BLOB NOT NULL CHECK (length(fmspc) = 6),"
    " ca TEXT NOT NULL CHECK (ca IN ('platform','processor')),"
    " pck_crl_issuer_chain BLOB NOT NULL,"
    " root_ca_crl BLOB NOT NULL,"
    " pck_crl BLOB NOT NULL,"
    " tcb_info_issuer_chain BLOB NOT NULL,"
    " tcb_info BLOB NOT NULL,"
    " tcb_info_sig BLOB NOT NULL CHECK (length(tcb_info_sig) = 64),"
    " qe_identity_issuer_chain BLOB NOT NULL,"
    " qe_identity BLOB NOT NULL,"
    " qe_identity_sig BLOB NOT NULL CHECK (length(qe_identity_sig) = 64),"
    " pck_cert_chain BLOB NULL,"
    " digest BLOB NOT NULL CHECK (length(digest) = 32),"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (tee, fmspc, ca));",
    /* 2: management-plane role assignments (store_sqlite_roles.c) */
    "CREATE TABLE role_assignments("
    " principal TEXT NOT NULL CHECK (length(principal) BETWEEN 1 AND 319),"
    " role TEXT NOT NULL CHECK (role IN ('Reader','Contributor','Owner')),"
    " scope TEXT NOT NULL,"
    " PRIMARY KEY (principal, scope));",
    /* 3: per-provider token requirement for attestation (store_sqlite_provider_token.c) */
    ("ALTER TABLE providers ADD COLUMN require_token INTEGER NOT NULL DEFAULT 0"
     " CHECK (require_token IN (0, 1));"),
    /* 4: audit log chain head (store_sqlite_audit.c, docs/audit-log.md) */
    "CREATE TABLE audit_head("
    " chain TEXT PRIMARY KEY NOT NULL,"
    " seq INTEGER NOT NULL CHECK (seq >= 0),"
    " hash BLOB NOT NULL CHECK (length(hash) = 32),"
    " updated_at INTEGER NOT NULL);",
    /* 5: encryption at rest (store_crypt.c): the keyring of wrapped data keys; role
       principals become a blind index plus a sealed value; collateral signatures are
       sealed, so their plaintext length checks go (the table is rebuilt). The existing
       rows are sealed by at_crypt_init in the same transaction. */
    ("CREATE TABLE keyring("
     " id INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 4294967295),"
     " wrapped BLOB NOT NULL,"
     " state TEXT NOT NULL CHECK (state IN ('active','retired')),"
     " created_at INTEGER NOT NULL);"
     "ALTER TABLE role_assignments ADD COLUMN principal_sealed BLOB NULL;"
     "CREATE TABLE collateral_sealed("
     " tee TEXT NOT NULL CHECK (tee IN ('sgx','tdx')),"
     " fmspc BLOB NOT NULL CHECK (length(fmspc) = 6),"
     " ca TEXT NOT NULL CHECK (ca IN ('platform','processor')),"
     " pck_crl_issuer_chain BLOB NOT NULL, root_ca_crl BLOB NOT NULL, pck_crl BLOB NOT NULL,"
     " tcb_info_issuer_chain BLOB NOT NULL, tcb_info BLOB NOT NULL, tcb_info_sig BLOB NOT NULL,"
     " qe_identity_issuer_chain BLOB NOT NULL, qe_identity BLOB NOT NULL,"
     " qe_identity_sig BLOB NOT NULL, pck_cert_chain BLOB NULL,"
     " digest BLOB NOT NULL CHECK (length(digest) = 32),"
     " updated_at INTEGER NOT NULL,"
     " PRIMARY KEY (tee, fmspc, ca));"
     "INSERT INTO collateral_sealed SELECT tee, fmspc, ca, pck_crl_issuer_chain, root_ca_crl,"
     " pck_crl, tcb_info_issuer_chain, tcb_info, tcb_info_sig, qe_identity_issuer_chain,"
     " qe_identity, qe_identity_sig, pck_cert_chain, digest, updated_at FROM collateral;"
     "DROP TABLE collateral;"
     "ALTER TABLE collateral_sealed RENAME TO collateral;"),
    /* 6: network access: per-provider allowed_networks CIDR list (store_sqlite_provider_net.c) */
    "ALTER TABLE providers ADD COLUMN allowed_networks BLOB NULL;", /* sealed (store_crypt.c) */
    /* 7: the configuration version, bumped by every write transaction (at_sql_write_tx) and
       read by at_store_generation: other processes' configuration changes are seen, the
       audit chain head (written outside any write transaction) is not. */
    ("CREATE TABLE config_version(id INTEGER PRIMARY KEY CHECK (id = 1), v INTEGER NOT NULL);"
     "INSERT INTO config_version(id, v) VALUES (1, 1);"),
};
#define N_MIGRATIONS ((int64_t)(sizeof(migrations) / sizeof(migrations[0])))

static at_status migrate(struct at_store *s, struct at_err *e)
{
    AT_TRY(at_sql_exec(s,
                       "CREATE TABLE IF NOT EXISTS schema_version("
                       " id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);"
                       "INSERT OR IGNORE INTO schema_version(id, version) VALUES (1, 0);",
                       e));
    int64_t v = 0;
    AT_TRY(at_sql_query_int(s, "SELECT version FROM schema_version WHERE id = 1", &v, e));
    AT_ENSURE(v >= 0 && v <= N_MIGRATIONS, e, AT_E_UNSUPPORTED, "store",
              "database schema version %lld is newer than this build's (%lld)", (long long)v,
              (long long)N_MIGRATIONS);
    if (v == N_MIGRATIONS) {
        return at_ok();
    }
    for (int64_t i = v; i < N_MIGRATIONS; i++) {
        AT_TRY(at_sql_exec(s, migrations[i], e));
    }
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, "UPDATE schema_version SET version = ? WHERE id = 1", &st, e));
    at_status r = at_sql_bind_int(s, st, 1, N_MIGRATIONS, e);
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "set schema version", e);
    }
    sqlite3_finalize(st);
    return r;
}

/* Schema migrations, then the keyring (sealing a legacy plaintext store), in one transaction. */
static at_status migrate_tx(struct at_store *s, const void *arg, struct at_err *e)
{
    int64_t had_keyring = 0;
    AT_TRY(at_sql_query_int(s,
                            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                            " AND name = 'keyring'",
                            &had_keyring, e));
    AT_TRY(migrate(s, e));
    return at_crypt_init(s, arg, had_keyring == 0, e);
}

/* Create dir (0700) if missing and the database file (0600), tightening an existing file. */
static at_status prepare_files(const char *dir, const char *path, struct at_err *e)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        AT_FAIL(e, AT_E_IO, "store", "cannot create %s: %s", dir, strerror(errno));
    }
    struct stat sb;
    AT_ENSURE(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode), e, AT_E_IO, "store",
              "%s is not a directory", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        AT_FAIL(e, AT_E_IO, "store", "cannot open %s: %s", path, strerror(errno));
    }
    int rc = fchmod(fd, 0600);
    int err = errno;
    close(fd);
    AT_ENSURE(rc == 0, e, AT_E_IO, "store", "cannot chmod %s: %s", path, strerror(err));
    return at_ok();
}

static at_status configure(struct at_store *s, struct at_err *e)
{
    sqlite3_extended_result_codes(s->db, 1);
    if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK) {
        return at_sql_err(s, e, "busy_timeout");
    }
    /* journal_mode answers with the mode in force: insist on WAL. */
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, "PRAGMA journal_mode=WAL", &st, e));
    bool wal = sqlite3_step(st) == SQLITE_ROW &&
               sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    AT_ENSURE(wal, e, AT_E_IO, "store", "store: cannot switch the database to WAL mode");
    AT_TRY(at_sql_exec(s,
                       "PRAGMA synchronous=FULL;"
                       "PRAGMA foreign_keys=ON;"
                       "PRAGMA secure_delete=ON;",
                       e));
    int64_t fk = 0, sync = 0;
    AT_TRY(at_sql_query_int(s, "PRAGMA synchronous", &sync, e));
    AT_ENSURE(sync == 2, e, AT_E_IO, "store", "store: cannot set synchronous=FULL");
    AT_TRY(at_sql_query_int(s, "PRAGMA foreign_keys", &fk, e));
    AT_ENSURE(fk == 1, e, AT_E_IO, "store", "store: SQLite built without foreign keys");
    return at_ok();
}

at_status at_store_open(const char *dir, const struct at_kek *kek, struct at_store **out,
                        struct at_err *e)
{
    AT_ENSURE(dir != NULL && dir[0] != '\0', e, AT_E_USAGE, "store", "no data directory");
    AT_ENSURE(kek != NULL && kek->source != AT_KEK_SRC_NONE, e, AT_E_USAGE, "kek_missing",
              "no key-encryption key (set kek_file, ATTESTD_KEK or the systemd credential "
              "attestd-kek)");
    size_t n = strlen(dir) + sizeof("/" DB_FILE);
    char *path = malloc(n);
    if (path == NULL) {
        return at_sql_nomem(e);
    }
    snprintf(path, n, "%s/%s", dir, DB_FILE);
    at_status r = prepare_files(dir, path, e);
    if (!at_is_ok(r)) {
        free(path);
        return r;
    }
    struct at_store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        free(path);
        return at_sql_nomem(e);
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        free(path);
        AT_FAIL(e, AT_E_INTERNAL, "store", "cannot initialise a mutex");
    }
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
    free(path);
    if (rc != SQLITE_OK) {
        r = s->db != NULL ? at_sql_err(s, e, "open")
                          : at_fail_(e, AT_E_NOMEM, "store", __FILE__, __LINE__, "out of memory");
    } else {
        r = configure(s, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_write_tx(s, migrate_tx, kek, e);
    }
    if (at_is_ok(r)) {
        at_sql_lock(s);
        r = at_sql_query_int(s, "SELECT v FROM config_version WHERE id = 1", &s->config_version,
                             e);
        if (at_is_ok(r)) {
            r = at_sql_query_int(s, "PRAGMA data_version", &s->data_version, e);
        }
        at_sql_unlock(s);
    }
    if (!at_is_ok(r)) {
        at_store_close(s);
        return r;
    }
    s->generation = 1;
    *out = s;
    return at_ok();
}

void at_store_close(struct at_store *s)
{
    if (s == NULL) {
        return;
    }
    sqlite3_close_v2(s->db);
    at_crypt_free(&s->crypt);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

uint64_t at_store_generation(struct at_store *s)
{
    at_sql_lock(s);
    /* Another connection's configuration write moves config_version; count it as one
       write. PRAGMA data_version (no read transaction: cheap on every request) says
       whether any other connection committed; only then is config_version read, because
       the audit writer's chain-head commits move data_version too and must not
       invalidate every cache once per audit batch. */
    int64_t dv = 0, v = 0;
    struct at_err ignored;
    at_err_init(&ignored);
    if (at_is_ok(at_sql_query_int(s, "PRAGMA data_version", &dv, &ignored)) &&
        dv != s->data_version) {
        s->data_version = dv;
        if (at_is_ok(at_sql_query_int(s, "SELECT v FROM config_version WHERE id = 1", &v,
                                      &ignored)) &&
            v != s->config_version) {
            s->config_version = v;
            s->generation++;
        }
    }
    uint64_t g = s->generation;
    at_sql_unlock(s);
    return g;
}

/* ---------------------------------------------------------------- providers */

void at_provider_clear(struct at_provider *p)
{
    if (p == NULL) {
        return;
    }
    at_free_secret(p->signing_key, p->signing_key_len);
    free(p->signing_cert);
    at_zeroize(p, sizeof(*p));
}

static at_status provider_insert(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct at_provider *p = arg;
    uint8_t *key = NULL, *cert = NULL;
    size_t key_len = 0, cert_len = 0;
    struct at_aad ak, ac;
    at_aad_text(&ak, "providers", "signing_key", p->name, NULL, NULL);
    at_aad_text(&ac, "providers", "signing_cert", p->name, NULL, NULL);
    AT_TRY(at_crypt_seal(s, &ak, p->signing_key, p->signing_key_len, &key, &key_len, e));
    at_status r = at_crypt_seal(s, &ac, p->signing_cert, p->signing_cert_len, &cert, &cert_len, e);
    sqlite3_stmt *st = NULL;
    r = !at_is_ok(r) ? r : at_sql_prep(s,
                              "INSERT INTO providers(name, mode, alg, signing_key, signing_cert,"
                              " token_lifetime_s, created_at, version, require_token)"
                              " VALUES (?,?,?,?,?,?,?,?,?)",
                              &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, p->name, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 2, mode_name(p->mode), e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 3, p->alg, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 4, key, key_len, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 5, cert, cert_len, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(
            s, st, 6, p->token_lifetime_s > 0 ? p->token_lifetime_s : DEFAULT_TOKEN_LIFETIME_S, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 7, p->created_at, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 8, 1, e); /* a new provider starts at version 1 */
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 9, p->require_token_for_attestation ? 1 : 0, e);
    }
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            r = at_fail_(e, AT_E_BAD_VALUE, "provider_exists", __FILE__, __LINE__,
                         "provider '%s' already exists", p->name);
        } else if (rc != SQLITE_DONE) {
            r = at_sql_err(s, e, "insert provider");
        }
    }
    sqlite3_finalize(st);
    free(key); /* sealed: no secret left in it */
    free(cert);
    return r;
}

at_status at_store_provider_create(struct at_store *s, const struct at_provider *p,
                                   struct at_err *e)
{
    AT_TRY(at_sql_check_name(p->name, e));
    AT_ENSURE(mode_name(p->mode) != NULL, e, AT_E_BAD_VALUE, "provider_mode", "invalid mode");
    AT_ENSURE(alg_valid(p->alg), e, AT_E_BAD_VALUE, "provider_alg",
              "invalid token signing algorithm");
    AT_ENSURE(p->signing_key != NULL && p->signing_key_len > 0 && p->signing_cert != NULL &&
                  p->signing_cert_len > 0,
              e, AT_E_BAD_VALUE, "provider_key", "provider needs a signing key and certificate");
    AT_ENSURE(p->signing_key_len <= AT_SQL_BLOB_MAX && p->signing_cert_len <= AT_SQL_BLOB_MAX, e,
              AT_E_LIMIT, "provider_key", "signing key or certificate too large");
    return at_sql_write_tx(s, provider_insert, p, e);
}

static at_status provider_row(struct at_store *s, sqlite3_stmt *st, struct at_provider *p,
                              struct at_err *e)
{
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    const char *alg = (const char *)sqlite3_column_text(st, 1);
    if (mode != NULL && strcmp(mode, "aad") == 0) {
        p->mode = AT_MODE_AAD;
    } else if (mode != NULL && strcmp(mode, "isolated") == 0) {
        p->mode = AT_MODE_ISOLATED;
    } else {
        AT_FAIL(e, AT_E_IO, "store", "store: provider row has an invalid mode");
    }
    AT_ENSURE(alg != NULL && strlen(alg) < sizeof(p->alg), e, AT_E_IO, "store",
              "store: provider row has an invalid alg");
    memcpy(p->alg, alg, strlen(alg) + 1);
    p->token_lifetime_s = sqlite3_column_int64(st, 4);
    p->created_at = sqlite3_column_int64(st, 5);
    p->version = (uint64_t)sqlite3_column_int64(st, 6);
    p->require_token_for_attestation = sqlite3_column_int64(st, 7) != 0;
    struct at_aad ak, ac;
    at_aad_text(&ak, "providers", "signing_key", p->name, NULL, NULL);
    at_aad_text(&ac, "providers", "signing_cert", p->name, NULL, NULL);
    AT_TRY(at_crypt_column(s, st, 2, &ak, &p->signing_key, &p->signing_key_len, e));
    return at_crypt_column(s, st, 3, &ac, &p->signing_cert, &p->signing_cert_len, e);
}

at_status at_store_provider_get(struct at_store *s, const char *name, struct at_provider *out,
                                struct at_err *e)
{
    AT_TRY(at_sql_check_name(name, e));
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    memcpy(p.name, name, strlen(name) + 1);
    at_sql_lock(s);
    sqlite3_stmt *st = NULL;
    at_status r = at_sql_prep(s,
                              "SELECT mode, alg, signing_key, signing_cert, token_lifetime_s,"
                              " created_at, version, require_token FROM providers WHERE name = ?",
                              &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, name, e);
    }
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            r = provider_row(s, st, &p, e);
        } else if (rc == SQLITE_DONE) {
            r = at_fail_(e, AT_E_NOT_FOUND, "provider", __FILE__, __LINE__,
                         "provider '%s' not found", name);
        } else {
            r = at_sql_err(s, e, "read provider");
        }
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    if (!at_is_ok(r)) {
        at_provider_clear(&p);
        return r;
    }
    *out = p;
    return at_ok();
}

void at_store_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i]);
    }
    free(v);
}

at_status at_sql_collect_strings(struct at_store *s, sqlite3_stmt *st, char ***out, size_t *count,
                                 struct at_err *e)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    at_status r = at_ok();
    int rc;
    while (at_is_ok(r) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 8 : cap * 2;
            char **nv = realloc(v, ncap * sizeof(*nv));
            if (nv == NULL) {
                r = at_sql_nomem(e);
                break;
            }
            v = nv;
            cap = ncap;
        }
        uint8_t *str = NULL;
        size_t len = 0;
        r = at_sql_column_dup(s, st, 0, &str, &len, e);
        if (at_is_ok(r)) {
            v[n++] = (char *)str;
        }
    }
    if (at_is_ok(r) && rc != SQLITE_DONE) {
        r = at_sql_err(s, e, "list");
    }
    if (!at_is_ok(r)) {
        at_store_strings_free(v, n);
        return r;
    }
    *out = v;
    *count = n;
    return at_ok();
}

at_status at_store_provider_list(struct at_store *s, char ***names, size_t *count, struct at_err *e)
{
    at_sql_lock(s);
    sqlite3_stmt *st;
    at_status r = at_sql_prep(s, "SELECT name FROM providers ORDER BY name", &st, e);
    if (at_is_ok(r)) {
        r = at_sql_collect_strings(s, st, names, count, e);
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    return r;
}

/* Run `sql` with the provider name as parameter 1; AT_E_NOT_FOUND when it changed no row. */
static at_status exec_on_provider(struct at_store *s, const char *sql, const char *name,
                                  struct at_err *e)
{
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, sql, &st, e));
    at_status r = at_sql_bind_text(s, st, 1, name, e);
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "update provider", e);
    }
    sqlite3_finalize(st);
    AT_TRY(r);
    AT_ENSURE(sqlite3_changes(s->db) > 0, e, AT_E_NOT_FOUND, "provider", "provider '%s' not found",
              name);
    return at_ok();
}

at_status at_sql_bump_version(struct at_store *s, const char *name, struct at_err *e)
{
    return exec_on_provider(s, "UPDATE providers SET version = version + 1 WHERE name = ?", name,
                            e);
}

static at_status provider_remove(struct at_store *s, const void *arg, struct at_err *e)
{
    AT_TRY(exec_on_provider(s, "DELETE FROM providers WHERE name = ?", arg, e));
    /* Role assignments scoped to the provider go with it (in the same transaction), so a
       provider later created under the same name does not inherit its assignees. */
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, "DELETE FROM role_assignments WHERE scope = ?", &st, e));
    at_status r = at_sql_bind_text(s, st, 1, arg, e);
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "delete role assignments", e);
    }
    sqlite3_finalize(st);
    return r;
}

at_status at_store_provider_delete(struct at_store *s, const char *name, struct at_err *e)
{
    AT_TRY(at_sql_check_name(name, e));
    return at_sql_write_tx(s, provider_remove, name, e);
}
