/*
 * DCAP verification throughput, single core, on a synthetic SGX v3 quote from the
 * run-time test PKI:
 *   dcap_verify_cached  collateral and PCK chain already verified (the server's steady
 *                       state): two ECDSA-P256 verifies per quote, so the floor is half
 *                       of `openssl speed ecdsap256` verifies/s;
 *   dcap_verify_cold    no cache: every chain, CRL and collateral signature each time;
 *   ecdsa_p256_verify   our raw verify wrapper, to show where the time goes.
 * The floor comes from the environment (ATTESTD_FLOOR_ECDSAP256_VERIFY_PER_S), which
 * scripts/run-bench.sh measures with `openssl speed` in the same run.
 */
#include "base/cache.h"
#include "crypto/digest.h"
#include "crypto/ecdsa.h"
#include "evidence/dcap.h"
#include "testpki.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double floor_verify(void)
{
    const char *f = getenv("ATTESTD_FLOOR_ECDSAP256_VERIFY_PER_S");
    return f != NULL ? strtod(f, NULL) : 0.0;
}

static void line(const char *name, double ops, double floor_ops, const char *extra)
{
    printf("{\"bench\":\"%s\",\"ops_per_s\":%.0f,\"floor_ops_per_s\":%.0f,\"pct_of_floor\":%.1f%s}\n",
           name, ops, floor_ops, floor_ops > 0 ? 100.0 * ops / floor_ops : 0.0, extra);
    fflush(stdout);
}

int main(void)
{
    int64_t t0 = 1767225600; /* 2026-01-01T00:00:00Z */
    struct tp_pki_params pp;
    tp_pki_params_default(&pp, t0);
    struct tp_pki *pki = tp_pki_new(&pp);
    struct tp_collateral_params cp;
    struct at_dcap_collateral col;
    struct tp_quote_params qp;
    uint8_t *quote = NULL;
    size_t qlen = 0;
    if (pki == NULL) {
        fprintf(stderr, "bench_dcap: cannot build test PKI\n");
        return 1;
    }
    tp_collateral_params_default(&cp, pki, false);
    tp_quote_params_default(&qp, TP_SGX_V3);
    if (tp_collateral_build(pki, &cp, &col) != 0 || tp_quote_build(pki, &qp, &quote, &qlen) != 0) {
        fprintf(stderr, "bench_dcap: cannot build quote/collateral\n");
        return 1;
    }
    struct at_cache *cache = at_cache_new(16);
    struct at_dcap_verify_opts o = {.at = t0, .root = tp_pki_root(pki), .cache = cache};
    double fl = floor_verify();

    /* Cached: warm once, then measure for ~2 s. */
    long n = 0;
    double start = now_s(), el = 0;
    for (;;) {
        struct at_dcap_result r;
        struct at_err e;
        at_dcap_result_init(&r);
        at_err_init(&e);
        if (!at_is_ok(at_dcap_verify(AT_DCAP_SGX, quote, qlen, &col, &o, &r, &e))) {
            fprintf(stderr, "bench_dcap: verify failed: %s\n", e.msg);
            return 1;
        }
        at_dcap_result_clear(&r);
        if (n == 0) {
            start = now_s();
        }
        n++;
        if ((n & 63) == 0 && (el = now_s() - start) > 2.0) {
            break;
        }
    }
    line("dcap_verify_cached", (double)(n - 1) / el, fl / 2, ",\"quote\":\"sgx_v3\"");

    /* Cold: no cache. */
    o.cache = NULL;
    n = 0;
    start = now_s();
    while ((el = now_s() - start) < 2.0) {
        struct at_dcap_result r;
        struct at_err e;
        at_dcap_result_init(&r);
        at_err_init(&e);
        if (!at_is_ok(at_dcap_verify(AT_DCAP_SGX, quote, qlen, &col, &o, &r, &e))) {
            return 1;
        }
        at_dcap_result_clear(&r);
        n++;
    }
    /* Cold costs 2 quote checks + PCK chain (2 certs) + 2 CRLs + 2 x (TCB chain + doc). */
    line("dcap_verify_cold", (double)n / el, fl / 10, ",\"quote\":\"sgx_v3\"");

    /* Raw ECDSA P-256 verify through our wrapper. */
    EVP_PKEY *key = NULL;
    EVP_PKEY *priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t msg[432] = {0}, dg[32], rs[64];
    size_t siglen = 0;
    unsigned char der[80];
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (priv == NULL || EVP_DigestSignInit_ex(mctx, NULL, "SHA256", NULL, NULL, priv, NULL) != 1 ||
        EVP_DigestSign(mctx, der, &(size_t){sizeof(der)}, msg, sizeof(msg)) != 1) {
        return 1;
    }
    siglen = sizeof(der);
    EVP_MD_CTX_free(mctx);
    mctx = EVP_MD_CTX_new();
    if (EVP_DigestSignInit_ex(mctx, NULL, "SHA256", NULL, NULL, priv, NULL) != 1 ||
        EVP_DigestSign(mctx, der, &siglen, msg, sizeof(msg)) != 1) {
        return 1;
    }
    EVP_MD_CTX_free(mctx);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32);
    ECDSA_SIG_free(sig);
    key = priv;
    if (at_sha256(msg, sizeof(msg), dg) != 0) {
        return 1;
    }
    n = 0;
    start = now_s();
    while ((el = now_s() - start) < 1.0) {
        struct at_err e;
        at_err_init(&e);
        if (!at_is_ok(at_ecdsa_verify_digest(key, dg, 32, rs, 64, false, "bench", &e))) {
            return 1;
        }
        n++;
    }
    line("ecdsa_p256_verify", (double)n / el, fl, "");
    EVP_PKEY_free(priv);
    at_cache_free(cache);
    free(quote);
    tp_collateral_free(&col);
    tp_pki_free(pki);
    return 0;
}
