/*
 * Envelope encryption of the SQLite store (internal to src/store/; the design is in
 * docs/encryption-at-rest.md). THE one place where content columns are sealed before
 * they are written and opened after they are read.
 *
 * - A data-encryption key (DEK, 32 random bytes) per store lives in the keyring table,
 *   wrapped (AES-256-GCM) by the key-encryption key (kek.h). Several DEKs may be
 *   present during a rotation; exactly one is 'active' (used for new records).
 * - A sealed value is: 0xA1 | DEK id (4 bytes, big endian) | nonce (12) | ciphertext |
 *   tag (16), AES-256-GCM under the DEK, with associated data binding it to its table,
 *   column and record id, so a value copied onto another row does not open.
 * - Blind indexes (lookups without a plaintext or an unkeyed fingerprint in the file):
 *   HMAC-SHA256 under an index key derived from the active DEK with HKDF.
 *
 * Locking: every function expects the caller to hold the store's mutex.
 */
#ifndef AT_STORE_STORE_CRYPT_H
#define AT_STORE_STORE_CRYPT_H

#include "base/status.h"
#include "store/kek.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AT_DEK_LEN        32
#define AT_CRYPT_INDEX_LEN 32
#define AT_CRYPT_OVERHEAD (1 + 4 + 12 + 16)

/* Blind index purposes. */
#define AT_INDEX_SIGNER    "signer_certs.der"
#define AT_INDEX_PRINCIPAL "role_assignments.principal"

struct at_store;

struct at_dek {
    uint32_t id;
    uint8_t key[AT_DEK_LEN];
    uint8_t index_key[AT_DEK_LEN];
};

struct at_crypt {
    bool ready;
    struct at_kek kek;   /* source; the bytes are kept only for source MEMORY */
    struct at_dek *deks; /* every DEK of the keyring, unwrapped */
    size_t n_deks;
    uint32_t active;
};

/* Associated data: table, column and up to 3 parts of the record id. */
struct at_aad {
    const char *table;
    const char *column;
    const void *id[3];
    size_t id_len[3];
    size_t n;
};

/* Build an at_aad with text parts (NULL-terminated list of up to 3 strings). */
void at_aad_text(struct at_aad *a, const char *table, const char *column, const char *p1,
                 const char *p2, const char *p3);

/*
 * Inside the open transaction: load and unwrap the keyring with `kek`. When the keyring
 * table was created by this transaction's migration (new_keyring: a new store, or one
 * written by a build without encryption) it gets a fresh DEK and every existing
 * plaintext record is sealed under it, in the same transaction; an empty keyring that
 * existed before is refused (AT_E_CRYPTO, check "keyring").
 */
AT_NODISCARD at_status at_crypt_init(struct at_store *s, const struct at_kek *kek,
                                     bool new_keyring, struct at_err *e);
void at_crypt_free(struct at_crypt *c);

/* Reload the keyring (and re-read the KEK source) when the active DEK id is unknown. */
AT_NODISCARD at_status at_crypt_sync(struct at_store *s, struct at_err *e);

/* Seal under the active DEK; *out is heap (free()). */
AT_NODISCARD at_status at_crypt_seal(struct at_store *s, const struct at_aad *aad,
                                     const uint8_t *in, size_t len, uint8_t **out,
                                     size_t *out_len, struct at_err *e);
/*
 * Open; *out is heap, NUL-terminated (len excludes it); free with at_free_secret(out, len)
 * for secrets. A DEK id not loaded triggers one keyring reload and retry. Fails with
 * AT_E_CRYPTO, check "store_decrypt", naming table.column.
 */
AT_NODISCARD at_status at_crypt_open(struct at_store *s, const struct at_aad *aad,
                                     const uint8_t *in, size_t len, uint8_t **out,
                                     size_t *out_len, struct at_err *e);
/* at_crypt_open of a result column. */
AT_NODISCARD at_status at_crypt_column(struct at_store *s, sqlite3_stmt *st, int col,
                                       const struct at_aad *aad, uint8_t **out, size_t *len,
                                       struct at_err *e);
/* Blind index of (purpose, value) under the active DEK's index key. */
AT_NODISCARD at_status at_crypt_index(struct at_store *s, const char *purpose, const void *v,
                                      size_t len, uint8_t out[AT_CRYPT_INDEX_LEN],
                                      struct at_err *e);

/*
 * Re-seal every content column of every table under the active DEK (recomputing blind
 * indexes). from_plaintext: the rows are a legacy plaintext store. store_crypt_reseal.c.
 */
AT_NODISCARD at_status at_crypt_reseal_all(struct at_store *s, bool from_plaintext,
                                           struct at_err *e);

#endif
