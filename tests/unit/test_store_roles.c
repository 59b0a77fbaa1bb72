/*
 * Role assignments in the SQLite store (src/store/store_sqlite_roles.c): assign,
 * replace, list, remove, validation with exact codes, canonical role spelling,
 * the generation counter and persistence across reopen.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"
/* clang-format on */

#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
    return tu_store_fx_setup(state, "roles");
}

static int teardown(void **state)
{
    return tu_store_fx_teardown(state);
}

static void assign_ok(struct at_store *s, const char *p, const char *role, const char *scope)
{
    struct at_err e;
    at_err_init(&e);
    at_status st = at_store_role_assign(s, p, role, scope, &e);
    if (!at_is_ok(st)) {
        fail_msg("assign %s %s %s: %s", p, role, scope, e.msg);
    }
}

static struct at_role_assignment *list(struct at_store *s, const char *p, size_t *n)
{
    struct at_err e;
    at_err_init(&e);
    struct at_role_assignment *v = NULL;
    at_status st = at_store_role_list(s, p, &v, n, &e);
    if (!at_is_ok(st)) {
        fail_msg("list: %s", e.msg);
    }
    return v;
}

static void test_assign_list_remove(void **state)
{
    struct tu_store_fx *f = *state;
    size_t n = 99;
    struct at_role_assignment *v = list(f->s, NULL, &n);
    assert_int_equal(n, 0);
    free(v);

    uint64_t g0 = at_store_generation(f->s);
    assign_ok(f->s, "tid-1/oid-b", "reader", "default");
    assert_true(at_store_generation(f->s) > g0);
    assign_ok(f->s, "tid-1/oid-b", "OWNER", "*");
    assign_ok(f->s, "tid-1/oid-a", "Contributor", "prov-x");
    assign_ok(f->s, "https://idp.test#sub 1", "Reader", "*");

    v = list(f->s, NULL, &n);
    assert_int_equal(n, 4);
    /* Sorted by principal, then scope; roles canonical. */
    assert_string_equal(v[0].principal, "https://idp.test#sub 1");
    assert_string_equal(v[1].principal, "tid-1/oid-a");
    assert_string_equal(v[1].role, "Contributor");
    assert_string_equal(v[1].scope, "prov-x");
    assert_string_equal(v[2].principal, "tid-1/oid-b");
    assert_string_equal(v[2].scope, "*");
    assert_string_equal(v[2].role, "Owner");
    assert_string_equal(v[3].scope, "default");
    assert_string_equal(v[3].role, "Reader");
    free(v);

    /* Replace: same principal and scope. */
    assign_ok(f->s, "tid-1/oid-b", "Contributor", "default");
    v = list(f->s, "tid-1/oid-b", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[1].scope, "default");
    assert_string_equal(v[1].role, "Contributor");
    free(v);

    struct at_err e;
    at_err_init(&e);
    uint64_t g1 = at_store_generation(f->s);
    assert_true(at_is_ok(at_store_role_remove(f->s, "tid-1/oid-b", "default", &e)));
    assert_true(at_store_generation(f->s) > g1);
    v = list(f->s, "tid-1/oid-b", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].scope, "*");
    free(v);

    /* Removing what is not there: not found, no write. */
    at_err_init(&e);
    uint64_t g2 = at_store_generation(f->s);
    assert_int_equal(at_store_role_remove(f->s, "tid-1/oid-b", "default", &e).code, AT_E_NOT_FOUND);
    assert_int_equal(at_store_generation(f->s), g2);

    v = list(f->s, "nobody", &n);
    assert_int_equal(n, 0);
    free(v);
}

struct bad_case {
    const char *principal;
    const char *role;
    const char *scope;
    const char *field; /* expected check */
};

