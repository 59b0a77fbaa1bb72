/*
 * The store: everything attestd persists (providers with their signing keys,
 * policies per attestation type, signer certificates, collateral), behind one
 * interface with an embedded SQLite back end (this file's implementation:
 * store_sqlite.c) and, later, PostgreSQL. Every write runs in a transaction.
 * Thread-safe: one struct at_store may be used from many threads.
 *
 * Strings are UTF-8; blobs are opaque bytes. Returned heap memory is owned by the
 * caller and freed with the matching _clear function.
 */
#ifndef AT_STORE_STORE_H
#define AT_STORE_STORE_H

#include "base/status.h"
#include "evidence/dcap_types.h"
#include "store/kek.h"

#include <stdint.h>

#define AT_PROVIDER_DEFAULT "default"
#define AT_PROVIDER_NAME_MAX 63 /* [a-z0-9-], starts with a letter */

enum at_provider_mode { AT_MODE_AAD, AT_MODE_ISOLATED };

struct at_provider {
    char name[AT_PROVIDER_NAME_MAX + 1];
    enum at_provider_mode mode;
    char alg[8];             /* token signing algorithm: "RS256", "PS256", "ES256" */
    uint8_t *signing_key;    /* PKCS#8 DER private key (secret: zeroized by _clear) */
    size_t signing_key_len;
    uint8_t *signing_cert;   /* DER self-signed certificate */
    size_t signing_cert_len;
    int64_t token_lifetime_s; /* default 8 h */
    int64_t created_at;
    uint64_t version;        /* bumped on every change to the provider or its policies */
    /* POST /attest/{type} needs a bearer token with the attest action (migration 3,
       store_sqlite_provider_token.c); false for providers made before it existed. */
    bool require_token_for_attestation;
};

void at_provider_clear(struct at_provider *p);

/* Does `name` match ^[a-z][a-z0-9-]{0,62}$ ? (NULL: no) */
bool at_store_provider_name_valid(const char *name);

struct at_policy_record {
    char *text;       /* exact stored bytes (NUL-terminated for convenience) */
    size_t text_len;
    char *jws;        /* the JWS it was uploaded in, or NULL */
    int64_t updated_at;
};

void at_policy_record_clear(struct at_policy_record *r);

struct at_store;

/*
 * Open (creating if needed) `dir`/attestd.db; WAL; migrates the schema. Every content
 * column is encrypted at rest under a data key wrapped by `kek` (kek.h,
 * docs/encryption-at-rest.md); a store written by a build without encryption is
 * converted on this first open, in one transaction. Fails with AT_E_USAGE check
 * "kek_missing" when kek is NULL, AT_E_CRYPTO check "kek_wrong" when kek does not
 * unwrap the store's data key. The store copies what it needs of *kek.
 */
AT_NODISCARD at_status at_store_open(const char *dir, const struct at_kek *kek,
                                     struct at_store **out, struct at_err *e);
void at_store_close(struct at_store *s);

/* Providers. create fails with AT_E_BAD_VALUE if it exists or the name is invalid. */
AT_NODISCARD at_status at_store_provider_create(struct at_store *s, const struct at_provider *p,
                                                struct at_err *e);
/* AT_E_NOT_FOUND if absent. */
AT_NODISCARD at_status at_store_provider_get(struct at_store *s, const char *name,
                                             struct at_provider *out, struct at_err *e);
/* Names, sorted; *names is a heap array of heap strings (free each, then the array). */
AT_NODISCARD at_status at_store_provider_list(struct at_store *s, char ***names, size_t *count,
                                              struct at_err *e);
AT_NODISCARD at_status at_store_provider_delete(struct at_store *s, const char *name,
                                                struct at_err *e);
/*
 * The provider's require_token_for_attestation flag (store_sqlite_provider_token.c).
 * set bumps the provider's version; both fail with AT_E_NOT_FOUND if it is absent.
 * get reads only that column (cheap enough for every attestation request).
 */
AT_NODISCARD at_status at_store_provider_set_require_token(struct at_store *s, const char *name,
                                                           bool require, struct at_err *e);
