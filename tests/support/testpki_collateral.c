/*
 * Test PKI, part 2: TCB info and enclave identity JSON signed like Intel PCS
 * (evidence-formats.md §1.8), the collateral bundle, and writing it out in the
 * vector layout.
 */
#include "base/encoding.h"
#include "base/timeutil.h"
#include "testpki.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TCB_DATE "2024-03-13T00:00:00Z"

/* ------------------------------------------------ a tiny string builder */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_reserve(struct sbuf *b, size_t extra)
{
    if (b->oom || b->len + extra + 1 <= b->cap) {
        return;
    }
    size_t cap = b->cap == 0 ? 1024 : b->cap;
    while (cap < b->len + extra + 1) {
        cap *= 2;
    }
    char *np = realloc(b->p, cap);
    if (np == NULL) {
        b->oom = true;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    sb_reserve(b, n);
    if (!b->oom) {
        memcpy(b->p + b->len, s, n + 1);
        b->len += n;
    }
}

AT_PRINTF(2, 3) static void sb_addf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->oom = true;
        return;
    }
    sb_add(b, tmp);
}

/* Uppercase hex, as PCS writes mrsigner/attributes. */
static void sb_hex(struct sbuf *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    sb_reserve(b, 2 * n);
    if (b->oom) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        b->p[b->len++] = digits[p[i] >> 4];
        b->p[b->len++] = digits[p[i] & 0xf];
    }
    b->p[b->len] = 0;
}

static void sb_time(struct sbuf *b, int64_t t)
{
    char buf[32];
    at_time_format(t, buf, sizeof(buf));
    sb_add(b, buf);
}

static int sb_finish(struct sbuf *b, char **out, size_t *len)
{
    if (b->oom || b->p == NULL) {
        free(b->p);
        fprintf(stderr, "testpki: JSON builder out of memory\n");
        return -1;
    }
    *out = b->p;
    *len = b->len;
    return 0;
}

/* ----------------------------------------------------------- defaults */

static void id_level(struct tp_id_level *l, uint16_t isvsvn, const char *status, const char *date,
                     const char *adv)
{
    memset(l, 0, sizeof(*l));
    l->isvsvn = isvsvn;
    l->status = status;
    l->date = date;
    if (adv != NULL) {
        l->advisories[0] = adv;
        l->n_advisories = 1;
    }
}

