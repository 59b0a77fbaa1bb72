/*
 * Policy evaluator (spec §5-§6): one pass over the rules in textual order,
 * deny-overrides and deny-by-default for authorizationrules, add versus
 * issue, set semantics for identifiers [R, A2], no type coercion [R, A3],
 * ordinal string comparison [R, A4]. The policy is read only; all state of
 * one evaluation lives in struct pol_ev.
 */
#include "base/encoding.h"
#include "base/limits.h"
#include "policy/ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pol_bind {
    uint32_t *idx; /* indices into ev->claims of the matching claims */
    size_t n;
};

/* Per-evaluation outputs collected while rules run. */
struct ev_out {
    struct at_policy_result *r;
    bool permit;
    bool deny;
    json_t *deny_detail; /* the first deny rule that fired */
};

at_status pol_rt_error(struct pol_ev *ev, uint32_t line, uint32_t col, enum at_code code,
                       const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ev->e == NULL || ev->e->code == AT_OK) {
        ev->err_line = line;
        ev->err_col = col;
    }
    return at_fail_(ev->e, code, "policy_eval", __FILE__, __LINE__, "%u:%u: %s", line, col, msg);
}

at_status pol_steps(struct pol_ev *ev, size_t n, uint32_t line, uint32_t col)
{
    if (n > ev->steps_max - ev->steps) {
        ev->steps = ev->steps_max;
        return pol_rt_error(ev, line, col, AT_E_LIMIT,
                            "evaluation exceeded %zu steps", ev->steps_max);
    }
    ev->steps += n;
    return at_ok();
}

static at_status nomem(struct pol_ev *ev)
{
    AT_FAIL(ev->e, AT_E_NOMEM, "policy_eval", "out of memory");
}

/* ---- the incoming set ---- */

static at_status push_claim(struct pol_ev *ev, const struct pol_claim *c, uint32_t line,
                            uint32_t col)
{
    if (ev->nclaims == ev->cap) {
        if (ev->cap >= AT_LIMIT_POLICY_CLAIMS) {
            return pol_rt_error(ev, line, col, AT_E_LIMIT, "more than %u claims",
                                AT_LIMIT_POLICY_CLAIMS);
        }
        size_t ncap = ev->cap == 0 ? 32 : ev->cap * 2;
        struct pol_claim *n = realloc(ev->claims, ncap * sizeof(*n));
        if (n == NULL) {
            return nomem(ev);
        }
        ev->claims = n;
        ev->cap = ncap;
    }
    ev->claims[ev->nclaims++] = *c;
    return at_ok();
}

/* Incoming claim -> policy value (§4.1: bytes as hex, JSON documents as JSON text). */
static at_status load_claim(struct pol_ev *ev, const struct at_claim *c)
{
    struct pol_claim pc;
    memset(&pc, 0, sizeof(pc));
    pc.type = c->type;
    pc.type_len = strlen(c->type);
    pc.issuer = c->issuer;
    pc.issuer_len = strlen(c->issuer);
    switch (c->kind) {
    case AT_CLAIM_STRING:
        pc.v.kind = V_STR;
        pc.v.s = c->v.s;
        pc.v.len = strlen(c->v.s);
        break;
    case AT_CLAIM_INT:
        pc.v.kind = V_INT;
        pc.v.i = c->v.i;
        break;
    case AT_CLAIM_BOOL:
        pc.v.kind = V_BOOL;
        pc.v.i = c->v.b;
        break;
    case AT_CLAIM_BYTES: {
        if (c->v.bytes.len > AT_LIMIT_POLICY_JSON_BYTES / 2) {
            AT_FAIL(ev->e, AT_E_LIMIT, "policy_eval", "claim '%.64s' is too large", c->type);
        }
        char *hex = pol_alloc(&ev->arena, c->v.bytes.len * 2 + 1);
        if (hex == NULL) {
            return nomem(ev);
        }
        at_hex_encode(c->v.bytes.p, c->v.bytes.len, hex);
        pc.v.kind = V_STR;
        pc.v.s = hex;
        pc.v.len = c->v.bytes.len * 2;
        break;
    }
    case AT_CLAIM_JSON: {
        char *text = json_dumps(c->v.json, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL) {
            return nomem(ev);
        }
        size_t len = strlen(text);
        char *copy = len <= AT_LIMIT_POLICY_JSON_BYTES ? pol_strndup(&ev->arena, text, len) : NULL;
        free(text);
        if (len > AT_LIMIT_POLICY_JSON_BYTES) {
            AT_FAIL(ev->e, AT_E_LIMIT, "policy_eval", "claim '%.64s' is over %u bytes", c->type,
                    AT_LIMIT_POLICY_JSON_BYTES);
        }
        if (copy == NULL) {
            return nomem(ev);
        }
        pc.v.kind = V_STR;
        pc.v.s = copy;
        pc.v.len = len;
        break;
    }
    }
    /* §7.7 [R]: the TPM pcrs service claim is read-only. */
    pc.v.ro = strcmp(c->type, "pcrs") == 0 && strcmp(c->issuer, AT_ISSUER_SERVICE) == 0;
    if (ev->nclaims >= AT_LIMIT_POLICY_CLAIMS) {
        AT_FAIL(ev->e, AT_E_LIMIT, "policy_eval", "more than %u incoming claims",
                AT_LIMIT_POLICY_CLAIMS);
    }
    return push_claim(ev, &pc, 0, 0);
}

