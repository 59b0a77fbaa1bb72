/*
 * The policy 1.2 functions (spec §7): JmesPath, JsonToClaimValue,
 * IsSubsetOf, AppendString, NegateBool, ContainsOnlyValue.
 *
 * Arguments arrive as value sets (§4.3). A parameter that expects a scalar
 * needs a set of exactly one element, otherwise it is a runtime error [R, A2].
 * Read-only propagates through JmesPath, JsonToClaimValue, AppendString and
 * NegateBool and is cleared by IsSubsetOf and ContainsOnlyValue (§7.7).
 */
#include "base/limits.h"
#include "policy/ast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(enum pol_vkind k)
{
    switch (k) {
    case V_STR:
        return "String";
    case V_INT:
        return "Integer";
    case V_BOOL:
        return "Boolean";
    }
    return "?";
}

static at_status nomem(struct pol_ev *ev)
{
    AT_FAIL(ev->e, AT_E_NOMEM, "policy_eval", "out of memory");
}

/* The single element of a scalar parameter of the given kind. */
static at_status scalar(struct pol_ev *ev, const struct pol_expr *x, const struct pol_set *a,
                        uint32_t argno, enum pol_vkind kind, const struct pol_val **out)
{
    const struct pol_expr *ax = x->u.call.args[argno];
    if (a->n != 1) {
        return pol_rt_error(ev, ax->line, ax->col, AT_E_POLICY,
                            "%s: argument %u must be a single %s, got a set of %zu values (A2)",
                            pol_fn_name(x->u.call.fn), argno + 1, kind_name(kind), a->n);
    }
    if (a->v[0].kind != kind) {
        return pol_rt_error(ev, ax->line, ax->col, AT_E_POLICY,
                            "%s: argument %u must be a %s, got a %s", pol_fn_name(x->u.call.fn),
                            argno + 1, kind_name(kind), kind_name(a->v[0].kind));
    }
    *out = &a->v[0];
    return at_ok();
}

static at_status one(struct pol_ev *ev, struct pol_set *out, enum pol_vkind kind, bool ro)
{
    out->v = pol_alloc(&ev->arena, sizeof(*out->v));
    if (out->v == NULL) {
        return nomem(ev);
    }
    out->n = 1;
    out->v[0].kind = kind;
    out->v[0].ro = ro;
    return at_ok();
}

/* Parse JSON text (cached by string identity for the evaluation). Borrowed result. */
static at_status parse_json(struct pol_ev *ev, const struct pol_expr *ax, const struct pol_val *v,
                            const char *fn, json_t **out)
{
    for (size_t i = 0; i < ev->njcache; i++) {
        if (ev->jcache[i].s == v->s) {
            *out = ev->jcache[i].j;
            return at_ok();
        }
    }
    if (v->len > AT_LIMIT_POLICY_JSON_BYTES) {
        return pol_rt_error(ev, ax->line, ax->col, AT_E_LIMIT,
                            "%s: JSON text of %zu bytes is over the limit of %u", fn, v->len,
                            AT_LIMIT_POLICY_JSON_BYTES);
    }
    AT_TRY(pol_steps(ev, 16 + v->len / 16, ax->line, ax->col));
    json_error_t je;
    json_t *j = json_loadb(v->s, v->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        return pol_rt_error(ev, ax->line, ax->col, AT_E_POLICY,
                            "%s: argument is not valid JSON (%s at offset %d)", fn, je.text,
                            je.position);
    }
    if (ev->njcache == POL_JCACHE) {
        json_decref(ev->jcache[0].j);
        memmove(&ev->jcache[0], &ev->jcache[1], (POL_JCACHE - 1) * sizeof(ev->jcache[0]));
        ev->njcache--;
    }
    ev->jcache[ev->njcache].s = v->s;
    ev->jcache[ev->njcache].j = j;
    ev->njcache++;
    *out = j;
    return at_ok();
}

