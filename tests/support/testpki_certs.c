/*
 * Test PKI, part 1: keys, certificates (root, PCK CA, PCK leaf with the SGX
 * extension, TCB signing, impostor root), CRLs and small shared helpers.
 * See testpki.h and evidence-formats.md §1.6–1.7.
 */
#include "testpki.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tp_pki {
    struct tp_pki_params p;
    EVP_PKEY *root_key, *alt_root_key, *ca_key, *pck_key, *tcb_key;
    X509 *root, *alt_root, *ca, *pck, *tcb;
};

#define SGX_EXT_OID "1.2.840.113741.1.13.1"
#define TEST_ORG    "Intel Corporation TEST"

static void report_err(const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    fprintf(stderr, "testpki: %s failed: %s\n", what, e != 0 ? buf : "(no OpenSSL error)");
    ERR_clear_error();
}

uint8_t *tp_memdup(const void *p, size_t n)
{
    uint8_t *d = malloc(n + 1);
    if (d == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(d, p, n);
    }
    d[n] = 0;
    return d;
}

int tp_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "testpki: cannot create %s\n", path);
        return -1;
    }
    size_t w = n > 0 ? fwrite(p, 1, n, f) : 0;
    int rc = fclose(f);
    return (w == n && rc == 0) ? 0 : -1;
}

int tp_sign_raw(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    int rc = -1;
    unsigned char der[128];
    size_t der_len = sizeof(der);
    ECDSA_SIG *es = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, der, &der_len, msg, len) != 1) {
        report_err("EVP_DigestSign");
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
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32) {
        report_err("BN_bn2binpad");
        goto out;
    }
    rc = 0;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return rc;
}

int tp_pub_xy(EVP_PKEY *key, uint8_t xy[64])
{
    uint8_t buf[65];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &n) != 1 ||
        n != 65 || buf[0] != 0x04) {
        report_err("EVP_PKEY_get_octet_string_param(pub)");
        return -1;
    }
    memcpy(xy, buf + 1, 64);
    return 0;
}

