/*
 * The SQLite store: management-plane role assignments (principal, scope) -> role
 * (docs/identity.md). The table is created by migration 2 in store_sqlite.c. Roles are
 * parsed here rather than with at_role_parse so the store does not depend on src/auth/.
 */
#include "store/store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Largest number of assignments at_store_role_list returns (a management listing). */
#define MAX_ROLE_ROWS ((size_t)100000)
#define PRINCIPAL_MAX (sizeof(((struct at_role_assignment *)0)->principal) - 1)

static const char *const role_names[] = {"Reader", "Contributor", "Owner"};

/* The canonical spelling of `role` (case-insensitive), or NULL. */
static const char *canonical_role(const char *role)
{
    for (size_t i = 0; role != NULL && i < sizeof(role_names) / sizeof(role_names[0]); i++) {
        if (strcasecmp(role, role_names[i]) == 0) {
            return role_names[i];
        }
    }
    return NULL;
}

/* A principal id: 1..319 printable ASCII characters (docs/identity.md "Principals"). */
static at_status check_principal(const char *p, struct at_err *e)
{
    size_t i = 0;
    for (; p != NULL && p[i] != '\0' && i <= PRINCIPAL_MAX; i++) {
        AT_ENSURE(p[i] >= 0x20 && p[i] <= 0x7e, e, AT_E_BAD_VALUE, "principal",
                  "principal id must be printable ASCII");
    }
    AT_ENSURE(i > 0 && i <= PRINCIPAL_MAX, e, AT_E_BAD_VALUE, "principal",
              "principal id must be 1 to %zu characters", PRINCIPAL_MAX);
    return at_ok();
}

/* "*" (every provider) or a provider name. */
static at_status check_scope(const char *scope, struct at_err *e)
{
    AT_ENSURE(scope != NULL && (strcmp(scope, "*") == 0 || at_store_provider_name_valid(scope)), e,
              AT_E_BAD_VALUE, "scope",
              "role scope must be \"*\" or a provider name ([a-z][a-z0-9-]{0,62})");
    return at_ok();
}

struct role_args {
    const char *principal;
    const char *role;
    const char *scope;
};

/* Bind b, c as parameters 2, 3 (and a as 1 unless NULL). */
static at_status bind3(struct at_store *s, sqlite3_stmt *st, const char *a, const char *b,
                       const char *c, struct at_err *e)
{
    if (a != NULL) {
        AT_TRY(at_sql_bind_text(s, st, 1, a, e));
    }
    AT_TRY(at_sql_bind_text(s, st, 2, b, e));
    if (c != NULL) {
        AT_TRY(at_sql_bind_text(s, st, 3, c, e));
    }
    return at_ok();
}

/*
 * The principal column holds a keyed blind index of the principal id (lookups without
 * the id in the file); principal_sealed holds the id itself, sealed with (index, scope)
 * as its record id.
 */
static void principal_aad(struct at_aad *aad, const uint8_t *index, const char *scope)
{
    at_aad_text(aad, "role_assignments", "principal_sealed", NULL, NULL, NULL);
    aad->id[0] = index;
    aad->id_len[0] = AT_CRYPT_INDEX_LEN;
    aad->id[1] = scope;
    aad->id_len[1] = strlen(scope);
    aad->n = 2;
}

static at_status principal_index(struct at_store *s, const char *principal,
                                 uint8_t index[AT_CRYPT_INDEX_LEN], struct at_err *e)
{
    return at_crypt_index(s, AT_INDEX_PRINCIPAL, principal, strlen(principal), index, e);
}

static at_status role_upsert(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct role_args *a = arg;
    uint8_t index[AT_CRYPT_INDEX_LEN];
    AT_TRY(principal_index(s, a->principal, index, e));
    struct at_aad aad;
    principal_aad(&aad, index, a->scope);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    AT_TRY(at_crypt_seal(s, &aad, (const uint8_t *)a->principal, strlen(a->principal), &sealed,
                         &sealed_len, e));
    sqlite3_stmt *st = NULL;
    at_status r = at_sql_prep(s,
                              "INSERT INTO role_assignments(principal, scope, role,"
                              " principal_sealed) VALUES (?,?,?,?)"
                              " ON CONFLICT(principal, scope) DO UPDATE SET role = excluded.role,"
                              " principal_sealed = excluded.principal_sealed",
                              &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 1, index, sizeof(index), e);
    }
    if (at_is_ok(r)) {
        r = bind3(s, st, NULL, a->scope, a->role, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 4, sealed, sealed_len, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "assign role", e);
    }
    sqlite3_finalize(st);
    free(sealed);
    return r;
}

at_status at_store_role_assign(struct at_store *s, const char *principal, const char *role,
                               const char *scope, struct at_err *e)
{
    AT_ENSURE(s != NULL, e, AT_E_USAGE, "store", "no store");
    AT_TRY(check_principal(principal, e));
    AT_TRY(check_scope(scope, e));
    const char *canon = canonical_role(role);
    AT_ENSURE(canon != NULL, e, AT_E_BAD_VALUE, "role",
              "role must be Reader, Contributor or Owner");
    struct role_args a = {principal, canon, scope};
    return at_sql_write_tx(s, role_upsert, &a, e);
}

static at_status role_delete(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct role_args *a = arg;
    uint8_t index[AT_CRYPT_INDEX_LEN];
    AT_TRY(principal_index(s, a->principal, index, e));
    sqlite3_stmt *st;
    AT_TRY(
        at_sql_prep(s, "DELETE FROM role_assignments WHERE principal = ? AND scope = ?", &st, e));
    at_status r = at_sql_bind_blob(s, st, 1, index, sizeof(index), e);
    if (at_is_ok(r)) {
        r = bind3(s, st, NULL, a->scope, NULL, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "remove role", e);
    }
    sqlite3_finalize(st);
    AT_TRY(r);
    /* Nothing removed: report it, and the empty transaction rolls back (no generation bump). */
    AT_ENSURE(sqlite3_changes(s->db) > 0, e, AT_E_NOT_FOUND, "role_assignment",
              "no role assignment for that principal and scope");
    return at_ok();
}

