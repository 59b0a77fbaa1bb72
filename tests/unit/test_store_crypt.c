/*
 * Encryption at rest (src/store/store_crypt.c, kek.c; docs/encryption-at-rest.md):
 * no known plaintext in the database file or its WAL, a ciphertext moved onto another
 * row does not open, wrong and missing KEKs are refused, key rotation (re-wrap and
 * re-encrypt) keeps every record readable and retires the old KEK, a running handle
 * follows a rotation made by another one, truncated and flipped ciphertexts fail, a
 * plaintext store of the previous schema is converted on open, and the KEK formats,
 * file checks and generator.
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
#include "store/kek.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 ((int64_t)1750377600)

static const char KEY_MARK[] = "PKCS8-SECRET-KEY-MARKER-0123456789abcdef";
static const char CERT_MARK[] = "SIGNING-CERT-DER-MARKER-fedcba9876543210";
static const char POLICY_MARK[] = "version=1.0;authorizationrules{c:[type==\"policy-marker-77\"]"
                                  "=>permit();};";
static const char JWS_MARK[] = "eyJhbGciOiJub25lIn0.jws-marker-payload-5150.sig";
static const char SIGNER_MARK[] = "SIGNER-CERT-DER-MARKER-ABCDEFGHIJKL";
static const char PRINCIPAL_MARK[] = "principal-marker-31337@tenant.example";
static const char COLL_MARK[] = "COLLATERAL-TCBINFO-MARKER-9999";
static const char PEM_MARK[] = "-----BEGIN CERTIFICATE-----MIIBpem-marker";

static int setup(void **state)
{
    return tu_store_fx_setup(state, "crypt");
}

static int teardown(void **state)
{
    return tu_store_fx_teardown(state);
}

/* Call expecting a failure; returns the error. */
#define EXPECT_ERR(call, want, errp)                                                               \
    do {                                                                                           \
        at_err_init(errp);                                                                         \
        at_status st_ = (call);                                                                    \
        assert_int_equal(st_.code, (want));                                                        \
    } while (0)

static void kek_of(uint8_t fill, struct at_kek *k)
{
    uint8_t b[AT_KEK_LEN];
    memset(b, fill, sizeof(b));
    at_kek_from_bytes(b, k);
}

static void make_provider(struct at_provider *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->mode = AT_MODE_ISOLATED;
    snprintf(p->alg, sizeof(p->alg), "ES256");
    p->signing_key_len = sizeof(KEY_MARK) - 1;
    p->signing_key = malloc(p->signing_key_len);
    p->signing_cert_len = sizeof(CERT_MARK) - 1;
    p->signing_cert = malloc(p->signing_cert_len);
    assert_non_null(p->signing_key);
    assert_non_null(p->signing_cert);
    memcpy(p->signing_key, KEY_MARK, p->signing_key_len);
    memcpy(p->signing_cert, CERT_MARK, p->signing_cert_len);
    p->token_lifetime_s = 3600;
    p->created_at = T0;
}

static uint8_t *dup_bytes(const char *s)
{
    size_t n = strlen(s);
    uint8_t *b = malloc(n);
    assert_non_null(b);
    memcpy(b, s, n);
    return b;
}

static void make_collateral(struct at_dcap_collateral *c)
{
    memset(c, 0, sizeof(*c));
    c->pck_crl_issuer_chain = dup_bytes(PEM_MARK);
    c->pck_crl_issuer_chain_len = strlen(PEM_MARK);
    c->root_ca_crl = dup_bytes("root-crl-bytes");
    c->root_ca_crl_len = 14;
    c->pck_crl = dup_bytes("pck-crl-bytes");
    c->pck_crl_len = 13;
    c->tcb_info_issuer_chain = dup_bytes(PEM_MARK);
    c->tcb_info_issuer_chain_len = strlen(PEM_MARK);
    c->tcb_info = dup_bytes(COLL_MARK);
    c->tcb_info_len = strlen(COLL_MARK);
    c->qe_identity_issuer_chain = dup_bytes(PEM_MARK);
    c->qe_identity_issuer_chain_len = strlen(PEM_MARK);
    c->qe_identity = dup_bytes("qe-identity-bytes");
    c->qe_identity_len = 17;
    memset(c->tcb_info_sig, 0x5a, 64);
    memset(c->qe_identity_sig, 0x6b, 64);
}