void tp_pki_params_default(struct tp_pki_params *p, int64_t t0)
{
    static const uint8_t comps[16] = {7, 7, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
    memset(p, 0, sizeof(*p));
    p->t0 = t0;
    p->ca = TP_CA_PLATFORM;
    p->root_validity = (struct tp_validity){t0 - 5 * TP_YEAR_S, t0 + 25 * TP_YEAR_S};
    p->ca_validity = (struct tp_validity){t0 - 3 * TP_YEAR_S, t0 + 10 * TP_YEAR_S};
    p->pck_validity = (struct tp_validity){t0 - TP_YEAR_S, t0 + 6 * TP_YEAR_S};
    p->tcb_signer_validity = (struct tp_validity){t0 - 30 * TP_DAY_S, t0 + 5 * TP_YEAR_S};
    p->root_serial = 0x2265;
    p->ca_serial = 0x956f5dcdbd1be1e9ULL;
    p->pck_serial = 0x25a9258b56de4722ULL;
    p->tcb_signer_serial = 0x7e3882d5fb55294aULL;
    for (size_t i = 0; i < 16; i++) {
        p->ext.ppid[i] = (uint8_t)(0xa0 + i);
        p->ext.platform_instance_id[i] = (uint8_t)(0xc0 + i);
    }
    memcpy(p->ext.comp_svn, comps, 16);
    memcpy(p->ext.cpusvn, comps, 16);
    p->ext.pcesvn = 11;
    p->ext.pceid[0] = 0;
    p->ext.pceid[1] = 0;
    static const uint8_t fmspc[6] = {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00};
    memcpy(p->ext.fmspc, fmspc, 6);
    p->ext.sgx_type = 1;
    p->ext.dynamic_platform = true;
    p->ext.cached_keys = false;
    p->ext.smt_enabled = true;
    p->ext.platform_entries = true;
}

/* ------------------------------------------------------ the SGX extension */

/* Each constructor returns a new ASN1_TYPE or NULL. */
static ASN1_TYPE *type_oid(const char *dotted)
{
    ASN1_OBJECT *o = OBJ_txt2obj(dotted, 1);
    ASN1_TYPE *t = ASN1_TYPE_new();
    if (o == NULL || t == NULL) {
        ASN1_OBJECT_free(o);
        ASN1_TYPE_free(t);
        return NULL;
    }
    ASN1_TYPE_set(t, V_ASN1_OBJECT, o);
    return t;
}

static ASN1_TYPE *type_octets(const uint8_t *p, size_t n)
{
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
    ASN1_TYPE *t = ASN1_TYPE_new();
    if (s == NULL || t == NULL || ASN1_OCTET_STRING_set(s, p, (int)n) != 1) {
        ASN1_OCTET_STRING_free(s);
        ASN1_TYPE_free(t);
        return NULL;
    }
    ASN1_TYPE_set(t, V_ASN1_OCTET_STRING, s);
    return t;
}

static ASN1_TYPE *type_int(long v)
{
    ASN1_INTEGER *i = ASN1_INTEGER_new();
    ASN1_TYPE *t = ASN1_TYPE_new();
    if (i == NULL || t == NULL || ASN1_INTEGER_set(i, v) != 1) {
        ASN1_INTEGER_free(i);
        ASN1_TYPE_free(t);
        return NULL;
    }
    ASN1_TYPE_set(t, V_ASN1_INTEGER, i);
    return t;
}

static ASN1_TYPE *type_enum(long v)
{
    ASN1_ENUMERATED *i = ASN1_ENUMERATED_new();
    ASN1_TYPE *t = ASN1_TYPE_new();
    if (i == NULL || t == NULL || ASN1_ENUMERATED_set(i, v) != 1) {
        ASN1_ENUMERATED_free(i);
        ASN1_TYPE_free(t);
        return NULL;
    }
    ASN1_TYPE_set(t, V_ASN1_ENUMERATED, i);
    return t;
}

static ASN1_TYPE *type_bool(bool v)
{
    static int truth = 1;
    ASN1_TYPE *t = ASN1_TYPE_new();
    if (t != NULL) {
        /* ASN1_TYPE_set: for BOOLEAN any non-NULL value means TRUE. */
        ASN1_TYPE_set(t, V_ASN1_BOOLEAN, v ? &truth : NULL);
    }
    return t;
}

/* Push `t` (taking ownership, NULL allowed = failure). */
static int push(STACK_OF(ASN1_TYPE) * sk, ASN1_TYPE *t)
{
    if (t == NULL) {
        return -1;
    }
    if (sk_ASN1_TYPE_push(sk, t) <= 0) {
        ASN1_TYPE_free(t);
        return -1;
    }
    return 0;
}

/* DER of SEQUENCE OF the stack's elements (i2d_ASN1_SEQUENCE_ANY). */
static int seq_der(STACK_OF(ASN1_TYPE) * sk, unsigned char **der)
{
    *der = NULL;
    int n = i2d_ASN1_SEQUENCE_ANY(sk, der);
    return n > 0 ? n : -1;
}

/* Wrap the stack as an ASN1_TYPE SEQUENCE, freeing the stack. */
static ASN1_TYPE *type_seq(STACK_OF(ASN1_TYPE) * sk)
{
    ASN1_TYPE *t = NULL;
    ASN1_STRING *s = NULL;
    unsigned char *der = NULL;
    int n = sk != NULL ? seq_der(sk, &der) : -1;
    if (n < 0) {
        goto out;
    }
    s = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
    t = ASN1_TYPE_new();
    if (s == NULL || t == NULL || ASN1_STRING_set(s, der, n) != 1) {
        ASN1_TYPE_free(t);
        t = NULL;
        goto out;
    }
    ASN1_TYPE_set(t, V_ASN1_SEQUENCE, s);
    s = NULL;
out:
    ASN1_STRING_free(s);
    OPENSSL_free(der);
    sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
    return t;
}

/* SEQUENCE { OID, value } taking ownership of value. */
static ASN1_TYPE *pair(const char *oid, ASN1_TYPE *value)
{
    STACK_OF(ASN1_TYPE) *sk = sk_ASN1_TYPE_new_null();
    if (sk == NULL || push(sk, type_oid(oid)) != 0 || push(sk, value) != 0) {
        if (sk == NULL) {
            ASN1_TYPE_free(value);
        }
        sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
        return NULL;
    }
    return type_seq(sk);
}

static ASN1_TYPE *tcb_entry(const struct tp_pck_ext *x)
{
    char oid[64];
    STACK_OF(ASN1_TYPE) *sk = sk_ASN1_TYPE_new_null();
    if (sk == NULL) {
        return NULL;
    }
    for (int i = 0; i < 16; i++) {
        snprintf(oid, sizeof(oid), SGX_EXT_OID ".2.%d", i + 1);
        if (push(sk, pair(oid, type_int((long)x->comp_svn[i]))) != 0) {
            goto fail;
        }
    }
    if (push(sk, pair(SGX_EXT_OID ".2.17", type_int((long)x->pcesvn))) != 0 ||
        push(sk, pair(SGX_EXT_OID ".2.18", type_octets(x->cpusvn, 16))) != 0) {
        goto fail;
    }
    return pair(SGX_EXT_OID ".2", type_seq(sk));
fail:
    sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
    return NULL;
}

static ASN1_TYPE *config_entry(const struct tp_pck_ext *x)
{
    STACK_OF(ASN1_TYPE) *sk = sk_ASN1_TYPE_new_null();
    if (sk == NULL || push(sk, pair(SGX_EXT_OID ".7.1", type_bool(x->dynamic_platform))) != 0 ||
        push(sk, pair(SGX_EXT_OID ".7.2", type_bool(x->cached_keys))) != 0 ||
        push(sk, pair(SGX_EXT_OID ".7.3", type_bool(x->smt_enabled))) != 0) {
        sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
        return NULL;
    }
    return pair(SGX_EXT_OID ".7", type_seq(sk));
}

static ASN1_TYPE *ext_entry(const struct tp_pck_ext *x, enum tp_ext_entry which)
{
    switch (which) {
    case TP_EXT_PPID:
        return pair(SGX_EXT_OID ".1", type_octets(x->ppid, 16));
    case TP_EXT_TCB:
        return tcb_entry(x);
    case TP_EXT_PCEID:
        return pair(SGX_EXT_OID ".3", type_octets(x->pceid, 2));
    case TP_EXT_FMSPC:
        return pair(SGX_EXT_OID ".4", type_octets(x->fmspc, 6));
    case TP_EXT_SGX_TYPE:
        return pair(SGX_EXT_OID ".5", type_enum((long)x->sgx_type));
    case TP_EXT_PLATFORM_INSTANCE_ID:
        return pair(SGX_EXT_OID ".6", type_octets(x->platform_instance_id, 16));
    case TP_EXT_CONFIGURATION:
        return config_entry(x);
    case TP_EXT_COUNT:
        break;
    }
    return NULL;
}

/* The non-critical X.509 extension 1.2.840.113741.1.13.1 (§1.7). */
static X509_EXTENSION *sgx_extension(const struct tp_pck_ext *x)
{
    X509_EXTENSION *ext = NULL;
    ASN1_OBJECT *obj = NULL;
    ASN1_OCTET_STRING *oct = NULL;
    unsigned char *der = NULL;
    STACK_OF(ASN1_TYPE) *sk = sk_ASN1_TYPE_new_null();
    if (sk == NULL) {
        goto out;
    }
    for (int i = 0; i < (int)TP_EXT_COUNT; i++) {
        enum tp_ext_entry w = (enum tp_ext_entry)i;
        if ((w == TP_EXT_PLATFORM_INSTANCE_ID || w == TP_EXT_CONFIGURATION) &&
            !x->platform_entries) {
            continue;
        }
        if ((x->omit & TP_EXT_BIT(w)) != 0) {
            continue;
        }
        int copies = (x->duplicate & TP_EXT_BIT(w)) != 0 ? 2 : 1;
        for (int c = 0; c < copies; c++) {
            if (push(sk, ext_entry(x, w)) != 0) {
                goto out;
            }
        }
    }
    int n = seq_der(sk, &der);
    obj = OBJ_txt2obj(SGX_EXT_OID, 1);
    oct = ASN1_OCTET_STRING_new();
    if (n < 0 || obj == NULL || oct == NULL || ASN1_OCTET_STRING_set(oct, der, n) != 1) {
        goto out;
    }
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, oct);
out:
    if (ext == NULL) {
        report_err("SGX extension");
    }
    sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
    OPENSSL_free(der);
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(oct);
    return ext;
}