void tp_collateral_params_default(struct tp_collateral_params *cp, const struct tp_pki *pki,
                                  bool tdx)
{
    const struct tp_pki_params *pp = tp_pki_params_get(pki);
    int64_t t0 = pp->t0;
    memset(cp, 0, sizeof(*cp));
    cp->tdx = tdx;
    cp->tcb_info_version = 3;
    cp->tcb_issue_date = t0 - TP_DAY_S;
    cp->tcb_next_update = t0 + 30 * TP_DAY_S;
    memcpy(cp->fmspc, pp->ext.fmspc, 6);
    memcpy(cp->pceid, pp->ext.pceid, 2);
    cp->tcb_type = 0;
    cp->tcb_eval_num = 17;

    struct tp_tcb_level *l0 = &cp->levels[0], *l1 = &cp->levels[1];
    memcpy(l0->sgx, pp->ext.comp_svn, 16);
    l0->pcesvn = pp->ext.pcesvn;
    l0->status = "UpToDate";
    l0->date = DEFAULT_TCB_DATE;
    for (size_t i = 0; i < 16; i++) {
        l1->sgx[i] = pp->ext.comp_svn[i] > 0 ? (uint8_t)(pp->ext.comp_svn[i] - 1) : 0;
    }
    l1->pcesvn = pp->ext.pcesvn > 0 ? (uint16_t)(pp->ext.pcesvn - 1) : 0;
    l1->status = "OutOfDate";
    l1->date = "2023-08-09T00:00:00Z";
    l1->advisories[0] = "INTEL-SA-00615";
    l1->n_advisories = 1;
    cp->n_levels = 2;

    cp->qe_version = 2;
    cp->qe_issue_date = t0 - TP_DAY_S;
    cp->qe_next_update = t0 + 30 * TP_DAY_S;
    cp->qe_eval_num = 17;
    memset(cp->qe_miscselect_mask, 0xff, 4);
    cp->qe_attributes[0] = 0x11;
    memset(cp->qe_attributes_mask, 0xff, 8);
    cp->qe_attributes_mask[0] = 0xfb;

    if (tdx) {
        l0->tdx[0] = 3;
        l0->tdx[2] = 7;
        l1->tdx[0] = 2;
        l1->tdx[2] = 6;
        cp->has_tdx_module = true;
        memset(cp->module_attributes_mask, 0xff, 8);
        struct tp_module_identity *m = &cp->module_ids[0];
        m->id = "TDX_01";
        memset(m->attributes_mask, 0xff, 8);
        id_level(&m->levels[0], 3, "UpToDate", DEFAULT_TCB_DATE, NULL);
        id_level(&m->levels[1], 2, "OutOfDate", "2023-08-09T00:00:00Z", "INTEL-SA-00960");
        m->n_levels = 2;
        cp->n_module_ids = 1;
        cp->qe_id = "TD_QE";
        memcpy(cp->qe_mrsigner, tp_td_qe_mrsigner, 32);
        cp->qe_isvprodid = 2;
        id_level(&cp->qe_levels[0], 4, "UpToDate", DEFAULT_TCB_DATE, NULL);
        cp->n_qe_levels = 1;
    } else {
        cp->qe_id = "QE";
        memcpy(cp->qe_mrsigner, tp_sgx_qe_mrsigner, 32);
        cp->qe_isvprodid = 1;
        id_level(&cp->qe_levels[0], 8, "UpToDate", DEFAULT_TCB_DATE, NULL);
        id_level(&cp->qe_levels[1], 6, "OutOfDate", "2021-11-10T00:00:00Z", "INTEL-SA-00615");
        cp->n_qe_levels = 2;
    }
    cp->root_crl = (struct tp_crl_params){
        .this_update = t0 - TP_DAY_S, .next_update = t0 + 30 * TP_DAY_S, .number = 1};
    cp->pck_crl = cp->root_crl;
}

/* ---------------------------------------------------------- JSON bodies */

static void sb_level_tail(struct sbuf *b, const char *date, const char *status,
                          const char *const *adv, size_t n_adv)
{
    sb_addf(b, "\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"", date != NULL ? date : DEFAULT_TCB_DATE,
            status != NULL ? status : "UpToDate");
    if (n_adv > 0) {
        sb_add(b, ",\"advisoryIDs\":[");
        for (size_t i = 0; i < n_adv && i < TP_MAX_ADVISORIES; i++) {
            sb_addf(b, "%s\"%s\"", i > 0 ? "," : "", adv[i]);
        }
        sb_add(b, "]");
    }
}

static void sb_id_levels(struct sbuf *b, const struct tp_id_level *lv, size_t n)
{
    sb_add(b, "\"tcbLevels\":[");
    for (size_t i = 0; i < n && i < TP_MAX_LEVELS; i++) {
        sb_addf(b, "%s{\"tcb\":{\"isvsvn\":%u},", i > 0 ? "," : "", (unsigned)lv[i].isvsvn);
        sb_level_tail(b, lv[i].date, lv[i].status, lv[i].advisories, lv[i].n_advisories);
        sb_add(b, "}");
    }
    sb_add(b, "]");
}

static void sb_comps(struct sbuf *b, const char *name, const uint8_t c[16])
{
    sb_addf(b, "\"%s\":[", name);
    for (size_t i = 0; i < 16; i++) {
        sb_addf(b, "%s{\"svn\":%u}", i > 0 ? "," : "", (unsigned)c[i]);
    }
    sb_add(b, "]");
}

