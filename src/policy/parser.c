/*
 * Policy parser: tokens to AST (spec §3.1), with the lenient forms of §3.2
 * and the static validation of §3.3. Recursive descent with two tokens of
 * lookahead. Every error carries line:column and, for syntax errors, what
 * was expected.
 */
#include "base/limits.h"
#include "policy/ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parser {
    struct at_policy *p;
    struct pol_lexer lx;
    struct pol_token tok[3]; /* tok[0] current, then lookahead */
    unsigned ntok;
    size_t prev_end; /* end offset of the last consumed token */
    struct at_policy_diag *diag;
    struct at_err *e;
    bool strict;
    uint32_t nrules;
};

static at_status fill(struct parser *ps, unsigned n)
{
    while (ps->ntok < n) {
        AT_TRY(pol_lex_next(&ps->lx, &ps->tok[ps->ntok], ps->diag, ps->e));
        ps->ntok++;
    }
    return at_ok();
}

static at_status next(struct parser *ps)
{
    ps->prev_end = ps->tok[0].off + ps->tok[0].len;
    ps->tok[0] = ps->tok[1];
    ps->tok[1] = ps->tok[2];
    ps->ntok--;
    return fill(ps, 1);
}

/* Lookahead token i (0 = current). */
static at_status la(struct parser *ps, unsigned i, const struct pol_token **out)
{
    AT_TRY(fill(ps, i + 1));
    *out = &ps->tok[i];
    return at_ok();
}

static void describe(const struct pol_token *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case T_IDENT:
        snprintf(buf, cap, "'%.*s'", (int)(t->str_len > 40 ? 40 : t->str_len), t->str);
        break;
    case T_STRING:
        snprintf(buf, cap, "string \"%.*s%s\"", (int)(t->str_len > 30 ? 30 : t->str_len), t->str,
                 t->str_len > 30 ? "..." : "");
        break;
    case T_INT:
        snprintf(buf, cap, "integer %lld", (long long)t->ival);
        break;
    default:
        snprintf(buf, cap, "%s", pol_tok_name(t->kind));
        break;
    }
}

/* Syntax error at the current token: "expected X, found Y". */
static at_status expected(struct parser *ps, const char *what)
{
    const struct pol_token *t = &ps->tok[0];
    char found[96];
    describe(t, found, sizeof(found));
    if (ps->diag != NULL) {
        memset(ps->diag, 0, sizeof(*ps->diag));
        ps->diag->line = t->line;
        ps->diag->col = t->col;
        ps->diag->offset = t->off;
        snprintf(ps->diag->msg, sizeof(ps->diag->msg), "expected %s, found %s", what, found);
        snprintf(ps->diag->expected, sizeof(ps->diag->expected), "%s", what);
    }
    return at_fail_at_(ps->e, AT_E_PARSE, "policy", t->off, __FILE__, __LINE__,
                       "%u:%u: expected %s, found %s", t->line, t->col, what, found);
}

/* Validation error at a position. */
static at_status invalid(struct parser *ps, enum at_code code, uint32_t line, uint32_t col,
                         size_t off, const char *fmt, ...) AT_PRINTF(6, 7);

static at_status invalid(struct parser *ps, enum at_code code, uint32_t line, uint32_t col,
                         size_t off, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ps->diag != NULL) {
        memset(ps->diag, 0, sizeof(*ps->diag));
        ps->diag->line = line;
        ps->diag->col = col;
        ps->diag->offset = off;
        snprintf(ps->diag->msg, sizeof(ps->diag->msg), "%s", msg);
    }
    return at_fail_at_(ps->e, code, "policy", off, __FILE__, __LINE__, "%u:%u: %s", line, col, msg);
}

static at_status nomem(struct parser *ps)
{
    AT_FAIL(ps->e, AT_E_NOMEM, "policy", "out of memory");
}

/* Is token t the keyword `kw` (ASCII case-insensitive, spec §2.3 / A1)? */
static bool is_kw(const struct pol_token *t, const char *kw)
{
    size_t n = strlen(kw);
    return t->kind == T_IDENT && t->str_len == n && strncasecmp(t->str, kw, n) == 0;
}

static void warn_case(struct parser *ps, const struct pol_token *t, const char *canonical)
{
    if (memcmp(t->str, canonical, t->str_len) != 0) {
        pol_warn(ps->p, t->line, t->col, t->off,
                 "'%.*s' is not spelled '%s' (keywords are matched case-insensitively, A1)",
                 (int)t->str_len, t->str, canonical);
    }
}

