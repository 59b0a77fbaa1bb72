/*
 * Backups of the store (issue 7): one authenticated, encrypted file holding every
 * provider (with its signing key and certificate), policy (text, the JWS it was
 * uploaded in, the MAA policy hash), policy signer certificate and role assignment,
 * plus a configuration digest. Collateral is not included: it is public data that
 * `attestctl collateral import` fetches again.
 *
 * File layout (all integers big-endian; docs/recovery-runbook.md "Backup format"):
 *
 *   offset size
 *   0      8    magic "ATDBKUP1"
 *   8      2    format version (1)
 *   10     1    KDF id: 1 = raw 32-byte backup key, 2 = scrypt over a passphrase
 *   11     1    scrypt log2(N)   (0 for a raw key)
 *   12     4    scrypt r         (0 for a raw key)
 *   16     4    scrypt p         (0 for a raw key)
 *   20     16   salt             (random; unused for a raw key)
 *   36     12   AES-GCM nonce    (random)
 *   48     8    ciphertext length
 *   56     n    AES-256-GCM ciphertext of the JSON document, the 56 header bytes as AAD
 *   56+n   16   GCM tag
 *
 * Nothing but the header is readable without the key; any change to any byte fails
 * authentication. The JSON document (schema checked by at_backup_check_doc):
 *
 *   {"format":1, "created_at":"RFC3339", "attestd_version":"x.y.z",
 *    "store_schema_version":N,
 *    "config_digest":{"config":hex|null, "oidc_config":hex|null},   (SHA-256 of files)
 *    "collateral":"not included",
 *    "providers":[{"name","mode":"aad|isolated","alg","token_lifetime_s","created_at",
 *                  "require_token":bool,
 *                  "signing_key":b64url(PKCS#8 DER), "signing_cert":b64url(DER),
 *                  "policies":[{"type","text":b64url(bytes),"jws":string|null,
 *                               "hash":b64url(SHA-256(jws, or text when unsigned)),
 *                               "policy_hash":x-ms-policy-hash of the text}],
 *                  "signer_certs":[b64url(DER)]}],
 *    "role_assignments":[{"principal","role","scope"}]}
 */
#ifndef AT_BACKUP_BACKUP_H
#define AT_BACKUP_BACKUP_H

#include "base/status.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct at_store;

#define AT_BACKUP_MAGIC      "ATDBKUP1"
#define AT_BACKUP_FORMAT     1
#define AT_BACKUP_HEADER_LEN 56
#define AT_BACKUP_TAG_LEN    16
#define AT_BACKUP_KEY_LEN    32
#define AT_BACKUP_FILE_MAX   ((size_t)256 * 1024 * 1024) /* a whole backup file */
#define AT_BACKUP_KDF_RAW    1
#define AT_BACKUP_KDF_SCRYPT 2
/* scrypt written: N = 2^15, r = 8, p = 1 (32 MiB). Accepted when reading: */
#define AT_BACKUP_SCRYPT_LOGN    15
#define AT_BACKUP_SCRYPT_R       8
#define AT_BACKUP_SCRYPT_P       1
#define AT_BACKUP_SCRYPT_MAXMEM  ((uint64_t)256 * 1024 * 1024) /* 128 * N * r * p bound */
#define AT_BACKUP_PASSPHRASE_MIN 8
#define AT_BACKUP_PASSPHRASE_MAX 1024

/* The key material: a raw 32-byte key or a passphrase (both secrets, zeroized by clear). */
struct at_backup_key {
    int kdf; /* AT_BACKUP_KDF_RAW or AT_BACKUP_KDF_SCRYPT; 0 = unset */
    uint8_t raw[AT_BACKUP_KEY_LEN];
    char *pass;
    size_t pass_len;
};

/*
 * A backup key file: 32 bytes as 64 hex digits or base64 (either alphabet), optional
 * trailing newline; the file must be a regular file of mode 0600 or stricter (fails
 * with AT_E_BAD_VALUE, check "backup_key_mode", otherwise).
 */
AT_NODISCARD at_status at_backup_key_load(const char *path, struct at_backup_key *out,
                                          struct at_err *e);
/* A passphrase file (same mode rule; one trailing newline stripped), or NULL: the
   environment variable ATTESTD_BACKUP_PASSPHRASE. */
AT_NODISCARD at_status at_backup_passphrase_load(const char *path, struct at_backup_key *out,
                                                 struct at_err *e);
void at_backup_key_clear(struct at_backup_key *k);

/* The parsed fixed header. */
struct at_backup_header {
    uint16_t format;
    uint8_t kdf;
    uint8_t log_n;
    uint32_t r, p;
    uint8_t salt[16];
    uint8_t nonce[12];
    uint64_t ct_len;
};

/* Parse and bounds-check the header of a whole file (the length must match exactly). */
AT_NODISCARD at_status at_backup_header_parse(const uint8_t *file, size_t len,
                                              struct at_backup_header *h, struct at_err *e);

/* Encrypt a document into a new file image (heap, free()). The plaintext is wiped. */
AT_NODISCARD at_status at_backup_seal(const json_t *doc, const struct at_backup_key *k,
                                      uint8_t **out, size_t *out_len, struct at_err *e);
/*
 * Header, decryption, JSON and schema: on success *doc is the checked document
 * (free with at_backup_doc_free). Errors name the stage: "header: ...",
 * "decryption: ...", "json: ...", "schema: <path>: ...".
 */
AT_NODISCARD at_status at_backup_open(const uint8_t *file, size_t len,
                                      const struct at_backup_key *k, json_t **doc,
                                      struct at_err *e);

