/*
 * JMESPath built-in functions (spec "Built-in Functions").
 *
 * Arity is checked at compile time (at_jmes_fn_find + parser); argument
 * types here, in argument order, before the function runs. Results that
 * are whole numbers stay JSON integers where the reference implementation
 * returns Python ints (abs, ceil, floor, sum of integers, to_number of an
 * integer string); avg and anything involving a real stay reals.
 */
#include "jmespath_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO63 9223372036854775808.0

static json_t *nomem(struct at_jmes_ctx *c, size_t off)
{
    at_jmes_seterr(c->e, AT_JMES_NOMEM, off, "out of memory");
    return NULL;
}

static json_t *mkreal(struct at_jmes_ctx *c, double d, size_t off)
{
    json_t *v;

    if (!isfinite(d)) {
        at_jmes_seterr(c->e, AT_JMES_INVALID_VALUE, off, "number out of range");
        return NULL;
    }
    v = json_real(d);
    return v != NULL ? v : nomem(c, off);
}

static json_t *mkint(struct at_jmes_ctx *c, json_int_t i, size_t off)
{
    json_t *v = json_integer(i);
    return v != NULL ? v : nomem(c, off);
}

/* A whole double becomes an integer when it fits, as Python's int(). */
static json_t *mkwhole(struct at_jmes_ctx *c, double d, size_t off)
{
    if (d >= -TWO63 && d < TWO63) {
        return mkint(c, (json_int_t)d, off);
    }
    return mkreal(c, d, off);
}

static double dfloor(double d)
{
    double t;

    if (!(d > -TWO63 && d < TWO63)) {
        return d; /* already whole (or not finite) */
    }
    t = (double)(int64_t)d;
    return t > d ? t - 1.0 : t;
}

static double dceil(double d)
{
    double t;

    if (!(d > -TWO63 && d < TWO63)) {
        return d;
    }
    t = (double)(int64_t)d;
    return t < d ? t + 1.0 : t;
}

static json_t *newarr(struct at_jmes_ctx *c, size_t off)
{
    json_t *a = json_array();
    return a != NULL ? a : nomem(c, off);
}

static int push(struct at_jmes_ctx *c, json_t *arr, json_t *v, size_t off)
{
    if (v == NULL) {
        return -1;
    }
    if (json_array_append_new(arr, v) != 0) {
        nomem(c, off);
        return -1;
    }
    return 0;
}

/* ---- the functions ---- */

#define FN(name)                                                                                   \
    static json_t *name(struct at_jmes_ctx *c, const struct at_jmes_node *call,                    \
                        struct at_jmes_arg *a, size_t argc)

FN(f_abs)
{
    json_t *v = a[0].v;
    double d;
    (void)argc;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i >= 0) {
            return json_incref(v);
        }
        if (i == INT64_MIN) {
            return mkreal(c, -(double)i, call->off);
        }
        return mkint(c, -i, call->off);
    }
    d = json_real_value(v);
    return mkreal(c, d < 0 ? -d : (d == 0 ? 0.0 : d), call->off);
}

FN(f_avg)
{
    json_t *arr = a[0].v;
    size_t n = json_array_size(arr);
    double s = 0.0;
    size_t i;
    (void)argc;
    if (n == 0) {
        return json_null();
    }
    for (i = 0; i < n; i++) {
        s += json_number_value(json_array_get(arr, i));
    }
    return mkreal(c, s / (double)n, call->off);
}

FN(f_ceil)
{
    (void)argc;
    if (json_is_integer(a[0].v)) {
        return json_incref(a[0].v);
    }
    return mkwhole(c, dceil(json_real_value(a[0].v)), call->off);
}

FN(f_floor)
{
    (void)argc;
    if (json_is_integer(a[0].v)) {
        return json_incref(a[0].v);
    }
    return mkwhole(c, dfloor(json_real_value(a[0].v)), call->off);
}