static void sb_platform_level(struct sbuf *b, const struct tp_collateral_params *cp,
                              const struct tp_tcb_level *l)
{
    sb_add(b, "{\"tcb\":{");
    if (cp->tcb_info_version == 2) {
        for (size_t i = 0; i < 16; i++) {
            sb_addf(b, "\"sgxtcbcomp%02zusvn\":%u,", i + 1, (unsigned)l->sgx[i]);
        }
        sb_addf(b, "\"pcesvn\":%u", (unsigned)l->pcesvn);
    } else {
        sb_comps(b, "sgxtcbcomponents", l->sgx);
        sb_addf(b, ",\"pcesvn\":%u", (unsigned)l->pcesvn);
        if (cp->tdx) {
            sb_add(b, ",");
            sb_comps(b, "tdxtcbcomponents", l->tdx);
        }
    }
    sb_add(b, "},");
    sb_level_tail(b, l->date, l->status, l->advisories, l->n_advisories);
    sb_add(b, "}");
}

static void sb_module(struct sbuf *b, const uint8_t mrsigner[48], const uint8_t attr[8],
                      const uint8_t mask[8])
{
    sb_add(b, "\"mrsigner\":\"");
    sb_hex(b, mrsigner, 48);
    sb_add(b, "\",\"attributes\":\"");
    sb_hex(b, attr, 8);
    sb_add(b, "\",\"attributesMask\":\"");
    sb_hex(b, mask, 8);
    sb_add(b, "\"");
}

static int sign_body(const struct tp_pki *pki, const char *body, size_t len, bool flip,
                     uint8_t sig[64])
{
    if (tp_sign_raw(tp_pki_tcb_key(pki), (const uint8_t *)body, len, sig) != 0) {
        return -1;
    }
    if (flip) {
        sig[40] ^= 0x01;
    }
    return 0;
}

int tp_tcb_info_body(const struct tp_pki *pki, const struct tp_collateral_params *cp, char **body,
                     size_t *len, uint8_t sig[64])
{
    struct sbuf b = {0};
    const char *id = cp->tcb_info_id != NULL ? cp->tcb_info_id : (cp->tdx ? "TDX" : "SGX");
    sb_add(&b, "{");
    if (cp->tcb_info_version != 2) {
        sb_addf(&b, "\"id\":\"%s\",", id);
    }
    sb_addf(&b, "\"version\":%d,\"issueDate\":\"", cp->tcb_info_version);
    sb_time(&b, cp->tcb_issue_date);
    sb_add(&b, "\",\"nextUpdate\":\"");
    sb_time(&b, cp->tcb_next_update);
    sb_add(&b, "\",\"fmspc\":\"");
    sb_hex(&b, cp->fmspc, 6);
    sb_add(&b, "\",\"pceId\":\"");
    sb_hex(&b, cp->pceid, 2);
    sb_addf(&b, "\",\"tcbType\":%u,\"tcbEvaluationDataNumber\":%u,", (unsigned)cp->tcb_type,
            (unsigned)cp->tcb_eval_num);
    if (cp->tdx && cp->has_tdx_module) {
        sb_add(&b, "\"tdxModule\":{");
        sb_module(&b, cp->module_mrsigner, cp->module_attributes, cp->module_attributes_mask);
        sb_add(&b, "},");
    }
    if (cp->tdx && cp->n_module_ids > 0) {
        sb_add(&b, "\"tdxModuleIdentities\":[");
        for (size_t i = 0; i < cp->n_module_ids && i < TP_MAX_MODULE_IDS; i++) {
            const struct tp_module_identity *m = &cp->module_ids[i];
            sb_addf(&b, "%s{\"id\":\"%s\",", i > 0 ? "," : "", m->id != NULL ? m->id : "TDX_01");
            sb_module(&b, m->mrsigner, m->attributes, m->attributes_mask);
            sb_add(&b, ",");
            sb_id_levels(&b, m->levels, m->n_levels);
            sb_add(&b, "}");
        }
        sb_add(&b, "],");
    }
    sb_add(&b, "\"tcbLevels\":[");
    for (size_t i = 0; i < cp->n_levels && i < TP_MAX_LEVELS; i++) {
        if (i > 0) {
            sb_add(&b, ",");
        }
        sb_platform_level(&b, cp, &cp->levels[i]);
    }
    sb_add(&b, "]}");
    char *out = NULL;
    size_t n = 0;
    if (sb_finish(&b, &out, &n) != 0) {
        return -1;
    }
    if (sign_body(pki, out, n, cp->bad_tcb_info_sig, sig) != 0) {
        free(out);
        return -1;
    }
    *body = out;
    *len = n;
    return 0;
}