/* ---- values and comparison (§6.3) ---- */

static bool cmp(const struct pol_val *l, enum pol_op op, const struct pol_val *r)
{
    if (l->kind != r->kind) {
        return op == OP_NE; /* A3: no coercion */
    }
    if (l->kind == V_INT) {
        switch (op) {
        case OP_EQ:
            return l->i == r->i;
        case OP_NE:
            return l->i != r->i;
        case OP_LT:
            return l->i < r->i;
        case OP_LE:
            return l->i <= r->i;
        case OP_GT:
            return l->i > r->i;
        case OP_GE:
            return l->i >= r->i;
        }
        return false;
    }
    bool eq = l->kind == V_STR ? l->len == r->len && memcmp(l->s, r->s, l->len) == 0 : l->i == r->i;
    switch (op) {
    case OP_EQ:
        return eq;
    case OP_NE:
        return !eq;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        return false; /* ordering is defined for Integer only */
    }
    return false;
}

const char *const pol_vt_names[3] = {"String", "Integer", "Boolean"};

void pol_claim_prop(const struct pol_claim *c, enum pol_prop p, struct pol_val *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = V_STR;
    switch (p) {
    case PROP_VALUE:
        *out = c->v;
        return;
    case PROP_TYPE:
        out->s = c->type;
        out->len = c->type_len;
        return;
    case PROP_ISSUER:
        out->s = c->issuer;
        out->len = c->issuer_len;
        return;
    case PROP_VALUETYPE:
        out->s = pol_vt_names[c->v.kind];
        out->len = strlen(out->s);
        return;
    }
}

static at_status eval_expr(struct pol_ev *ev, const struct pol_bind *binds,
                           const struct pol_expr *x, struct pol_set *out)
{
    switch (x->kind) {
    case EX_STR:
    case EX_INT:
    case EX_BOOL:
        out->v = pol_alloc(&ev->arena, sizeof(*out->v));
        if (out->v == NULL) {
            return nomem(ev);
        }
        out->n = 1;
        out->v[0].kind = x->kind == EX_STR ? V_STR : x->kind == EX_INT ? V_INT : V_BOOL;
        out->v[0].s = x->kind == EX_STR ? x->u.str.s : NULL;
        out->v[0].len = x->kind == EX_STR ? x->u.str.len : 0;
        out->v[0].i = x->kind == EX_INT ? x->u.i : x->kind == EX_BOOL ? x->u.b : 0;
        return at_ok();
    case EX_REF: {
        const struct pol_bind *b = &binds[x->u.ref.cond];
        AT_TRY(pol_steps(ev, 1 + b->n, x->line, x->col));
        out->n = b->n;
        out->v = pol_alloc(&ev->arena, (b->n > 0 ? b->n : 1) * sizeof(*out->v));
        if (out->v == NULL) {
            return nomem(ev);
        }
        for (size_t i = 0; i < b->n; i++) {
            pol_claim_prop(&ev->claims[b->idx[i]], x->u.ref.prop, &out->v[i]);
            if (x->u.ref.prop != PROP_VALUE) {
                out->v[i].ro = false;
            }
        }
        return at_ok();
    }
    case EX_CALL: {
        struct pol_set args[AT_LIMIT_POLICY_ITEMS];
        for (uint32_t i = 0; i < x->u.call.nargs; i++) {
            AT_TRY(eval_expr(ev, binds, x->u.call.args[i], &args[i]));
        }
        return pol_fn_call(ev, x, args, out);
    }
    }
    AT_FAIL(ev->e, AT_E_INTERNAL, "policy_eval", "bad expression");
}

