/*
 * Re-sealing every content column of the store under the active data key: the
 * conversion of a plaintext store on its first open with a KEK, and
 * `attestctl key rotate --reencrypt`. Runs inside the caller's write transaction.
 *
 * THE list of encrypted columns is `tables` below; the read and write paths of each
 * table build the same associated data (table, column, record id) with at_aad_text.
 */
#include "base/secure.h"
#include "store/store_crypt.h"
#include "store/store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 3
#define MAX_COLS 10

struct tdesc {
    const char *table;
    const char *keys[MAX_KEYS]; /* record id, in associated-data order */
    size_t nkeys;
    const char *cols[MAX_COLS]; /* sealed columns */
    size_t ncols;
    int index_key;          /* keys[] slot holding a blind index of cols[0], or -1 */
    const char *index_purpose;
    bool legacy_in_key;     /* plaintext store: cols[0]'s value is in keys[index_key] */
};

static const struct tdesc tables[] = {
    {"providers", {"name"}, 1, {"signing_key", "signing_cert", "allowed_networks"}, 3, -1, NULL,
     false},
    {"policies", {"provider", "type"}, 2, {"text", "jws"}, 2, -1, NULL, false},
    {"signer_certs", {"provider", "sha256"}, 2, {"der"}, 1, 1, AT_INDEX_SIGNER, false},
    {"collateral",
     {"tee", "fmspc", "ca"},
     3,
     {"pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
      "qe_identity_issuer_chain", "qe_identity", "tcb_info_sig", "qe_identity_sig",
      "pck_cert_chain"},
     10,
     -1,
     NULL,
     false},
    {"role_assignments",
     {"principal", "scope"},
     2,
     {"principal_sealed"},
     1,
     0,
     AT_INDEX_PRINCIPAL,
     true},
};

struct rowbuf {
    uint8_t *key[MAX_KEYS];
    size_t key_len[MAX_KEYS];
    uint8_t *plain[MAX_COLS]; /* NULL: the column is NULL */
    size_t plain_len[MAX_COLS];
    uint8_t *sealed[MAX_COLS];
    size_t sealed_len[MAX_COLS];
    uint8_t index[AT_CRYPT_INDEX_LEN];
};

static void rowbuf_clear(struct rowbuf *b)
{
    for (size_t i = 0; i < MAX_KEYS; i++) {
        free(b->key[i]);
    }
    for (size_t i = 0; i < MAX_COLS; i++) {
        at_free_secret(b->plain[i], b->plain_len[i]);
        free(b->sealed[i]);
    }
    memset(b, 0, sizeof(*b));
}

static void make_aad(const struct tdesc *t, size_t col, const struct rowbuf *b, bool new_index,
                     struct at_aad *a)
{
    memset(a, 0, sizeof(*a));
    a->table = t->table;
    a->column = t->cols[col];
    a->n = t->nkeys;
    for (size_t k = 0; k < t->nkeys; k++) {
        if (new_index && (int)k == t->index_key) {
            a->id[k] = b->index;
            a->id_len[k] = sizeof(b->index);
        } else {
            a->id[k] = b->key[k];
            a->id_len[k] = b->key_len[k];
        }
    }
}

/* Read the row's keys and open (or, legacy, copy) its columns. */
static at_status read_row(struct at_store *s, const struct tdesc *t, sqlite3_stmt *st,
                          bool from_plaintext, struct rowbuf *b, struct at_err *e)
{
    for (size_t k = 0; k < t->nkeys; k++) {
        AT_TRY(at_sql_column_dup(s, st, (int)k, &b->key[k], &b->key_len[k], e));
    }
    for (size_t c = 0; c < t->ncols; c++) {
        int col = (int)(t->nkeys + c);
        if (from_plaintext && t->legacy_in_key && c == 0) {
            AT_TRY(at_sql_column_dup(s, st, t->index_key, &b->plain[c], &b->plain_len[c], e));
        } else if (sqlite3_column_type(st, col) == SQLITE_NULL) {
            continue;
        } else if (from_plaintext) {
            AT_TRY(at_sql_column_dup(s, st, col, &b->plain[c], &b->plain_len[c], e));
        } else {
            struct at_aad a;
            make_aad(t, c, b, false, &a);
            AT_TRY(at_crypt_column(s, st, col, &a, &b->plain[c], &b->plain_len[c], e));
        }
    }
    return at_ok();
}

