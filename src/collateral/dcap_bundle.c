#include "collateral/dcap_bundle.h"

#include "base/encoding.h"
#include "base/fileio.h"
#include "base/limits.h"
#include "evidence/tcb_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static at_status read_in(const char *dir, const char *name, uint8_t **out, size_t *len,
                         struct at_err *e)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        AT_FAIL(e, AT_E_USAGE, "collateral", "collateral path too long");
    }
    at_status s = at_file_read(path, AT_LIMIT_COLLATERAL_BYTES, out, len, e);
    if (!at_is_ok(s) && s.code == AT_E_IO) {
        e->code = AT_E_COLLATERAL; /* a missing piece is a collateral error, not I/O */
        s.code = AT_E_COLLATERAL;
        e->check = "collateral";
    }
    return s;
}

static at_status dup_bytes(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len,
                           struct at_err *e)
{
    uint8_t *d = malloc(n + 1);
    if (d == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    memcpy(d, p, n);
    d[n] = 0;
    *out = d;
    *out_len = n;
    return at_ok();
}

/* A PCS response document → the exact signed body (copied) and the signature. */
static at_status split_doc(const uint8_t *doc, size_t len, const char *key, uint8_t **body,
                           size_t *body_len, uint8_t sig[64], struct at_err *e)
{
    const uint8_t *b;
    size_t bl;
    AT_TRY(at_pcs_json_split(doc, len, key, &b, &bl, sig, e));
    return dup_bytes(b, bl, body, body_len, e);
}

at_status at_dcap_bundle_from_dir(const char *dir, struct at_dcap_collateral *c, struct at_err *e)
{
    memset(c, 0, sizeof(*c));
    uint8_t *doc = NULL;
    size_t len = 0;
    at_status s = read_in(dir, "pck_crl.der", &c->pck_crl, &c->pck_crl_len, e);
    if (at_is_ok(s)) {
        s = read_in(dir, "root_ca_crl.der", &c->root_ca_crl, &c->root_ca_crl_len, e);
    }
    if (at_is_ok(s)) {
        s = read_in(dir, "pck_crl_issuer_chain.pem", &c->pck_crl_issuer_chain,
                    &c->pck_crl_issuer_chain_len, e);
    }
    if (at_is_ok(s)) {
        s = read_in(dir, "tcb_info_issuer_chain.pem", &c->tcb_info_issuer_chain,
                    &c->tcb_info_issuer_chain_len, e);
    }
    if (at_is_ok(s)) {
        s = read_in(dir, "qe_identity_issuer_chain.pem", &c->qe_identity_issuer_chain,
                    &c->qe_identity_issuer_chain_len, e);
    }
    if (at_is_ok(s)) {
        s = read_in(dir, "tcb_info.json", &doc, &len, e);
    }
    if (at_is_ok(s)) {
        s = split_doc(doc, len, "tcbInfo", &c->tcb_info, &c->tcb_info_len, c->tcb_info_sig, e);
        at_err_context(e, "tcb_info.json");
    }
    free(doc);
    doc = NULL;
    if (at_is_ok(s)) {
        s = read_in(dir, "qe_identity.json", &doc, &len, e);
    }
    if (at_is_ok(s)) {
        s = split_doc(doc, len, "enclaveIdentity", &c->qe_identity, &c->qe_identity_len,
                      c->qe_identity_sig, e);
        at_err_context(e, "qe_identity.json");
    }
    free(doc);
    /* Optional PCK chain, for quotes that carry only a PPID. */
    char pck_path[4096];
    int pn = snprintf(pck_path, sizeof(pck_path), "%s/pck_cert_chain.pem", dir);
    if (at_is_ok(s) && pn > 0 && (size_t)pn < sizeof(pck_path) && at_path_exists(pck_path)) {
        s = read_in(dir, "pck_cert_chain.pem", &c->pck_cert_chain, &c->pck_cert_chain_len, e);
        if (at_is_ok(s) && c->pck_cert_chain_len == 0) {
            free(c->pck_cert_chain); /* an empty file means "none" */
            c->pck_cert_chain = NULL;
        }
    }
    if (at_is_ok(s) && at_dcap_collateral_seal(c) != 0) {
        s = at_fail_(e, AT_E_CRYPTO, NULL, __FILE__, __LINE__, "cannot hash collateral");
    }
    if (!at_is_ok(s)) {
        at_dcap_collateral_clear(c);
    }
    return s;
}

static at_status field_str(const json_t *j, const char *name, const char **out, size_t *len,
                           struct at_err *e)
{
    const json_t *v = json_object_get(j, name);
    if (!json_is_string(v)) {
        AT_FAIL(e, AT_E_COLLATERAL, "collateral", "collateral JSON: '%s' missing or not a string",
                name);
    }
    *out = json_string_value(v);
    *len = json_string_length(v);
    return at_ok();
}

/* A CRL given as hex DER, PEM text, or base64 DER. */
static at_status crl_field(const json_t *j, const char *name, uint8_t **out, size_t *out_len,
                           struct at_err *e)
{
    const char *s;
    size_t n;
    AT_TRY(field_str(j, name, &s, &n, e));
    if (n > 10 && memcmp(s, "-----BEGIN", 10) == 0) {
        return dup_bytes((const uint8_t *)s, n, out, out_len, e);
    }
    uint8_t *buf = malloc(n / 2 + 1);
    if (buf == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    size_t bl;
    struct at_err tmp;
    at_err_init(&tmp);
    if (at_is_ok(at_hex_decode(s, n, buf, n / 2 + 1, &bl, &tmp))) {
        *out = buf;
        *out_len = bl;
        return at_ok();
    }
    free(buf);
    at_status st = at_b64_decode_any(s, n, out, out_len, e);
    if (!at_is_ok(st)) {
        AT_FAIL(e, AT_E_COLLATERAL, "collateral",
                "collateral JSON: '%s' is neither hex DER, base64 DER nor PEM", name);
    }
    return st;
}

static at_status doc_field(const json_t *j, const char *name, const char *sig_name,
                           const char *key, uint8_t **body, size_t *body_len, uint8_t sig[64],
                           struct at_err *e)
{
    const char *s;
    size_t n;
    AT_TRY(field_str(j, name, &s, &n, e));
    const json_t *sj = json_object_get(j, sig_name);
    if (sj == NULL) {
        /* The whole PCS response was given. */
        return split_doc((const uint8_t *)s, n, key, body, body_len, sig, e);
    }
    const char *sh;
    size_t shl, got;
    AT_TRY(field_str(j, sig_name, &sh, &shl, e));
    if (shl != 128 || !at_is_ok(at_hex_decode(sh, shl, sig, 64, &got, e))) {
        AT_FAIL(e, AT_E_COLLATERAL, "collateral", "collateral JSON: '%s' must be 128 hex digits",
                sig_name);
    }
    return dup_bytes((const uint8_t *)s, n, body, body_len, e);
}

at_status at_dcap_bundle_from_json(const json_t *j, struct at_dcap_collateral *c, struct at_err *e)
{
    memset(c, 0, sizeof(*c));
    if (!json_is_object(j)) {
        AT_FAIL(e, AT_E_COLLATERAL, "collateral", "collateral JSON must be an object");
    }
    const char *s;
    size_t n;
    at_status st = field_str(j, "pck_crl_issuer_chain", &s, &n, e);
    if (at_is_ok(st)) {
        st = dup_bytes((const uint8_t *)s, n, &c->pck_crl_issuer_chain,
                       &c->pck_crl_issuer_chain_len, e);
    }
    if (at_is_ok(st)) {
        st = crl_field(j, "root_ca_crl", &c->root_ca_crl, &c->root_ca_crl_len, e);
    }
    if (at_is_ok(st)) {
        st = crl_field(j, "pck_crl", &c->pck_crl, &c->pck_crl_len, e);
    }
    if (at_is_ok(st)) {
        st = field_str(j, "tcb_info_issuer_chain", &s, &n, e);
    }
    if (at_is_ok(st)) {
        st = dup_bytes((const uint8_t *)s, n, &c->tcb_info_issuer_chain,
                       &c->tcb_info_issuer_chain_len, e);
    }
    if (at_is_ok(st)) {
        st = field_str(j, "qe_identity_issuer_chain", &s, &n, e);
    }
    if (at_is_ok(st)) {
        st = dup_bytes((const uint8_t *)s, n, &c->qe_identity_issuer_chain,
                       &c->qe_identity_issuer_chain_len, e);
    }
    if (at_is_ok(st)) {
        st = doc_field(j, "tcb_info", "tcb_info_signature", "tcbInfo", &c->tcb_info,
                       &c->tcb_info_len, c->tcb_info_sig, e);
    }
    if (at_is_ok(st)) {
        st = doc_field(j, "qe_identity", "qe_identity_signature", "enclaveIdentity",
                       &c->qe_identity, &c->qe_identity_len, c->qe_identity_sig, e);
    }
    const json_t *pck = json_object_get(j, "pck_cert_chain");
    if (at_is_ok(st) && json_is_string(pck)) {
        st = dup_bytes((const uint8_t *)json_string_value(pck), json_string_length(pck),
                       &c->pck_cert_chain, &c->pck_cert_chain_len, e);
    }
    if (at_is_ok(st) && at_dcap_collateral_seal(c) != 0) {
        st = at_fail_(e, AT_E_CRYPTO, NULL, __FILE__, __LINE__, "cannot hash collateral");
    }
    if (!at_is_ok(st)) {
        at_dcap_collateral_clear(c);
    }
    return st;
}

at_status at_dcap_bundle_load(const char *path, struct at_dcap_collateral *out, struct at_err *e)
{
    if (at_path_is_dir(path)) {
        return at_dcap_bundle_from_dir(path, out, e);
    }
    uint8_t *buf;
    size_t len;
    at_status s = at_file_read(path, AT_LIMIT_COLLATERAL_BYTES, &buf, &len, e);
    if (!at_is_ok(s)) {
        return s;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (j == NULL) {
        AT_FAIL(e, AT_E_COLLATERAL, "collateral", "collateral JSON %s: %s (line %d)", path,
                jerr.text, jerr.line);
    }
    s = at_dcap_bundle_from_json(j, out, e);
    json_decref(j);
    return s;
}
