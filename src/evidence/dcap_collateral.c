#include "evidence/dcap_collateral.h"

#include "base/encoding.h"
#include "crypto/digest.h"
#include "crypto/ecdsa.h"
#include "crypto/x509.h"
#include <openssl/x509v3.h>
#include "evidence/dcap_pck.h"
#include "evidence/tcb_info.h"

#include <stdlib.h>
#include <string.h>

static void destroy(struct at_cache_obj *o)
{
    struct at_dcap_verified *v = (struct at_dcap_verified *)o;
    EVP_PKEY_free(v->pck_key);
    at_tcb_info_clear(&v->tcb_info);
    at_qe_identity_clear(&v->qe_identity);
    free(v);
}

static void narrow(struct at_dcap_verified *v, int64_t from, int64_t until)
{
    if (from > v->valid_from) {
        v->valid_from = from;
    }
    if (until < v->valid_until) {
        v->valid_until = until;
    }
}

static void hexhash(const uint8_t *p, size_t n, char out[65])
{
    uint8_t d[32];
    if (at_sha256(p, n, d) != 0) {
        memset(d, 0, sizeof(d));
    }
    at_hex_encode(d, 32, out);
}

static at_status narrow_certs(struct at_dcap_verified *v, STACK_OF(X509) *sk, struct at_err *e)
{
    for (int i = 0; i < sk_X509_num(sk); i++) {
        int64_t nb, na;
        AT_TRY(at_x509_validity(sk_X509_value(sk, i), &nb, &na, e));
        narrow(v, nb, na);
    }
    return at_ok();
}

/*
 * A collateral document's issuer chain (TCB signing cert, then root), checked to
 * `root` with the Root CA CRL, then the document's signature by the signer.
 */
static at_status signed_doc(struct at_dcap_verified *v, const uint8_t *chain_pem, size_t chain_len,
                            const uint8_t *body, size_t body_len, const uint8_t sig[64],
                            X509 *root, X509_CRL *root_crl, int64_t at, const char *chain_check,
                            const char *sig_check, struct at_err *e)
{
    STACK_OF(X509) *chain = NULL;
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    at_status s = at_ok();
    if (crls == NULL || sk_X509_CRL_push(crls, root_crl) <= 0) {
        sk_X509_CRL_free(crls);
        AT_FAIL(e, AT_E_NOMEM, chain_check, "out of memory");
    }
    s = at_x509_pem_chain(chain_pem, chain_len, &chain, chain_check, e);
    if (!at_is_ok(s)) {
        goto out;
    }
    /* The signer by name (PCS lists it first; Intel's samples do not always). */
    X509 *signer = NULL;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        if (at_x509_cn_is(sk_X509_value(chain, i), "Intel SGX TCB Signing")) {
            signer = signer == NULL ? sk_X509_value(chain, i) : NULL;
            if (signer == NULL) {
                break; /* two signers: ambiguous */
            }
        }
    }
    if (signer == NULL) {
        s = at_fail_(e, AT_E_CHAIN, chain_check, __FILE__, __LINE__,
                     "%s: no single 'Intel SGX TCB Signing' certificate", chain_check);
        goto out;
    }
    s = at_x509_verify_chain(signer, chain, root, crls, at, chain_check, e);
    if (!at_is_ok(s)) {
        goto out;
    }
    s = narrow_certs(v, chain, e);
    if (!at_is_ok(s)) {
        goto out;
    }
    EVP_PKEY *key = X509_get0_pubkey(signer);
    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 256) {
        s = at_fail_(e, AT_E_CHAIN, chain_check, __FILE__, __LINE__,
                     "%s: signer key is not ECDSA P-256", chain_check);
        goto out;
    }
    s = at_ecdsa_verify_raw(key, at_md_sha256(), body, body_len, sig, 64, false, sig_check, e);
out:
    sk_X509_pop_free(chain, X509_free);
    sk_X509_CRL_free(crls); /* the CRL itself belongs to the caller */
    return s;
}

static at_status in_date(int64_t from, int64_t until, int64_t at, const char *what,
                         const char *check, struct at_err *e)
{
    if (at < from) {
        AT_FAIL(e, AT_E_NOT_YET_VALID, check, "%s is not valid yet at the verification time",
                what);
    }
    if (at > until) {
        AT_FAIL(e, AT_E_EXPIRED, check, "%s expired before the verification time (nextUpdate)",
                what);
    }
    return at_ok();
}

