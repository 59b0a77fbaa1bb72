/*
 * Backups (src/backup/, issue 7): round trip through a file into a fresh store (every
 * record equal), passphrase and key files, wrong keys, truncation at many lengths and
 * a bit flip in every byte (open fails; the restore path leaves the store file's bytes
 * unchanged), a failing apply leaves the store unchanged, no plaintext in the file,
 * schema errors named, header bounds, the dry-run difference and scheduled backups
 * with pruning.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "backup/backup.h"
#include "base/encoding.h"
#include "base/fileio.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "policy/policy.h"
#include "service/service.h"
#include "store/store.h"
#include "test_util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLICY_TEXT                                                                                \
    "version=1.0; authorizationrules{c:[type==\"x-secret-marker-7f3a\"] => permit();};"
#define POLICY2_TEXT "version=1.0; authorizationrules{=> deny();}; /* marker-b91c */"
#define FAKE_JWS     "eyJhbGciOiJub25lIn0.eyJBdHRlc3RhdGlvblBvbGljeSI6Im1hcmtlci1qd3MifQ."
#define PRINCIPAL    "tid-backup/oid-principal-marker"
#define NOW          ((int64_t)1780000000)

struct fx {
    char base[64];
    char dir[96]; /* the live store */
    char file[128];
    struct at_store *s;
    struct at_backup_key key;
};

/* The one place this file opens a store (the lead adds the KEK here at merge). */
static at_status open_store(const char *dir, struct at_store **out, struct at_err *e)
{
    return at_store_open(dir, tu_kek(), out, e);
}

#define OK(expr)                                                                                   \
    do {                                                                                           \
        struct at_err e_;                                                                          \
        at_err_init(&e_);                                                                          \
        struct at_err *e = &e_;                                                                    \
        at_status st_ = (expr);                                                                    \
        if (!at_is_ok(st_)) {                                                                      \
            fail_msg("%s: %s", #expr, e_.msg);                                                     \
        }                                                                                          \
    } while (0)

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void raw_key(struct fx *f)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/key", f->base);
    write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 65,
               0600);
    OK(at_backup_key_load(path, &f->key, e));
}

/* Two providers (aad with a signed and an unsigned policy; isolated with a signer) and roles. */
static void populate(struct at_store *s)
{
    OK(at_service_provider_create(s, "tenant-a", AT_MODE_AAD, "ES256", NOW, e));
    OK(at_service_provider_create(s, "tenant-iso", AT_MODE_ISOLATED, "ES256", NOW + 1, e));
    OK(at_store_policy_set(s, "tenant-a", "SgxEnclave", POLICY_TEXT, strlen(POLICY_TEXT), NULL, e));
    OK(at_store_policy_set(s, "tenant-a", "TdxVm", POLICY2_TEXT, strlen(POLICY2_TEXT), FAKE_JWS,
                           e));
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    OK(at_store_provider_get(s, "tenant-a", &p, e));
    OK(at_store_signer_add(s, "tenant-iso", p.signing_cert, p.signing_cert_len, e));
    at_provider_clear(&p);
    OK(at_store_provider_set_require_token(s, "tenant-iso", true, e));
    OK(at_store_role_assign(s, PRINCIPAL, "Owner", "tenant-a", e));
    OK(at_store_role_assign(s, "tid-backup/oid-2", "Reader", "*", e));
}

static json_t *collect(struct at_store *s)
{
    json_t *doc = NULL;
    struct at_backup_meta m = {.now = NOW};
    OK(at_backup_collect(s, &m, &doc, e));
    return doc;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_non_null(tu_tempdir(f->base, sizeof(f->base), "backup"));
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->base);
    snprintf(f->file, sizeof(f->file), "%s/b.atb", f->base);
    OK(open_store(f->dir, &f->s, e));
    raw_key(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    at_store_close(f->s);
    at_backup_key_clear(&f->key);
    assert_int_equal(tu_rm_tree(f->base), 0);
    free(f);
    return 0;
}

