/*
 * The AMD SEV-SNP test PKI and report builder. See testpki_snp.h and
 * evidence-formats.md §3.1 (report layout) and §3.4 (AMD PKI, VCEK extensions).
 */
#include "testpki_snp.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMD_OID "1.3.6.1.4.1.3704.1."

struct tp_snp_pki {
    struct tp_snp_pki_params p;
    char product[32], product_name[32], csp_id[64];
    EVP_PKEY *vcek_key, *vlek_key;
    X509 *ark, *ask, *asvk, *vcek, *vlek, *alt_ark;
};

/* The process-wide RSA-4096 keys (see the header: generated once, shared). */
static EVP_PKEY *g_ark_key, *g_ask_key, *g_asvk_key, *g_alt_ark_key;

static void report_err(const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    fprintf(stderr, "testpki_snp: %s failed: %s\n", what, e != 0 ? buf : "(no OpenSSL error)");
    ERR_clear_error();
}

void tp_snp_put_u32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

void tp_snp_put_u64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

uint64_t tp_snp_tcb_u64(const struct tp_snp_tcb *t)
{
    return (uint64_t)t->bootloader | (uint64_t)t->tee << 8 | (uint64_t)t->snp << 48 |
           (uint64_t)t->microcode << 56;
}

void tp_snp_pki_params_default(struct tp_snp_pki_params *p, int64_t t0)
{
    memset(p, 0, sizeof(*p));
    p->t0 = t0;
    p->product = "Milan";
    p->product_name = "Milan-B0";
    p->ark_validity = (struct tp_validity){t0 - 5 * TP_YEAR_S, t0 + 25 * TP_YEAR_S};
    p->ask_validity = (struct tp_validity){t0 - 5 * TP_YEAR_S, t0 + 25 * TP_YEAR_S};
    p->vek_validity = (struct tp_validity){t0 - 30 * TP_DAY_S, t0 + 7 * TP_YEAR_S};
    p->struct_version = 0;
    p->tcb = (struct tp_snp_tcb){.bootloader = 3, .tee = 0, .snp = 8, .microcode = 209};
    for (size_t i = 0; i < 64; i++) {
        p->hwid[i] = (uint8_t)(0x3a + 7 * i);
    }
    p->csp_id = "attestd-test-csp";
}

/* ------------------------------------------------------------------- keys */

static EVP_PKEY *rsa4096(EVP_PKEY **slot)
{
    if (*slot == NULL) {
        *slot = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
        if (*slot == NULL) {
            report_err("RSA-4096 keygen");
        }
    }
    return *slot;
}

void tp_snp_keys_release(void)
{
    EVP_PKEY_free(g_ark_key);
    EVP_PKEY_free(g_ask_key);
    EVP_PKEY_free(g_asvk_key);
    EVP_PKEY_free(g_alt_ark_key);
    g_ark_key = g_ask_key = g_asvk_key = g_alt_ark_key = NULL;
}

/* ------------------------------------------------------- AMD extensions */

/* An extension whose value (the OCTET STRING content) is `der`. */
static int add_raw_ext(X509 *x, const char *oid, const uint8_t *der, int len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *oct = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int rc = -1;
    if (obj != NULL && oct != NULL && len > 0 && ASN1_OCTET_STRING_set(oct, der, len) == 1) {
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, oct);
        if (ext != NULL && X509_add_ext(x, ext, -1) == 1) {
            rc = 0;
        }
    }
    if (rc != 0) {
        report_err(oid);
    }
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(oct);
    ASN1_OBJECT_free(obj);
    return rc;
}

static int add_int_ext(X509 *x, const char *oid, long v)
{
    ASN1_INTEGER *i = ASN1_INTEGER_new();
    unsigned char *der = NULL;
    int n = -1;
    if (i != NULL && ASN1_INTEGER_set(i, v) == 1) {
        n = i2d_ASN1_INTEGER(i, &der);
    }
    int rc = n > 0 ? add_raw_ext(x, oid, der, n) : -1;
    OPENSSL_free(der);
    ASN1_INTEGER_free(i);
    return rc;
}

