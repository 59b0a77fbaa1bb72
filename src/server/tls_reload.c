/*
 * Reloadable TLS credentials for MHD (server/tls_reload.h): generations of
 * (certificate chain, private key) as GnuTLS objects; the retrieve callback
 * returns the newest under a read lock.
 */
#include "server/tls_reload.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_MAX 8u

struct gen {
    gnutls_pcert_st pcert[CHAIN_MAX];
    unsigned n;
    gnutls_privkey_t key;
    struct gen *older;
};

struct at_tls_store {
    pthread_rwlock_t lock;
    struct gen *cur; /* newest; ->older chains the retired ones */
};

static struct at_tls_store *active;

static void gen_free(struct gen *g)
{
    for (unsigned i = 0; i < g->n; i++) {
        gnutls_pcert_deinit(&g->pcert[i]);
    }
    if (g->key != NULL) {
        gnutls_privkey_deinit(g->key);
    }
    free(g);
}

static at_status gen_load(const char *cert_pem, size_t cert_len, const char *key_pem,
                          size_t key_len, struct gen **out, struct at_err *e)
{
    AT_ENSURE(cert_len <= 0xffffffffu && key_len <= 0xffffffffu, e, AT_E_LIMIT, "tls_load",
              "PEM too large");
    struct gen *g = calloc(1, sizeof(*g));
    AT_ENSURE(g != NULL, e, AT_E_NOMEM, "tls_load", "out of memory");
    gnutls_datum_t cd = {(unsigned char *)(uintptr_t)cert_pem, (unsigned)cert_len};
    gnutls_datum_t kd = {(unsigned char *)(uintptr_t)key_pem, (unsigned)key_len};
    unsigned n = CHAIN_MAX;
    int rc = gnutls_pcert_list_import_x509_raw(g->pcert, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0) {
        free(g);
        AT_FAIL(e, AT_E_PARSE, "tls_load", "certificate: %s", gnutls_strerror(rc));
    }
    g->n = n;
    rc = gnutls_privkey_init(&g->key);
    if (rc >= 0) {
        rc = gnutls_privkey_import_x509_raw(g->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    }
    if (rc < 0) {
        gen_free(g);
        AT_FAIL(e, AT_E_PARSE, "tls_load", "private key: %s", gnutls_strerror(rc));
    }
    /* The key must belong to the leaf: compare the public keys' key ids. */
    unsigned char id1[64], id2[64];
    size_t l1 = sizeof(id1), l2 = sizeof(id2);
    gnutls_pubkey_t pk = NULL;
    bool match =
        gnutls_pubkey_init(&pk) >= 0 && gnutls_pubkey_import_privkey(pk, g->key, 0, 0) >= 0 &&
        gnutls_pubkey_get_key_id(pk, GNUTLS_KEYID_USE_SHA256, id1, &l1) >= 0 &&
        gnutls_pubkey_get_key_id(g->pcert[0].pubkey, GNUTLS_KEYID_USE_SHA256, id2, &l2) >= 0 &&
        l1 == l2 && memcmp(id1, id2, l1) == 0;
    if (pk != NULL) {
        gnutls_pubkey_deinit(pk);
    }
    if (!match) {
        gen_free(g);
        AT_FAIL(e, AT_E_MISMATCH, "tls_load", "the private key does not match the certificate");
    }
    *out = g;
    return at_ok();
}

at_status at_tls_store_new(const char *cert_pem, size_t cert_len, const char *key_pem,
                           size_t key_len, struct at_tls_store **out, struct at_err *e)
{
    struct gen *g;
    AT_TRY(gen_load(cert_pem, cert_len, key_pem, key_len, &g, e));
    struct at_tls_store *s = calloc(1, sizeof(*s));
    if (s == NULL || pthread_rwlock_init(&s->lock, NULL) != 0) {
        free(s);
        gen_free(g);
        AT_FAIL(e, AT_E_NOMEM, "tls_store", "out of memory");
    }
    s->cur = g;
    *out = s;
    return at_ok();
}

at_status at_tls_store_reload(struct at_tls_store *s, const char *cert_pem, size_t cert_len,
                              const char *key_pem, size_t key_len, struct at_err *e)
{
    struct gen *g;
    AT_TRY(gen_load(cert_pem, cert_len, key_pem, key_len, &g, e));
    pthread_rwlock_wrlock(&s->lock);
    g->older = s->cur;
    s->cur = g;
    pthread_rwlock_unlock(&s->lock);
    return at_ok();
}

void at_tls_store_free(struct at_tls_store *s)
{
    if (s == NULL) {
        return;
    }
    if (active == s) {
        active = NULL;
    }
    struct gen *g = s->cur;
    while (g != NULL) {
        struct gen *o = g->older;
        gen_free(g);
        g = o;
    }
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

void at_tls_store_activate(struct at_tls_store *s)
{
    active = s;
}

int at_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_rdn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    struct at_tls_store *s = active;
    if (s == NULL) {
        return -1;
    }
    pthread_rwlock_rdlock(&s->lock);
    struct gen *g = s->cur;
    *pcert = g->pcert;
    *pcert_length = g->n;
    *pkey = g->key;
    pthread_rwlock_unlock(&s->lock);
    return 0;
}

bool at_tls_client_verified(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL) {
        return false;
    }
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    unsigned int n = 0;
    if (gnutls_certificate_get_peers(session, &n) == NULL || n == 0) {
        return false;
    }
    unsigned int status = 0;
    return gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0;
}