/* ----------------------------------------------------------- certificates */

static EVP_PKEY *keygen(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (k == NULL) {
        report_err("EVP_PKEY_Q_keygen");
    }
    return k;
}

static X509_NAME *intel_name(const char *cn)
{
    static const char *const keys[] = {"CN", "O", "L", "ST", "C"};
    const char *vals[] = {cn, TEST_ORG, "Santa Clara", "CA", "US"};
    X509_NAME *n = X509_NAME_new();
    for (size_t i = 0; n != NULL && i < 5; i++) {
        if (X509_NAME_add_entry_by_txt(n, keys[i], MBSTRING_UTF8, (const unsigned char *)vals[i],
                                       -1, -1, 0) != 1) {
            X509_NAME_free(n);
            n = NULL;
        }
    }
    return n;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
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

enum cert_role { ROLE_ROOT, ROLE_CA, ROLE_PCK, ROLE_TCB };

struct cert_spec {
    enum cert_role role;
    const char *cn;
    EVP_PKEY *key;
    X509 *issuer; /* NULL = self-signed */
    EVP_PKEY *issuer_key;
    uint64_t serial;
    struct tp_validity v;
    const struct tp_pck_ext *ext; /* ROLE_PCK */
    const char *crl_dp;           /* NULL = none */
};

static X509 *make_cert(const struct cert_spec *s)
{
    X509 *x = X509_new();
    X509_NAME *subj = intel_name(s->cn);
    X509_EXTENSION *sgx = NULL;
    char dp[256];
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
    if (s->role != ROLE_ROOT &&
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always") != 0) {
        goto fail;
    }
    if (s->crl_dp != NULL) {
        snprintf(dp, sizeof(dp), "URI:%s", s->crl_dp);
        if (add_ext(x, iss, NID_crl_distribution_points, dp) != 0) {
            goto fail;
        }
    }
    if (add_ext(x, iss, NID_subject_key_identifier, "hash") != 0) {
        goto fail;
    }
    const char *ku = NULL, *bc = NULL;
    switch (s->role) {
    case ROLE_ROOT:
        ku = "critical,keyCertSign,cRLSign";
        bc = "critical,CA:TRUE,pathlen:1";
        break;
    case ROLE_CA:
        ku = "critical,keyCertSign,cRLSign";
        bc = "critical,CA:TRUE,pathlen:0";
        break;
    case ROLE_PCK:
    case ROLE_TCB:
        ku = "critical,digitalSignature,nonRepudiation";
        bc = "critical,CA:FALSE";
        break;
    }
    if (add_ext(x, iss, NID_key_usage, ku) != 0 ||
        add_ext(x, iss, NID_basic_constraints, bc) != 0) {
        goto fail;
    }
    if (s->role == ROLE_PCK) {
        sgx = sgx_extension(s->ext);
        if (sgx == NULL || X509_add_ext(x, sgx, -1) != 1) {
            goto fail;
        }
    }
    if (X509_sign(x, s->issuer_key, EVP_sha256()) <= 0) {
        goto fail;
    }
    X509_EXTENSION_free(sgx);
    X509_NAME_free(subj);
    return x;
fail:
    report_err(s->cn);
    X509_EXTENSION_free(sgx);
    X509_NAME_free(subj);
    X509_free(x);
    return NULL;
}

struct tp_pki *tp_pki_new(const struct tp_pki_params *p)
{
    struct tp_pki *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return NULL;
    }
    k->p = *p;
    k->root_key = keygen();
    k->alt_root_key = keygen();
    k->ca_key = keygen();
    k->pck_key = keygen();
    k->tcb_key = keygen();
    if (k->root_key == NULL || k->alt_root_key == NULL || k->ca_key == NULL || k->pck_key == NULL ||
        k->tcb_key == NULL) {
        goto fail;
    }
    bool platform = p->ca == TP_CA_PLATFORM;
    struct cert_spec root = {ROLE_ROOT,      "Intel SGX Root CA", k->root_key, NULL, k->root_key,
                             p->root_serial, p->root_validity,    NULL,        NULL};
    k->root = make_cert(&root);
    root.key = root.issuer_key = k->alt_root_key;
    k->alt_root = make_cert(&root);
    if (k->root == NULL || k->alt_root == NULL) {
        goto fail;
    }
    struct cert_spec ca = {ROLE_CA,
                           platform ? "Intel SGX PCK Platform CA" : "Intel SGX PCK Processor CA",
                           k->ca_key,
                           k->root,
                           k->root_key,
                           p->ca_serial,
                           p->ca_validity,
                           NULL,
                           "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"};
    k->ca = make_cert(&ca);
    if (k->ca == NULL) {
        goto fail;
    }
    struct cert_spec pck = {ROLE_PCK,
                            "Intel SGX PCK Certificate",
                            k->pck_key,
                            k->ca,
                            k->ca_key,
                            p->pck_serial,
                            p->pck_validity,
                            &k->p.ext,
                            platform ? "https://api.trustedservices.intel.com/sgx/certification/v4/"
                                       "pckcrl?ca=platform&encoding=der"
                                     : "https://api.trustedservices.intel.com/sgx/certification/v4/"
                                       "pckcrl?ca=processor&encoding=der"};
    struct cert_spec tcb = {ROLE_TCB,
                            "Intel SGX TCB Signing",
                            k->tcb_key,
                            k->root,
                            k->root_key,
                            p->tcb_signer_serial,
                            p->tcb_signer_validity,
                            NULL,
                            "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"};
    k->pck = make_cert(&pck);
    k->tcb = make_cert(&tcb);
    if (k->pck == NULL || k->tcb == NULL) {
        goto fail;
    }
    return k;
fail:
    tp_pki_free(k);
    return NULL;
}

