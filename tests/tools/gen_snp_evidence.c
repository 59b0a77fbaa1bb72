/*
 * gen_snp_evidence OUTDIR [--t0 EPOCH]
 *
 * Synthetic AMD SEV-SNP evidence for the integration tests: a run-time AMD test PKI
 * (tests/support/testpki_snp.h) and attestation reports whose REPORT_DATA binds runtime
 * data and whose HOST_DATA binds init-time data the tests send along (maa-api.md §2.2).
 *
 * Writes into OUTDIR (created if missing):
 *   ark.pem                 the test ARK (config key amd_ark)
 *   vcek/                   vcek.der, cert_chain.pem (ASK, ARK), root_ark.pem
 *   vlek/                   vlek.der, cert_chain.pem (ASVK, ARK), root_ark.pem
 *   chain.pem               VCEK, ASK, ARK (PEM): the request's VcekCertChain
 *   vlek_chain.pem          VLEK, ASVK, ARK (PEM)
 *   runtime.bin             32 bytes of Binary runtime data
 *   runtime.json            JSON runtime data (exact bytes hashed)
 *   inittime.bin            Binary init-time data
 *   report.bin              v3, VCEK: REPORT_DATA = SHA-256(runtime.bin) || 0^32,
 *                           HOST_DATA = SHA-256(inittime.bin)
 *   report_json.bin         like report.bin, bound to runtime.json
 *   report_v5.bin           like report.bin, version 5
 *   report_vlek.bin         like report.bin, VLEK-signed (version 3)
 *   report_tampered.bin     report.bin with one MEASUREMENT bit flipped (not re-signed)
 *   report_debug.bin        like report.bin with POLICY.DEBUG set (re-signed)
 *   expected.json           t0 and the claim values put into report.bin
 *
 * The PKI is valid over [t0 - 30 days, t0 + 7 years]; verify at t0 + 1 day.
 * Default t0: the current time rounded down to the minute.
 */
#include "testpki_snp.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char runtime_json[] = "{\"keys\":[{\"kid\":\"HCLTransferKey\",\"kty\":\"RSA\","
                                   "\"e\":\"AQAB\",\"n\":\"attestd-test\"}],\"vm-configuration\":"
                                   "{\"secure-boot\":true,\"tpm-enabled\":true}}";

static const char inittime_bin[] = "attestd init-time data for SEV-SNP";

static int die(const char *what)
{
    fprintf(stderr, "gen_snp_evidence: %s\n", what);
    return 1;
}

static int mkdir_p(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_snp_evidence: mkdir %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    if (n > 64) {
        return -1;
    }
    hex(p, n, buf);
    return json_object_set_new(obj, key, json_string(buf));
}

static int write_in(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return tp_write_file(path, p, n);
}

