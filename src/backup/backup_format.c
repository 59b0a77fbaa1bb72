/*
 * The backup file format (backup.h): key material, the fixed header (parsed through
 * the cursor), scrypt, AES-256-GCM sealing and opening. All crypto is OpenSSL's EVP.
 */
#include "backup/backup.h"
#include "base/cursor.h"
#include "base/encoding.h"
#include "base/fileio.h"
#include "base/secure.h"
#include "crypto/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FILE_MAX 4096u

/* ------------------------------------------------------------ key material */

void at_backup_key_clear(struct at_backup_key *k)
{
    if (k == NULL) {
        return;
    }
    at_free_secret(k->pass, k->pass_len);
    at_zeroize(k, sizeof(*k));
}

/* Read a small secret file: regular, no group/other access, at most SECRET_FILE_MAX bytes. */
static at_status read_secret_file(const char *path, const char *what, uint8_t *buf, size_t *len,
                                  struct at_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        AT_FAIL(e, AT_E_IO, "backup_key", "%s %s: %s", what, path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        AT_FAIL(e, AT_E_BAD_VALUE, "backup_key", "%s %s is not a regular file", what, path);
    }
    if ((sb.st_mode & 077) != 0) {
        close(fd);
        AT_FAIL(e, AT_E_BAD_VALUE, "backup_key_mode",
                "%s %s has mode %03o; it must be 0600 or stricter (chmod 600)", what, path,
                (unsigned)(sb.st_mode & 0777));
    }
    size_t n = 0;
    for (;;) {
        if (n == SECRET_FILE_MAX) {
            close(fd);
            at_zeroize(buf, n);
            AT_FAIL(e, AT_E_LIMIT, "backup_key", "%s %s is too large", what, path);
        }
        ssize_t r = read(fd, buf + n, SECRET_FILE_MAX - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int err = errno;
            close(fd);
            at_zeroize(buf, n);
            AT_FAIL(e, AT_E_IO, "backup_key", "cannot read %s %s: %s", what, path, strerror(err));
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return at_ok();
}

at_status at_backup_key_load(const char *path, struct at_backup_key *out, struct at_err *e)
{
    uint8_t buf[SECRET_FILE_MAX];
    size_t n = 0;
    AT_TRY(read_secret_file(path, "backup key file", buf, &n, e));
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
        n--;
    }
    struct at_backup_key k;
    memset(&k, 0, sizeof(k));
    size_t got = 0;
    struct at_err ignored;
    at_err_init(&ignored);
    if (n != 2 * AT_BACKUP_KEY_LEN ||
        !at_is_ok(at_hex_decode((const char *)buf, n, k.raw, sizeof(k.raw), &got, &ignored))) {
        got = 0;
        uint8_t *dec = NULL;
        size_t dec_len = 0;
        at_status s = at_b64_decode_any((const char *)buf, n, &dec, &dec_len, &ignored);
        if (at_is_ok(s) && dec_len == AT_BACKUP_KEY_LEN) {
            memcpy(k.raw, dec, AT_BACKUP_KEY_LEN);
            got = dec_len;
        }
        at_free_secret(dec, dec_len);
    }
    at_zeroize(buf, sizeof(buf));
    if (got != AT_BACKUP_KEY_LEN) {
        at_zeroize(&k, sizeof(k));
        AT_FAIL(e, AT_E_BAD_VALUE, "backup_key",
                "backup key file %s must hold 32 bytes as 64 hex digits or base64", path);
    }
    k.kdf = AT_BACKUP_KDF_RAW;
    *out = k;
    return at_ok();
}

at_status at_backup_passphrase_load(const char *path, struct at_backup_key *out, struct at_err *e)
{
    uint8_t buf[SECRET_FILE_MAX];
    size_t n = 0;
    if (path != NULL) {
        AT_TRY(read_secret_file(path, "backup passphrase file", buf, &n, e));
        if (n > 0 && buf[n - 1] == '\n') {
            n--;
        }
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    } else {
        const char *env = getenv("ATTESTD_BACKUP_PASSPHRASE");
        size_t el = env != NULL ? strlen(env) : 0;
        AT_ENSURE(el > 0, e, AT_E_USAGE, "backup_passphrase",
                  "no passphrase: give a passphrase file or set ATTESTD_BACKUP_PASSPHRASE");
        AT_ENSURE(el <= AT_BACKUP_PASSPHRASE_MAX, e, AT_E_BAD_VALUE, "backup_passphrase",
                  "passphrase longer than %d bytes", AT_BACKUP_PASSPHRASE_MAX);
        memcpy(buf, env, el);
        n = el;
    }
    if (n < AT_BACKUP_PASSPHRASE_MIN || n > AT_BACKUP_PASSPHRASE_MAX ||
        memchr(buf, '\0', n) != NULL) {
        at_zeroize(buf, sizeof(buf));
        AT_FAIL(e, AT_E_BAD_VALUE, "backup_passphrase",
                "the passphrase must be %d to %d bytes without NUL", AT_BACKUP_PASSPHRASE_MIN,
                AT_BACKUP_PASSPHRASE_MAX);
    }
    struct at_backup_key k;
    memset(&k, 0, sizeof(k));
    k.pass = malloc(n + 1);
    if (k.pass == NULL) {
        at_zeroize(buf, sizeof(buf));
        AT_FAIL(e, AT_E_NOMEM, "backup", "out of memory");
    }
    memcpy(k.pass, buf, n);
    k.pass[n] = '\0';
    k.pass_len = n;
    k.kdf = AT_BACKUP_KDF_SCRYPT;
    at_zeroize(buf, sizeof(buf));
    *out = k;
    return at_ok();
}

/* ------------------------------------------------------------------ header */

static bool scrypt_params_ok(uint8_t log_n, uint32_t r, uint32_t p)
{
    if (log_n < 10 || log_n > 22 || r < 1 || r > 32 || p < 1 || p > 16) {
        return false;
    }
    uint64_t mem = (uint64_t)128 * ((uint64_t)1 << log_n) * r * p;
    return mem <= AT_BACKUP_SCRYPT_MAXMEM;
}

at_status at_backup_header_parse(const uint8_t *file, size_t len, struct at_backup_header *out,
                                 struct at_err *e)
{
    AT_ENSURE(len >= AT_BACKUP_HEADER_LEN + AT_BACKUP_TAG_LEN, e, AT_E_TRUNCATED, "backup_header",
              "header: file truncated (%zu bytes; a backup has at least %d)", len,
              AT_BACKUP_HEADER_LEN + AT_BACKUP_TAG_LEN);
    struct at_cur c;
    at_cur_init(&c, file, len, e);
    struct at_backup_header h;
    memset(&h, 0, sizeof(h));
    const uint8_t *magic = NULL;
    AT_TRY(at_cur_bytes(&c, "magic", 8, &magic));
    AT_ENSURE(memcmp(magic, AT_BACKUP_MAGIC, 8) == 0, e, AT_E_PARSE, "backup_header",
              "header: not an attestd backup file (bad magic)");
    AT_TRY(at_cur_u16be(&c, "format", &h.format));
    AT_ENSURE(h.format == AT_BACKUP_FORMAT, e, AT_E_UNSUPPORTED, "backup_header",
              "header: unsupported backup format version %u", (unsigned)h.format);
    AT_TRY(at_cur_u8(&c, "kdf", &h.kdf));
    AT_TRY(at_cur_u8(&c, "scrypt_log_n", &h.log_n));
    AT_TRY(at_cur_u32be(&c, "scrypt_r", &h.r));
    AT_TRY(at_cur_u32be(&c, "scrypt_p", &h.p));
    AT_TRY(at_cur_copy(&c, "salt", h.salt, sizeof(h.salt)));
    AT_TRY(at_cur_copy(&c, "nonce", h.nonce, sizeof(h.nonce)));
    AT_TRY(at_cur_u64be(&c, "ciphertext_length", &h.ct_len));
    if (h.kdf == AT_BACKUP_KDF_RAW) {
        AT_ENSURE(h.log_n == 0 && h.r == 0 && h.p == 0, e, AT_E_BAD_VALUE, "backup_header",
                  "header: KDF parameters given for a raw key");
    } else if (h.kdf == AT_BACKUP_KDF_SCRYPT) {
        AT_ENSURE(scrypt_params_ok(h.log_n, h.r, h.p), e, AT_E_BAD_VALUE, "backup_header",
                  "header: scrypt parameters out of bounds (log2 N %u, r %u, p %u)",
                  (unsigned)h.log_n, (unsigned)h.r, (unsigned)h.p);
    } else {
        AT_FAIL(e, AT_E_UNSUPPORTED, "backup_header", "header: unknown KDF id %u", (unsigned)h.kdf);
    }
    AT_ENSURE(h.ct_len <= AT_BACKUP_FILE_MAX, e, AT_E_LIMIT, "backup_header",
              "header: ciphertext length %llu too large", (unsigned long long)h.ct_len);
    const uint8_t *ct = NULL;
    at_status s = at_cur_bytes(&c, "ciphertext", (size_t)h.ct_len + AT_BACKUP_TAG_LEN, &ct);
    if (!at_is_ok(s)) {
        at_err_context(e, "integrity: file truncated");
        return s;
    }
    s = at_cur_end(&c, "backup file");
    if (!at_is_ok(s)) {
        at_err_context(e, "integrity");
        return s;
    }
    *out = h;
    return at_ok();
}

/* ----------------------------------------------------------------- crypto */

static at_status derive_key(const struct at_backup_key *k, const struct at_backup_header *h,
                            uint8_t out[AT_BACKUP_KEY_LEN], struct at_err *e)
{
    if (h->kdf == AT_BACKUP_KDF_RAW) {
        AT_ENSURE(k->kdf == AT_BACKUP_KDF_RAW, e, AT_E_BAD_VALUE, "backup_key",
                  "decryption: this backup was made with a backup key file, not a passphrase");
        memcpy(out, k->raw, AT_BACKUP_KEY_LEN);
        return at_ok();
    }
    AT_ENSURE(k->kdf == AT_BACKUP_KDF_SCRYPT, e, AT_E_BAD_VALUE, "backup_key",
              "decryption: this backup was made with a passphrase, not a backup key file");
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    uint64_t n = (uint64_t)1 << h->log_n;
    uint64_t maxmem = AT_BACKUP_SCRYPT_MAXMEM + (uint64_t)16 * 1024 * 1024;
    uint32_t r = h->r, p = h->p;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, k->pass, k->pass_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)h->salt,
                                          sizeof(h->salt)),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx != NULL && EVP_KDF_derive(ctx, out, AT_BACKUP_KEY_LEN, params) == 1;
    EVP_KDF_CTX_free(ctx);
    if (!ok) {
        char buf[160];
        at_err_openssl(buf, sizeof(buf));
        AT_FAIL(e, AT_E_CRYPTO, "backup_kdf", "decryption: scrypt failed: %s", buf);
    }
    return at_ok();
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

