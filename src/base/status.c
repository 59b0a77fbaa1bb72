#include "base/status.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void at_err_init(struct at_err *e)
{
    memset(e, 0, sizeof(*e));
}

static at_status vfail(struct at_err *e, enum at_code code, const char *check, const char *field,
                       size_t offset, bool has_offset, const char *file, int line,
                       const char *fmt, va_list ap) AT_PRINTF(9, 0);

static at_status vfail(struct at_err *e, enum at_code code, const char *check, const char *field,
                       size_t offset, bool has_offset, const char *file, int line,
                       const char *fmt, va_list ap)
{
    at_assert(code != AT_OK);
    if (e == NULL || e->code != AT_OK) {
        return (at_status){e != NULL ? e->code : code};
    }
    e->code = code;
    e->check = check;
    e->field = field;
    e->offset = offset;
    e->has_offset = has_offset;
    e->file = file;
    e->line = line;
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    return (at_status){code};
}

at_status at_fail_(struct at_err *e, enum at_code code, const char *check, const char *file,
                   int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    at_status s = vfail(e, code, check, NULL, 0, false, file, line, fmt, ap);
    va_end(ap);
    return s;
}

at_status at_fail_at_(struct at_err *e, enum at_code code, const char *field, size_t offset,
                      const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    at_status s = vfail(e, code, NULL, field, offset, true, file, line, fmt, ap);
    va_end(ap);
    return s;
}

void at_err_context(struct at_err *e, const char *ctx)
{
    if (e == NULL || e->code == AT_OK) {
        return;
    }
    char tmp[AT_MSG_MAX];
    size_t n = strlen(ctx);
    if (n + 2 >= sizeof(tmp)) {
        return;
    }
    memcpy(tmp, ctx, n);
    memcpy(tmp + n, ": ", 2);
    size_t m = strnlen(e->msg, sizeof(e->msg));
    if (m > sizeof(tmp) - n - 3) {
        m = sizeof(tmp) - n - 3;
    }
    memcpy(tmp + n + 2, e->msg, m);
    tmp[n + 2 + m] = '\0';
    memcpy(e->msg, tmp, sizeof(e->msg));
}

void at_err_check(struct at_err *e, const char *check)
{
    if (e != NULL && e->code != AT_OK && e->check == NULL) {
        e->check = check;
    }
}

const char *at_code_name(enum at_code code)
{
    switch (code) {
    case AT_OK:
        return "ok";
    case AT_E_PARSE:
        return "malformed";
    case AT_E_TRUNCATED:
        return "truncated";
    case AT_E_TRAILING:
        return "trailing_data";
    case AT_E_UNSUPPORTED:
        return "unsupported";
    case AT_E_BAD_VALUE:
        return "bad_value";
    case AT_E_USAGE:
        return "usage";
    case AT_E_SIGNATURE:
        return "signature_invalid";
    case AT_E_CHAIN:
        return "chain_invalid";
    case AT_E_REVOKED:
        return "revoked";
    case AT_E_EXPIRED:
        return "expired";
    case AT_E_NOT_YET_VALID:
        return "not_yet_valid";
    case AT_E_COLLATERAL:
        return "collateral_invalid";
    case AT_E_MISMATCH:
        return "mismatch";
    case AT_E_TCB_NOT_SUPPORTED:
        return "tcb_not_supported";
    case AT_E_IDENTITY:
        return "identity_mismatch";
    case AT_E_POLICY:
        return "policy_denied";
    case AT_E_UNAUTHENTICATED:
        return "unauthenticated";
    case AT_E_FORBIDDEN:
        return "forbidden";
    case AT_E_NOT_FOUND:
        return "not_found";
    case AT_E_LIMIT:
        return "limit_exceeded";
    case AT_E_NOMEM:
        return "out_of_memory";
    case AT_E_IO:
        return "io_error";
    case AT_E_CRYPTO:
        return "crypto_error";
    case AT_E_INTERNAL:
        return "internal_error";
    }
    return "internal_error";
}

int at_code_http_status(enum at_code code)
{
    int cls = (int)code / 100;
    switch (cls) {
    case 0:
        return 200;
    case 1:
    case 2:
        return 400;
    case 3:
        return code == AT_E_FORBIDDEN ? 403 : 401;
    case 4:
        return 404;
    case 5:
        return 413;
    default:
        return 500;
    }
}

void at_err_openssl(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    if (cap == 0) {
        return;
    }
    buf[0] = '\0';
    if (e != 0) {
        ERR_error_string_n(e, buf, cap);
    }
    ERR_clear_error();
}

_Noreturn void at_assert_fail_(const char *expr, const char *file, int line)
{
    fprintf(stderr, "attestd: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
