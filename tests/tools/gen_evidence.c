/*
 * gen_evidence OUTDIR [--t0 EPOCH]
 *
 * Synthetic DCAP evidence for the integration, SDK and HTTP benchmark tests:
 * a run-time test PKI (tests/support/testpki.h), its SGX and TDX collateral in
 * the folder layout `attestctl collateral import` takes, and quotes whose
 * report_data binds runtime data the tests send along.
 *
 * Writes into OUTDIR (created if missing):
 *   root.pem                the test root (config key sgx_root_ca)
 *   collateral-sgx/         SGX collateral (tp_collateral_write_dir, + root_ca.pem)
 *   collateral-tdx/         TDX collateral
 *   runtime.bin             32 bytes of Binary runtime data
 *   runtime.json            JSON runtime data (exact bytes hashed)
 *   sgx_v3.bin              SGX v3 quote, report_data[0:32] = SHA-256(runtime.bin)
 *   sgx_v3_json.bin         SGX v3 quote, report_data[0:32] = SHA-256(runtime.json)
 *   tdx_v4.bin              TDX v4 quote, report_data[0:32] = SHA-256(runtime.bin)
 *   oe_report.bin           OE legacy remote report header (16 bytes) + sgx_v3.bin
 *   sgx_debug.bin           like sgx_v3.bin with ATTRIBUTES.DEBUG set
 *   sgx_tampered.bin        like sgx_v3.bin with one bit of the quote signature flipped
 *   inittime.json           JSON init-time data
 *   sgx_v3_init.bin         like sgx_v3.bin with CONFIGID[0:32] = SHA-256(inittime.json)
 *   expected.json           t0 and the claim values put into the quotes
 *
 * The collateral is valid over [t0 - 1 day, t0 + 30 days]; verify at t0 + 1 day.
 * Default t0: the current time rounded down to the minute.
 */
#include "testpki.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char runtime_json[] = "{\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"attestd-"
                                   "test\"},\"purpose\":\"integration\"}";

static const char inittime_json[] = "{\"config\":{\"mode\":\"strict\",\"level\":3}}";

static int die(const char *what)
{
    fprintf(stderr, "gen_evidence: %s\n", what);
    return 1;
}