/* AES-256-GCM over in (len) with aad; enc 1 = seal (tag written), 0 = open (tag checked). */
static int gcm(int enc, const uint8_t key[AT_BACKUP_KEY_LEN], const uint8_t nonce[12],
               const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
               uint8_t tag[AT_BACKUP_TAG_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx != NULL && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1;
    int outl = 0;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) == 1;
    size_t done = 0;
    while (ok && done < len) {
        size_t chunk = len - done > (1u << 30) ? (1u << 30) : len - done;
        ok = EVP_CipherUpdate(ctx, out + done, &outl, in + done, (int)chunk) == 1 &&
             (size_t)outl == chunk;
        done += chunk;
    }
    if (ok && !enc) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AT_BACKUP_TAG_LEN, tag) == 1;
    }
    uint8_t fin[16];
    ok = ok && EVP_CipherFinal_ex(ctx, fin, &outl) == 1 && outl == 0;
    if (ok && enc) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AT_BACKUP_TAG_LEN, tag) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

at_status at_backup_seal(const json_t *doc, const struct at_backup_key *k, uint8_t **out,
                         size_t *out_len, struct at_err *e)
{
    AT_ENSURE(k->kdf == AT_BACKUP_KDF_RAW || k->kdf == AT_BACKUP_KDF_SCRYPT, e, AT_E_USAGE,
              "backup_key", "no backup key");
    /* json_dumpb writes straight into our buffer: no intermediate copies of the plaintext
       are left behind in freed memory (json_dumps grows and frees a buffer as it goes). */
    size_t flags = JSON_COMPACT | JSON_SORT_KEYS;
    size_t pt_len = json_dumpb(doc, NULL, 0, flags);
    AT_ENSURE(pt_len > 0 && pt_len <= AT_BACKUP_FILE_MAX, e, AT_E_LIMIT, "backup",
              "cannot serialise the backup");
    char *pt = malloc(pt_len);
    AT_ENSURE(pt != NULL, e, AT_E_NOMEM, "backup", "out of memory");
    if (json_dumpb(doc, pt, pt_len, flags) != pt_len) {
        at_free_secret(pt, pt_len);
        AT_FAIL(e, AT_E_INTERNAL, "backup", "cannot serialise the backup");
    }
    struct at_backup_header h;
    memset(&h, 0, sizeof(h));
    h.format = AT_BACKUP_FORMAT;
    h.kdf = (uint8_t)k->kdf;
    if (k->kdf == AT_BACKUP_KDF_SCRYPT) {
        h.log_n = AT_BACKUP_SCRYPT_LOGN;
        h.r = AT_BACKUP_SCRYPT_R;
        h.p = AT_BACKUP_SCRYPT_P;
    }
    h.ct_len = pt_len;
    uint8_t *f = NULL;
    size_t flen = AT_BACKUP_HEADER_LEN + pt_len + AT_BACKUP_TAG_LEN;
    at_status s = at_ok();
    if (RAND_bytes(h.salt, sizeof(h.salt)) != 1 || RAND_bytes(h.nonce, sizeof(h.nonce)) != 1) {
        s = at_fail_(e, AT_E_CRYPTO, "backup", __FILE__, __LINE__, "RAND_bytes failed");
    } else if ((f = malloc(flen)) == NULL) {
        s = at_fail_(e, AT_E_NOMEM, "backup", __FILE__, __LINE__, "out of memory");
    }
    uint8_t key[AT_BACKUP_KEY_LEN];
    if (at_is_ok(s)) {
        memcpy(f, AT_BACKUP_MAGIC, 8);
        put_be(f + 8, h.format, 2);
        f[10] = h.kdf;
        f[11] = h.log_n;
        put_be(f + 12, h.r, 4);
        put_be(f + 16, h.p, 4);
        memcpy(f + 20, h.salt, 16);
        memcpy(f + 36, h.nonce, 12);
        put_be(f + 48, h.ct_len, 8);
        s = derive_key(k, &h, key, e);
    }
    if (at_is_ok(s) && gcm(1, key, h.nonce, f, AT_BACKUP_HEADER_LEN, (const uint8_t *)pt, pt_len,
                           f + AT_BACKUP_HEADER_LEN, f + AT_BACKUP_HEADER_LEN + pt_len) != 0) {
        s = at_fail_(e, AT_E_CRYPTO, "backup", __FILE__, __LINE__, "AES-GCM failed");
    }
    at_zeroize(key, sizeof(key));
    at_free_secret(pt, pt_len);
    if (!at_is_ok(s)) {
        free(f);
        return s;
    }
    *out = f;
    *out_len = flen;
    return at_ok();
}