static void make_backup(struct fx *f, const struct at_backup_key *k)
{
    struct at_backup_meta m = {.now = NOW};
    struct at_backup_counts c;
    OK(at_backup_create_file(f->s, f->dir, &m, k, f->file, &c, e));
    struct stat sb;
    assert_int_equal(stat(f->file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void sha_of_file(const char *path, uint8_t out[32])
{
    uint8_t *b = NULL;
    size_t n = 0;
    OK(at_file_read(path, (size_t)64 << 20, &b, &n, e));
    assert_int_equal(at_sha256(b, n, out), 0);
    free(b);
}

/* The restore path of `attestctl backup restore`: read+verify first, then restore. */
static at_status restore_path(const char *dir, const char *file, const struct at_backup_key *k,
                              struct at_err *e)
{
    json_t *doc = NULL;
    AT_TRY(at_backup_read_file(file, k, &doc, e));
    struct at_store *s = NULL;
    at_status r = open_store(dir, &s, e);
    if (at_is_ok(r)) {
        r = at_backup_restore(s, dir, doc, e);
    }
    at_store_close(s);
    at_backup_doc_free(doc);
    return r;
}

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    make_backup(f, &f->key);
    json_t *doc = NULL;
    OK(at_backup_read_file(f->file, &f->key, &doc, e));
    struct at_backup_counts c;
    OK(at_backup_check_doc(doc, &c, e));
    assert_int_equal(c.providers, 2);
    assert_int_equal(c.policies, 2);
    assert_int_equal(c.signers, 1);
    assert_int_equal(c.roles, 2);
    assert_string_equal(json_string_value(json_object_get(doc, "collateral")), "not included");
    int64_t schema = 0;
    OK(at_store_schema_version(f->s, &schema, e));
    assert_true(schema >= 4); /* audit_head and later migrations */
    assert_int_equal(json_integer_value(json_object_get(doc, "store_schema_version")), schema);
    at_backup_doc_free(doc);

    /* Restore into a brand-new store: every record equal (keys, certs, hashes, roles). */
    char dir2[128];
    snprintf(dir2, sizeof(dir2), "%s/restored", f->base);
    OK(restore_path(dir2, f->file, &f->key, e));
    struct at_store *s2 = NULL;
    OK(open_store(dir2, &s2, e));
    json_t *a = collect(f->s), *b = collect(s2);
    assert_true(json_equal(a, b));
    /* The policy hash of the signed policy is the MAA one: b64url(SHA-256(JWS)). */
    uint8_t h[32];
    assert_int_equal(at_sha256(FAKE_JWS, strlen(FAKE_JWS), h), 0);
    char want[48];
    at_b64url_encode(h, sizeof(h), want);
    json_t *pols = json_object_get(json_array_get(json_object_get(b, "providers"), 0), "policies");
    assert_string_equal(json_string_value(json_object_get(json_array_get(pols, 1), "type")),
                        "TdxVm");
    assert_string_equal(json_string_value(json_object_get(json_array_get(pols, 1), "hash")), want);
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    OK(at_store_provider_get(s2, "tenant-iso", &p, e));
    assert_true(p.require_token_for_attestation);
    assert_int_equal(p.created_at, NOW + 1);
    assert_int_equal(p.mode, AT_MODE_ISOLATED);
    at_provider_clear(&p);
    at_backup_doc_free(a);
    at_backup_doc_free(b);

    /* A second restore into the now non-empty store fails and names why. */
    struct at_err e2;
    at_err_init(&e2);
    assert_false(at_is_ok(restore_path(dir2, f->file, &f->key, &e2)));
    assert_non_null(strstr(e2.msg, "the store is not empty"));
    at_store_close(s2);
    /* No temp directories are left behind. */
    DIR *d = opendir(f->dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        assert_null(strstr(de->d_name, ".snapshot-"));
        assert_null(strstr(de->d_name, ".restore-"));
    }
    closedir(d);
}

static void test_restore_over_default(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    make_backup(f, &f->key);
    /* A store attestd started on once holds only the auto-created default: allowed. */
    char dir2[128];
    snprintf(dir2, sizeof(dir2), "%s/fresh", f->base);
    struct at_store *s2 = NULL;
    OK(open_store(dir2, &s2, e));
    OK(at_service_ensure_default(s2, NOW, e));
    bool empty = false;
    char why[160];
    OK(at_backup_store_empty(s2, &empty, why, sizeof(why), e));
    assert_true(empty);
    at_store_close(s2);
    OK(restore_path(dir2, f->file, &f->key, e));
    OK(open_store(dir2, &s2, e));
    char **names = NULL;
    size_t n = 0;
    OK(at_store_provider_list(s2, &names, &n, e));
    assert_int_equal(n, 2); /* the backup had no "default": the store now matches it */
    assert_string_equal(names[0], "tenant-a");
    at_store_strings_free(names, n);
    at_store_close(s2);
}

static void test_passphrase(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    struct at_backup_key pk;
    memset(&pk, 0, sizeof(pk));
    setenv("ATTESTD_BACKUP_PASSPHRASE", "correct horse battery", 1);
    OK(at_backup_passphrase_load(NULL, &pk, e));
    make_backup(f, &pk);
    json_t *doc = NULL;
    OK(at_backup_read_file(f->file, &pk, &doc, e));
    at_backup_doc_free(doc);
    at_backup_key_clear(&pk);

    /* Wrong passphrase, and a raw key for a passphrase backup. */
    setenv("ATTESTD_BACKUP_PASSPHRASE", "correct horse battery!", 1);
    OK(at_backup_passphrase_load(NULL, &pk, e));
    struct at_err e2;
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_read_file(f->file, &pk, &doc, &e2)));
    assert_string_equal(e2.check, "backup_integrity");
    at_backup_key_clear(&pk);
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_read_file(f->file, &f->key, &doc, &e2)));
    assert_non_null(strstr(e2.msg, "made with a passphrase"));
    /* Too short a passphrase; a passphrase file must be 0600. */
    setenv("ATTESTD_BACKUP_PASSPHRASE", "short", 1);
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_passphrase_load(NULL, &pk, &e2)));
    unsetenv("ATTESTD_BACKUP_PASSPHRASE");
    char path[128];
    snprintf(path, sizeof(path), "%s/pass", f->base);
    write_file(path, "a long passphrase\n", 18, 0640);
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_passphrase_load(path, &pk, &e2)));
    assert_string_equal(e2.check, "backup_key_mode");
    assert_int_equal(chmod(path, 0600), 0);
    OK(at_backup_passphrase_load(path, &pk, e));
    assert_int_equal(pk.pass_len, 17); /* the newline is not part of it */
    at_backup_key_clear(&pk);
}

