/*
 * Envelope encryption of the store (store_crypt.h): the keyring, sealing and opening
 * of content columns (AES-256-GCM, OpenSSL EVP), blind indexes (HMAC-SHA256 under an
 * HKDF-derived index key), key rotation and key status (store.h).
 */
#include "store/store_crypt.h"

#include "base/secure.h"
#include "base/timeutil.h"
#include "store/store_sqlite_int.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_VERSION 0xA1
#define NONCE_LEN    12
#define TAG_LEN      16
#define HDR_LEN      (1 + 4 + NONCE_LEN)
#define MAX_DEKS     64

static const char aad_magic[] = "attestd-seal-v1";

void at_aad_text(struct at_aad *a, const char *table, const char *column, const char *p1,
                 const char *p2, const char *p3)
{
    memset(a, 0, sizeof(*a));
    a->table = table;
    a->column = column;
    const char *p[3] = {p1, p2, p3};
    for (size_t i = 0; i < 3 && p[i] != NULL; i++) {
        a->id[i] = p[i];
        a->id_len[i] = strlen(p[i]);
        a->n = i + 1;
    }
}

/* ------------------------------------------------------------- primitives */

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* AAD = magic | header | len-prefixed table, column, id parts. */
static int gcm_aad(EVP_CIPHER_CTX *ctx, const uint8_t *hdr, const struct at_aad *a)
{
    int n = 0;
    uint8_t len[4];
    if (EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad_magic, sizeof(aad_magic)) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &n, hdr, 5) != 1) {
        return 0;
    }
    const void *parts[5] = {a->table, a->column, a->id[0], a->id[1], a->id[2]};
    size_t lens[5] = {strlen(a->table), strlen(a->column), a->id_len[0], a->id_len[1],
                      a->id_len[2]};
    for (size_t i = 0; i < 2 + a->n; i++) {
        put_u32(len, (uint32_t)lens[i]);
        if (EVP_CipherUpdate(ctx, NULL, &n, len, 4) != 1 ||
            (lens[i] > 0 && EVP_CipherUpdate(ctx, NULL, &n, parts[i], (int)lens[i]) != 1)) {
            return 0;
        }
    }
    return 1;
}

/* out = hdr(id, fresh nonce) | ct | tag; out has len + AT_CRYPT_OVERHEAD bytes. */
static bool gcm_seal(const uint8_t key[32], uint32_t id, const struct at_aad *a, const uint8_t *in,
                     size_t len, uint8_t *out)
{
    out[0] = SEAL_VERSION;
    put_u32(out + 1, id);
    if (RAND_bytes(out + 5, NONCE_LEN) != 1 || len > INT32_MAX) {
        return false;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    bool ok = ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out + 5) == 1 &&
              gcm_aad(ctx, out, a) == 1 &&
              (len == 0 || EVP_EncryptUpdate(ctx, out + HDR_LEN, &n, in, (int)len) == 1) &&
              EVP_EncryptFinal_ex(ctx, out + HDR_LEN + n, &f) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + HDR_LEN + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* in is a whole sealed value (len >= AT_CRYPT_OVERHEAD); out has len - overhead + 1 bytes. */
static bool gcm_open(const uint8_t key[32], const struct at_aad *a, const uint8_t *in, size_t len,
                     uint8_t *out)
{
    size_t ct_len = len - AT_CRYPT_OVERHEAD;
    if (ct_len > INT32_MAX) {
        return false;
    }
    uint8_t tag[TAG_LEN];
    memcpy(tag, in + len - TAG_LEN, TAG_LEN);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    bool ok = ctx != NULL && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, in + 5) == 1 &&
              gcm_aad(ctx, in, a) == 1 &&
              (ct_len == 0 ||
               EVP_DecryptUpdate(ctx, out, &n, in + HDR_LEN, (int)ct_len) == 1) &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
              EVP_DecryptFinal_ex(ctx, out + n, &f) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        at_zeroize(out, ct_len);
    }
    return ok;
}