void tp_pki_free(struct tp_pki *k)
{
    if (k == NULL) {
        return;
    }
    X509_free(k->root);
    X509_free(k->alt_root);
    X509_free(k->ca);
    X509_free(k->pck);
    X509_free(k->tcb);
    EVP_PKEY_free(k->root_key);
    EVP_PKEY_free(k->alt_root_key);
    EVP_PKEY_free(k->ca_key);
    EVP_PKEY_free(k->pck_key);
    EVP_PKEY_free(k->tcb_key);
    free(k);
}

const struct tp_pki_params *tp_pki_params_get(const struct tp_pki *pki)
{
    return &pki->p;
}

X509 *tp_pki_root(const struct tp_pki *pki)
{
    return pki->root;
}

X509 *tp_pki_alt_root(const struct tp_pki *pki)
{
    return pki->alt_root;
}

X509 *tp_pki_pck_ca(const struct tp_pki *pki)
{
    return pki->ca;
}

X509 *tp_pki_pck_leaf(const struct tp_pki *pki)
{
    return pki->pck;
}

X509 *tp_pki_tcb_signer(const struct tp_pki *pki)
{
    return pki->tcb;
}

EVP_PKEY *tp_pki_root_key(const struct tp_pki *pki)
{
    return pki->root_key;
}

