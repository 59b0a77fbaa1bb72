/*
 * Internal interfaces of the JMESPath engine (jmespath_*.c). Not for use
 * outside src/policy/jmespath*.c.
 *
 * Pipeline: at_jmes_lex (text -> tokens) -> at_jmes_parse (tokens -> tree,
 * a top-down operator-precedence parser with the reference implementation's
 * binding powers) -> at_jmes_ev (tree walk). Functions live in
 * jmespath_fn.c.
 */
#ifndef AT_POLICY_JMESPATH_INT_H
#define AT_POLICY_JMESPATH_INT_H

#include "jmespath.h"

#include <stdint.h>

#define AT_JMES_MAX_EXPR_LEN   ((size_t)64 * 1024)
#define AT_JMES_MAX_NEST       64u  /* parser recursion (syntactic nesting) */
#define AT_JMES_MAX_AST_DEPTH  128u /* tree depth, bounds evaluator recursion */
#define AT_JMES_MAX_JSON_DEPTH 512u /* value nesting walked by eq/to_string */
#define AT_JMES_DEFAULT_STEPS  ((size_t)1000000)

#if defined(__GNUC__) || defined(__clang__)
#define AT_JMES_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define AT_JMES_NOINLINE     __attribute__((noinline))
#else
#define AT_JMES_PRINTF(f, a)
#define AT_JMES_NOINLINE
#endif

/* ---- tokens ---- */
enum at_jmes_tt {
    TK_EOF,
    TK_UID, /* unquoted identifier */
    TK_QID, /* quoted identifier */
    TK_LIT, /* `json` literal or 'raw string' */
    TK_RBRACKET,
    TK_RPAREN,
    TK_COMMA,
    TK_RBRACE,
    TK_NUMBER,
    TK_CURRENT, /* @ */
    TK_EXPREF,  /* & */
    TK_COLON,
    TK_PIPE,
    TK_OR,
    TK_AND,
    TK_EQ,
    TK_GT,
    TK_LT,
    TK_GTE,
    TK_LTE,
    TK_NE,
    TK_FLATTEN, /* [] */
    TK_STAR,
    TK_FILTER, /* [? */
    TK_DOT,
    TK_NOT,
    TK_LBRACE,
    TK_LBRACKET,
    TK_LPAREN
};

struct at_jmes_tok {
    enum at_jmes_tt type;
    size_t off;
    json_t *val; /* owned: identifier name (string) or literal value */
    int64_t num; /* TK_NUMBER */
};

struct at_jmes_toks {
    struct at_jmes_tok *v;
    size_t n;
    size_t cap;
};

/* Tokenise; on success 0 and *out filled (free with at_jmes_toks_free, also
 * on failure). The last token is always TK_EOF. */
int at_jmes_lex(const char *s, size_t len, struct at_jmes_toks *out, struct at_jmes_error *e);
void at_jmes_toks_free(struct at_jmes_toks *t);

/* ---- syntax tree ---- */
enum at_jmes_kind {
    N_IDENTITY,   /* value itself (projection right side etc.) */
    N_CURRENT,    /* @ */
    N_FIELD,      /* val = name */
    N_LITERAL,    /* val = value */
    N_SUBEXPR,    /* kid[0..n): each applied to the previous result */
    N_INDEX,      /* a[0] */
    N_SLICE,      /* a[0..2], has[0..2] */
    N_INDEX_EXPR, /* kid[0] then kid[1] (N_INDEX / N_SLICE) */
    N_PROJECT,    /* list projection: kid[0] base, kid[1] per element */
    N_VPROJECT,   /* object-values projection */
    N_FPROJECT,   /* filter projection: kid[2] condition */
    N_FLATTEN,    /* kid[0] */
    N_CMP,        /* op: TK_EQ .. TK_NE */
    N_OR,
    N_AND,
    N_NOT,
    N_MSL,    /* multi-select list */
    N_MSH,    /* multi-select hash, kids are N_KEYVAL */
    N_KEYVAL, /* val = key, kid[0] value */
    N_PIPE,
    N_FUNC,  /* fn, kids = arguments */
    N_EXPREF /* &kid[0] */
};

struct at_jmes_fn;

struct at_jmes_node {
    enum at_jmes_kind kind;
    size_t off;     /* byte offset in the expression, for errors */
    unsigned depth; /* height of this subtree */
    int quoted;     /* N_FIELD from a quoted identifier */
    struct at_jmes_node **kid;
    size_t nkid;
    size_t kcap;
    json_t *val;  /* owned */
    int64_t a[3]; /* index, or slice start/stop/step */
    int has[3];
    enum at_jmes_tt op;
    const struct at_jmes_fn *fn;
};

struct at_jmes {
    struct at_jmes_node *root;
    struct at_jmes_node **all; /* every node, for freeing */
    size_t nall;
    size_t acap;
};

