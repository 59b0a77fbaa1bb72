/*
 * JMESPath parser: tokens -> syntax tree.
 *
 * A top-down operator-precedence (Pratt) parser. Binding powers and the
 * nud/led rules match the reference implementation (jmespath.py parser.py)
 * so that projections stop where the compliance suite expects: tokens with
 * binding power below 10 (pipe, or, and, comparators, flatten) end a
 * projection's right-hand side.
 *
 * Recursion is bounded by AT_JMES_MAX_NEST; tree height (which bounds the
 * evaluator's recursion, including left-deep chains built by the led loop)
 * by AT_JMES_MAX_AST_DEPTH.
 */
#include "jmespath_int.h"

#include <stdlib.h>
#include <string.h>

#define PROJECTION_STOP 10

struct ps {
    const struct at_jmes_tok *t;
    size_t n;
    size_t i;
    struct at_jmes *q;
    struct at_jmes_error *e;
    unsigned nest;
};

static int bp(enum at_jmes_tt tt)
{
    switch (tt) {
    case TK_EOF:
    case TK_UID:
    case TK_QID:
    case TK_LIT:
    case TK_RBRACKET:
    case TK_RPAREN:
    case TK_COMMA:
    case TK_RBRACE:
    case TK_NUMBER:
    case TK_CURRENT:
    case TK_EXPREF:
    case TK_COLON:
        return 0;
    case TK_PIPE:
        return 1;
    case TK_OR:
        return 2;
    case TK_AND:
        return 3;
    case TK_EQ:
    case TK_GT:
    case TK_LT:
    case TK_GTE:
    case TK_LTE:
    case TK_NE:
        return 5;
    case TK_FLATTEN:
        return 9;
    case TK_STAR:
        return 20;
    case TK_FILTER:
        return 21;
    case TK_DOT:
        return 40;
    case TK_NOT:
        return 45;
    case TK_LBRACE:
        return 50;
    case TK_LBRACKET:
        return 55;
    case TK_LPAREN:
        return 60;
    }
    return 0;
}

static const char *tname(enum at_jmes_tt tt)
{
    switch (tt) {
    case TK_EOF:
        return "end of expression";
    case TK_UID:
        return "identifier";
    case TK_QID:
        return "quoted identifier";
    case TK_LIT:
        return "literal";
    case TK_RBRACKET:
        return "']'";
    case TK_RPAREN:
        return "')'";
    case TK_COMMA:
        return "','";
    case TK_RBRACE:
        return "'}'";
    case TK_NUMBER:
        return "number";
    case TK_CURRENT:
        return "'@'";
    case TK_EXPREF:
        return "'&'";
    case TK_COLON:
        return "':'";
    case TK_PIPE:
        return "'|'";
    case TK_OR:
        return "'||'";
    case TK_AND:
        return "'&&'";
    case TK_EQ:
        return "'=='";
    case TK_GT:
        return "'>'";
    case TK_LT:
        return "'<'";
    case TK_GTE:
        return "'>='";
    case TK_LTE:
        return "'<='";
    case TK_NE:
        return "'!='";
    case TK_FLATTEN:
        return "'[]'";
    case TK_STAR:
        return "'*'";
    case TK_FILTER:
        return "'[?'";
    case TK_DOT:
        return "'.'";
    case TK_NOT:
        return "'!'";
    case TK_LBRACE:
        return "'{'";
    case TK_LBRACKET:
        return "'['";
    case TK_LPAREN:
        return "'('";
    }
    return "token";
}

static const struct at_jmes_tok *cur(const struct ps *p)
{
    return &p->t[p->i];
}

static enum at_jmes_tt cur_type(const struct ps *p)
{
    return p->t[p->i].type;
}

static enum at_jmes_tt peek_type(const struct ps *p, size_t k)
{
    return p->i + k < p->n ? p->t[p->i + k].type : TK_EOF;
}

static void advance(struct ps *p)
{
    if (p->t[p->i].type != TK_EOF) {
        p->i++;
    }
}

static void *unexpected(struct ps *p, const char *want)
{
    const struct at_jmes_tok *tk = cur(p);

    if (want != NULL) {
        at_jmes_seterr(p->e, AT_JMES_SYNTAX, tk->off, "syntax error: expected %s, got %s", want,
                       tname(tk->type));
    } else {
        at_jmes_seterr(p->e, AT_JMES_SYNTAX, tk->off, "syntax error: unexpected %s",
                       tname(tk->type));
    }
    return NULL;
}