static int mkdir_p(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_evidence: mkdir %s: %s\n", path, strerror(errno));
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

/* A uint64 field as the quote stores it (little-endian bytes), in hex. */
static int set_hex_le64(json_t *obj, const char *key, uint64_t v)
{
    uint8_t b[8];
    for (size_t i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    return set_hex(obj, key, b, 8);
}

static void derive(const char *label, uint8_t *out, size_t n)
{
    uint8_t d[SHA512_DIGEST_LENGTH];
    SHA512((const unsigned char *)label, strlen(label), d);
    memcpy(out, d, n);
}

static int write_out(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
        return -1;
    }
    return tp_write_file(path, p, n);
}

static int build_write(const struct tp_pki *pki, const struct tp_quote_params *qp,
                       const char *dir, const char *name, uint8_t **keep, size_t *keep_len)
{
    uint8_t *q = NULL;
    size_t len = 0;
    if (tp_quote_build(pki, qp, &q, &len) != 0) {
        return -1;
    }
    int rc = write_out(dir, name, q, len);
    if (keep != NULL && rc == 0) {
        *keep = q;
        *keep_len = len;
    } else {
        free(q);
    }
    return rc;
}

static json_t *sgx_expect(const struct tp_sgx_report *en)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int rc = 0;
    rc |= set_hex(o, "mrenclave", en->mrenclave, 32);
    rc |= set_hex(o, "mrsigner", en->mrsigner, 32);
    rc |= json_object_set_new(o, "product_id", json_integer(en->isvprodid));
    rc |= json_object_set_new(o, "svn", json_integer(en->isvsvn));
    rc |= json_object_set_new(o, "is_debuggable", json_boolean((en->flags & 2u) != 0));
    rc |= set_hex(o, "report_data", en->report_data, 64);
    rc |= set_hex(o, "config_id", en->configid, 64);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *tdx_expect(const struct tp_td_report *td)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    int rc = 0;
    rc |= set_hex(o, "tdx_tee_tcb_svn", td->tee_tcb_svn, 16);
    rc |= set_hex(o, "tdx_mrseam", td->mrseam, 48);
    rc |= set_hex(o, "tdx_mrsignerseam", td->mrsignerseam, 48);
    rc |= set_hex_le64(o, "tdx_seam_attributes", td->seam_attributes);
    rc |= set_hex_le64(o, "tdx_td_attributes", td->td_attributes);
    rc |= set_hex_le64(o, "tdx_xfam", td->xfam);
    rc |= set_hex(o, "tdx_mrtd", td->mrtd, 48);
    rc |= set_hex(o, "tdx_mrconfigid", td->mrconfigid, 48);
    rc |= set_hex(o, "tdx_mrowner", td->mrowner, 48);
    rc |= set_hex(o, "tdx_mrownerconfig", td->mrownerconfig, 48);
    static const char *const rtmr[4] = {"tdx_rtmr0", "tdx_rtmr1", "tdx_rtmr2", "tdx_rtmr3"};
    for (size_t i = 0; i < 4; i++) {
        rc |= set_hex(o, rtmr[i], td->rtmr[i], 48);
    }
    rc |= set_hex(o, "tdx_report_data", td->report_data, 64);
    rc |= json_object_set_new(o, "tdx_td_attributes_debug",
                              json_boolean((td->td_attributes & 1u) != 0));
    rc |= json_object_set_new(o, "tdx_td_attributes_septve_disable",
                              json_boolean((td->td_attributes & ((uint64_t)1 << 28)) != 0));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int write_collateral(const struct tp_pki *pki, bool tdx, const char *dir)
{
    struct tp_collateral_params cp;
    struct at_dcap_collateral col;
    tp_collateral_params_default(&cp, pki, tdx);
    if (mkdir_p(dir) != 0 || tp_collateral_build(pki, &cp, &col) != 0) {
        return -1;
    }
    int rc = tp_collateral_write_dir(&col, pki, dir);
    tp_collateral_free(&col);
    return rc;
}

int main(int argc, char **argv)
{
    const char *outdir = NULL;
    int64_t t0 = ((int64_t)time(NULL) / 60) * 60;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--t0") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || v <= 0) {
                return die("--t0 wants a positive epoch second count");
            }
            t0 = (int64_t)v;
        } else if (argv[i][0] == '-' || outdir != NULL) {
            fprintf(stderr, "usage: gen_evidence OUTDIR [--t0 EPOCH]\n");
            return 2;
        } else {
            outdir = argv[i];
        }
    }
    if (outdir == NULL) {
        fprintf(stderr, "usage: gen_evidence OUTDIR [--t0 EPOCH]\n");
        return 2;
    }
    if (mkdir_p(outdir) != 0) {
        return 1;
    }

    struct tp_pki_params pp;
    tp_pki_params_default(&pp, t0);
    struct tp_pki *pki = tp_pki_new(&pp);
    if (pki == NULL) {
        return die("tp_pki_new failed");
    }
    int status = 1;
    uint8_t *sgx_quote = NULL;
    size_t sgx_len = 0;
    uint8_t *oe = NULL;
    json_t *exp = NULL;
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/root.pem", outdir) >= sizeof(path) ||
        tp_pki_write_root_pem(pki, path) != 0) {
        die("root.pem");
        goto out;
    }
    char dir_sgx[4096], dir_tdx[4096];
    if ((size_t)snprintf(dir_sgx, sizeof(dir_sgx), "%s/collateral-sgx", outdir) >=
            sizeof(dir_sgx) ||
        (size_t)snprintf(dir_tdx, sizeof(dir_tdx), "%s/collateral-tdx", outdir) >=
            sizeof(dir_tdx) ||
        write_collateral(pki, false, dir_sgx) != 0 || write_collateral(pki, true, dir_tdx) != 0) {
        die("collateral");
        goto out;
    }

    /* Runtime data: bytes chosen so their base64url uses '-' and '_'. */
    uint8_t runtime[32];
    for (size_t i = 0; i < sizeof(runtime); i++) {
        runtime[i] = (uint8_t)(0xff - 7 * i);
    }
    uint8_t rt_hash[32], rtj_hash[32];
    SHA256(runtime, sizeof(runtime), rt_hash);
    SHA256((const unsigned char *)runtime_json, strlen(runtime_json), rtj_hash);
    if (write_out(outdir, "runtime.bin", runtime, sizeof(runtime)) != 0 ||
        write_out(outdir, "runtime.json", runtime_json, strlen(runtime_json)) != 0) {
        die("runtime data");
        goto out;
    }

    /* SGX v3: distinctive identity values (not the testpki defaults). */
    struct tp_quote_params sgx;
    tp_quote_params_default(&sgx, TP_SGX_V3);
    derive("attestd-integration-mrenclave", sgx.enclave.mrenclave, 32);
    derive("attestd-integration-mrsigner", sgx.enclave.mrsigner, 32);
    sgx.enclave.isvprodid = 0x1234;
    sgx.enclave.isvsvn = 7;
    memcpy(sgx.enclave.report_data, rt_hash, 32);
    memset(sgx.enclave.report_data + 32, 0, 32);
    if (build_write(pki, &sgx, outdir, "sgx_v3.bin", &sgx_quote, &sgx_len) != 0) {
        die("sgx_v3.bin");
        goto out;
    }

    struct tp_quote_params sgx_json = sgx;
    memcpy(sgx_json.enclave.report_data, rtj_hash, 32);
    if (build_write(pki, &sgx_json, outdir, "sgx_v3_json.bin", NULL, NULL) != 0) {
        die("sgx_v3_json.bin");
        goto out;
    }

    struct tp_quote_params dbg = sgx;
    dbg.enclave.flags |= 2u; /* DEBUG */
    if (build_write(pki, &dbg, outdir, "sgx_debug.bin", NULL, NULL) != 0) {
        die("sgx_debug.bin");
        goto out;
    }

    struct tp_quote_params bad = sgx;
    bad.bad_quote_sig = true;
    if (build_write(pki, &bad, outdir, "sgx_tampered.bin", NULL, NULL) != 0) {
        die("sgx_tampered.bin");
        goto out;
    }

    /* KSS CONFIGID binding init-time data. */
    uint8_t it_hash[32];
    SHA256((const unsigned char *)inittime_json, strlen(inittime_json), it_hash);
    struct tp_quote_params init = sgx;
    memcpy(init.enclave.configid, it_hash, 32);
    if (write_out(outdir, "inittime.json", inittime_json, strlen(inittime_json)) != 0 ||
        build_write(pki, &init, outdir, "sgx_v3_init.bin", NULL, NULL) != 0) {
        die("sgx_v3_init.bin");
        goto out;
    }

    /* OE legacy remote report: {u32 version=1, u32 report_type=2, u64 report_size} + quote. */
    oe = malloc(16 + sgx_len);
    if (oe == NULL) {
        die("out of memory");
        goto out;
    }
    const uint32_t oe_version = 1, oe_type = 2;
    const uint64_t oe_size = (uint64_t)sgx_len;
    for (size_t i = 0; i < 4; i++) {
        oe[i] = (uint8_t)(oe_version >> (8 * i));
        oe[4 + i] = (uint8_t)(oe_type >> (8 * i));
    }
    for (size_t i = 0; i < 8; i++) {
        oe[8 + i] = (uint8_t)(oe_size >> (8 * i));
    }
    memcpy(oe + 16, sgx_quote, sgx_len);
    if (write_out(outdir, "oe_report.bin", oe, 16 + sgx_len) != 0) {
        die("oe_report.bin");
        goto out;
    }

    struct tp_quote_params tdx;
    tp_quote_params_default(&tdx, TP_TDX_V4);
    derive("attestd-integration-mrtd", tdx.td.mrtd, 48);
    derive("attestd-integration-rtmr3", tdx.td.rtmr[3], 48);
    memcpy(tdx.td.report_data, rt_hash, 32);
    memset(tdx.td.report_data + 32, 0, 32);
    if (build_write(pki, &tdx, outdir, "tdx_v4.bin", NULL, NULL) != 0) {
        die("tdx_v4.bin");
        goto out;
    }

    exp = json_object();
    json_t *j_sgx = sgx_expect(&sgx.enclave), *j_json = sgx_expect(&sgx_json.enclave),
           *j_dbg = sgx_expect(&dbg.enclave), *j_tdx = tdx_expect(&tdx.td),
           *j_init = sgx_expect(&init.enclave);
    char rt_hex[65], rtj_hex[65];
    hex(rt_hash, 32, rt_hex);
    hex(rtj_hash, 32, rtj_hex);
    if (exp == NULL || j_sgx == NULL || j_json == NULL || j_dbg == NULL || j_tdx == NULL ||
        j_init == NULL || json_object_set_new(exp, "sgx_init", j_init) != 0 ||
        json_object_set_new(exp, "t0", json_integer(t0)) != 0 ||
        json_object_set_new(exp, "verify_at", json_integer(t0 + TP_DAY_S)) != 0 ||
        json_object_set_new(exp, "runtime_sha256", json_string(rt_hex)) != 0 ||
        json_object_set_new(exp, "runtime_json_sha256", json_string(rtj_hex)) != 0 ||
        json_object_set_new(exp, "sgx", j_sgx) != 0 ||
        json_object_set_new(exp, "sgx_json", j_json) != 0 ||
        json_object_set_new(exp, "sgx_debug", j_dbg) != 0 ||
        json_object_set_new(exp, "tdx", j_tdx) != 0) {
        die("expected.json");
        goto out;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/expected.json", outdir) >= sizeof(path) ||
        json_dump_file(exp, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        die("writing expected.json");
        goto out;
    }
    status = 0;

out:
    json_decref(exp);
    free(oe);
    free(sgx_quote);
    tp_pki_free(pki);
    return status;
}