EVP_PKEY *tp_pki_pck_ca_key(const struct tp_pki *pki)
{
    return pki->ca_key;
}

EVP_PKEY *tp_pki_pck_key(const struct tp_pki *pki)
{
    return pki->pck_key;
}

EVP_PKEY *tp_pki_tcb_key(const struct tp_pki *pki)
{
    return pki->tcb_key;
}

int tp_pem_chain(X509 *const *certs, size_t n, char **out, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = -1;
    if (b == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (PEM_write_bio_X509(b, certs[i]) != 1) {
            report_err("PEM_write_bio_X509");
            goto out;
        }
    }
    char *data = NULL;
    long m = BIO_get_mem_data(b, &data);
    if (m <= 0) {
        goto out;
    }
    char *copy = (char *)tp_memdup(data, (size_t)m);
    if (copy == NULL) {
        goto out;
    }
    *out = copy;
    *len = (size_t)m;
    rc = 0;
out:
    BIO_free(b);
    return rc;
}

int tp_pki_pck_chain_pem(const struct tp_pki *pki, char **out, size_t *len)
{
    X509 *chain[3] = {pki->pck, pki->ca, pki->root};
    return tp_pem_chain(chain, 3, out, len);
}

int tp_pki_write_root_pem(const struct tp_pki *pki, const char *path)
{
    char *pem = NULL;
    size_t n = 0;
    if (tp_pem_chain(&pki->root, 1, &pem, &n) != 0) {
        return -1;
    }
    int rc = tp_write_file(path, pem, n);
    free(pem);
    return rc;
}