static bool derive_index_key(struct at_dek *d)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (kctx == NULL) {
        return false;
    }
    char digest[] = "SHA256";
    char info[] = "attestd blind index key v1";
    char salt[] = "attestd-store";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, d->key, sizeof(d->key)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, strlen(salt)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    bool ok = EVP_KDF_derive(kctx, d->index_key, sizeof(d->index_key), params) == 1;
    EVP_KDF_CTX_free(kctx);
    return ok;
}

/* ---------------------------------------------------------------- keyring */

static struct at_aad keyring_aad(uint32_t id, uint8_t idbuf[4])
{
    put_u32(idbuf, id);
    struct at_aad a = {"keyring", "wrapped", {idbuf, NULL, NULL}, {4, 0, 0}, 1};
    return a;
}

static void free_deks(struct at_dek *d, size_t n)
{
    if (d != NULL) {
        at_free_secret(d, n * sizeof(*d));
    }
}

void at_crypt_free(struct at_crypt *c)
{
    free_deks(c->deks, MAX_DEKS);
    at_kek_clear(&c->kek);
    memset(c, 0, sizeof(*c));
}

static const struct at_dek *find_dek(const struct at_crypt *c, uint32_t id)
{
    for (size_t i = 0; i < c->n_deks; i++) {
        if (c->deks[i].id == id) {
            return &c->deks[i];
        }
    }
    return NULL;
}

static at_status wrong_kek(struct at_err *e)
{
    AT_FAIL(e, AT_E_CRYPTO, "kek_wrong",
            "the key-encryption key does not open this store's data key (wrong key?)");
}

/* Read and unwrap every keyring row with kek. */
static at_status load_keyring(struct at_store *s, const uint8_t kek[AT_KEK_LEN],
                              struct at_dek **out, size_t *n_out, uint32_t *active,
                              struct at_err *e)
{
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s, "SELECT id, wrapped, state FROM keyring ORDER BY id", &st, e));
    struct at_dek *v = calloc(MAX_DEKS, sizeof(*v));
    size_t n = 0;
    *active = 0;
    at_status r = v != NULL ? at_ok() : at_sql_nomem(e);
    int rc = SQLITE_DONE;
    while (at_is_ok(r) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const uint8_t *w = sqlite3_column_blob(st, 1);
        size_t wl = (size_t)sqlite3_column_bytes(st, 1);
        const char *state = (const char *)sqlite3_column_text(st, 2);
        if (n == MAX_DEKS || id <= 0 || id > (int64_t)UINT32_MAX || w == NULL ||
            wl != AT_DEK_LEN + AT_CRYPT_OVERHEAD || w[0] != SEAL_VERSION ||
            get_u32(w + 1) != (uint32_t)id) {
            r = at_fail_(e, AT_E_CRYPTO, "keyring", __FILE__, __LINE__,
                         "store: the keyring is malformed");
            break;
        }
        uint8_t idbuf[4];
        struct at_aad a = keyring_aad((uint32_t)id, idbuf);
        uint8_t plain[AT_DEK_LEN + 1];
        if (!gcm_open(kek, &a, w, wl, plain)) {
            r = wrong_kek(e);
            break;
        }
        v[n].id = (uint32_t)id;
        memcpy(v[n].key, plain, AT_DEK_LEN);
        at_zeroize(plain, sizeof(plain));
        if (!derive_index_key(&v[n])) {
            r = at_fail_(e, AT_E_CRYPTO, "keyring", __FILE__, __LINE__,
                         "store: cannot derive the index key");
            break;
        }
        if (state != NULL && strcmp(state, "active") == 0) {
            *active = (uint32_t)id;
        }
        n++;
    }
    if (at_is_ok(r) && rc != SQLITE_DONE) {
        r = at_sql_err(s, e, "read keyring");
    }
    sqlite3_finalize(st);
    if (at_is_ok(r) && n > 0 && *active == 0) {
        r = at_fail_(e, AT_E_CRYPTO, "keyring", __FILE__, __LINE__,
                     "store: the keyring has no active data key");
    }
    if (!at_is_ok(r)) {
        free_deks(v, MAX_DEKS);
        return r;
    }
    *out = v;
    *n_out = n;
    return at_ok();
}