static int parse_t0(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0) {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/* REPORT_DATA = SHA-256(data) || 0^32 (claim-sets.md §1, SEV-SNP layout). */
static void bind_report_data(struct tp_snp_report_params *rp, const void *data, size_t len)
{
    memset(rp->report_data, 0, sizeof(rp->report_data));
    SHA256(data, len, rp->report_data);
}

static int build_write(const struct tp_snp_pki *pki, const struct tp_snp_report_params *rp,
                       const char *dir, const char *name, uint8_t report[TP_SNP_REPORT_LEN])
{
    if (tp_snp_report_build(pki, rp, report) != 0 ||
        write_in(dir, name, report, TP_SNP_REPORT_LEN) != 0) {
        fprintf(stderr, "gen_snp_evidence: cannot build %s\n", name);
        return -1;
    }
    return 0;
}

static int write_expected(const char *dir, int64_t t0, const struct tp_snp_pki *pki,
                          const struct tp_snp_report_params *rp)
{
    const struct tp_snp_pki_params *pp = tp_snp_pki_params_get(pki);
    json_t *o = json_object();
    int rc = -1;
    if (o == NULL) {
        return -1;
    }
    if (json_object_set_new(o, "t0", json_integer(t0)) != 0 ||
        set_hex(o, "launchmeasurement", rp->measurement, 48) != 0 ||
        set_hex(o, "reportdata", rp->report_data, 64) != 0 ||
        set_hex(o, "hostdata", rp->host_data, 32) != 0 ||
        set_hex(o, "idkeydigest", rp->id_key_digest, 48) != 0 ||
        set_hex(o, "authorkeydigest", rp->author_key_digest, 48) != 0 ||
        set_hex(o, "familyId", rp->family_id, 16) != 0 ||
        set_hex(o, "imageId", rp->image_id, 16) != 0 ||
        set_hex(o, "reportid", rp->report_id, 32) != 0 ||
        set_hex(o, "chipid", rp->chip_id, 64) != 0 ||
        json_object_set_new(o, "guestsvn", json_integer(rp->guest_svn)) != 0 ||
        json_object_set_new(o, "vmpl", json_integer(rp->vmpl)) != 0 ||
        json_object_set_new(o, "bootloader_svn", json_integer(pp->tcb.bootloader)) != 0 ||
        json_object_set_new(o, "tee_svn", json_integer(pp->tcb.tee)) != 0 ||
        json_object_set_new(o, "snpfw_svn", json_integer(pp->tcb.snp)) != 0 ||
        json_object_set_new(o, "microcode_svn", json_integer(pp->tcb.microcode)) != 0 ||
        json_object_set_new(o, "policy", json_integer((json_int_t)rp->policy)) != 0) {
        goto out;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/expected.json", dir);
    rc = json_dump_file(o, path, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 ? 0 : -1;
out:
    json_decref(o);
    return rc;
}

static int generate(const char *dir, int64_t t0)
{
    struct tp_snp_pki_params pp;
    tp_snp_pki_params_default(&pp, t0);
    struct tp_snp_pki *pki = tp_snp_pki_new(&pp);
    if (pki == NULL) {
        return die("cannot create the AMD test PKI");
    }
    int rc = 1;
    char sub[4096], *chain = NULL, *vlek_chain = NULL;
    size_t chain_len = 0, vlek_chain_len = 0;
    uint8_t runtime[32], report[TP_SNP_REPORT_LEN];
    for (size_t i = 0; i < sizeof(runtime); i++) {
        runtime[i] = (uint8_t)(0xc0 + i);
    }
    snprintf(sub, sizeof(sub), "%s/ark.pem", dir);
    if (tp_snp_write_ark_pem(pki, sub) != 0) {
        goto out;
    }
    snprintf(sub, sizeof(sub), "%s/vcek", dir);
    if (mkdir_p(sub) != 0 || tp_snp_write_dir(pki, TP_SNP_VCEK, sub) != 0) {
        goto out;
    }
    snprintf(sub, sizeof(sub), "%s/vlek", dir);
    if (mkdir_p(sub) != 0 || tp_snp_write_dir(pki, TP_SNP_VLEK, sub) != 0) {
        goto out;
    }
    if (tp_snp_full_chain_pem(pki, TP_SNP_VCEK, &chain, &chain_len) != 0 ||
        tp_snp_full_chain_pem(pki, TP_SNP_VLEK, &vlek_chain, &vlek_chain_len) != 0 ||
        write_in(dir, "chain.pem", chain, chain_len) != 0 ||
        write_in(dir, "vlek_chain.pem", vlek_chain, vlek_chain_len) != 0 ||
        write_in(dir, "runtime.bin", runtime, sizeof(runtime)) != 0 ||
        write_in(dir, "runtime.json", runtime_json, strlen(runtime_json)) != 0 ||
        write_in(dir, "inittime.bin", inittime_bin, strlen(inittime_bin)) != 0) {
        goto out;
    }
    struct tp_snp_report_params rp;
    tp_snp_report_params_default(&rp, pki, 3);
    SHA256((const unsigned char *)inittime_bin, strlen(inittime_bin), rp.host_data);
    bind_report_data(&rp, runtime, sizeof(runtime));
    if (build_write(pki, &rp, dir, "report.bin", report) != 0 ||
        write_expected(dir, t0, pki, &rp) != 0) {
        goto out;
    }
    report[0x90] ^= 0x01; /* MEASUREMENT[0]: inside the signed range, not re-signed */
    if (write_in(dir, "report_tampered.bin", report, sizeof(report)) != 0) {
        goto out;
    }
    struct tp_snp_report_params v = rp;
    v.policy |= TP_SNP_POLICY_DEBUG;
    if (build_write(pki, &v, dir, "report_debug.bin", report) != 0) {
        goto out;
    }
    v = rp;
    v.version = 5;
    if (build_write(pki, &v, dir, "report_v5.bin", report) != 0) {
        goto out;
    }
    v = rp;
    bind_report_data(&v, runtime_json, strlen(runtime_json));
    if (build_write(pki, &v, dir, "report_json.bin", report) != 0) {
        goto out;
    }
    tp_snp_report_params_default_vlek(&v, pki, 3);
    memcpy(v.host_data, rp.host_data, sizeof(v.host_data));
    bind_report_data(&v, runtime, sizeof(runtime));
    if (build_write(pki, &v, dir, "report_vlek.bin", report) != 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        fprintf(stderr, "gen_snp_evidence: failed writing into %s\n", dir);
    }
    free(chain);
    free(vlek_chain);
    tp_snp_pki_free(pki);
    tp_snp_keys_release();
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--t0") == 0)) {
        fprintf(stderr, "usage: gen_snp_evidence OUTDIR [--t0 EPOCH]\n");
        return 2;
    }
    int64_t t0 = ((int64_t)time(NULL) / 60) * 60;
    if (argc == 4 && parse_t0(argv[3], &t0) != 0) {
        return die("--t0 takes a non-negative decimal epoch");
    }
    if (mkdir_p(argv[1]) != 0) {
        return 1;
    }
    return generate(argv[1], t0);
}
