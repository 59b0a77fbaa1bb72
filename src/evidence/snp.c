/*
 * SEV-SNP verification (evidence-formats.md §3.5, steps 1–7) and claims (claim-sets.md §5.2).
 *
 * The endorsement key (VCEK or VLEK) with its chain, CRL and extensions is verified once
 * and cached under SHA-256 of the certificate bytes and the anchor, valid until the
 * earliest expiry of what went into it; a cached report then costs one P-384 verify.
 */
#include "evidence/snp.h"

#include "base/cache.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "crypto/ecdsa.h"
#include "crypto/roots.h"
#include "crypto/x509.h"
#include "evidence/snp_vcek.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

/* A verified endorsement key: what the per-report checks need, nothing else. */
struct vek_obj {
    struct at_cache_obj obj;
    EVP_PKEY *key;
    enum at_snp_product product;
    enum at_snp_key kind;
    struct at_snp_vek_ext ext;
};

static void vek_destroy(struct at_cache_obj *o)
{
    struct vek_obj *v = (struct vek_obj *)o;
    EVP_PKEY_free(v->key);
    free(v);
}

void at_snp_result_init(struct at_snp_result *r)
{
    memset(r, 0, sizeof(*r));
    at_claims_init(&r->claims);
    r->product = AT_SNP_UNKNOWN;
}

void at_snp_result_clear(struct at_snp_result *r)
{
    at_claims_clear(&r->claims);
    memset(r, 0, sizeof(*r));
    r->product = AT_SNP_UNKNOWN;
}

enum at_snp_product at_snp_report_product(const struct at_snp_report *r)
{
    /* §3.1 product identification from CPUID (v3+); v2 carries none. */
    if (r->version < 3) {
        return AT_SNP_UNKNOWN;
    }
    uint8_t fam = r->cpuid_fam, mod = r->cpuid_mod;
    if (fam == 0x19 && mod <= 0x0F) {
        return AT_SNP_MILAN;
    }
    if (fam == 0x19 && ((mod >= 0x10 && mod <= 0x1F) || (mod >= 0xA0 && mod <= 0xAF))) {
        return AT_SNP_GENOA;
    }
    if (fam == 0x1A && mod <= 0x11) {
        return AT_SNP_TURIN;
    }
    return AT_SNP_UNKNOWN;
}

void at_snp_tcb_split(uint64_t raw, enum at_snp_product p, struct at_snp_tcb *t)
{
    uint8_t b[8];
    for (size_t i = 0; i < 8; i++) {
        b[i] = (uint8_t)(raw >> (8 * i));
    }
    memset(t, 0, sizeof(*t));
    switch (p) {
    case AT_SNP_TURIN:
        /* [0] FMC, [1] BOOT_LOADER, [2] TEE, [3] SNP, [7] MICROCODE */
        *t = (struct at_snp_tcb){
            .fmc = b[0], .bootloader = b[1], .tee = b[2], .snp = b[3], .microcode = b[7]};
        return;
    case AT_SNP_MILAN:
    case AT_SNP_GENOA:
    case AT_SNP_UNKNOWN:
        /* [0] BOOT_LOADER, [1] TEE, [6] SNP, [7] MICROCODE */
        *t = (struct at_snp_tcb){.bootloader = b[0], .tee = b[1], .snp = b[6], .microcode = b[7]};
        return;
    }
}

/* Check names per product, aligned with the vectors' meta.json "checks" keys. */
static const char *ark_check(enum at_snp_product p)
{
    switch (p) {
    case AT_SNP_MILAN:
        return "ark_is_amd_milan_root";
    case AT_SNP_GENOA:
        return "ark_is_amd_genoa_root";
    case AT_SNP_TURIN:
        return "ark_is_amd_turin_root";
    case AT_SNP_UNKNOWN:
        return "ark_is_amd_root";
    }
    return "ark_is_amd_root";
}

/* The collateral's certificates, parsed: leaf, intermediate, and the ARK if supplied. */
struct certs {
    X509 *leaf;
    STACK_OF(X509) * chain; /* [0] ASK/ASVK, [1] ARK (optional) */
};

