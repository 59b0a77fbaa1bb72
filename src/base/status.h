/*
 * Status codes and the error context.
 *
 * Every fallible function returns `at_status`, a one-field struct that the
 * compiler will not let a caller drop silently (warn_unused_result on the
 * function, as s2n-tls does), and fills a caller-owned `struct at_err` with
 * the first failure: code, a message safe to show a client, the field and the
 * byte offset that were wrong, and file:line for logs. Later failures never
 * overwrite the first one; callers may add context with at_err_context().
 *
 * Codes are grouped by class (hundreds digit); the server maps a class to an
 * HTTP status: input/verification 400, auth 401/403, missing 404, limit 413/429,
 * internal 500. A failed verification is an input error, never a 500.
 */
#ifndef AT_BASE_STATUS_H
#define AT_BASE_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#define AT_NODISCARD __attribute__((warn_unused_result))
#define AT_PRINTF(f, a) __attribute__((format(printf, f, a)))

enum at_code {
    AT_OK = 0,
    /* 1xx: malformed input */
    AT_E_PARSE = 100,     /* generic malformed input */
    AT_E_TRUNCATED,       /* input ended before a field */
    AT_E_TRAILING,        /* bytes after the end of a structure */
    AT_E_UNSUPPORTED,     /* well-formed but a version/type we do not accept */
    AT_E_BAD_VALUE,       /* a field holds a value outside its domain */
    AT_E_USAGE,           /* bad API or command-line usage */
    /* 2xx: verification failed */
    AT_E_SIGNATURE = 200,   /* a signature does not verify */
    AT_E_CHAIN,             /* a certificate chain does not lead to the pinned root */
    AT_E_REVOKED,           /* a certificate is on a CRL, or a TCB level is Revoked */
    AT_E_EXPIRED,           /* a certificate or collateral expired before T */
    AT_E_NOT_YET_VALID,     /* a certificate or collateral is not valid yet at T */
    AT_E_COLLATERAL,        /* collateral missing or inconsistent */
    AT_E_MISMATCH,          /* two values that must agree do not (FMSPC, binding...) */
    AT_E_TCB_NOT_SUPPORTED, /* no TCB level matches */
    AT_E_IDENTITY,          /* QE / module identity mismatch */
    AT_E_POLICY,            /* denied by policy */
    /* 3xx: authentication and authorisation */
    AT_E_UNAUTHENTICATED = 300,
    AT_E_FORBIDDEN,
    /* 4xx: not found */
    AT_E_NOT_FOUND = 400,
    /* 5xx: limits */
    AT_E_LIMIT = 500,
    /* 6xx: internal */
    AT_E_NOMEM = 600,
    AT_E_IO,
    AT_E_CRYPTO, /* OpenSSL failed for a reason other than bad input */
    AT_E_INTERNAL,
};

typedef struct {
    enum at_code code;
} at_status;

#define AT_MSG_MAX 320

struct at_err {
    enum at_code code;
    char msg[AT_MSG_MAX];
    const char *check;  /* static name of the failing check, e.g. "quote_signature" */
    const char *field;  /* static name of the field, or NULL */
    size_t offset;      /* byte offset in the input, valid when has_offset */
    bool has_offset;
    const char *file;
    int line;
};

static inline at_status at_ok(void)
{
    return (at_status){AT_OK};
}

static inline bool at_is_ok(at_status s)
{
    return s.code == AT_OK;
}

void at_err_init(struct at_err *e);

/* Record a failure (first one wins) and return it as a status. */
at_status at_fail_(struct at_err *e, enum at_code code, const char *check, const char *file,
                   int line, const char *fmt, ...) AT_PRINTF(6, 7);

/* Same, with the field name and byte offset of the bad input. */
at_status at_fail_at_(struct at_err *e, enum at_code code, const char *field, size_t offset,
                      const char *file, int line, const char *fmt, ...) AT_PRINTF(7, 8);

/* Prefix context ("in PCK chain: ") to an existing message. */
void at_err_context(struct at_err *e, const char *ctx);

/* Set the check name if none is set yet. */
void at_err_check(struct at_err *e, const char *check);

/* Stable short name of a code, e.g. "signature_invalid". */
const char *at_code_name(enum at_code code);

/* The HTTP status the server answers with for a code. */
int at_code_http_status(enum at_code code);

/* Drain OpenSSL's error queue into a short string (for messages). */
void at_err_openssl(char *buf, size_t cap);

#define AT_FAIL(e, code, check, ...) return at_fail_((e), (code), (check), __FILE__, __LINE__, __VA_ARGS__)

#define AT_ENSURE(cond, e, code, check, ...)                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            AT_FAIL(e, code, check, __VA_ARGS__);                                                  \
        }                                                                                          \
    } while (0)

#define AT_TRY(expr)                                                                               \
    do {                                                                                           \
        at_status at_try_s_ = (expr);                                                              \
        if (!at_is_ok(at_try_s_)) {                                                                \
            return at_try_s_;                                                                      \
        }                                                                                          \
    } while (0)

/* Programmer errors: abort in every build. */
#define at_assert(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            at_assert_fail_(#cond, __FILE__, __LINE__);                                            \
        }                                                                                          \
    } while (0)

_Noreturn void at_assert_fail_(const char *expr, const char *file, int line);

#endif