int tp_qe_identity_body(const struct tp_pki *pki, const struct tp_collateral_params *cp,
                        char **body, size_t *len, uint8_t sig[64])
{
    struct sbuf b = {0};
    sb_addf(&b, "{\"id\":\"%s\",\"version\":%d,\"issueDate\":\"",
            cp->qe_id != NULL ? cp->qe_id : "QE", cp->qe_version);
    sb_time(&b, cp->qe_issue_date);
    sb_add(&b, "\",\"nextUpdate\":\"");
    sb_time(&b, cp->qe_next_update);
    sb_addf(&b, "\",\"tcbEvaluationDataNumber\":%u,\"miscselect\":\"", (unsigned)cp->qe_eval_num);
    sb_hex(&b, cp->qe_miscselect, 4);
    sb_add(&b, "\",\"miscselectMask\":\"");
    sb_hex(&b, cp->qe_miscselect_mask, 4);
    sb_add(&b, "\",\"attributes\":\"");
    sb_hex(&b, cp->qe_attributes, 16);
    sb_add(&b, "\",\"attributesMask\":\"");
    sb_hex(&b, cp->qe_attributes_mask, 16);
    sb_add(&b, "\",\"mrsigner\":\"");
    sb_hex(&b, cp->qe_mrsigner, 32);
    sb_addf(&b, "\",\"isvprodid\":%u,", (unsigned)cp->qe_isvprodid);
    sb_id_levels(&b, cp->qe_levels, cp->n_qe_levels);
    sb_add(&b, "}");
    char *out = NULL;
    size_t n = 0;
    if (sb_finish(&b, &out, &n) != 0) {
        return -1;
    }
    if (sign_body(pki, out, n, cp->bad_qe_identity_sig, sig) != 0) {
        free(out);
        return -1;
    }
    *body = out;
    *len = n;
    return 0;
}

/* ------------------------------------------------------------ the bundle */

void tp_collateral_free(struct at_dcap_collateral *c)
{
    at_dcap_collateral_clear(c);
}

int tp_collateral_build(const struct tp_pki *pki, const struct tp_collateral_params *cp,
                        struct at_dcap_collateral *out)
{
    struct at_dcap_collateral c;
    memset(&c, 0, sizeof(c));
    X509 *pck_chain[2] = {tp_pki_pck_ca(pki), tp_pki_root(pki)};
    X509 *tcb_chain[2] = {tp_pki_tcb_signer(pki), tp_pki_root(pki)};
    char *s = NULL;
    if (tp_pem_chain(pck_chain, 2, &s, &c.pck_crl_issuer_chain_len) != 0) {
        goto fail;
    }
    c.pck_crl_issuer_chain = (uint8_t *)s;
    if (tp_pem_chain(tcb_chain, 2, &s, &c.tcb_info_issuer_chain_len) != 0) {
        goto fail;
    }
    c.tcb_info_issuer_chain = (uint8_t *)s;
    if (tp_pem_chain(tcb_chain, 2, &s, &c.qe_identity_issuer_chain_len) != 0) {
        goto fail;
    }
    c.qe_identity_issuer_chain = (uint8_t *)s;
    if (tp_crl_der(tp_pki_root(pki), tp_pki_root_key(pki), &cp->root_crl, &c.root_ca_crl,
                   &c.root_ca_crl_len) != 0 ||
        tp_crl_der(tp_pki_pck_ca(pki), tp_pki_pck_ca_key(pki), &cp->pck_crl, &c.pck_crl,
                   &c.pck_crl_len) != 0) {
        goto fail;
    }
    if (tp_tcb_info_body(pki, cp, &s, &c.tcb_info_len, c.tcb_info_sig) != 0) {
        goto fail;
    }
    c.tcb_info = (uint8_t *)s;
    if (tp_qe_identity_body(pki, cp, &s, &c.qe_identity_len, c.qe_identity_sig) != 0) {
        goto fail;
    }
    c.qe_identity = (uint8_t *)s;
    if (at_dcap_collateral_seal(&c) != 0) {
        goto fail;
    }
    *out = c;
    return 0;
fail:
    tp_collateral_free(&c);
    return -1;
}