static void certs_clear(struct certs *c)
{
    X509_free(c->leaf);
    sk_X509_pop_free(c->chain, X509_free);
    memset(c, 0, sizeof(*c));
}

static at_status load_certs(const struct at_snp_collateral *col, struct certs *c, struct at_err *e)
{
    memset(c, 0, sizeof(*c));
    AT_TRY(at_x509_pem_chain(col->chain, col->chain_len, &c->chain, "cert_chain", e));
    at_status s = at_ok();
    if (col->vek != NULL) {
        s = at_x509_from_pem_or_der(col->vek, col->vek_len, &c->leaf, "vek", e);
    } else {
        /* No separate VEK: the chain is VEK, ASK/ASVK[, ARK] (MAA's VcekCertChain). */
        c->leaf = sk_X509_shift(c->chain);
    }
    if (at_is_ok(s) && (sk_X509_num(c->chain) < 1 || sk_X509_num(c->chain) > 2)) {
        s = at_fail_(e, AT_E_CHAIN, "vcek_chain", __FILE__, __LINE__,
                     "cert_chain must hold the ASK/ASVK and optionally the ARK (%d certificates)",
                     sk_X509_num(c->chain));
    }
    if (!at_is_ok(s)) {
        at_err_check(e, "collateral");
        certs_clear(c);
    }
    return s;
}

/* Does `issuer`'s key verify `cert`'s signature (RSA-PSS parameters from the cert)? */
static bool signed_by(X509 *cert, X509 *issuer)
{
    EVP_PKEY *k = X509_get0_pubkey(issuer);
    bool ok = k != NULL && X509_verify(cert, k) == 1;
    ERR_clear_error();
    return ok;
}

/* v2 without a product name: the product whose pinned ARK signed the intermediate. */
static enum at_snp_product product_by_ark(X509 *inter)
{
    static const enum at_snp_product all[] = {AT_SNP_MILAN, AT_SNP_GENOA, AT_SNP_TURIN};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (signed_by(inter, at_root_amd_ark(all[i]))) {
            return all[i];
        }
    }
    return AT_SNP_UNKNOWN;
}

static at_status check_cn(X509 *cert, const char *cn, const char *role, struct at_err *e)
{
    if (!at_x509_cn_is(cert, cn)) {
        AT_FAIL(e, AT_E_CHAIN, "cert_names", "%s certificate CN is not '%s'", role, cn);
    }
    return at_ok();
}

/* §3.4 names: ARK-<P>, SEV-<P> (ASK) or SEV-VLEK-<P> (ASVK). */
static at_status check_names(X509 *ark, X509 *inter, enum at_snp_product p, enum at_snp_key kind,
                             struct at_err *e)
{
    char cn[32];
    snprintf(cn, sizeof(cn), "ARK-%s", at_snp_product_str(p));
    AT_TRY(check_cn(ark, cn, "ARK", e));
    snprintf(cn, sizeof(cn), kind == AT_SNP_KEY_VCEK ? "SEV-%s" : "SEV-VLEK-%s",
             at_snp_product_str(p));
    return check_cn(inter, cn, kind == AT_SNP_KEY_VCEK ? "ASK" : "ASVK", e);
}

static at_status check_p384(X509 *leaf, struct at_err *e)
{
    EVP_PKEY *k = X509_get0_pubkey(leaf);
    char group[32] = "";
    size_t gl = 0;
    if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &gl) !=
            1 ||
        strcmp(group, "secp384r1") != 0) {
        ERR_clear_error();
        AT_FAIL(e, AT_E_CHAIN, "vcek_key", "the VCEK/VLEK key is not an EC P-384 key");
    }
    return at_ok();
}

static void narrow(int64_t *from, int64_t *until, int64_t a, int64_t b)
{
    *from = a > *from ? a : *from;
    *until = b < *until ? b : *until;
}