at_status at_store_role_remove(struct at_store *s, const char *principal, const char *scope,
                               struct at_err *e)
{
    AT_ENSURE(s != NULL, e, AT_E_USAGE, "store", "no store");
    AT_TRY(check_principal(principal, e));
    AT_TRY(check_scope(scope, e));
    struct role_args a = {principal, NULL, scope};
    return at_sql_write_tx(s, role_delete, &a, e);
}

/* Copy column `col` (text of at most cap-1 bytes) into dst. */
static at_status column_text(struct at_store *s, sqlite3_stmt *st, int col, char *dst, size_t cap,
                             struct at_err *e)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (t == NULL && n == 0 && sqlite3_errcode(s->db) == SQLITE_NOMEM) {
        return at_sql_nomem(e);
    }
    AT_ENSURE(t != NULL && n > 0 && (size_t)n < cap, e, AT_E_INTERNAL, "role_assignment",
              "stored role assignment has a bad column %d", col);
    memcpy(dst, t, (size_t)n);
    dst[n] = '\0';
    return at_ok();
}

/* Append the current row to *v (grown geometrically). */
static at_status append_row(struct at_store *s, sqlite3_stmt *st, struct at_role_assignment **v,
                            size_t *n, size_t *cap, struct at_err *e)
{
    AT_ENSURE(*n < MAX_ROLE_ROWS, e, AT_E_LIMIT, "role_assignment",
              "more than %zu role assignments", MAX_ROLE_ROWS);
    if (*n == *cap) {
        size_t ncap = *cap == 0 ? 8 : *cap * 2;
        struct at_role_assignment *nv = realloc(*v, ncap * sizeof(**v));
        AT_ENSURE(nv != NULL, e, AT_E_NOMEM, "role_assignment", "out of memory");
        *v = nv;
        *cap = ncap;
    }
    struct at_role_assignment *r = &(*v)[*n];
    memset(r, 0, sizeof(*r));
    AT_TRY(column_text(s, st, 1, r->role, sizeof(r->role), e));
    AT_TRY(column_text(s, st, 2, r->scope, sizeof(r->scope), e));
    AT_ENSURE(sqlite3_column_bytes(st, 0) == AT_CRYPT_INDEX_LEN, e, AT_E_IO, "store",
              "store: role assignment row is malformed");
    struct at_aad aad;
    principal_aad(&aad, sqlite3_column_blob(st, 0), r->scope);
    uint8_t *p = NULL;
    size_t plen = 0;
    AT_TRY(at_crypt_column(s, st, 3, &aad, &p, &plen, e));
    bool fits = plen > 0 && plen < sizeof(r->principal) && memchr(p, 0, plen) == NULL;
    if (fits) {
        memcpy(r->principal, p, plen + 1);
    }
    free(p);
    AT_ENSURE(fits, e, AT_E_IO, "store", "store: role assignment row is malformed");
    (*n)++;
    return at_ok();
}

static int cmp_assignment(const void *x, const void *y)
{
    const struct at_role_assignment *a = x, *b = y;
    int c = strcmp(a->principal, b->principal);
    return c != 0 ? c : strcmp(a->scope, b->scope);
}

static at_status collect_rows(struct at_store *s, sqlite3_stmt *st, struct at_role_assignment **out,
                              size_t *count, struct at_err *e)
{
    struct at_role_assignment *v = NULL;
    size_t n = 0, cap = 0;
    at_status r = at_ok();
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            r = at_sql_err(s, e, "list role assignments");
            break;
        }
        r = append_row(s, st, &v, &n, &cap, e);
        if (!at_is_ok(r)) {
            break;
        }
    }
    if (!at_is_ok(r)) {
        free(v);
        return r;
    }
    /* The principal column is a keyed index: order by the ids themselves here. */
    if (n > 1) {
        qsort(v, n, sizeof(*v), cmp_assignment);
    }
    *out = v;
    *count = n;
    return at_ok();
}

at_status at_store_role_list(struct at_store *s, const char *principal,
                             struct at_role_assignment **out, size_t *count, struct at_err *e)
{
    AT_ENSURE(s != NULL && out != NULL && count != NULL, e, AT_E_USAGE, "store",
              "no store or output");
    if (principal != NULL) {
        AT_TRY(check_principal(principal, e));
    }
    at_sql_lock(s);
    sqlite3_stmt *st = NULL;
    uint8_t index[AT_CRYPT_INDEX_LEN];
    /* A lookup needs the index key of the data key in force (another process may have
       rotated it). */
    at_status r = principal == NULL ? at_ok() : at_crypt_sync(s, e);
    if (at_is_ok(r) && principal != NULL) {
        r = principal_index(s, principal, index, e);
    }
    if (at_is_ok(r)) {
        r = principal == NULL ? at_sql_prep(s,
                                            "SELECT principal, role, scope, principal_sealed"
                                            " FROM role_assignments",
                                            &st, e)
                              : at_sql_prep(s,
                                            "SELECT principal, role, scope, principal_sealed"
                                            " FROM role_assignments WHERE principal = ?",
                                            &st, e);
    }
    if (at_is_ok(r) && principal != NULL) {
        r = at_sql_bind_blob(s, st, 1, index, sizeof(index), e);
    }
    if (at_is_ok(r)) {
        r = collect_rows(s, st, out, count, e);
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    return r;
}