static int add_ia5_ext(X509 *x, const char *oid, const char *s)
{
    ASN1_IA5STRING *a = ASN1_IA5STRING_new();
    unsigned char *der = NULL;
    int n = -1;
    if (a != NULL && ASN1_STRING_set(a, s, (int)strlen(s)) == 1) {
        n = i2d_ASN1_IA5STRING(a, &der);
    }
    int rc = n > 0 ? add_raw_ext(x, oid, der, n) : -1;
    OPENSSL_free(der);
    ASN1_IA5STRING_free(a);
    return rc;
}

static int add_octets_ext(X509 *x, const char *oid, const uint8_t *p, int len)
{
    ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
    unsigned char *der = NULL;
    int n = -1;
    if (o != NULL && ASN1_OCTET_STRING_set(o, p, len) == 1) {
        n = i2d_ASN1_OCTET_STRING(o, &der);
    }
    int rc = n > 0 ? add_raw_ext(x, oid, der, n) : -1;
    OPENSSL_free(der);
    ASN1_OCTET_STRING_free(o);
    return rc;
}

/* The VCEK/VLEK extensions in the order AMD's KDS writes them (§3.4). */
static int add_amd_exts(X509 *x, const struct tp_snp_pki *k, enum tp_snp_vek which)
{
    const struct tp_snp_pki_params *p = &k->p;
    if (add_int_ext(x, AMD_OID "1", p->struct_version) != 0) {
        return -1;
    }
    if (p->product_name != NULL && add_ia5_ext(x, AMD_OID "2", k->product_name) != 0) {
        return -1;
    }
    if (add_int_ext(x, AMD_OID "3.1", p->tcb.bootloader) != 0 ||
        add_int_ext(x, AMD_OID "3.2", p->tcb.tee) != 0 || add_int_ext(x, AMD_OID "3.4", 0) != 0 ||
        add_int_ext(x, AMD_OID "3.5", 0) != 0 || add_int_ext(x, AMD_OID "3.6", 0) != 0 ||
        add_int_ext(x, AMD_OID "3.7", 0) != 0 || add_int_ext(x, AMD_OID "3.3", p->tcb.snp) != 0 ||
        add_int_ext(x, AMD_OID "3.8", p->tcb.microcode) != 0) {
        return -1;
    }
    if (which == TP_SNP_VCEK) {
        return p->hwid_raw ? add_raw_ext(x, AMD_OID "4", p->hwid, 64)
                           : add_octets_ext(x, AMD_OID "4", p->hwid, 64);
    }
    return add_ia5_ext(x, AMD_OID "5", k->csp_id);
}

/* ----------------------------------------------------------- certificates */

static X509_NAME *amd_name(const char *cn)
{
    static const char *const keys[] = {"OU", "C", "L", "ST", "O", "CN"};
    const char *vals[] = {"Engineering", "US", "Santa Clara", "CA", "Advanced Micro Devices", cn};
    X509_NAME *n = X509_NAME_new();
    for (size_t i = 0; n != NULL && i < 6; i++) {
        if (X509_NAME_add_entry_by_txt(n, keys[i], MBSTRING_ASC, (const unsigned char *)vals[i], -1,
                                       -1, 0) != 1) {
            X509_NAME_free(n);
            n = NULL;
        }
    }
    return n;
}

static int add_std_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) {
        return -1;
    }
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: AMD's certificate signature (§3.4). */
static int sign_pss(X509 *x, EVP_PKEY *key)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int rc = -1;
    if (md != NULL && EVP_DigestSignInit_ex(md, &pctx, "SHA384", NULL, NULL, key, NULL) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1 && X509_sign_ctx(x, md) > 0) {
        rc = 0;
    }
    EVP_MD_CTX_free(md);
    return rc;
}

enum role { ROLE_ARK, ROLE_ASK, ROLE_VEK };

struct spec {
    enum role role;
    char cn[48];
    EVP_PKEY *key;
    X509 *issuer; /* NULL = self-signed */
    EVP_PKEY *issuer_key;
    uint64_t serial;
    struct tp_validity v;
    enum tp_snp_vek vek; /* ROLE_VEK */
    const char *crl_dp;  /* ROLE_ARK / ROLE_ASK */
};

