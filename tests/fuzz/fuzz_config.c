/*
 * Fuzz target for the attestd config parser (src/server/config.c): covers
 * at_config_init, at_config_parse (every key's value parser, at_listen_parse,
 * at_time_parse through fixed_time), at_config_check and at_config_clear.
 * Deterministic; no state between runs. config.c is compiled in directly (it
 * is not part of the core library).
 */
#include "server/config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_config c;
    struct at_err e;
    size_t line = 0;
    at_err_init(&e);
    at_config_init(&c);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
        lines += data[i] == '\n';
    }
    if (at_is_ok(at_config_parse(&c, (const char *)data, size, &line, &e))) {
        /* Everything accepted is within its documented range. */
        if (line != 0 || c.listen == NULL || c.data_dir == NULL ||
            c.threads > AT_CONFIG_THREADS_MAX || c.max_body_bytes < AT_CONFIG_BODY_MIN ||
            c.max_body_bytes > AT_CONFIG_BODY_MAX || c.connection_timeout_s < 1 ||
            c.connection_timeout_s > AT_CONFIG_TIMEOUT_MAX_S ||
            c.token_lifetime_s < AT_CONFIG_LIFETIME_MIN_S ||
            c.token_lifetime_s > AT_CONFIG_LIFETIME_MAX_S ||
            (c.listen_addr.family != AF_INET && c.listen_addr.family != AF_INET6) ||
            (c.public_url != NULL && (strlen(c.public_url) > AT_CONFIG_URL_MAX ||
                                      c.public_url[strlen(c.public_url) - 1] == '/'))) {
            __builtin_trap();
        }
        /* Cross-key checks: an unpaired TLS cert/key always fails; other cross-key rules
           (backup keys, listener vs listen, mtls without a CA) may fail too, but every
           failure says why. */
        bool paired = (c.tls_cert == NULL) == (c.tls_key == NULL);
        at_err_init(&e);
        bool ok = at_is_ok(at_config_check(&c, &e));
        if ((!paired && ok) || (!ok && (e.code == AT_OK || e.msg[0] == '\0'))) {
            __builtin_trap();
        }
    } else if (e.code == AT_OK || e.msg[0] == '\0' || line == 0 || line > lines ||
               strncmp(e.msg, "line ", 5) != 0) {
        /* Every failure names its line. */
        __builtin_trap();
    }
    at_config_clear(&c);
    return 0;
}
