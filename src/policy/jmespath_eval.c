/*
 * JMESPath evaluator: walks the syntax tree over a jansson value.
 *
 * Every visit costs one step; bulk work (copying elements, comparing
 * values, building strings) is charged too, so a query's time and memory
 * are bounded by steps_max. Recursion is bounded by the tree height
 * (AT_JMES_MAX_AST_DEPTH) and, for value walks, AT_JMES_MAX_JSON_DEPTH.
 *
 * Semantics follow the specification (jmespath.org/specification.html);
 * where it is silent, the reference implementation and the compliance
 * suite decide (e.g. < <= > >= order two numbers or two strings, and
 * yield null for anything else).
 */
#include "jmespath_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int at_jmes_charge(struct at_jmes_ctx *c, size_t n, size_t off)
{
    if (n > c->steps_max - c->steps) {
        c->steps = c->steps_max;
        return at_jmes_seterr(c->e, AT_JMES_LIMIT, off, "evaluation exceeded %zu steps",
                              c->steps_max);
    }
    c->steps += n;
    return 0;
}

static json_t *nomem(struct at_jmes_ctx *c, size_t off)
{
    at_jmes_seterr(c->e, AT_JMES_NOMEM, off, "out of memory");
    return NULL;
}

int at_jmes_truthy(const json_t *v)
{
    if (v == NULL) {
        return 0;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return 0;
    case JSON_TRUE:
    case JSON_INTEGER:
    case JSON_REAL:
        return 1;
    case JSON_STRING:
        return json_string_length(v) != 0;
    case JSON_ARRAY:
        return json_array_size(v) != 0;
    case JSON_OBJECT:
        return json_object_size(v) != 0;
    }
    return 0;
}

int at_jmes_numcmp(const json_t *a, const json_t *b)
{
    double x;
    double y;

    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t i = json_integer_value(a);
        json_int_t j = json_integer_value(b);
        return i < j ? -1 : i > j ? 1 : 0;
    }
    x = json_number_value(a);
    y = json_number_value(b);
    return x < y ? -1 : x > y ? 1 : 0;
}

int at_jmes_strcmp(const json_t *a, const json_t *b)
{
    size_t la = json_string_length(a);
    size_t lb = json_string_length(b);
    int r = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);

    if (r != 0) {
        return r < 0 ? -1 : 1;
    }
    return la < lb ? -1 : la > lb ? 1 : 0;
}

const char *at_jmes_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return "null";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "array";
    case JSON_OBJECT:
        return "object";
    }
    return "unknown";
}

static int eq(struct at_jmes_ctx *c, json_t *a, json_t *b, unsigned depth, size_t off)
{
    size_t i;

    if (depth > AT_JMES_MAX_JSON_DEPTH) {
        return at_jmes_seterr(c->e, AT_JMES_LIMIT, off, "value nested deeper than %u",
                              AT_JMES_MAX_JSON_DEPTH);
    }
    if (at_jmes_charge(c, 1, off) != 0) {
        return -1;
    }
    if (a == b) {
        return 1;
    }
    if (json_is_number(a) && json_is_number(b)) {
        return at_jmes_numcmp(a, b) == 0;
    }
    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }
    switch (json_typeof(a)) {
    case JSON_NULL:
    case JSON_TRUE:
    case JSON_FALSE:
        return 1;
    case JSON_INTEGER:
    case JSON_REAL:
        return at_jmes_numcmp(a, b) == 0;
    case JSON_STRING:
        if (at_jmes_charge(c, json_string_length(a) / 16, off) != 0) {
            return -1;
        }
        return at_jmes_strcmp(a, b) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) {
            return 0;
        }
        for (i = 0; i < json_array_size(a); i++) {
            int r = eq(c, json_array_get(a, i), json_array_get(b, i), depth + 1, off);
            if (r != 1) {
                return r;
            }
        }
        return 1;
    case JSON_OBJECT: {
        void *it;
        if (json_object_size(a) != json_object_size(b)) {
            return 0;
        }
        for (it = json_object_iter(a); it != NULL; it = json_object_iter_next(a, it)) {
            json_t *bv =
                json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            int r;
            if (bv == NULL) {
                return 0;
            }
            r = eq(c, json_object_iter_value(it), bv, depth + 1, off);
            if (r != 1) {
                return r;
            }
        }
        return 1;
    }
    }
    return 0;
}