/* Literal right-hand sides are compared without building a set (fast path). */
static bool literal_val(const struct pol_expr *x, struct pol_val *v)
{
    memset(v, 0, sizeof(*v));
    switch (x->kind) {
    case EX_STR:
        v->kind = V_STR;
        v->s = x->u.str.s;
        v->len = x->u.str.len;
        return true;
    case EX_INT:
        v->kind = V_INT;
        v->i = x->u.i;
        return true;
    case EX_BOOL:
        v->kind = V_BOOL;
        v->i = x->u.b;
        return true;
    case EX_REF:
    case EX_CALL:
        break;
    }
    return false;
}

/* Does claim c pass test t, given the evaluated right-hand side set (§6.2: existential)? */
bool pol_test_claim(const struct pol_claim *c, const struct pol_test *t,
                       const struct pol_set *rhs)
{
    struct pol_val l;
    pol_claim_prop(c, t->prop, &l);
    for (size_t k = 0; k < rhs->n; k++) {
        if (cmp(&l, t->op, &rhs->v[k])) {
            return true;
        }
    }
    return false;
}

/* ---- conditions (§6.2) ---- */

/*
 * Evaluate condition ci of rule r against the first `nclaims` claims (the
 * set as it was when the rule started). Fills binds[ci]; *ok = truth.
 */
static at_status eval_cond(struct pol_ev *ev, const struct pol_rule *r, uint32_t ci,
                           struct pol_bind *binds, size_t nclaims, bool *ok, json_t **why)
{
    const struct pol_cond *c = &r->conds[ci];
    struct pol_set rhs[AT_LIMIT_POLICY_ITEMS];
    struct pol_val lit[AT_LIMIT_POLICY_ITEMS];
    for (uint32_t k = 0; k < c->ntests; k++) {
        if (literal_val(c->tests[k].rhs, &lit[k])) {
            rhs[k].v = &lit[k];
            rhs[k].n = 1;
        } else {
            AT_TRY(eval_expr(ev, binds, c->tests[k].rhs, &rhs[k]));
        }
    }
    AT_TRY(pol_steps(ev, 1 + nclaims * (c->ntests > 0 ? c->ntests : 1), c->line, c->col));
    struct pol_bind *b = &binds[ci];
    b->n = 0;
    b->idx = NULL;
    size_t first = SIZE_MAX;
    size_t count = 0;
    for (size_t i = 0; i < nclaims; i++) {
        uint32_t k = 0;
        while (k < c->ntests && pol_test_claim(&ev->claims[i], &c->tests[k], &rhs[k])) {
            k++;
        }
        if (k == c->ntests) {
            if (first == SIZE_MAX) {
                first = i;
            }
            count++;
        }
    }
    if (c->negated) {
        *ok = count == 0;
        if (!*ok && why != NULL) {
            *why = json_pack("{s:s,s:o}", "reason", "a claim matched the negated condition",
                             "matching_claim", pol_claim_json(&ev->claims[first]));
        }
        return at_ok();
    }
    *ok = count > 0;
    if (!*ok) {
        if (why != NULL) {
            *why = pol_explain_miss(ev, r, c, rhs, nclaims);
        }
        return at_ok();
    }
    b->idx = pol_alloc(&ev->arena, count * sizeof(*b->idx));
    if (b->idx == NULL) {
        return nomem(ev);
    }
    for (size_t i = first; i < nclaims && b->n < count; i++) {
        uint32_t k = 0;
        while (k < c->ntests && pol_test_claim(&ev->claims[i], &c->tests[k], &rhs[k])) {
            k++;
        }
        if (k == c->ntests) {
            b->idx[b->n++] = (uint32_t)i;
        }
    }
    return at_ok();
}

