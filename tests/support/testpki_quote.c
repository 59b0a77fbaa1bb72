/*
 * Test PKI, part 3: synthetic SGX and TDX DCAP quotes (evidence-formats.md
 * §1.1–1.5): header, SGX/TD report body, v3 or v4/v5 signature data with a
 * fresh attestation key certified by the PCK key through the QE report.
 */
#include "testpki.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t tp_intel_qe_vendor_id[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                           0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

/* Intel's SGX QE3 and TD QE MRSIGNERs (public values from PCS QE identities). */
const uint8_t tp_sgx_qe_mrsigner[32] = {
    0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e, 0x96, 0x13, 0x7f, 0x77, 0xc6, 0x8a, 0x82, 0x9a,
    0x00, 0x56, 0xac, 0x8d, 0xed, 0x70, 0x14, 0x0b, 0x08, 0x1b, 0x09, 0x44, 0x90, 0xc5, 0x7b, 0xff};
const uint8_t tp_td_qe_mrsigner[32] = {
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5};

#define HEADER_LEN    48
#define SGX_BODY_LEN  384
#define TD10_BODY_LEN 584
#define TD15_BODY_LEN 648
#define QE_REPORT_LEN 384

bool tp_quote_kind_is_tdx(enum tp_quote_kind k)
{
    switch (k) {
    case TP_SGX_V3:
    case TP_SGX_V4:
    case TP_SGX_V5:
        return false;
    case TP_TDX_V4:
    case TP_TDX_V5_T2:
    case TP_TDX_V5_T3:
        return true;
    }
    return false;
}

const char *tp_quote_kind_name(enum tp_quote_kind k)
{
    switch (k) {
    case TP_SGX_V3:
        return "sgx-v3";
    case TP_SGX_V4:
        return "sgx-v4";
    case TP_SGX_V5:
        return "sgx-v5";
    case TP_TDX_V4:
        return "tdx-v4";
    case TP_TDX_V5_T2:
        return "tdx-v5-t2";
    case TP_TDX_V5_T3:
        return "tdx-v5-t3";
    }
    return "?";
}

static uint16_t kind_version(enum tp_quote_kind k)
{
    switch (k) {
    case TP_SGX_V3:
        return 3;
    case TP_SGX_V4:
    case TP_TDX_V4:
        return 4;
    case TP_SGX_V5:
    case TP_TDX_V5_T2:
    case TP_TDX_V5_T3:
        return 5;
    }
    return 0;
}

/* v5 body type (§1.1): 1 SGX, 2 TD 1.0, 3 TD 1.5. */
static uint16_t kind_body_type(enum tp_quote_kind k)
{
    if (!tp_quote_kind_is_tdx(k)) {
        return 1;
    }
    return k == TP_TDX_V5_T3 ? 3 : 2;
}

static size_t kind_body_len(enum tp_quote_kind k)
{
    if (!tp_quote_kind_is_tdx(k)) {
        return SGX_BODY_LEN;
    }
    return k == TP_TDX_V5_T3 ? TD15_BODY_LEN : TD10_BODY_LEN;
}

static void fill(uint8_t *p, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(start + i);
    }
}

void tp_quote_params_default(struct tp_quote_params *qp, enum tp_quote_kind kind)
{
    memset(qp, 0, sizeof(*qp));
    qp->kind = kind;
    qp->qe_svn = 8;
    qp->pce_svn = 11;
    fill(qp->user_data, 16, 0xe0);

    struct tp_sgx_report *en = &qp->enclave;
    static const uint8_t cpusvn[16] = {7, 7, 2, 2, 3, 1, 0, 3};
    memcpy(en->cpusvn, cpusvn, 16);
    en->flags = 0x5; /* INIT | MODE64BIT */
    en->xfrm = 0x3;
    fill(en->mrenclave, 32, 0x10);
    fill(en->mrsigner, 32, 0x20);
    en->isvprodid = 3;
    en->isvsvn = 4;
    fill(en->report_data, 64, 0x30);

    struct tp_td_report *td = &qp->td;
    td->tee_tcb_svn[0] = 3; /* module SVN */
    td->tee_tcb_svn[1] = 1; /* module major version */
    td->tee_tcb_svn[2] = 7; /* compared to tdxtcbcomponents[2] */
    fill(td->mrseam, 48, 0x40);
    td->td_attributes = (uint64_t)1 << 28; /* SEPT_VE_DISABLE */
    td->xfam = 0x61ae7;
    fill(td->mrtd, 48, 0x50);
    for (size_t i = 0; i < 4; i++) {
        fill(td->rtmr[i], 48, (uint8_t)(0x60 + 0x10 * i));
    }
    fill(td->report_data, 64, 0xa0);
    memcpy(td->tee_tcb_svn2, td->tee_tcb_svn, 16);
    fill(td->mrservicetd, 48, 0xb0);

    struct tp_sgx_report *qe = &qp->qe;
    memcpy(qe->cpusvn, cpusvn, 16);
    qe->flags = 0x15; /* INIT | MODE64BIT | PROVISIONKEY */
    qe->xfrm = 0xe7;
    fill(qe->mrenclave, 32, 0xc0);
    if (tp_quote_kind_is_tdx(kind)) {
        memcpy(qe->mrsigner, tp_td_qe_mrsigner, 32);
        qe->isvprodid = 2;
        qe->isvsvn = 5;
    } else {
        memcpy(qe->mrsigner, tp_sgx_qe_mrsigner, 32);
        qe->isvprodid = 1;
        qe->isvsvn = 8;
    }
    qp->qe_auth_len = 32;
    fill(qp->qe_auth, 32, 0);
}