AT_NODISCARD at_status at_store_provider_require_token(struct at_store *s, const char *name,
                                                       bool *out, struct at_err *e);
/*
 * The provider's own allowed_networks (store_sqlite_provider_net.c): a CIDR list as
 * text (validated by the caller), or NULL/"" for no narrowing. set bumps the version;
 * both fail with AT_E_NOT_FOUND if the provider is absent. *out is heap (free) or NULL.
 */
AT_NODISCARD at_status at_store_provider_networks_set(struct at_store *s, const char *name,
                                                      const char *cidrs, struct at_err *e);
AT_NODISCARD at_status at_store_provider_networks_get(struct at_store *s, const char *name,
                                                      char **out, struct at_err *e);
/* Free a string array returned by at_store_provider_list / at_store_policy_list. */
void at_store_strings_free(char **v, size_t count);

/* Policies per (provider, attestation type name as in the API, e.g. "SgxEnclave"). */
AT_NODISCARD at_status at_store_policy_set(struct at_store *s, const char *provider,
                                           const char *type, const char *text, size_t text_len,
                                           const char *jws, struct at_err *e);
/* AT_E_NOT_FOUND when no policy is stored (the caller uses the default). */
AT_NODISCARD at_status at_store_policy_get(struct at_store *s, const char *provider,
                                           const char *type, struct at_policy_record *out,
                                           struct at_err *e);
/* Idempotent: ok when no policy is stored; AT_E_NOT_FOUND only if the provider is absent. */
AT_NODISCARD at_status at_store_policy_reset(struct at_store *s, const char *provider,
                                             const char *type, struct at_err *e);
/* Types with a stored policy, sorted (free with at_store_strings_free); AT_E_NOT_FOUND if
   the provider is absent. */
AT_NODISCARD at_status at_store_policy_list(struct at_store *s, const char *provider,
                                            char ***types, size_t *count, struct at_err *e);

/*
 * Signer certificates (DER) of an isolated provider, in insertion order. add fails with
 * AT_E_BAD_VALUE if the same certificate (by SHA-256) is already there; both fail with
 * AT_E_NOT_FOUND if the provider is absent.
 */
AT_NODISCARD at_status at_store_signer_add(struct at_store *s, const char *provider,
                                           const uint8_t *der, size_t len, struct at_err *e);
AT_NODISCARD at_status at_store_signer_list(struct at_store *s, const char *provider,
                                            uint8_t ***ders, size_t **lens, size_t *count,
                                            struct at_err *e);
/*
 * Remove a signer certificate (matched by the SHA-256 of its DER; store_sqlite_signers.c).
 * *removed says whether it was there (absent is not an error). With keep_last, removing
 * the provider's only certificate fails with AT_E_BAD_VALUE (check "signer_last").
 */
AT_NODISCARD at_status at_store_signer_remove(struct at_store *s, const char *provider,
                                              const uint8_t *der, size_t len, bool keep_last,
                                              bool *removed, struct at_err *e);
/* Free what at_store_signer_list returned. */
void at_store_signers_free(uint8_t **ders, size_t *lens, size_t count);

/*
 * DCAP collateral, keyed by (tee "sgx"|"tdx", FMSPC, PCK CA "platform"|"processor").
 * put replaces; get fills a sealed bundle (AT_E_NOT_FOUND when absent).
 */
AT_NODISCARD at_status at_store_collateral_put(struct at_store *s, const char *tee,
                                               const uint8_t fmspc[6], const char *ca,
                                               const struct at_dcap_collateral *c,
                                               struct at_err *e);
AT_NODISCARD at_status at_store_collateral_get(struct at_store *s, const char *tee,
                                               const uint8_t fmspc[6], const char *ca,
                                               struct at_dcap_collateral *out, struct at_err *e);

/* A counter bumped on every write (cheap cache invalidation for compiled policies). */
uint64_t at_store_generation(struct at_store *s);

/*
 * Role assignments (management plane): principal id -> role ("Reader", "Contributor",
 * "Owner") -> scope (a provider name, or "*" for all). assign replaces an existing
 * assignment of the same principal and scope.
 */