static void test_key_files(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/k2", f->base);
    struct at_backup_key k;
    memset(&k, 0, sizeof(k));
    /* base64 of the same 32 bytes as the hex key */
    const char *b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    write_file(path, b64, strlen(b64), 0600);
    OK(at_backup_key_load(path, &k, e));
    assert_memory_equal(k.raw, f->key.raw, 32);
    at_backup_key_clear(&k);
    struct at_err e2;
    at_err_init(&e2);
    write_file(path, b64, strlen(b64), 0644);
    assert_false(at_is_ok(at_backup_key_load(path, &k, &e2)));
    assert_string_equal(e2.check, "backup_key_mode");
    write_file(path, "00010203", 8, 0600);
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_key_load(path, &k, &e2)));
    assert_non_null(strstr(e2.msg, "32 bytes"));
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_key_load("/nonexistent/key", &k, &e2)));
    assert_int_equal(e2.code, AT_E_IO);
}

static void test_tamper(void **state)
{
    struct fx *f = *state;
    OK(at_service_provider_create(f->s, "tenant-a", AT_MODE_AAD, "ES256", NOW, e));
    make_backup(f, &f->key);
    uint8_t *orig = NULL;
    size_t len = 0;
    OK(at_file_read(f->file, (size_t)1 << 20, &orig, &len, e));
    assert_true(len > AT_BACKUP_HEADER_LEN + AT_BACKUP_TAG_LEN);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    /* open() must fail for every truncation and for a bit flip in every byte. */
    for (size_t n = 0; n < len; n++) {
        json_t *doc = NULL;
        struct at_err e2;
        at_err_init(&e2);
        if (at_is_ok(at_backup_open(orig, n, &f->key, &doc, &e2))) {
            fail_msg("truncated at %zu accepted", n);
        }
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, orig, len);
        buf[i] ^= (uint8_t)(1u << (i % 8));
        json_t *doc = NULL;
        struct at_err e2;
        at_err_init(&e2);
        if (at_is_ok(at_backup_open(buf, len, &f->key, &doc, &e2))) {
            fail_msg("bit flip at byte %zu accepted", i);
        }
    }
    /* The restore path over a live (empty) store: the store file is byte-for-byte unchanged. */
    char dir2[128], db[160], bad[160];
    snprintf(dir2, sizeof(dir2), "%s/target", f->base);
    snprintf(db, sizeof(db), "%s/attestd.db", dir2);
    snprintf(bad, sizeof(bad), "%s/bad.atb", f->base);
    struct at_store *s2 = NULL;
    OK(open_store(dir2, &s2, e));
    at_store_close(s2);
    uint8_t before[32], after[32];
    sha_of_file(db, before);
    size_t tried = 0;
    for (size_t i = 0; i < len; i += 53) {
        memcpy(buf, orig, len);
        buf[i] ^= 0x80;
        write_file(bad, buf, len, 0600);
        struct at_err e2;
        at_err_init(&e2);
        assert_false(at_is_ok(restore_path(dir2, bad, &f->key, &e2)));
        write_file(bad, orig, i, 0600); /* truncated at i */
        at_err_init(&e2);
        assert_false(at_is_ok(restore_path(dir2, bad, &f->key, &e2)));
        tried++;
    }
    assert_true(tried > 10);
    sha_of_file(db, after);
    assert_memory_equal(before, after, 32);
    /* Wrong raw key. */
    struct at_backup_key wk = f->key;
    wk.raw[0] ^= 1;
    json_t *doc = NULL;
    struct at_err e2;
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_open(orig, len, &wk, &doc, &e2)));
    assert_string_equal(e2.check, "backup_integrity");
    at_zeroize(&wk, sizeof(wk));
    free(buf);
    free(orig);
}

