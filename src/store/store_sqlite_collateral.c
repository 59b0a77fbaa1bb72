/*
 * The SQLite store: DCAP collateral keyed by (tee, FMSPC, PCK CA). The bundle's
 * digest is stored with it and recomputed on every read, so a row altered outside
 * the store is refused (AT_E_IO) rather than fed to the verifier.
 */
#include "base/limits.h"
#include "base/timeutil.h"
#include "crypto/digest.h"
#include "store/store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct collateral_args {
    const char *tee;
    const uint8_t *fmspc;
    const char *ca;
    const struct at_dcap_collateral *c;
    uint8_t digest[AT_SHA256_LEN];
};

/* The variable-length pieces in column order (after tee, fmspc, ca). */
#define N_PIECES 7
#define N_SEALED 10 /* the pieces, tcb_info_sig, qe_identity_sig, pck_cert_chain */

static at_status collateral_write(struct at_store *s, const struct collateral_args *a,
                                  uint8_t *const sealed[N_SEALED], const size_t sl[N_SEALED],
                                  struct at_err *e);

static void pieces(const struct at_dcap_collateral *c, const uint8_t *p[N_SEALED],
                   size_t n[N_SEALED])
{
    p[0] = c->pck_crl_issuer_chain;
    n[0] = c->pck_crl_issuer_chain_len;
    p[1] = c->root_ca_crl;
    n[1] = c->root_ca_crl_len;
    p[2] = c->pck_crl;
    n[2] = c->pck_crl_len;
    p[3] = c->tcb_info_issuer_chain;
    n[3] = c->tcb_info_issuer_chain_len;
    p[4] = c->tcb_info;
    n[4] = c->tcb_info_len;
    p[5] = c->qe_identity_issuer_chain;
    n[5] = c->qe_identity_issuer_chain_len;
    p[6] = c->qe_identity;
    n[6] = c->qe_identity_len;
}

/* Column names of the sealed pieces, in column order (pieces, then the signatures and chain). */
static const char *const sealed_cols[N_SEALED] = {
    "pck_crl_issuer_chain",     "root_ca_crl", "pck_crl",         "tcb_info_issuer_chain",
    "tcb_info",                 "qe_identity_issuer_chain",       "qe_identity",
    "tcb_info_sig",             "qe_identity_sig",                "pck_cert_chain"};

static void collateral_aad(struct at_aad *aad, const char *tee, const uint8_t *fmspc,
                           const char *ca, int col)
{
    at_aad_text(aad, "collateral", sealed_cols[col], tee, NULL, NULL);
    aad->id[1] = fmspc;
    aad->id_len[1] = 6;
    aad->id[2] = ca;
    aad->id_len[2] = strlen(ca);
    aad->n = 3;
}

static at_status collateral_upsert(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct collateral_args *a = arg;
    const struct at_dcap_collateral *c = a->c;
    const uint8_t *p[N_SEALED];
    size_t n[N_SEALED];
    pieces(c, p, n);
    p[7] = c->tcb_info_sig;
    n[7] = 64;
    p[8] = c->qe_identity_sig;
    n[8] = 64;
    p[9] = c->pck_cert_chain != NULL && c->pck_cert_chain_len > 0 ? c->pck_cert_chain : NULL;
    n[9] = c->pck_cert_chain_len;
    uint8_t *sealed[N_SEALED] = {NULL};
    size_t sl[N_SEALED] = {0};
    at_status r = at_ok();
    for (int i = 0; i < N_SEALED && at_is_ok(r); i++) {
        struct at_aad aad;
        collateral_aad(&aad, a->tee, a->fmspc, a->ca, i);
        if (p[i] != NULL) {
            r = at_crypt_seal(s, &aad, p[i], n[i], &sealed[i], &sl[i], e);
        }
    }
    if (at_is_ok(r)) {
        r = collateral_write(s, a, sealed, sl, e);
    }
    for (int i = 0; i < N_SEALED; i++) {
        free(sealed[i]);
    }
    return r;
}

