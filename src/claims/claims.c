#include "claims/claims.h"

#include "base/encoding.h"

#include <stdlib.h>
#include <string.h>

void at_claims_init(struct at_claims *cs)
{
    memset(cs, 0, sizeof(*cs));
}

static void claim_free(struct at_claim *c)
{
    free(c->type);
    free(c->issuer);
    switch (c->kind) {
    case AT_CLAIM_STRING:
        free(c->v.s);
        break;
    case AT_CLAIM_BYTES:
        free(c->v.bytes.p);
        break;
    case AT_CLAIM_JSON:
        json_decref(c->v.json);
        break;
    case AT_CLAIM_INT:
    case AT_CLAIM_BOOL:
        break;
    }
}

void at_claims_clear(struct at_claims *cs)
{
    for (size_t i = 0; i < cs->count; i++) {
        claim_free(&cs->items[i]);
    }
    free(cs->items);
    memset(cs, 0, sizeof(*cs));
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n + 1);
    }
    return d;
}

/* Append a claim with type/issuer set; the caller fills the value. */
static at_status push(struct at_claims *cs, const char *type, const char *issuer,
                      enum at_claim_kind kind, struct at_claim **out, struct at_err *e)
{
    if (cs->count == cs->cap) {
        size_t ncap = cs->cap == 0 ? 16 : cs->cap * 2;
        struct at_claim *n = realloc(cs->items, ncap * sizeof(*n));
        if (n == NULL) {
            AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
        }
        cs->items = n;
        cs->cap = ncap;
    }
    struct at_claim *c = &cs->items[cs->count];
    memset(c, 0, sizeof(*c));
    c->type = dupstr(type);
    c->issuer = dupstr(issuer != NULL ? issuer : AT_ISSUER_SERVICE);
    c->kind = kind;
    if (c->type == NULL || c->issuer == NULL) {
        free(c->type);
        free(c->issuer);
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    cs->count++;
    *out = c;
    return at_ok();
}

at_status at_claims_add_str(struct at_claims *cs, const char *type, const char *issuer,
                            const char *value, struct at_err *e)
{
    struct at_claim *c;
    char *v = dupstr(value);
    if (v == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    at_status s = push(cs, type, issuer, AT_CLAIM_STRING, &c, e);
    if (!at_is_ok(s)) {
        free(v);
        return s;
    }
    c->v.s = v;
    return at_ok();
}

at_status at_claims_add_int(struct at_claims *cs, const char *type, const char *issuer,
                            int64_t value, struct at_err *e)
{
    struct at_claim *c;
    AT_TRY(push(cs, type, issuer, AT_CLAIM_INT, &c, e));
    c->v.i = value;
    return at_ok();
}

at_status at_claims_add_bool(struct at_claims *cs, const char *type, const char *issuer,
                             bool value, struct at_err *e)
{
    struct at_claim *c;
    AT_TRY(push(cs, type, issuer, AT_CLAIM_BOOL, &c, e));
    c->v.b = value;
    return at_ok();
}

at_status at_claims_add_bytes(struct at_claims *cs, const char *type, const char *issuer,
                              const uint8_t *p, size_t len, struct at_err *e)
{
    struct at_claim *c;
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    if (len > 0) {
        memcpy(copy, p, len);
    }
    at_status s = push(cs, type, issuer, AT_CLAIM_BYTES, &c, e);
    if (!at_is_ok(s)) {
        free(copy);
        return s;
    }
    c->v.bytes.p = copy;
    c->v.bytes.len = len;
    return at_ok();
}

at_status at_claims_add_json(struct at_claims *cs, const char *type, const char *issuer,
                             json_t *json, struct at_err *e)
{
    struct at_claim *c;
    AT_TRY(push(cs, type, issuer, AT_CLAIM_JSON, &c, e));
    c->v.json = json_incref(json);
    return at_ok();
}

at_status at_claims_add_copy(struct at_claims *cs, const struct at_claim *src, struct at_err *e)
{
    switch (src->kind) {
    case AT_CLAIM_STRING:
        return at_claims_add_str(cs, src->type, src->issuer, src->v.s, e);
    case AT_CLAIM_INT:
        return at_claims_add_int(cs, src->type, src->issuer, src->v.i, e);
    case AT_CLAIM_BOOL:
        return at_claims_add_bool(cs, src->type, src->issuer, src->v.b, e);
    case AT_CLAIM_BYTES:
        return at_claims_add_bytes(cs, src->type, src->issuer, src->v.bytes.p, src->v.bytes.len,
                                   e);
    case AT_CLAIM_JSON: {
        json_t *copy = json_deep_copy(src->v.json);
        if (copy == NULL) {
            AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
        }
        at_status s = at_claims_add_json(cs, src->type, src->issuer, copy, e);
        json_decref(copy);
        return s;
    }
    }
    AT_FAIL(e, AT_E_INTERNAL, NULL, "unknown claim kind");
}

const struct at_claim *at_claims_find(const struct at_claims *cs, const char *type,
                                      const char *issuer)
{
    for (size_t i = 0; i < cs->count; i++) {
        const struct at_claim *c = &cs->items[i];
        if (strcmp(c->type, type) == 0 && (issuer == NULL || strcmp(c->issuer, issuer) == 0)) {
            return c;
        }
    }
    return NULL;
}

json_t *at_claim_value_json(const struct at_claim *c)
{
    switch (c->kind) {
    case AT_CLAIM_STRING:
        return json_string(c->v.s);
    case AT_CLAIM_INT:
        return json_integer((json_int_t)c->v.i);
    case AT_CLAIM_BOOL:
        return json_boolean(c->v.b);
    case AT_CLAIM_BYTES: {
        char *hex = at_hex_dup(c->v.bytes.p, c->v.bytes.len);
        if (hex == NULL) {
            return NULL;
        }
        json_t *j = json_string(hex);
        free(hex);
        return j;
    }
    case AT_CLAIM_JSON:
        return json_incref(c->v.json);
    }
    return NULL;
}

json_t *at_claims_to_json(const struct at_claims *cs)
{
    json_t *obj = json_object();
    if (obj == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < cs->count; i++) {
        const struct at_claim *c = &cs->items[i];
        if (json_object_get(obj, c->type) != NULL) {
            continue; /* already emitted with its first occurrence */
        }
        size_t n = 0;
        for (size_t k = i; k < cs->count; k++) {
            n += strcmp(cs->items[k].type, c->type) == 0;
        }
        json_t *v;
        if (n == 1) {
            v = at_claim_value_json(c);
        } else {
            v = json_array();
            for (size_t k = i; v != NULL && k < cs->count; k++) {
                if (strcmp(cs->items[k].type, c->type) == 0 &&
                    json_array_append_new(v, at_claim_value_json(&cs->items[k])) != 0) {
                    json_decref(v);
                    v = NULL;
                }
            }
        }
        if (v == NULL || json_object_set_new(obj, c->type, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static at_status add_value(struct at_claims *cs, const char *type, const char *issuer,
                           const json_t *v, struct at_err *e)
{
    if (json_is_string(v)) {
        return at_claims_add_str(cs, type, issuer, json_string_value(v), e);
    }
    if (json_is_integer(v)) {
        return at_claims_add_int(cs, type, issuer, (int64_t)json_integer_value(v), e);
    }
    if (json_is_boolean(v)) {
        return at_claims_add_bool(cs, type, issuer, json_is_true(v), e);
    }
    if (json_is_null(v)) {
        AT_FAIL(e, AT_E_BAD_VALUE, NULL, "claim '%s' has a null value", type);
    }
    return at_claims_add_json(cs, type, issuer, (json_t *)(uintptr_t)v, e);
}

at_status at_claims_from_json(struct at_claims *cs, const json_t *j, struct at_err *e)
{
    if (json_is_array(j)) {
        size_t i;
        const json_t *item;
        json_array_foreach(j, i, item)
        {
            const json_t *t = json_object_get(item, "type");
            const json_t *v = json_object_get(item, "value");
            const json_t *is = json_object_get(item, "issuer");
            if (!json_is_string(t) || v == NULL || (is != NULL && !json_is_string(is))) {
                AT_FAIL(e, AT_E_PARSE, NULL,
                        "claim %zu: expected {\"type\":string, \"value\":..., \"issuer\"?:string}",
                        i);
            }
            AT_TRY(add_value(cs, json_string_value(t), is ? json_string_value(is) : NULL, v, e));
        }
        return at_ok();
    }
    if (json_is_object(j)) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)(uintptr_t)j, k, v)
        {
            if (json_is_array(v)) {
                size_t i;
                const json_t *item;
                json_array_foreach(v, i, item)
                {
                    AT_TRY(add_value(cs, k, NULL, item, e));
                }
            } else {
                AT_TRY(add_value(cs, k, NULL, v, e));
            }
        }
        return at_ok();
    }
    AT_FAIL(e, AT_E_PARSE, NULL, "claims must be an array of claims or an object");
}