static X509 *make_cert(const struct tp_snp_pki *k, const struct spec *s)
{
    X509 *x = X509_new();
    X509_NAME *subj = amd_name(s->cn);
    if (x == NULL || subj == NULL || X509_set_version(x, 2) != 1 ||
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), s->serial) != 1 ||
        X509_set_subject_name(x, subj) != 1 ||
        X509_set_issuer_name(x, s->issuer != NULL ? X509_get_subject_name(s->issuer) : subj) != 1 ||
        ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->v.not_before) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->v.not_after) == NULL ||
        X509_set_pubkey(x, s->key) != 1) {
        goto fail;
    }
    X509 *iss = s->issuer != NULL ? s->issuer : x;
    char dp[128];
    switch (s->role) {
    case ROLE_ARK:
    case ROLE_ASK:
        snprintf(dp, sizeof(dp), "URI:%s", s->crl_dp);
        if (add_std_ext(x, iss, NID_subject_key_identifier, "hash") != 0 ||
            (s->role == ROLE_ASK &&
             add_std_ext(x, iss, NID_authority_key_identifier, "keyid:always") != 0) ||
            add_std_ext(x, iss, NID_basic_constraints,
                        s->role == ROLE_ARK ? "critical,CA:TRUE,pathlen:1"
                                            : "critical,CA:TRUE,pathlen:0") != 0 ||
            add_std_ext(x, iss, NID_key_usage,
                        s->role == ROLE_ARK ? "critical,keyCertSign,cRLSign"
                                            : "critical,keyCertSign") != 0 ||
            add_std_ext(x, iss, NID_crl_distribution_points, dp) != 0) {
            goto fail;
        }
        break;
    case ROLE_VEK:
        /* Like KDS VCEKs: only the AMD extensions (no AKI, keyUsage, basicConstraints). */
        if (add_amd_exts(x, k, s->vek) != 0) {
            goto fail;
        }
        break;
    }
    if (sign_pss(x, s->issuer_key) != 0) {
        goto fail;
    }
    X509_NAME_free(subj);
    return x;
fail:
    report_err(s->cn);
    X509_NAME_free(subj);
    X509_free(x);
    return NULL;
}

static X509 *make_ark(const struct tp_snp_pki *k, EVP_PKEY *key)
{
    struct spec s = {
        .role = ROLE_ARK, .key = key, .issuer_key = key, .serial = 0x10000, .v = k->p.ark_validity};
    char dp[96];
    snprintf(s.cn, sizeof(s.cn), "ARK-%s", k->product);
    snprintf(dp, sizeof(dp), "https://kdsintf.amd.com/vcek/v1/%s/crl", k->product);
    s.crl_dp = dp;
    return make_cert(k, &s);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

struct tp_snp_pki *tp_snp_pki_new(const struct tp_snp_pki_params *p)
{
    struct tp_snp_pki *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return NULL;
    }
    k->p = *p;
    copy_str(k->product, sizeof(k->product), p->product != NULL ? p->product : "Milan");
    copy_str(k->product_name, sizeof(k->product_name), p->product_name);
    copy_str(k->csp_id, sizeof(k->csp_id), p->csp_id != NULL ? p->csp_id : "attestd-test-csp");
    /* The params keep no borrowed strings: point them at the copies. */
    k->p.product = k->product;
    k->p.product_name = p->product_name != NULL ? k->product_name : NULL;
    k->p.csp_id = k->csp_id;
    EVP_PKEY *ark_key = rsa4096(&g_ark_key);
    EVP_PKEY *ask_key = rsa4096(&g_ask_key);
    EVP_PKEY *asvk_key = rsa4096(&g_asvk_key);
    k->vcek_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    k->vlek_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (ark_key == NULL || ask_key == NULL || asvk_key == NULL || k->vcek_key == NULL ||
        k->vlek_key == NULL) {
        report_err("keygen");
        goto fail;
    }
    k->ark = make_ark(k, ark_key);
    if (k->ark == NULL) {
        goto fail;
    }
    char vcek_dp[96], vlek_dp[96];
    snprintf(vcek_dp, sizeof(vcek_dp), "https://kdsintf.amd.com/vcek/v1/%s/crl", k->product);
    snprintf(vlek_dp, sizeof(vlek_dp), "https://kdsintf.amd.com/vlek/v1/%s/crl", k->product);
    struct spec ask = {.role = ROLE_ASK,
                       .key = ask_key,
                       .issuer = k->ark,
                       .issuer_key = ark_key,
                       .serial = 0x10001,
                       .v = p->ask_validity,
                       .crl_dp = vcek_dp};
    snprintf(ask.cn, sizeof(ask.cn), "SEV-%s", k->product);
    struct spec asvk = ask;
    asvk.key = asvk_key;
    asvk.serial = 0x10002;
    asvk.crl_dp = vlek_dp;
    snprintf(asvk.cn, sizeof(asvk.cn), "SEV-VLEK-%s", k->product);
    k->ask = make_cert(k, &ask);
    k->asvk = make_cert(k, &asvk);
    if (k->ask == NULL || k->asvk == NULL) {
        goto fail;
    }
    struct spec vcek = {.role = ROLE_VEK,
                        .cn = "SEV-VCEK",
                        .key = k->vcek_key,
                        .issuer = k->ask,
                        .issuer_key = ask_key,
                        .serial = 0,
                        .v = p->vek_validity,
                        .vek = TP_SNP_VCEK};
    bool under_ask = p->vlek_issued_by_ask;
    struct spec vlek = {.role = ROLE_VEK,
                        .cn = "SEV-VLEK",
                        .key = k->vlek_key,
                        .issuer = under_ask ? k->ask : k->asvk,
                        .issuer_key = under_ask ? ask_key : asvk_key,
                        .serial = 0,
                        .v = p->vek_validity,
                        .vek = TP_SNP_VLEK};
    k->vcek = make_cert(k, &vcek);
    k->vlek = make_cert(k, &vlek);
    if (k->vcek == NULL || k->vlek == NULL) {
        goto fail;
    }
    return k;
fail:
    tp_snp_pki_free(k);
    return NULL;
}