static const char *const reserved[] = {
    "version", "configurationrules", "authorizationrules", "issuancerules", "type",
    "value",   "issuer",             "valueType",          "claim",         "permit",
    "deny",    "add",                "issue",              "issueproperty", "true",
    "false",
};

static bool is_reserved(const struct pol_token *t)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (is_kw(t, reserved[i])) {
            return true;
        }
    }
    return false;
}

static at_status expect_kw(struct parser *ps, const char *kw)
{
    if (!is_kw(&ps->tok[0], kw)) {
        char what[64];
        snprintf(what, sizeof(what), "'%s'", kw);
        return expected(ps, what);
    }
    warn_case(ps, &ps->tok[0], kw);
    return next(ps);
}

static at_status expect(struct parser *ps, enum pol_tok k)
{
    if (ps->tok[0].kind != k) {
        return expected(ps, pol_tok_name(k));
    }
    return next(ps);
}

static char *lower_ident(struct parser *ps, const struct pol_token *t)
{
    char *s = pol_strndup(&ps->p->arena, t->str, t->str_len);
    for (char *q = s; q != NULL && *q != '\0'; q++) {
        if (*q >= 'A' && *q <= 'Z') {
            *q = (char)(*q - 'A' + 'a');
        }
    }
    return s;
}

/* ---- expressions ---- */

struct rule_ctx {
    struct pol_cond *conds; /* conditions parsed so far */
    uint32_t nconds;        /* conditions visible to references */
};

static at_status parse_expr(struct parser *ps, const struct rule_ctx *rc, unsigned depth,
                            struct pol_expr **out);