void pol_ev_jcache_clear(struct pol_ev *ev)
{
    for (size_t i = 0; i < ev->njcache; i++) {
        json_decref(ev->jcache[i].j);
    }
    ev->njcache = 0;
}

/* §7.1: JmesPath(json, query) -> compact JSON text of the result [R, A6]. */
static at_status fn_jmespath(struct pol_ev *ev, const struct pol_expr *x,
                             const struct pol_set *args, struct pol_set *out)
{
    const struct pol_val *doc, *q;
    AT_TRY(scalar(ev, x, &args[0], 0, V_STR, &doc));
    AT_TRY(scalar(ev, x, &args[1], 1, V_STR, &q));
    if (doc->len == 0 || q->len == 0) {
        return pol_rt_error(ev, x->line, x->col, AT_E_POLICY,
                            "JmesPath: arguments must be non-empty strings");
    }
    json_t *j;
    AT_TRY(parse_json(ev, x->u.call.args[0], doc, "JmesPath", &j));
    struct at_jmes *owned = NULL;
    const struct at_jmes *jq = x->u.call.jq;
    struct at_jmes_error jerr;
    memset(&jerr, 0, sizeof(jerr));
    if (x->u.call.jq_err != NULL) {
        return pol_rt_error(ev, x->line, x->col, AT_E_POLICY, "JmesPath: %s", x->u.call.jq_err);
    }
    if (jq == NULL) {
        AT_TRY(pol_steps(ev, 16 + q->len / 4, x->line, x->col));
        owned = at_jmes_compile(q->s, q->len, &jerr);
        if (owned == NULL) {
            return pol_rt_error(ev, x->line, x->col,
                                jerr.code == AT_JMES_NOMEM ? AT_E_NOMEM : AT_E_POLICY,
                                "JmesPath: invalid query at offset %zu: %s", jerr.offset,
                                jerr.msg);
        }
        jq = owned;
    }
    size_t budget = ev->steps_max - ev->steps;
    if (budget > AT_LIMIT_POLICY_JMES_STEPS) {
        budget = AT_LIMIT_POLICY_JMES_STEPS;
    }
    if (budget == 0) {
        budget = 1;
    }
    json_t *res = at_jmes_eval(jq, j, budget, &jerr);
    at_jmes_free(owned);
    if (res == NULL) {
        return pol_rt_error(ev, x->line, x->col,
                            jerr.code == AT_JMES_LIMIT   ? AT_E_LIMIT
                            : jerr.code == AT_JMES_NOMEM ? AT_E_NOMEM
                                                         : AT_E_POLICY,
                            "JmesPath: %s: %s", at_jmes_err_name(jerr.code), jerr.msg);
    }
    char *text = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(res);
    if (text == NULL) {
        return pol_rt_error(ev, x->line, x->col, AT_E_POLICY,
                            "JmesPath: result cannot be serialised");
    }
    size_t len = strlen(text);
    at_status s = pol_steps(ev, 64 + len / 16, x->line, x->col);
    if (at_is_ok(s) && len > AT_LIMIT_POLICY_JSON_BYTES) {
        s = pol_rt_error(ev, x->line, x->col, AT_E_LIMIT, "JmesPath: result over %u bytes",
                         AT_LIMIT_POLICY_JSON_BYTES);
    }
    char *copy = at_is_ok(s) ? pol_strndup(&ev->arena, text, len) : NULL;
    free(text);
    AT_TRY(s);
    if (copy == NULL) {
        return nomem(ev);
    }
    AT_TRY(one(ev, out, V_STR, doc->ro || q->ro));
    out->v[0].s = copy;
    out->v[0].len = len;
    return at_ok();
}