/* ---- actions (§6.4) ---- */

static at_status out_add(struct pol_ev *ev, struct at_claims *cs, const struct pol_claim *c)
{
    /* at_claims wants NUL-terminated type/issuer; ours always are. */
    switch (c->v.kind) {
    case V_STR:
        return at_claims_add_str(cs, c->type, c->issuer, c->v.s, ev->e);
    case V_INT:
        return at_claims_add_int(cs, c->type, c->issuer, c->v.i, ev->e);
    case V_BOOL:
        return at_claims_add_bool(cs, c->type, c->issuer, c->v.i != 0, ev->e);
    }
    AT_FAIL(ev->e, AT_E_INTERNAL, "policy_eval", "bad value kind");
}

/* Known property names and their value kinds (§8). */
static at_status check_property(struct pol_ev *ev, const struct pol_rule *r,
                                const struct pol_claim *c)
{
    static const struct {
        const char *name;
        enum pol_vkind kind;
    } known[] = {
        {"require_valid_aik_cert", V_BOOL},   {"required_pcr_mask", V_INT},
        {"x-ms-sgx-tcbidentifier", V_STR},    {"report_validity_in_minutes", V_INT},
        {"omit_x5c", V_BOOL},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(c->type, known[i].name) == 0 && c->v.kind != known[i].kind) {
            return pol_rt_error(ev, r->line, r->col, AT_E_POLICY,
                                "property '%s' needs a %s value", known[i].name,
                                pol_vt_names[known[i].kind]);
        }
    }
    return at_ok();
}

/* Create one claim per element and route it to the incoming/outgoing/property sets. */
static at_status emit(struct pol_ev *ev, struct ev_out *o, const struct pol_rule *r,
                      enum pol_action act, const struct pol_claim *c, json_t *produced)
{
    if (c->v.ro && (act == ACT_ISSUE || act == ACT_ISSUEPROPERTY)) {
        return pol_rt_error(ev, r->line, r->col, AT_E_POLICY,
                            "%s() of a read-only value (type '%.64s') is not allowed (A8)",
                            pol_action_name(act), c->type);
    }
    AT_TRY(pol_steps(ev, 1, r->line, r->col));
    AT_TRY(push_claim(ev, c, r->line, r->col));
    if (act == ACT_ISSUE) {
        AT_TRY(out_add(ev, &o->r->issued, c));
    } else if (act == ACT_ISSUEPROPERTY) {
        AT_TRY(check_property(ev, r, c));
        AT_TRY(out_add(ev, &o->r->properties, c));
    }
    if (produced != NULL) {
        json_array_append_new(produced, pol_claim_json(c));
    }
    return at_ok();
}