at_status at_backup_open(const uint8_t *file, size_t len, const struct at_backup_key *k,
                         json_t **doc, struct at_err *e)
{
    struct at_backup_header h;
    memset(&h, 0, sizeof(h));
    AT_TRY(at_backup_header_parse(file, len, &h, e));
    uint8_t key[AT_BACKUP_KEY_LEN];
    AT_TRY(derive_key(k, &h, key, e));
    size_t n = (size_t)h.ct_len;
    uint8_t *pt = malloc(n + 1);
    if (pt == NULL) {
        at_zeroize(key, sizeof(key));
        AT_FAIL(e, AT_E_NOMEM, "backup", "out of memory");
    }
    uint8_t tag[AT_BACKUP_TAG_LEN];
    memcpy(tag, file + AT_BACKUP_HEADER_LEN + n, sizeof(tag));
    int rc =
        gcm(0, key, h.nonce, file, AT_BACKUP_HEADER_LEN, file + AT_BACKUP_HEADER_LEN, n, pt, tag);
    at_zeroize(key, sizeof(key));
    if (rc != 0) {
        at_free_secret(pt, n + 1);
        AT_FAIL(e, AT_E_SIGNATURE, "backup_integrity",
                "integrity: authentication failed (wrong key or passphrase, or the file was "
                "modified)");
    }
    pt[n] = 0;
    at_status s = at_backup_parse_doc(pt, n, doc, e);
    at_free_secret(pt, n + 1);
    return s;
}

at_status at_backup_read_file(const char *path, const struct at_backup_key *k, json_t **doc,
                              struct at_err *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    AT_TRY(at_file_read(path, AT_BACKUP_FILE_MAX, &buf, &len, e));
    at_status s = at_backup_open(buf, len, k, doc, e);
    free(buf);
    return s;
}

at_status at_backup_policy_hash(const char *text, size_t text_len, const char *jws, char out[48],
                                struct at_err *e)
{
    uint8_t h[AT_SHA256_LEN];
    int rc = jws != NULL ? at_sha256(jws, strlen(jws), h) : at_sha256(text, text_len, h);
    AT_ENSURE(rc == 0, e, AT_E_NOMEM, "backup", "out of memory");
    at_b64url_encode(h, sizeof(h), out);
    return at_ok();
}
