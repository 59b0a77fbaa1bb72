/*
 * VCEK/VLEK extensions (evidence-formats.md §3.4) through OpenSSL's ASN.1 decoders; no DER
 * is walked by hand. Every extension is non-critical and may be absent; the verifier
 * decides which ones it needs.
 */
#include "evidence/snp_vcek.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <string.h>

#define CHECK "vcek_extensions"

#define OID_PRODUCT_NAME "1.3.6.1.4.1.3704.1.2"
#define OID_HWID         "1.3.6.1.4.1.3704.1.4"

/* SPL OIDs in enum at_snp_spl order. */
static const char *const spl_oids[AT_SNP_SPL_COUNT] = {
    "1.3.6.1.4.1.3704.1.3.1", /* BL_SPL */
    "1.3.6.1.4.1.3704.1.3.2", /* TEE_SPL */
    "1.3.6.1.4.1.3704.1.3.3", /* SNP_SPL */
    "1.3.6.1.4.1.3704.1.3.8", /* UCODE_SPL */
    "1.3.6.1.4.1.3704.1.3.9", /* FMC_SPL (Turin) */
};

static const char *const spl_names[AT_SNP_SPL_COUNT] = {"blSPL", "teeSPL", "snpSPL", "ucodeSPL",
                                                        "fmcSPL"};

/*
 * The value (extnValue contents) of the extension `oid`, or NULL when absent. A second
 * occurrence of the same extension is ambiguous and fails.
 */
static at_status find_ext(X509 *cert, const char *oid, const ASN1_OCTET_STRING **out,
                          struct at_err *e)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL) {
        ERR_clear_error();
        AT_FAIL(e, AT_E_NOMEM, CHECK, "cannot build OID %s", oid);
    }
    int idx = X509_get_ext_by_OBJ(cert, obj, -1);
    int again = idx >= 0 ? X509_get_ext_by_OBJ(cert, obj, idx) : -1;
    ASN1_OBJECT_free(obj);
    if (again >= 0) {
        AT_FAIL(e, AT_E_BAD_VALUE, CHECK, "extension %s occurs more than once", oid);
    }
    *out = idx >= 0 ? X509_EXTENSION_get_data(X509_get_ext(cert, idx)) : NULL;
    return at_ok();
}

/* An SPL: a DER INTEGER filling the whole value, in [0, 255]. */
static at_status parse_spl(const ASN1_OCTET_STRING *v, const char *name, uint8_t *out,
                           struct at_err *e)
{
    const unsigned char *p = ASN1_STRING_get0_data(v);
    int len = ASN1_STRING_length(v);
    const unsigned char *q = p;
    ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &q, len);
    int64_t x = -1;
    bool ok = i != NULL && q == p + len && ASN1_INTEGER_get_int64(&x, i) == 1 && x >= 0 && x <= 255;
    ASN1_INTEGER_free(i);
    ERR_clear_error();
    if (!ok) {
        AT_FAIL(e, AT_E_BAD_VALUE, CHECK, "VCEK %s is not an INTEGER in [0, 255]", name);
    }
    *out = (uint8_t)x;
    return at_ok();
}

/* The product name: an IA5String filling the whole value, printable, bounded. */
static at_status parse_name(const ASN1_OCTET_STRING *v, struct at_snp_vek_ext *x, struct at_err *e)
{
    const unsigned char *p = ASN1_STRING_get0_data(v);
    int len = ASN1_STRING_length(v);
    const unsigned char *q = p;
    ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &q, len);
    bool ok = s != NULL && q == p + len && ASN1_STRING_length(s) > 0 &&
              ASN1_STRING_length(s) <= AT_SNP_PRODUCT_NAME_MAX;
    if (ok) {
        size_t n = (size_t)ASN1_STRING_length(s);
        const unsigned char *d = ASN1_STRING_get0_data(s);
        for (size_t k = 0; k < n; k++) {
            ok = ok && d[k] >= 0x20 && d[k] < 0x7F;
        }
        if (ok) {
            memcpy(x->product_name, d, n);
            x->product_name[n] = '\0';
        }
    }
    ASN1_IA5STRING_free(s);
    ERR_clear_error();
    if (!ok) {
        AT_FAIL(e, AT_E_BAD_VALUE, CHECK, "VCEK product name is not a short printable IA5String");
    }
    x->has_product_name = true;
    return at_ok();
}

