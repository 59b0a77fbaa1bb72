/* Internals of src/auth/ shared by auth.c, auth_config.c and jwks_cache.c (not auth.h). */
#ifndef AT_AUTH_AUTH_INT_H
#define AT_AUTH_AUTH_INT_H

#include "auth/auth.h"
#include "token/token.h"

#include <jansson.h>
#include <stdint.h>

/* Caps on the configuration (docs/identity.md). */
#define AT_AUTH_MAX_ISSUERS   16
#define AT_AUTH_MAX_AUDIENCES 16
#define AT_AUTH_MAX_ROLE_MAP  64
#define AT_AUTH_MAX_JWKS_KEYS 64
#define AT_AUTH_JWKS_MAX      ((size_t)1 << 20)
#define AT_AUTH_CONFIG_MAX    ((size_t)1 << 20)
#define AT_AUTH_ISSUER_MAX    255 /* fits struct at_principal.issuer */
#define AT_AUTH_CLAIM_MAX     63  /* tid, oid, appid/azp: fit their at_principal fields */
#define AT_AUTH_SKEW_MAX_S    3600

/*
 * A JWKS read from a file: read once at creation, then re-read when the file changes
 * (inode, size or mtime) or every refresh_s; when a re-read fails the last good keys stay
 * in use for at most stale_max_s after they were last confirmed. Or fetched from an https
 * jwks_uri: at creation (a failure there is not fatal), then when refresh_s has passed and
 * when a token names a kid the keys lack (at most once per AT_AUTH_JWKS_FORCED_S); a failed
 * fetch keeps the last good keys until stale_max_s after the last good fetch. All times are
 * the callers' `now`. Thread-safe; fetches run under the cache's mutex, one at a time.
 */
struct at_jwks_cache;

#define AT_AUTH_JWKS_FORCED_S 60
#define AT_AUTH_URI_MAX       2048

/* Reads and checks `path` now (AT_E_IO / AT_E_PARSE / AT_E_BAD_VALUE on failure). */
AT_NODISCARD at_status at_jwks_cache_new(const char *path, int64_t refresh_s, int64_t stale_max_s,
                                         struct at_jwks_cache **out, struct at_err *e);
/*
 * A cache over an https `uri`, trusting the PEM bundle `ca_file` (NULL: the system store).
 * Fetches once now; only bad parameters or memory fail, never the fetch.
 */
AT_NODISCARD at_status at_jwks_cache_new_uri(const char *uri, const char *ca_file,
                                             int64_t refresh_s, int64_t stale_max_s,
                                             struct at_jwks_cache **out, struct at_err *e);
void at_jwks_cache_free(struct at_jwks_cache *c);
/*
 * The current keys at `now` (new reference). `kid` (may be NULL) is the key the caller
 * wants: a URI cache whose keys lack it refetches first (rate-limited). AT_E_NOT_FOUND
 * when the keys are unusable (never fetched, or the file or URI failed and the last good
 * copy is older than stale_max_s).
 */
AT_NODISCARD at_status at_jwks_cache_get(struct at_jwks_cache *c, int64_t now, const char *kid,
                                         json_t **jwks, struct at_err *e);
/*
 * GET an https `uri` (TLS >= 1.2, verified against `ca_file` or the system store, no
 * redirects, 5 s to connect, 10 s in all, at most AT_AUTH_JWKS_MAX bytes) and check it
 * with at_jwks_check. *out: a new reference, set only on success.
 */
AT_NODISCARD at_status at_jwks_fetch(const char *uri, const char *ca_file, json_t **out,
                                     struct at_err *e);
/* Check a JWKS document: {"keys":[{kid, public key members}...]}, no private or secret keys. */
AT_NODISCARD at_status at_jwks_check(const json_t *jwks, struct at_err *e);

struct at_auth_issuer {
    char *issuer;
    char **audiences;
    size_t n_audiences;
    enum at_jws_alg algs[3];
    size_t n_algs;
    char *tenant; /* NULL: any tid */
    struct at_jwks_cache *jwks;
};

struct at_auth_role_map {
    char *value; /* a token `roles` entry (an app role value), compared exactly */
    enum at_role role;
};

struct at_auth {
    struct at_auth_issuer *issuers;
    size_t n_issuers;
    int64_t skew_s;
    struct at_auth_role_map *role_map;
    size_t n_role_map;
};

/* Parse `config` (auth.h); relative jwks_file / jwks_ca_file paths resolve against base_dir. */
AT_NODISCARD at_status at_auth_config_parse(const json_t *config, const char *base_dir,
                                            struct at_auth **out, struct at_err *e);

#endif