static at_status run_action(struct pol_ev *ev, struct ev_out *o, const struct pol_rule *r,
                            const struct pol_bind *binds, json_t *entry)
{
    enum pol_action act = r->issue_as_add ? ACT_ADD : r->action;
    switch (act) {
    case ACT_PERMIT:
        o->permit = true;
        return at_ok();
    case ACT_DENY:
        if (!o->deny) {
            o->deny = true;
            json_t *claims = json_array();
            for (uint32_t i = 0; claims != NULL && i < r->nconds; i++) {
                for (size_t k = 0; k < binds[i].n && k < 8; k++) {
                    json_array_append_new(claims, pol_claim_json(&ev->claims[binds[i].idx[k]]));
                }
            }
            o->deny_detail = json_pack("{s:s,s:s,s:o,s:o}", "code", "PolicyEvaluationError",
                                       "message", "A Deny claim was issued, authorization failed.",
                                       "rule", pol_rule_json(ev, r), "claims",
                                       claims != NULL ? claims : json_array());
            if (o->deny_detail == NULL) {
                return nomem(ev);
            }
        }
        return at_ok();
    case ACT_ADD:
    case ACT_ISSUE:
    case ACT_ISSUEPROPERTY:
        break;
    }
    json_t *produced = entry != NULL ? json_array() : NULL;
    if (entry != NULL && produced != NULL) {
        json_object_set_new(entry, act == ACT_ADD ? "added" : act == ACT_ISSUE ? "issued"
                                                                                : "properties",
                            produced);
    }
    if (r->copy) {
        /* claim = c: one copy per bound claim, keeping its issuer (A14). */
        const struct pol_bind *b = &binds[r->copy_cond];
        for (size_t i = 0; i < b->n; i++) {
            struct pol_claim c = ev->claims[b->idx[i]];
            AT_TRY(emit(ev, o, r, act, &c, produced));
        }
        return at_ok();
    }
    struct pol_set ts, vs;
    AT_TRY(eval_expr(ev, binds, r->type_e, &ts));
    if (ts.n != 1 || ts.v[0].kind != V_STR) {
        return pol_rt_error(ev, r->type_e->line, r->type_e->col, AT_E_POLICY,
                            "the claim type must be a single String (got %zu value%s%s)", ts.n,
                            ts.n == 1 ? " of type " : "s",
                            ts.n == 1 ? pol_vt_names[ts.v[0].kind] : "");
    }
    if (ts.v[0].len == 0) {
        return pol_rt_error(ev, r->type_e->line, r->type_e->col, AT_E_POLICY,
                            "the claim type must not be empty");
    }
    AT_TRY(eval_expr(ev, binds, r->value_e, &vs));
    for (size_t i = 0; i < vs.n; i++) {
        struct pol_claim c;
        memset(&c, 0, sizeof(c));
        c.type = ts.v[0].s;
        c.type_len = ts.v[0].len;
        c.issuer = AT_ISSUER_POLICY;
        c.issuer_len = sizeof(AT_ISSUER_POLICY) - 1;
        c.v = vs.v[i];
        if (ts.v[0].ro && (act == ACT_ISSUE || act == ACT_ISSUEPROPERTY)) {
            c.v.ro = true;
        }
        AT_TRY(emit(ev, o, r, act, &c, produced));
    }
    return at_ok();
}

/* ---- rules (§6.1) ---- */

static at_status run_rule(struct pol_ev *ev, struct ev_out *o, const struct pol_rule *r,
                          json_t *trace)
{
    struct pol_bind binds[AT_LIMIT_POLICY_ITEMS];
    size_t nclaims = ev->nclaims; /* the set as it is when the rule starts */
    ev->rule = r;
    AT_TRY(pol_steps(ev, 1, r->line, r->col));
    json_t *entry = NULL;
    if (trace != NULL) {
        entry = pol_rule_json(ev, r);
        if (entry == NULL || json_array_append_new(trace, entry) != 0) {
            return nomem(ev);
        }
    }
    for (uint32_t i = 0; i < r->nconds; i++) {
        bool ok;
        json_t *why = NULL;
        at_status s = eval_cond(ev, r, i, binds, nclaims, &ok, entry != NULL ? &why : NULL);
        if (!at_is_ok(s)) {
            if (entry != NULL) {
                json_object_set_new(entry, "matched", json_false());
                json_object_set_new(entry, "error", json_string(ev->e->msg));
            }
            return s;
        }
        if (!ok) {
            if (entry != NULL) {
                struct pol_buf b = {0};
                pol_print_cond(&b, r, &r->conds[i]);
                json_object_set_new(entry, "matched", json_false());
                json_t *f = json_pack("{s:i,s:i,s:i,s:o}", "condition", (json_int_t)i, "line",
                                      (json_int_t)r->conds[i].line, "column",
                                      (json_int_t)r->conds[i].col, "text", pol_text_json(&b));
                free(b.p);
                if (f != NULL && why != NULL) {
                    json_object_update(f, why);
                }
                json_decref(why);
                json_object_set_new(entry, "failed", f != NULL ? f : json_null());
            }
            return at_ok();
        }
    }
    if (entry != NULL) {
        json_object_set_new(entry, "matched", json_true());
        json_object_set_new(entry, "action",
                            json_string(pol_action_name(r->issue_as_add ? ACT_ADD : r->action)));
    }
    at_status s = run_action(ev, o, r, binds, entry);
    if (!at_is_ok(s) && entry != NULL) {
        json_object_set_new(entry, "error", json_string(ev->e->msg));
    }
    return s;
}

