/*
 * libFuzzer target: certificate chains from hostile bytes (PEM or concatenated DER,
 * at_x509_pem_chain) and the PCK certificate SGX extension (at_pck_ext_parse) of
 * every certificate in them.
 */
#include "crypto/x509.h"
#include "evidence/dcap_pck.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_err e;
    at_err_init(&e);
    STACK_OF(X509) *sk = NULL;
    if (at_is_ok(at_x509_pem_chain(data, size, &sk, "fuzz", &e))) {
        for (int i = 0; i < sk_X509_num(sk); i++) {
            struct at_pck_ext ext;
            at_err_init(&e);
            at_status s = at_pck_ext_parse(sk_X509_value(sk, i), &ext, &e);
            (void)s; /* either outcome is fine; crashes and leaks are not */
        }
        sk_X509_pop_free(sk, X509_free);
    }
    return 0;
}
