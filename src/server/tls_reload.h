/*
 * The served TLS certificate and key, swappable at run time (SIGHUP) without
 * dropping connections: MHD gets a GnuTLS certificate-retrieve callback that
 * hands out the current generation. Replaced generations stay allocated until
 * at_tls_store_free (a few KiB per reload), because GnuTLS sessions that
 * started with them may still refer to them. Also the client-certificate
 * check of `mtls` listeners.
 */
#ifndef AT_SERVER_TLS_RELOAD_H
#define AT_SERVER_TLS_RELOAD_H

#include "base/status.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <stddef.h>

struct at_tls_store;

/* Parse the PEM pair into GnuTLS objects (the caller wipes its key copy). */
AT_NODISCARD at_status at_tls_store_new(const char *cert_pem, size_t cert_len, const char *key_pem,
                                        size_t key_len, struct at_tls_store **out,
                                        struct at_err *e);
/* Swap in a new pair; on failure the current one stays. */
AT_NODISCARD at_status at_tls_store_reload(struct at_tls_store *s, const char *cert_pem,
                                           size_t cert_len, const char *key_pem, size_t key_len,
                                           struct at_err *e);
void at_tls_store_free(struct at_tls_store *s);

/*
 * The gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK. It
 * serves the store made active by at_tls_store_activate (one per process).
 */
int at_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey);
void at_tls_store_activate(struct at_tls_store *s);

/* Whether the connection presented a client certificate that GnuTLS verified. */
bool at_tls_client_verified(struct MHD_Connection *conn);

#endif