/* §3.5 step 5: the product CRL, signed by the ARK, current at T, listing neither cert. */
static at_status check_crl(const struct at_snp_collateral *col, X509 *ark, X509 *inter, X509 *leaf,
                           int64_t at, int64_t *from, int64_t *until, struct at_err *e)
{
    X509_CRL *crl = NULL;
    AT_TRY(at_crl_parse(col->crl, col->crl_len, &crl, "crl", e));
    at_status s = at_ok();
    int64_t tu = 0, nu = 0;
    X509_REVOKED *rev = NULL;
    EVP_PKEY *k = X509_get0_pubkey(ark);
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0 || k == NULL ||
        X509_CRL_verify(crl, k) != 1) {
        s = at_fail_(e, AT_E_SIGNATURE, "crl_signature", __FILE__, __LINE__,
                     "the CRL is not signed by the ARK");
    } else if (!at_is_ok(s = at_crl_validity(crl, &tu, &nu, e))) {
        at_err_check(e, "crl");
    } else if (at < tu) {
        s = at_fail_(e, AT_E_NOT_YET_VALID, "crl", __FILE__, __LINE__, "the CRL is not valid yet");
    } else if (at > nu) {
        s = at_fail_(e, AT_E_EXPIRED, "crl", __FILE__, __LINE__, "the CRL has expired");
    } else if (X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(inter)) == 1 ||
               X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(leaf)) == 1) {
        s = at_fail_(e, AT_E_REVOKED, "crl", __FILE__, __LINE__,
                     "the ASK/ASVK or the VCEK/VLEK is revoked");
    } else {
        narrow(from, until, tu, nu);
    }
    ERR_clear_error();
    X509_CRL_free(crl);
    return s;
}