static at_status collateral_write(struct at_store *s, const struct collateral_args *a,
                                  uint8_t *const sealed[N_SEALED], const size_t sl[N_SEALED],
                                  struct at_err *e)
{
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s,
                       "INSERT OR REPLACE INTO collateral(tee, fmspc, ca, pck_crl_issuer_chain,"
                       " root_ca_crl, pck_crl, tcb_info_issuer_chain, tcb_info,"
                       " qe_identity_issuer_chain, qe_identity, tcb_info_sig, qe_identity_sig,"
                       " pck_cert_chain, digest, updated_at)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       &st, e));
    at_status r = at_sql_bind_text(s, st, 1, a->tee, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 2, a->fmspc, 6, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 3, a->ca, e);
    }
    /* Columns 4..13 in sealed_cols order (the statement lists them that way). */
    for (int i = 0; i < N_SEALED && at_is_ok(r); i++) {
        r = sealed[i] != NULL
                ? at_sql_bind_blob(s, st, 4 + i, sealed[i], sl[i], e)
                : (sqlite3_bind_null(st, 4 + i) == SQLITE_OK ? at_ok() : at_sql_err(s, e, "bind"));
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 14, a->digest, sizeof(a->digest), e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 15, at_time_now(), e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "store collateral", e);
    }
    sqlite3_finalize(st);
    return r;
}

static at_status check_collateral_key(const char *tee, const uint8_t *fmspc, const char *ca,
                                      struct at_err *e)
{
    AT_ENSURE(tee != NULL && (strcmp(tee, "sgx") == 0 || strcmp(tee, "tdx") == 0), e,
              AT_E_BAD_VALUE, "collateral", "tee must be \"sgx\" or \"tdx\"");
    AT_ENSURE(ca != NULL && (strcmp(ca, "platform") == 0 || strcmp(ca, "processor") == 0), e,
              AT_E_BAD_VALUE, "collateral", "ca must be \"platform\" or \"processor\"");
    AT_ENSURE(fmspc != NULL, e, AT_E_BAD_VALUE, "collateral", "no FMSPC");
    return at_ok();
}

at_status at_store_collateral_put(struct at_store *s, const char *tee, const uint8_t fmspc[6],
                                  const char *ca, const struct at_dcap_collateral *c,
                                  struct at_err *e)
{
    AT_TRY(check_collateral_key(tee, fmspc, ca, e));
    const uint8_t *p[N_SEALED];
    size_t n[N_SEALED];
    pieces(c, p, n);
    for (int i = 0; i < N_PIECES; i++) {
        AT_ENSURE(p[i] != NULL && n[i] > 0, e, AT_E_BAD_VALUE, "collateral",
                  "collateral bundle is incomplete");
        AT_ENSURE(n[i] <= (size_t)AT_LIMIT_COLLATERAL_BYTES, e, AT_E_LIMIT, "collateral",
                  "collateral piece too large");
    }
    AT_ENSURE(c->pck_cert_chain_len <= (size_t)AT_LIMIT_COLLATERAL_BYTES, e, AT_E_LIMIT,
              "collateral", "collateral piece too large");
    /* Seal a shallow copy: the digest is stored and checked again on every read. */
    struct at_dcap_collateral tmp = *c;
    if (at_dcap_collateral_seal(&tmp) != 0) {
        return at_sql_nomem(e);
    }
    struct collateral_args a = {tee, fmspc, ca, c, {0}};
    memcpy(a.digest, tmp.digest, sizeof(a.digest));
    return at_sql_write_tx(s, collateral_upsert, &a, e);
}

/* Open sealed column i (sealed_cols order) of the row into a heap buffer. */
static at_status open_col(struct at_store *s, sqlite3_stmt *st, const struct collateral_args *a,
                          int i, uint8_t **out, size_t *len, struct at_err *e)
{
    struct at_aad aad;
    collateral_aad(&aad, a->tee, a->fmspc, a->ca, i);
    return at_crypt_column(s, st, i, &aad, out, len, e);
}

