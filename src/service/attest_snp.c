/*
 * The SevSnpVm branch of the attestation use case (maa-api.md §2.2, claim-sets.md §5):
 * decode the `report` envelope, split the PEM chain, verify with at_snp_verify against
 * the pinned (or configured) ARK at the service's time, then bind runtime and init-time
 * data to REPORT_DATA and HOST_DATA. Policy and token stay in attest.c.
 */
#include "service/service_int.h"

#include "base/encoding.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "evidence/snp.h"

#include <stdlib.h>
#include <string.h>

#define PEM_END "-----END CERTIFICATE-----"

/* What one SevSnpVm request owns, released in one place. */
struct snp_ctx {
    json_t *envelope;
    uint8_t *report;
    size_t report_len;
    uint8_t *chain;
    size_t chain_len;
    struct at_snp_result vr;
};

/* A base64url string member of the envelope, decoded (heap) into *out. */
static at_status member_b64(const json_t *env, const char *name, uint8_t **out, size_t *len,
                            struct at_err *e)
{
    const json_t *v = json_object_get(env, name);
    if (v == NULL || !json_is_string(v) || json_string_length(v) == 0) {
        AT_FAIL(e, AT_E_PARSE, "evidence",
                "report: the SevSnpVm envelope has no %s string (base64url)", name);
    }
    at_status s = at_b64_decode_public(json_string_value(v), json_string_length(v), out, len, e);
    if (!at_is_ok(s)) {
        at_err_context(e, name);
        at_err_context(e, "report");
    }
    return s;
}

/*
 * report = base64url(JSON {"SnpReport": b64url(report), "VcekCertChain": b64url(PEM)});
 * other members ("Endorsements", ...) are ignored.
 */
static at_status decode_envelope(const uint8_t *ev, size_t ev_len, struct snp_ctx *c,
                                 struct at_err *e)
{
    json_error_t je;
    c->envelope = json_loadb((const char *)ev, ev_len, JSON_REJECT_DUPLICATES, &je);
    if (c->envelope == NULL || !json_is_object(c->envelope)) {
        AT_FAIL(e, AT_E_PARSE, "evidence",
                "report: not the SevSnpVm JSON envelope {\"SnpReport\", \"VcekCertChain\"}%s%s",
                c->envelope == NULL ? ": " : "", c->envelope == NULL ? je.text : "");
    }
    AT_TRY(member_b64(c->envelope, "SnpReport", &c->report, &c->report_len, e));
    return member_b64(c->envelope, "VcekCertChain", &c->chain, &c->chain_len, e);
}

/* Split "VEK PEM, then ASK|ASVK and ARK" after the first certificate's END line. */
static at_status split_chain(const uint8_t *p, size_t len, struct at_snp_collateral *col,
                             struct at_err *e)
{
    size_t m = sizeof(PEM_END) - 1;
    size_t i = 0;
    while (i + m <= len && memcmp(p + i, PEM_END, m) != 0) {
        i++;
    }
    if (i + m > len) {
        AT_FAIL(e, AT_E_PARSE, "evidence",
                "report: VcekCertChain holds no PEM certificate (VCEK, ASK, ARK expected)");
    }
    size_t cut = i + m;
    while (cut < len && (p[cut] == '\r' || p[cut] == '\n')) {
        cut++;
    }
    col->vek = p;
    col->vek_len = cut;
    col->chain = p + cut;
    col->chain_len = len - cut;
    return at_ok();
}

/*
 * SHA-256(data) must equal `field[0,32)` and, for REPORT_DATA, `field[32,64)` must be zero
 * (the layout MAA uses for SEV-SNP, claim-sets.md §1).
 */
static at_status bind(const struct svc_bound_data *d, const uint8_t *field, bool zero_tail,
                      const char *what, const char *where, const char *check, struct at_err *e)
{
    static const uint8_t zeros[32];
    uint8_t h[32];
    if (at_sha256(d->len > 0 ? (const void *)d->p : (const void *)"", d->len, h) != 0) {
        AT_FAIL(e, AT_E_CRYPTO, check, "digest failed");
    }
    bool ok = at_ct_equal(h, field, 32);
    if (zero_tail) {
        ok = at_ct_equal(field + 32, zeros, 32) && ok;
    }
    if (!ok) {
        AT_FAIL(e, AT_E_MISMATCH, check, "SHA-256 of %s does not match %s of the SEV-SNP report",
                what, where);
    }
    return at_ok();
}

static at_status attest_snp(struct at_service *svc, const uint8_t *ev, size_t ev_len,
                            const struct svc_bound_data *runtime,
                            const struct svc_bound_data *inittime, struct snp_ctx *c,
                            struct at_claims *incoming, struct at_err *e)
{
    AT_TRY(decode_envelope(ev, ev_len, c, e));
    struct at_snp_collateral col;
    memset(&col, 0, sizeof(col));
    AT_TRY(split_chain(c->chain, c->chain_len, &col, e));
    struct at_snp_verify_opts o = {
        .at = at_service_now(svc), .ark = svc->amd_ark, .cache = svc->dcap_cache};
    at_status s = at_snp_verify(c->report, c->report_len, &col, &o, &c->vr, e);
    if (!at_is_ok(s)) {
        /* Name the failing check: clients see only the message. */
        at_err_context(e, e->check != NULL ? e->check : "SevSnpVm report");
        return s;
    }
    struct at_snp_report r;
    AT_TRY(at_snp_report_parse(c->report, c->report_len, &r, e));
    for (size_t i = 0; i < c->vr.claims.count; i++) {
        AT_TRY(at_claims_add_copy(incoming, &c->vr.claims.items[i], e));
    }
    if (runtime->present) {
        AT_TRY(bind(runtime, r.report_data, true, "runtimeData", "REPORT_DATA",
                    "runtime_data_binding", e));
        if (runtime->json != NULL) {
            AT_TRY(at_claims_add_json(incoming, "x-ms-runtime", NULL, runtime->json, e));
        }
    }
    if (inittime->present) {
        AT_TRY(bind(inittime, r.host_data, false, "initTimeData", "HOST_DATA",
                    "init_time_data_binding", e));
        if (inittime->json != NULL) {
            AT_TRY(at_claims_add_json(incoming, "x-ms-inittime", NULL, inittime->json, e));
        }
    }
    return at_ok();
}

at_status svc_snp_incoming(struct at_service *svc, const uint8_t *evidence, size_t evidence_len,
                           const struct svc_bound_data *runtime,
                           const struct svc_bound_data *inittime, struct at_claims *incoming,
                           struct at_err *e)
{
    struct snp_ctx c;
    memset(&c, 0, sizeof(c));
    at_snp_result_init(&c.vr);
    at_status s = attest_snp(svc, evidence, evidence_len, runtime, inittime, &c, incoming, e);
    json_decref(c.envelope);
    free(c.report);
    free(c.chain);
    at_snp_result_clear(&c.vr);
    return s;
}
