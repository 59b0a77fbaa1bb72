/*
 * The first-start TLS certificate: when the operator gives no --tls-cert and
 * --tls-key, attestd makes one self-signed EC P-256 certificate for
 * localhost / 127.0.0.1 / ::1 (one year) in <data_dir>/tls and reuses it, so a
 * client can pin it with `curl --cacert <data_dir>/tls/cert.pem` or
 * NODE_EXTRA_CA_CERTS (maa-api.md §5.5). The key file is 0600 in a 0700 dir.
 */
#include "base/fileio.h"
#include "server/http.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VALIDITY_DAYS 365

static at_status ossl_fail(struct at_err *e, const char *what)
{
    char buf[160];
    at_err_openssl(buf, sizeof(buf));
    AT_FAIL(e, AT_E_CRYPTO, "tls_selfsigned", "%s: %s", what, buf[0] != '\0' ? buf : "failed");
}

static at_status add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, struct at_err *e)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
        X509_EXTENSION_free(ext);
        return ossl_fail(e, "certificate extension");
    }
    X509_EXTENSION_free(ext);
    return at_ok();
}

static at_status build_cert(EVP_PKEY *key, X509 **out, struct at_err *e)
{
    X509 *x = X509_new();
    if (x == NULL) {
        return ossl_fail(e, "X509_new");
    }
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    X509_NAME *name = X509_get_subject_name(x);
    X509V3_CTX ctx;
    at_status st = at_ok();
    if (RAND_bytes(serial, sizeof(serial)) != 1) {
        st = ossl_fail(e, "serial number");
        goto out;
    }
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x01; /* and never zero */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (X509_set_version(x, X509_VERSION_3) != 1 || bn == NULL ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   (const unsigned char *)"attestd (self-signed)", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), (long)VALIDITY_DAYS * 86400) == NULL ||
        X509_set_pubkey(x, key) != 1) {
        st = ossl_fail(e, "certificate fields");
        goto out;
    }
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    /*
     * A leaf that is its own trust anchor: no keyUsage (OpenSSL 3 refuses a
     * self-signed anchor whose keyUsage lacks keyCertSign, and keyCertSign
     * would contradict CA:FALSE); serverAuth for TLS clients that check EKU.
     */
    if (!at_is_ok(st = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE", e)) ||
        !at_is_ok(
            st = add_ext(x, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1", e)) ||
        !at_is_ok(st = add_ext(x, &ctx, NID_ext_key_usage, "serverAuth", e)) ||
        !at_is_ok(st = add_ext(x, &ctx, NID_subject_key_identifier, "hash", e)) ||
        !at_is_ok(st = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", e))) {
        goto out;
    }
    if (X509_sign(x, key, EVP_sha256()) <= 0) {
        st = ossl_fail(e, "X509_sign");
        goto out;
    }
    *out = x;
    x = NULL;
out:
    BN_free(bn);
    X509_free(x);
    return st;
}

/* Write `len` bytes to path via a temporary file and rename (never a half file). */
static at_status write_file(const char *path, const char *data, size_t len, mode_t mode,
                            struct at_err *e)
{
    char tmp[4200];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    AT_ENSURE(n > 0 && (size_t)n < sizeof(tmp), e, AT_E_IO, "tls_write", "path too long");
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    AT_ENSURE(fd >= 0, e, AT_E_IO, "tls_write", "cannot create %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            int err = errno;
            close(fd);
            unlink(tmp);
            AT_FAIL(e, AT_E_IO, "tls_write", "cannot write %s: %s", tmp, strerror(err));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int err = errno;
        unlink(tmp);
        AT_FAIL(e, AT_E_IO, "tls_write", "cannot write %s: %s", tmp, strerror(err));
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        AT_FAIL(e, AT_E_IO, "tls_write", "cannot rename %s: %s", tmp, strerror(err));
    }
    return at_ok();
}

/* PEM of a key or cert into a heap buffer (for the key: wiped by the caller). */
static at_status write_pem(const char *path, EVP_PKEY *key, X509 *cert, struct at_err *e)
{
    BIO *b = BIO_new(BIO_s_secmem());
    if (b == NULL) {
        return ossl_fail(e, "BIO_new");
    }
    int ok = key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_X509(b, cert);
    if (ok != 1) {
        BIO_free(b);
        return ossl_fail(e, "PEM encoding");
    }
    char *data;
    long len = BIO_get_mem_data(b, &data);
    at_status st = write_file(path, data, len > 0 ? (size_t)len : 0, key != NULL ? 0600 : 0644, e);
    BIO_free(b); /* secure-memory BIO: cleansed on free */
    return st;
}

static at_status generate(const char *cert_path, const char *key_path, struct at_err *e)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) {
        return ossl_fail(e, "EC P-256 key generation");
    }
    X509 *cert = NULL;
    at_status st = build_cert(key, &cert, e);
    if (at_is_ok(st)) {
        st = write_pem(key_path, key, NULL, e);
    }
    if (at_is_ok(st)) {
        st = write_pem(cert_path, NULL, cert, e);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return st;
}

at_status at_tls_selfsigned_ensure(const char *data_dir, bool create, char *cert_path,
                                   size_t cert_cap, char *key_path, size_t key_cap,
                                   struct at_err *e)
{
    char dir[4200];
    int n1 = snprintf(dir, sizeof(dir), "%s/tls", data_dir);
    int n2 = snprintf(cert_path, cert_cap, "%s/tls/cert.pem", data_dir);
    int n3 = snprintf(key_path, key_cap, "%s/tls/key.pem", data_dir);
    AT_ENSURE(n1 > 0 && (size_t)n1 < sizeof(dir) && n2 > 0 && (size_t)n2 < cert_cap && n3 > 0 &&
                  (size_t)n3 < key_cap,
              e, AT_E_BAD_VALUE, "tls_path", "data directory path too long");
    bool have_cert = at_path_exists(cert_path) != 0;
    bool have_key = at_path_exists(key_path) != 0;
    if (have_cert && have_key) {
        struct stat st;
        if (stat(key_path, &st) == 0 && (st.st_mode & 0077) != 0) {
            at_log(AT_LOG_WARN, "%s is readable by group or others; chmod 600 it", key_path);
        }
        return at_ok();
    }
    AT_ENSURE(!have_cert && !have_key, e, AT_E_IO, "tls_partial",
              "%s holds only one of cert.pem and key.pem; remove it to regenerate both", dir);
    if (!create) {
        return at_ok();
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        AT_FAIL(e, AT_E_IO, "tls_mkdir", "cannot create %s: %s", dir, strerror(errno));
    }
    AT_ENSURE(at_path_is_dir(dir), e, AT_E_IO, "tls_mkdir", "%s is not a directory", dir);
    AT_TRY(generate(cert_path, key_path, e));
    at_log(AT_LOG_INFO,
           "generated a self-signed TLS certificate (EC P-256, localhost, 127.0.0.1, "
           "::1; valid %d days): %s",
           VALIDITY_DAYS, cert_path);
    return at_ok();
}

at_status at_tls_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem,
                            size_t key_len, int64_t now, struct at_err *e)
{
    AT_ENSURE(cert_len <= INT32_MAX && key_len <= INT32_MAX, e, AT_E_LIMIT, "tls_pair",
              "PEM too large");
    BIO *cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
    BIO *kb = BIO_new_mem_buf(key_pem, (int)key_len);
    X509 *cert = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    at_status st = at_ok();
    if (cert == NULL) {
        st = ossl_fail(e, "TLS certificate is not a PEM X.509 certificate");
    } else if (key == NULL) {
        st = ossl_fail(e, "TLS key is not an unencrypted PEM private key");
    } else if (X509_check_private_key(cert, key) != 1) {
        st = ossl_fail(e, "TLS key does not match the certificate");
    } else {
        time_t t = (time_t)now;
        if (X509_cmp_time(X509_get0_notAfter(cert), &t) < 0) {
            at_log(AT_LOG_WARN, "the TLS certificate has expired; clients will refuse it");
        } else if (X509_cmp_time(X509_get0_notBefore(cert), &t) > 0) {
            at_log(AT_LOG_WARN, "the TLS certificate is not valid yet");
        }
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    return st;
}