#define NETS_MARK "203.0.113.77/32, 2001:db8:77::/48"

static const uint8_t FMSPC[6] = {0x00, 0xa0, 0x67, 0x11, 0x00, 0x00};

/* Fill the store with one record of every kind, each holding a marker. */
static void populate(struct at_store *s)
{
    struct at_provider p;
    make_provider(&p, "tenant-a");
    EXPECT_CODE(at_store_provider_create(s, &p, &ee_), AT_OK);
    at_provider_clear(&p);
    make_provider(&p, "tenant-b");
    EXPECT_CODE(at_store_provider_create(s, &p, &ee_), AT_OK);
    at_provider_clear(&p);
    EXPECT_CODE(at_store_policy_set(s, "tenant-a", "SgxEnclave", POLICY_MARK, strlen(POLICY_MARK),
                                    JWS_MARK, &ee_),
                AT_OK);
    EXPECT_CODE(at_store_policy_set(s, "tenant-a", "OpenEnclave", "version=1.0;other;", 18, NULL,
                                    &ee_),
                AT_OK);
    EXPECT_CODE(at_store_signer_add(s, "tenant-a", (const uint8_t *)SIGNER_MARK,
                                    strlen(SIGNER_MARK), &ee_),
                AT_OK);
    EXPECT_CODE(at_store_signer_add(s, "tenant-a", (const uint8_t *)"second-signer", 13, &ee_),
                AT_OK);
    EXPECT_CODE(at_store_role_assign(s, PRINCIPAL_MARK, "Owner", "tenant-a", &ee_), AT_OK);
    EXPECT_CODE(at_store_role_assign(s, PRINCIPAL_MARK, "Reader", "*", &ee_), AT_OK);
    struct at_dcap_collateral c;
    make_collateral(&c);
    EXPECT_CODE(at_store_collateral_put(s, "sgx", FMSPC, "platform", &c, &ee_), AT_OK);
    at_dcap_collateral_clear(&c);
    EXPECT_CODE(at_store_provider_networks_set(s, "tenant-a", NETS_MARK, &ee_), AT_OK);
}

/* Every record populate() wrote reads back exactly. */
static void expect_all(struct at_store *s)
{
    struct at_provider g;
    EXPECT_CODE(at_store_provider_get(s, "tenant-a", &g, &ee_), AT_OK);
    assert_int_equal(g.signing_key_len, strlen(KEY_MARK));
    assert_memory_equal(g.signing_key, KEY_MARK, g.signing_key_len);
    assert_memory_equal(g.signing_cert, CERT_MARK, g.signing_cert_len);
    at_provider_clear(&g);
    struct at_policy_record r;
    EXPECT_CODE(at_store_policy_get(s, "tenant-a", "SgxEnclave", &r, &ee_), AT_OK);
    assert_int_equal(r.text_len, strlen(POLICY_MARK));
    assert_string_equal(r.text, POLICY_MARK);
    assert_non_null(r.jws);
    assert_string_equal(r.jws, JWS_MARK);
    at_policy_record_clear(&r);
    EXPECT_CODE(at_store_policy_get(s, "tenant-a", "OpenEnclave", &r, &ee_), AT_OK);
    assert_string_equal(r.text, "version=1.0;other;");
    assert_null(r.jws);
    at_policy_record_clear(&r);
    uint8_t **ders;
    size_t *lens, n;
    EXPECT_CODE(at_store_signer_list(s, "tenant-a", &ders, &lens, &n, &ee_), AT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(lens[0], strlen(SIGNER_MARK));
    assert_memory_equal(ders[0], SIGNER_MARK, lens[0]);
    assert_memory_equal(ders[1], "second-signer", 13);
    at_store_signers_free(ders, lens, n);
    /* The blind index still finds duplicates. */
    EXPECT_CODE(at_store_signer_add(s, "tenant-a", (const uint8_t *)SIGNER_MARK,
                                    strlen(SIGNER_MARK), &ee_),
                AT_E_BAD_VALUE);
    struct at_role_assignment *v;
    EXPECT_CODE(at_store_role_list(s, PRINCIPAL_MARK, &v, &n, &ee_), AT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].principal, PRINCIPAL_MARK);
    assert_string_equal(v[0].scope, "*");
    assert_string_equal(v[0].role, "Reader");
    assert_string_equal(v[1].scope, "tenant-a");
    assert_string_equal(v[1].role, "Owner");
    free(v);
    struct at_dcap_collateral c;
    EXPECT_CODE(at_store_collateral_get(s, "sgx", FMSPC, "platform", &c, &ee_), AT_OK);
    assert_int_equal(c.tcb_info_len, strlen(COLL_MARK));
    assert_memory_equal(c.tcb_info, COLL_MARK, c.tcb_info_len);
    assert_int_equal(c.tcb_info_sig[63], 0x5a);
    assert_int_equal(c.qe_identity_sig[0], 0x6b);
    assert_null(c.pck_cert_chain);
    at_dcap_collateral_clear(&c);
    char *nets = NULL;
    EXPECT_CODE(at_store_provider_networks_get(s, "tenant-a", &nets, &ee_), AT_OK);
    assert_non_null(nets);
    assert_string_equal(nets, NETS_MARK);
    free(nets);
    EXPECT_CODE(at_store_provider_networks_get(s, "tenant-b", &nets, &ee_), AT_OK);
    assert_null(nets);
}