int at_jmes_equal(struct at_jmes_ctx *c, json_t *a, json_t *b, size_t off)
{
    return eq(c, a, b, 0, off);
}

static int append(struct at_jmes_ctx *c, json_t *arr, json_t *v, size_t off)
{
    if (json_array_append_new(arr, v) != 0) {
        nomem(c, off);
        return -1;
    }
    return 0;
}

static json_t *field(const struct at_jmes_node *n, json_t *cur)
{
    json_t *v;

    if (!json_is_object(cur)) {
        return json_null();
    }
    v = json_object_getn(cur, json_string_value(n->val), json_string_length(n->val));
    return v != NULL ? json_incref(v) : json_null();
}

static json_t *index_of(const struct at_jmes_node *n, json_t *cur)
{
    int64_t len;
    int64_t i = n->a[0];
    json_t *v;

    if (!json_is_array(cur)) {
        return json_null();
    }
    len = (int64_t)json_array_size(cur);
    if (i < 0) {
        i += len;
    }
    if (i < 0 || i >= len) {
        return json_null();
    }
    v = json_array_get(cur, (size_t)i);
    return v != NULL ? json_incref(v) : json_null();
}

static int64_t clamp(int64_t v, int64_t len, int64_t lower, int64_t upper)
{
    if (v < 0) {
        v += len;
        if (v < lower) {
            v = lower;
        }
    } else if (v > upper) {
        v = upper;
    }
    return v;
}