/* One JSON primitive to a value (§7.2 table); *skip for null. */
static at_status from_json(struct pol_ev *ev, const struct pol_expr *x, const json_t *j, bool ro,
                           struct pol_val *v, bool *skip)
{
    *skip = false;
    memset(v, 0, sizeof(*v));
    v->ro = ro;
    switch (json_typeof(j)) {
    case JSON_NULL:
        *skip = true;
        return at_ok();
    case JSON_TRUE:
    case JSON_FALSE:
        v->kind = V_BOOL;
        v->i = json_is_true(j);
        return at_ok();
    case JSON_INTEGER:
        v->kind = V_INT;
        v->i = (int64_t)json_integer_value(j);
        return at_ok();
    case JSON_REAL: {
        double d = json_real_value(j);
        /* an integral real (1.0, 1e2) is an integral number; a fraction is an error */
        if (!(d == floor(d)) || d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
            return pol_rt_error(ev, x->line, x->col, AT_E_POLICY,
                                "JsonToClaimValue: number %g is not a 64-bit integer", d);
        }
        v->kind = V_INT;
        v->i = (int64_t)d;
        return at_ok();
    }
    case JSON_STRING:
        v->kind = V_STR;
        v->len = json_string_length(j);
        v->s = pol_strndup(&ev->arena, json_string_value(j), v->len);
        if (v->s == NULL) {
            return nomem(ev);
        }
        if (strlen(v->s) != v->len) {
            return pol_rt_error(ev, x->line, x->col, AT_E_POLICY,
                                "JsonToClaimValue: string contains NUL");
        }
        return at_ok();
    case JSON_OBJECT:
    case JSON_ARRAY:
        break;
    }
    return pol_rt_error(ev, x->line, x->col, AT_E_POLICY,
                        "JsonToClaimValue: %s cannot be converted to a claim value",
                        json_is_object(j) ? "a JSON object" : "a nested JSON array");
}

/* §7.2: JsonToClaimValue(json) -> value set. */
static at_status fn_json_to_claim_value(struct pol_ev *ev, const struct pol_expr *x,
                                        const struct pol_set *args, struct pol_set *out)
{
    const struct pol_val *a;
    AT_TRY(scalar(ev, x, &args[0], 0, V_STR, &a));
    json_t *j;
    AT_TRY(parse_json(ev, x->u.call.args[0], a, "JsonToClaimValue", &j));
    out->n = 0;
    out->v = NULL;
    if (json_is_object(j)) {
        return pol_rt_error(ev, x->line, x->col, AT_E_POLICY,
                            "JsonToClaimValue: a JSON object cannot be converted to a claim value");
    }
    if (!json_is_array(j)) {
        struct pol_val v;
        bool skip;
        AT_TRY(from_json(ev, x, j, a->ro, &v, &skip));
        if (skip) {
            return at_ok(); /* null: empty set, the action creates nothing */
        }
        AT_TRY(one(ev, out, v.kind, a->ro));
        out->v[0] = v;
        return at_ok();
    }
    size_t n = json_array_size(j);
    AT_TRY(pol_steps(ev, n, x->line, x->col));
    out->v = pol_alloc(&ev->arena, (n > 0 ? n : 1) * sizeof(*out->v));
    if (out->v == NULL) {
        return nomem(ev);
    }
    for (size_t i = 0; i < n; i++) {
        bool skip;
        AT_TRY(from_json(ev, x, json_array_get(j, i), a->ro, &out->v[out->n], &skip));
        if (!skip) {
            out->n++;
        }
    }
    return at_ok();
}

static bool val_eq(const struct pol_val *a, const struct pol_val *b)
{
    if (a->kind != b->kind) {
        return false;
    }
    if (a->kind == V_STR) {
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    }
    return a->i == b->i;
}

/* §7.3 */
static at_status fn_is_subset_of(struct pol_ev *ev, const struct pol_expr *x,
                                 const struct pol_set *args, struct pol_set *out)
{
    const struct pol_set *a = &args[0], *b = &args[1];
    bool all = true;
    for (size_t i = 0; i < a->n && all; i++) {
        AT_TRY(pol_steps(ev, 1 + b->n, x->line, x->col));
        bool found = false;
        for (size_t k = 0; k < b->n && !found; k++) {
            found = val_eq(&a->v[i], &b->v[k]);
        }
        all = found;
    }
    AT_TRY(one(ev, out, V_BOOL, false));
    out->v[0].i = all;
    return at_ok();
}

