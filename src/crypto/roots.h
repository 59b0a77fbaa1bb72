/* Pinned vendor roots. The returned certificates live for the whole process; do not free. */
#ifndef AT_CRYPTO_ROOTS_H
#define AT_CRYPTO_ROOTS_H

#include <openssl/x509.h>

X509 *at_root_intel_sgx(void);

#endif