/* A document that passes the schema but fails while being applied leaves the store as it was. */
static void test_apply_failure_atomic(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    json_t *doc = collect(f->s);
    /* A principal with a control character: the schema allows the string, the store not. */
    json_t *roles = json_object_get(doc, "role_assignments");
    json_object_set_new(json_array_get(roles, 1), "principal", json_string("bad\x01principal"));
    OK(at_backup_check_doc(doc, NULL, e));
    char dir2[128], db[160];
    snprintf(dir2, sizeof(dir2), "%s/target", f->base);
    snprintf(db, sizeof(db), "%s/attestd.db", dir2);
    struct at_store *s2 = NULL;
    OK(open_store(dir2, &s2, e));
    at_store_close(s2); /* checkpoint the new store's schema into its file */
    uint8_t before[32], after[32];
    sha_of_file(db, before);
    OK(open_store(dir2, &s2, e));
    struct at_err e2;
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_restore(s2, dir2, doc, &e2)));
    char **names = NULL;
    size_t n = 9;
    OK(at_store_provider_list(s2, &names, &n, e));
    assert_int_equal(n, 0);
    at_store_strings_free(names, n);
    at_store_close(s2);
    sha_of_file(db, after);
    assert_memory_equal(before, after, 32);
    at_backup_doc_free(doc);
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m > 0 && i + m <= n; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

static void test_no_plaintext(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    make_backup(f, &f->key);
    uint8_t *b = NULL;
    size_t n = 0;
    OK(at_file_read(f->file, (size_t)1 << 20, &b, &n, e));
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    OK(at_store_provider_get(f->s, "tenant-a", &p, e));
    char *key_b64 = at_b64url_dup(p.signing_key, p.signing_key_len);
    char *cert_b64 = at_b64url_dup(p.signing_cert, p.signing_cert_len);
    char *text_b64 = at_b64url_dup((const uint8_t *)POLICY_TEXT, strlen(POLICY_TEXT));
    const struct {
        const void *p;
        size_t n;
    } needles[] = {
        {"x-secret-marker-7f3a", 20},
        {"marker-b91c", 11},
        {FAKE_JWS, strlen(FAKE_JWS)},
        {PRINCIPAL, strlen(PRINCIPAL)},
        {"tenant-a", 8},
        {p.signing_key + 16, 32}, /* inside the PKCS#8 */
        {p.signing_cert + 16, 32},
        {key_b64 + 20, 24},
        {cert_b64 + 20, 24},
        {text_b64 + 8, 24},
        {"signing_key", 11},
    };
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
        if (contains(b, n, needles[i].p, needles[i].n)) {
            fail_msg("needle %zu found in the backup file", i);
        }
    }
    /* The needles are real: the same search finds them in the plaintext document. */
    json_t *doc = collect(f->s);
    char *pt = json_dumps(doc, JSON_COMPACT);
    assert_true(contains((const uint8_t *)pt, strlen(pt), key_b64 + 20, 24));
    assert_true(contains((const uint8_t *)pt, strlen(pt), PRINCIPAL, strlen(PRINCIPAL)));
    free(pt);
    at_backup_doc_free(doc);
    free(key_b64);
    free(cert_b64);
    free(text_b64);
    at_provider_clear(&p);
    free(b);
}