static at_status run_section(struct pol_ev *ev, struct ev_out *o, enum pol_section sec,
                             json_t *trace)
{
    const struct pol_rules *rs = &ev->p->sec[sec];
    ev->sec = sec;
    for (uint32_t i = 0; i < rs->n; i++) {
        ev->rule_index = i;
        AT_TRY(run_rule(ev, o, &rs->v[i], trace));
    }
    return at_ok();
}

static void ev_init(struct pol_ev *ev, const struct at_policy *p, struct at_err *e)
{
    memset(ev, 0, sizeof(*ev));
    ev->p = p;
    ev->e = e;
    ev->steps_max = AT_LIMIT_POLICY_STEPS;
    pol_arena_init(&ev->arena, AT_LIMIT_POLICY_EVAL_BYTES);
}

static void ev_clear(struct pol_ev *ev)
{
    pol_ev_jcache_clear(ev);
    free(ev->claims);
    pol_arena_free(&ev->arena);
}

/* Configuration rules see no claims (§5 step 2); run them once, at compile time. */
at_status pol_eval_config(struct at_policy *p, struct at_policy_diag *diag, struct at_err *e)
{
    struct pol_ev ev;
    struct at_policy_result r;
    at_policy_result_init(&r);
    ev_init(&ev, p, e);
    struct ev_out o = {&r, false, false, NULL};
    at_status s = run_section(&ev, &o, SEC_CONFIG, NULL);
    if (at_is_ok(s)) {
        for (size_t i = 0; i < r.properties.count && at_is_ok(s); i++) {
            s = at_claims_add_copy(&p->config, &r.properties.items[i], e);
        }
        for (size_t i = 0; i < r.properties.count; i++) {
            const char *t = r.properties.items[i].type;
            if (strcmp(t, "require_valid_aik_cert") != 0 && strcmp(t, "required_pcr_mask") != 0 &&
                strcmp(t, "x-ms-sgx-tcbidentifier") != 0) {
                const struct pol_rule *rl = &p->sec[SEC_CONFIG].v[0];
                pol_warn(p, rl->line, rl->col, rl->off,
                         "unknown configuration property '%.64s' is ignored (A18)", t);
            }
        }
    } else if (diag != NULL) {
        memset(diag, 0, sizeof(*diag));
        diag->line = ev.err_line;
        diag->col = ev.err_col;
        snprintf(diag->msg, sizeof(diag->msg), "%.250s", e->msg);
    }
    json_decref(o.deny_detail);
    ev_clear(&ev);
    at_policy_result_clear(&r);
    if (!at_is_ok(s) && s.code == AT_E_POLICY) {
        e->code = AT_E_PARSE; /* a bad configuration rule rejects the policy at upload */
        return (at_status){AT_E_PARSE};
    }
    return s;
}

void at_policy_result_init(struct at_policy_result *r)
{
    memset(r, 0, sizeof(*r));
    at_claims_init(&r->issued);
    at_claims_init(&r->properties);
    at_err_init(&r->err);
}

void at_policy_result_clear(struct at_policy_result *r)
{
    at_claims_clear(&r->issued);
    at_claims_clear(&r->properties);
    json_decref(r->detail);
    json_decref(r->explain);
    at_policy_result_init(r);
}

const char *at_policy_verdict_name(enum at_policy_verdict v)
{
    switch (v) {
    case AT_POLICY_PERMIT:
        return "permit";
    case AT_POLICY_DENY:
        return "deny";
    case AT_POLICY_NOPERMIT:
        return "nopermit";
    case AT_POLICY_ERROR:
        return "error";
    }
    return "error";
}