/* §7.4 */
static at_status fn_append_string(struct pol_ev *ev, const struct pol_expr *x,
                                  const struct pol_set *args, struct pol_set *out)
{
    const struct pol_val *a, *b;
    AT_TRY(scalar(ev, x, &args[0], 0, V_STR, &a));
    AT_TRY(scalar(ev, x, &args[1], 1, V_STR, &b));
    if (a->len > AT_LIMIT_POLICY_JSON_BYTES || b->len > AT_LIMIT_POLICY_JSON_BYTES - a->len) {
        return pol_rt_error(ev, x->line, x->col, AT_E_LIMIT,
                            "AppendString: result over %u bytes", AT_LIMIT_POLICY_JSON_BYTES);
    }
    AT_TRY(pol_steps(ev, 1 + (a->len + b->len) / 16, x->line, x->col));
    char *s = pol_alloc(&ev->arena, a->len + b->len + 1);
    if (s == NULL) {
        return nomem(ev);
    }
    memcpy(s, a->s, a->len);
    memcpy(s + a->len, b->s, b->len);
    s[a->len + b->len] = '\0';
    AT_TRY(one(ev, out, V_STR, a->ro || b->ro));
    out->v[0].s = s;
    out->v[0].len = a->len + b->len;
    return at_ok();
}

/* §7.5 */
static at_status fn_negate_bool(struct pol_ev *ev, const struct pol_expr *x,
                                const struct pol_set *args, struct pol_set *out)
{
    const struct pol_val *a;
    AT_TRY(scalar(ev, x, &args[0], 0, V_BOOL, &a));
    AT_TRY(one(ev, out, V_BOOL, a->ro));
    out->v[0].i = !a->i;
    return at_ok();
}

/* §7.6 */
static at_status fn_contains_only_value(struct pol_ev *ev, const struct pol_expr *x,
                                        const struct pol_set *args, struct pol_set *out)
{
    const struct pol_set *set = &args[0];
    const struct pol_expr *ax = x->u.call.args[1];
    if (args[1].n != 1) {
        return pol_rt_error(ev, ax->line, ax->col, AT_E_POLICY,
                            "ContainsOnlyValue: argument 2 must be a single value, got a set of "
                            "%zu values (A2)",
                            args[1].n);
    }
    AT_TRY(pol_steps(ev, 1 + set->n, x->line, x->col));
    bool all = set->n > 0;
    for (size_t i = 0; i < set->n && all; i++) {
        all = val_eq(&set->v[i], &args[1].v[0]);
    }
    AT_TRY(one(ev, out, V_BOOL, false));
    out->v[0].i = all;
    return at_ok();
}

at_status pol_fn_call(struct pol_ev *ev, const struct pol_expr *x, const struct pol_set *args,
                      struct pol_set *out)
{
    if (++ev->calls > AT_LIMIT_POLICY_CALLS) {
        return pol_rt_error(ev, x->line, x->col, AT_E_LIMIT,
                            "more than %u function calls in one evaluation",
                            AT_LIMIT_POLICY_CALLS);
    }
    AT_TRY(pol_steps(ev, 1, x->line, x->col));
    switch (x->u.call.fn) {
    case FN_JMESPATH:
        return fn_jmespath(ev, x, args, out);
    case FN_JSONTOCLAIMVALUE:
        return fn_json_to_claim_value(ev, x, args, out);
    case FN_ISSUBSETOF:
        return fn_is_subset_of(ev, x, args, out);
    case FN_APPENDSTRING:
        return fn_append_string(ev, x, args, out);
    case FN_NEGATEBOOL:
        return fn_negate_bool(ev, x, args, out);
    case FN_CONTAINSONLYVALUE:
        return fn_contains_only_value(ev, x, args, out);
    }
    AT_FAIL(ev->e, AT_E_INTERNAL, "policy_eval", "unknown function");
}