FN(f_contains)
{
    json_t *subj = a[0].v;
    json_t *needle = a[1].v;
    size_t i;
    (void)argc;

    if (json_is_array(subj)) {
        for (i = 0; i < json_array_size(subj); i++) {
            int r = at_jmes_equal(c, json_array_get(subj, i), needle, call->off);
            if (r < 0) {
                return NULL;
            }
            if (r) {
                return json_true();
            }
        }
        return json_false();
    }
    if (!json_is_string(needle)) {
        return json_false();
    }
    {
        const char *h = json_string_value(subj);
        const char *nd = json_string_value(needle);
        size_t hl = json_string_length(subj);
        size_t nl = json_string_length(needle);
        if (nl == 0) {
            return json_true();
        }
        for (i = 0; nl <= hl && i <= hl - nl; i++) {
            if (h[i] != nd[0]) {
                continue;
            }
            if (at_jmes_charge(c, 1 + nl / 16, call->off) != 0) {
                return NULL;
            }
            if (memcmp(h + i, nd, nl) == 0) {
                return json_true();
            }
        }
        return json_false();
    }
}

static int affix(const json_t *s, const json_t *x, int at_end)
{
    size_t sl = json_string_length(s);
    size_t xl = json_string_length(x);

    if (xl > sl) {
        return 0;
    }
    return memcmp(json_string_value(s) + (at_end ? sl - xl : 0), json_string_value(x), xl) == 0;
}

FN(f_ends_with)
{
    (void)c;
    (void)call;
    (void)argc;
    return json_boolean(affix(a[0].v, a[1].v, 1));
}

FN(f_starts_with)
{
    (void)c;
    (void)call;
    (void)argc;
    return json_boolean(affix(a[0].v, a[1].v, 0));
}

/*
 * equals_ignore_case(a, b): the extension MAA's published policies use (policy-language.md
 * §7.1). Case folding is ASCII only; other bytes must match exactly (documented choice:
 * the service's own folding rules for non-ASCII text are not published).
 */
FN(f_equals_ignore_case)
{
    (void)c;
    (void)call;
    (void)argc;
    size_t al = json_string_length(a[0].v);
    if (al != json_string_length(a[1].v)) {
        return json_false();
    }
    const unsigned char *x = (const unsigned char *)json_string_value(a[0].v);
    const unsigned char *y = (const unsigned char *)json_string_value(a[1].v);
    for (size_t i = 0; i < al; i++) {
        unsigned char p = x[i] >= 'A' && x[i] <= 'Z' ? (unsigned char)(x[i] + 32) : x[i];
        unsigned char q = y[i] >= 'A' && y[i] <= 'Z' ? (unsigned char)(y[i] + 32) : y[i];
        if (p != q) {
            return json_false();
        }
    }
    return json_true();
}

FN(f_join)
{
    json_t *glue = a[0].v;
    json_t *arr = a[1].v;
    struct at_jmes_sbuf b = {NULL, 0, 0};
    size_t i;
    (void)argc;

    for (i = 0; i < json_array_size(arr); i++) {
        json_t *s = json_array_get(arr, i);
        if ((i != 0 && (at_jmes_charge(c, 1 + json_string_length(glue) / 16, call->off) != 0 ||
                        at_jmes_sb_put(c, &b, json_string_value(glue), json_string_length(glue),
                                       call->off) != 0)) ||
            at_jmes_charge(c, 1 + json_string_length(s) / 16, call->off) != 0 ||
            at_jmes_sb_put(c, &b, json_string_value(s), json_string_length(s), call->off) != 0) {
            free(b.p);
            return NULL;
        }
    }
    return at_jmes_sb_string(c, &b, call->off);
}