/*
 * HWID: older KDS certificates store the 64 raw bytes as the extension value, newer ones
 * an OCTET STRING wrapping them; accept both by length (§3.4). Turin HWIDs are 8 bytes.
 */
static at_status parse_hwid(const ASN1_OCTET_STRING *v, struct at_snp_vek_ext *x, struct at_err *e)
{
    const unsigned char *p = ASN1_STRING_get0_data(v);
    int len = ASN1_STRING_length(v);
    if (len == AT_SNP_HWID_LEN) {
        memcpy(x->hwid, p, AT_SNP_HWID_LEN);
        x->hwid_len = AT_SNP_HWID_LEN;
        x->has_hwid = true;
        return at_ok();
    }
    const unsigned char *q = p;
    ASN1_OCTET_STRING *o = d2i_ASN1_OCTET_STRING(NULL, &q, len);
    int n = o != NULL ? ASN1_STRING_length(o) : -1;
    bool ok = o != NULL && q == p + len && (n == AT_SNP_HWID_LEN || n == 8);
    if (ok) {
        memcpy(x->hwid, ASN1_STRING_get0_data(o), (size_t)n);
        x->hwid_len = (size_t)n;
        x->has_hwid = true;
    }
    ASN1_OCTET_STRING_free(o);
    ERR_clear_error();
    if (!ok) {
        AT_FAIL(e, AT_E_BAD_VALUE, CHECK,
                "VCEK hwID is neither 64 raw bytes nor an OCTET STRING "
                "of 64 (or 8) bytes");
    }
    return at_ok();
}

at_status at_snp_vek_ext_parse(X509 *cert, struct at_snp_vek_ext *out, struct at_err *e)
{
    struct at_snp_vek_ext x;
    memset(&x, 0, sizeof(x));
    const ASN1_OCTET_STRING *v = NULL;
    for (size_t i = 0; i < AT_SNP_SPL_COUNT; i++) {
        AT_TRY(find_ext(cert, spl_oids[i], &v, e));
        if (v != NULL) {
            AT_TRY(parse_spl(v, spl_names[i], &x.spl[i], e));
            x.has_spl[i] = true;
        }
    }
    AT_TRY(find_ext(cert, OID_PRODUCT_NAME, &v, e));
    if (v != NULL) {
        AT_TRY(parse_name(v, &x, e));
    }
    AT_TRY(find_ext(cert, OID_HWID, &v, e));
    if (v != NULL) {
        AT_TRY(parse_hwid(v, &x, e));
    }
    *out = x;
    return at_ok();
}

static bool prefix_is(const char *name, const char *p)
{
    size_t n = strlen(p);
    return strncmp(name, p, n) == 0 && (name[n] == '\0' || name[n] == '-');
}

enum at_snp_product at_snp_product_from_name(const char *name)
{
    if (prefix_is(name, "Milan")) {
        return AT_SNP_MILAN;
    }
    if (prefix_is(name, "Genoa")) {
        return AT_SNP_GENOA;
    }
    if (prefix_is(name, "Turin")) {
        return AT_SNP_TURIN;
    }
    return AT_SNP_UNKNOWN;
}

const char *at_snp_product_str(enum at_snp_product p)
{
    switch (p) {
    case AT_SNP_MILAN:
        return "Milan";
    case AT_SNP_GENOA:
        return "Genoa";
    case AT_SNP_TURIN:
        return "Turin";
    case AT_SNP_UNKNOWN:
        return "unknown";
    }
    return "unknown";
}
