#include "evidence/dcap_pck.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <string.h>

#define SGX_OID "1.2.840.113741.1.13.1"
#define CHECK "pck_extension"

/* Last arc of `oid` under `prefix` ("prefix.N" → N), or -1. */
static long arc_under(const ASN1_OBJECT *oid, const char *prefix)
{
    char buf[128];
    int n = OBJ_obj2txt(buf, (int)sizeof(buf), oid, 1);
    size_t pl = strlen(prefix);
    if (n <= 0 || (size_t)n >= sizeof(buf) || strncmp(buf, prefix, pl) != 0 || buf[pl] != '.') {
        return -1;
    }
    long v = 0;
    const char *p = buf + pl + 1;
    if (*p == '\0') {
        return -1;
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > 1000) {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* Decode a SEQUENCE ANY from an ASN1_TYPE holding a SEQUENCE. */
static STACK_OF(ASN1_TYPE) *inner_seq(const ASN1_TYPE *t)
{
    if (t == NULL || t->type != V_ASN1_SEQUENCE || t->value.sequence == NULL) {
        return NULL;
    }
    const unsigned char *p = t->value.sequence->data;
    long len = t->value.sequence->length;
    STACK_OF(ASN1_TYPE) *sk = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    if (sk != NULL && p != t->value.sequence->data + len) {
        sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
        return NULL;
    }
    return sk;
}

/* Split an entry SEQUENCE { OID, value } into its arc under `prefix` and its value. */
static at_status entry(const ASN1_TYPE *t, const char *prefix, STACK_OF(ASN1_TYPE) **hold,
                       long *arc, const ASN1_TYPE **value, struct at_err *e)
{
    STACK_OF(ASN1_TYPE) *kv = inner_seq(t);
    if (kv == NULL || sk_ASN1_TYPE_num(kv) != 2 ||
        sk_ASN1_TYPE_value(kv, 0)->type != V_ASN1_OBJECT) {
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
        AT_FAIL(e, AT_E_PARSE, CHECK, "PCK SGX extension: malformed entry under %s", prefix);
    }
    *arc = arc_under(sk_ASN1_TYPE_value(kv, 0)->value.object, prefix);
    if (*arc < 0) {
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
        AT_FAIL(e, AT_E_PARSE, CHECK, "PCK SGX extension: unexpected OID under %s", prefix);
    }
    *value = sk_ASN1_TYPE_value(kv, 1);
    *hold = kv;
    return at_ok();
}

static at_status octets(const ASN1_TYPE *v, size_t n, uint8_t *out, const char *name,
                        struct at_err *e)
{
    if (v->type != V_ASN1_OCTET_STRING || v->value.octet_string == NULL ||
        (size_t)v->value.octet_string->length != n) {
        AT_FAIL(e, AT_E_PARSE, CHECK, "PCK SGX extension: %s must be an OCTET STRING of %zu bytes",
                name, n);
    }
    memcpy(out, v->value.octet_string->data, n);
    return at_ok();
}

static at_status integer(const ASN1_TYPE *v, int type, long max, long *out, const char *name,
                         struct at_err *e)
{
    long x = -1;
    if (v->type == type && type == V_ASN1_INTEGER) {
        x = ASN1_INTEGER_get(v->value.integer);
    } else if (v->type == type && type == V_ASN1_ENUMERATED) {
        x = ASN1_ENUMERATED_get(v->value.enumerated);
    }
    if (x < 0 || x > max) {
        ERR_clear_error();
        AT_FAIL(e, AT_E_PARSE, CHECK, "PCK SGX extension: %s must be an integer in 0..%ld", name,
                max);
    }
    *out = x;
    return at_ok();
}

static at_status parse_tcb(const ASN1_TYPE *v, struct at_pck_ext *out, struct at_err *e)
{
    STACK_OF(ASN1_TYPE) *sk = inner_seq(v);
    if (sk == NULL || sk_ASN1_TYPE_num(sk) != 18) {
        sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
        AT_FAIL(e, AT_E_PARSE, CHECK, "PCK SGX extension: TCB must hold 18 entries");
    }
    uint32_t seen = 0;
    at_status s = at_ok();
    for (int i = 0; i < 18 && at_is_ok(s); i++) {
        STACK_OF(ASN1_TYPE) *kv = NULL;
        long arc;
        const ASN1_TYPE *val;
        s = entry(sk_ASN1_TYPE_value(sk, i), SGX_OID ".2", &kv, &arc, &val, e);
        if (!at_is_ok(s)) {
            break;
        }
        if (arc < 1 || arc > 18 || (seen & (1u << arc)) != 0) {
            s = at_fail_(e, AT_E_PARSE, CHECK, __FILE__, __LINE__,
                         "PCK SGX extension: unknown or duplicate TCB entry %ld", arc);
        } else {
            seen |= 1u << arc;
            long x;
            if (arc <= 16) {
                s = integer(val, V_ASN1_INTEGER, 255, &x, "TCB component SVN", e);
                if (at_is_ok(s)) {
                    out->comp_svn[arc - 1] = (uint8_t)x;
                }
            } else if (arc == 17) {
                s = integer(val, V_ASN1_INTEGER, 65535, &x, "PCESVN", e);
                if (at_is_ok(s)) {
                    out->pcesvn = (uint16_t)x;
                }
            } else {
                s = octets(val, 16, out->cpusvn, "CPUSVN", e);
            }
        }
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
    return s;
}

static at_status parse_config(const ASN1_TYPE *v, struct at_pck_ext *out, struct at_err *e)
{
    STACK_OF(ASN1_TYPE) *sk = inner_seq(v);
    if (sk == NULL || sk_ASN1_TYPE_num(sk) > 3) {
        sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
        AT_FAIL(e, AT_E_PARSE, CHECK, "PCK SGX extension: malformed Configuration");
    }
    uint32_t seen = 0;
    at_status s = at_ok();
    for (int i = 0; i < sk_ASN1_TYPE_num(sk) && at_is_ok(s); i++) {
        STACK_OF(ASN1_TYPE) *kv = NULL;
        long arc;
        const ASN1_TYPE *val;
        s = entry(sk_ASN1_TYPE_value(sk, i), SGX_OID ".7", &kv, &arc, &val, e);
        if (!at_is_ok(s)) {
            break;
        }
        if (arc < 1 || arc > 3 || (seen & (1u << arc)) != 0 || val->type != V_ASN1_BOOLEAN) {
            s = at_fail_(e, AT_E_PARSE, CHECK, __FILE__, __LINE__,
                         "PCK SGX extension: bad Configuration entry %ld", arc);
        } else {
            seen |= 1u << arc;
            bool b = val->value.boolean != 0;
            if (arc == 1) {
                out->dynamic_platform = b;
            } else if (arc == 2) {
                out->cached_keys = b;
            } else {
                out->smt_enabled = b;
            }
        }
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
    out->has_configuration = at_is_ok(s);
    return s;
}

at_status at_pck_ext_parse(X509 *cert, struct at_pck_ext *out, struct at_err *e)
{
    memset(out, 0, sizeof(*out));
    ASN1_OBJECT *oid = OBJ_txt2obj(SGX_OID, 1);
    if (oid == NULL) {
        AT_FAIL(e, AT_E_NOMEM, CHECK, "out of memory");
    }
    int idx = X509_get_ext_by_OBJ(cert, oid, -1);
    int dup = idx >= 0 ? X509_get_ext_by_OBJ(cert, oid, idx) : -1;
    ASN1_OBJECT_free(oid);
    if (idx < 0 || dup >= 0) {
        AT_FAIL(e, AT_E_PARSE, CHECK, "PCK certificate has %s SGX extension",
                idx < 0 ? "no" : "more than one");
    }
    ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    const unsigned char *p = ASN1_STRING_get0_data(data);
    long len = ASN1_STRING_length(data);
    STACK_OF(ASN1_TYPE) *top = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    if (top == NULL || p != ASN1_STRING_get0_data(data) + len) {
        sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
        ERR_clear_error();
        AT_FAIL(e, AT_E_PARSE, CHECK, "PCK SGX extension is not a DER SEQUENCE");
    }
    uint32_t seen = 0;
    at_status s = at_ok();
    int n = sk_ASN1_TYPE_num(top);
    for (int i = 0; i < n && at_is_ok(s); i++) {
        STACK_OF(ASN1_TYPE) *kv = NULL;
        long arc;
        const ASN1_TYPE *val;
        s = entry(sk_ASN1_TYPE_value(top, i), SGX_OID, &kv, &arc, &val, e);
        if (!at_is_ok(s)) {
            break;
        }
        if (arc < 1 || arc > 7 || (seen & (1u << arc)) != 0) {
            s = at_fail_(e, AT_E_PARSE, CHECK, __FILE__, __LINE__,
                         "PCK SGX extension: unknown or duplicate entry %ld", arc);
        } else {
            seen |= 1u << arc;
            long x;
            switch (arc) {
            case 1:
                s = octets(val, 16, out->ppid, "PPID", e);
                break;
            case 2:
                s = parse_tcb(val, out, e);
                break;
            case 3:
                s = octets(val, 2, out->pceid, "PCE-ID", e);
                break;
            case 4:
                s = octets(val, 6, out->fmspc, "FMSPC", e);
                break;
            case 5:
                s = integer(val, V_ASN1_ENUMERATED, 2, &x, "SGX Type", e);
                out->sgx_type = (int)x;
                break;
            case 6:
                s = octets(val, 16, out->platform_instance_id, "PlatformInstanceID", e);
                out->has_platform_instance_id = true;
                break;
            default:
                s = parse_config(val, out, e);
                break;
            }
        }
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
    AT_TRY(s);
    const uint32_t base = 0x3e;               /* entries 1..5 */
    const uint32_t platform = base | 0xc0;    /* plus 6 and 7 */
    if (seen != base && seen != platform) {
        AT_FAIL(e, AT_E_PARSE, CHECK,
                "PCK SGX extension: must hold PPID, TCB, PCE-ID, FMSPC, SGX Type "
                "(and for Platform CA certificates PlatformInstanceID and Configuration)");
    }
    return at_ok();
}