/* Python slice semantics (spec "Slices"). */
static json_t *slice(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur)
{
    int64_t len;
    int64_t step = n->has[2] ? n->a[2] : 1;
    int64_t lower;
    int64_t upper;
    int64_t start;
    int64_t stop;
    int64_t i;
    json_t *out;

    if (!json_is_array(cur)) {
        return json_null();
    }
    if (step == 0) {
        at_jmes_seterr(c->e, AT_JMES_INVALID_VALUE, n->off, "slice step cannot be 0");
        return NULL;
    }
    len = (int64_t)json_array_size(cur);
    lower = step > 0 ? 0 : -1;
    upper = step > 0 ? len : len - 1;
    start = n->has[0] ? clamp(n->a[0], len, lower, upper) : (step < 0 ? upper : lower);
    stop = n->has[1] ? clamp(n->a[1], len, lower, upper) : (step < 0 ? lower : upper);
    out = json_array();
    if (out == NULL) {
        return nomem(c, n->off);
    }
    if (step > 0) {
        for (i = start; i < stop;) {
            if (at_jmes_charge(c, 1, n->off) != 0 ||
                append(c, out, json_incref(json_array_get(cur, (size_t)i)), n->off) != 0) {
                goto fail;
            }
            if (step >= stop - i) {
                break;
            }
            i += step;
        }
    } else {
        /* i >= 0 inside the loop, so i + step cannot overflow. */
        for (i = start; i > stop; i += step) {
            if (at_jmes_charge(c, 1, n->off) != 0 ||
                append(c, out, json_incref(json_array_get(cur, (size_t)i)), n->off) != 0) {
                goto fail;
            }
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* Apply `right` to each element of `base` (owned), keeping non-null
 * results; with `cond`, only elements for which it is truthy. */
static json_t *project(struct at_jmes_ctx *c, json_t *base, const struct at_jmes_node *right,
                       const struct at_jmes_node *cond, size_t off)
{
    json_t *out;
    size_t i;

    if (base == NULL) {
        return NULL;
    }
    if (!json_is_array(base)) {
        json_decref(base);
        return json_null();
    }
    out = json_array();
    if (out == NULL) {
        json_decref(base);
        return nomem(c, off);
    }
    for (i = 0; i < json_array_size(base); i++) {
        json_t *el = json_array_get(base, i);
        json_t *v;

        if (cond != NULL) {
            json_t *t = at_jmes_ev(c, cond, el);
            int keep;
            if (t == NULL) {
                goto fail;
            }
            keep = at_jmes_truthy(t);
            json_decref(t);
            if (!keep) {
                continue;
            }
        }
        v = at_jmes_ev(c, right, el);
        if (v == NULL) {
            goto fail;
        }
        if (json_is_null(v)) {
            continue;
        }
        if (append(c, out, v, off) != 0) {
            goto fail;
        }
    }
    json_decref(base);
    return out;
fail:
    json_decref(base);
    json_decref(out);
    return NULL;
}

static json_t *object_values(struct at_jmes_ctx *c, json_t *obj, size_t off)
{
    json_t *out = json_array();
    void *it;

    if (out == NULL) {
        return nomem(c, off);
    }
    for (it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
        if (at_jmes_charge(c, 1, off) != 0 ||
            append(c, out, json_incref(json_object_iter_value(it)), off) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *vproject(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur)
{
    json_t *base = at_jmes_ev(c, n->kid[0], cur);
    json_t *vals;

    if (base == NULL) {
        return NULL;
    }
    if (!json_is_object(base)) {
        json_decref(base);
        return json_null();
    }
    vals = object_values(c, base, n->off);
    json_decref(base);
    return project(c, vals, n->kid[1], NULL, n->off);
}

static json_t *flatten(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur)
{
    json_t *base = at_jmes_ev(c, n->kid[0], cur);
    json_t *out;
    size_t i;

    if (base == NULL) {
        return NULL;
    }
    if (!json_is_array(base)) {
        json_decref(base);
        return json_null();
    }
    out = json_array();
    if (out == NULL) {
        json_decref(base);
        return nomem(c, n->off);
    }
    for (i = 0; i < json_array_size(base); i++) {
        json_t *el = json_array_get(base, i);
        size_t j;

        if (!json_is_array(el)) {
            if (at_jmes_charge(c, 1, n->off) != 0 || append(c, out, json_incref(el), n->off) != 0) {
                goto fail;
            }
            continue;
        }
        for (j = 0; j < json_array_size(el); j++) {
            if (at_jmes_charge(c, 1, n->off) != 0 ||
                append(c, out, json_incref(json_array_get(el, j)), n->off) != 0) {
                goto fail;
            }
        }
    }
    json_decref(base);
    return out;
fail:
    json_decref(base);
    json_decref(out);
    return NULL;
}

static json_t *ordered(enum at_jmes_tt op, int k)
{
    if (op == TK_LT) {
        return json_boolean(k < 0);
    }
    if (op == TK_LTE) {
        return json_boolean(k <= 0);
    }
    if (op == TK_GT) {
        return json_boolean(k > 0);
    }
    return json_boolean(k >= 0); /* TK_GTE */
}

static json_t *compare(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur)
{
    json_t *l = at_jmes_ev(c, n->kid[0], cur);
    json_t *r;
    json_t *out = NULL;
    int k;

    if (l == NULL) {
        return NULL;
    }
    r = at_jmes_ev(c, n->kid[1], cur);
    if (r == NULL) {
        json_decref(l);
        return NULL;
    }
    if (n->op == TK_EQ || n->op == TK_NE) {
        k = at_jmes_equal(c, l, r, n->off);
        if (k >= 0) {
            out = json_boolean(n->op == TK_EQ ? k : !k);
        }
    } else if (json_is_number(l) && json_is_number(r)) {
        out = ordered(n->op, at_jmes_numcmp(l, r));
    } else if (json_is_string(l) && json_is_string(r)) {
        /* Not in the 2015 specification, but the reference implementation
         * (and the JMESPath community specification) order strings by code
         * point; policies compare ISO 8601 dates and version strings. */
        out = ordered(n->op, at_jmes_strcmp(l, r));
    } else {
        /* Ordering anything else yields null. */
        out = json_null();
    }
    json_decref(l);
    json_decref(r);
    return out;
}

static json_t *multi_list(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur)
{
    json_t *out;
    size_t i;

    if (json_is_null(cur)) {
        return json_null();
    }
    out = json_array();
    if (out == NULL) {
        return nomem(c, n->off);
    }
    for (i = 0; i < n->nkid; i++) {
        json_t *v = at_jmes_ev(c, n->kid[i], cur);
        if (v == NULL || append(c, out, v, n->off) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *multi_hash(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur)
{
    json_t *out;
    size_t i;

    if (json_is_null(cur)) {
        return json_null();
    }
    out = json_object();
    if (out == NULL) {
        return nomem(c, n->off);
    }
    for (i = 0; i < n->nkid; i++) {
        const struct at_jmes_node *kv = n->kid[i];
        json_t *v = at_jmes_ev(c, kv->kid[0], cur);
        if (v == NULL) {
            goto fail;
        }
        if (json_object_setn_new_nocheck(out, json_string_value(kv->val),
                                         json_string_length(kv->val), v) != 0) {
            nomem(c, kv->off);
            goto fail;
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

json_t *at_jmes_ev(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur)
{
    json_t *v;
    json_t *w;
    size_t i;
    int t;

    if (at_jmes_charge(c, 1, n->off) != 0) {
        return NULL;
    }
    switch (n->kind) {
    case N_IDENTITY:
    case N_CURRENT:
        return json_incref(cur);
    case N_FIELD:
        return field(n, cur);
    case N_LITERAL:
        return json_incref(n->val);
    case N_SUBEXPR:
    case N_INDEX_EXPR:
    case N_PIPE:
        /* Each child is applied to the previous one's result. */
        v = json_incref(cur);
        for (i = 0; i < n->nkid; i++) {
            w = at_jmes_ev(c, n->kid[i], v);
            json_decref(v);
            if (w == NULL) {
                return NULL;
            }
            v = w;
        }
        return v;
    case N_INDEX:
        return index_of(n, cur);
    case N_SLICE:
        return slice(c, n, cur);
    case N_PROJECT:
        return project(c, at_jmes_ev(c, n->kid[0], cur), n->kid[1], NULL, n->off);
    case N_VPROJECT:
        return vproject(c, n, cur);
    case N_FPROJECT:
        return project(c, at_jmes_ev(c, n->kid[0], cur), n->kid[1], n->kid[2], n->off);
    case N_FLATTEN:
        return flatten(c, n, cur);
    case N_CMP:
        return compare(c, n, cur);
    case N_OR:
    case N_AND:
        v = at_jmes_ev(c, n->kid[0], cur);
        if (v == NULL) {
            return NULL;
        }
        t = at_jmes_truthy(v);
        if (n->kind == N_OR ? t : !t) {
            return v;
        }
        json_decref(v);
        return at_jmes_ev(c, n->kid[1], cur);
    case N_NOT:
        v = at_jmes_ev(c, n->kid[0], cur);
        if (v == NULL) {
            return NULL;
        }
        t = at_jmes_truthy(v);
        json_decref(v);
        return json_boolean(!t);
    case N_MSL:
        return multi_list(c, n, cur);
    case N_MSH:
        return multi_hash(c, n, cur);
    case N_FUNC:
        return at_jmes_call(c, n, cur);
    case N_KEYVAL:
    case N_EXPREF:
        /* An expression reference only means something as a function
         * argument (handled by at_jmes_call); elsewhere it is null. */
        return json_null();
    }
    at_jmes_seterr(c->e, AT_JMES_SYNTAX, n->off, "internal: bad node");
    return NULL;
}

/* ---- function calls: arguments and their types ---- */

static unsigned type_bit(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return AT_JT_NULL;
    case JSON_TRUE:
    case JSON_FALSE:
        return AT_JT_BOOL;
    case JSON_INTEGER:
    case JSON_REAL:
        return AT_JT_NUM;
    case JSON_STRING:
        return AT_JT_STR;
    case JSON_ARRAY:
        return AT_JT_ARR;
    case JSON_OBJECT:
        return AT_JT_OBJ;
    }
    return 0;
}

/* 1 ok, 0 wrong type, -1 error (limit). */
static int type_ok(struct at_jmes_ctx *c, const struct at_jmes_arg *arg, unsigned mask, size_t off)
{
    size_t i;
    size_t n;
    unsigned all = AT_JT_ARR_NUM | AT_JT_ARR_STR;

    if (arg->ref != NULL) {
        return (mask & AT_JT_EXPREF) != 0;
    }
    if (mask & type_bit(arg->v)) {
        return 1;
    }
    if (!json_is_array(arg->v) || (mask & all) == 0) {
        return 0;
    }
    n = json_array_size(arg->v);
    if (at_jmes_charge(c, n, off) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned t = type_bit(json_array_get(arg->v, i));
        if (t != AT_JT_NUM) {
            all &= ~(unsigned)AT_JT_ARR_NUM;
        }
        if (t != AT_JT_STR) {
            all &= ~(unsigned)AT_JT_ARR_STR;
        }
    }
    return (mask & all) != 0;
}

static void describe(unsigned mask, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {AT_JT_NUM, "number"},
        {AT_JT_STR, "string"},
        {AT_JT_BOOL, "boolean"},
        {AT_JT_NULL, "null"},
        {AT_JT_ARR, "array"},
        {AT_JT_OBJ, "object"},
        {AT_JT_EXPREF, "expression"},
        {AT_JT_ARR_NUM, "array[number]"},
        {AT_JT_ARR_STR, "array[string]"},
    };
    size_t i;
    size_t o = 0;

    buf[0] = '\0';
    if ((mask & AT_JT_ANY) == AT_JT_ANY) {
        (void)snprintf(buf, cap, "any");
        return;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int w;
        if (!(mask & names[i].bit)) {
            continue;
        }
        w = snprintf(buf + o, cap - o, "%s%s", o ? "|" : "", names[i].name);
        if (w < 0 || (size_t)w >= cap - o) {
            return;
        }
        o += (size_t)w;
    }
}

json_t *at_jmes_call(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur)
{
    const struct at_jmes_fn *fn = n->fn;
    struct at_jmes_arg local[4];
    struct at_jmes_arg *args = local;
    json_t *out = NULL;
    size_t i;
    size_t got = 0;

    if (fn == NULL) {
        at_jmes_seterr(c->e, AT_JMES_UNKNOWN_FUNCTION, n->off, "unknown function");
        return NULL;
    }
    if (n->nkid > sizeof(local) / sizeof(local[0])) {
        args = calloc(n->nkid, sizeof(*args));
        if (args == NULL) {
            return nomem(c, n->off);
        }
    }
    for (i = 0; i < n->nkid; i++) {
        const struct at_jmes_node *k = n->kid[i];
        args[i].v = NULL;
        args[i].ref = NULL;
        if (k->kind == N_EXPREF) {
            args[i].ref = k->kid[0];
        } else {
            args[i].v = at_jmes_ev(c, k, cur);
            if (args[i].v == NULL) {
                goto out;
            }
        }
        got = i + 1;
    }
    for (i = 0; i < n->nkid; i++) {
        unsigned mask = fn->types[i < fn->nparams ? i : fn->nparams - 1];
        int ok = type_ok(c, &args[i], mask, n->off);
        if (ok < 0) {
            goto out;
        }
        if (!ok) {
            char want[96];
            describe(mask, want, sizeof(want));
            at_jmes_seterr(c->e, AT_JMES_INVALID_TYPE, n->kid[i]->off,
                           "%s() argument %zu: expected %s, got %s", fn->name, i + 1, want,
                           args[i].ref != NULL ? "expression" : at_jmes_type_name(args[i].v));
            goto out;
        }
    }
    out = fn->impl(c, n, args, n->nkid);
out:
    for (i = 0; i < got; i++) {
        json_decref(args[i].v);
    }
    if (args != local) {
        free(args);
    }
    return out;
}