/* ------------------------------------------------------------------- CRLs */

static int add_revoked(X509_CRL *crl, uint64_t serial, ASN1_TIME *when)
{
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    int rc = -1;
    if (r != NULL && s != NULL && ASN1_INTEGER_set_uint64(s, serial) == 1 &&
        X509_REVOKED_set_serialNumber(r, s) == 1 && X509_REVOKED_set_revocationDate(r, when) == 1 &&
        X509_CRL_add0_revoked(crl, r) == 1) {
        r = NULL;
        rc = 0;
    }
    X509_REVOKED_free(r);
    ASN1_INTEGER_free(s);
    return rc;
}

int tp_crl_der(X509 *issuer, EVP_PKEY *issuer_key, const struct tp_crl_params *cp, uint8_t **der,
               size_t *len)
{
    int rc = -1;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)cp->this_update);
    ASN1_TIME *nu = ASN1_TIME_set(NULL, (time_t)cp->next_update);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509_EXTENSION *aki = NULL;
    if (crl == NULL || tu == NULL || nu == NULL || num == NULL ||
        X509_CRL_set_version(crl, 1) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, tu) != 1 || X509_CRL_set1_nextUpdate(crl, nu) != 1) {
        goto out;
    }
    for (size_t i = 0; i < cp->n_revoked && i < TP_MAX_REVOKED; i++) {
        if (add_revoked(crl, cp->revoked[i], tu) != 0) {
            goto out;
        }
    }
    X509_CRL_sort(crl);
    if (ASN1_INTEGER_set(num, cp->number) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1) {
        goto out;
    }
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    if (aki == NULL || X509_CRL_add_ext(crl, aki, -1) != 1 ||
        X509_CRL_sign(crl, issuer_key, EVP_sha256()) <= 0) {
        goto out;
    }
    int n = i2d_X509_CRL(crl, NULL);
    if (n <= 0) {
        goto out;
    }
    uint8_t *buf = malloc((size_t)n);
    unsigned char *p = buf;
    if (buf == NULL || i2d_X509_CRL(crl, &p) != n) {
        free(buf);
        goto out;
    }
    *der = buf;
    *len = (size_t)n;
    rc = 0;
out:
    if (rc != 0) {
        report_err("CRL");
    }
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    X509_CRL_free(crl);
    return rc;
}
