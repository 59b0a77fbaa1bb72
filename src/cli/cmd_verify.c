/*
 * attestctl verify --type sgx|tdx --evidence FILE --collateral DIR_OR_JSON [--root PEM] [--at
 * RFC3339] attestctl verify --type snp --evidence REPORT --collateral DIR [--root ARK_PEM] [--at
 * RFC3339]
 *
 * Prints one JSON object: {"result":"pass"|"fail", "tcb_status", "advisory_ids", "claims",
 * "error":{"code","message","check"}} and exits 0 on pass, 1 on fail, 2 on usage or I/O errors.
 */
#include "base/fileio.h"
#include "base/limits.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "collateral/dcap_bundle.h"
#include "collateral/snp_bundle.h"
#include "crypto/x509.h"
#include "evidence/dcap.h"
#include "evidence/snp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl verify --type sgx|tdx|snp --evidence FILE\n"
               "                        --collateral DIR_OR_JSON [--root PEM] [--at RFC3339]\n"
               "  --evidence    the raw quote (binary), or the 1184-byte SEV-SNP report\n"
               "  --collateral  a directory of Intel PCS files or one collateral JSON;\n"
               "                snp: a directory with vcek.der|vlek.der (or .pem), cert_chain.pem\n"
               "                (ASK/ASVK then ARK) and optionally crl.der\n"
               "  --root        trust anchor PEM replacing the pinned Intel SGX Root CA, or for\n"
               "                snp the pinned AMD ARK (tests)\n"
               "  --at          verification time (default: now)\n");
}

static int io_error(const struct at_err *e)
{
    fprintf(stderr, "attestctl verify: %s\n", e->msg);
    return 2;
}

static json_t *error_json(const struct at_err *e)
{
    json_t *j = json_pack("{s:s,s:s}", "code", at_code_name(e->code), "message", e->msg);
    if (j != NULL && e->check != NULL) {
        json_object_set_new(j, "check", json_string(e->check));
    }
    if (j != NULL && e->has_offset) {
        json_object_set_new(j, "offset", json_integer((json_int_t)e->offset));
    }
    return j;
}

/*
 * The contract's one JSON object, in its key order, on stdout; returns the exit code
 * (0 pass, 1 fail, 2 when the output cannot be produced). tcb_status NULL: not evaluated.
 */
static int emit(at_status s, const struct at_err *e, const char *tcb_status,
                char *const *advisories, size_t n_advisories, const struct at_claims *claims)
{
    json_t *out = json_object();
    json_object_set_new(out, "result", json_string(at_is_ok(s) ? "pass" : "fail"));
    if (tcb_status != NULL) {
        json_object_set_new(out, "tcb_status", json_string(tcb_status));
        json_t *adv = json_array();
        for (size_t i = 0; i < n_advisories; i++) {
            json_array_append_new(adv, json_string(advisories[i]));
        }
        json_object_set_new(out, "advisory_ids", adv);
    }
    if (claims != NULL) {
        json_object_set_new(out, "claims", at_claims_to_json(claims));
    }
    if (!at_is_ok(s)) {
        json_object_set_new(out, "error", error_json(e));
    }
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(out);
    if (text == NULL) {
        return 2;
    }
    puts(text);
    free(text);
    return at_is_ok(s) ? 0 : 1;
}

/* --type snp: the SEV-SNP report against a collateral directory (collateral/snp_bundle.h). */
static int verify_snp(const uint8_t *report, size_t report_len, const char *dir, X509 *ark,
                      int64_t at)
{
    struct at_err e, cerr;
    at_err_init(&e);
    at_err_init(&cerr);
    struct at_snp_bundle b;
    bool have_col = at_is_ok(at_snp_bundle_from_dir(dir, &b, &cerr));
    struct at_snp_collateral col;
    if (have_col) {
        at_snp_bundle_collateral(&b, &col);
    }
    struct at_snp_verify_opts opts = {.at = at, .ark = ark, .cache = NULL};
    struct at_snp_result res;
    at_snp_result_init(&res);
    at_status s = at_snp_verify(report, report_len, have_col ? &col : NULL, &opts, &res, &e);
    if (!have_col && s.code == AT_E_COLLATERAL) {
        e = cerr; /* parsed fine; say which piece was missing */
    }
    int rc = emit(s, &e, NULL, NULL, 0, res.has_claims ? &res.claims : NULL);
    at_snp_result_clear(&res);
    if (have_col) {
        at_snp_bundle_clear(&b);
    }
    return rc;
}