/* Open a 64-byte signature column into dst. */
static at_status open_sig(struct at_store *s, sqlite3_stmt *st, const struct collateral_args *a,
                          int i, uint8_t dst[64], struct at_err *e)
{
    uint8_t *b = NULL;
    size_t n = 0;
    AT_TRY(open_col(s, st, a, i, &b, &n, e));
    bool ok = n == 64;
    if (ok) {
        memcpy(dst, b, 64);
    }
    free(b);
    AT_ENSURE(ok, e, AT_E_IO, "store", "store: collateral row is malformed");
    return at_ok();
}

static at_status collateral_row(struct at_store *s, sqlite3_stmt *st,
                                const struct collateral_args *a, struct at_dcap_collateral *c,
                                struct at_err *e)
{
    uint8_t **dst[N_PIECES] = {&c->pck_crl_issuer_chain,
                               &c->root_ca_crl,
                               &c->pck_crl,
                               &c->tcb_info_issuer_chain,
                               &c->tcb_info,
                               &c->qe_identity_issuer_chain,
                               &c->qe_identity};
    size_t *dlen[N_PIECES] = {&c->pck_crl_issuer_chain_len,
                              &c->root_ca_crl_len,
                              &c->pck_crl_len,
                              &c->tcb_info_issuer_chain_len,
                              &c->tcb_info_len,
                              &c->qe_identity_issuer_chain_len,
                              &c->qe_identity_len};
    for (int i = 0; i < N_PIECES; i++) {
        AT_TRY(open_col(s, st, a, i, dst[i], dlen[i], e));
    }
    AT_ENSURE(sqlite3_column_bytes(st, 10) == 32, e, AT_E_IO, "store",
              "store: collateral row is malformed");
    AT_TRY(open_sig(s, st, a, 7, c->tcb_info_sig, e));
    AT_TRY(open_sig(s, st, a, 8, c->qe_identity_sig, e));
    if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
        AT_TRY(open_col(s, st, a, 9, &c->pck_cert_chain, &c->pck_cert_chain_len, e));
    }
    if (at_dcap_collateral_seal(c) != 0) {
        return at_sql_nomem(e);
    }
    AT_ENSURE(memcmp(c->digest, sqlite3_column_blob(st, 10), 32) == 0, e, AT_E_IO, "store",
              "store: stored collateral does not match its digest");
    return at_ok();
}

at_status at_store_collateral_get(struct at_store *s, const char *tee, const uint8_t fmspc[6],
                                  const char *ca, struct at_dcap_collateral *out, struct at_err *e)
{
    AT_TRY(check_collateral_key(tee, fmspc, ca, e));
    struct at_dcap_collateral c;
    memset(&c, 0, sizeof(c));
    at_sql_lock(s);
    sqlite3_stmt *st;
    at_status r =
        at_sql_prep(s,
                    "SELECT pck_crl_issuer_chain, root_ca_crl, pck_crl, tcb_info_issuer_chain,"
                    " tcb_info, qe_identity_issuer_chain, qe_identity, tcb_info_sig,"
                    " qe_identity_sig, pck_cert_chain, digest FROM collateral"
                    " WHERE tee = ? AND fmspc = ? AND ca = ?",
                    &st, e);
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 1, tee, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_blob(s, st, 2, fmspc, 6, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_text(s, st, 3, ca, e);
    }
    if (at_is_ok(r)) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            struct collateral_args a = {tee, fmspc, ca, NULL, {0}};
            r = collateral_row(s, st, &a, &c, e);
        } else if (rc == SQLITE_DONE) {
            r = at_fail_(e, AT_E_NOT_FOUND, "collateral", __FILE__, __LINE__,
                         "no %s collateral stored for FMSPC %02x%02x%02x%02x%02x%02x (%s CA)", tee,
                         fmspc[0], fmspc[1], fmspc[2], fmspc[3], fmspc[4], fmspc[5], ca);
        } else {
            r = at_sql_err(s, e, "read collateral");
        }
    }
    sqlite3_finalize(st);
    at_sql_unlock(s);
    if (!at_is_ok(r)) {
        at_dcap_collateral_clear(&c);
        return r;
    }
    *out = c;
    return at_ok();
}
