/*
 * Runs every real SEV-SNP vector of ../shared/vectors/snp (or $ATTESTD_VECTORS/snp)
 * through at_snp_verify at its meta.json verify_at and compares the result and claims
 * with meta.json: passes must pass with the maa_style claims (and our reported-tcb,
 * signing-key and product), negatives must fail on a check meta.json lists as false.
 * Each passing vector is also run through the cache (cold, then hit), outside its
 * validity window, against another product's ARK, and with one signed byte flipped.
 * Vectors are read in place, never copied into the project.
 */
#include "base/cache.h"
#include "base/encoding.h"
#include "base/timeutil.h"
#include "collateral/snp_bundle.h"
#include "crypto/roots.h"
#include "evidence/snp.h"
#include "test_util.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first. */
#include <cmocka.h>

static int n_ok, n_bad, n_vectors;

static void report(bool ok, const char *name, const char *what, const char *detail)
{
    printf("%s %-44s %-26s %s\n", ok ? "ok  " : "FAIL", name, what, detail != NULL ? detail : "");
    if (ok) {
        n_ok++;
    } else {
        n_bad++;
    }
}

static const json_t *jget(const json_t *o, const char *k)
{
    return json_object_get(o, k);
}

/* meta.json "raw" TCB is the u64 as big-endian hex; ours is the report's LE bytes. */
static bool tcb_equal(const json_t *mine, const json_t *tcb)
{
    const char *raw = json_string_value(jget(tcb, "raw"));
    const char *got = json_string_value(mine);
    if (raw == NULL || got == NULL || strlen(raw) != 16 || strlen(got) != 16) {
        return false;
    }
    for (size_t i = 0; i < 8; i++) {
        if (memcmp(raw + 2 * i, got + 14 - 2 * i, 2) != 0) {
            return false;
        }
    }
    return true;
}

static int compare_claims(const json_t *meta, const struct at_claims *got, char *why, size_t cap)
{
    json_t *mine = at_claims_to_json(got);
    const json_t *claims = jget(meta, "claims");
    const json_t *maa = jget(claims, "maa_style");
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)maa, k, v)
    {
        if (strcmp(k, "x-ms-sevsnpvm-guestpolicy") == 0) {
            /* meta gives the policy as a hex string; ours is x-ms-sevsnpvm-policy (integer). */
            const char *hx = json_string_value(v);
            long long want = hx != NULL ? strtoll(hx, NULL, 16) : -1;
            if (json_integer_value(jget(mine, "x-ms-sevsnpvm-policy")) != want) {
                snprintf(why, cap, "claim x-ms-sevsnpvm-policy differs from %s", k);
                bad++;
            }
        } else if (!json_equal(jget(mine, k), v)) {
            snprintf(why, cap, "claim %s differs", k);
            bad++;
        }
    }
    if (json_object_size(maa) < 15) {
        snprintf(why, cap, "meta.json has too few maa_style claims");
        bad++;
    }
    static const char *const tcbs[][2] = {{"reported_tcb", "x-ms-sevsnpvm-reported-tcb"},
                                          {"current_tcb", "x-ms-sevsnpvm-current-tcb"},
                                          {"committed_tcb", "x-ms-sevsnpvm-committed-tcb"},
                                          {"launch_tcb", "x-ms-sevsnpvm-launch-tcb"}};
    for (size_t i = 0; i < 4; i++) {
        if (!tcb_equal(jget(mine, tcbs[i][1]), jget(claims, tcbs[i][0]))) {
            snprintf(why, cap, "claim %s differs", tcbs[i][1]);
            bad++;
        }
    }
    const char *sk = json_string_value(jget(claims, "signing_key"));
    const char *mk = json_string_value(jget(mine, "x-ms-sevsnpvm-signing-key"));
    if (sk == NULL || mk == NULL || strcasecmp(sk, mk) != 0) {
        snprintf(why, cap, "claim x-ms-sevsnpvm-signing-key differs");
        bad++;
    }
    const char *fmt = json_string_value(jget(meta, "format"));
    const char *prod = json_string_value(jget(mine, "x-ms-sevsnpvm-product"));
    if (fmt == NULL || prod == NULL || strstr(fmt, prod) == NULL) {
        snprintf(why, cap, "claim x-ms-sevsnpvm-product %s not in meta format", prod ? prod : "-");
        bad++;
    }
    json_decref(mine);
    return bad;
}

