/*
 * Collateral expiry per (tee, FMSPC, PCK CA): the earliest nextUpdate among the stored
 * TCB info, QE identity, root CA CRL and PCK CRL, parsed by the same code the verifier
 * uses. Feeds attestd_collateral_next_update_timestamp_seconds and the
 * collateral_expiry alert.
 */
#include "crypto/x509.h"
#include "evidence/tcb_info.h"
#include "monitor/metrics.h"
#include "store/store.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void earliest(int64_t *acc, int64_t t)
{
    if (t > 0 && (*acc == 0 || t < *acc)) {
        *acc = t;
    }
}

static void crl_next(const uint8_t *p, size_t n, int64_t *acc)
{
    struct at_err e;
    at_err_init(&e);
    X509_CRL *crl = NULL;
    int64_t this_update = 0, next_update = 0;
    if (p != NULL && at_is_ok(at_crl_parse(p, n, &crl, "crl", &e)) &&
        at_is_ok(at_crl_validity(crl, &this_update, &next_update, &e))) {
        earliest(acc, next_update);
    }
    X509_CRL_free(crl);
}

/* 0 when nothing in the bundle carries a usable nextUpdate. */
static int64_t bundle_next_update(const struct at_dcap_collateral *c)
{
    int64_t acc = 0;
    struct at_err e;
    at_err_init(&e);
    struct at_tcb_info ti;
    memset(&ti, 0, sizeof(ti));
    if (at_is_ok(at_tcb_info_parse(c->tcb_info, c->tcb_info_len, &ti, &e))) {
        earliest(&acc, ti.next_update);
    }
    at_tcb_info_clear(&ti);
    at_err_init(&e);
    struct at_qe_identity qi;
    memset(&qi, 0, sizeof(qi));
    if (at_is_ok(at_qe_identity_parse(c->qe_identity, c->qe_identity_len, &qi, &e))) {
        earliest(&acc, qi.next_update);
    }
    at_qe_identity_clear(&qi);
    crl_next(c->root_ca_crl, c->root_ca_crl_len, &acc);
    crl_next(c->pck_crl, c->pck_crl_len, &acc);
    return acc;
}

at_status at_collateral_expiry_list(struct at_store *s, struct at_collateral_expiry **out,
                                    size_t *count, struct at_err *e)
{
    *out = NULL;
    *count = 0;
    struct at_collateral_key *keys = NULL;
    size_t nk = 0;
    AT_TRY(at_store_collateral_list(s, &keys, &nk, e));
    struct at_collateral_expiry *items = nk > 0 ? calloc(nk, sizeof(*items)) : NULL;
    if (nk > 0 && items == NULL) {
        free(keys);
        AT_FAIL(e, AT_E_NOMEM, "collateral_expiry", "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < nk; i++) {
        struct at_dcap_collateral c;
        memset(&c, 0, sizeof(c));
        struct at_err ge;
        at_err_init(&ge);
        /* A bundle that fails its digest check is left out (the verifier refuses it too). */
        if (at_is_ok(at_store_collateral_get(s, keys[i].tee, keys[i].fmspc, keys[i].ca, &c, &ge))) {
            int64_t t = bundle_next_update(&c);
            if (t > 0) {
                struct at_collateral_expiry *it = &items[n++];
                snprintf(it->tee, sizeof(it->tee), "%s", keys[i].tee);
                snprintf(it->ca, sizeof(it->ca), "%s", keys[i].ca);
                const uint8_t *f = keys[i].fmspc;
                snprintf(it->fmspc, sizeof(it->fmspc), "%02x%02x%02x%02x%02x%02x", f[0], f[1],
                         f[2], f[3], f[4], f[5]);
                it->next_update = t;
            }
        }
        at_dcap_collateral_clear(&c);
    }
    free(keys);
    *out = items;
    *count = n;
    return at_ok();
}
