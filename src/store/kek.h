/*
 * The key-encryption key (KEK) of the store's envelope encryption
 * (docs/encryption-at-rest.md). 32 bytes, from (in order) a key file given by the
 * caller (config key kek_file, attestctl --kek-file; mode 0600 or stricter, owned by
 * the current user), the environment variable ATTESTD_KEK, or the systemd credential
 * $CREDENTIALS_DIRECTORY/attestd-kek. Text format: 64 hex characters or base64 /
 * base64url of 32 bytes, with an optional trailing newline.
 *
 * The bytes are a secret: at_kek_clear zeroizes them; they are never logged.
 */
#ifndef AT_STORE_KEK_H
#define AT_STORE_KEK_H

#include "base/status.h"

#include <stdint.h>

#define AT_KEK_LEN      32
#define AT_KEK_PATH_MAX 1024
#define AT_KEK_ENV      "ATTESTD_KEK"
#define AT_KEK_CRED     "attestd-kek"

enum at_kek_source {
    AT_KEK_SRC_NONE = 0,
    AT_KEK_SRC_FILE,       /* kek_file / --kek-file */
    AT_KEK_SRC_ENV,        /* $ATTESTD_KEK */
    AT_KEK_SRC_CREDENTIAL, /* $CREDENTIALS_DIRECTORY/attestd-kek */
    AT_KEK_SRC_MEMORY,     /* given as bytes by the caller (tests, key rotation) */
};

struct at_kek {
    uint8_t key[AT_KEK_LEN];
    enum at_kek_source source;
    char path[AT_KEK_PATH_MAX]; /* the file, for FILE and CREDENTIAL (re-read on reload) */
};

/*
 * Load the KEK: from kek_file when not NULL (and only from there), else $ATTESTD_KEK,
 * else the systemd credential. Fails with AT_E_USAGE check "kek_missing" when there is
 * none, AT_E_BAD_VALUE check "kek_format" for a malformed key, AT_E_IO check
 * "kek_file" for an unreadable file or one whose mode/owner is too open.
 */
AT_NODISCARD at_status at_kek_load(const char *kek_file, struct at_kek *out, struct at_err *e);
/* Re-read the same source (for a running attestd after a key rotation). MEMORY: no-op. */
AT_NODISCARD at_status at_kek_reload(struct at_kek *k, struct at_err *e);
/* A KEK from bytes (source MEMORY). */
void at_kek_from_bytes(const uint8_t key[AT_KEK_LEN], struct at_kek *out);
/* Parse the text format (64 hex or base64/base64url of 32 bytes, optional newline). */
AT_NODISCARD at_status at_kek_parse(const char *text, size_t len, uint8_t out[AT_KEK_LEN],
                                    struct at_err *e);
/* Create `path` (O_EXCL, mode 0600) holding a fresh random KEK as 64 hex characters + "\n". */
AT_NODISCARD at_status at_kek_generate_file(const char *path, struct at_err *e);
/* "file", "env", "credential", "memory" or "none". */
const char *at_kek_source_name(enum at_kek_source s);
/* Zeroize. */
void at_kek_clear(struct at_kek *k);

#endif