struct at_role_assignment {
    char principal[320];
    char role[16];
    char scope[AT_PROVIDER_NAME_MAX + 1];
};

AT_NODISCARD at_status at_store_role_assign(struct at_store *s, const char *principal,
                                            const char *role, const char *scope,
                                            struct at_err *e);
AT_NODISCARD at_status at_store_role_remove(struct at_store *s, const char *principal,
                                            const char *scope, struct at_err *e);
/* principal NULL = all; *out heap array (free()). */
AT_NODISCARD at_status at_store_role_list(struct at_store *s, const char *principal,
                                          struct at_role_assignment **out, size_t *count,
                                          struct at_err *e);

/*
 * Keys of the stored DCAP collateral, ordered (store_sqlite_collateral_list.c; metrics and
 * the collateral-expiry alert). At most 4096 entries. Free *out with free().
 */
struct at_collateral_key {
    char tee[4];      /* "sgx" | "tdx" */
    uint8_t fmspc[6];
    char ca[10];      /* "platform" | "processor" */
};
AT_NODISCARD at_status at_store_collateral_list(struct at_store *s, struct at_collateral_key **out,
                                                size_t *count, struct at_err *e);

/*
 * The audit log's chain head (docs/audit-log.md): the sequence number and SHA-256 of the
 * last record known durable in the audit file, per chain name ("audit"). get fails with
 * AT_E_NOT_FOUND when the chain has no head yet. set is a single autocommit statement and
 * does not bump at_store_generation (it is not configuration).
 */
AT_NODISCARD at_status at_store_audit_head_get(struct at_store *s, const char *chain, uint64_t *seq,
                                               uint8_t hash[32], struct at_err *e);
AT_NODISCARD at_status at_store_audit_head_set(struct at_store *s, const char *chain, uint64_t seq,
                                               const uint8_t hash[32], int64_t now,
                                               struct at_err *e);

/*
 * Backups (issue 7; store_sqlite_snapshot.c). at_store_snapshot copies the live
 * database, consistently, into dest_dir/attestd.db (dest_dir must exist; the file must
 * not) with SQLite's online backup API, while other threads and processes may be
 * writing; open the copy with at_store_open and the normal getters (its records are
 * encrypted like the store's). at_store_replace_from replaces every row of `s` with
 * the database in src_dir/attestd.db, in one write transaction (all or nothing).
 */
AT_NODISCARD at_status at_store_snapshot(struct at_store *s, const char *dest_dir,
                                         struct at_err *e);
AT_NODISCARD at_status at_store_replace_from(struct at_store *s, const char *src_dir,
                                             struct at_err *e);
/* Open (creating) the store in `dir` under the same key-encryption key as `live`. */
AT_NODISCARD at_status at_store_open_beside(struct at_store *live, const char *dir,
                                            struct at_store **out, struct at_err *e);
/* The applied schema migrations count, and the number of collateral rows. */
AT_NODISCARD at_status at_store_schema_version(struct at_store *s, int64_t *out,
                                               struct at_err *e);
AT_NODISCARD at_status at_store_collateral_count(struct at_store *s, int64_t *out,
                                                 struct at_err *e);

/*
 * Key rotation (store_crypt.c): re-wrap the data key(s) under new_kek; with reencrypt,
 * also make a new data key, re-encrypt every record under it and remove the old ones,
 * all in one transaction. Other processes on the same store (a running attestd) pick
 * the new data key up when they meet it (they re-read their KEK source).
 */
AT_NODISCARD at_status at_store_rekey(struct at_store *s, const struct at_kek *new_kek,
                                      bool reencrypt, struct at_err *e);

struct at_store_key_info {
    uint32_t id;        /* data key id */
    bool active;        /* used for new records (else retired, still readable) */
    int64_t created_at;
};

/* The keyring (never key bytes); *out heap array (free()); *source: this handle's KEK source. */
AT_NODISCARD at_status at_store_key_status(struct at_store *s, struct at_store_key_info **out,
                                           size_t *count, enum at_kek_source *source,
                                           struct at_err *e);

#endif