static void expect_schema_error(json_t *doc, const char *want)
{
    struct at_err e;
    at_err_init(&e);
    if (at_is_ok(at_backup_check_doc(doc, NULL, &e))) {
        fail_msg("accepted; wanted: %s", want);
    }
    if (strstr(e.msg, want) == NULL) {
        fail_msg("error '%s' lacks '%s'", e.msg, want);
    }
    json_decref(doc);
}

static void test_schema_errors(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    json_t *base = collect(f->s);
    OK(at_backup_check_doc(base, NULL, e));
#define PROV(d, i) json_array_get(json_object_get((d), "providers"), (i))
    json_t *d = json_deep_copy(base);
    json_object_set_new(d, "format", json_integer(2));
    expect_schema_error(d, "schema: $: \"format\" must be an integer in 1..1");
    d = json_deep_copy(base);
    json_object_set_new(PROV(d, 0), "alg", json_string("HS256"));
    expect_schema_error(d, "schema: providers[0]: \"alg\" must be RS256, PS256 or ES256");
    d = json_deep_copy(base);
    json_object_set_new(PROV(d, 1), "name", json_string("Tenant_A"));
    expect_schema_error(d, "schema: providers[1]: invalid provider name");
    d = json_deep_copy(base);
    json_object_set_new(PROV(d, 1), "name", json_string("tenant-a"));
    expect_schema_error(d, "schema: providers[1]: duplicate provider name");
    d = json_deep_copy(base);
    json_t *pol = json_array_get(json_object_get(PROV(d, 0), "policies"), 0);
    json_object_set_new(pol, "text", json_string("dmVyc2lvbj0xLjA"));
    expect_schema_error(d, "schema: providers[0].policies[0]: \"hash\" does not match the policy");
    d = json_deep_copy(base);
    pol = json_array_get(json_object_get(PROV(d, 0), "policies"), 1);
    json_object_set_new(pol, "policy_hash", json_string("AAAA"));
    expect_schema_error(d, "schema: providers[0].policies[1]: \"policy_hash\" does not match");
    d = json_deep_copy(base);
    json_object_set_new(PROV(d, 0), "signing_cert", json_string("AAAA"));
    expect_schema_error(d, "schema: providers[0]: \"signing_cert\" is not a DER X.509 certificate");
    d = json_deep_copy(base);
    json_object_set_new(PROV(d, 0), "signing_key", json_string("!!"));
    expect_schema_error(d, "schema: providers[0]: \"signing_key\" is not valid base64url");
    d = json_deep_copy(base);
    json_array_append_new(json_object_get(PROV(d, 0), "signer_certs"), json_string("AAAA"));
    expect_schema_error(d, "schema: providers[0]: an aad provider has no signer certificates");
    d = json_deep_copy(base);
    json_object_set_new(json_array_get(json_object_get(d, "role_assignments"), 0), "role",
                        json_string("Admin"));
    expect_schema_error(d, "schema: role_assignments[0]: \"role\" must be Reader, Contributor");
    d = json_deep_copy(base);
    json_object_del(d, "providers");
    expect_schema_error(d, "schema: $: \"providers\" and \"role_assignments\" must be arrays");
    d = json_deep_copy(base);
    json_object_set_new(d, "created_at", json_string("yesterday"));
    expect_schema_error(d, "schema: $: \"created_at\" is not an RFC 3339 time");
    json_decref(base);

    /* JSON text errors do not quote the document. */
    struct at_err e2;
    at_err_init(&e2);
    json_t *out = NULL;
    const char *bad = "{\"format\": 1, \"secret-bytes\" ";
    assert_false(at_is_ok(at_backup_parse_doc((const uint8_t *)bad, strlen(bad), &out, &e2)));
    assert_non_null(strstr(e2.msg, "json: invalid document"));
    assert_null(strstr(e2.msg, "secret"));
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_header_bounds(void **state)
{
    (void)state;
    uint8_t h[AT_BACKUP_HEADER_LEN + AT_BACKUP_TAG_LEN];
    memset(h, 0, sizeof(h));
    memcpy(h, AT_BACKUP_MAGIC, 8);
    h[9] = 1;   /* format 1 */
    h[10] = 2;  /* scrypt */
    h[11] = 15; /* log2 N */
    put_be32(h + 12, 8);
    put_be32(h + 16, 1);
    struct at_backup_header hd;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_backup_header_parse(h, sizeof(h), &hd, &e)));
    assert_int_equal(hd.log_n, 15);
    assert_int_equal(hd.ct_len, 0);
    const struct {
        size_t off;
        uint8_t v;
        const char *want;
    } bad[] = {
        {0, 'X', "bad magic"},        {9, 2, "unsupported backup format version 2"},
        {10, 9, "unknown KDF id 9"},  {11, 30, "scrypt parameters out of bounds"},
        {11, 9, "scrypt parameters"}, {15, 0, "scrypt parameters"}, /* r = 0 */
        {55, 1, "truncated"}, /* ct_len 1 but no byte for it */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t c[sizeof(h)];
        memcpy(c, h, sizeof(h));
        c[bad[i].off] = bad[i].v;
        at_err_init(&e);
        assert_false(at_is_ok(at_backup_header_parse(c, sizeof(c), &hd, &e)));
        if (strstr(e.msg, bad[i].want) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].want);
        }
    }
    /* N = 2^20 with r = 32: 4 GiB of memory, refused before any work. */
    uint8_t c[sizeof(h)];
    memcpy(c, h, sizeof(h));
    c[11] = 20;
    put_be32(c + 12, 32);
    at_err_init(&e);
    assert_false(at_is_ok(at_backup_header_parse(c, sizeof(c), &hd, &e)));
    /* A trailing byte. */
    uint8_t t[sizeof(h) + 1];
    memcpy(t, h, sizeof(h));
    t[sizeof(h)] = 0;
    at_err_init(&e);
    assert_false(at_is_ok(at_backup_header_parse(t, sizeof(t), &hd, &e)));
    assert_non_null(strstr(e.msg, "integrity"));
}