void tp_snp_pki_free(struct tp_snp_pki *k)
{
    if (k == NULL) {
        return;
    }
    X509_free(k->ark);
    X509_free(k->ask);
    X509_free(k->asvk);
    X509_free(k->vcek);
    X509_free(k->vlek);
    X509_free(k->alt_ark);
    EVP_PKEY_free(k->vcek_key);
    EVP_PKEY_free(k->vlek_key);
    free(k);
}

const struct tp_snp_pki_params *tp_snp_pki_params_get(const struct tp_snp_pki *pki)
{
    return &pki->p;
}

X509 *tp_snp_pki_ark(const struct tp_snp_pki *pki)
{
    return pki->ark;
}

X509 *tp_snp_pki_ask(const struct tp_snp_pki *pki)
{
    return pki->ask;
}

X509 *tp_snp_pki_asvk(const struct tp_snp_pki *pki)
{
    return pki->asvk;
}

X509 *tp_snp_pki_vcek(const struct tp_snp_pki *pki)
{
    return pki->vcek;
}

X509 *tp_snp_pki_vlek(const struct tp_snp_pki *pki)
{
    return pki->vlek;
}

EVP_PKEY *tp_snp_pki_vcek_key(const struct tp_snp_pki *pki)
{
    return pki->vcek_key;
}

EVP_PKEY *tp_snp_pki_vlek_key(const struct tp_snp_pki *pki)
{
    return pki->vlek_key;
}

X509 *tp_snp_pki_alt_ark(struct tp_snp_pki *pki)
{
    if (pki->alt_ark == NULL) {
        EVP_PKEY *key = rsa4096(&g_alt_ark_key);
        if (key != NULL) {
            pki->alt_ark = make_ark(pki, key);
        }
    }
    return pki->alt_ark;
}

/* ---------------------------------------------------------------- output */

int tp_snp_vek_der(const struct tp_snp_pki *pki, enum tp_snp_vek which, uint8_t **der, size_t *len)
{
    X509 *x = which == TP_SNP_VCEK ? pki->vcek : pki->vlek;
    unsigned char *buf = NULL;
    int n = i2d_X509(x, &buf);
    if (n <= 0) {
        report_err("i2d_X509");
        return -1;
    }
    uint8_t *copy = tp_memdup(buf, (size_t)n);
    OPENSSL_free(buf);
    if (copy == NULL) {
        return -1;
    }
    *der = copy;
    *len = (size_t)n;
    return 0;
}