static at_status write_row(struct at_store *s, const struct tdesc *t, int64_t rowid,
                           struct rowbuf *b, struct at_err *e)
{
    if (t->index_key >= 0) {
        AT_TRY(at_crypt_index(s, t->index_purpose, b->plain[0], b->plain_len[0], b->index, e));
    }
    for (size_t c = 0; c < t->ncols; c++) {
        if (b->plain[c] != NULL) {
            struct at_aad a;
            make_aad(t, c, b, t->index_key >= 0, &a);
            AT_TRY(at_crypt_seal(s, &a, b->plain[c], b->plain_len[c], &b->sealed[c],
                                 &b->sealed_len[c], e));
        }
    }
    char sql[512];
    size_t off = (size_t)snprintf(sql, sizeof(sql), "UPDATE %s SET ", t->table);
    for (size_t c = 0; c < t->ncols; c++) {
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s%s = ?%zu", c > 0 ? ", " : "",
                                t->cols[c], c + 1);
    }
    if (t->index_key >= 0) {
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, ", %s = ?%zu",
                                t->keys[t->index_key], t->ncols + 1);
    }
    snprintf(sql + off, sizeof(sql) - off, " WHERE rowid = ?%zu", t->ncols + 2);
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, sql, &st, e));
    at_status r = at_ok();
    for (size_t c = 0; c < t->ncols && at_is_ok(r); c++) {
        r = b->sealed[c] != NULL
                ? at_sql_bind_blob(s, st, (int)c + 1, b->sealed[c], b->sealed_len[c], e)
                : (sqlite3_bind_null(st, (int)c + 1) == SQLITE_OK ? at_ok()
                                                                  : at_sql_err(s, e, "bind"));
    }
    if (at_is_ok(r) && t->index_key >= 0) {
        r = at_sql_bind_blob(s, st, (int)t->ncols + 1, b->index, sizeof(b->index), e);
    }
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, (int)t->ncols + 2, rowid, e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "re-seal", e);
    }
    sqlite3_finalize(st);
    return r;
}

static at_status reseal_one(struct at_store *s, const struct tdesc *t, int64_t rowid,
                            bool from_plaintext, struct at_err *e)
{
    char sql[512];
    size_t off = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
    for (size_t k = 0; k < t->nkeys; k++) {
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s, ", t->keys[k]);
    }
    for (size_t c = 0; c < t->ncols; c++) {
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s%s", c > 0 ? ", " : "",
                                t->cols[c]);
    }
    snprintf(sql + off, sizeof(sql) - off, " FROM %s WHERE rowid = ?", t->table);
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, sql, &st, e));
    struct rowbuf b;
    memset(&b, 0, sizeof(b));
    at_status r = at_sql_bind_int(s, st, 1, rowid, e);
    if (at_is_ok(r)) {
        r = sqlite3_step(st) == SQLITE_ROW ? read_row(s, t, st, from_plaintext, &b, e)
                                           : at_sql_err(s, e, "re-seal read");
    }
    sqlite3_finalize(st);
    if (at_is_ok(r)) {
        r = write_row(s, t, rowid, &b, e);
    }
    rowbuf_clear(&b);
    return r;
}

static at_status reseal_table(struct at_store *s, const struct tdesc *t, bool from_plaintext,
                              struct at_err *e)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT rowid FROM %s ORDER BY rowid", t->table);
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, sql, &st, e));
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    at_status r = at_ok();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 64 : cap * 2;
            int64_t *nv = realloc(ids, ncap * sizeof(*nv));
            if (nv == NULL) {
                r = at_sql_nomem(e);
                break;
            }
            ids = nv;
            cap = ncap;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    if (at_is_ok(r) && rc != SQLITE_DONE) {
        r = at_sql_err(s, e, "re-seal list");
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < n && at_is_ok(r); i++) {
        r = reseal_one(s, t, ids[i], from_plaintext, e);
    }
    free(ids);
    return r;
}

at_status at_crypt_reseal_all(struct at_store *s, bool from_plaintext, struct at_err *e)
{
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        AT_TRY(reseal_table(s, &tables[i], from_plaintext, e));
    }
    return at_ok();
}