void tp_quote_layout(const struct tp_quote_params *qp, struct tp_quote_layout *l)
{
    uint16_t v = kind_version(qp->kind);
    memset(l, 0, sizeof(*l));
    l->body_off = HEADER_LEN + (v == 5 ? 6u : 0u);
    l->body_len = kind_body_len(qp->kind);
    l->signed_len = l->body_off + l->body_len;
    l->sig_data_len_off = l->signed_len;
    l->quote_sig_off = l->signed_len + 4;
    l->att_key_off = l->quote_sig_off + 64;
    /* v3: QE report inline; v4/v5: after the type-6 header (u16 type, u32 size). */
    l->qe_report_off = l->att_key_off + 64 + (v == 3 ? 0u : 6u);
    l->qe_report_sig_off = l->qe_report_off + QE_REPORT_LEN;
    l->qe_auth_off = l->qe_report_sig_off + 64 + 2;
    l->qe_auth_len = qp->qe_auth_len;
    l->cert_data_off = l->qe_auth_off + qp->qe_auth_len + 6;
}

/* ----------------------------------------------------- little-endian writer */

struct wr {
    uint8_t *p;
    size_t off;
};

static void w_bytes(struct wr *w, const void *src, size_t n)
{
    memcpy(w->p + w->off, src, n);
    w->off += n;
}

static void w_zero(struct wr *w, size_t n)
{
    memset(w->p + w->off, 0, n);
    w->off += n;
}

static void w_u16(struct wr *w, uint16_t v)
{
    w->p[w->off++] = (uint8_t)v;
    w->p[w->off++] = (uint8_t)(v >> 8);
}

static void w_u32(struct wr *w, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        w->p[w->off++] = (uint8_t)(v >> (8 * i));
    }
}

static void w_u64(struct wr *w, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        w->p[w->off++] = (uint8_t)(v >> (8 * i));
    }
}

/* §1.3, 384 bytes. */
static void w_sgx_report(struct wr *w, const struct tp_sgx_report *r, const uint8_t report_data[64])
{
    w_bytes(w, r->cpusvn, 16);
    w_u32(w, r->miscselect);
    w_zero(w, 12);
    w_bytes(w, r->isvextprodid, 16);
    w_u64(w, r->flags);
    w_u64(w, r->xfrm);
    w_bytes(w, r->mrenclave, 32);
    w_zero(w, 32);
    w_bytes(w, r->mrsigner, 32);
    w_zero(w, 32);
    w_bytes(w, r->configid, 64);
    w_u16(w, r->isvprodid);
    w_u16(w, r->isvsvn);
    w_u16(w, r->configsvn);
    w_zero(w, 42);
    w_bytes(w, r->isvfamilyid, 16);
    w_bytes(w, report_data, 64);
}

/* §1.4, 584 bytes (TDX 1.0) or 648 (TDX 1.5). */
static void w_td_report(struct wr *w, const struct tp_td_report *r, bool v15)
{
    w_bytes(w, r->tee_tcb_svn, 16);
    w_bytes(w, r->mrseam, 48);
    w_bytes(w, r->mrsignerseam, 48);
    w_u64(w, r->seam_attributes);
    w_u64(w, r->td_attributes);
    w_u64(w, r->xfam);
    w_bytes(w, r->mrtd, 48);
    w_bytes(w, r->mrconfigid, 48);
    w_bytes(w, r->mrowner, 48);
    w_bytes(w, r->mrownerconfig, 48);
    for (size_t i = 0; i < 4; i++) {
        w_bytes(w, r->rtmr[i], 48);
    }
    w_bytes(w, r->report_data, 64);
    if (v15) {
        w_bytes(w, r->tee_tcb_svn2, 16);
        w_bytes(w, r->mrservicetd, 48);
    }
}