static int match(struct ps *p, enum at_jmes_tt tt)
{
    if (cur_type(p) != tt) {
        unexpected(p, tname(tt));
        return -1;
    }
    advance(p);
    return 0;
}

static struct at_jmes_node *mk(struct ps *p, enum at_jmes_kind kind, size_t off)
{
    struct at_jmes *q = p->q;
    struct at_jmes_node *n;

    if (q->nall == q->acap) {
        size_t ncap = q->acap ? q->acap * 2 : 32;
        struct at_jmes_node **na = realloc(q->all, ncap * sizeof(struct at_jmes_node *));
        if (na == NULL) {
            at_jmes_seterr(p->e, AT_JMES_NOMEM, off, "out of memory");
            return NULL;
        }
        q->all = na;
        q->acap = ncap;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL) {
        at_jmes_seterr(p->e, AT_JMES_NOMEM, off, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->off = off;
    n->depth = 1;
    q->all[q->nall++] = n;
    return n;
}

/* Attach a fully built `kid`; keeps parent->depth the subtree height. */
static int add(struct ps *p, struct at_jmes_node *parent, struct at_jmes_node *kid)
{
    if (parent->nkid == parent->kcap) {
        size_t ncap = parent->kcap ? parent->kcap * 2 : 2;
        struct at_jmes_node **nk = realloc(parent->kid, ncap * sizeof(struct at_jmes_node *));
        if (nk == NULL) {
            return at_jmes_seterr(p->e, AT_JMES_NOMEM, kid->off, "out of memory");
        }
        parent->kid = nk;
        parent->kcap = ncap;
    }
    parent->kid[parent->nkid++] = kid;
    if (kid->depth + 1 > parent->depth) {
        parent->depth = kid->depth + 1;
        if (parent->depth > AT_JMES_MAX_AST_DEPTH) {
            return at_jmes_seterr(p->e, AT_JMES_LIMIT, parent->off,
                                  "expression tree deeper than %u", AT_JMES_MAX_AST_DEPTH);
        }
    }
    return 0;
}

static struct at_jmes_node *mk2(struct ps *p, enum at_jmes_kind kind, size_t off,
                                struct at_jmes_node *a, struct at_jmes_node *b)
{
    struct at_jmes_node *n;

    if (a == NULL || b == NULL) {
        return NULL;
    }
    n = mk(p, kind, off);
    if (n == NULL || add(p, n, a) != 0 || add(p, n, b) != 0) {
        return NULL;
    }
    return n;
}

static struct at_jmes_node *identity(struct ps *p)
{
    return mk(p, N_IDENTITY, cur(p)->off);
}

static struct at_jmes_node *expr(struct ps *p, int rbp);

static struct at_jmes_node *dot_rhs(struct ps *p, int rbp);
static struct at_jmes_node *msl(struct ps *p, size_t off);
static struct at_jmes_node *msh(struct ps *p, size_t off);

static struct at_jmes_node *proj_rhs(struct ps *p, int rbp)
{
    enum at_jmes_tt tt = cur_type(p);

    if (bp(tt) < PROJECTION_STOP) {
        return identity(p);
    }
    if (tt == TK_LBRACKET || tt == TK_FILTER) {
        return expr(p, rbp);
    }
    if (tt == TK_DOT) {
        advance(p);
        return dot_rhs(p, rbp);
    }
    return unexpected(p, "'.', '[' or '[?' after a projection");
}

static struct at_jmes_node *dot_rhs(struct ps *p, int rbp)
{
    enum at_jmes_tt tt = cur_type(p);
    size_t off = cur(p)->off;

    if (tt == TK_UID || tt == TK_QID || tt == TK_STAR) {
        return expr(p, rbp);
    }
    if (tt == TK_LBRACKET) {
        advance(p);
        return msl(p, off);
    }
    if (tt == TK_LBRACE) {
        advance(p);
        return msh(p, off);
    }
    return unexpected(p, "identifier, '*', '[' or '{' after '.'");
}

static struct at_jmes_node *msl(struct ps *p, size_t off)
{
    struct at_jmes_node *n = mk(p, N_MSL, off);

    if (n == NULL) {
        return NULL;
    }
    for (;;) {
        struct at_jmes_node *el = expr(p, 0);
        if (el == NULL || add(p, n, el) != 0) {
            return NULL;
        }
        if (cur_type(p) == TK_RBRACKET) {
            break;
        }
        if (match(p, TK_COMMA) != 0) {
            return NULL;
        }
    }
    advance(p);
    return n;
}

static struct at_jmes_node *msh(struct ps *p, size_t off)
{
    struct at_jmes_node *n = mk(p, N_MSH, off);

    if (n == NULL) {
        return NULL;
    }
    for (;;) {
        const struct at_jmes_tok *key = cur(p);
        struct at_jmes_node *kv;
        struct at_jmes_node *v;

        if (key->type != TK_UID && key->type != TK_QID) {
            return unexpected(p, "identifier as multi-select key");
        }
        advance(p);
        if (match(p, TK_COLON) != 0) {
            return NULL;
        }
        v = expr(p, 0);
        if (v == NULL) {
            return NULL;
        }
        kv = mk(p, N_KEYVAL, key->off);
        if (kv == NULL) {
            return NULL;
        }
        kv->val = json_incref(key->val);
        if (add(p, kv, v) != 0 || add(p, n, kv) != 0) {
            return NULL;
        }
        if (cur_type(p) == TK_COMMA) {
            advance(p);
            continue;
        }
        if (cur_type(p) == TK_RBRACE) {
            advance(p);
            break;
        }
        return unexpected(p, "',' or '}'");
    }
    return n;
}

/* After '[' when the next token is a number or ':' */
static struct at_jmes_node *index_expr(struct ps *p)
{
    size_t off = cur(p)->off;
    struct at_jmes_node *n;
    int part = 0;

    if (cur_type(p) != TK_COLON && peek_type(p, 1) != TK_COLON) {
        n = mk(p, N_INDEX, off);
        if (n == NULL) {
            return NULL;
        }
        n->a[0] = cur(p)->num;
        advance(p);
        if (match(p, TK_RBRACKET) != 0) {
            return NULL;
        }
        return n;
    }
    n = mk(p, N_SLICE, off);
    if (n == NULL) {
        return NULL;
    }
    while (cur_type(p) != TK_RBRACKET) {
        if (cur_type(p) == TK_COLON) {
            if (++part == 3) {
                return unexpected(p, "']' after slice step");
            }
            advance(p);
        } else if (cur_type(p) == TK_NUMBER && !n->has[part]) {
            n->a[part] = cur(p)->num;
            n->has[part] = 1;
            advance(p);
        } else {
            return unexpected(p, "number, ':' or ']' in slice");
        }
    }
    advance(p);
    if (n->has[2] && n->a[2] == 0) {
        at_jmes_seterr(p->e, AT_JMES_INVALID_VALUE, off, "slice step cannot be 0");
        return NULL;
    }
    return n;
}

static struct at_jmes_node *project_if_slice(struct ps *p, struct at_jmes_node *left,
                                             struct at_jmes_node *right, size_t off)
{
    struct at_jmes_node *ie;

    if (right == NULL) {
        return NULL;
    }
    ie = mk2(p, N_INDEX_EXPR, off, left, right);
    if (ie == NULL || right->kind != N_SLICE) {
        return ie;
    }
    return mk2(p, N_PROJECT, off, ie, proj_rhs(p, bp(TK_STAR)));
}

static struct at_jmes_node *led_filter(struct ps *p, struct at_jmes_node *left, size_t off)
{
    struct at_jmes_node *cond;
    struct at_jmes_node *right;
    struct at_jmes_node *n;

    if (left == NULL) {
        return NULL;
    }
    cond = expr(p, 0);
    if (cond == NULL || match(p, TK_RBRACKET) != 0) {
        return NULL;
    }
    if (cur_type(p) == TK_FLATTEN) {
        right = identity(p);
    } else {
        right = proj_rhs(p, bp(TK_FILTER));
    }
    n = mk2(p, N_FPROJECT, off, left, right);
    if (n == NULL || add(p, n, cond) != 0) {
        return NULL;
    }
    return n;
}

static struct at_jmes_node *nud(struct ps *p, const struct at_jmes_tok *tk)
{
    struct at_jmes_node *n;
    struct at_jmes_node *left;

    switch (tk->type) {
    case TK_LIT:
    case TK_UID:
    case TK_QID:
        n = mk(p, tk->type == TK_LIT ? N_LITERAL : N_FIELD, tk->off);
        if (n == NULL) {
            return NULL;
        }
        n->val = json_incref(tk->val);
        n->quoted = tk->type == TK_QID;
        if (tk->type == TK_QID && cur_type(p) == TK_LPAREN) {
            at_jmes_seterr(p->e, AT_JMES_SYNTAX, tk->off,
                           "quoted identifier cannot name a function");
            return NULL;
        }
        return n;
    case TK_STAR:
        left = mk(p, N_IDENTITY, tk->off);
        if (cur_type(p) == TK_RBRACKET) {
            return mk2(p, N_VPROJECT, tk->off, left, identity(p));
        }
        return mk2(p, N_VPROJECT, tk->off, left, proj_rhs(p, bp(TK_STAR)));
    case TK_FILTER:
        return led_filter(p, mk(p, N_IDENTITY, tk->off), tk->off);
    case TK_LBRACE:
        return msh(p, tk->off);
    case TK_LPAREN:
        n = expr(p, 0);
        if (n == NULL || match(p, TK_RPAREN) != 0) {
            return NULL;
        }
        return n;
    case TK_FLATTEN:
        left = mk(p, N_FLATTEN, tk->off);
        n = mk(p, N_IDENTITY, tk->off);
        if (left == NULL || n == NULL || add(p, left, n) != 0) {
            return NULL;
        }
        return mk2(p, N_PROJECT, tk->off, left, proj_rhs(p, bp(TK_FLATTEN)));
    case TK_NOT:
        left = expr(p, bp(TK_NOT));
        if (left == NULL) {
            return NULL;
        }
        n = mk(p, N_NOT, tk->off);
        if (n == NULL || add(p, n, left) != 0) {
            return NULL;
        }
        return n;
    case TK_LBRACKET:
        if (cur_type(p) == TK_NUMBER || cur_type(p) == TK_COLON) {
            return project_if_slice(p, mk(p, N_IDENTITY, tk->off), index_expr(p), tk->off);
        }
        if (cur_type(p) == TK_STAR && peek_type(p, 1) == TK_RBRACKET) {
            advance(p);
            advance(p);
            return mk2(p, N_PROJECT, tk->off, mk(p, N_IDENTITY, tk->off), proj_rhs(p, bp(TK_STAR)));
        }
        return msl(p, tk->off);
    case TK_CURRENT:
        return mk(p, N_CURRENT, tk->off);
    case TK_EXPREF:
        left = expr(p, bp(TK_EXPREF));
        if (left == NULL) {
            return NULL;
        }
        n = mk(p, N_EXPREF, tk->off);
        if (n == NULL || add(p, n, left) != 0) {
            return NULL;
        }
        return n;
    case TK_EOF:
    case TK_RBRACKET:
    case TK_RPAREN:
    case TK_COMMA:
    case TK_RBRACE:
    case TK_NUMBER:
    case TK_COLON:
    case TK_PIPE:
    case TK_OR:
    case TK_AND:
    case TK_EQ:
    case TK_GT:
    case TK_LT:
    case TK_GTE:
    case TK_LTE:
    case TK_NE:
    case TK_DOT:
        break;
    }
    at_jmes_seterr(p->e, AT_JMES_SYNTAX, tk->off, "syntax error: unexpected %s", tname(tk->type));
    return NULL;
}

static struct at_jmes_node *led_call(struct ps *p, struct at_jmes_node *left, size_t off)
{
    struct at_jmes_node *n;

    if (left->kind != N_FIELD || left->quoted) {
        at_jmes_seterr(p->e, AT_JMES_SYNTAX, off, "syntax error: invalid function name");
        return NULL;
    }
    n = mk(p, N_FUNC, left->off);
    if (n == NULL) {
        return NULL;
    }
    n->val = json_incref(left->val);
    if (cur_type(p) == TK_RPAREN) {
        advance(p);
        return n;
    }
    for (;;) {
        struct at_jmes_node *arg = expr(p, 0);
        if (arg == NULL || add(p, n, arg) != 0) {
            return NULL;
        }
        if (cur_type(p) == TK_RPAREN) {
            advance(p);
            return n;
        }
        if (match(p, TK_COMMA) != 0) {
            return NULL;
        }
    }
}

static struct at_jmes_node *led(struct ps *p, const struct at_jmes_tok *tk,
                                struct at_jmes_node *left)
{
    struct at_jmes_node *n;

    switch (tk->type) {
    case TK_DOT:
        if (cur_type(p) == TK_STAR) {
            advance(p);
            return mk2(p, N_VPROJECT, tk->off, left, proj_rhs(p, bp(TK_DOT)));
        }
        n = dot_rhs(p, bp(TK_DOT));
        if (n == NULL) {
            return NULL;
        }
        if (left->kind == N_SUBEXPR) {
            if (add(p, left, n) != 0) {
                return NULL;
            }
            return left;
        }
        return mk2(p, N_SUBEXPR, tk->off, left, n);
    case TK_PIPE:
        return mk2(p, N_PIPE, tk->off, left, expr(p, bp(TK_PIPE)));
    case TK_OR:
        return mk2(p, N_OR, tk->off, left, expr(p, bp(TK_OR)));
    case TK_AND:
        return mk2(p, N_AND, tk->off, left, expr(p, bp(TK_AND)));
    case TK_LPAREN:
        return led_call(p, left, tk->off);
    case TK_FILTER:
        return led_filter(p, left, tk->off);
    case TK_EQ:
    case TK_GT:
    case TK_LT:
    case TK_GTE:
    case TK_LTE:
    case TK_NE:
        n = mk2(p, N_CMP, tk->off, left, expr(p, bp(tk->type)));
        if (n != NULL) {
            n->op = tk->type;
        }
        return n;
    case TK_FLATTEN:
        n = mk(p, N_FLATTEN, tk->off);
        if (n == NULL || add(p, n, left) != 0) {
            return NULL;
        }
        return mk2(p, N_PROJECT, tk->off, n, proj_rhs(p, bp(TK_FLATTEN)));
    case TK_LBRACKET:
        if (cur_type(p) == TK_NUMBER || cur_type(p) == TK_COLON) {
            return project_if_slice(p, left, index_expr(p), tk->off);
        }
        if (match(p, TK_STAR) != 0 || match(p, TK_RBRACKET) != 0) {
            return NULL;
        }
        return mk2(p, N_PROJECT, tk->off, left, proj_rhs(p, bp(TK_STAR)));
    case TK_EOF:
    case TK_UID:
    case TK_QID:
    case TK_LIT:
    case TK_RBRACKET:
    case TK_RPAREN:
    case TK_COMMA:
    case TK_RBRACE:
    case TK_NUMBER:
    case TK_CURRENT:
    case TK_EXPREF:
    case TK_COLON:
    case TK_STAR:
    case TK_NOT:
    case TK_LBRACE:
        break;
    }
    at_jmes_seterr(p->e, AT_JMES_SYNTAX, tk->off, "syntax error: unexpected %s", tname(tk->type));
    return NULL;
}

static struct at_jmes_node *expr(struct ps *p, int rbp)
{
    const struct at_jmes_tok *tk;
    struct at_jmes_node *left;

    if (++p->nest > AT_JMES_MAX_NEST) {
        at_jmes_seterr(p->e, AT_JMES_LIMIT, cur(p)->off, "expression nested deeper than %u",
                       AT_JMES_MAX_NEST);
        return NULL;
    }
    tk = cur(p);
    advance(p);
    left = nud(p, tk);
    while (left != NULL && rbp < bp(cur_type(p))) {
        tk = cur(p);
        advance(p);
        left = led(p, tk, left);
    }
    p->nest--;
    return left;
}

/* Resolve function names and check argument counts once the whole
 * expression parsed, so syntax errors take precedence. */
static int resolve(struct ps *p)
{
    size_t i;

    for (i = 0; i < p->q->nall; i++) {
        struct at_jmes_node *n = p->q->all[i];
        const struct at_jmes_fn *fn;
        const char *name;
        size_t len;

        if (n->kind != N_FUNC) {
            continue;
        }
        name = json_string_value(n->val);
        len = json_string_length(n->val);
        fn = at_jmes_fn_find(name, len);
        if (fn == NULL) {
            return at_jmes_seterr(p->e, AT_JMES_UNKNOWN_FUNCTION, n->off, "unknown function '%.*s'",
                                  (int)(len > 40 ? 40 : len), name);
        }
        if (n->nkid < fn->nparams || (!fn->variadic && n->nkid > fn->nparams)) {
            return at_jmes_seterr(p->e, AT_JMES_INVALID_ARITY, n->off,
                                  "%s() takes %s%zu argument%s, got %zu", fn->name,
                                  fn->variadic ? "at least " : "", fn->nparams,
                                  fn->nparams == 1 ? "" : "s", n->nkid);
        }
        n->fn = fn;
    }
    return 0;
}

int at_jmes_parse(struct at_jmes *q, const struct at_jmes_toks *toks, struct at_jmes_error *e)
{
    struct ps p;

    memset(&p, 0, sizeof(p));
    p.t = toks->v;
    p.n = toks->n;
    p.q = q;
    p.e = e;
    q->root = expr(&p, 0);
    if (q->root == NULL) {
        return -1;
    }
    if (cur_type(&p) != TK_EOF) {
        unexpected(&p, NULL);
        return -1;
    }
    return resolve(&p);
}