static void test_diff(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    json_t *bak = collect(f->s);
    /* Change the store after the backup. */
    OK(at_store_policy_set(f->s, "tenant-a", "SgxEnclave", POLICY2_TEXT, strlen(POLICY2_TEXT), NULL,
                           e));
    OK(at_store_policy_reset(f->s, "tenant-a", "TdxVm", e));
    OK(at_service_provider_create(f->s, "tenant-new", AT_MODE_AAD, "ES256", NOW, e));
    OK(at_store_role_assign(f->s, "tid-backup/oid-2", "Owner", "*", e));
    OK(at_store_role_remove(f->s, PRINCIPAL, "tenant-a", e));
    json_t *cur = collect(f->s);
    char *out = NULL;
    size_t out_len = 0;
    FILE *m = open_memstream(&out, &out_len);
    assert_non_null(m);
    size_t changes = 0;
    OK(at_backup_diff(cur, bak, m, &changes, e));
    fclose(m);
    char h1[48], h2[48], h3[48];
    OK(at_policy_hash(POLICY2_TEXT, strlen(POLICY2_TEXT), h1, e));
    OK(at_policy_hash(POLICY_TEXT, strlen(POLICY_TEXT), h2, e));
    memcpy(h3, h1, sizeof(h3)); /* TdxVm held POLICY2_TEXT (in a JWS) */
    char want[1024];
    snprintf(want, sizeof(want),
             "~ policy tenant-a/SgxEnclave %s -> %s\n"
             "+ policy tenant-a/TdxVm %s\n"
             "- provider tenant-new\n"
             "~ role tid-backup/oid-2 * Owner -> Reader\n"
             "+ role " PRINCIPAL " Owner tenant-a\n"
             "summary: 2 added, 1 removed, 2 changed\n",
             h1, h2, h3);
    assert_string_equal(out, want);
    assert_int_equal(changes, 5);
    free(out);
    at_backup_doc_free(cur);
    at_backup_doc_free(bak);
}

