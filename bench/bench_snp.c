/*
 * SEV-SNP verification throughput, single core, on a synthetic v3 report from the
 * run-time AMD test PKI (tests/support/testpki_snp.h):
 *   snp_verify_cached  VCEK chain already verified and its key parsed (the server's steady
 *                      state): one ECDSA-P384 verify per report, so the floor is
 *                      `openssl speed ecdsap384` verifies/s;
 *   snp_verify_cold    no cache: VCEK/ASK/ARK parsing, three RSA-4096-PSS signatures, the
 *                      chain and the extensions each time;
 *   ecdsa_p384_verify  our raw verify wrapper over a SHA-384 digest.
 * The floor comes from the environment (ATTESTD_FLOOR_ECDSAP384_VERIFY_PER_S), which
 * scripts/run-bench.sh measures with `openssl speed` in the same run.
 */
#include "base/cache.h"
#include "crypto/digest.h"
#include "crypto/ecdsa.h"
#include "evidence/snp.h"
#include "testpki_snp.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double floor_verify(void)
{
    const char *f = getenv("ATTESTD_FLOOR_ECDSAP384_VERIFY_PER_S");
    return f != NULL ? strtod(f, NULL) : 0.0;
}

static void line(const char *name, double ops, double floor_ops, const char *extra)
{
    printf(
        "{\"bench\":\"%s\",\"ops_per_s\":%.0f,\"floor_ops_per_s\":%.0f,\"pct_of_floor\":%.1f%s}\n",
        name, ops, floor_ops, floor_ops > 0 ? 100.0 * ops / floor_ops : 0.0, extra);
    fflush(stdout);
}

/* Verify repeatedly for about `secs`; returns ops/s, or -1 on a failed verification. */
static double run(const uint8_t *rep, const struct at_snp_collateral *col,
                  const struct at_snp_verify_opts *o, double secs)
{
    long n = 0;
    double start = now_s(), el = 0;
    for (;;) {
        struct at_snp_result r;
        struct at_err e;
        at_snp_result_init(&r);
        at_err_init(&e);
        if (!at_is_ok(at_snp_verify(rep, TP_SNP_REPORT_LEN, col, o, &r, &e))) {
            fprintf(stderr, "bench_snp: verify failed: %s\n", e.msg);
            return -1;
        }
        at_snp_result_clear(&r);
        if (n == 0) {
            start = now_s(); /* the first call warms the cache */
        }
        n++;
        if ((n & 15) == 0 && (el = now_s() - start) > secs) {
            break;
        }
    }
    return (double)(n - 1) / el;
}

static int raw_verify(double fl)
{
    EVP_PKEY *priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    uint8_t msg[AT_SNP_SIGNED_LEN] = {0}, dg[48], rs[96];
    unsigned char der[128];
    size_t siglen = sizeof(der);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (priv == NULL || mctx == NULL ||
        EVP_DigestSignInit_ex(mctx, NULL, "SHA384", NULL, NULL, priv, NULL) != 1 ||
        EVP_DigestSign(mctx, der, &siglen, msg, sizeof(msg)) != 1) {
        return 1;
    }
    EVP_MD_CTX_free(mctx);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
    if (sig == NULL || BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), rs, 48) != 48 ||
        BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), rs + 48, 48) != 48 ||
        at_sha384(msg, sizeof(msg), dg) != 0) {
        return 1;
    }
    ECDSA_SIG_free(sig);
    long n = 0;
    double el, start = now_s();
    while ((el = now_s() - start) < 1.0) {
        struct at_err e;
        at_err_init(&e);
        if (!at_is_ok(at_ecdsa_verify_digest(priv, dg, 48, rs, 96, true, "bench", &e))) {
            return 1;
        }
        n++;
    }
    line("ecdsa_p384_verify", (double)n / el, fl, "");
    EVP_PKEY_free(priv);
    return 0;
}

int main(void)
{
    int64_t t0 = 1767225600; /* 2026-01-01T00:00:00Z */
    struct tp_snp_pki_params pp;
    tp_snp_pki_params_default(&pp, t0);
    struct tp_snp_pki *pki = tp_snp_pki_new(&pp);
    struct tp_snp_report_params rp;
    uint8_t rep[TP_SNP_REPORT_LEN];
    uint8_t *vek = NULL;
    size_t vek_len = 0, chain_len = 0;
    char *chain = NULL;
    if (pki == NULL) {
        fprintf(stderr, "bench_snp: cannot build the AMD test PKI\n");
        return 1;
    }
    tp_snp_report_params_default(&rp, pki, 3);
    if (tp_snp_report_build(pki, &rp, rep) != 0 ||
        tp_snp_vek_der(pki, TP_SNP_VCEK, &vek, &vek_len) != 0 ||
        tp_snp_cert_chain_pem(pki, TP_SNP_VCEK, &chain, &chain_len) != 0) {
        fprintf(stderr, "bench_snp: cannot build the report or collateral\n");
        return 1;
    }
    struct at_snp_collateral col = {
        .vek = vek, .vek_len = vek_len, .chain = (const uint8_t *)chain, .chain_len = chain_len};
    struct at_cache *cache = at_cache_new(16);
    struct at_snp_verify_opts o = {.at = t0, .ark = tp_snp_pki_ark(pki), .cache = cache};
    double fl = floor_verify();
    int rc = 0;

    double ops = run(rep, &col, &o, 3.0);
    if (ops < 0) {
        rc = 1;
    } else {
        line("snp_verify_cached", ops, fl, ",\"report\":\"v3_vcek_milan\"");
    }
    o.cache = NULL;
    ops = rc == 0 ? run(rep, &col, &o, 2.0) : -1;
    if (ops < 0) {
        rc = 1;
    } else {
        /* Cold: report P-384 + three RSA-4096 signatures twice (explicit + chain) ~ 1/3. */
        line("snp_verify_cold", ops, fl / 3, ",\"report\":\"v3_vcek_milan\"");
    }
    if (rc == 0) {
        rc = raw_verify(fl);
    }
    at_cache_free(cache);
    free(vek);
    free(chain);
    tp_snp_pki_free(pki);
    tp_snp_keys_release();
    return rc;
}
