/*
 * The SQLite store (src/store/store.h, store_sqlite.c): CRUD of every table,
 * byte-exact policy text, name validation, cascades, collateral round trips
 * (every field and the sealed digest), persistence across reopen, file modes,
 * schema version checks, the generation counter, and concurrent writers
 * (threads sharing one handle, and threads with a handle each).
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"
/* clang-format on */

#include "base/status.h"
#include "store/store.h"
#include "testpki.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2025-06-20T00:00:00Z */
#define T0 ((int64_t)1750377600)

static int setup(void **state)
{
    return tu_store_fx_setup(state, "store");
}

static int teardown(void **state)
{
    return tu_store_fx_teardown(state);
}

/* A provider with recognisable (fake) key and certificate bytes. */
static void make_provider(struct at_provider *p, const char *name, enum at_provider_mode mode)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->mode = mode;
    snprintf(p->alg, sizeof(p->alg), "%s", mode == AT_MODE_AAD ? "RS256" : "ES256");
    p->signing_key_len = 40;
    p->signing_key = malloc(p->signing_key_len);
    p->signing_cert_len = 300;
    p->signing_cert = malloc(p->signing_cert_len);
    assert_non_null(p->signing_key);
    assert_non_null(p->signing_cert);
    for (size_t i = 0; i < p->signing_key_len; i++) {
        p->signing_key[i] = (uint8_t)(0xA0 ^ i);
    }
    for (size_t i = 0; i < p->signing_cert_len; i++) {
        p->signing_cert[i] = (uint8_t)(i * 7); /* includes 0x00 bytes */
    }
    p->token_lifetime_s = 3600;
    p->created_at = T0;
}

static void create_provider(struct at_store *s, const char *name)
{
    struct at_provider p;
    make_provider(&p, name, AT_MODE_AAD);
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_provider_create(s, &p, &e)));
    at_provider_clear(&p);
}

/* ------------------------------------------------------------------ files */