static at_status pck_chain(struct at_dcap_verified *v, const uint8_t *pem, size_t pem_len,
                           X509 *root, X509_CRL *root_crl, X509_CRL *pck_crl, int64_t at,
                           struct at_err *e)
{
    STACK_OF(X509) *chain = NULL;
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    if (crls == NULL || sk_X509_CRL_push(crls, root_crl) <= 0 ||
        sk_X509_CRL_push(crls, pck_crl) <= 0) {
        sk_X509_CRL_free(crls);
        AT_FAIL(e, AT_E_NOMEM, "pck_chain", "out of memory");
    }
    at_status s = at_x509_pem_chain(pem, pem_len, &chain, "pck_chain", e);
    if (!at_is_ok(s)) {
        goto out;
    }
    /* Identify the roles by name, not position: Intel's TDX sample lists the root first. */
    int n = sk_X509_num(chain);
    X509 *leaf = NULL, *ca = NULL, *own_root = NULL;
    int unknown = 0;
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        X509 **slot = at_x509_cn_is(x, "Intel SGX PCK Certificate") ? &leaf
                      : (at_x509_cn_is(x, "Intel SGX PCK Platform CA") ||
                         at_x509_cn_is(x, "Intel SGX PCK Processor CA"))
                          ? &ca
                      : X509_check_issued(x, x) == X509_V_OK ? &own_root
                                                             : NULL;
        if (slot == NULL || *slot != NULL) {
            unknown++;
        } else {
            *slot = x;
        }
    }
    if (leaf == NULL || ca == NULL || unknown != 0) {
        s = at_fail_(e, AT_E_CHAIN, "pck_chain", __FILE__, __LINE__,
                     "pck_chain: expected one 'Intel SGX PCK Certificate', one Intel SGX PCK "
                     "Platform/Processor CA and at most one root");
        goto out;
    }
    /* A root carried in the quote must be the pinned one (never trust its own root). */
    if (own_root != NULL && !at_x509_equal(own_root, root)) {
        s = at_fail_(e, AT_E_CHAIN, "pck_chain", __FILE__, __LINE__,
                     "pck_chain: the root certificate in the quote is not the trusted root");
        goto out;
    }
    s = at_x509_verify_chain(leaf, chain, root, crls, at, "pck_chain", e);
    if (!at_is_ok(s)) {
        goto out;
    }
    s = narrow_certs(v, chain, e);
    if (!at_is_ok(s)) {
        goto out;
    }
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 256) {
        s = at_fail_(e, AT_E_CHAIN, "pck_chain", __FILE__, __LINE__,
                     "pck_chain: PCK key is not ECDSA P-256");
        goto out;
    }
    s = at_pck_ext_parse(leaf, &v->pck, e);
    if (!at_is_ok(s)) {
        goto out;
    }
    EVP_PKEY_up_ref(key);
    v->pck_key = key;
out:
    sk_X509_pop_free(chain, X509_free);
    sk_X509_CRL_free(crls);
    return s;
}