/* Insert a wrapped DEK row. */
static at_status put_wrapped(struct at_store *s, const uint8_t kek[AT_KEK_LEN],
                             const struct at_dek *d, const char *state, bool update,
                             struct at_err *e)
{
    uint8_t idbuf[4];
    struct at_aad a = keyring_aad(d->id, idbuf);
    uint8_t w[AT_DEK_LEN + AT_CRYPT_OVERHEAD];
    AT_ENSURE(gcm_seal(kek, d->id, &a, d->key, AT_DEK_LEN, w), e, AT_E_CRYPTO, "keyring",
              "store: cannot wrap the data key");
    sqlite3_stmt *st;
    AT_TRY(at_sql_prep(s,
                       update ? "UPDATE keyring SET wrapped = ?1 WHERE id = ?2"
                              : "INSERT INTO keyring(wrapped, id, state, created_at)"
                                " VALUES (?1, ?2, ?3, ?4)",
                       &st, e));
    at_status r = at_sql_bind_blob(s, st, 1, w, sizeof(w), e);
    if (at_is_ok(r)) {
        r = at_sql_bind_int(s, st, 2, d->id, e);
    }
    if (at_is_ok(r) && !update) {
        r = at_sql_bind_text(s, st, 3, state, e);
    }
    if (at_is_ok(r) && !update) {
        r = at_sql_bind_int(s, st, 4, at_time_now(), e);
    }
    if (at_is_ok(r)) {
        r = at_sql_step_done(s, st, "write keyring", e);
    }
    sqlite3_finalize(st);
    return r;
}

/* A new random DEK with id one above the largest, appended to s->crypt and made active. */
static at_status new_dek(struct at_store *s, const uint8_t kek[AT_KEK_LEN], struct at_err *e)
{
    struct at_crypt *c = &s->crypt;
    AT_ENSURE(c->n_deks < MAX_DEKS, e, AT_E_LIMIT, "keyring", "store: too many data keys");
    int64_t max = 0;
    AT_TRY(at_sql_query_int(s, "SELECT coalesce(max(id), 0) FROM keyring", &max, e));
    AT_ENSURE(max < (int64_t)UINT32_MAX, e, AT_E_LIMIT, "keyring", "store: data key ids exhausted");
    struct at_dek *d = &c->deks[c->n_deks];
    d->id = (uint32_t)(max + 1);
    AT_ENSURE(RAND_priv_bytes(d->key, sizeof(d->key)) == 1 && derive_index_key(d), e,
              AT_E_CRYPTO, "keyring", "store: cannot make a data key");
    AT_TRY(at_sql_exec(s, "UPDATE keyring SET state = 'retired'", e));
    AT_TRY(put_wrapped(s, kek, d, "active", false, e));
    c->n_deks++;
    c->active = d->id;
    return at_ok();
}

at_status at_crypt_init(struct at_store *s, const struct at_kek *kek, bool new_keyring,
                        struct at_err *e)
{
    struct at_crypt *c = &s->crypt;
    at_crypt_free(c);
    AT_TRY(load_keyring(s, kek->key, &c->deks, &c->n_deks, &c->active, e));
    c->kek = *kek;
    if (kek->source != AT_KEK_SRC_MEMORY) {
        at_zeroize(c->kek.key, sizeof(c->kek.key)); /* re-read from the source when needed */
    }
    /* An emptied keyring of an encrypted store must not pass for a plaintext store. */
    AT_ENSURE(c->n_deks > 0 || new_keyring, e, AT_E_CRYPTO, "keyring",
              "store: the keyring has no data key (deleted?); refusing to open");
    if (c->n_deks == 0) {
        /* A new store, or one written before encryption at rest: seal what is there. */
        AT_TRY(new_dek(s, kek->key, e));
        AT_TRY(at_crypt_reseal_all(s, true, e));
    }
    c->ready = true;
    return at_ok();
}

static at_status reload(struct at_store *s, struct at_err *e)
{
    struct at_crypt *c = &s->crypt;
    struct at_kek k = c->kek;
    at_status r = at_kek_reload(&k, e);
    struct at_dek *v = NULL;
    size_t n = 0;
    uint32_t active = 0;
    if (at_is_ok(r)) {
        r = load_keyring(s, k.key, &v, &n, &active, e);
    }
    at_kek_clear(&k);
    AT_TRY(r);
    free_deks(c->deks, MAX_DEKS);
    c->deks = v;
    c->n_deks = n;
    c->active = active;
    return at_ok();
}