static bool meta_check_failed(const json_t *v, const char *check)
{
    const json_t *c = jget(jget(v, "checks"), check != NULL ? check : "");
    return c != NULL && json_is_false(c);
}

/* One verification; returns the status, fills why. */
static at_status verify(const uint8_t *rep, size_t len, const struct at_snp_collateral *col,
                        X509 *ark, struct at_cache *cache, int64_t at, const json_t *meta,
                        bool *claims_ok, struct at_err *e, char *why, size_t cap)
{
    struct at_snp_result r;
    at_snp_result_init(&r);
    at_err_init(e);
    struct at_snp_verify_opts o = {.at = at, .ark = ark, .cache = cache};
    at_status s = at_snp_verify(rep, len, col, &o, &r, e);
    *claims_ok = false;
    if (at_is_ok(s)) {
        *claims_ok = r.has_claims && compare_claims(meta, &r.claims, why, cap) == 0;
    } else {
        snprintf(why, cap, "%s [%s]", e->msg, e->check != NULL ? e->check : "");
    }
    at_snp_result_clear(&r);
    return s;
}

static int64_t meta_time(const json_t *v, const char *a, const char *b)
{
    const char *t = json_string_value(b != NULL ? jget(jget(v, a), b) : jget(v, a));
    int64_t x = 0;
    struct at_err e;
    at_err_init(&e);
    if (t == NULL || !at_is_ok(at_time_parse(t, strlen(t), &x, &e))) {
        return INT64_MIN;
    }
    return x;
}

/* A CRL naming the ARK as issuer but signed by another key (DER, malloc'd). */
static uint8_t *forged_crl(X509 *ark, int64_t at, size_t *len)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)(at - 86400));
    ASN1_TIME *t2 = ASN1_TIME_set(NULL, (time_t)(at + 86400));
    uint8_t *der = NULL;
    int n = -1;
    if (k != NULL && crl != NULL && t1 != NULL && t2 != NULL &&
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark)) == 1 &&
        X509_CRL_set1_lastUpdate(crl, t1) == 1 && X509_CRL_set1_nextUpdate(crl, t2) == 1 &&
        X509_CRL_sign(crl, k, EVP_sha384()) > 0) {
        n = i2d_X509_CRL(crl, &der);
    }
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    X509_CRL_free(crl);
    EVP_PKEY_free(k);
    if (n <= 0) {
        return NULL;
    }
    uint8_t *out = malloc((size_t)n);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return out;
}

static void run_pass_extras(const char *name, const uint8_t *rep, size_t len,
                            const struct at_snp_collateral *col, const json_t *meta, int64_t at)
{
    const json_t *v = jget(meta, "verification");
    char why[400] = "";
    bool cok;
    struct at_err e;
    /* Through the cache: cold, then a hit; the hit must still check the report. */
    struct at_cache *cache = at_cache_new(8);
    at_status s1 = verify(rep, len, col, NULL, cache, at, meta, &cok, &e, why, sizeof(why));
    bool c1 = cok;
    at_status s2 = verify(rep, len, col, NULL, cache, at, meta, &cok, &e, why, sizeof(why));
    report(at_is_ok(s1) && at_is_ok(s2) && c1 && cok && at_cache_count(cache) == 1, name,
           "cached (cold, hit)", why);
    uint8_t *bad = malloc(len);
    memcpy(bad, rep, len);
    bad[0x50] ^= 0x01; /* REPORT_DATA, inside the signed range */
    s1 = verify(bad, len, col, NULL, cache, at, meta, &cok, &e, why, sizeof(why));
    report(s1.code == AT_E_SIGNATURE && e.check != NULL && strcmp(e.check, "report_signature") == 0,
           name, "flipped byte (cached)", why);
    s1 = verify(bad, len, col, NULL, NULL, at, meta, &cok, &e, why, sizeof(why));
    report(s1.code == AT_E_SIGNATURE, name, "flipped byte (cold)", why);
    free(bad);
    at_cache_free(cache);
    /* Outside the validity window. */
    int64_t from = meta_time(v, "valid_window", "from");
    int64_t until = meta_time(v, "valid_window", "until");
    s1 = verify(rep, len, col, NULL, NULL, until + 86400, meta, &cok, &e, why, sizeof(why));
    report(s1.code == AT_E_EXPIRED, name, "after valid_window", why);
    s1 = verify(rep, len, col, NULL, NULL, from - 86400, meta, &cok, &e, why, sizeof(why));
    report(s1.code == AT_E_NOT_YET_VALID, name, "before valid_window", why);
    /* Another product's ARK as the anchor. */
    X509 *other = at_root_amd_ark(strstr(json_string_value(jget(meta, "format")), "Milan") != NULL
                                      ? AT_SNP_GENOA
                                      : AT_SNP_MILAN);
    s1 = verify(rep, len, col, other, NULL, at, meta, &cok, &e, why, sizeof(why));
    report(!at_is_ok(s1), name, "other product's ARK", why);
    /* A CRL the ARK did not sign, then one that is not a CRL. */
    struct at_snp_collateral c2 = *col;
    c2.crl =
        forged_crl(at_root_amd_ark(strstr(json_string_value(jget(meta, "format")), "Genoa") != NULL
                                       ? AT_SNP_GENOA
                                       : AT_SNP_MILAN),
                   at, &c2.crl_len);
    s1 = verify(rep, len, &c2, NULL, NULL, at, meta, &cok, &e, why, sizeof(why));
    report(c2.crl != NULL && s1.code == AT_E_SIGNATURE && strcmp(e.check, "crl_signature") == 0,
           name, "forged CRL", why);
    free((void *)(uintptr_t)c2.crl);
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    c2.crl = junk;
    c2.crl_len = sizeof(junk);
    s1 = verify(rep, len, &c2, NULL, NULL, at, meta, &cok, &e, why, sizeof(why));
    report(s1.code == AT_E_PARSE, name, "malformed CRL", why);
}