static int dup_field(const uint8_t *in, size_t n, uint8_t **out)
{
    *out = NULL;
    if (in == NULL) {
        return 0;
    }
    *out = tp_memdup(in, n);
    return *out != NULL ? 0 : -1;
}

int tp_collateral_copy(const struct at_dcap_collateral *in, struct at_dcap_collateral *out)
{
    struct at_dcap_collateral c = *in;
    int rc = 0;
    rc |=
        dup_field(in->pck_crl_issuer_chain, in->pck_crl_issuer_chain_len, &c.pck_crl_issuer_chain);
    rc |= dup_field(in->root_ca_crl, in->root_ca_crl_len, &c.root_ca_crl);
    rc |= dup_field(in->pck_crl, in->pck_crl_len, &c.pck_crl);
    rc |= dup_field(in->tcb_info_issuer_chain, in->tcb_info_issuer_chain_len,
                    &c.tcb_info_issuer_chain);
    rc |= dup_field(in->tcb_info, in->tcb_info_len, &c.tcb_info);
    rc |= dup_field(in->qe_identity_issuer_chain, in->qe_identity_issuer_chain_len,
                    &c.qe_identity_issuer_chain);
    rc |= dup_field(in->qe_identity, in->qe_identity_len, &c.qe_identity);
    if (rc != 0) {
        tp_collateral_free(&c);
        return -1;
    }
    /* The copy is meant to be tampered with: drop the seal (digest) of the original. */
    memset(c.digest, 0, sizeof(c.digest));
    c.sealed = false;
    *out = c;
    return 0;
}

/* ----------------------------------------------------------------- output */

/* {"<key>":<body>,"signature":"<hex>"} — the body bytes verbatim. */
static int pcs_doc(const char *key, const uint8_t *body, size_t body_len, const uint8_t sig[64],
                   char **out, size_t *len)
{
    char hex[129];
    at_hex_encode(sig, 64, hex);
    size_t n = strlen(key) + body_len + sizeof(hex) + 32;
    char *doc = malloc(n);
    if (doc == NULL) {
        return -1;
    }
    int a = snprintf(doc, n, "{\"%s\":", key);
    if (a < 0 || (size_t)a >= n) {
        free(doc);
        return -1;
    }
    size_t off = (size_t)a;
    memcpy(doc + off, body, body_len);
    off += body_len;
    int b = snprintf(doc + off, n - off, ",\"signature\":\"%s\"}", hex);
    if (b < 0 || (size_t)b >= n - off) {
        free(doc);
        return -1;
    }
    *out = doc;
    *len = off + (size_t)b;
    return 0;
}

static int write_in(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    int m = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (m < 0 || (size_t)m >= sizeof(path)) {
        return -1;
    }
    return tp_write_file(path, p, n);
}