int tp_snp_full_chain_pem(const struct tp_snp_pki *pki, enum tp_snp_vek which, char **out,
                          size_t *len)
{
    X509 *chain[3] = {which == TP_SNP_VCEK ? pki->vcek : pki->vlek,
                      which == TP_SNP_VCEK ? pki->ask : pki->asvk, pki->ark};
    return tp_pem_chain(chain, 3, out, len);
}

int tp_snp_cert_chain_pem(const struct tp_snp_pki *pki, enum tp_snp_vek which, char **out,
                          size_t *len)
{
    X509 *chain[2] = {which == TP_SNP_VCEK ? pki->ask : pki->asvk, pki->ark};
    return tp_pem_chain(chain, 2, out, len);
}

int tp_snp_write_ark_pem(const struct tp_snp_pki *pki, const char *path)
{
    char *pem = NULL;
    size_t n = 0;
    X509 *ark = pki->ark;
    if (tp_pem_chain(&ark, 1, &pem, &n) != 0) {
        return -1;
    }
    int rc = tp_write_file(path, pem, n);
    free(pem);
    return rc;
}

int tp_snp_write_dir(const struct tp_snp_pki *pki, enum tp_snp_vek which, const char *dir)
{
    char path[4096];
    uint8_t *der = NULL;
    char *pem = NULL;
    size_t der_len = 0, pem_len = 0;
    int rc = -1;
    if (tp_snp_vek_der(pki, which, &der, &der_len) != 0 ||
        tp_snp_cert_chain_pem(pki, which, &pem, &pem_len) != 0) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, which == TP_SNP_VCEK ? "vcek.der" : "vlek.der");
    if (tp_write_file(path, der, der_len) != 0) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/cert_chain.pem", dir);
    if (tp_write_file(path, pem, pem_len) != 0) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/root_ark.pem", dir);
    rc = tp_snp_write_ark_pem(pki, path);
out:
    free(der);
    free(pem);
    return rc;
}

/* ---------------------------------------------------------------- reports */

static void fill(uint8_t *p, size_t n, uint8_t base)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(base + i);
    }
}

void tp_snp_report_params_default(struct tp_snp_report_params *rp, const struct tp_snp_pki *pki,
                                  uint32_t version)
{
    memset(rp, 0, sizeof(*rp));
    rp->version = version;
    rp->guest_svn = 2;
    rp->policy = TP_SNP_POLICY_RESERVED_1 | TP_SNP_POLICY_SMT;
    memset(rp->family_id, 0x01, sizeof(rp->family_id));
    memset(rp->image_id, 0x02, sizeof(rp->image_id));
    rp->vmpl = 0;
    rp->sig_algo = 1;
    uint64_t tcb = tp_snp_tcb_u64(&pki->p.tcb);
    rp->current_tcb = rp->reported_tcb = rp->committed_tcb = rp->launch_tcb = tcb;
    rp->platform_info = 0x3;
    rp->signing_key = 0;
    fill(rp->report_data, sizeof(rp->report_data), 0x30);
    fill(rp->measurement, sizeof(rp->measurement), 0x40);
    fill(rp->host_data, sizeof(rp->host_data), 0x50);
    fill(rp->id_key_digest, sizeof(rp->id_key_digest), 0x60);
    fill(rp->author_key_digest, sizeof(rp->author_key_digest), 0x70);
    fill(rp->report_id, sizeof(rp->report_id), 0x80);
    memset(rp->report_id_ma, 0xff, sizeof(rp->report_id_ma));
    rp->cpuid_fam = 0x19;
    rp->cpuid_mod = 0x01;
    rp->cpuid_step = 0x01;
    memcpy(rp->chip_id, pki->p.hwid, sizeof(rp->chip_id));
    rp->current_build = rp->committed_build = 21;
    rp->current_minor = rp->committed_minor = 55;
    rp->current_major = rp->committed_major = 1;
    rp->launch_mit_vector = 0x5;
    rp->current_mit_vector = 0x7;
    rp->sign_with = TP_SNP_VCEK;
}