int at_cli_verify(int argc, char **argv)
{
    const char *type = NULL, *evidence = NULL, *collateral = NULL, *root_path = NULL, *at = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--type") == 0         ? &type
                            : strcmp(a, "--evidence") == 0   ? &evidence
                            : strcmp(a, "--collateral") == 0 ? &collateral
                            : strcmp(a, "--root") == 0       ? &root_path
                            : strcmp(a, "--at") == 0         ? &at
                                                             : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (slot == NULL || i + 1 >= argc) {
            fprintf(stderr, "attestctl verify: %s '%s'\n",
                    slot == NULL ? "unknown option" : "missing value for", a);
            usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (type == NULL || evidence == NULL || collateral == NULL) {
        fprintf(stderr, "attestctl verify: --type, --evidence and --collateral are required\n");
        usage(stderr);
        return 2;
    }
    enum at_dcap_tee tee = AT_DCAP_SGX;
    bool snp = strcmp(type, "snp") == 0;
    if (strcmp(type, "sgx") == 0) {
        tee = AT_DCAP_SGX;
    } else if (strcmp(type, "tdx") == 0) {
        tee = AT_DCAP_TDX;
    } else if (!snp) {
        fprintf(stderr, "attestctl verify: --type must be sgx, tdx or snp\n");
        return 2;
    }
    struct at_err e;
    at_err_init(&e);
    struct at_dcap_verify_opts opts = {.at = at_time_now(), .root = NULL, .cache = NULL};
    if (at != NULL && !at_is_ok(at_time_parse(at, strlen(at), &opts.at, &e))) {
        fprintf(stderr, "attestctl verify: --at: %s\n", e.msg);
        return 2;
    }
    uint8_t *quote = NULL;
    size_t quote_len = 0;
    if (!at_is_ok(at_file_read(evidence, AT_LIMIT_EVIDENCE_BYTES, &quote, &quote_len, &e))) {
        return io_error(&e);
    }
    if (root_path != NULL) {
        uint8_t *pem;
        size_t pem_len;
        if (!at_is_ok(at_file_read(root_path, 1 << 20, &pem, &pem_len, &e))) {
            free(quote);
            return io_error(&e);
        }
        at_status s = at_x509_from_pem_or_der(pem, pem_len, &opts.root, "root", &e);
        free(pem);
        if (!at_is_ok(s)) {
            free(quote);
            return io_error(&e);
        }
    }
    if (!at_path_exists(collateral)) {
        fprintf(stderr, "attestctl verify: collateral %s does not exist\n", collateral);
        free(quote);
        X509_free(opts.root);
        return 2;
    }
    if (snp) {
        int rc = verify_snp(quote, quote_len, collateral, opts.root, opts.at);
        free(quote);
        X509_free(opts.root);
        return rc;
    }
    struct at_dcap_collateral col;
    struct at_err cerr;
    at_err_init(&cerr);
    bool have_col = at_is_ok(at_dcap_bundle_load(collateral, &col, &cerr));

    struct at_dcap_result res;
    at_dcap_result_init(&res);
    at_status s;
    if (have_col) {
        s = at_dcap_verify(tee, quote, quote_len, &col, &opts, &res, &e);
    } else {
        /* Parse for the claims, then fail closed with the collateral error. */
        s = at_dcap_verify(tee, quote, quote_len, NULL, &opts, &res, &e);
        if (s.code == AT_E_COLLATERAL) {
            e = cerr;
        }
    }
    int rc = emit(s, &e, res.has_tcb_status ? at_tcb_status_name(res.tcb_status) : NULL,
                  res.advisories, res.n_advisories, res.has_claims ? &res.claims : NULL);
    at_dcap_result_clear(&res);
    if (have_col) {
        at_dcap_collateral_clear(&col);
    }
    free(quote);
    X509_free(opts.root);
    return rc;
}