static void test_open_modes(void **state)
{
    struct tu_store_fx *f = *state;
    struct stat sb;
    assert_int_equal(stat(f->dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    char path[160];
    snprintf(path, sizeof(path), "%s/attestd.db", f->dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* A loose existing file is tightened; a permissive umask does not widen a new one. */
    at_store_close(f->s);
    f->s = NULL;
    assert_int_equal(chmod(path, 0644), 0);
    mode_t old = umask(0);
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_open(f->dir, tu_kek(), &f->s, &e)));
    umask(old);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* The WAL file SQLite created takes the database file's mode. */
    create_provider(f->s, "wal-check");
    snprintf(path, sizeof(path), "%s/attestd.db-wal", f->dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_open_errors(void **state)
{
    struct tu_store_fx *f = *state;
    struct at_store *s2 = NULL;
    /* The database path is a directory. */
    char dir[160], path[200];
    snprintf(dir, sizeof(dir), "%s/bad", f->base);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/attestd.db", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    EXPECT_CODE(at_store_open(dir, tu_kek(), &s2, &ee_), AT_E_IO);
    assert_null(s2);
    /* The data directory is a file. */
    snprintf(path, sizeof(path), "%s/file", f->base);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    EXPECT_CODE(at_store_open(path, tu_kek(), &s2, &ee_), AT_E_IO);
    EXPECT_CODE(at_store_open("", tu_kek(), &s2, &ee_), AT_E_USAGE);
}

/* A schema newer than the build is refused rather than misread. */
static void test_schema_version(void **state)
{
    struct tu_store_fx *f = *state;
    at_store_close(f->s);
    f->s = NULL;
    char path[160];
    snprintf(path, sizeof(path), "%s/attestd.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "SELECT version FROM schema_version", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    EXPECT_CODE(at_store_open(f->dir, tu_kek(), &f->s, &ee_), AT_E_UNSUPPORTED);
    assert_null(f->s);
}

/* -------------------------------------------------------------- providers */

static void test_provider_crud(void **state)
{
    struct tu_store_fx *f = *state;
    struct at_provider p;
    make_provider(&p, "tenant-b", AT_MODE_ISOLATED);
    EXPECT_CODE(at_store_provider_create(f->s, &p, &ee_), AT_OK);
    EXPECT_CODE(at_store_provider_create(f->s, &p, &ee_), AT_E_BAD_VALUE);
    create_provider(f->s, "tenant-a");
    create_provider(f->s, AT_PROVIDER_DEFAULT);

    struct at_provider g;
    EXPECT_CODE(at_store_provider_get(f->s, "tenant-b", &g, &ee_), AT_OK);
    assert_string_equal(g.name, "tenant-b");
    assert_int_equal(g.mode, AT_MODE_ISOLATED);
    assert_string_equal(g.alg, "ES256");
    assert_int_equal(g.signing_key_len, p.signing_key_len);
    assert_memory_equal(g.signing_key, p.signing_key, p.signing_key_len);
    assert_int_equal(g.signing_cert_len, p.signing_cert_len);
    assert_memory_equal(g.signing_cert, p.signing_cert, p.signing_cert_len);
    assert_int_equal(g.token_lifetime_s, 3600);
    assert_int_equal(g.created_at, T0);
    assert_int_equal(g.version, 1);
    at_provider_clear(&g);
    /* _clear leaves nothing behind. */
    assert_null(g.signing_key);
    assert_int_equal(g.signing_key_len, 0);
    assert_null(g.signing_cert);

    char **names = NULL;
    size_t n = 0;
    EXPECT_CODE(at_store_provider_list(f->s, &names, &n, &ee_), AT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "default");
    assert_string_equal(names[1], "tenant-a");
    assert_string_equal(names[2], "tenant-b");
    at_store_strings_free(names, n);

    EXPECT_CODE(at_store_provider_delete(f->s, "tenant-b", &ee_), AT_OK);
    EXPECT_CODE(at_store_provider_get(f->s, "tenant-b", &g, &ee_), AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_provider_delete(f->s, "tenant-b", &ee_), AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_provider_get(f->s, "nobody", &g, &ee_), AT_E_NOT_FOUND);

    /* Missing key material or a bad alg is refused. */
    struct at_provider q = p;
    snprintf(q.name, sizeof(q.name), "no-key");
    q.signing_key = NULL;
    EXPECT_CODE(at_store_provider_create(f->s, &q, &ee_), AT_E_BAD_VALUE);
    q = p;
    snprintf(q.name, sizeof(q.name), "bad-alg");
    snprintf(q.alg, sizeof(q.alg), "HS256");
    EXPECT_CODE(at_store_provider_create(f->s, &q, &ee_), AT_E_BAD_VALUE);
    at_provider_clear(&p);

    /* Default lifetime when none is given. */
    make_provider(&p, "lifetime", AT_MODE_AAD);
    p.token_lifetime_s = 0;
    EXPECT_CODE(at_store_provider_create(f->s, &p, &ee_), AT_OK);
    at_provider_clear(&p);
    EXPECT_CODE(at_store_provider_get(f->s, "lifetime", &g, &ee_), AT_OK);
    assert_int_equal(g.token_lifetime_s, 8 * 3600);
    at_provider_clear(&g);
}

static void test_provider_list_empty(void **state)
{
    struct tu_store_fx *f = *state;
    char **names = (char **)1;
    size_t n = 99;
    EXPECT_CODE(at_store_provider_list(f->s, &names, &n, &ee_), AT_OK);
    assert_int_equal(n, 0);
    at_store_strings_free(names, n);
}

static void test_provider_names(void **state)
{
    struct tu_store_fx *f = *state;
    char max63[64], over64[65];
    memset(max63, 'a', 63);
    max63[63] = 0;
    memset(over64, 'b', 64);
    over64[64] = 0;
    static const char *const bad[] = {
        "",     "A",   "1abc", "-a", "a_b", "a b", "a.b", "aB", "a/b", "a\n", "\xc3\xa9t\xc3\xa9",
        "x'--", "a\"", "a%",   "a;b"};
    static const char *const good[] = {"a", "a-", "a1-2-3", "tenant-42", "default"};
    struct at_provider p;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_provider(&p, bad[i], AT_MODE_AAD);
        EXPECT_CODE(at_store_provider_create(f->s, &p, &ee_), AT_E_BAD_VALUE);
        at_provider_clear(&p);
        struct at_provider g;
        EXPECT_CODE(at_store_provider_get(f->s, bad[i], &g, &ee_), AT_E_BAD_VALUE);
        EXPECT_CODE(at_store_provider_delete(f->s, bad[i], &ee_), AT_E_BAD_VALUE);
        EXPECT_CODE(at_store_policy_set(f->s, bad[i], "SgxEnclave", "x", 1, NULL, &ee_),
                    AT_E_BAD_VALUE);
    }
    /* 64 characters do not fit the struct either: check the store's own check directly. */
    EXPECT_CODE(at_store_provider_delete(f->s, over64, &ee_), AT_E_BAD_VALUE);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        make_provider(&p, good[i], AT_MODE_AAD);
        EXPECT_CODE(at_store_provider_create(f->s, &p, &ee_), AT_OK);
        at_provider_clear(&p);
    }
    make_provider(&p, max63, AT_MODE_AAD);
    EXPECT_CODE(at_store_provider_create(f->s, &p, &ee_), AT_OK);
    at_provider_clear(&p);
    struct at_provider g;
    EXPECT_CODE(at_store_provider_get(f->s, max63, &g, &ee_), AT_OK);
    assert_string_equal(g.name, max63);
    at_provider_clear(&g);
}

/* --------------------------------------------------------------- policies */

static void expect_policy(struct at_store *s, const char *prov, const char *type, const char *text,
                          size_t len, const char *jws)
{
    struct at_policy_record r;
    EXPECT_CODE(at_store_policy_get(s, prov, type, &r, &ee_), AT_OK);
    assert_int_equal(r.text_len, len);
    assert_memory_equal(r.text, text, len);
    assert_int_equal(r.text[len], 0);
    if (jws == NULL) {
        assert_null(r.jws);
    } else {
        assert_non_null(r.jws);
        assert_string_equal(r.jws, jws);
    }
    assert_true(r.updated_at > 0);
    at_policy_record_clear(&r);
}

static void test_policy_byte_exact(void **state)
{
    struct tu_store_fx *f = *state;
    create_provider(f->s, "p");
    static const char crlf[] =
        "version=1.0;\r\nauthorizationrules\r\n{\r\n  => permit();\r\n};\r\n";
    /* UTF-8 in strings and comments, tabs, trailing blanks, a BOM, no final newline. */
    static const char utf8[] = "\xef\xbb\xbfversion=1.2;\t\n// caf\xc3\xa9 \xe2\x82\xac "
                               "\xf0\x9f\x94\x92  \nauthorizationrules{=>permit();};   ";
    static const char bin[] = "\x01\x02\x7f\x80\xfe\xff\r\r\n\n\x1b[0m";
    EXPECT_CODE(at_store_policy_set(f->s, "p", "SgxEnclave", crlf, strlen(crlf), NULL, &ee_),
                AT_OK);
    expect_policy(f->s, "p", "SgxEnclave", crlf, strlen(crlf), NULL);
    EXPECT_CODE(at_store_policy_set(f->s, "p", "TdxVm", utf8, strlen(utf8), "h.p.s", &ee_), AT_OK);
    expect_policy(f->s, "p", "TdxVm", utf8, strlen(utf8), "h.p.s");
    EXPECT_CODE(at_store_policy_set(f->s, "p", "OpenEnclave", bin, strlen(bin), NULL, &ee_), AT_OK);
    expect_policy(f->s, "p", "OpenEnclave", bin, strlen(bin), NULL);
    /* Embedded NUL: still byte-exact (the length, not strlen, is the truth). */
    static const char nul[] = "a\0b\0";
    EXPECT_CODE(at_store_policy_set(f->s, "p", "SevSnpVm", nul, 4, NULL, &ee_), AT_OK);
    expect_policy(f->s, "p", "SevSnpVm", nul, 4, NULL);
    /* Empty text round-trips as empty, not as absent. */
    EXPECT_CODE(at_store_policy_set(f->s, "p", "Tpm", "", 0, NULL, &ee_), AT_OK);
    expect_policy(f->s, "p", "Tpm", "", 0, NULL);

    /* Replace: new text and jws (NULL clears it). */
    EXPECT_CODE(at_store_policy_set(f->s, "p", "TdxVm", crlf, strlen(crlf), NULL, &ee_), AT_OK);
    expect_policy(f->s, "p", "TdxVm", crlf, strlen(crlf), NULL);
    /* Types are stored as given; the store does not fold case. */
    struct at_policy_record r;
    EXPECT_CODE(at_store_policy_get(f->s, "p", "sgxenclave", &r, &ee_), AT_E_NOT_FOUND);

    char **types;
    size_t n;
    EXPECT_CODE(at_store_policy_list(f->s, "p", &types, &n, &ee_), AT_OK);
    assert_int_equal(n, 5);
    assert_string_equal(types[0], "OpenEnclave");
    assert_string_equal(types[4], "Tpm");
    at_store_strings_free(types, n);
}

static void test_policy_reset_and_errors(void **state)
{
    struct tu_store_fx *f = *state;
    create_provider(f->s, "p");
    struct at_policy_record r;
    EXPECT_CODE(at_store_policy_get(f->s, "p", "SgxEnclave", &r, &ee_), AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_policy_set(f->s, "p", "SgxEnclave", "x", 1, NULL, &ee_), AT_OK);
    EXPECT_CODE(at_store_policy_reset(f->s, "p", "SgxEnclave", &ee_), AT_OK);
    EXPECT_CODE(at_store_policy_get(f->s, "p", "SgxEnclave", &r, &ee_), AT_E_NOT_FOUND);
    /* Reset to the default is idempotent... */
    EXPECT_CODE(at_store_policy_reset(f->s, "p", "SgxEnclave", &ee_), AT_OK);
    /* ...but the provider must exist. */
    EXPECT_CODE(at_store_policy_reset(f->s, "nobody", "SgxEnclave", &ee_), AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_policy_set(f->s, "nobody", "SgxEnclave", "x", 1, NULL, &ee_),
                AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_policy_get(f->s, "nobody", "SgxEnclave", &r, &ee_), AT_E_NOT_FOUND);
    char **types;
    size_t n;
    EXPECT_CODE(at_store_policy_list(f->s, "nobody", &types, &n, &ee_), AT_E_NOT_FOUND);
    /* Type names: letters and digits, 1..32. */
    static const char *const bad_types[] = {"", "Sgx Enclave", "Sgx'", "a;DROP TABLE policies",
                                            "abcdefghijabcdefghijabcdefghijabc"};
    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
        EXPECT_CODE(at_store_policy_set(f->s, "p", bad_types[i], "x", 1, NULL, &ee_),
                    AT_E_BAD_VALUE);
    }
    EXPECT_CODE(at_store_policy_set(f->s, "p", NULL, "x", 1, NULL, &ee_), AT_E_BAD_VALUE);
    EXPECT_CODE(at_store_policy_set(f->s, "p", "SgxEnclave", NULL, 1, NULL, &ee_), AT_E_BAD_VALUE);
    /* Over the policy size cap. */
    size_t big = 256u * 1024u + 1u;
    char *text = calloc(1, big);
    assert_non_null(text);
    EXPECT_CODE(at_store_policy_set(f->s, "p", "SgxEnclave", text, big, NULL, &ee_), AT_E_LIMIT);
    EXPECT_CODE(at_store_policy_set(f->s, "p", "SgxEnclave", text, big - 1, NULL, &ee_), AT_OK);
    free(text);
}

/* Policy changes move the provider's version (compiled-policy caches key on it). */
static void test_versions_and_generation(void **state)
{
    struct tu_store_fx *f = *state;
    uint64_t g0 = at_store_generation(f->s);
    create_provider(f->s, "p");
    uint64_t g1 = at_store_generation(f->s);
    assert_true(g1 > g0);
    struct at_provider p;
    EXPECT_CODE(at_store_provider_get(f->s, "p", &p, &ee_), AT_OK);
    assert_int_equal(p.version, 1);
    at_provider_clear(&p);
    EXPECT_CODE(at_store_policy_set(f->s, "p", "SgxEnclave", "x", 1, NULL, &ee_), AT_OK);
    EXPECT_CODE(at_store_policy_set(f->s, "p", "SgxEnclave", "y", 1, NULL, &ee_), AT_OK);
    EXPECT_CODE(at_store_policy_reset(f->s, "p", "SgxEnclave", &ee_), AT_OK);
    EXPECT_CODE(at_store_provider_get(f->s, "p", &p, &ee_), AT_OK);
    assert_int_equal(p.version, 4);
    at_provider_clear(&p);
    uint64_t g2 = at_store_generation(f->s);
    assert_true(g2 >= g1 + 3);
    /* A failed write is rolled back and does not move the counter. */
    EXPECT_CODE(at_store_policy_set(f->s, "nobody", "SgxEnclave", "x", 1, NULL, &ee_),
                AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_provider_create(f->s, &(struct at_provider){.name = "p"}, &ee_),
                AT_E_BAD_VALUE);
    assert_int_equal(at_store_generation(f->s), g2);
    /* Reads do not move it either. */
    assert_int_equal(at_store_generation(f->s), g2);

    /* A write through another handle (another process, in production) is noticed. */
    struct at_store *other;
    EXPECT_CODE(at_store_open(f->dir, tu_kek(), &other, &ee_), AT_OK);
    EXPECT_CODE(at_store_policy_set(other, "p", "TdxVm", "z", 1, NULL, &ee_), AT_OK);
    uint64_t g3 = at_store_generation(f->s);
    assert_true(g3 > g2);
    /* The audit writer's chain-head commits on its own handle are not configuration:
       they leave the counter (and every cache keyed on it) alone. */
    uint8_t head[32] = {1};
    for (uint64_t i = 1; i <= 3; i++) {
        EXPECT_CODE(at_store_audit_head_set(other, "audit", i, head, 1000, &ee_), AT_OK);
        assert_int_equal(at_store_generation(f->s), g3);
    }
    at_store_close(other);
    assert_int_equal(at_store_generation(f->s), g3);
}

/* ----------------------------------------------------------- signer certs */

static void test_signers(void **state)
{
    struct tu_store_fx *f = *state;
    create_provider(f->s, "iso");
    static const uint8_t c1[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    static const uint8_t c2[] = {0x30, 0x03, 0x02, 0x01, 0x02, 0x00};
    EXPECT_CODE(at_store_signer_add(f->s, "iso", c2, sizeof(c2), &ee_), AT_OK);
    EXPECT_CODE(at_store_signer_add(f->s, "iso", c1, sizeof(c1), &ee_), AT_OK);
    EXPECT_CODE(at_store_signer_add(f->s, "iso", c1, sizeof(c1), &ee_), AT_E_BAD_VALUE);
    EXPECT_CODE(at_store_signer_add(f->s, "nobody", c1, sizeof(c1), &ee_), AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_signer_add(f->s, "iso", c1, 0, &ee_), AT_E_BAD_VALUE);
    uint8_t **ders;
    size_t *lens, n;
    EXPECT_CODE(at_store_signer_list(f->s, "iso", &ders, &lens, &n, &ee_), AT_OK);
    assert_int_equal(n, 2);
    /* Insertion order. */
    assert_int_equal(lens[0], sizeof(c2));
    assert_memory_equal(ders[0], c2, sizeof(c2));
    assert_int_equal(lens[1], sizeof(c1));
    assert_memory_equal(ders[1], c1, sizeof(c1));
    at_store_signers_free(ders, lens, n);
    /* The same certificate may belong to two providers. */
    create_provider(f->s, "iso2");
    EXPECT_CODE(at_store_signer_add(f->s, "iso2", c1, sizeof(c1), &ee_), AT_OK);
    EXPECT_CODE(at_store_signer_list(f->s, "nobody", &ders, &lens, &n, &ee_), AT_E_NOT_FOUND);
    create_provider(f->s, "none");
    EXPECT_CODE(at_store_signer_list(f->s, "none", &ders, &lens, &n, &ee_), AT_OK);
    assert_int_equal(n, 0);
    at_store_signers_free(ders, lens, n);
}

static int64_t count_rows(const char *dir, const char *sql)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/attestd.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_cascade(void **state)
{
    struct tu_store_fx *f = *state;
    create_provider(f->s, "gone");
    create_provider(f->s, "kept");
    static const uint8_t c1[] = {0x30, 0x00};
    EXPECT_CODE(at_store_policy_set(f->s, "gone", "SgxEnclave", "a", 1, NULL, &ee_), AT_OK);
    EXPECT_CODE(at_store_policy_set(f->s, "gone", "TdxVm", "b", 1, NULL, &ee_), AT_OK);
    EXPECT_CODE(at_store_policy_set(f->s, "kept", "TdxVm", "c", 1, NULL, &ee_), AT_OK);
    EXPECT_CODE(at_store_signer_add(f->s, "gone", c1, sizeof(c1), &ee_), AT_OK);
    EXPECT_CODE(at_store_signer_add(f->s, "kept", c1, sizeof(c1), &ee_), AT_OK);
    assert_int_equal(count_rows(f->dir, "SELECT count(*) FROM policies"), 3);
    EXPECT_CODE(at_store_provider_delete(f->s, "gone", &ee_), AT_OK);
    assert_int_equal(count_rows(f->dir, "SELECT count(*) FROM policies"), 1);
    assert_int_equal(count_rows(f->dir, "SELECT count(*) FROM signer_certs"), 1);
    assert_int_equal(count_rows(f->dir, "SELECT count(*) FROM policies WHERE provider='kept'"), 1);
    /* A new provider with the old name starts empty. */
    create_provider(f->s, "gone");
    char **types;
    size_t n;
    EXPECT_CODE(at_store_policy_list(f->s, "gone", &types, &n, &ee_), AT_OK);
    assert_int_equal(n, 0);
    at_store_strings_free(types, n);
    uint8_t **ders;
    size_t *lens;
    EXPECT_CODE(at_store_signer_list(f->s, "gone", &ders, &lens, &n, &ee_), AT_OK);
    assert_int_equal(n, 0);
    at_store_signers_free(ders, lens, n);
}

/* ------------------------------------------------------------- collateral */

static void expect_blob(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    assert_int_equal(alen, blen);
    if (alen > 0) {
        assert_non_null(a);
        assert_non_null(b);
        assert_memory_equal(a, b, alen);
    }
}

static void expect_collateral_equal(const struct at_dcap_collateral *a,
                                    const struct at_dcap_collateral *b)
{
    expect_blob(a->pck_crl_issuer_chain, a->pck_crl_issuer_chain_len, b->pck_crl_issuer_chain,
                b->pck_crl_issuer_chain_len);
    expect_blob(a->root_ca_crl, a->root_ca_crl_len, b->root_ca_crl, b->root_ca_crl_len);
    expect_blob(a->pck_crl, a->pck_crl_len, b->pck_crl, b->pck_crl_len);
    expect_blob(a->tcb_info_issuer_chain, a->tcb_info_issuer_chain_len, b->tcb_info_issuer_chain,
                b->tcb_info_issuer_chain_len);
    expect_blob(a->tcb_info, a->tcb_info_len, b->tcb_info, b->tcb_info_len);
    assert_memory_equal(a->tcb_info_sig, b->tcb_info_sig, 64);
    expect_blob(a->qe_identity_issuer_chain, a->qe_identity_issuer_chain_len,
                b->qe_identity_issuer_chain, b->qe_identity_issuer_chain_len);
    expect_blob(a->qe_identity, a->qe_identity_len, b->qe_identity, b->qe_identity_len);
    assert_memory_equal(a->qe_identity_sig, b->qe_identity_sig, 64);
    assert_int_equal(a->pck_cert_chain == NULL, b->pck_cert_chain == NULL);
    expect_blob(a->pck_cert_chain, a->pck_cert_chain_len, b->pck_cert_chain, b->pck_cert_chain_len);
    assert_true(a->sealed);
    assert_true(b->sealed);
    assert_memory_equal(a->digest, b->digest, 32);
}

static void build_collateral(struct tp_pki *pki, bool tdx, struct at_dcap_collateral *c)
{
    struct tp_collateral_params cp;
    tp_collateral_params_default(&cp, pki, tdx);
    assert_int_equal(tp_collateral_build(pki, &cp, c), 0);
}

static void test_collateral(void **state)
{
    struct tu_store_fx *f = *state;
    struct tp_pki_params pp;
    tp_pki_params_default(&pp, T0);
    struct tp_pki *pki = tp_pki_new(&pp);
    assert_non_null(pki);
    static const uint8_t fmspc[6] = {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00};
    static const uint8_t other_fmspc[6] = {0x00, 0xa0, 0x67, 0x11, 0x00, 0x00};

    struct at_dcap_collateral sgx, tdx, got;
    build_collateral(pki, false, &sgx);
    build_collateral(pki, true, &tdx);
    EXPECT_CODE(at_store_collateral_get(f->s, "sgx", fmspc, "platform", &got, &ee_),
                AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_collateral_put(f->s, "sgx", fmspc, "platform", &sgx, &ee_), AT_OK);
    EXPECT_CODE(at_store_collateral_put(f->s, "tdx", fmspc, "platform", &tdx, &ee_), AT_OK);

    EXPECT_CODE(at_store_collateral_get(f->s, "sgx", fmspc, "platform", &got, &ee_), AT_OK);
    expect_collateral_equal(&sgx, &got);
    assert_null(got.pck_cert_chain);
    at_dcap_collateral_clear(&got);
    EXPECT_CODE(at_store_collateral_get(f->s, "tdx", fmspc, "platform", &got, &ee_), AT_OK);
    expect_collateral_equal(&tdx, &got);
    at_dcap_collateral_clear(&got);
    /* The key has three parts: every other combination is absent. */
    EXPECT_CODE(at_store_collateral_get(f->s, "sgx", fmspc, "processor", &got, &ee_),
                AT_E_NOT_FOUND);
    EXPECT_CODE(at_store_collateral_get(f->s, "sgx", other_fmspc, "platform", &got, &ee_),
                AT_E_NOT_FOUND);

    /* Replace, now with the optional PCK chain. */
    char *chain;
    size_t chain_len;
    assert_int_equal(tp_pki_pck_chain_pem(pki, &chain, &chain_len), 0);
    assert_null(sgx.pck_cert_chain);
    sgx.pck_cert_chain = (uint8_t *)chain;
    sgx.pck_cert_chain_len = chain_len;
    assert_int_equal(at_dcap_collateral_seal(&sgx), 0);
    EXPECT_CODE(at_store_collateral_put(f->s, "sgx", fmspc, "platform", &sgx, &ee_), AT_OK);
    EXPECT_CODE(at_store_collateral_get(f->s, "sgx", fmspc, "platform", &got, &ee_), AT_OK);
    expect_collateral_equal(&sgx, &got);
    at_dcap_collateral_clear(&got);
    assert_int_equal(count_rows(f->dir, "SELECT count(*) FROM collateral"), 2);

    /* Bad keys and incomplete bundles. */
    EXPECT_CODE(at_store_collateral_put(f->s, "SGX", fmspc, "platform", &sgx, &ee_),
                AT_E_BAD_VALUE);
    EXPECT_CODE(at_store_collateral_put(f->s, "sgx", fmspc, "intel", &sgx, &ee_), AT_E_BAD_VALUE);
    EXPECT_CODE(at_store_collateral_get(f->s, "snp", fmspc, "platform", &got, &ee_),
                AT_E_BAD_VALUE);
    struct at_dcap_collateral partial = sgx;
    partial.tcb_info = NULL;
    partial.tcb_info_len = 0;
    EXPECT_CODE(at_store_collateral_put(f->s, "sgx", other_fmspc, "platform", &partial, &ee_),
                AT_E_BAD_VALUE);

    /* A row altered behind the store's back fails to decrypt (AEAD) on read. */
    char path[160];
    snprintf(path, sizeof(path), "%s/attestd.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE collateral SET tcb_info_sig = zeroblob(64)"
                                  " WHERE tee = 'tdx'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    EXPECT_CODE(at_store_collateral_get(f->s, "tdx", fmspc, "platform", &got, &ee_), AT_E_CRYPTO);

    at_dcap_collateral_clear(&sgx);
    at_dcap_collateral_clear(&tdx);
    tp_pki_free(pki);
}

/* ------------------------------------------------------------ persistence */

static void test_reopen_persists(void **state)
{
    struct tu_store_fx *f = *state;
    struct at_provider p;
    make_provider(&p, "persist", AT_MODE_ISOLATED);
    EXPECT_CODE(at_store_provider_create(f->s, &p, &ee_), AT_OK);
    static const char text[] = "version=1.0;\r\nauthorizationrules{=>permit();};\r\n";
    EXPECT_CODE(
        at_store_policy_set(f->s, "persist", "SgxEnclave", text, strlen(text), "j.w.s", &ee_),
        AT_OK);
    static const uint8_t c1[] = {0x30, 0x01, 0x00};
    EXPECT_CODE(at_store_signer_add(f->s, "persist", c1, sizeof(c1), &ee_), AT_OK);
    at_store_close(f->s);
    f->s = NULL;
    EXPECT_CODE(at_store_open(f->dir, tu_kek(), &f->s, &ee_), AT_OK);
    struct at_provider g;
    EXPECT_CODE(at_store_provider_get(f->s, "persist", &g, &ee_), AT_OK);
    assert_int_equal(g.mode, AT_MODE_ISOLATED);
    assert_memory_equal(g.signing_key, p.signing_key, p.signing_key_len);
    assert_memory_equal(g.signing_cert, p.signing_cert, p.signing_cert_len);
    assert_int_equal(g.version, 3);
    at_provider_clear(&g);
    at_provider_clear(&p);
    expect_policy(f->s, "persist", "SgxEnclave", text, strlen(text), "j.w.s");
    uint8_t **ders;
    size_t *lens, n;
    EXPECT_CODE(at_store_signer_list(f->s, "persist", &ders, &lens, &n, &ee_), AT_OK);
    assert_int_equal(n, 1);
    at_store_signers_free(ders, lens, n);
    /* Reopening does not re-run migrations: the schema stays at version 7 (role assignments,
       require_token_for_attestation, the audit chain head, encryption at rest, provider
       allowed_networks, then config_version). */
    assert_int_equal(count_rows(f->dir, "SELECT version FROM schema_version"), 7);
}

/* ------------------------------------------------------------ concurrency */

#define N_THREADS 4
#define N_ITERS   100

static const char *const thread_types[] = {"SgxEnclave", "OpenEnclave", "TdxVm"};

struct worker {
    struct at_store *s;
    const char *dir; /* when s is NULL: open a handle of its own */
    int id;
    int failures;
};

static void policy_text(char *buf, size_t cap, int id, int iter)
{
    snprintf(buf, cap,
             "version=1.0;\r\n// thread %d iteration %d\r\nauthorizationrules"
             "{=>permit();};",
             id, iter);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct at_err e;
    at_err_init(&e);
    struct at_store *s = w->s;
    if (s == NULL && !at_is_ok(at_store_open(w->dir, tu_kek(), &s, &e))) {
        w->failures++;
        return NULL;
    }
    char prov[16];
    snprintf(prov, sizeof(prov), "t%d", w->id);
    for (int i = 0; i < N_ITERS; i++) {
        char text[128];
        policy_text(text, sizeof(text), w->id, i);
        at_err_init(&e);
        if (!at_is_ok(
                at_store_policy_set(s, prov, thread_types[i % 3], text, strlen(text), NULL, &e))) {
            fprintf(stderr, "thread %d: %s\n", w->id, e.msg);
            w->failures++;
        }
        /* Interleave reads with the writes. */
        struct at_policy_record r;
        at_err_init(&e);
        if (!at_is_ok(at_store_policy_get(s, prov, thread_types[i % 3], &r, &e))) {
            w->failures++;
        } else {
            at_policy_record_clear(&r);
        }
    }
    if (w->s == NULL) {
        at_store_close(s);
    }
    return NULL;
}

static void run_writers(struct tu_store_fx *f, bool shared)
{
    for (int t = 0; t < N_THREADS; t++) {
        char name[16];
        snprintf(name, sizeof(name), "t%d", t);
        create_provider(f->s, name);
    }
    pthread_t th[N_THREADS];
    struct worker w[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        w[t] = (struct worker){shared ? f->s : NULL, f->dir, t, 0};
        assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(w[t].failures, 0);
    }
    /* Every provider holds the last text written for each type, byte-exact. */
    for (int t = 0; t < N_THREADS; t++) {
        char prov[16];
        snprintf(prov, sizeof(prov), "t%d", t);
        for (int k = 0; k < 3; k++) {
            int last = N_ITERS - 1;
            while (last % 3 != k) {
                last--;
            }
            char text[128];
            policy_text(text, sizeof(text), t, last);
            expect_policy(f->s, prov, thread_types[k], text, strlen(text), NULL);
        }
        struct at_provider p;
        EXPECT_CODE(at_store_provider_get(f->s, prov, &p, &ee_), AT_OK);
        assert_int_equal(p.version, 1 + N_ITERS);
        at_provider_clear(&p);
    }
    assert_int_equal(count_rows(f->dir, "SELECT count(*) FROM policies"), N_THREADS * 3);
    char path[160];
    snprintf(path, sizeof(path), "%s/attestd.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_concurrent_shared_handle(void **state)
{
    run_writers(*state, true);
}

static void test_concurrent_own_handles(void **state)
{
    run_writers(*state, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_list_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_byte_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_reset_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions_and_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collateral, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_shared_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_own_handles, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