static size_t count_backups(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        n += strncmp(de->d_name, "backup-", 7) == 0;
    }
    closedir(d);
    return n;
}

static void test_schedule(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    char bdir[128], kpath[128], old[200];
    snprintf(bdir, sizeof(bdir), "%s/backups", f->base);
    snprintf(kpath, sizeof(kpath), "%s/key", f->base);
    struct at_backup_schedule_cfg c = {.store = f->s,
                                       .data_dir = f->dir,
                                       .dir = bdir,
                                       .interval_s = 3600,
                                       .keep = 2,
                                       .key_file = kpath};
    /* A bad key stops it at start. */
    struct at_backup_schedule_cfg badc = c;
    badc.key_file = "/nonexistent/key";
    struct at_err e2;
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_schedule_start(&badc, &e2)));
    assert_int_equal(at_backup_last_success(), 0);
    OK(at_backup_schedule_start(&c, e));

    const char *olds[] = {"backup-20000101T000000Z.atb", "backup-20000102T000000Z.atb",
                          "backup-20000103T000000Z.atb", "unrelated.txt"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(old, sizeof(old), "%s/%s", bdir, olds[i]);
        write_file(old, "x", 1, 0600);
    }
    OK(at_backup_schedule_run_once(e));
    assert_true(at_backup_last_success() > 0);
    assert_int_equal(count_backups(bdir), 2); /* the new one and 20000103 */
    snprintf(old, sizeof(old), "%s/backup-20000103T000000Z.atb", bdir);
    assert_int_equal(access(old, F_OK), 0);
    snprintf(old, sizeof(old), "%s/backup-20000102T000000Z.atb", bdir);
    assert_int_not_equal(access(old, F_OK), 0);
    snprintf(old, sizeof(old), "%s/unrelated.txt", bdir);
    assert_int_equal(access(old, F_OK), 0);
    at_backup_schedule_stop();
    at_backup_schedule_stop(); /* idempotent */
    at_err_init(&e2);
    assert_false(at_is_ok(at_backup_schedule_run_once(&e2)));
}

struct writer {
    const char *dir;
    _Atomic int stop;
    _Atomic int writes;
};

/* Another connection (as attestd would be) rewriting a policy while snapshots are taken. */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct at_store *s = NULL;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(open_store(w->dir, &s, &e))) {
        return NULL;
    }
    char text[128];
    while (!w->stop && w->writes < 100000) {
        snprintf(text, sizeof(text), "version=1.0; authorizationrules{=> permit();}; // v%d",
                 w->writes);
        at_err_init(&e);
        if (!at_is_ok(
                at_store_policy_set(s, "tenant-a", "SgxEnclave", text, strlen(text), NULL, &e))) {
            break;
        }
        w->writes++;
    }
    at_store_close(s);
    return NULL;
}

static void test_snapshot_while_writing(void **state)
{
    struct fx *f = *state;
    populate(f->s);
    struct writer w = {f->dir, 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
    int last = -1;
    for (int i = 0; i < 5; i++) {
        make_backup(f, &f->key);
        json_t *doc = NULL;
        OK(at_backup_read_file(f->file, &f->key, &doc, e));
        json_t *pol = json_array_get(
            json_object_get(json_array_get(json_object_get(doc, "providers"), 0), "policies"), 0);
        uint8_t *text = NULL;
        size_t n = 0;
        const char *b64 = json_string_value(json_object_get(pol, "text"));
        OK(at_b64_decode_public(b64, strlen(b64), &text, &n, e));
        /* Each snapshot holds one whole version, never older than the previous one. */
        const char *v = strstr((const char *)text, "// v");
        if (v != NULL) {
            int ver = atoi(v + 4);
            assert_true(ver >= last);
            last = ver;
        }
        free(text);
        at_backup_doc_free(doc);
    }
    w.stop = 1;
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(w.writes > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_over_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passphrase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_failure_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_while_writing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
