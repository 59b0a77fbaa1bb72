/* Arena, string buffer and name tables shared by the policy engine. */
#include "policy/ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pol_chunk {
    struct pol_chunk *next;
    size_t size;
    size_t used;
    max_align_t data[]; /* aligned payload */
};

#define POL_CHUNK_MIN ((size_t)8192)

void pol_arena_init(struct pol_arena *a, size_t cap)
{
    a->head = NULL;
    a->used_total = 0;
    a->cap = cap;
}

void pol_arena_free(struct pol_arena *a)
{
    struct pol_chunk *c = a->head;
    while (c != NULL) {
        struct pol_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used_total = 0;
}

void *pol_alloc(struct pol_arena *a, size_t n)
{
    if (n == 0) {
        n = 1;
    }
    if (n > SIZE_MAX / 2) {
        return NULL;
    }
    n = (n + 7u) & ~(size_t)7u;
    if (a->cap != 0 && (n > a->cap || a->used_total > a->cap - n)) {
        return NULL;
    }
    struct pol_chunk *c = a->head;
    if (c == NULL || c->size - c->used < n) {
        size_t sz = n > POL_CHUNK_MIN ? n : POL_CHUNK_MIN;
        c = malloc(sizeof(*c) + sz);
        if (c == NULL) {
            return NULL;
        }
        c->size = sz;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    a->used_total += n;
    memset(p, 0, n);
    return p;
}

char *pol_strndup(struct pol_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX) {
        return NULL;
    }
    char *d = pol_alloc(a, n + 1);
    if (d != NULL) {
        if (n > 0) {
            memcpy(d, s, n);
        }
        d[n] = '\0';
    }
    return d;
}

static bool buf_reserve(struct pol_buf *b, size_t n)
{
    if (b->oom) {
        return false;
    }
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return false;
    }
    if (b->len + n + 1 <= b->cap) {
        return true;
    }
    size_t ncap = b->cap == 0 ? 256 : b->cap;
    while (ncap < b->len + n + 1) {
        ncap *= 2;
    }
    char *p = realloc(b->p, ncap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = ncap;
    return true;
}

void pol_buf_put(struct pol_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n)) {
        return;
    }
    if (n > 0) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
}

void pol_buf_puts(struct pol_buf *b, const char *s)
{
    pol_buf_put(b, s, strlen(s));
}

void pol_buf_printf(struct pol_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1;
    pol_buf_put(b, tmp, len);
}

void pol_buf_quote(struct pol_buf *b, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    pol_buf_put(b, "\"", 1);
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        switch (ch) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (ch < 0x20 || ch == 0x7f) {
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = hexd[ch >> 4];
                u[5] = hexd[ch & 15];
                pol_buf_put(b, s + run, i - run);
                pol_buf_put(b, u, 6);
                run = i + 1;
            }
            continue;
        }
        pol_buf_put(b, s + run, i - run);
        pol_buf_puts(b, esc);
        run = i + 1;
    }
    pol_buf_put(b, s + run, n - run);
    pol_buf_put(b, "\"", 1);
}

char *pol_buf_take(struct pol_buf *b)
{
    if (b->oom) {
        free(b->p);
        memset(b, 0, sizeof(*b));
        return NULL;
    }
    if (b->p == NULL) {
        b->p = malloc(1);
        if (b->p == NULL) {
            return NULL;
        }
        b->p[0] = '\0';
    }
    char *p = b->p;
    memset(b, 0, sizeof(*b));
    return p;
}

void pol_warn(struct at_policy *p, uint32_t line, uint32_t col, size_t off, const char *fmt, ...)
{
    if (p->nwarnings == p->warn_cap) {
        if (p->warn_cap >= 256) {
            return; /* enough said */
        }
        size_t ncap = p->warn_cap == 0 ? 8 : p->warn_cap * 2;
        struct at_policy_diag *n = realloc(p->warnings, ncap * sizeof(*n));
        if (n == NULL) {
            return;
        }
        p->warnings = n;
        p->warn_cap = ncap;
    }
    struct at_policy_diag *d = &p->warnings[p->nwarnings++];
    memset(d, 0, sizeof(*d));
    d->line = line;
    d->col = col;
    d->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
}

static const char *const fn_names[POL_NFN] = {
    "JmesPath", "JsonToClaimValue", "IsSubsetOf", "AppendString", "NegateBool", "ContainsOnlyValue",
};
static const uint32_t fn_arity[POL_NFN] = {2, 1, 2, 2, 1, 2};

const char *pol_fn_name(enum pol_fn fn)
{
    return fn_names[fn];
}

uint32_t pol_fn_arity(enum pol_fn fn)
{
    return fn_arity[fn];
}

const char *pol_prop_name(enum pol_prop p)
{
    switch (p) {
    case PROP_TYPE:
        return "type";
    case PROP_VALUE:
        return "value";
    case PROP_ISSUER:
        return "issuer";
    case PROP_VALUETYPE:
        return "valueType";
    }
    return "?";
}

const char *pol_op_text(enum pol_op op)
{
    switch (op) {
    case OP_EQ:
        return "==";
    case OP_NE:
        return "!=";
    case OP_LT:
        return "<";
    case OP_LE:
        return "<=";
    case OP_GT:
        return ">";
    case OP_GE:
        return ">=";
    }
    return "?";
}

const char *pol_section_name(enum pol_section s)
{
    switch (s) {
    case SEC_CONFIG:
        return "configurationrules";
    case SEC_AUTHZ:
        return "authorizationrules";
    case SEC_ISSUANCE:
        return "issuancerules";
    }
    return "?";
}

const char *pol_action_name(enum pol_action a)
{
    switch (a) {
    case ACT_PERMIT:
        return "permit";
    case ACT_DENY:
        return "deny";
    case ACT_ADD:
        return "add";
    case ACT_ISSUE:
        return "issue";
    case ACT_ISSUEPROPERTY:
        return "issueproperty";
    }
    return "?";
}