/* The QE report, its PCK signature, and the attestation-key binding (§1.9 steps 6–7). */
static int qe_report(const struct tp_pki *pki, const struct tp_quote_params *qp,
                     const uint8_t att_xy[64], uint8_t report[QE_REPORT_LEN], uint8_t sig[64])
{
    uint8_t rd[64] = {0};
    uint8_t msg[64 + TP_QE_AUTH_MAX];
    memcpy(msg, att_xy, 64);
    memcpy(msg + 64, qp->qe_auth, qp->qe_auth_len);
    unsigned int md_len = 0;
    if (EVP_Digest(msg, 64 + qp->qe_auth_len, rd, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != 32) {
        return -1;
    }
    if (qp->bad_report_data_binding) {
        rd[0] ^= 0x01;
    }
    struct wr w = {report, 0};
    w_sgx_report(&w, &qp->qe, rd);
    if (tp_sign_raw(tp_pki_pck_key(pki), report, QE_REPORT_LEN, sig) != 0) {
        return -1;
    }
    if (qp->bad_qe_report_sig) {
        sig[45] ^= 0x10;
    }
    return 0;
}

int tp_quote_build(const struct tp_pki *pki, const struct tp_quote_params *qp, uint8_t **out,
                   size_t *len)
{
    int rc = -1;
    char *pem = NULL;
    size_t pem_len = 0;
    uint8_t *q = NULL;
    EVP_PKEY *att = NULL;
    uint8_t att_xy[64], qer[QE_REPORT_LEN], qer_sig[64], qsig[64];
    struct tp_quote_layout l;

    if (qp->qe_auth_len > TP_QE_AUTH_MAX) {
        fprintf(stderr, "testpki: qe_auth_len too large\n");
        return -1;
    }
    tp_quote_layout(qp, &l);
    uint16_t version = kind_version(qp->kind);
    bool tdx = tp_quote_kind_is_tdx(qp->kind);
    if (tp_pki_pck_chain_pem(pki, &pem, &pem_len) != 0) {
        goto out;
    }
    att = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (att == NULL || tp_pub_xy(att, att_xy) != 0 ||
        qe_report(pki, qp, att_xy, qer, qer_sig) != 0) {
        goto out;
    }
    size_t cert5_len = pem_len + qp->pem_nul_pad;
    size_t qe_cert_tail = QE_REPORT_LEN + 64 + 2 + qp->qe_auth_len + 2 + 4 + cert5_len;
    size_t sig_data_len = 64 + 64 + (version == 3 ? qe_cert_tail : 6 + qe_cert_tail);
    size_t total =
        l.signed_len + 4 + sig_data_len + qp->trailing_zero_len + qp->trailing_garbage_len;
    q = calloc(1, total);
    if (q == NULL) {
        goto out;
    }
    struct wr w = {q, 0};
    /* §1.2 header */
    w_u16(&w, version);
    w_u16(&w, 2); /* ECDSA-256 with P-256 */
    w_u32(&w, tdx ? 0x81u : 0u);
    w_u16(&w, qp->qe_svn);
    w_u16(&w, qp->pce_svn);
    w_bytes(&w, tp_intel_qe_vendor_id, 16);
    w_bytes(&w, qp->user_data, 20);
    if (version == 5) {
        w_u16(&w, kind_body_type(qp->kind));
        w_u32(&w, (uint32_t)l.body_len);
    }
    /* §1.3 / §1.4 body */
    if (tdx) {
        w_td_report(&w, &qp->td, qp->kind == TP_TDX_V5_T3);
    } else {
        w_sgx_report(&w, &qp->enclave, qp->enclave.report_data);
    }
    /* §1.5 signature data */
    w_u32(&w, (uint32_t)sig_data_len);
    w_zero(&w, 64); /* quote signature, filled below */
    w_bytes(&w, att_xy, 64);
    if (version != 3) {
        w_u16(&w, 6);
        w_u32(&w, (uint32_t)qe_cert_tail);
    }
    w_bytes(&w, qer, QE_REPORT_LEN);
    w_bytes(&w, qer_sig, 64);
    w_u16(&w, (uint16_t)qp->qe_auth_len);
    w_bytes(&w, qp->qe_auth, qp->qe_auth_len);
    w_u16(&w, 5);
    w_u32(&w, (uint32_t)cert5_len);
    w_bytes(&w, pem, pem_len);
    w_zero(&w, qp->pem_nul_pad);
    w_zero(&w, qp->trailing_zero_len);
    memset(q + w.off, 0xa5, qp->trailing_garbage_len);
    w.off += qp->trailing_garbage_len;
    if (w.off != total) {
        fprintf(stderr, "testpki: quote layout error (%zu != %zu)\n", w.off, total);
        goto out;
    }
    if (tp_sign_raw(att, q, l.signed_len, qsig) != 0) {
        goto out;
    }
    if (qp->bad_quote_sig) {
        qsig[50] ^= 0x04;
    }
    memcpy(q + l.quote_sig_off, qsig, 64);
    *out = q;
    *len = total;
    q = NULL;
    rc = 0;
out:
    free(q);
    free(pem);
    EVP_PKEY_free(att);
    return rc;
}