static int find_binding(const struct rule_ctx *rc, const char *name)
{
    for (uint32_t i = 0; i < rc->nconds; i++) {
        if (rc->conds[i].ident != NULL && strcmp(rc->conds[i].ident, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static at_status parse_call(struct parser *ps, const struct rule_ctx *rc, unsigned depth,
                            struct pol_expr *x)
{
    const struct pol_token *t = &ps->tok[0];
    int fn = -1;
    for (int i = 0; i < POL_NFN; i++) {
        if (is_kw(t, pol_fn_name((enum pol_fn)i))) {
            fn = i;
        }
    }
    if (fn < 0) {
        return invalid(ps, AT_E_PARSE, t->line, t->col, t->off, "unknown function '%.*s'",
                       (int)(t->str_len > 40 ? 40 : t->str_len), t->str);
    }
    if (ps->p->version < 12) {
        return invalid(ps, AT_E_PARSE, t->line, t->col, t->off,
                       "function calls require policy version 1.2 (A11)");
    }
    if (depth >= AT_LIMIT_POLICY_DEPTH) {
        return invalid(ps, AT_E_LIMIT, t->line, t->col, t->off,
                       "function calls nested deeper than %u", AT_LIMIT_POLICY_DEPTH);
    }
    warn_case(ps, t, pol_fn_name((enum pol_fn)fn));
    uint32_t line = t->line, col = t->col;
    size_t off = t->off;
    AT_TRY(next(ps));
    AT_TRY(expect(ps, T_LPAREN));
    struct pol_expr *args[AT_LIMIT_POLICY_ITEMS];
    uint32_t n = 0;
    if (ps->tok[0].kind != T_RPAREN) {
        for (;;) {
            if (n == AT_LIMIT_POLICY_ITEMS) {
                return invalid(ps, AT_E_LIMIT, ps->tok[0].line, ps->tok[0].col, ps->tok[0].off,
                               "more than %u arguments", AT_LIMIT_POLICY_ITEMS);
            }
            AT_TRY(parse_expr(ps, rc, depth + 1, &args[n]));
            n++;
            if (ps->tok[0].kind != T_COMMA) {
                break;
            }
            AT_TRY(next(ps));
        }
    }
    if (ps->tok[0].kind != T_RPAREN) {
        return expected(ps, "',' or ')'");
    }
    AT_TRY(next(ps));
    if (n != pol_fn_arity((enum pol_fn)fn)) {
        return invalid(ps, AT_E_PARSE, line, col, off, "%s takes %u argument%s, not %u",
                       pol_fn_name((enum pol_fn)fn), pol_fn_arity((enum pol_fn)fn),
                       pol_fn_arity((enum pol_fn)fn) == 1 ? "" : "s", n);
    }
    x->kind = EX_CALL;
    x->u.call.fn = (enum pol_fn)fn;
    x->u.call.nargs = n;
    x->u.call.args = pol_alloc(&ps->p->arena, n * sizeof(*args));
    if (x->u.call.args == NULL) {
        return nomem(ps);
    }
    memcpy(x->u.call.args, args, n * sizeof(*args));
    if (fn == FN_JMESPATH && args[1]->kind == EX_STR) {
        /* A literal query is compiled once; an invalid one fails at run time (spec §7.1). */
        struct at_jmes_error je;
        memset(&je, 0, sizeof(je));
        x->u.call.jq = at_jmes_compile(args[1]->u.str.s, args[1]->u.str.len, &je);
        if (x->u.call.jq != NULL) {
            struct at_policy *p = ps->p;
            if (p->njq == p->jq_cap) {
                size_t ncap = p->jq_cap == 0 ? 8 : p->jq_cap * 2;
                struct at_jmes **nv = realloc(p->jq, ncap * sizeof(*nv));
                if (nv == NULL) {
                    at_jmes_free(x->u.call.jq);
                    x->u.call.jq = NULL;
                    return nomem(ps);
                }
                p->jq = nv;
                p->jq_cap = ncap;
            }
            p->jq[p->njq++] = x->u.call.jq;
        } else {
            if (je.code == AT_JMES_NOMEM) {
                return nomem(ps);
            }
            char msg[224];
            snprintf(msg, sizeof(msg), "invalid JMESPath query at offset %zu: %s", je.offset,
                     je.msg);
            x->u.call.jq_err = pol_strndup(&ps->p->arena, msg, strlen(msg));
            if (x->u.call.jq_err == NULL) {
                return nomem(ps);
            }
            pol_warn(ps->p, args[1]->line, args[1]->col, 0, "%s (fails when evaluated)", msg);
        }
    }
    return at_ok();
}

static at_status parse_expr(struct parser *ps, const struct rule_ctx *rc, unsigned depth,
                            struct pol_expr **out)
{
    const struct pol_token *t = &ps->tok[0];
    struct pol_expr *x = pol_alloc(&ps->p->arena, sizeof(*x));
    if (x == NULL) {
        return nomem(ps);
    }
    x->line = t->line;
    x->col = t->col;
    *out = x;
    switch (t->kind) {
    case T_STRING:
        x->kind = EX_STR;
        x->u.str.s = t->str;
        x->u.str.len = t->str_len;
        return next(ps);
    case T_INT:
        x->kind = EX_INT;
        x->u.i = t->ival;
        return next(ps);
    case T_IDENT: {
        if (is_kw(t, "true") || is_kw(t, "false")) {
            x->kind = EX_BOOL;
            x->u.b = is_kw(t, "true");
            warn_case(ps, t, x->u.b ? "true" : "false");
            return next(ps);
        }
        const struct pol_token *t1;
        AT_TRY(la(ps, 1, &t1));
        if (t1->kind == T_LPAREN) {
            return parse_call(ps, rc, depth, x);
        }
        if (t1->kind == T_DOT && !is_reserved(t)) {
            char *name = lower_ident(ps, t);
            if (name == NULL) {
                return nomem(ps);
            }
            int b = find_binding(rc, name);
            if (b < 0) {
                return invalid(ps, AT_E_PARSE, t->line, t->col, t->off,
                               "identifier '%.*s' is not bound by an earlier condition of this "
                               "rule",
                               (int)(t->str_len > 40 ? 40 : t->str_len), t->str);
            }
            AT_TRY(next(ps));
            AT_TRY(next(ps)); /* '.' */
            const struct pol_token *pt = &ps->tok[0];
            enum pol_prop prop;
            if (is_kw(pt, "value")) {
                prop = PROP_VALUE;
            } else if (is_kw(pt, "type")) {
                prop = PROP_TYPE;
            } else if (is_kw(pt, "issuer")) {
                prop = PROP_ISSUER;
            } else {
                return expected(ps, "'value', 'type' or 'issuer'");
            }
            warn_case(ps, pt, pol_prop_name(prop));
            x->kind = EX_REF;
            x->u.ref.ident = name;
            x->u.ref.cond = (uint32_t)b;
            x->u.ref.prop = prop;
            return next(ps);
        }
        break;
    }
    default:
        break;
    }
    return expected(ps, "an expression (string, integer, true, false, identifier.value or "
                        "function call)");
}

/* ---- conditions ---- */

static at_status parse_test(struct parser *ps, const struct rule_ctx *rc, struct pol_test *pt)
{
    const struct pol_token *t = &ps->tok[0];
    pt->line = t->line;
    pt->col = t->col;
    if (is_kw(t, "type")) {
        pt->prop = PROP_TYPE;
    } else if (is_kw(t, "value")) {
        pt->prop = PROP_VALUE;
    } else if (is_kw(t, "issuer")) {
        pt->prop = PROP_ISSUER;
    } else if (is_kw(t, "valueType")) {
        pt->prop = PROP_VALUETYPE;
    } else {
        return expected(ps, "a claim property ('type', 'value', 'issuer' or 'valueType')");
    }
    warn_case(ps, t, pol_prop_name(pt->prop));
    AT_TRY(next(ps));
    t = &ps->tok[0];
    switch (t->kind) {
    case T_EQEQ:
        pt->op = OP_EQ;
        break;
    case T_NE:
        pt->op = OP_NE;
        break;
    case T_LT:
        pt->op = OP_LT;
        break;
    case T_LE:
        pt->op = OP_LE;
        break;
    case T_GT:
        pt->op = OP_GT;
        break;
    case T_GE:
        pt->op = OP_GE;
        break;
    case T_ASSIGN:
        if (ps->strict) {
            return expected(ps, "a comparison operator ('==', '!=', '<', '<=', '>', '>=')");
        }
        pol_warn(ps->p, t->line, t->col, t->off, "'=' used as '==' in a filter (lenient, A5)");
        pt->op = OP_EQ;
        break;
    default:
        return expected(ps, "a comparison operator ('==', '!=', '<', '<=', '>', '>=')");
    }
    AT_TRY(next(ps));
    return parse_expr(ps, rc, 0, &pt->rhs);
}

static at_status parse_cond(struct parser *ps, struct rule_ctx *rc, struct pol_cond *c)
{
    const struct pol_token *t = &ps->tok[0];
    c->line = t->line;
    c->col = t->col;
    c->off = t->off;
    if (t->kind == T_BANG) {
        if (ps->p->version < 12) {
            return invalid(ps, AT_E_PARSE, t->line, t->col, t->off,
                           "'!' conditions require policy version 1.2 (A11)");
        }
        c->negated = true;
        AT_TRY(next(ps));
    } else if (t->kind == T_IDENT) {
        const struct pol_token *t1;
        AT_TRY(la(ps, 1, &t1));
        if (t1->kind != T_COLON) {
            return expected(ps, "a condition ('[', '!' or identifier ':') or '=>'");
        }
        if (is_reserved(t)) {
            return invalid(ps, AT_E_PARSE, t->line, t->col, t->off,
                           "'%.*s' is a keyword and cannot name a claim binding",
                           (int)(t->str_len > 40 ? 40 : t->str_len), t->str);
        }
        c->ident = lower_ident(ps, t);
        if (c->ident == NULL) {
            return nomem(ps);
        }
        if (find_binding(rc, c->ident) >= 0) {
            return invalid(ps, AT_E_PARSE, t->line, t->col, t->off,
                           "identifier '%s' is bound twice in one rule", c->ident);
        }
        AT_TRY(next(ps));
        AT_TRY(next(ps)); /* ':' */
    }
    if (ps->tok[0].kind != T_LBRACK) {
        return expected(ps, c->negated || c->ident != NULL
                                ? "'['"
                                : "a condition ('[', '!' or identifier ':') or '=>'");
    }
    AT_TRY(next(ps));
    struct pol_test tests[AT_LIMIT_POLICY_ITEMS];
    uint32_t n = 0;
    if (ps->tok[0].kind != T_RBRACK) {
        for (;;) {
            if (n == AT_LIMIT_POLICY_ITEMS) {
                return invalid(ps, AT_E_LIMIT, ps->tok[0].line, ps->tok[0].col, ps->tok[0].off,
                               "more than %u property tests in one condition",
                               AT_LIMIT_POLICY_ITEMS);
            }
            memset(&tests[n], 0, sizeof(tests[n]));
            AT_TRY(parse_test(ps, rc, &tests[n]));
            n++;
            if (ps->tok[0].kind != T_COMMA) {
                break;
            }
            AT_TRY(next(ps));
        }
    }
    if (ps->tok[0].kind != T_RBRACK) {
        return expected(ps, "',' or ']'");
    }
    AT_TRY(next(ps));
    c->end = ps->prev_end;
    c->ntests = n;
    c->tests = pol_alloc(&ps->p->arena, n * sizeof(*tests));
    if (c->tests == NULL) {
        return nomem(ps);
    }
    if (n > 0) {
        memcpy(c->tests, tests, n * sizeof(*tests));
    }
    return at_ok();
}

/* ---- actions ---- */

static at_status parse_claim_spec(struct parser *ps, const struct rule_ctx *rc,
                                  struct pol_rule *r)
{
    const struct pol_token *t = &ps->tok[0], *t1;
    AT_TRY(la(ps, 1, &t1));
    if (is_kw(t, "claim") && t1->kind == T_ASSIGN) {
        warn_case(ps, t, "claim");
        AT_TRY(next(ps));
        AT_TRY(next(ps));
        t = &ps->tok[0];
        if (t->kind != T_IDENT || is_reserved(t)) {
            return expected(ps, "an identifier");
        }
        char *name = lower_ident(ps, t);
        if (name == NULL) {
            return nomem(ps);
        }
        int b = find_binding(rc, name);
        if (b < 0) {
            return invalid(ps, AT_E_PARSE, t->line, t->col, t->off,
                           "identifier '%s' is not bound in this rule", name);
        }
        r->copy = true;
        r->copy_cond = (uint32_t)b;
        return next(ps);
    }
    bool first_type;
    if ((is_kw(t, "type") || is_kw(t, "value")) && t1->kind == T_ASSIGN) {
        first_type = is_kw(t, "type");
        warn_case(ps, t, first_type ? "type" : "value");
        AT_TRY(next(ps));
        AT_TRY(next(ps));
    } else {
        if (ps->strict) {
            return expected(ps, "'type =', 'value =' or 'claim ='");
        }
        /* lenient: issue("Name", value=...) (spec §3.2) */
        pol_warn(ps->p, t->line, t->col, t->off,
                 "positional first argument taken as 'type=' (lenient, A5)");
        first_type = true;
    }
    AT_TRY(parse_expr(ps, rc, 0, first_type ? &r->type_e : &r->value_e));
    AT_TRY(expect(ps, T_COMMA));
    const char *second = first_type ? "value" : "type";
    AT_TRY(la(ps, 1, &t1));
    if (!is_kw(&ps->tok[0], second) || t1->kind != T_ASSIGN) {
        char what[32];
        snprintf(what, sizeof(what), "'%s ='", second);
        return expected(ps, what);
    }
    warn_case(ps, &ps->tok[0], second);
    AT_TRY(next(ps));
    AT_TRY(next(ps));
    return parse_expr(ps, rc, 0, first_type ? &r->value_e : &r->type_e);
}

static at_status parse_action(struct parser *ps, enum pol_section sec, const struct rule_ctx *rc,
                              struct pol_rule *r)
{
    const struct pol_token *t = &ps->tok[0];
    uint32_t line = t->line, col = t->col;
    size_t off = t->off;
    static const char *const names[] = {"permit", "deny", "add", "issue", "issueproperty"};
    int a = -1;
    for (int i = 0; i < 5; i++) {
        if (is_kw(t, names[i])) {
            a = i;
        }
    }
    if (a < 0) {
        return expected(ps, "an action ('permit', 'deny', 'add', 'issue' or 'issueproperty')");
    }
    warn_case(ps, t, names[a]);
    r->action = (enum pol_action)a;
    /* Placement (spec §3.3.4, §6.4). */
    switch (r->action) {
    case ACT_PERMIT:
    case ACT_DENY:
        if (sec != SEC_AUTHZ) {
            return invalid(ps, AT_E_PARSE, line, col, off,
                           "%s() is only allowed in authorizationrules", names[a]);
        }
        break;
    case ACT_ADD:
        if (sec == SEC_CONFIG) {
            return invalid(ps, AT_E_PARSE, line, col, off,
                           "configurationrules only allow issueproperty()");
        }
        break;
    case ACT_ISSUE:
        if (sec == SEC_CONFIG) {
            return invalid(ps, AT_E_PARSE, line, col, off,
                           "configurationrules only allow issueproperty()");
        }
        if (sec == SEC_AUTHZ) {
            if (ps->strict) {
                return invalid(ps, AT_E_PARSE, line, col, off,
                               "issue() is not allowed in authorizationrules (strict mode, A9)");
            }
            pol_warn(ps->p, line, col, off,
                     "issue() in authorizationrules behaves as add() (lenient, A9)");
            r->issue_as_add = true;
        }
        break;
    case ACT_ISSUEPROPERTY:
        if (sec == SEC_AUTHZ) {
            return invalid(ps, AT_E_PARSE, line, col, off,
                           "issueproperty() is not allowed in authorizationrules");
        }
        break;
    }
    AT_TRY(next(ps));
    AT_TRY(expect(ps, T_LPAREN));
    if (r->action == ACT_PERMIT || r->action == ACT_DENY) {
        if (ps->tok[0].kind != T_RPAREN) {
            return expected(ps, "')'");
        }
    } else {
        AT_TRY(parse_claim_spec(ps, rc, r));
    }
    if (ps->tok[0].kind != T_RPAREN) {
        return expected(ps, "')'");
    }
    AT_TRY(next(ps));
    return at_ok();
}

/* Could the current token start a rule (used for the lenient missing ';')? */
static at_status starts_rule(struct parser *ps, bool *yes)
{
    const struct pol_token *t = &ps->tok[0], *t1;
    *yes = t->kind == T_LBRACK || t->kind == T_BANG || t->kind == T_ARROW;
    if (!*yes && t->kind == T_IDENT) {
        AT_TRY(la(ps, 1, &t1));
        *yes = t1->kind == T_COLON;
    }
    return at_ok();
}

static at_status parse_rule(struct parser *ps, enum pol_section sec, struct pol_rule *r)
{
    const struct pol_token *t = &ps->tok[0];
    r->line = t->line;
    r->col = t->col;
    r->off = t->off;
    struct pol_cond conds[AT_LIMIT_POLICY_ITEMS];
    struct rule_ctx rc = {conds, 0};
    if (ps->tok[0].kind != T_ARROW) {
        for (;;) {
            if (rc.nconds == AT_LIMIT_POLICY_ITEMS) {
                return invalid(ps, AT_E_LIMIT, ps->tok[0].line, ps->tok[0].col, ps->tok[0].off,
                               "more than %u conditions in one rule", AT_LIMIT_POLICY_ITEMS);
            }
            memset(&conds[rc.nconds], 0, sizeof(conds[0]));
            AT_TRY(parse_cond(ps, &rc, &conds[rc.nconds]));
            rc.nconds++;
            if (ps->tok[0].kind != T_AND) {
                break;
            }
            AT_TRY(next(ps));
        }
        if (sec == SEC_CONFIG) {
            return invalid(ps, AT_E_PARSE, r->line, r->col, r->off,
                           "configuration rules cannot have conditions");
        }
        if (ps->tok[0].kind != T_ARROW) {
            return expected(ps, "'&&' or '=>'");
        }
    }
    AT_TRY(next(ps)); /* => */
    AT_TRY(parse_action(ps, sec, &rc, r));
    r->end = ps->prev_end;
    r->nconds = rc.nconds;
    r->conds = pol_alloc(&ps->p->arena, rc.nconds * sizeof(conds[0]));
    if (r->conds == NULL) {
        return nomem(ps);
    }
    if (rc.nconds > 0) {
        memcpy(r->conds, conds, rc.nconds * sizeof(conds[0]));
    }
    if (ps->tok[0].kind == T_SEMI) {
        return next(ps);
    }
    bool more;
    AT_TRY(starts_rule(ps, &more));
    if (ps->strict || !(more || ps->tok[0].kind == T_RBRACE)) {
        return expected(ps, "';'");
    }
    pol_warn(ps->p, ps->tok[0].line, ps->tok[0].col, ps->tok[0].off,
             "missing ';' after a rule (lenient, A5)");
    return at_ok();
}

static at_status parse_section(struct parser *ps, enum pol_section sec)
{
    struct pol_rules *rs = &ps->p->sec[sec];
    rs->present = true;
    AT_TRY(next(ps)); /* keyword, checked by the caller */
    AT_TRY(expect(ps, T_LBRACE));
    uint32_t cap = 0;
    while (ps->tok[0].kind != T_RBRACE) {
        if (ps->tok[0].kind == T_EOF) {
            return expected(ps, "a rule or '}'");
        }
        if (ps->nrules == AT_LIMIT_POLICY_RULES) {
            return invalid(ps, AT_E_LIMIT, ps->tok[0].line, ps->tok[0].col, ps->tok[0].off,
                           "more than %u rules", AT_LIMIT_POLICY_RULES);
        }
        if (rs->n == cap) {
            uint32_t ncap = cap == 0 ? 8 : cap * 2;
            struct pol_rule *nv = pol_alloc(&ps->p->arena, ncap * sizeof(*nv));
            if (nv == NULL) {
                return nomem(ps);
            }
            if (rs->n > 0) {
                memcpy(nv, rs->v, rs->n * sizeof(*nv));
            }
            rs->v = nv;
            cap = ncap;
        }
        struct pol_rule *r = &rs->v[rs->n];
        memset(r, 0, sizeof(*r));
        AT_TRY(parse_rule(ps, sec, r));
        rs->n++;
        ps->nrules++;
    }
    AT_TRY(next(ps)); /* } */
    if (ps->tok[0].kind == T_SEMI) {
        return next(ps);
    }
    if (ps->strict) {
        return expected(ps, "';'");
    }
    pol_warn(ps->p, ps->tok[0].line, ps->tok[0].col, ps->tok[0].off,
             "missing ';' after a section (lenient, A5)");
    return at_ok();
}

static at_status parse_version(struct parser *ps)
{
    AT_TRY(expect_kw(ps, "version"));
    AT_TRY(expect(ps, T_ASSIGN));
    const struct pol_token *t = &ps->tok[0];
    uint32_t line = t->line, col = t->col;
    size_t off = t->off;
    if (t->kind != T_INT) {
        return expected(ps, "a version number (1.0, 1.1 or 1.2)");
    }
    int64_t major = t->ival;
    AT_TRY(next(ps));
    AT_TRY(expect(ps, T_DOT));
    if (ps->tok[0].kind != T_INT) {
        return expected(ps, "a version number (1.0, 1.1 or 1.2)");
    }
    int64_t minor = ps->tok[0].ival;
    if (major != 1 || minor < 0 || minor > 2 || ps->tok[0].len != 1) {
        return invalid(ps, AT_E_UNSUPPORTED, line, col, off,
                       "unsupported policy version %lld.%.*s (expected 1.0, 1.1 or 1.2)",
                       (long long)major, (int)(ps->tok[0].len > 20 ? 20 : ps->tok[0].len),
                       ps->lx.src + ps->tok[0].off);
    }
    ps->p->version = (unsigned)(10 + minor);
    AT_TRY(next(ps));
    return expect(ps, T_SEMI);
}

at_status pol_parse(struct at_policy *p, struct at_policy_diag *diag, struct at_err *e)
{
    struct parser ps;
    memset(&ps, 0, sizeof(ps));
    ps.p = p;
    ps.diag = diag;
    ps.e = e;
    ps.strict = p->mode == AT_POLICY_STRICT;
    pol_lex_init(&ps.lx, p->text, p->text_len, &p->arena);
    AT_TRY(fill(&ps, 1));
    AT_TRY(parse_version(&ps));
    /* Sections in fixed order (A12): [configurationrules] authorizationrules [issuancerules]. */
    const struct pol_token *t = &ps.tok[0];
    if (is_kw(t, "configurationrules")) {
        if (p->version < 11) {
            return invalid(&ps, AT_E_PARSE, t->line, t->col, t->off,
                           "configurationrules require policy version 1.1 or later (A11)");
        }
        warn_case(&ps, t, "configurationrules");
        AT_TRY(parse_section(&ps, SEC_CONFIG));
    }
    t = &ps.tok[0];
    if (!is_kw(t, "authorizationrules")) {
        return expected(&ps, p->sec[SEC_CONFIG].present || p->version < 11
                                 ? "'authorizationrules'"
                                 : "'configurationrules' or 'authorizationrules'");
    }
    warn_case(&ps, t, "authorizationrules");
    AT_TRY(parse_section(&ps, SEC_AUTHZ));
    t = &ps.tok[0];
    if (is_kw(t, "issuancerules")) {
        warn_case(&ps, t, "issuancerules");
        AT_TRY(parse_section(&ps, SEC_ISSUANCE));
    }
    if (ps.tok[0].kind != T_EOF) {
        return expected(&ps, p->sec[SEC_ISSUANCE].present ? "end of input"
                                                          : "'issuancerules' or end of input");
    }
    return at_ok();
}