FN(f_keys)
{
    json_t *out = newarr(c, call->off);
    void *it;
    (void)argc;

    if (out == NULL) {
        return NULL;
    }
    for (it = json_object_iter(a[0].v); it != NULL; it = json_object_iter_next(a[0].v, it)) {
        json_t *k;
        if (at_jmes_charge(c, 1, call->off) != 0) {
            json_decref(out);
            return NULL;
        }
        k = json_stringn_nocheck(json_object_iter_key(it), json_object_iter_key_len(it));
        if (k == NULL) {
            nomem(c, call->off);
        }
        if (push(c, out, k, call->off) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

FN(f_values)
{
    json_t *out = newarr(c, call->off);
    void *it;
    (void)argc;

    if (out == NULL) {
        return NULL;
    }
    for (it = json_object_iter(a[0].v); it != NULL; it = json_object_iter_next(a[0].v, it)) {
        if (at_jmes_charge(c, 1, call->off) != 0 ||
            push(c, out, json_incref(json_object_iter_value(it)), call->off) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

FN(f_length)
{
    json_t *v = a[0].v;
    size_t n;
    (void)argc;

    if (json_is_string(v)) {
        n = at_jmes_utf8_count(json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        n = json_array_size(v);
    } else {
        n = json_object_size(v);
    }
    return mkint(c, (json_int_t)n, call->off);
}

FN(f_map)
{
    json_t *arr = a[1].v;
    json_t *out = newarr(c, call->off);
    size_t i;
    (void)argc;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        if (push(c, out, at_jmes_ev(c, a[0].ref, json_array_get(arr, i)), call->off) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

FN(f_merge)
{
    json_t *out = json_object();
    size_t i;

    if (out == NULL) {
        return nomem(c, call->off);
    }
    for (i = 0; i < argc; i++) {
        if (at_jmes_charge(c, json_object_size(a[i].v), call->off) != 0) {
            json_decref(out);
            return NULL;
        }
        if (json_object_update(out, a[i].v) != 0) {
            json_decref(out);
            return nomem(c, call->off);
        }
    }
    return out;
}

FN(f_not_null)
{
    size_t i;
    (void)c;
    (void)call;

    for (i = 0; i < argc; i++) {
        if (!json_is_null(a[i].v)) {
            return json_incref(a[i].v);
        }
    }
    return json_null();
}

FN(f_reverse)
{
    json_t *v = a[0].v;
    size_t i;
    (void)argc;

    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        struct at_jmes_sbuf b = {NULL, 0, 0};
        size_t end = n;

        if (at_jmes_charge(c, n / 16, call->off) != 0) {
            return NULL;
        }
        /* Reverse by code point, keeping each UTF-8 sequence intact. */
        while (end > 0) {
            size_t st = end - 1;
            while (st > 0 && ((unsigned char)s[st] & 0xc0) == 0x80) {
                st--;
            }
            if (at_jmes_sb_put(c, &b, s + st, end - st, call->off) != 0) {
                free(b.p);
                return NULL;
            }
            end = st;
        }
        return at_jmes_sb_string(c, &b, call->off);
    } else {
        json_t *out = newarr(c, call->off);
        size_t n = json_array_size(v);
        if (out == NULL) {
            return NULL;
        }
        for (i = n; i > 0; i--) {
            if (at_jmes_charge(c, 1, call->off) != 0 ||
                push(c, out, json_incref(json_array_get(v, i - 1)), call->off) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
}

FN(f_sum)
{
    json_t *arr = a[0].v;
    size_t n = json_array_size(arr);
    json_int_t is = 0;
    double ds = 0.0;
    int ints = 1;
    size_t i;
    (void)argc;

    for (i = 0; i < n && ints; i++) {
        json_t *v = json_array_get(arr, i);
        json_int_t x;
        if (!json_is_integer(v)) {
            ints = 0;
            break;
        }
        x = json_integer_value(v);
        if ((x > 0 && is > INT64_MAX - x) || (x < 0 && is < INT64_MIN - x)) {
            ints = 0;
            break;
        }
        is += x;
    }
    if (ints) {
        return mkint(c, is, call->off);
    }
    for (i = 0; i < n; i++) {
        ds += json_number_value(json_array_get(arr, i));
    }
    return mkreal(c, ds, call->off);
}

FN(f_to_array)
{
    json_t *out;
    (void)argc;

    if (json_is_array(a[0].v)) {
        return json_incref(a[0].v);
    }
    out = newarr(c, call->off);
    if (out == NULL || push(c, out, json_incref(a[0].v), call->off) != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

FN(f_to_string)
{
    struct at_jmes_sbuf b = {NULL, 0, 0};
    (void)argc;

    if (json_is_string(a[0].v)) {
        return json_incref(a[0].v);
    }
    if (at_jmes_to_json_text(c, &b, a[0].v, call->off) != 0) {
        free(b.p);
        return NULL;
    }
    return at_jmes_sb_string(c, &b, call->off);
}

FN(f_to_number)
{
    json_t *v = a[0].v;
    json_t *r;
    json_error_t jerr;
    (void)argc;

    if (json_is_number(v)) {
        return json_incref(v);
    }
    if (!json_is_string(v) || !at_jmes_number_text(json_string_value(v), json_string_length(v))) {
        return json_null();
    }
    if (at_jmes_charge(c, json_string_length(v) / 16, call->off) != 0) {
        return NULL;
    }
    /* jansson converts independently of the C locale. Integers too large
     * for int64 become reals; reals out of range become null. */
    r = json_loadb(json_string_value(v), json_string_length(v), JSON_DECODE_ANY, &jerr);
    if (r == NULL && json_error_code(&jerr) == json_error_numeric_overflow) {
        r = json_loadb(json_string_value(v), json_string_length(v),
                       JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    }
    if (r == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            return nomem(c, call->off);
        }
        return json_null();
    }
    return r;
}

FN(f_type)
{
    json_t *s = json_string(at_jmes_type_name(a[0].v));
    (void)argc;
    return s != NULL ? s : nomem(c, call->off);
}

#define NUM AT_JT_NUM
#define STR AT_JT_STR
#define ARR AT_JT_ARR
#define OBJ AT_JT_OBJ
#define ANY AT_JT_ANY
#define REF AT_JT_EXPREF

/* Sorted by name for bsearch. */
static const struct at_jmes_fn fns[] = {
    {"abs", f_abs, 1, 0, {NUM, 0, 0}},
    {"avg", f_avg, 1, 0, {AT_JT_ARR_NUM, 0, 0}},
    {"ceil", f_ceil, 1, 0, {NUM, 0, 0}},
    {"contains", f_contains, 2, 0, {ARR | STR, ANY, 0}},
    {"ends_with", f_ends_with, 2, 0, {STR, STR, 0}},
    {"equals_ignore_case", f_equals_ignore_case, 2, 0, {STR, STR, 0}},
    {"floor", f_floor, 1, 0, {NUM, 0, 0}},
    {"join", f_join, 2, 0, {STR, AT_JT_ARR_STR, 0}},
    {"keys", f_keys, 1, 0, {OBJ, 0, 0}},
    {"length", f_length, 1, 0, {STR | ARR | OBJ, 0, 0}},
    {"map", f_map, 2, 0, {REF, ARR, 0}},
    {"max", at_jmes_fn_max, 1, 0, {AT_JT_ARR_NUM | AT_JT_ARR_STR, 0, 0}},
    {"max_by", at_jmes_fn_max_by, 2, 0, {ARR, REF, 0}},
    {"merge", f_merge, 1, 1, {OBJ, 0, 0}},
    {"min", at_jmes_fn_min, 1, 0, {AT_JT_ARR_NUM | AT_JT_ARR_STR, 0, 0}},
    {"min_by", at_jmes_fn_min_by, 2, 0, {ARR, REF, 0}},
    {"not_null", f_not_null, 1, 1, {ANY, 0, 0}},
    {"reverse", f_reverse, 1, 0, {STR | ARR, 0, 0}},
    {"sort", at_jmes_fn_sort, 1, 0, {AT_JT_ARR_NUM | AT_JT_ARR_STR, 0, 0}},
    {"sort_by", at_jmes_fn_sort_by, 2, 0, {ARR, REF, 0}},
    {"starts_with", f_starts_with, 2, 0, {STR, STR, 0}},
    {"sum", f_sum, 1, 0, {AT_JT_ARR_NUM, 0, 0}},
    {"to_array", f_to_array, 1, 0, {ANY, 0, 0}},
    {"to_number", f_to_number, 1, 0, {ANY, 0, 0}},
    {"to_string", f_to_string, 1, 0, {ANY, 0, 0}},
    {"type", f_type, 1, 0, {ANY, 0, 0}},
    {"values", f_values, 1, 0, {OBJ, 0, 0}},
};

const struct at_jmes_fn *at_jmes_fn_find(const char *name, size_t len)
{
    size_t lo = 0;
    size_t hi = sizeof(fns) / sizeof(fns[0]);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t fl = strlen(fns[mid].name);
        int r = memcmp(name, fns[mid].name, len < fl ? len : fl);
        if (r == 0) {
            r = len < fl ? -1 : len > fl ? 1 : 0;
        }
        if (r == 0) {
            return &fns[mid];
        }
        if (r < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}
