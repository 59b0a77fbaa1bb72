/*
 * Explain trace and denial details (spec §6; issue #3: for each rule, whether
 * it matched and why not: which condition, which claim, expected versus
 * actual). Only used when explain is requested or a rule denies.
 */
#include "policy/ast.h"

#include <stdlib.h>
#include <string.h>


json_t *pol_val_json(const struct pol_val *v)
{
    switch (v->kind) {
    case V_STR:
        return json_stringn(v->s, v->len);
    case V_INT:
        return json_integer((json_int_t)v->i);
    case V_BOOL:
        return json_boolean(v->i);
    }
    return json_null();
}

json_t *pol_set_json(const struct pol_set *s)
{
    if (s->n == 1) {
        return pol_val_json(&s->v[0]);
    }
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < s->n && i < 16; i++) {
        json_array_append_new(a, pol_val_json(&s->v[i]));
    }
    return a;
}

json_t *pol_claim_json(const struct pol_claim *c)
{
    return json_pack("{s:s%,s:o,s:s%}", "type", c->type, c->type_len, "value", pol_val_json(&c->v),
                     "issuer", c->issuer, c->issuer_len);
}

json_t *pol_text_json(const struct pol_buf *b)
{
    return b->oom || b->p == NULL ? json_string("") : json_stringn(b->p, b->len);
}

/* Source text of a span with whitespace runs collapsed, at most 300 bytes. */
json_t *pol_src_json(const struct at_policy *p, size_t off, size_t end)
{
    char buf[304];
    size_t n = 0;
    bool sp = false;
    for (size_t i = off; i < end && i < p->text_len && n < 300; i++) {
        char ch = p->text[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
            sp = n > 0;
            continue;
        }
        if (sp) {
            buf[n++] = ' ';
            sp = false;
        }
        buf[n++] = ch;
    }
    json_t *j = json_stringn_nocheck(buf, n);
    return j != NULL ? j : json_string("");
}

json_t *pol_rule_json(const struct pol_ev *ev, const struct pol_rule *r)
{
    return json_pack("{s:s,s:i,s:i,s:i,s:o}", "section", pol_section_name(ev->sec), "index",
                     (json_int_t)ev->rule_index, "line", (json_int_t)r->line, "column",
                     (json_int_t)r->col, "text", pol_src_json(ev->p, r->off, r->end));
}

/* Why a positive condition matched nothing: the claim that passed the most tests. */
json_t *pol_explain_miss(struct pol_ev *ev, const struct pol_rule *r, const struct pol_cond *c,
                            const struct pol_set *rhs, size_t nclaims)
{
    size_t best = SIZE_MAX;
    uint32_t best_pass = 0;
    for (size_t i = 0; i < nclaims; i++) {
        uint32_t k = 0;
        while (k < c->ntests && pol_test_claim(&ev->claims[i], &c->tests[k], &rhs[k])) {
            k++;
        }
        if (best == SIZE_MAX || k > best_pass) {
            best = i;
            best_pass = k;
        }
    }
    json_t *why = json_object();
    if (why == NULL) {
        return NULL;
    }
    if (best == SIZE_MAX) {
        json_object_set_new(why, "reason", json_string("the incoming claim set is empty"));
        return why;
    }
    const struct pol_test *t = &c->tests[best_pass];
    const struct pol_claim *cl = &ev->claims[best];
    json_object_set_new(why, "reason",
                        json_string(t->prop == PROP_TYPE && best_pass == 0
                                        ? "no claim has a matching type"
                                        : "no claim passed every test"));
    struct pol_buf b = {0};
    pol_print_test(&b, r, t);
    struct pol_val actual;
    pol_claim_prop(cl, t->prop, &actual);
    json_object_set_new(why, "closest_claim", pol_claim_json(cl));
    json_object_set_new(why, "failed_test", pol_text_json(&b));
    json_object_set_new(why, "expected", pol_set_json(&rhs[best_pass]));
    json_object_set_new(why, "actual", pol_val_json(&actual));
    free(b.p);
    return why;
}
