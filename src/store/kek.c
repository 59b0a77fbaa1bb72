/*
 * The store's key-encryption key: loading from a key file, the environment or a
 * systemd credential, parsing, generating (kek.h). Every buffer that held key bytes
 * is zeroized before it is released.
 */
#define _POSIX_C_SOURCE 200809L
#include "store/kek.h"

#include "base/encoding.h"
#include "base/secure.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEK_TEXT_MAX 256 /* far more than any valid encoding */

const char *at_kek_source_name(enum at_kek_source s)
{
    switch (s) {
    case AT_KEK_SRC_FILE:
        return "file";
    case AT_KEK_SRC_ENV:
        return "env";
    case AT_KEK_SRC_CREDENTIAL:
        return "credential";
    case AT_KEK_SRC_MEMORY:
        return "memory";
    case AT_KEK_SRC_NONE:
        break;
    }
    return "none";
}

void at_kek_clear(struct at_kek *k)
{
    if (k != NULL) {
        at_zeroize(k, sizeof(*k));
    }
}

void at_kek_from_bytes(const uint8_t key[AT_KEK_LEN], struct at_kek *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->key, key, AT_KEK_LEN);
    out->source = AT_KEK_SRC_MEMORY;
}

at_status at_kek_parse(const char *text, size_t len, uint8_t out[AT_KEK_LEN], struct at_err *e)
{
    if (len > 0 && text[len - 1] == '\n') {
        len--;
        if (len > 0 && text[len - 1] == '\r') {
            len--;
        }
    }
    if (len == 2 * AT_KEK_LEN) {
        size_t n = 0;
        struct at_err ignored;
        at_err_init(&ignored);
        if (at_is_ok(at_hex_decode(text, len, out, AT_KEK_LEN, &n, &ignored)) &&
            n == AT_KEK_LEN) {
            return at_ok();
        }
        at_zeroize(out, AT_KEK_LEN);
    }
    if (len == 43 || len == 44) {
        uint8_t *b = NULL;
        size_t n = 0;
        struct at_err ignored;
        at_err_init(&ignored);
        if (at_is_ok(at_b64_decode_any(text, len, &b, &n, &ignored))) {
            bool good = n == AT_KEK_LEN;
            if (good) {
                memcpy(out, b, AT_KEK_LEN);
            }
            at_free_secret(b, n);
            if (good) {
                return at_ok();
            }
        }
    }
    AT_FAIL(e, AT_E_BAD_VALUE, "kek_format",
            "the key-encryption key must be 64 hex characters or base64 of 32 bytes");
}

/* Read a key file; strict: owner = this user and no group/other permission bits. */
static at_status read_key_file(const char *path, bool strict_owner, uint8_t out[AT_KEK_LEN],
                               struct at_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        AT_FAIL(e, AT_E_IO, "kek_file", "cannot open key file %s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        AT_FAIL(e, AT_E_IO, "kek_file", "key file %s is not a regular file", path);
    }
    if ((sb.st_mode & 077) != 0 || (strict_owner && sb.st_uid != geteuid())) {
        close(fd);
        AT_FAIL(e, AT_E_IO, "kek_file",
                "key file %s must be owned by this user with mode 0600 or stricter (it is %04o)",
                path, (unsigned)(sb.st_mode & 07777));
    }
    char buf[KEK_TEXT_MAX];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int err = errno;
            close(fd);
            at_zeroize(buf, sizeof(buf));
            AT_FAIL(e, AT_E_IO, "kek_file", "cannot read key file %s: %s", path, strerror(err));
        }
        if (r == 0 || n + (size_t)r == sizeof(buf)) {
            n += (size_t)r;
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    at_status st = n < sizeof(buf) ? at_kek_parse(buf, n, out, e)
                                   : at_fail_(e, AT_E_BAD_VALUE, "kek_format", __FILE__, __LINE__,
                                              "key file %s is too large", path);
    at_zeroize(buf, sizeof(buf));
    if (!at_is_ok(st)) {
        at_err_context(e, "key file: ");
    }
    return st;
}