static int write_doc(const char *dir, const char *name, const char *key, const uint8_t *body,
                     size_t body_len, const uint8_t sig[64])
{
    char *doc = NULL;
    size_t n = 0;
    if (pcs_doc(key, body, body_len, sig, &doc, &n) != 0) {
        return -1;
    }
    int rc = write_in(dir, name, doc, n);
    free(doc);
    return rc;
}

int tp_collateral_write_dir(const struct at_dcap_collateral *c, const struct tp_pki *pki,
                            const char *dir)
{
    int rc = 0;
    rc |= write_in(dir, "pck_crl.der", c->pck_crl, c->pck_crl_len);
    rc |= write_in(dir, "root_ca_crl.der", c->root_ca_crl, c->root_ca_crl_len);
    rc |= write_in(dir, "pck_crl_issuer_chain.pem", c->pck_crl_issuer_chain,
                   c->pck_crl_issuer_chain_len);
    rc |= write_in(dir, "tcb_info_issuer_chain.pem", c->tcb_info_issuer_chain,
                   c->tcb_info_issuer_chain_len);
    rc |= write_in(dir, "qe_identity_issuer_chain.pem", c->qe_identity_issuer_chain,
                   c->qe_identity_issuer_chain_len);
    rc |= write_doc(dir, "tcb_info.json", "tcbInfo", c->tcb_info, c->tcb_info_len, c->tcb_info_sig);
    rc |= write_doc(dir, "qe_identity.json", "enclaveIdentity", c->qe_identity, c->qe_identity_len,
                    c->qe_identity_sig);
    if (pki != NULL) {
        char *pem = NULL;
        size_t n = 0;
        if (tp_pki_pck_chain_pem(pki, &pem, &n) != 0) {
            return -1;
        }
        rc |= write_in(dir, "pck_cert_chain.pem", pem, n);
        free(pem);
        char path[4096];
        int m = snprintf(path, sizeof(path), "%s/root_ca.pem", dir);
        rc |= (m < 0 || (size_t)m >= sizeof(path)) ? -1 : tp_pki_write_root_pem(pki, path);
    }
    return rc == 0 ? 0 : -1;
}

static int set_str(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    json_t *v = json_stringn(p != NULL ? (const char *)p : "", p != NULL ? n : 0);
    return v != NULL && json_object_set_new(o, key, v) == 0 ? 0 : -1;
}

static int set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char *h = at_hex_dup(p, n);
    if (h == NULL) {
        return -1;
    }
    int rc = json_object_set_new(o, key, json_string(h)) == 0 ? 0 : -1;
    free(h);
    return rc;
}

int tp_collateral_write_json(const struct at_dcap_collateral *c, const char *path)
{
    json_t *o = json_object();
    int rc = o != NULL ? 0 : -1;
    if (rc == 0) {
        rc |= set_str(o, "pck_crl_issuer_chain", c->pck_crl_issuer_chain,
                      c->pck_crl_issuer_chain_len);
        rc |= set_hex(o, "root_ca_crl", c->root_ca_crl, c->root_ca_crl_len);
        rc |= set_hex(o, "pck_crl", c->pck_crl, c->pck_crl_len);
        rc |= set_str(o, "tcb_info_issuer_chain", c->tcb_info_issuer_chain,
                      c->tcb_info_issuer_chain_len);
        rc |= set_str(o, "tcb_info", c->tcb_info, c->tcb_info_len);
        rc |= set_hex(o, "tcb_info_signature", c->tcb_info_sig, 64);
        rc |= set_str(o, "qe_identity_issuer_chain", c->qe_identity_issuer_chain,
                      c->qe_identity_issuer_chain_len);
        rc |= set_str(o, "qe_identity", c->qe_identity, c->qe_identity_len);
        rc |= set_hex(o, "qe_identity_signature", c->qe_identity_sig, 64);
    }
    if (rc == 0) {
        rc = json_dump_file(o, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : -1;
    }
    json_decref(o);
    return rc;
}