const struct at_claim *at_policy_prop_find(const struct at_claims *props, const char *type)
{
    for (size_t i = props->count; i > 0; i--) {
        if (strcmp(props->items[i - 1].type, type) == 0) {
            return &props->items[i - 1];
        }
    }
    return NULL;
}

static at_status finish(struct at_policy_result *r, enum at_policy_verdict v, json_t *detail,
                        struct at_err *e, struct at_err *ev_err)
{
    r->verdict = v;
    r->detail = detail;
    if (v == AT_POLICY_PERMIT) {
        return at_ok();
    }
    memcpy(&r->err, ev_err, sizeof(r->err));
    if (e != NULL && e != ev_err && e->code == AT_OK) {
        memcpy(e, ev_err, sizeof(*e));
    }
    return (at_status){ev_err->code};
}

at_status at_policy_eval(const struct at_policy *p, const struct at_claims *in,
                         const struct at_policy_eval_opts *opts, struct at_policy_result *r,
                         struct at_err *e)
{
    at_policy_result_clear(r);
    struct at_err local;
    at_err_init(&local);
    struct pol_ev ev;
    ev_init(&ev, p, &local);
    if (opts != NULL && opts->steps_max != 0) {
        ev.steps_max = opts->steps_max;
    }
    ev.explain = opts != NULL && opts->explain;
    struct ev_out o = {r, false, false, NULL};
    json_t *trace = NULL;
    if (ev.explain) {
        trace = r->explain = json_array();
        if (trace == NULL) {
            ev_clear(&ev);
            at_fail_(&local, AT_E_NOMEM, "policy_eval", __FILE__, __LINE__, "out of memory");
            return finish(r, AT_POLICY_ERROR, NULL, e, &local);
        }
    }
    at_status s = at_ok();
    for (size_t i = 0; i < in->count && at_is_ok(s); i++) {
        s = load_claim(&ev, &in->items[i]);
    }
    /* issueproperty appends to the incoming set too (§6.4): config properties first. */
    for (size_t i = 0; i < p->config.count && at_is_ok(s); i++) {
        const struct at_claim *c = &p->config.items[i];
        s = load_claim(&ev, c);
        if (at_is_ok(s)) {
            s = at_claims_add_copy(&r->properties, c, &local);
        }
    }
    enum at_policy_verdict v = AT_POLICY_PERMIT;
    json_t *detail = NULL;
    if (at_is_ok(s)) {
        s = run_section(&ev, &o, SEC_AUTHZ, trace);
    }
    if (at_is_ok(s)) {
        /* §6.6: deny overrides, deny by default */
        if (o.deny) {
            v = AT_POLICY_DENY;
            detail = o.deny_detail;
            o.deny_detail = NULL;
            at_fail_(&local, AT_E_POLICY, "policy_deny", __FILE__, __LINE__,
                     "A Deny claim was issued, authorization failed.");
        } else if (!o.permit) {
            v = AT_POLICY_NOPERMIT;
            detail = json_pack("{s:s,s:s}", "code", "PolicyEvaluationError", "message",
                               "No Permit claim was issued in the authorizationrules section, "
                               "authorization failed.");
            at_fail_(&local, AT_E_POLICY, "policy_nopermit", __FILE__, __LINE__,
                     "No Permit claim was issued in the authorizationrules section, "
                     "authorization failed.");
        } else {
            s = run_section(&ev, &o, SEC_ISSUANCE, trace);
        }
    }
    if (!at_is_ok(s)) {
        v = AT_POLICY_ERROR;
        json_decref(detail);
        detail = json_pack("{s:s,s:s}", "code",
                           s.code == AT_E_LIMIT ? "PolicyLimitExceeded" : "PolicyEvaluationError",
                           "message", local.msg);
        if (detail != NULL && ev.rule != NULL) {
            json_object_set_new(detail, "rule", pol_rule_json(&ev, ev.rule));
        }
        at_claims_clear(&r->issued);
    }
    json_decref(o.deny_detail);
    ev_clear(&ev);
    return finish(r, v, detail, e, &local);
}