static void test_validation(void **state)
{
    struct tu_store_fx *f = *state;
    char long_id[321];
    memset(long_id, 'a', 320);
    long_id[320] = '\0';
    char max_id[320];
    memset(max_id, 'b', 319);
    max_id[319] = '\0';
    const struct bad_case cases[] = {
        {"", "Reader", "*", "principal"},
        {NULL, "Reader", "*", "principal"},
        {long_id, "Reader", "*", "principal"},
        {"tab\there", "Reader", "*", "principal"},
        {"caf\xc3\xa9", "Reader", "*", "principal"},
        {"p", "Admin", "*", "role"},
        {"p", "", "*", "role"},
        {"p", NULL, "*", "role"},
        {"p", "None", "*", "role"},
        {"p", "Reader", "", "scope"},
        {"p", "Reader", "**", "scope"},
        {"p", "Reader", "Default", "scope"},
        {"p", "Reader", "9lives", "scope"},
        {"p", "Reader", NULL, "scope"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct at_err e;
        at_err_init(&e);
        at_status st =
            at_store_role_assign(f->s, cases[i].principal, cases[i].role, cases[i].scope, &e);
        if (st.code != AT_E_BAD_VALUE || e.check == NULL || strcmp(e.check, cases[i].field) != 0) {
            fail_msg("case %zu: code %d check %s", i, st.code, e.check ? e.check : "(null)");
        }
    }
    struct at_err e;
    at_err_init(&e);
    assert_int_equal(at_store_role_remove(f->s, "", "*", &e).code, AT_E_BAD_VALUE);
    at_err_init(&e);
    assert_int_equal(at_store_role_remove(f->s, "p", "BAD", &e).code, AT_E_BAD_VALUE);
    at_err_init(&e);
    struct at_role_assignment *v = NULL;
    size_t n = 0;
    assert_int_equal(at_store_role_list(f->s, "", &v, &n, &e).code, AT_E_BAD_VALUE);

    /* Boundaries that are fine: 319 characters, a 63-character provider name. */
    assign_ok(f->s, max_id, "reader", "*");
    char prov[64];
    memset(prov, 'z', 63);
    prov[63] = '\0';
    assign_ok(f->s, "p", "Reader", prov);
    v = list(f->s, max_id, &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].principal, max_id);
    free(v);
    v = list(f->s, "p", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].scope, prov);
    free(v);
}

static void test_persists(void **state)
{
    struct tu_store_fx *f = *state;
    assign_ok(f->s, "t/o", "Owner", "*");
    at_store_close(f->s);
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_open(f->dir, tu_kek(), &f->s, &e)));
    size_t n = 0;
    struct at_role_assignment *v = list(f->s, NULL, &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].principal, "t/o");
    assert_string_equal(v[0].role, "Owner");
    free(v);
}

/* Deleting a provider deletes the assignments scoped to it, not the others. */
static void test_provider_delete_clears_roles(void **state)
{
    struct tu_store_fx *f = *state;
    struct at_err e;
    at_err_init(&e);
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "gone");
    snprintf(p.alg, sizeof(p.alg), "RS256");
    static uint8_t blob[4] = {1, 2, 3, 4};
    p.signing_key = blob;
    p.signing_key_len = sizeof(blob);
    p.signing_cert = blob;
    p.signing_cert_len = sizeof(blob);
    assert_true(at_is_ok(at_store_provider_create(f->s, &p, &e)));
    assign_ok(f->s, "t/a", "Owner", "gone");
    assign_ok(f->s, "t/a", "Reader", "*");
    assert_true(at_is_ok(at_store_provider_delete(f->s, "gone", &e)));
    size_t n = 0;
    struct at_role_assignment *v = list(f->s, "t/a", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].scope, "*");
    free(v);
}

/* A database made before role assignments existed (schema 1) is upgraded on open. */
static void test_upgrade_from_v1(void **state)
{
    struct tu_store_fx *f = *state;
    at_store_close(f->s);
    f->s = NULL;
    char path[160];
    snprintf(path, sizeof(path), "%s/attestd.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE role_assignments;"
                                  "DROP TABLE keyring;"
                                  "ALTER TABLE providers DROP COLUMN require_token;"
                                  "DROP TABLE audit_head;"
                                  "DROP TABLE config_version;"
                                  "ALTER TABLE providers DROP COLUMN allowed_networks;"
                                  "UPDATE schema_version SET version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_open(f->dir, tu_kek(), &f->s, &e)));
    assign_ok(f->s, "t/o", "reader", "*");
    size_t n = 0;
    struct at_role_assignment *v = list(f->s, NULL, &n);
    assert_int_equal(n, 1);
    free(v);
    /* The CHECK constraint holds even for writes that bypass the API. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO role_assignments(principal, role, scope)"
                                      " VALUES ('x', 'Admin', '*')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_assign_list_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_delete_clears_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