at_status at_crypt_sync(struct at_store *s, struct at_err *e)
{
    int64_t id = 0;
    AT_TRY(at_sql_query_int(s, "SELECT coalesce(max(id), 0) FROM keyring WHERE state = 'active'",
                            &id, e));
    if (id > 0 && id <= (int64_t)UINT32_MAX && (uint32_t)id == s->crypt.active &&
        find_dek(&s->crypt, (uint32_t)id) != NULL) {
        return at_ok();
    }
    return reload(s, e);
}

/* ------------------------------------------------------------ seal / open */

at_status at_crypt_seal(struct at_store *s, const struct at_aad *aad, const uint8_t *in,
                        size_t len, uint8_t **out, size_t *out_len, struct at_err *e)
{
    const struct at_dek *d = find_dek(&s->crypt, s->crypt.active);
    AT_ENSURE(d != NULL, e, AT_E_CRYPTO, "store_encrypt", "store: no active data key");
    AT_ENSURE(len <= (size_t)INT32_MAX - AT_CRYPT_OVERHEAD, e, AT_E_LIMIT, "store_encrypt",
              "store: value too large");
    uint8_t *b = malloc(len + AT_CRYPT_OVERHEAD);
    if (b == NULL) {
        return at_sql_nomem(e);
    }
    if (!gcm_seal(d->key, d->id, aad, in, len, b)) {
        free(b);
        AT_FAIL(e, AT_E_CRYPTO, "store_encrypt", "store: cannot encrypt %s.%s", aad->table,
                aad->column);
    }
    *out = b;
    *out_len = len + AT_CRYPT_OVERHEAD;
    return at_ok();
}

at_status at_crypt_open(struct at_store *s, const struct at_aad *aad, const uint8_t *in,
                        size_t len, uint8_t **out, size_t *out_len, struct at_err *e)
{
    AT_ENSURE(in != NULL && len >= AT_CRYPT_OVERHEAD && in[0] == SEAL_VERSION, e, AT_E_CRYPTO,
              "store_decrypt", "store: %s.%s is not a sealed value (altered or truncated)",
              aad->table, aad->column);
    uint32_t id = get_u32(in + 1);
    const struct at_dek *d = find_dek(&s->crypt, id);
    if (d == NULL) {
        /* Sealed by another process after a key rotation: re-read the KEK and keyring once. */
        struct at_err ignored;
        at_err_init(&ignored);
        if (at_is_ok(reload(s, &ignored))) {
            d = find_dek(&s->crypt, id);
        }
    }
    AT_ENSURE(d != NULL, e, AT_E_CRYPTO, "store_decrypt",
              "store: %s.%s is sealed under data key %u, which is not in the keyring",
              aad->table, aad->column, (unsigned)id);
    size_t n = len - AT_CRYPT_OVERHEAD;
    uint8_t *b = malloc(n + 1);
    if (b == NULL) {
        return at_sql_nomem(e);
    }
    if (!gcm_open(d->key, aad, in, len, b)) {
        free(b);
        AT_FAIL(e, AT_E_CRYPTO, "store_decrypt",
                "store: %s.%s does not decrypt (the record was altered or copied from another "
                "row)",
                aad->table, aad->column);
    }
    b[n] = 0;
    *out = b;
    *out_len = n;
    return at_ok();
}

at_status at_crypt_column(struct at_store *s, sqlite3_stmt *st, int col, const struct at_aad *aad,
                          uint8_t **out, size_t *len, struct at_err *e)
{
    const uint8_t *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (n < 0 || (p == NULL && n > 0)) {
        return at_sql_err(s, e, "read column");
    }
    return at_crypt_open(s, aad, p, (size_t)n, out, len, e);
}

