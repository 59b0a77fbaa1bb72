/*
 * JMESPath ordering functions: sort, sort_by, max, min, max_by, min_by.
 *
 * sort and sort_by are stable (a merge sort; ties keep input order), and
 * max/min/max_by/min_by return the first of equal extremes, as the
 * reference implementation does. Numbers compare as numbers, strings by
 * code point; a mix is invalid-type (checked before any work).
 */
#include "jmespath_int.h"

#include <stdlib.h>
#include <string.h>

static json_t *nomem(struct at_jmes_ctx *c, size_t off)
{
    at_jmes_seterr(c->e, AT_JMES_NOMEM, off, "out of memory");
    return NULL;
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

#define FN(name)                                                                                   \
    json_t *name(struct at_jmes_ctx *c, const struct at_jmes_node *call, struct at_jmes_arg *a,    \
                 size_t argc)

/* ---- stable merge sort of (key, value) pairs ---- */

struct item {
    json_t *key;
    json_t *val;
};

static int item_cmp(const struct item *a, const struct item *b)
{
    if (json_is_string(a->key)) {
        return at_jmes_strcmp(a->key, b->key);
    }
    return at_jmes_numcmp(a->key, b->key);
}

static void msort(struct item *a, struct item *tmp, size_t n)
{
    size_t mid = n / 2;
    size_t i = 0;
    size_t j = mid;
    size_t k = 0;

    if (n < 2) {
        return;
    }
    msort(a, tmp, mid);
    msort(a + mid, tmp, n - mid);
    while (i < mid && j < n) {
        /* Take from the left on ties: stable. */
        if (item_cmp(&a[j], &a[i]) < 0) {
            tmp[k++] = a[j++];
        } else {
            tmp[k++] = a[i++];
        }
    }
    while (i < mid) {
        tmp[k++] = a[i++];
    }
    while (j < n) {
        tmp[k++] = a[j++];
    }
    memcpy(a, tmp, n * sizeof(*a));
}

static size_t log2ceil(size_t n)
{
    size_t l = 1;
    while (n > 1) {
        n >>= 1;
        l++;
    }
    return l;
}

/* Sorts items by key and returns a new array of the values. */
static json_t *sort_items(struct at_jmes_ctx *c, struct item *items, size_t n, size_t off)
{
    struct item *tmp;
    json_t *out;
    size_t i;

    if (at_jmes_charge(c, n * log2ceil(n), off) != 0) {
        return NULL;
    }
    tmp = malloc(n * sizeof(*tmp) + 1);
    if (tmp == NULL) {
        return nomem(c, off);
    }
    msort(items, tmp, n);
    free(tmp);
    out = newarr(c, off);
    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (push(c, out, json_incref(items[i].val), off) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *bad_type(struct at_jmes_ctx *c, const struct at_jmes_node *call, const char *what,
                        const json_t *got)
{
    at_jmes_seterr(c->e, AT_JMES_INVALID_TYPE, call->off, "%s(): %s, got %s", call->fn->name, what,
                   got != NULL ? at_jmes_type_name(got) : "expression");
    return NULL;
}

static void free_keys(struct item *items, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        json_decref(items[i].key);
    }
}

/* Evaluates the expref `ref` on every element of `arr`; all keys must be
 * numbers or all strings. Fills items[] (keys owned). */
static int keys_by(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                   const struct at_jmes_node *ref, json_t *arr, struct item *items)
{
    size_t n = json_array_size(arr);
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *el = json_array_get(arr, i);
        json_t *k = at_jmes_ev(c, ref, el);
        if (k == NULL) {
            free_keys(items, i);
            return -1;
        }
        items[i].key = k;
        items[i].val = el;
        if ((!json_is_number(k) && !json_is_string(k)) ||
            (i > 0 && json_typeof(k) != json_typeof(items[0].key) &&
             !(json_is_number(k) && json_is_number(items[0].key)))) {
            bad_type(c, call, "expression must give all numbers or all strings", k);
            free_keys(items, i + 1);
            return -1;
        }
    }
    return 0;
}

static struct item *items_new(struct at_jmes_ctx *c, size_t n, size_t off)
{
    struct item *items;

    if (n > ((size_t)-1) / sizeof(*items) - 1) {
        nomem(c, off);
        return NULL;
    }
    items = calloc(n + 1, sizeof(*items));
    if (items == NULL) {
        nomem(c, off);
    }
    return items;
}

static json_t *minmax(struct at_jmes_ctx *c, json_t *arr, int want_max, size_t off)
{
    json_t *best = NULL;
    size_t i;

    for (i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        int r;
        if (best == NULL) {
            best = v;
            continue;
        }
        if (at_jmes_charge(c, 1, off) != 0) {
            return NULL;
        }
        r = json_is_string(v) ? at_jmes_strcmp(v, best) : at_jmes_numcmp(v, best);
        if (want_max ? r > 0 : r < 0) {
            best = v;
        }
    }
    return best != NULL ? json_incref(best) : json_null();
}

FN(at_jmes_fn_max)
{
    (void)argc;
    return minmax(c, a[0].v, 1, call->off);
}

FN(at_jmes_fn_min)
{
    (void)argc;
    return minmax(c, a[0].v, 0, call->off);
}

static json_t *minmax_by(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                         struct at_jmes_arg *a, int want_max)
{
    json_t *arr = a[0].v;
    size_t n = json_array_size(arr);
    struct item *items;
    size_t best = 0;
    size_t i;
    json_t *out;

    if (n == 0) {
        return json_null();
    }
    items = items_new(c, n, call->off);
    if (items == NULL) {
        return NULL;
    }
    if (keys_by(c, call, a[1].ref, arr, items) != 0) {
        free(items);
        return NULL;
    }
    for (i = 1; i < n; i++) {
        int r = item_cmp(&items[i], &items[best]);
        if (want_max ? r > 0 : r < 0) {
            best = i;
        }
    }
    out = json_incref(items[best].val);
    free_keys(items, n);
    free(items);
    return out;
}

FN(at_jmes_fn_max_by)
{
    (void)argc;
    return minmax_by(c, call, a, 1);
}

FN(at_jmes_fn_min_by)
{
    (void)argc;
    return minmax_by(c, call, a, 0);
}

FN(at_jmes_fn_sort)
{
    json_t *arr = a[0].v;
    size_t n = json_array_size(arr);
    struct item *items = items_new(c, n, call->off);
    json_t *out;
    size_t i;
    (void)argc;

    if (items == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        items[i].key = json_array_get(arr, i);
        items[i].val = items[i].key;
    }
    out = sort_items(c, items, n, call->off);
    free(items);
    return out;
}

FN(at_jmes_fn_sort_by)
{
    json_t *arr = a[0].v;
    size_t n = json_array_size(arr);
    struct item *items = items_new(c, n, call->off);
    json_t *out;
    (void)argc;

    if (items == NULL) {
        return NULL;
    }
    if (keys_by(c, call, a[1].ref, arr, items) != 0) {
        free(items);
        return NULL;
    }
    out = sort_items(c, items, n, call->off);
    free_keys(items, n);
    free(items);
    return out;
}