static at_status verify(struct at_dcap_verified *v, const struct at_dcap_collateral *col,
                        const uint8_t *pck_pem, size_t pck_pem_len, X509 *root, int64_t at,
                        struct at_err *e)
{
    X509_CRL *root_crl = NULL, *pck_crl = NULL;
    at_status s = at_crl_parse(col->root_ca_crl, col->root_ca_crl_len, &root_crl, "root_ca_crl",
                               e);
    if (at_is_ok(s)) {
        s = at_crl_parse(col->pck_crl, col->pck_crl_len, &pck_crl, "pck_crl", e);
    }
    int64_t tu, nu;
    if (at_is_ok(s)) {
        s = at_crl_validity(root_crl, &tu, &nu, e);
        narrow(v, tu, nu);
    }
    if (at_is_ok(s)) {
        s = at_crl_validity(pck_crl, &tu, &nu, e);
        narrow(v, tu, nu);
    }
    if (at_is_ok(s)) {
        s = pck_chain(v, pck_pem, pck_pem_len, root, root_crl, pck_crl, at, e);
    }
    if (at_is_ok(s)) {
        s = signed_doc(v, col->tcb_info_issuer_chain, col->tcb_info_issuer_chain_len,
                       col->tcb_info, col->tcb_info_len, col->tcb_info_sig, root, root_crl, at,
                       "tcb_info_chain", "tcb_info_signature", e);
    }
    if (at_is_ok(s)) {
        s = at_tcb_info_parse(col->tcb_info, col->tcb_info_len, &v->tcb_info, e);
        at_err_check(e, "tcb_info_parse");
    }
    if (at_is_ok(s)) {
        s = in_date(v->tcb_info.issue_date, v->tcb_info.next_update, at, "TCB info",
                    "tcb_info_validity", e);
        narrow(v, v->tcb_info.issue_date, v->tcb_info.next_update);
    }
    if (at_is_ok(s)) {
        s = signed_doc(v, col->qe_identity_issuer_chain, col->qe_identity_issuer_chain_len,
                       col->qe_identity, col->qe_identity_len, col->qe_identity_sig, root,
                       root_crl, at, "qe_identity_chain", "qe_identity_signature", e);
    }
    if (at_is_ok(s)) {
        s = at_qe_identity_parse(col->qe_identity, col->qe_identity_len, &v->qe_identity, e);
        at_err_check(e, "qe_identity_parse");
    }
    if (at_is_ok(s)) {
        s = in_date(v->qe_identity.issue_date, v->qe_identity.next_update, at, "QE identity",
                    "qe_identity_validity", e);
        narrow(v, v->qe_identity.issue_date, v->qe_identity.next_update);
    }
    if (at_is_ok(s) && (v->tcb_info.tcb_type != 0)) {
        s = at_fail_(e, AT_E_UNSUPPORTED, "tcb_info_type", __FILE__, __LINE__,
                     "TCB info tcbType %u is not supported (0)", v->tcb_info.tcb_type);
    }
    if (at_is_ok(s) && memcmp(v->tcb_info.fmspc, v->pck.fmspc, 6) != 0) {
        s = at_fail_(e, AT_E_MISMATCH, "fmspc_match", __FILE__, __LINE__,
                     "TCB info FMSPC does not match the PCK certificate's FMSPC");
    }
    if (at_is_ok(s) && memcmp(v->tcb_info.pceid, v->pck.pceid, 2) != 0) {
        s = at_fail_(e, AT_E_MISMATCH, "pceid_match", __FILE__, __LINE__,
                     "TCB info PCE-ID does not match the PCK certificate's PCE-ID");
    }
    X509_CRL_free(root_crl);
    X509_CRL_free(pck_crl);
    return s;
}

at_status at_dcap_collateral_verify(const struct at_dcap_collateral *col, const uint8_t *pck_pem,
                                    size_t pck_pem_len, X509 *root, int64_t at,
                                    struct at_dcap_verified **out, struct at_err *e)
{
    struct at_dcap_verified *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    at_cache_obj_init(&v->obj, destroy);
    v->valid_from = INT64_MIN;
    v->valid_until = INT64_MAX;
    at_status s = verify(v, col, pck_pem, pck_pem_len, root, at, e);
    if (!at_is_ok(s)) {
        at_cache_obj_unref(&v->obj);
        return s;
    }
    hexhash(col->tcb_info, col->tcb_info_len, v->tcbinfohash);
    hexhash(col->tcb_info_issuer_chain, col->tcb_info_issuer_chain_len, v->tcbinfocertshash);
    hexhash(col->root_ca_crl, col->root_ca_crl_len, v->tcbinfocrlhash);
    hexhash(col->qe_identity, col->qe_identity_len, v->qeidhash);
    hexhash(col->qe_identity_issuer_chain, col->qe_identity_issuer_chain_len, v->qeidcertshash);
    hexhash(col->root_ca_crl, col->root_ca_crl_len, v->qeidcrlhash);
    *out = v;
    return at_ok();
}

int at_dcap_collateral_seal(struct at_dcap_collateral *c)
{
    /* Length-prefix each piece so that moving bytes between fields changes the digest. */
    uint64_t lens[8] = {c->pck_cert_chain_len, c->pck_crl_issuer_chain_len, c->root_ca_crl_len, c->pck_crl_len,
                        c->tcb_info_issuer_chain_len, c->tcb_info_len,
                        c->qe_identity_issuer_chain_len, c->qe_identity_len};
    /* at_sha256_parts stops at a NULL pointer: pass "" for absent pieces. */
#define NN(x) ((x) != NULL ? (const void *)(x) : (const void *)"")
    int rc = at_sha256_parts(
        c->digest, lens, sizeof(lens), NN(c->pck_crl_issuer_chain), c->pck_crl_issuer_chain_len,
        NN(c->root_ca_crl), c->root_ca_crl_len, NN(c->pck_crl), c->pck_crl_len,
        NN(c->tcb_info_issuer_chain), c->tcb_info_issuer_chain_len, NN(c->tcb_info),
        c->tcb_info_len, c->tcb_info_sig, (size_t)64, NN(c->qe_identity_issuer_chain),
        c->qe_identity_issuer_chain_len, NN(c->qe_identity), c->qe_identity_len,
        c->qe_identity_sig, (size_t)64, NN(c->pck_cert_chain), c->pck_cert_chain_len, NULL);
#undef NN
    c->sealed = rc == 0;
    return rc;
}