void tp_snp_report_params_default_vlek(struct tp_snp_report_params *rp,
                                       const struct tp_snp_pki *pki, uint32_t version)
{
    tp_snp_report_params_default(rp, pki, version);
    rp->signing_key = 1;
    rp->sign_with = TP_SNP_VLEK;
    rp->mask_chip_key = true;
    memset(rp->chip_id, 0, sizeof(rp->chip_id));
}

int tp_snp_report_sign(const struct tp_snp_pki *pki, enum tp_snp_vek which,
                       uint8_t report[TP_SNP_REPORT_LEN])
{
    EVP_PKEY *key = which == TP_SNP_VCEK ? pki->vcek_key : pki->vlek_key;
    unsigned char der[160];
    size_t der_len = sizeof(der);
    ECDSA_SIG *es = NULL;
    int rc = -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestSignInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, der, &der_len, report, TP_SNP_SIGNED_LEN) != 1) {
        report_err("EVP_DigestSign(P-384)");
        goto out;
    }
    const unsigned char *p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (es == NULL) {
        report_err("d2i_ECDSA_SIG");
        goto out;
    }
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(es, &r, &s);
    /* §3.1: R at [0x2A0,0x2E8) and S at [0x2E8,0x330), 72 bytes little-endian each. */
    memset(report + TP_SNP_SIG_OFF, 0, TP_SNP_REPORT_LEN - TP_SNP_SIG_OFF);
    if (BN_bn2lebinpad(r, report + TP_SNP_SIG_OFF, 72) != 72 ||
        BN_bn2lebinpad(s, report + TP_SNP_SIG_OFF + 72, 72) != 72) {
        report_err("BN_bn2lebinpad");
        goto out;
    }
    rc = 0;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return rc;
}

int tp_snp_report_build(const struct tp_snp_pki *pki, const struct tp_snp_report_params *rp,
                        uint8_t out[TP_SNP_REPORT_LEN])
{
    uint8_t *r = out;
    memset(r, 0, TP_SNP_REPORT_LEN);
    tp_snp_put_u32(r + 0x000, rp->version);
    tp_snp_put_u32(r + 0x004, rp->guest_svn);
    tp_snp_put_u64(r + 0x008, rp->policy);
    memcpy(r + 0x010, rp->family_id, 16);
    memcpy(r + 0x020, rp->image_id, 16);
    tp_snp_put_u32(r + 0x030, rp->vmpl);
    tp_snp_put_u32(r + 0x034, rp->sig_algo);
    tp_snp_put_u64(r + 0x038, rp->current_tcb);
    tp_snp_put_u64(r + 0x040, rp->platform_info);
    uint32_t signer = (rp->author_key_en ? 1u : 0u) | (rp->mask_chip_key ? 2u : 0u) |
                      (rp->signing_key & 7u) << 2 | rp->signer_info_extra;
    tp_snp_put_u32(r + 0x048, signer);
    memcpy(r + 0x050, rp->report_data, 64);
    memcpy(r + 0x090, rp->measurement, 48);
    memcpy(r + 0x0C0, rp->host_data, 32);
    memcpy(r + 0x0E0, rp->id_key_digest, 48);
    memcpy(r + 0x110, rp->author_key_digest, 48);
    memcpy(r + 0x140, rp->report_id, 32);
    memcpy(r + 0x160, rp->report_id_ma, 32);
    tp_snp_put_u64(r + 0x180, rp->reported_tcb);
    if (rp->version >= 3) {
        r[0x188] = rp->cpuid_fam;
        r[0x189] = rp->cpuid_mod;
        r[0x18A] = rp->cpuid_step;
    }
    memcpy(r + 0x1A0, rp->chip_id, 64);
    tp_snp_put_u64(r + 0x1E0, rp->committed_tcb);
    r[0x1E8] = rp->current_build;
    r[0x1E9] = rp->current_minor;
    r[0x1EA] = rp->current_major;
    r[0x1EC] = rp->committed_build;
    r[0x1ED] = rp->committed_minor;
    r[0x1EE] = rp->committed_major;
    tp_snp_put_u64(r + 0x1F0, rp->launch_tcb);
    if (rp->version >= 5) {
        tp_snp_put_u64(r + 0x1F8, rp->launch_mit_vector);
        tp_snp_put_u64(r + 0x200, rp->current_mit_vector);
    }
    return tp_snp_report_sign(pki, rp->sign_with, r);
}