at_status at_crypt_index(struct at_store *s, const char *purpose, const void *v, size_t len,
                         uint8_t out[AT_CRYPT_INDEX_LEN], struct at_err *e)
{
    const struct at_dek *d = find_dek(&s->crypt, s->crypt.active);
    AT_ENSURE(d != NULL, e, AT_E_CRYPTO, "store_index", "store: no active data key");
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    size_t n = 0;
    bool ok = ctx != NULL && EVP_MAC_init(ctx, d->index_key, sizeof(d->index_key), params) == 1 &&
              EVP_MAC_update(ctx, (const uint8_t *)purpose, strlen(purpose) + 1) == 1 &&
              EVP_MAC_update(ctx, v, len) == 1 &&
              EVP_MAC_final(ctx, out, &n, AT_CRYPT_INDEX_LEN) == 1 && n == AT_CRYPT_INDEX_LEN;
    EVP_MAC_CTX_free(ctx);
    AT_ENSURE(ok, e, AT_E_CRYPTO, "store_index", "store: cannot compute a blind index");
    return at_ok();
}

/* ----------------------------------------------------- rotation and status */

struct rekey_args {
    const struct at_kek *kek;
    bool reencrypt;
};

static at_status rekey_tx(struct at_store *s, const void *arg, struct at_err *e)
{
    const struct rekey_args *a = arg;
    struct at_crypt *c = &s->crypt;
    if (a->reencrypt) {
        AT_TRY(new_dek(s, a->kek->key, e));
        AT_TRY(at_crypt_reseal_all(s, false, e));
        AT_TRY(at_sql_exec(s, "DELETE FROM keyring WHERE state <> 'active'", e));
        const struct at_dek *d = find_dek(c, c->active);
        struct at_dek keep = *d;
        at_zeroize(c->deks, MAX_DEKS * sizeof(*c->deks));
        c->deks[0] = keep;
        c->n_deks = 1;
        at_zeroize(&keep, sizeof(keep));
    }
    for (size_t i = 0; i < c->n_deks; i++) {
        AT_TRY(put_wrapped(s, a->kek->key, &c->deks[i], NULL, true, e));
    }
    return at_ok();
}

at_status at_store_rekey(struct at_store *s, const struct at_kek *new_kek, bool reencrypt,
                         struct at_err *e)
{
    AT_ENSURE(s != NULL && new_kek != NULL && new_kek->source != AT_KEK_SRC_NONE, e, AT_E_USAGE,
              "kek_missing", "no new key-encryption key");
    struct rekey_args a = {new_kek, reencrypt};
    at_status r = at_sql_write_tx(s, rekey_tx, &a, e);
    at_sql_lock(s);
    if (at_is_ok(r)) {
        s->crypt.kek = *new_kek;
        if (new_kek->source != AT_KEK_SRC_MEMORY) {
            at_zeroize(s->crypt.kek.key, sizeof(s->crypt.kek.key));
        }
    } else {
        /* The transaction rolled back: forget the in-memory changes. */
        struct at_err ignored;
        at_err_init(&ignored);
        at_status rr = reload(s, &ignored);
        (void)rr;
    }
    at_sql_unlock(s);
    return r;
}

at_status at_store_key_status(struct at_store *s, struct at_store_key_info **out, size_t *count,
                              enum at_kek_source *source, struct at_err *e)
{
    AT_ENSURE(s != NULL && out != NULL && count != NULL, e, AT_E_USAGE, "store", "no store");
    at_sql_lock(s);
    sqlite3_stmt *st = NULL;
    struct at_store_key_info *v = calloc(MAX_DEKS, sizeof(*v));
    size_t n = 0;
    at_status r = v != NULL ? at_sql_prep(s,
                                          "SELECT id, state, created_at FROM keyring ORDER BY id",
                                          &st, e)
                            : at_sql_nomem(e);
    int rc = SQLITE_DONE;
    while (at_is_ok(r) && n < MAX_DEKS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 1);
        v[n].id = (uint32_t)sqlite3_column_int64(st, 0);
        v[n].active = state != NULL && strcmp(state, "active") == 0;
        v[n].created_at = sqlite3_column_int64(st, 2);
        n++;
    }
    if (at_is_ok(r) && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        r = at_sql_err(s, e, "read keyring");
    }
    sqlite3_finalize(st);
    if (source != NULL) {
        *source = s->crypt.kek.source;
    }
    at_sql_unlock(s);
    if (!at_is_ok(r)) {
        free(v);
        return r;
    }
    *out = v;
    *count = n;
    return at_ok();
}
