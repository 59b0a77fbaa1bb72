/*
 * AST -> canonical policy text. The output uses only the core grammar of
 * spec §3.1 (lenient forms are normalised: '=' becomes '==', a positional
 * argument becomes 'type=', issue() in authorizationrules becomes add(),
 * keywords are lower case), so it parses in strict mode, and
 * print(parse(print(parse(x)))) == print(parse(x)).
 */
#include "policy/ast.h"

#include <inttypes.h>
#include <stdio.h>

void pol_print_expr(struct pol_buf *b, const struct pol_rule *r, const struct pol_expr *x)
{
    switch (x->kind) {
    case EX_STR:
        pol_buf_quote(b, x->u.str.s, x->u.str.len);
        return;
    case EX_INT:
        pol_buf_printf(b, "%" PRId64, x->u.i);
        return;
    case EX_BOOL:
        pol_buf_puts(b, x->u.b ? "true" : "false");
        return;
    case EX_REF:
        pol_buf_puts(b, r != NULL ? r->conds[x->u.ref.cond].ident : x->u.ref.ident);
        pol_buf_puts(b, ".");
        pol_buf_puts(b, pol_prop_name(x->u.ref.prop));
        return;
    case EX_CALL:
        pol_buf_puts(b, pol_fn_name(x->u.call.fn));
        pol_buf_puts(b, "(");
        for (uint32_t i = 0; i < x->u.call.nargs; i++) {
            if (i > 0) {
                pol_buf_puts(b, ", ");
            }
            pol_print_expr(b, r, x->u.call.args[i]);
        }
        pol_buf_puts(b, ")");
        return;
    }
}

void pol_print_test(struct pol_buf *b, const struct pol_rule *r, const struct pol_test *t)
{
    pol_buf_puts(b, pol_prop_name(t->prop));
    pol_buf_puts(b, pol_op_text(t->op));
    pol_print_expr(b, r, t->rhs);
}

void pol_print_cond(struct pol_buf *b, const struct pol_rule *r, const struct pol_cond *c)
{
    if (c->negated) {
        pol_buf_puts(b, "!");
    } else if (c->ident != NULL) {
        pol_buf_puts(b, c->ident);
        pol_buf_puts(b, ":");
    }
    pol_buf_puts(b, "[");
    for (uint32_t i = 0; i < c->ntests; i++) {
        if (i > 0) {
            pol_buf_puts(b, ", ");
        }
        pol_print_test(b, r, &c->tests[i]);
    }
    pol_buf_puts(b, "]");
}

void pol_print_rule(struct pol_buf *b, const struct pol_rule *r)
{
    for (uint32_t i = 0; i < r->nconds; i++) {
        if (i > 0) {
            pol_buf_puts(b, " && ");
        }
        pol_print_cond(b, r, &r->conds[i]);
    }
    pol_buf_puts(b, r->nconds > 0 ? " => " : "=> ");
    enum pol_action a = r->issue_as_add ? ACT_ADD : r->action;
    pol_buf_puts(b, pol_action_name(a));
    pol_buf_puts(b, "(");
    if (a != ACT_PERMIT && a != ACT_DENY) {
        if (r->copy) {
            pol_buf_puts(b, "claim=");
            pol_buf_puts(b, r->conds[r->copy_cond].ident);
        } else {
            pol_buf_puts(b, "type=");
            pol_print_expr(b, r, r->type_e);
            pol_buf_puts(b, ", value=");
            pol_print_expr(b, r, r->value_e);
        }
    }
    pol_buf_puts(b, ")");
}

char *at_policy_print(const struct at_policy *p)
{
    struct pol_buf b = {0};
    pol_buf_printf(&b, "version=1.%u;\n", p->version - 10);
    for (int s = 0; s < POL_NSECTIONS; s++) {
        const struct pol_rules *rs = &p->sec[s];
        if (!rs->present) {
            continue;
        }
        pol_buf_puts(&b, pol_section_name((enum pol_section)s));
        pol_buf_puts(&b, "\n{\n");
        for (uint32_t i = 0; i < rs->n; i++) {
            pol_buf_puts(&b, "    ");
            pol_print_rule(&b, &rs->v[i]);
            pol_buf_puts(&b, ";\n");
        }
        pol_buf_puts(&b, "};\n");
    }
    return pol_buf_take(&b);
}