/* What a checked document holds. */
struct at_backup_counts {
    size_t providers, policies, signers, roles;
};
/* The schema check of a decrypted document (also fuzzed on plaintext JSON). */
AT_NODISCARD at_status at_backup_check_doc(const json_t *doc, struct at_backup_counts *c,
                                           struct at_err *e);
/* Parse JSON text (untrusted) and check it: the path at_backup_open takes after decryption. */
AT_NODISCARD at_status at_backup_parse_doc(const uint8_t *text, size_t len, json_t **doc,
                                           struct at_err *e);
/* Wipe every string in the tree, then release it (NULL is fine). */
void at_backup_doc_free(json_t *doc);

/* Inputs of the document besides the store. */
struct at_backup_meta {
    const char *config_path;      /* hashed into config_digest.config, or NULL */
    const char *oidc_config_path; /* hashed into config_digest.oidc_config, or NULL */
    int64_t now;                  /* created_at */
};

/* Read everything from a store (its getters) into a document. */
AT_NODISCARD at_status at_backup_collect(struct at_store *s, const struct at_backup_meta *m,
                                         json_t **doc, struct at_err *e);

/*
 * The whole online backup: snapshot the live store (at_store_snapshot) into a fresh
 * directory under tmp_parent (normally the data directory), read the copy, seal it and
 * write out_path atomically (tmp file + fsync + rename, mode 0600). *counts may be NULL.
 */
AT_NODISCARD at_status at_backup_create_file(struct at_store *live, const char *tmp_parent,
                                             const struct at_backup_meta *m,
                                             const struct at_backup_key *k, const char *out_path,
                                             struct at_backup_counts *counts, struct at_err *e);

/* Read a backup file (at most AT_BACKUP_FILE_MAX bytes) and at_backup_open it. */
AT_NODISCARD at_status at_backup_read_file(const char *path, const struct at_backup_key *k,
                                           json_t **doc, struct at_err *e);

/*
 * Is the store empty enough to restore into: no role assignments, no collateral, and
 * no provider except an unchanged auto-created "default" without policies? *why says
 * what is in the way when not.
 */
AT_NODISCARD at_status at_backup_store_empty(struct at_store *s, bool *empty, char *why,
                                             size_t why_cap, struct at_err *e);

/* Create every record of a checked document in a store (used on a fresh temp store). */
AT_NODISCARD at_status at_backup_apply(struct at_store *s, const json_t *doc, struct at_err *e);

/*
 * Restore: the store in data_dir (already open as `live`) must be empty; the
 * document is applied to a new store built in a temp directory inside data_dir, which
 * then replaces the live database in one SQLite transaction (at_store_replace_from).
 * On any error the live store is unchanged.
 */
AT_NODISCARD at_status at_backup_restore(struct at_store *live, const char *data_dir,
                                         const json_t *doc, struct at_err *e);

/*
 * The difference between the store (as collected now) and a backup, one line each:
 * "+ provider N", "- provider N", "~ provider N (fields)", "+ policy N/T HASH",
 * "- policy N/T HASH", "~ policy N/T OLD -> NEW", "+ signer N SHA256HEX",
 * "- signer N SHA256HEX", "+ role PRINCIPAL ROLE SCOPE", "- role ...",
 * "~ role PRINCIPAL SCOPE OLD -> NEW", then "summary: A added, R removed, C changed".
 * Written to f.
 */
AT_NODISCARD at_status at_backup_diff(const json_t *current, const json_t *backup, FILE *f,
                                      size_t *changes, struct at_err *e);

/* Remove a store directory made by a snapshot or restore (attestd.db and its -wal/-shm). */
void at_backup_rm_store_dir(const char *dir);

/* x-ms-policy-token-hash as the management API reports it: b64url(SHA-256(jws, or the text
   when there is no JWS)); out >= 44 bytes. */
AT_NODISCARD at_status at_backup_policy_hash(const char *text, size_t text_len, const char *jws,
                                             char out[48], struct at_err *e);

/* ---- scheduled backups inside attestd (schedule.c) ---- */

struct at_backup_schedule_cfg {
    struct at_store *store;
    const char *data_dir;         /* temp snapshot directories go here */
    const char *dir;              /* backup_dir */
    int64_t interval_s;           /* backup_interval_s (> 0) */
    unsigned keep;                /* backup_keep (>= 1) */
    const char *key_file;         /* backup_key_file, or NULL */
    const char *passphrase_file;  /* backup_passphrase_file, or NULL */
    const char *config_path;      /* the --config file, or NULL */
    const char *oidc_config_path; /* oidc_config, or NULL */
};

/*
 * Load the key (failing at start if it is unusable), create dir (0700) and start the
 * thread: every interval_s it writes DIR/backup-YYYYMMDDTHHMMSSZ.atb, prunes to the
 * newest `keep` such files and emits an audit record (kind backup, operation
 * "backup.scheduled", result "ok" or the error code name). Strings are copied.
 */
AT_NODISCARD at_status at_backup_schedule_start(const struct at_backup_schedule_cfg *c,
                                                struct at_err *e);
/* Stop and join the thread (no-op when not started); wipes the key. */
void at_backup_schedule_stop(void);
/* Unix time of the last successful scheduled backup, 0 when none yet. */
int64_t at_backup_last_success(void);
/* Run one scheduled backup now (the thread's body; for tests). */
AT_NODISCARD at_status at_backup_schedule_run_once(struct at_err *e);

#endif
