/*
 * attestctl collateral: import Intel DCAP collateral into the store.
 *
 *   attestctl [--data-dir DIR] collateral import DIR_OR_JSON
 *
 * The bundle (a PCS-shaped directory or one JSON file, see collateral/dcap_bundle.h)
 * is stored under its key: the TEE and FMSPC named by its TCB info, and the PCK CA
 * ("platform" or "processor") named by the issuer CN of its PCK CRL. Nothing is
 * verified here: the verifier checks signatures and dates at attestation time.
 *
 * Contract (scripts depend on it): prints {"tee","fmspc","ca","tcb_info_next_update"}
 * and exits 0; 1 when the bundle is malformed or incomplete; 2 on usage or I/O errors.
 */
#include "base/encoding.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "collateral/dcap_bundle.h"
#include "crypto/x509.h"
#include "evidence/tcb_info.h"
#include "store/store.h"

#include <jansson.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl [--data-dir DIR] collateral import DIR_OR_JSON\n");
}

/* The PCK CA type from the PCK CRL's issuer CN. */
static at_status crl_ca_type(const struct at_dcap_collateral *c, const char **ca, struct at_err *e)
{
    X509_CRL *crl = NULL;
    AT_TRY(at_crl_parse(c->pck_crl, c->pck_crl_len, &crl, "pck_crl", e));
    char cn[128] = "";
    int n =
        X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl), NID_commonName, cn, (int)sizeof(cn));
    X509_CRL_free(crl);
    if (n > 0 && strcmp(cn, "Intel SGX PCK Platform CA") == 0) {
        *ca = "platform";
        return at_ok();
    }
    if (n > 0 && strcmp(cn, "Intel SGX PCK Processor CA") == 0) {
        *ca = "processor";
        return at_ok();
    }
    AT_FAIL(e, AT_E_COLLATERAL, "pck_crl",
            "PCK CRL issuer is not the Intel SGX PCK Platform or Processor CA");
}

static int import(const char *path)
{
    struct at_err e;
    at_err_init(&e);
    struct at_dcap_collateral c;
    memset(&c, 0, sizeof(c));
    if (!at_is_ok(at_dcap_bundle_load(path, &c, &e))) {
        fprintf(stderr, "attestctl collateral: %s: %s\n", path, e.msg);
        return at_cli_exit_code(&e);
    }
    struct at_tcb_info ti;
    memset(&ti, 0, sizeof(ti));
    const char *ca = NULL;
    at_status s = at_tcb_info_parse(c.tcb_info, c.tcb_info_len, &ti, &e);
    if (at_is_ok(s)) {
        s = crl_ca_type(&c, &ca, &e);
    }
    if (!at_is_ok(s)) {
        fprintf(stderr, "attestctl collateral: %s: %s\n", path, e.msg);
        at_dcap_collateral_clear(&c);
        at_tcb_info_clear(&ti);
        return 1;
    }
    const char *tee = ti.is_tdx ? "tdx" : "sgx";
    uint8_t fmspc[6];
    memcpy(fmspc, ti.fmspc, sizeof(fmspc));
    int64_t next_update = ti.next_update;
    at_tcb_info_clear(&ti);

    struct at_store *st = NULL;
    int rc = at_cli_store_open("collateral", &st);
    if (rc == 0 && !at_is_ok(at_store_collateral_put(st, tee, fmspc, ca, &c, &e))) {
        fprintf(stderr, "attestctl collateral: %s\n", e.msg);
        rc = at_cli_exit_code(&e);
    }
    at_store_close(st);
    at_dcap_collateral_clear(&c);
    if (rc != 0) {
        return rc;
    }
    char hex[13];
    at_hex_encode(fmspc, sizeof(fmspc), hex);
    char when[32];
    at_time_format(next_update, when, sizeof(when));
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "tee", tee, "fmspc", hex, "ca", ca,
                          "tcb_info_next_update", when);
    char *out = o != NULL ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (out == NULL) {
        fprintf(stderr, "attestctl collateral: out of memory\n");
        return 2;
    }
    printf("%s\n", out);
    free(out);
    return 0;
}

int at_cli_collateral(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "import") != 0 || argv[2][0] == '-') {
        usage(stderr);
        return 2;
    }
    return import(argv[2]);
}