/* Does the file contain the bytes? (missing file: no) */
static bool file_has(const char *path, const void *needle, size_t n)
{
    size_t len = 0;
    uint8_t *b = tu_read_file(path, &len);
    if (b == NULL) {
        return false;
    }
    bool found = false;
    for (size_t i = 0; !found && n > 0 && i + n <= len; i++) {
        found = memcmp(b + i, needle, n) == 0;
    }
    free(b);
    return found;
}

static void expect_no_markers(const char *path)
{
    const char *marks[] = {KEY_MARK,       CERT_MARK, POLICY_MARK, JWS_MARK,  SIGNER_MARK,
                           PRINCIPAL_MARK, COLL_MARK, "MIIBpem",   "tenant.example",
                           NETS_MARK};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        if (file_has(path, marks[i], strlen(marks[i]))) {
            print_error("%s contains plaintext '%s'\n", path, marks[i]);
            fail();
        }
    }
}

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static sqlite3 *raw_db(const struct tu_store_fx *f)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/attestd.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    return db;
}

static void raw_exec(const struct tu_store_fx *f, const char *sql)
{
    sqlite3 *db = raw_db(f);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        print_error("%s: %s\n", sql, err != NULL ? err : "?");
    }
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

/* Flip the lowest bit of byte `at` of policies.text for tenant-a's `type`. */
static void flip_bit(const struct tu_store_fx *f, const char *type, int at)
{
    sqlite3 *db = raw_db(f);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT text FROM policies WHERE type = ?", -1, &st,
                                        NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_bytes(st, 0);
    assert_true(n > at);
    uint8_t *b = malloc((size_t)n);
    assert_non_null(b);
    memcpy(b, sqlite3_column_blob(st, 0), (size_t)n);
    sqlite3_finalize(st);
    b[at] ^= 1;
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE policies SET text = ? WHERE type = ?", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, b, n, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    free(b);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------ tests */

static void test_no_plaintext_in_files(void **state)
{
    struct tu_store_fx *f = *state;
    populate(f->s);
    expect_all(f->s);
    char db[160], wal[168];
    snprintf(db, sizeof(db), "%s/attestd.db", f->dir);
    snprintf(wal, sizeof(wal), "%s/attestd.db-wal", f->dir);
    /* Before a checkpoint the records are in the WAL. */
    assert_true(file_size(wal) > 0);
    assert_true(file_has(wal, "tenant-a", 8)); /* identifiers are plaintext (documented) */
    expect_no_markers(db);
    expect_no_markers(wal);
    /* After a checkpoint they are in the main file. */
    raw_exec(f, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_true(file_has(db, "tenant-a", 8));
    expect_no_markers(db);
    expect_no_markers(wal);
    at_store_close(f->s);
    f->s = NULL;
    expect_no_markers(db);
    EXPECT_CODE(at_store_open(f->dir, tu_kek(), &f->s, &ee_), AT_OK);
    expect_all(f->s);
    /* Deleting rewrites nothing in plaintext either. */
    EXPECT_CODE(at_store_provider_delete(f->s, "tenant-b", &ee_), AT_OK);
    expect_no_markers(wal);
}

static void test_moved_ciphertext_fails(void **state)
{
    struct tu_store_fx *f = *state;
    populate(f->s);
    struct at_err e;
    /* A provider's sealed key copied onto another provider's row. */
    raw_exec(f, "UPDATE providers SET signing_key = (SELECT signing_key FROM providers"
                " WHERE name = 'tenant-a') WHERE name = 'tenant-b'");
    struct at_provider g;
    EXPECT_ERR(at_store_provider_get(f->s, "tenant-b", &g, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "store_decrypt");
    assert_non_null(strstr(e.msg, "providers.signing_key"));
    assert_null(strstr(e.msg, KEY_MARK));
    /* The original still opens. */
    EXPECT_CODE(at_store_provider_get(f->s, "tenant-a", &g, &ee_), AT_OK);
    at_provider_clear(&g);
    /* The certificate column sealed for the key column of the same row. */
    raw_exec(f, "UPDATE providers SET signing_cert = signing_key WHERE name = 'tenant-a'");
    EXPECT_ERR(at_store_provider_get(f->s, "tenant-a", &g, &e), AT_E_CRYPTO, &e);
    assert_non_null(strstr(e.msg, "providers.signing_cert"));
    /* A policy moved to another attestation type of the same provider. */
    raw_exec(f, "UPDATE policies SET text = (SELECT text FROM policies WHERE type = 'SgxEnclave')"
                " WHERE type = 'OpenEnclave'");
    struct at_policy_record r;
    EXPECT_ERR(at_store_policy_get(f->s, "tenant-a", "OpenEnclave", &r, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "store_decrypt");
    assert_non_null(strstr(e.msg, "policies.text"));
    /* A role principal moved to another scope. */
    raw_exec(f, "UPDATE role_assignments SET principal_sealed = (SELECT principal_sealed"
                " FROM role_assignments WHERE scope = '*') WHERE scope = 'tenant-a'");
    struct at_role_assignment *v;
    size_t n;
    EXPECT_ERR(at_store_role_list(f->s, NULL, &v, &n, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "store_decrypt");
    assert_non_null(strstr(e.msg, "role_assignments.principal_sealed"));
    /* A signer certificate moved onto the other signer's row. */
    raw_exec(f, "UPDATE signer_certs SET der = (SELECT der FROM signer_certs ORDER BY rowid"
                " LIMIT 1) WHERE rowid = (SELECT max(rowid) FROM signer_certs)");
    uint8_t **ders;
    size_t *lens;
    EXPECT_ERR(at_store_signer_list(f->s, "tenant-a", &ders, &lens, &n, &e), AT_E_CRYPTO, &e);
    assert_non_null(strstr(e.msg, "signer_certs.der"));
    /* A collateral piece moved to another column. */
    raw_exec(f, "UPDATE collateral SET pck_crl = root_ca_crl");
    struct at_dcap_collateral c;
    EXPECT_ERR(at_store_collateral_get(f->s, "sgx", FMSPC, "platform", &c, &e), AT_E_CRYPTO, &e);
    assert_non_null(strstr(e.msg, "collateral.pck_crl"));
    /* A provider's network list moved onto another provider. */
    raw_exec(f, "UPDATE providers SET allowed_networks = (SELECT allowed_networks FROM providers"
                " WHERE name = 'tenant-a') WHERE name = 'tenant-b'");
    char *nets = NULL;
    EXPECT_ERR(at_store_provider_networks_get(f->s, "tenant-b", &nets, &e), AT_E_CRYPTO, &e);
    assert_non_null(strstr(e.msg, "providers.allowed_networks"));
    assert_null(nets);
}

static void test_tampered_ciphertext_fails(void **state)
{
    struct tu_store_fx *f = *state;
    populate(f->s);
    struct at_err e;
    struct at_policy_record r;
    /* One flipped bit in the middle of the ciphertext. */
    flip_bit(f, "OpenEnclave", 20);
    EXPECT_ERR(at_store_policy_get(f->s, "tenant-a", "OpenEnclave", &r, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "store_decrypt");
    /* Truncated by one byte (the tag no longer verifies), and to less than a header. */
    raw_exec(f, "UPDATE policies SET jws = substr(jws, 1, length(jws) - 1)"
                " WHERE type = 'SgxEnclave'");
    EXPECT_ERR(at_store_policy_get(f->s, "tenant-a", "SgxEnclave", &r, &e), AT_E_CRYPTO, &e);
    assert_non_null(strstr(e.msg, "policies.jws"));
    raw_exec(f, "UPDATE providers SET signing_key = substr(signing_key, 1, 10)"
                " WHERE name = 'tenant-b'");
    struct at_provider g;
    EXPECT_ERR(at_store_provider_get(f->s, "tenant-b", &g, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "store_decrypt");
    /* A plaintext value written behind the store's back is refused, not returned. */
    raw_exec(f, "UPDATE providers SET signing_cert = X'3082010a' WHERE name = 'tenant-a'");
    EXPECT_ERR(at_store_provider_get(f->s, "tenant-a", &g, &e), AT_E_CRYPTO, &e);
}

static void test_wrong_and_missing_kek(void **state)
{
    struct tu_store_fx *f = *state;
    populate(f->s);
    at_store_close(f->s);
    f->s = NULL;
    struct at_kek other;
    kek_of(0x42, &other);
    struct at_err e;
    struct at_store *s = NULL;
    EXPECT_ERR(at_store_open(f->dir, &other, &s, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "kek_wrong");
    assert_string_equal(e.msg,
                        "the key-encryption key does not open this store's data key (wrong key?)");
    assert_null(s);
    EXPECT_ERR(at_store_open(f->dir, NULL, &s, &e), AT_E_USAGE, &e);
    assert_string_equal(e.check, "kek_missing");
    assert_string_equal(e.msg, "no key-encryption key (set kek_file, ATTESTD_KEK or the systemd "
                               "credential attestd-kek)");
    /* A damaged keyring is refused too, and so is an emptied one (it must not pass for
       a plaintext store to be "converted"). */
    raw_exec(f, "UPDATE keyring SET wrapped = substr(wrapped, 1, 30)");
    EXPECT_ERR(at_store_open(f->dir, tu_kek(), &s, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "keyring");
    raw_exec(f, "DELETE FROM keyring");
    EXPECT_ERR(at_store_open(f->dir, tu_kek(), &s, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "keyring");
    assert_non_null(strstr(e.msg, "refusing to open"));
    assert_null(s);
    at_kek_clear(&other);
}

static void key_status(struct at_store *s, uint32_t want_id, size_t want_n)
{
    struct at_store_key_info *v;
    size_t n;
    enum at_kek_source src;
    EXPECT_CODE(at_store_key_status(s, &v, &n, &src, &ee_), AT_OK);
    assert_int_equal(n, want_n);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (v[i].active) {
            assert_int_equal(v[i].id, want_id);
            found = true;
        }
    }
    assert_true(found);
    free(v);
}

static void write_key_file(const char *path, uint8_t fill)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < AT_KEK_LEN; i++) {
        fprintf(fp, "%02x", fill);
    }
    fputc('\n', fp);
    fclose(fp);
    assert_int_equal(chmod(path, 0600), 0);
}

static void test_rotate(void **state)
{
    struct tu_store_fx *f = *state;
    populate(f->s);
    key_status(f->s, 1, 1);
    /* A second handle, as a running attestd whose KEK comes from a file. */
    char kf[160];
    snprintf(kf, sizeof(kf), "%s/kek.key", f->base);
    struct at_kek k1;
    at_kek_from_bytes(tu_kek()->key, &k1);
    FILE *fp = fopen(kf, "w");
    assert_non_null(fp);
    for (int i = 0; i < AT_KEK_LEN; i++) {
        fprintf(fp, "%02x", k1.key[i]);
    }
    fclose(fp);
    assert_int_equal(chmod(kf, 0600), 0);
    struct at_kek daemon_kek;
    EXPECT_CODE(at_kek_load(kf, &daemon_kek, &ee_), AT_OK);
    assert_int_equal(daemon_kek.source, AT_KEK_SRC_FILE);
    struct at_store *daemon = NULL;
    EXPECT_CODE(at_store_open(f->dir, &daemon_kek, &daemon, &ee_), AT_OK);
    at_kek_clear(&daemon_kek);

    /* 1. Re-wrap only: same data key, new KEK. */
    struct at_kek k2;
    kek_of(0x22, &k2);
    EXPECT_CODE(at_store_rekey(f->s, &k2, false, &ee_), AT_OK);
    key_status(f->s, 1, 1);
    expect_all(f->s);
    expect_all(daemon); /* its data key did not change */
    at_store_close(f->s);
    f->s = NULL;
    struct at_err e;
    EXPECT_ERR(at_store_open(f->dir, &k1, &f->s, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "kek_wrong");
    EXPECT_CODE(at_store_open(f->dir, &k2, &f->s, &ee_), AT_OK);
    expect_all(f->s);

    /* 2. Re-encrypt: a new data key (id 2), every record sealed under it, key 1 gone.
       The operator installs the new KEK where attestd reads it first (runbook). */
    write_key_file(kf, 0x33);
    struct at_kek k3;
    kek_of(0x33, &k3);
    EXPECT_CODE(at_store_rekey(f->s, &k3, true, &ee_), AT_OK);
    key_status(f->s, 2, 1);
    expect_all(f->s);
    /* The running handle meets data key 2, re-reads its key file and keeps serving,
       including blind-index lookups (roles) and writes. */
    expect_all(daemon);
    EXPECT_CODE(at_store_policy_set(daemon, "tenant-b", "SgxEnclave", "version=1.0;x;", 14, NULL,
                                    &ee_),
                AT_OK);
    struct at_policy_record r;
    EXPECT_CODE(at_store_policy_get(f->s, "tenant-b", "SgxEnclave", &r, &ee_), AT_OK);
    assert_string_equal(r.text, "version=1.0;x;");
    at_policy_record_clear(&r);
    at_store_close(daemon);
    at_store_close(f->s);
    f->s = NULL;
    EXPECT_ERR(at_store_open(f->dir, &k2, &f->s, &e), AT_E_CRYPTO, &e);
    assert_string_equal(e.check, "kek_wrong");
    EXPECT_CODE(at_store_open(f->dir, &k3, &f->s, &ee_), AT_OK);
    expect_all(f->s);
    /* No record is left under data key 1: every sealed value starts A1 00000002. */
    sqlite3 *db = raw_db(f);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM ("
                                        " SELECT signing_key AS v FROM providers UNION ALL"
                                        " SELECT text FROM policies UNION ALL"
                                        " SELECT der FROM signer_certs UNION ALL"
                                        " SELECT tcb_info FROM collateral UNION ALL"
                                        " SELECT principal_sealed FROM role_assignments)"
                                        " WHERE hex(substr(v, 1, 5)) <> 'A100000002'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    at_kek_clear(&k1);
    at_kek_clear(&k2);
    at_kek_clear(&k3);
}

/* A store written by the previous build (schema 3, plaintext) is sealed on its first open. */
static void test_convert_plaintext_store(void **state)
{
    struct tu_store_fx *f = *state;
    at_store_close(f->s);
    f->s = NULL;
    char db[160];
    snprintf(db, sizeof(db), "%s/attestd.db", f->dir);
    assert_int_equal(unlink(db), 0);
    raw_exec(f,
             "PRAGMA journal_mode=WAL;"
             "CREATE TABLE schema_version(id INTEGER PRIMARY KEY CHECK (id = 1),"
             " version INTEGER NOT NULL);"
             "INSERT INTO schema_version VALUES (1, 3);"
             "CREATE TABLE providers(name TEXT PRIMARY KEY NOT NULL, mode TEXT NOT NULL"
             " CHECK (mode IN ('aad','isolated')), alg TEXT NOT NULL, signing_key BLOB NOT NULL,"
             " signing_cert BLOB NOT NULL, token_lifetime_s INTEGER NOT NULL,"
             " created_at INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1,"
             " require_token INTEGER NOT NULL DEFAULT 0 CHECK (require_token IN (0, 1)));"
             "CREATE TABLE policies(provider TEXT NOT NULL REFERENCES providers(name)"
             " ON DELETE CASCADE, type TEXT NOT NULL, text BLOB NOT NULL, jws TEXT NULL,"
             " updated_at INTEGER NOT NULL, PRIMARY KEY (provider, type));"
             "CREATE TABLE signer_certs(provider TEXT NOT NULL REFERENCES providers(name)"
             " ON DELETE CASCADE, der BLOB NOT NULL, sha256 BLOB NOT NULL"
             " CHECK (length(sha256) = 32), added_at INTEGER NOT NULL, UNIQUE (provider, sha256));"
             "CREATE TABLE collateral(tee TEXT NOT NULL CHECK (tee IN ('sgx','tdx')),"
             " fmspc BLOB NOT NULL CHECK (length(fmspc) = 6), ca TEXT NOT NULL"
             " CHECK (ca IN ('platform','processor')), pck_crl_issuer_chain BLOB NOT NULL,"
             " root_ca_crl BLOB NOT NULL, pck_crl BLOB NOT NULL, tcb_info_issuer_chain BLOB NOT"
             " NULL, tcb_info BLOB NOT NULL, tcb_info_sig BLOB NOT NULL"
             " CHECK (length(tcb_info_sig) = 64), qe_identity_issuer_chain BLOB NOT NULL,"
             " qe_identity BLOB NOT NULL, qe_identity_sig BLOB NOT NULL"
             " CHECK (length(qe_identity_sig) = 64), pck_cert_chain BLOB NULL,"
             " digest BLOB NOT NULL CHECK (length(digest) = 32), updated_at INTEGER NOT NULL,"
             " PRIMARY KEY (tee, fmspc, ca));"
             "CREATE TABLE role_assignments(principal TEXT NOT NULL"
             " CHECK (length(principal) BETWEEN 1 AND 319), role TEXT NOT NULL"
             " CHECK (role IN ('Reader','Contributor','Owner')), scope TEXT NOT NULL,"
             " PRIMARY KEY (principal, scope));"
             "INSERT INTO providers VALUES ('legacy', 'isolated', 'ES256',"
             " CAST('" "PKCS8-SECRET-KEY-MARKER-0123456789abcdef" "' AS BLOB),"
             " CAST('" "SIGNING-CERT-DER-MARKER-fedcba9876543210" "' AS BLOB), 3600, 1, 4, 1);"
             "INSERT INTO policies VALUES ('legacy', 'SgxEnclave', CAST('version=1.0;legacy;'"
             " AS BLOB), 'legacy.jws.value', 5);"
             "INSERT INTO signer_certs VALUES ('legacy', CAST('" "SIGNER-CERT-DER-MARKER-ABCDEFGHIJKL"
             "' AS BLOB), zeroblob(32), 6);"
             "INSERT INTO role_assignments VALUES ('" "principal-marker-31337@tenant.example"
             "', 'Contributor', 'legacy');");
    EXPECT_CODE(at_store_open(f->dir, tu_kek(), &f->s, &ee_), AT_OK);
    struct at_provider g;
    EXPECT_CODE(at_store_provider_get(f->s, "legacy", &g, &ee_), AT_OK);
    assert_memory_equal(g.signing_key, KEY_MARK, strlen(KEY_MARK));
    assert_memory_equal(g.signing_cert, CERT_MARK, strlen(CERT_MARK));
    assert_int_equal(g.version, 4);
    assert_true(g.require_token_for_attestation);
    at_provider_clear(&g);
    struct at_policy_record r;
    EXPECT_CODE(at_store_policy_get(f->s, "legacy", "SgxEnclave", &r, &ee_), AT_OK);
    assert_string_equal(r.text, "version=1.0;legacy;");
    assert_string_equal(r.jws, "legacy.jws.value");
    at_policy_record_clear(&r);
    uint8_t **ders;
    size_t *lens, n;
    EXPECT_CODE(at_store_signer_list(f->s, "legacy", &ders, &lens, &n, &ee_), AT_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(ders[0], SIGNER_MARK, strlen(SIGNER_MARK));
    at_store_signers_free(ders, lens, n);
    struct at_role_assignment *v;
    EXPECT_CODE(at_store_role_list(f->s, PRINCIPAL_MARK, &v, &n, &ee_), AT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].role, "Contributor");
    free(v);
    at_store_close(f->s);
    f->s = NULL;
    /* Closed (checkpointed): the file holds none of the old plaintext. */
    expect_no_markers(db);
    EXPECT_CODE(at_store_open(f->dir, tu_kek(), &f->s, &ee_), AT_OK);
}

static void test_kek_formats_and_files(void **state)
{
    struct tu_store_fx *f = *state;
    uint8_t k[AT_KEK_LEN];
    static const char hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    EXPECT_CODE(at_kek_parse(hex, strlen(hex), k, &ee_), AT_OK);
    assert_int_equal(k[0], 0);
    assert_int_equal(k[31], 0x1f);
    EXPECT_CODE(at_kek_parse("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n",
                             65, k, &ee_),
                AT_OK);
    assert_int_equal(k[10], 0x0a);
    /* base64 with padding, base64url without. */
    static const char b64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    EXPECT_CODE(at_kek_parse(b64, strlen(b64), k, &ee_), AT_OK);
    assert_int_equal(k[31], 0x1f);
    static const char b64u[] = "_-ECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n";
    EXPECT_CODE(at_kek_parse(b64u, strlen(b64u), k, &ee_), AT_OK);
    assert_int_equal(k[0], 0xff);
    assert_int_equal(k[1], 0xe1);
    struct at_err e;
    EXPECT_ERR(at_kek_parse(hex, 62, k, &e), AT_E_BAD_VALUE, &e);
    assert_string_equal(e.check, "kek_format");
    EXPECT_ERR(at_kek_parse("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                            64, k, &e),
               AT_E_BAD_VALUE, &e);
    EXPECT_ERR(at_kek_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", 44, k, &e),
               AT_E_BAD_VALUE, &e); /* 31 bytes */
    EXPECT_ERR(at_kek_parse("", 0, k, &e), AT_E_BAD_VALUE, &e);

    /* generate: 0600, 64 hex + newline, refuses to overwrite; loads back. */
    char path[160];
    snprintf(path, sizeof(path), "%s/gen.key", f->base);
    EXPECT_CODE(at_kek_generate_file(path, &ee_), AT_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 65);
    EXPECT_ERR(at_kek_generate_file(path, &e), AT_E_IO, &e);
    assert_non_null(strstr(e.msg, "refusing to overwrite"));
    struct at_kek kk;
    EXPECT_CODE(at_kek_load(path, &kk, &ee_), AT_OK);
    assert_int_equal(kk.source, AT_KEK_SRC_FILE);
    assert_string_equal(kk.path, path);
    at_kek_clear(&kk);
    for (size_t i = 0; i < sizeof(kk); i++) {
        assert_int_equal(((const uint8_t *)&kk)[i], 0);
    }
    /* Too open: refused, naming the mode. */
    assert_int_equal(chmod(path, 0644), 0);
    EXPECT_ERR(at_kek_load(path, &kk, &e), AT_E_IO, &e);
    assert_string_equal(e.check, "kek_file");
    assert_non_null(strstr(e.msg, "0600"));
    assert_non_null(strstr(e.msg, "0644"));
    assert_int_equal(chmod(path, 0640), 0);
    EXPECT_ERR(at_kek_load(path, &kk, &e), AT_E_IO, &e);
    assert_int_equal(chmod(path, 0400), 0);
    EXPECT_CODE(at_kek_load(path, &kk, &ee_), AT_OK);
    at_kek_clear(&kk);
    snprintf(path, sizeof(path), "%s/absent.key", f->base);
    EXPECT_ERR(at_kek_load(path, &kk, &e), AT_E_IO, &e);

    /* Environment, then the systemd credential, when no file is given. */
    const char *saved = getenv(AT_KEK_ENV);
    char *saved_copy = saved != NULL ? strdup(saved) : NULL;
    assert_int_equal(setenv(AT_KEK_ENV, hex, 1), 0);
    EXPECT_CODE(at_kek_load(NULL, &kk, &ee_), AT_OK);
    assert_int_equal(kk.source, AT_KEK_SRC_ENV);
    assert_int_equal(kk.key[31], 0x1f);
    at_kek_clear(&kk);
    assert_int_equal(setenv(AT_KEK_ENV, "not-a-key", 1), 0);
    EXPECT_ERR(at_kek_load(NULL, &kk, &e), AT_E_BAD_VALUE, &e);
    assert_int_equal(unsetenv(AT_KEK_ENV), 0);
    char cred[160];
    snprintf(cred, sizeof(cred), "%s/attestd-kek", f->base);
    write_key_file(cred, 0x77);
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", f->base, 1), 0);
    EXPECT_CODE(at_kek_load(NULL, &kk, &ee_), AT_OK);
    assert_int_equal(kk.source, AT_KEK_SRC_CREDENTIAL);
    assert_int_equal(kk.key[0], 0x77);
    at_kek_clear(&kk);
    assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
    EXPECT_ERR(at_kek_load(NULL, &kk, &e), AT_E_USAGE, &e);
    assert_string_equal(e.check, "kek_missing");
    if (saved_copy != NULL) {
        assert_int_equal(setenv(AT_KEK_ENV, saved_copy, 1), 0);
        free(saved_copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_plaintext_in_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_ciphertext_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_ciphertext_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_and_missing_kek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_convert_plaintext_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek_formats_and_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
