/*
 * JMESPath (https://jmespath.org/specification.html) over jansson values.
 *
 * Serves the policy language's JmesPath(json, query) function (MAA policy
 * 1.2). Passes every non-benchmark case of the official compliance suite
 * (jmespath/jmespath.test).
 *
 * Ownership: at_jmes_compile returns a heap object freed by at_jmes_free.
 * at_jmes_eval borrows `doc` and returns a NEW reference the caller must
 * json_decref. The result may share sub-values with `doc` and with literals
 * of the compiled expression, so treat it as read-only (json_deep_copy it
 * before modifying).
 *
 * Thread safety: a compiled expression is immutable; any number of threads
 * may evaluate it concurrently (jansson >= 2.11 reference counts are
 * atomic), as long as nobody modifies `doc` meanwhile. ThreadSanitizer
 * reports jansson's own json_incref (a plain read of the refcount beside
 * the atomic add); that is jansson's design, not a race in this code.
 *
 * Limits: expressions longer than 64 KiB, nested deeper than 64 levels, or
 * whose syntax tree is deeper than 128 nodes fail to compile with
 * AT_JMES_LIMIT. Evaluation is bounded by `steps_max` units of work (node
 * visits, elements copied, values compared, 16-byte chunks of string built),
 * so both time and memory are bounded; JSON values nested deeper than 512
 * levels fail with AT_JMES_LIMIT where they must be walked (equality,
 * to_string). Strings are UTF-8 and compared by code point.
 *
 * Beyond the 2015 specification (as the reference implementation does):
 * < <= > >= also order two strings (by code point). Ordering any other
 * pair of types yields null. Where implementations disagree and the suite
 * is silent: to_string() writes non-ASCII as UTF-8 (not \uXXXX); a slice
 * always starts a projection, also after an index (`a[0][1:].b`, as
 * go-jmespath; jmespath.py does not project there); `&expr` outside a
 * function argument is null; to_number() accepts exactly the JSON number
 * grammar; unknown functions, wrong argument counts and a zero slice step
 * are compile-time errors.
 *
 * Not checked: `doc` must be a valid jansson value tree (no cycles).
 */
#ifndef AT_POLICY_JMESPATH_H
#define AT_POLICY_JMESPATH_H

#include <jansson.h>
#include <stddef.h>

struct at_jmes; /* compiled expression, immutable, thread-safe to evaluate concurrently */

enum at_jmes_err {
    AT_JMES_OK = 0,
    AT_JMES_SYNTAX,
    AT_JMES_INVALID_TYPE,
    AT_JMES_INVALID_VALUE,
    AT_JMES_INVALID_ARITY,
    AT_JMES_UNKNOWN_FUNCTION,
    AT_JMES_LIMIT,
    AT_JMES_NOMEM
};

struct at_jmes_error {
    enum at_jmes_err code;
    size_t offset; /* byte offset in the expression */
    char msg[160]; /* NUL-terminated, safe to show to a client */
};

/* Compile `expr` (len bytes, need not be NUL-terminated). NULL on error with
 * *e filled (offset = byte offset in expr). `e` may be NULL. Syntax errors,
 * unknown functions, wrong argument counts and a zero slice step are all
 * reported here. */
struct at_jmes *at_jmes_compile(const char *expr, size_t len, struct at_jmes_error *e);

/* Free a compiled expression; NULL is allowed. */
void at_jmes_free(struct at_jmes *q);

/* Evaluate; returns a NEW reference (json_null() for null) or NULL on a
 * runtime error with *e filled (`e` may be NULL). `doc` is borrowed; NULL is
 * treated as JSON null. `steps_max` bounds work (0 = default 1,000,000);
 * exceeding it is AT_JMES_LIMIT. */
json_t *at_jmes_eval(const struct at_jmes *q, json_t *doc, size_t steps_max,
                     struct at_jmes_error *e);

/* "syntax", "invalid-type", "invalid-value", "invalid-arity",
 * "unknown-function" (as in the compliance suite), "limit", "nomem", "ok". */
const char *at_jmes_err_name(enum at_jmes_err code);

#endif
