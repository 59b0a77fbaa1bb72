/*
 * JMESPath public entry points: compile, free, evaluate, error names.
 * See jmespath.h for the contract and jmespath_int.h for the pipeline.
 */
#include "jmespath_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int at_jmes_seterr(struct at_jmes_error *e, enum at_jmes_err code, size_t off, const char *fmt, ...)
{
    va_list ap;

    /* The first failure wins; callers never overwrite it. */
    if (e == NULL || e->code != AT_JMES_OK) {
        return -1;
    }
    e->code = code;
    e->offset = off;
    va_start(ap, fmt);
    (void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -1;
}

const char *at_jmes_err_name(enum at_jmes_err code)
{
    switch (code) {
    case AT_JMES_OK:
        return "ok";
    case AT_JMES_SYNTAX:
        return "syntax";
    case AT_JMES_INVALID_TYPE:
        return "invalid-type";
    case AT_JMES_INVALID_VALUE:
        return "invalid-value";
    case AT_JMES_INVALID_ARITY:
        return "invalid-arity";
    case AT_JMES_UNKNOWN_FUNCTION:
        return "unknown-function";
    case AT_JMES_LIMIT:
        return "limit";
    case AT_JMES_NOMEM:
        return "nomem";
    }
    return "unknown";
}

static void err_init(struct at_jmes_error *e)
{
    if (e == NULL) {
        return;
    }
    e->code = AT_JMES_OK;
    e->offset = 0;
    e->msg[0] = '\0';
}

void at_jmes_free(struct at_jmes *q)
{
    size_t i;

    if (q == NULL) {
        return;
    }
    for (i = 0; i < q->nall; i++) {
        json_decref(q->all[i]->val);
        free(q->all[i]->kid);
        free(q->all[i]);
    }
    free(q->all);
    free(q);
}

struct at_jmes *at_jmes_compile(const char *expr, size_t len, struct at_jmes_error *e)
{
    struct at_jmes_error local;
    struct at_jmes_toks toks;
    struct at_jmes *q;
    int rc;

    if (e == NULL) {
        e = &local;
    }
    err_init(e);
    if (expr == NULL && len != 0) {
        at_jmes_seterr(e, AT_JMES_SYNTAX, 0, "no expression");
        return NULL;
    }
    if (len > AT_JMES_MAX_EXPR_LEN) {
        at_jmes_seterr(e, AT_JMES_LIMIT, AT_JMES_MAX_EXPR_LEN, "expression longer than %zu bytes",
                       AT_JMES_MAX_EXPR_LEN);
        return NULL;
    }
    memset(&toks, 0, sizeof(toks));
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        at_jmes_seterr(e, AT_JMES_NOMEM, 0, "out of memory");
        return NULL;
    }
    rc = at_jmes_lex(expr == NULL ? "" : expr, len, &toks, e);
    if (rc == 0) {
        rc = at_jmes_parse(q, &toks, e);
    }
    at_jmes_toks_free(&toks);
    if (rc != 0) {
        at_jmes_free(q);
        return NULL;
    }
    return q;
}

json_t *at_jmes_eval(const struct at_jmes *q, json_t *doc, size_t steps_max,
                     struct at_jmes_error *e)
{
    struct at_jmes_error local;
    struct at_jmes_ctx c;
    json_t *r;

    if (e == NULL) {
        e = &local;
    }
    err_init(e);
    if (q == NULL || q->root == NULL) {
        at_jmes_seterr(e, AT_JMES_SYNTAX, 0, "no compiled expression");
        return NULL;
    }
    c.steps = 0;
    c.steps_max = steps_max == 0 ? AT_JMES_DEFAULT_STEPS : steps_max;
    c.e = e;
    r = at_jmes_ev(&c, q->root, doc == NULL ? json_null() : doc);
    if (r == NULL && e->code == AT_JMES_OK) {
        at_jmes_seterr(e, AT_JMES_NOMEM, 0, "out of memory");
    }
    return r;
}