/* Steps 2, 4, 5: product, chain to the pinned ARK, CRL; then the leaf's extensions. */
static at_status verify_certs(const struct at_snp_collateral *col, X509 *anchor_opt,
                              enum at_snp_product hint, int64_t at, struct certs *c,
                              struct vek_obj *v, int64_t *from, int64_t *until, struct at_err *e)
{
    X509 *inter = sk_X509_value(c->chain, 0);
    X509 *supplied_ark = sk_X509_num(c->chain) > 1 ? sk_X509_value(c->chain, 1) : NULL;
    if (at_x509_cn_is(c->leaf, "SEV-VCEK")) {
        v->kind = AT_SNP_KEY_VCEK;
    } else if (at_x509_cn_is(c->leaf, "SEV-VLEK")) {
        v->kind = AT_SNP_KEY_VLEK;
    } else {
        AT_FAIL(e, AT_E_CHAIN, "cert_names",
                "the endorsement key's CN is neither SEV-VCEK nor SEV-VLEK");
    }
    AT_TRY(at_snp_vek_ext_parse(c->leaf, &v->ext, e));
    enum at_snp_product named =
        v->ext.has_product_name ? at_snp_product_from_name(v->ext.product_name) : AT_SNP_UNKNOWN;
    enum at_snp_product p = hint != AT_SNP_UNKNOWN ? hint : named;
    if (p == AT_SNP_UNKNOWN && anchor_opt == NULL) {
        p = product_by_ark(inter);
    }
    if (p == AT_SNP_UNKNOWN) {
        AT_FAIL(e, AT_E_UNSUPPORTED, "product",
                "cannot tell the SEV-SNP product (no CPUID, product name or matching ARK)");
    }
    if (v->ext.has_product_name && named != p) {
        AT_FAIL(e, AT_E_MISMATCH, "vcek_product_name", "the VCEK/VLEK product name '%s' is not %s",
                v->ext.product_name, at_snp_product_str(p));
    }
    v->product = p;
    X509 *ark = anchor_opt != NULL ? anchor_opt : at_root_amd_ark(p);
    if (supplied_ark != NULL && !at_x509_equal(supplied_ark, ark)) {
        AT_FAIL(e, AT_E_CHAIN, ark_check(p), "the ARK in cert_chain is not the pinned ARK-%s",
                at_snp_product_str(p));
    }
    AT_TRY(check_names(ark, inter, p, v->kind, e));
    bool vcek = v->kind == AT_SNP_KEY_VCEK;
    if (!signed_by(ark, ark)) {
        AT_FAIL(e, AT_E_SIGNATURE, "ark_self_signed", "the ARK is not self-signed");
    }
    if (!signed_by(inter, ark)) {
        AT_FAIL(e, AT_E_SIGNATURE, vcek ? "ask_signed_by_ark" : "asvk_signed_by_ark",
                "the %s is not signed by the ARK", vcek ? "ASK" : "ASVK");
    }
    if (!signed_by(c->leaf, inter)) {
        AT_FAIL(e, AT_E_SIGNATURE, vcek ? "vcek_signed_by_ask" : "vlek_signed_by_asvk",
                "the %s is not signed by the %s", vcek ? "VCEK" : "VLEK", vcek ? "ASK" : "ASVK");
    }
    /* Dates at T, names, CA constraints; not strict (VCEKs have no AKI and serial 0). */
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    if (untrusted == NULL || sk_X509_push(untrusted, inter) <= 0) {
        sk_X509_free(untrusted);
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    at_status s = at_x509_verify_chain_ex(c->leaf, untrusted, ark, NULL, at, 0, false,
                                          vcek ? "vcek_chain" : "vlek_chain", e);
    sk_X509_free(untrusted);
    AT_TRY(s);
    AT_TRY(check_p384(c->leaf, e));
    X509 *all[] = {c->leaf, inter, ark};
    for (size_t i = 0; i < 3; i++) {
        int64_t nb, na;
        AT_TRY(at_x509_validity(all[i], &nb, &na, e));
        narrow(from, until, nb, na);
    }
    if (col->crl != NULL) {
        AT_TRY(check_crl(col, ark, inter, c->leaf, at, from, until, e));
    }
    return at_ok();
}

static at_status build_vek(const struct at_snp_collateral *col, X509 *anchor_opt,
                           enum at_snp_product hint, int64_t at, struct vek_obj **out,
                           int64_t *from, int64_t *until, struct at_err *e)
{
    struct certs c;
    AT_TRY(load_certs(col, &c, e));
    struct vek_obj *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        certs_clear(&c);
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    at_cache_obj_init(&v->obj, vek_destroy);
    *from = INT64_MIN;
    *until = INT64_MAX;
    at_status s = verify_certs(col, anchor_opt, hint, at, &c, v, from, until, e);
    if (at_is_ok(s)) {
        v->key = X509_get_pubkey(c.leaf);
        if (v->key == NULL) {
            s = at_fail_(e, AT_E_CRYPTO, "vcek_key", __FILE__, __LINE__, "cannot read VCEK key");
        }
    }
    certs_clear(&c);
    if (!at_is_ok(s)) {
        at_cache_obj_unref(&v->obj);
        return s;
    }
    *out = v;
    return at_ok();
}

/* Key: the certificate bytes as given (VEK, chain, CRL) and the anchor (pinned or DER). */
static int cache_key(const struct at_snp_collateral *col, X509 *anchor_opt, uint8_t key[32])
{
    static const char domain[] = "attestd/snp/vek/v1";
    unsigned char ad[EVP_MAX_MD_SIZE] = "pinned";
    unsigned int adl = 6;
    if (anchor_opt != NULL && X509_digest(anchor_opt, at_md_sha256(), ad, &adl) != 1) {
        return -1;
    }
    uint8_t lens[24];
    size_t l[3] = {col->vek != NULL ? col->vek_len : 0, col->chain_len,
                   col->crl != NULL ? col->crl_len : 0};
    for (size_t i = 0; i < 24; i++) {
        lens[i] = (uint8_t)(l[i / 8] >> (8 * (i % 8)));
    }
    static const uint8_t none[1] = {0};
    return at_sha256_parts(key, domain, sizeof(domain), lens, sizeof(lens),
                           col->vek != NULL ? col->vek : none, l[0], col->chain, l[1],
                           col->crl != NULL ? col->crl : none, l[2], ad, (size_t)adl, NULL);
}

static at_status get_vek(const struct at_snp_collateral *col, const struct at_snp_verify_opts *o,
                         enum at_snp_product hint, struct vek_obj **out, struct at_err *e)
{
    uint8_t key[32];
    if (o->cache != NULL) {
        if (cache_key(col, o->ark, key) != 0) {
            AT_FAIL(e, AT_E_CRYPTO, NULL, "cannot hash the VCEK collateral");
        }
        struct at_cache_obj *hit = at_cache_get(o->cache, key, o->at);
        if (hit != NULL) {
            *out = (struct vek_obj *)hit;
            return at_ok();
        }
    }
    struct vek_obj *v = NULL;
    int64_t from = INT64_MIN, until = INT64_MAX;
    AT_TRY(build_vek(col, o->ark, hint, o->at, &v, &from, &until, e));
    if (o->cache != NULL) {
        at_cache_put(o->cache, key, &v->obj, from, until);
    }
    *out = v;
    return at_ok();
}

/* §3.5 step 6: ECDSA P-384 / SHA-384 over [0, 0x2A0), R and S little-endian. */
static at_status check_signature(const uint8_t *report, const struct at_snp_report *r,
                                 EVP_PKEY *key, struct at_err *e)
{
    uint8_t rs[96];
    memcpy(rs, r->signature, 48);           /* R: low 48 of 72 bytes (the rest checked zero) */
    memcpy(rs + 48, r->signature + 72, 48); /* S */
    return at_ecdsa_verify_raw(key, at_md_sha384(), report, AT_SNP_SIGNED_LEN, rs, sizeof(rs), true,
                               "report_signature", e);
}

/* §3.5 step 7: the certificate's SPLs equal REPORTED_TCB, component by component. */
static at_status check_tcb(const struct at_snp_report *r, const struct vek_obj *v, struct at_err *e)
{
    struct at_snp_tcb t;
    at_snp_tcb_split(r->reported_tcb, v->product, &t);
    const struct at_snp_vek_ext *x = &v->ext;
    const uint8_t want[AT_SNP_SPL_COUNT] = {t.bootloader, t.tee, t.snp, t.microcode, t.fmc};
    static const char *const names[AT_SNP_SPL_COUNT] = {"blSPL", "teeSPL", "snpSPL", "ucodeSPL",
                                                        "fmcSPL"};
    size_t n = v->product == AT_SNP_TURIN ? AT_SNP_SPL_COUNT : AT_SNP_SPL_COUNT - 1;
    for (size_t i = 0; i < n; i++) {
        if (!x->has_spl[i]) {
            AT_FAIL(e, AT_E_MISMATCH, "vcek_tcb_matches_reported_tcb",
                    "the VCEK/VLEK has no %s extension", names[i]);
        }
        if (x->spl[i] != want[i]) {
            AT_FAIL(e, AT_E_MISMATCH, "vcek_tcb_matches_reported_tcb",
                    "VCEK/VLEK %s=%u != REPORTED_TCB %u", names[i], x->spl[i], want[i]);
        }
    }
    return at_ok();
}

/* §3.5 step 7: a VCEK's HWID is the chip's ID (Turin: 8 bytes), unless the ID is masked. */
static at_status check_hwid(const struct at_snp_report *r, const struct vek_obj *v,
                            struct at_err *e)
{
    if (v->kind != AT_SNP_KEY_VCEK || r->mask_chip_key) {
        return at_ok();
    }
    if (!v->ext.has_hwid) {
        AT_FAIL(e, AT_E_MISMATCH, "vcek_hwid_matches_chip_id", "the VCEK has no hwID extension");
    }
    size_t n = v->product == AT_SNP_TURIN ? 8 : AT_SNP_HWID_LEN;
    if (v->ext.hwid_len < n || !at_ct_equal(v->ext.hwid, r->chip_id, n)) {
        AT_FAIL(e, AT_E_MISMATCH, "vcek_hwid_matches_chip_id",
                "the VCEK hwID does not match the report's CHIP_ID");
    }
    return at_ok();
}

#define SNP_PREFIX "x-ms-sevsnpvm-"

static at_status add_u64(struct at_claims *cs, const char *type, uint64_t v, struct at_err *e)
{
    if (v > (uint64_t)INT64_MAX) {
        AT_FAIL(e, AT_E_BAD_VALUE, "claims", "%s does not fit a JSON integer", type);
    }
    return at_claims_add_int(cs, type, NULL, (int64_t)v, e);
}

/* A TCB_VERSION as its 8 report bytes (little-endian), in hex. */
static at_status add_tcb(struct at_claims *cs, const char *type, uint64_t raw, struct at_err *e)
{
    uint8_t b[8];
    for (size_t i = 0; i < 8; i++) {
        b[i] = (uint8_t)(raw >> (8 * i));
    }
    return at_claims_add_bytes(cs, type, NULL, b, sizeof(b), e);
}

/* claim-sets.md §5.2 (MAA names) and our [R] additions (docs/ARCHITECTURE.md). */
static at_status add_claims(struct at_claims *cs, const struct at_snp_report *r,
                            enum at_snp_product p, struct at_err *e)
{
    struct at_snp_tcb t;
    at_snp_tcb_split(r->reported_tcb, p, &t);
    AT_TRY(at_claims_add_str(cs, "x-ms-attestation-type", NULL, "sevsnpvm", e));
    AT_TRY(
        at_claims_add_bytes(cs, SNP_PREFIX "authorkeydigest", NULL, r->author_key_digest, 48, e));
    AT_TRY(at_claims_add_int(cs, SNP_PREFIX "bootloader-svn", NULL, t.bootloader, e));
    AT_TRY(at_claims_add_bytes(cs, SNP_PREFIX "familyId", NULL, r->family_id, 16, e));
    AT_TRY(at_claims_add_int(cs, SNP_PREFIX "guestsvn", NULL, r->guest_svn, e));
    AT_TRY(at_claims_add_bytes(cs, SNP_PREFIX "hostdata", NULL, r->host_data, 32, e));
    AT_TRY(at_claims_add_bytes(cs, SNP_PREFIX "idkeydigest", NULL, r->id_key_digest, 48, e));
    AT_TRY(at_claims_add_bytes(cs, SNP_PREFIX "imageId", NULL, r->image_id, 16, e));
    AT_TRY(at_claims_add_bool(cs, SNP_PREFIX "is-debuggable", NULL, (r->policy >> 19) & 1u, e));
    AT_TRY(at_claims_add_bytes(cs, SNP_PREFIX "launchmeasurement", NULL, r->measurement, 48, e));
    AT_TRY(at_claims_add_int(cs, SNP_PREFIX "microcode-svn", NULL, t.microcode, e));
    AT_TRY(at_claims_add_bool(cs, SNP_PREFIX "migration-allowed", NULL, (r->policy >> 18) & 1u, e));
    AT_TRY(at_claims_add_bytes(cs, SNP_PREFIX "reportdata", NULL, r->report_data, 64, e));
    AT_TRY(at_claims_add_bytes(cs, SNP_PREFIX "reportid", NULL, r->report_id, 32, e));
    AT_TRY(at_claims_add_bool(cs, SNP_PREFIX "smt-allowed", NULL, (r->policy >> 16) & 1u, e));
    AT_TRY(at_claims_add_int(cs, SNP_PREFIX "snpfw-svn", NULL, t.snp, e));
    AT_TRY(at_claims_add_int(cs, SNP_PREFIX "tee-svn", NULL, t.tee, e));
    AT_TRY(at_claims_add_int(cs, SNP_PREFIX "vmpl", NULL, r->vmpl, e));
    /* Ours ([R]). */
    AT_TRY(at_claims_add_str(cs, SNP_PREFIX "signing-key", NULL,
                             r->signing_key == AT_SNP_KEY_VCEK ? "vcek" : "vlek", e));
    AT_TRY(at_claims_add_str(cs, SNP_PREFIX "product", NULL, at_snp_product_str(p), e));
    AT_TRY(at_claims_add_bytes(cs, SNP_PREFIX "chipid", NULL, r->chip_id, 64, e));
    AT_TRY(add_tcb(cs, SNP_PREFIX "reported-tcb", r->reported_tcb, e));
    AT_TRY(add_tcb(cs, SNP_PREFIX "current-tcb", r->current_tcb, e));
    AT_TRY(add_tcb(cs, SNP_PREFIX "committed-tcb", r->committed_tcb, e));
    AT_TRY(add_tcb(cs, SNP_PREFIX "launch-tcb", r->launch_tcb, e));
    AT_TRY(add_u64(cs, SNP_PREFIX "policy", r->policy, e));
    AT_TRY(add_u64(cs, SNP_PREFIX "platform-info", r->platform_info, e));
    if (p == AT_SNP_TURIN) {
        AT_TRY(at_claims_add_int(cs, SNP_PREFIX "fmc-svn", NULL, t.fmc, e));
    }
    AT_TRY(at_claims_add_int(cs, SNP_PREFIX "abi-major", NULL, (int64_t)((r->policy >> 8) & 0xFFu),
                             e));
    return at_claims_add_int(cs, SNP_PREFIX "abi-minor", NULL, (int64_t)(r->policy & 0xFFu), e);
}

at_status at_snp_verify(const uint8_t *report, size_t len, const struct at_snp_collateral *col,
                        const struct at_snp_verify_opts *opts, struct at_snp_result *res,
                        struct at_err *e)
{
    /* Step 1: structure. */
    struct at_snp_report r;
    AT_TRY(at_snp_report_parse(report, len, &r, e));
    /* Step 2: the product from CPUID (v3+; zero CPUID falls back to the certificate). */
    enum at_snp_product hint = at_snp_report_product(&r);
    if (r.version >= 3 && hint == AT_SNP_UNKNOWN &&
        (r.cpuid_fam | r.cpuid_mod | r.cpuid_step) != 0) {
        AT_FAIL(e, AT_E_UNSUPPORTED, "product",
                "CPUID family 0x%02x model 0x%02x is not a known "
                "SEV-SNP product",
                r.cpuid_fam, r.cpuid_mod);
    }
    if (col == NULL || col->chain == NULL || col->chain_len == 0) {
        AT_FAIL(e, AT_E_COLLATERAL, "collateral",
                "no VCEK/VLEK certificate chain: a report is never accepted without one");
    }
    /* Steps 3–5 (cached). */
    struct vek_obj *v = NULL;
    AT_TRY(get_vek(col, opts, hint, &v, e));
    at_status s = at_ok();
    if (hint != AT_SNP_UNKNOWN && hint != v->product) {
        s = at_fail_(e, AT_E_MISMATCH, "product", __FILE__, __LINE__,
                     "the report is from a %s CPU but the certificate is for %s",
                     at_snp_product_str(hint), at_snp_product_str(v->product));
    } else if (v->kind != r.signing_key) {
        s = at_fail_(e, AT_E_MISMATCH, "signing_key", __FILE__, __LINE__,
                     "the report says it is signed by the %s but the certificate is a %s",
                     r.signing_key == AT_SNP_KEY_VCEK ? "VCEK" : "VLEK",
                     v->kind == AT_SNP_KEY_VCEK ? "VCEK" : "VLEK");
    }
    /* Step 6, then step 7's bindings. */
    if (at_is_ok(s)) {
        s = check_signature(report, &r, v->key, e);
    }
    if (at_is_ok(s)) {
        s = check_tcb(&r, v, e);
    }
    if (at_is_ok(s)) {
        s = check_hwid(&r, v, e);
    }
    if (at_is_ok(s)) {
        s = add_claims(&res->claims, &r, v->product, e);
        res->has_claims = at_is_ok(s);
        res->product = v->product;
    }
    at_cache_obj_unref(&v->obj);
    return s;
}