static void run_vector(const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof(path), "%.4000s/meta.json", dir);
    json_t *meta = json_load_file(path, 0, NULL);
    snprintf(path, sizeof(path), "%.4000s/report.bin", dir);
    size_t len = 0;
    uint8_t *rep = tu_read_file(path, &len);
    struct at_snp_bundle b;
    struct at_err e;
    at_err_init(&e);
    if (meta == NULL || rep == NULL || !at_is_ok(at_snp_bundle_from_dir(dir, &b, &e))) {
        report(false, name, "load", e.msg[0] != '\0' ? e.msg : "cannot read meta.json/report.bin");
        json_decref(meta);
        free(rep);
        return;
    }
    n_vectors++;
    struct at_snp_collateral col;
    at_snp_bundle_collateral(&b, &col);
    const json_t *v = jget(meta, "verification");
    const char *exp = json_string_value(jget(v, "expected_result"));
    bool pass = exp != NULL && strncmp(exp, "PASS", 4) == 0;
    int64_t at = meta_time(v, "verify_at", NULL);
    char why[400] = "";
    bool cok;
    at_status s = verify(rep, len, &col, NULL, NULL, at, meta, &cok, &e, why, sizeof(why));
    if (pass) {
        report(at_is_ok(s) && cok, name, "expected pass",
               at_is_ok(s) && cok ? "pass, claims match" : why);
        if (at_is_ok(s)) {
            run_pass_extras(name, rep, len, &col, meta, at);
        }
    } else {
        bool ok = !at_is_ok(s) && meta_check_failed(v, e.check);
        report(ok, name, "expected fail", why);
    }
    at_snp_bundle_clear(&b);
    json_decref(meta);
    free(rep);
}

static void test_real_snp_vectors(void **state)
{
    (void)state;
    const char *vectors = tu_vectors_dir();
    char dir[2048];
    struct stat st;
    if (vectors != NULL) {
        snprintf(dir, sizeof(dir), "%.1900s/snp", vectors);
    }
    if (vectors == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf(
            "SKIPPED: real SEV-SNP vectors (../shared/vectors/snp and $ATTESTD_VECTORS absent)\n");
        skip();
        return;
    }
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (list[i]->d_name[0] != '.') {
            char vdir[4096];
            snprintf(vdir, sizeof(vdir), "%.2000s/%.1000s", dir, list[i]->d_name);
            if (stat(vdir, &st) == 0 && S_ISDIR(st.st_mode)) {
                run_vector(vdir, list[i]->d_name);
            }
        }
        free(list[i]);
    }
    free(list);
    printf("real SEV-SNP vectors: %d vectors, %d checks passed, %d failed\n", n_vectors, n_ok,
           n_bad);
    assert_int_equal(n_bad, 0);
    assert_true(n_vectors > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_snp_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