static at_status load_from(struct at_kek *k, struct at_err *e)
{
    switch (k->source) {
    case AT_KEK_SRC_FILE:
        return read_key_file(k->path, true, k->key, e);
    case AT_KEK_SRC_CREDENTIAL:
        return read_key_file(k->path, false, k->key, e);
    case AT_KEK_SRC_ENV: {
        const char *v = getenv(AT_KEK_ENV);
        AT_ENSURE(v != NULL && v[0] != '\0', e, AT_E_USAGE, "kek_missing",
                  "%s is no longer set", AT_KEK_ENV);
        at_status st = at_kek_parse(v, strlen(v), k->key, e);
        if (!at_is_ok(st)) {
            at_err_context(e, AT_KEK_ENV ": ");
        }
        return st;
    }
    case AT_KEK_SRC_MEMORY:
        return at_ok();
    case AT_KEK_SRC_NONE:
        break;
    }
    AT_FAIL(e, AT_E_USAGE, "kek_missing", "no key-encryption key");
}

static at_status set_path(struct at_kek *k, const char *a, const char *b, struct at_err *e)
{
    int n = snprintf(k->path, sizeof(k->path), "%s%s", a, b);
    AT_ENSURE(n > 0 && (size_t)n < sizeof(k->path), e, AT_E_LIMIT, "kek_file",
              "key file path too long");
    return at_ok();
}

at_status at_kek_load(const char *kek_file, struct at_kek *out, struct at_err *e)
{
    struct at_kek k;
    memset(&k, 0, sizeof(k));
    const char *env = getenv(AT_KEK_ENV);
    const char *cred = getenv("CREDENTIALS_DIRECTORY");
    char cpath[AT_KEK_PATH_MAX];
    bool have_cred = false;
    if (cred != NULL && cred[0] != '\0') {
        int n = snprintf(cpath, sizeof(cpath), "%s/%s", cred, AT_KEK_CRED);
        have_cred = n > 0 && (size_t)n < sizeof(cpath) && access(cpath, F_OK) == 0;
    }
    at_status st;
    if (kek_file != NULL && kek_file[0] != '\0') {
        k.source = AT_KEK_SRC_FILE;
        st = set_path(&k, kek_file, "", e);
    } else if (env != NULL && env[0] != '\0') {
        k.source = AT_KEK_SRC_ENV;
        st = at_ok();
    } else if (have_cred) {
        k.source = AT_KEK_SRC_CREDENTIAL;
        st = set_path(&k, cpath, "", e);
    } else {
        AT_FAIL(e, AT_E_USAGE, "kek_missing",
                "no key-encryption key (set kek_file, ATTESTD_KEK or the systemd credential "
                "attestd-kek)");
    }
    if (at_is_ok(st)) {
        st = load_from(&k, e);
    }
    if (!at_is_ok(st)) {
        at_kek_clear(&k);
        return st;
    }
    *out = k;
    at_kek_clear(&k);
    return at_ok();
}

at_status at_kek_reload(struct at_kek *k, struct at_err *e)
{
    struct at_kek fresh = *k;
    at_status st = load_from(&fresh, e);
    if (at_is_ok(st)) {
        memcpy(k->key, fresh.key, AT_KEK_LEN);
    }
    at_kek_clear(&fresh);
    return st;
}

at_status at_kek_generate_file(const char *path, struct at_err *e)
{
    AT_ENSURE(path != NULL && path[0] != '\0', e, AT_E_USAGE, "kek_file", "no output file");
    uint8_t key[AT_KEK_LEN];
    char hex[2 * AT_KEK_LEN + 2];
    AT_ENSURE(RAND_priv_bytes(key, sizeof(key)) == 1, e, AT_E_CRYPTO, "kek_generate",
              "cannot draw random bytes");
    at_hex_encode(key, sizeof(key), hex);
    at_zeroize(key, sizeof(key));
    hex[2 * AT_KEK_LEN] = '\n';
    hex[2 * AT_KEK_LEN + 1] = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int err = errno;
        at_zeroize(hex, sizeof(hex));
        AT_FAIL(e, AT_E_IO, "kek_file", "cannot create %s: %s", path,
                err == EEXIST ? "it already exists (refusing to overwrite)" : strerror(err));
    }
    size_t want = 2 * AT_KEK_LEN + 1, done = 0;
    bool ok = fchmod(fd, 0600) == 0;
    while (ok && done < want) {
        ssize_t w = write(fd, hex + done, want - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        ok = w > 0;
        done += ok ? (size_t)w : 0;
    }
    ok = ok && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    at_zeroize(hex, sizeof(hex));
    if (!ok) {
        unlink(path);
        AT_FAIL(e, AT_E_IO, "kek_file", "cannot write %s", path);
    }
    return at_ok();
}
