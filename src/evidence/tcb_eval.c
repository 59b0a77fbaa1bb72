/*
 * TCB evaluation for DCAP quotes, as Intel's QVL does it (evidence-formats.md
 * §1.9 steps 8 and 10, §1.10): QE identity match and QE TCB level, TDX module
 * identity and module TCB level, platform level matching for SGX and TDX,
 * convergence with the module status, the TD relaunch rule (TD report 1.5),
 * and convergence with the QE status last.
 *
 * The inputs are already verified (signatures, dates, FMSPC/PCE-ID). Nothing
 * here allocates except the advisory list in the result, which the caller
 * frees with at_tcb_eval_result_clear.
 */
#include "evidence/tcb_eval.h"

#include "base/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* QE report = SGX report body (§1.3). */
#define QE_REPORT_MISCSELECT 16
#define QE_REPORT_ATTRIBUTES 48
#define QE_REPORT_MRSIGNER   128
#define QE_REPORT_ISVPRODID  256
#define QE_REPORT_ISVSVN     258

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* (value[i] & mask[i]) == want[i] for every byte (§1.8: report byte order). */
static bool masked_equal(const uint8_t *value, const uint8_t *mask, const uint8_t *want, size_t n)
{
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) {
        diff |= (uint8_t)((value[i] & mask[i]) ^ want[i]);
    }
    return diff == 0;
}

/* UpToDate or SWHardeningNeeded: what an OutOfDate QE/module turns into OutOfDate. */
static bool is_current(enum at_tcb_status s)
{
    switch (s) {
    case AT_TCB_UP_TO_DATE:
    case AT_TCB_SW_HARDENING_NEEDED:
        return true;
    case AT_TCB_CONFIGURATION_NEEDED:
    case AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
    case AT_TCB_OUT_OF_DATE:
    case AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
    case AT_TCB_REVOKED:
    case AT_TCB_TD_RELAUNCH_ADVISED:
    case AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED:
    case AT_TCB_NOT_SUPPORTED:
        return false;
    }
    return false;
}

/* ConfigurationNeeded or ConfigurationAndSWHardeningNeeded: these become
 * OutOfDateConfigurationNeeded. */
static bool is_current_config(enum at_tcb_status s)
{
    switch (s) {
    case AT_TCB_CONFIGURATION_NEEDED:
    case AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
        return true;
    case AT_TCB_UP_TO_DATE:
    case AT_TCB_SW_HARDENING_NEEDED:
    case AT_TCB_OUT_OF_DATE:
    case AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
    case AT_TCB_REVOKED:
    case AT_TCB_TD_RELAUNCH_ADVISED:
    case AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED:
    case AT_TCB_NOT_SUPPORTED:
        return false;
    }
    return false;
}

/* QVL isConfigurationNeeded (TD relaunch rule): the status names a configuration change. */
static bool needs_config(enum at_tcb_status s)
{
    switch (s) {
    case AT_TCB_CONFIGURATION_NEEDED:
    case AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
    case AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
    case AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED:
        return true;
    case AT_TCB_UP_TO_DATE:
    case AT_TCB_SW_HARDENING_NEEDED:
    case AT_TCB_OUT_OF_DATE:
    case AT_TCB_REVOKED:
    case AT_TCB_TD_RELAUNCH_ADVISED:
    case AT_TCB_NOT_SUPPORTED:
        return false;
    }
    return false;
}

/*
 * §1.10 "Converge platform with module status" and "Converge with QE status":
 * an OutOfDate component pulls a current platform down to OutOfDate (keeping
 * ConfigurationNeeded), a Revoked one revokes; anything else keeps the platform
 * status. Not-supported for the QE is handled by the caller.
 */
static enum at_tcb_status converge(enum at_tcb_status platform, enum at_tcb_status other)
{
    if (other == AT_TCB_OUT_OF_DATE) {
        if (is_current(platform)) {
            return AT_TCB_OUT_OF_DATE;
        }
        if (is_current_config(platform)) {
            return AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
        }
    }
    if (other == AT_TCB_REVOKED) {
        return AT_TCB_REVOKED;
    }
    return platform;
}