/* Build the tree for `toks` into `q`; 0 on success. */
int at_jmes_parse(struct at_jmes *q, const struct at_jmes_toks *toks, struct at_jmes_error *e);

/* ---- evaluation ---- */
struct at_jmes_ctx {
    size_t steps;
    size_t steps_max;
    struct at_jmes_error *e;
};

/* Argument of a function call: a value, or an expression reference. */
struct at_jmes_arg {
    json_t *v;                      /* owned; NULL for an expref */
    const struct at_jmes_node *ref; /* expression of an &expr argument */
};

typedef json_t *(*at_jmes_fn_impl)(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                                   struct at_jmes_arg *argv, size_t argc);

/* Argument type masks */
#define AT_JT_NUM     0x001u
#define AT_JT_STR     0x002u
#define AT_JT_BOOL    0x004u
#define AT_JT_NULL    0x008u
#define AT_JT_ARR     0x010u
#define AT_JT_OBJ     0x020u
#define AT_JT_EXPREF  0x040u
#define AT_JT_ARR_NUM 0x080u /* array whose elements are all numbers */
#define AT_JT_ARR_STR 0x100u /* array whose elements are all strings */
#define AT_JT_ANY     (AT_JT_NUM | AT_JT_STR | AT_JT_BOOL | AT_JT_NULL | AT_JT_ARR | AT_JT_OBJ)

struct at_jmes_fn {
    const char *name;
    at_jmes_fn_impl impl;
    size_t nparams; /* minimum argument count */
    int variadic;   /* extra arguments take the last parameter's type */
    unsigned types[3];
};

const struct at_jmes_fn *at_jmes_fn_find(const char *name, size_t len);

/* Ordering functions (jmespath_sort.c), arguments already type-checked. */
json_t *at_jmes_fn_sort(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                        struct at_jmes_arg *a, size_t argc);
json_t *at_jmes_fn_sort_by(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                           struct at_jmes_arg *a, size_t argc);
json_t *at_jmes_fn_max(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                       struct at_jmes_arg *a, size_t argc);
json_t *at_jmes_fn_min(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                       struct at_jmes_arg *a, size_t argc);
json_t *at_jmes_fn_max_by(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                          struct at_jmes_arg *a, size_t argc);
json_t *at_jmes_fn_min_by(struct at_jmes_ctx *c, const struct at_jmes_node *call,
                          struct at_jmes_arg *a, size_t argc);

/* Evaluate `n` against `cur` (borrowed). New reference, or NULL with c->e set. */
json_t *at_jmes_ev(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur);

/* Evaluate a N_FUNC node: arguments, type checks, the function. */
json_t *at_jmes_call(struct at_jmes_ctx *c, const struct at_jmes_node *n, json_t *cur);

/* Fill *e (if not NULL) and return -1. */
int at_jmes_seterr(struct at_jmes_error *e, enum at_jmes_err code, size_t off, const char *fmt, ...)
    AT_JMES_PRINTF(4, 5);

/* Account for `n` units of work; 0, or -1 with AT_JMES_LIMIT set. */
int at_jmes_charge(struct at_jmes_ctx *c, size_t n, size_t off);

/* JMESPath truthiness: false, null, "", [], {} are false. */
int at_jmes_truthy(const json_t *v);

/* Deep equality (1 and 1.0 equal). 1 equal, 0 not, -1 error (limit). */
int at_jmes_equal(struct at_jmes_ctx *c, json_t *a, json_t *b, size_t off);

/* Compare two numbers: <0, 0, >0. */
int at_jmes_numcmp(const json_t *a, const json_t *b);

/* Compare two strings by code point (UTF-8 byte order): <0, 0, >0. */
int at_jmes_strcmp(const json_t *a, const json_t *b);

/* Type name as returned by type(): "number", "string", ... */
const char *at_jmes_type_name(const json_t *v);

/* Validate UTF-8 (no overlongs, surrogates or values above U+10FFFF). */
int at_jmes_utf8_valid(const char *s, size_t len);

/* ---- text helpers (jmespath_text.c) ---- */

/* Growable byte buffer; zero-initialise, free p when abandoning it. */
struct at_jmes_sbuf {
    char *p;
    size_t n;
    size_t cap;
};

/* Append n bytes; 0, or -1 with AT_JMES_NOMEM set. */
int at_jmes_sb_put(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, const char *s, size_t n,
                   size_t off);

/* Move the buffer's bytes (valid UTF-8) into a new JSON string; the buffer
 * is emptied either way. NULL with AT_JMES_NOMEM set on failure. */
json_t *at_jmes_sb_string(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, size_t off);

/* Append compact JSON text for v (to_string); charges steps per node. */
int at_jmes_to_json_text(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, json_t *v, size_t off);

/* Number of code points in valid UTF-8. */
size_t at_jmes_utf8_count(const char *s, size_t len);

/* 1 when s[0..n) matches the JSON number grammar exactly. */
int at_jmes_number_text(const char *s, size_t n);

#endif