static enum at_tcb_status converge_qe(enum at_tcb_status platform, enum at_tcb_status qe)
{
    return qe == AT_TCB_NOT_SUPPORTED ? AT_TCB_NOT_SUPPORTED : converge(platform, qe);
}

/* First identity level (descending) with isvsvn <= svn (§1.9 step 8, §1.10 module TCB). */
static const struct at_tcb_level *first_isv_level(const struct at_tcb_level *levels, size_t n,
                                                  uint16_t svn)
{
    for (size_t i = 0; i < n; i++) {
        if (levels[i].isvsvn <= svn) {
            return &levels[i];
        }
    }
    return NULL;
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* tdxModuleIdentities entry with id "TDX_%02X" of `major`, compared case-insensitively. */
static const struct at_tdx_module_identity *find_module_id(const struct at_tcb_info *ti,
                                                           uint8_t major)
{
    char want[8];
    snprintf(want, sizeof(want), "TDX_%02X", (unsigned)major);
    for (size_t i = 0; i < ti->n_module_ids; i++) {
        const char *id = ti->module_ids[i].id;
        size_t k = 0;
        while (k < sizeof(want) && upper(id[k]) == want[k] && want[k] != '\0') {
            k++;
        }
        if (k < sizeof(want) && want[k] == '\0' && id[k] == '\0') {
            return &ti->module_ids[i];
        }
    }
    return NULL;
}

/*
 * §1.9 step 8: (MISCSELECT & mask) == miscselect, (ATTRIBUTES & mask) == attributes,
 * MRSIGNER and ISVPRODID equal. A mismatch means a foreign or debug QE certified
 * the attestation key: hard fail.
 */
static at_status qe_identity_match(const struct at_qe_identity *qe, const uint8_t *r,
                                   struct at_err *e)
{
    AT_ENSURE(masked_equal(r + QE_REPORT_MISCSELECT, qe->miscselect_mask, qe->miscselect, 4), e,
              AT_E_IDENTITY, "qe_identity_match", "QE MISCSELECT does not match the QE identity");
    AT_ENSURE(masked_equal(r + QE_REPORT_ATTRIBUTES, qe->attributes_mask, qe->attributes, 16), e,
              AT_E_IDENTITY, "qe_identity_match", "QE ATTRIBUTES do not match the QE identity");
    AT_ENSURE(memcmp(r + QE_REPORT_MRSIGNER, qe->mrsigner, 32) == 0, e, AT_E_IDENTITY,
              "qe_identity_match", "QE MRSIGNER does not match the QE identity");
    AT_ENSURE(le16(r + QE_REPORT_ISVPRODID) == qe->isvprodid, e, AT_E_IDENTITY, "qe_identity_match",
              "QE ISVPRODID %u does not match the QE identity (%u)",
              (unsigned)le16(r + QE_REPORT_ISVPRODID), (unsigned)qe->isvprodid);
    return at_ok();
}

/*
 * §1.9 step 10: maj = TEE_TCB_SVN[1]; for quote version >= 4 and maj > 0 the
 * module identity "TDX_<maj>" applies (missing: mismatch), else tdxModule.
 * MRSIGNERSEAM must equal mrsigner and (SEAMATTRIBUTES & mask) == attributes.
 * *mid is the identity used for the module TCB (§1.10), NULL for tdxModule.
 */
static at_status module_identity_match(const struct at_tcb_info *ti,
                                       const struct at_tcb_eval_input *in,
                                       const struct at_tdx_module_identity **mid, struct at_err *e)
{
    const uint8_t maj = in->tee_tcb_svn[1];
    const uint8_t *mrsigner, *attributes, *mask;
    const struct at_tdx_module_identity *m = NULL;
    if (in->quote_version >= 4 && maj > 0) {
        m = find_module_id(ti, maj);
        AT_ENSURE(m != NULL, e, AT_E_IDENTITY, "tdx_module_identity",
                  "TDX module mismatch: no module identity TDX_%02X in the TCB info",
                  (unsigned)maj);
        mrsigner = m->mrsigner;
        attributes = m->attributes;
        mask = m->attributes_mask;
    } else {
        AT_ENSURE(ti->has_tdx_module, e, AT_E_IDENTITY, "tdx_module_identity",
                  "TDX module mismatch: the TCB info has no tdxModule");
        mrsigner = ti->module_mrsigner;
        attributes = ti->module_attributes;
        mask = ti->module_attributes_mask;
    }
    AT_ENSURE(memcmp(in->mrsignerseam, mrsigner, 48) == 0, e, AT_E_IDENTITY, "tdx_module_identity",
              "TDX module mismatch: MRSIGNERSEAM differs");
    AT_ENSURE(masked_equal(in->seam_attributes, mask, attributes, 8), e, AT_E_IDENTITY,
              "tdx_module_identity", "TDX module mismatch: SEAMATTRIBUTES differ");
    *mid = m;
    return at_ok();
}

/* §1.10 SGX level: C[i] >= L.sgx[i] for all 16 components and P >= L.pcesvn. */
static bool sgx_level_ok(const struct at_tcb_level *l, const struct at_pck_ext *pck)
{
    for (size_t i = 0; i < 16; i++) {
        if (pck->comp_svn[i] < l->sgx[i]) {
            return false; /* one lower component disqualifies the level */
        }
    }
    return pck->pcesvn >= l->pcesvn;
}

/* §1.10 TDX level: S[i] >= L.tdx[i] for i in start..15, start = 2 if S[1] > 0 else 0. */
static bool tdx_level_ok(const struct at_tcb_level *l, const uint8_t s[16])
{
    if (!l->has_tdx) {
        return false;
    }
    for (size_t i = s[1] > 0 ? 2 : 0; i < 16; i++) {
        if (s[i] < l->tdx[i]) {
            return false;
        }
    }
    return true;
}

/*
 * §1.10 TD relaunch rule (QVL checkForRelaunch; TD report 1.5 only). `tdx` is the
 * TDX status after module convergence; *status is replaced when relaunch is advised.
 */
static at_status td_relaunch(const struct at_tcb_info *ti, const struct at_tcb_eval_input *in,
                             const struct at_tcb_eval_result *r, enum at_tcb_status *status,
                             struct at_err *e)
{
    const uint8_t *s2 = in->tee_tcb_svn2;
    if (r->qe_status == AT_TCB_OUT_OF_DATE || r->qe_status == AT_TCB_REVOKED ||
        r->qe_status == AT_TCB_NOT_SUPPORTED) {
        return at_ok();
    }
    if (!is_current(r->sgx_status) && !is_current_config(r->sgx_status)) {
        return at_ok();
    }
    if (*status != AT_TCB_OUT_OF_DATE && *status != AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) {
        return at_ok();
    }
    if (r->module_status != AT_TCB_OUT_OF_DATE || ti->n_levels == 0) {
        return at_ok();
    }
    const struct at_tcb_level *latest = &ti->levels[0];
    bool advised;
    if (s2[1] == 0) {
        advised = s2[0] >= latest->tdx[0] && s2[2] >= latest->tdx[2];
    } else {
        const struct at_tdx_module_identity *m2 = find_module_id(ti, s2[1]);
        AT_ENSURE(m2 != NULL, e, AT_E_IDENTITY, "tdx_module_identity",
                  "TDX module mismatch: no module identity TDX_%02X for TEE_TCB_SVN2",
                  (unsigned)s2[1]);
        if (m2->n_levels == 0) {
            *status = AT_TCB_NOT_SUPPORTED;
            return at_ok();
        }
        advised = s2[0] >= m2->levels[0].isvsvn && s2[2] >= latest->tdx[2];
    }
    if (advised) {
        *status = needs_config(r->sgx_status) || needs_config(*status)
                      ? AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
                      : AT_TCB_TD_RELAUNCH_ADVISED;
    }
    return at_ok();
}

/* Append the level's advisory IDs that are not in the list yet (order kept). */
static at_status add_advisories(struct at_tcb_eval_result *r, size_t cap,
                                const struct at_tcb_level *l, struct at_err *e)
{
    for (size_t i = 0; l != NULL && i < l->n_advisories; i++) {
        const char *id = l->advisories[i];
        bool seen = false;
        for (size_t k = 0; k < r->n_advisories && !seen; k++) {
            seen = strcmp(r->advisories[k], id) == 0;
        }
        if (seen) {
            continue;
        }
        at_assert(r->n_advisories < cap);
        size_t n = strlen(id);
        char *copy = malloc(n + 1);
        AT_ENSURE(copy != NULL, e, AT_E_NOMEM, "tcb_advisories", "out of memory");
        memcpy(copy, id, n + 1);
        r->advisories[r->n_advisories++] = copy;
    }
    return at_ok();
}

/* De-duplicated union: matched platform level, then QE level, then module level. */
static at_status collect_advisories(struct at_tcb_eval_result *r, const struct at_tcb_level *pl,
                                    const struct at_tcb_level *ql, const struct at_tcb_level *ml,
                                    struct at_err *e)
{
    size_t cap = (pl != NULL ? pl->n_advisories : 0) + (ql != NULL ? ql->n_advisories : 0) +
                 (ml != NULL ? ml->n_advisories : 0);
    if (cap == 0) {
        return at_ok();
    }
    r->advisories = calloc(cap, sizeof(char *));
    AT_ENSURE(r->advisories != NULL, e, AT_E_NOMEM, "tcb_advisories", "out of memory");
    AT_TRY(add_advisories(r, cap, pl, e));
    AT_TRY(add_advisories(r, cap, ql, e));
    return add_advisories(r, cap, ml, e);
}

static at_status evaluate(const struct at_tcb_info *ti, const struct at_qe_identity *qe,
                          const struct at_tcb_eval_input *in, struct at_tcb_eval_result *out,
                          struct at_err *e)
{
    /* The caller checked these (§1.9 steps 4, 5); re-check so a mix-up fails closed. */
    AT_ENSURE(ti->is_tdx == in->is_tdx, e, AT_E_MISMATCH, "tcb_info_type_match",
              "TCB info is for %s but the quote is %s", ti->is_tdx ? "TDX" : "SGX",
              in->is_tdx ? "TDX" : "SGX");
    AT_ENSURE(qe->id == (in->is_tdx ? AT_QEID_TD_QE : AT_QEID_QE), e, AT_E_MISMATCH,
              "qe_identity_type_match", "QE identity id does not match the quote's TEE");

    /* §1.9 step 8: QE identity, then the first QE level with isvsvn <= QE ISVSVN. */
    AT_TRY(qe_identity_match(qe, in->qe_report, e));
    const struct at_tcb_level *ql =
        first_isv_level(qe->levels, qe->n_levels, le16(in->qe_report + QE_REPORT_ISVSVN));
    out->qe_status = ql != NULL ? ql->status : AT_TCB_NOT_SUPPORTED;

    /* §1.9 step 10: TDX module identity. */
    const struct at_tdx_module_identity *mid = NULL;
    if (in->is_tdx) {
        AT_TRY(module_identity_match(ti, in, &mid, e));
    }

    /*
     * §1.10 level matching, in document (descending) order. For a TD the SGX
     * level is the first one the PCK components reach; the TDX level is the
     * first one that also passes the TEE_TCB_SVN comparison.
     */
    const struct at_tcb_level *sl = NULL, *tl = NULL;
    for (size_t i = 0; i < ti->n_levels && tl == NULL; i++) {
        const struct at_tcb_level *l = &ti->levels[i];
        if (!sgx_level_ok(l, in->pck)) {
            continue;
        }
        if (sl == NULL) {
            sl = l;
        }
        if (!in->is_tdx) {
            break;
        }
        if (tdx_level_ok(l, in->tee_tcb_svn)) {
            tl = l;
        }
    }
    const struct at_tcb_level *pl = in->is_tdx ? tl : sl;
    out->sgx_status = sl != NULL ? sl->status : AT_TCB_NOT_SUPPORTED;
    out->tdx_status = in->is_tdx && tl != NULL ? tl->status : AT_TCB_NOT_SUPPORTED;
    out->tcb_date = pl != NULL ? pl->tcb_date : 0;

    /*
     * §1.10 TDX module TCB: first module level with isvsvn <= TEE_TCB_SVN[0]. As in
     * QVL it is evaluated only once a TDX level matched (else the result is not
     * supported anyway, and the module's advisories do not apply).
     */
    const struct at_tcb_level *ml = NULL;
    out->module_status = AT_TCB_UP_TO_DATE;
    if (mid != NULL && tl != NULL) {
        ml = first_isv_level(mid->levels, mid->n_levels, in->tee_tcb_svn[0]);
        out->module_status = ml != NULL ? ml->status : AT_TCB_NOT_SUPPORTED;
    }

    AT_TRY(collect_advisories(out, pl, ql, ml, e));

    /*
     * Convergence in QVL's order (TcbLevelCheck.cpp checkTcbLevel): no platform
     * level or no module level -> not supported; a TD converges with the module
     * first, a Revoked result stops there, then the relaunch rule; the QE status
     * is converged last (QE not supported -> not supported).
     */
    enum at_tcb_status st;
    if (pl == NULL || out->module_status == AT_TCB_NOT_SUPPORTED) {
        st = AT_TCB_NOT_SUPPORTED;
    } else if (!in->is_tdx) {
        st = converge_qe(out->sgx_status, out->qe_status);
    } else {
        st = converge(out->tdx_status, out->module_status);
        if (st != AT_TCB_REVOKED) {
            if (in->tee_tcb_svn2 != NULL) {
                AT_TRY(td_relaunch(ti, in, out, &st, e));
            }
            st = converge_qe(st, out->qe_status);
        }
    }
    out->final_status = st;

    AT_ENSURE(st != AT_TCB_NOT_SUPPORTED, e, AT_E_TCB_NOT_SUPPORTED, "tcb_level",
              "TCB not supported: %s",
              pl == NULL                                   ? "no TCB level matches the platform"
              : out->module_status == AT_TCB_NOT_SUPPORTED ? "no TDX module TCB level matches"
                                                           : "no QE TCB level matches");
    AT_ENSURE(st != AT_TCB_REVOKED, e, AT_E_REVOKED, "tcb_status", "TCB status is Revoked");
    return at_ok();
}

at_status at_tcb_evaluate(const struct at_tcb_info *ti, const struct at_qe_identity *qe,
                          const struct at_tcb_eval_input *in, struct at_tcb_eval_result *out,
                          struct at_err *e)
{
    at_assert(ti != NULL && qe != NULL && in != NULL && out != NULL);
    at_assert(in->pck != NULL && in->qe_report != NULL);
    at_assert(!in->is_tdx ||
              (in->tee_tcb_svn != NULL && in->mrsignerseam != NULL && in->seam_attributes != NULL));
    memset(out, 0, sizeof(*out));
    out->final_status = AT_TCB_NOT_SUPPORTED;
    out->sgx_status = AT_TCB_NOT_SUPPORTED;
    out->tdx_status = AT_TCB_NOT_SUPPORTED;
    out->qe_status = AT_TCB_NOT_SUPPORTED;
    out->module_status = AT_TCB_UP_TO_DATE;
    at_status s = evaluate(ti, qe, in, out, e);
    if (!at_is_ok(s) && s.code != AT_E_TCB_NOT_SUPPORTED && s.code != AT_E_REVOKED) {
        /* Identity and internal failures leave no partial result behind. */
        at_tcb_eval_result_clear(out);
        out->final_status = AT_TCB_NOT_SUPPORTED;
    }
    return s;
}

void at_tcb_eval_result_clear(struct at_tcb_eval_result *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; r->advisories != NULL && i < r->n_advisories; i++) {
        free(r->advisories[i]);
    }
    free(r->advisories);
    memset(r, 0, sizeof(*r));
}
