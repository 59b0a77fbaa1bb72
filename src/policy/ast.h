/*
 * Internal: tokens, AST and helpers shared by the policy engine's files
 * (lexer.c, parser.c, printer.c, eval.c, functions.c). Not for use outside
 * src/policy/.
 *
 * Memory: every AST node lives in the policy's arena (struct pol_arena) and
 * is freed with it; strings in the AST are NUL-terminated arena copies.
 */
#ifndef AT_POLICY_AST_H
#define AT_POLICY_AST_H

#include "base/status.h"
#include "policy/jmespath.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- arena ---- */
struct pol_chunk;
struct pol_arena {
    struct pol_chunk *head;
    size_t used_total; /* bytes handed out, for the cap */
    size_t cap;        /* 0 = unlimited */
};
void pol_arena_init(struct pol_arena *a, size_t cap);
void pol_arena_free(struct pol_arena *a);
/* Zeroed memory, 8-byte aligned; NULL when out of memory or over the cap. */
void *pol_alloc(struct pol_arena *a, size_t n);
/* Copy of n bytes with a NUL appended. */
char *pol_strndup(struct pol_arena *a, const char *s, size_t n);

/* ---- growable byte buffer (printer, messages) ---- */
struct pol_buf {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
};
void pol_buf_put(struct pol_buf *b, const char *s, size_t n);
void pol_buf_puts(struct pol_buf *b, const char *s);
void pol_buf_printf(struct pol_buf *b, const char *fmt, ...) AT_PRINTF(2, 3);
/* A string literal with the escapes the lexer decodes (spec §2.3). */
void pol_buf_quote(struct pol_buf *b, const char *s, size_t n);
/* Finish: NUL-terminated heap string (caller frees) or NULL after OOM. */
char *pol_buf_take(struct pol_buf *b);

/* ---- tokens (spec §2.3) ---- */
enum pol_tok {
    T_EOF,
    T_IDENT,
    T_STRING,
    T_INT,
    T_ARROW,  /* => */
    T_EQEQ,   /* == */
    T_NE,     /* != */
    T_LE,     /* <= */
    T_GE,     /* >= */
    T_LT,     /* < */
    T_GT,     /* > */
    T_ASSIGN, /* = */
    T_AND,    /* && */
    T_BANG,   /* ! */
    T_LBRACK,
    T_RBRACK,
    T_LPAREN,
    T_RPAREN,
    T_LBRACE,
    T_RBRACE,
    T_COMMA,
    T_SEMI,
    T_COLON,
    T_DOT,
};

struct pol_token {
    enum pol_tok kind;
    uint32_t line;
    uint32_t col;
    size_t off; /* byte offset of the first character */
    size_t len; /* bytes of source text */
    /* T_STRING: decoded value (arena, NUL-terminated); T_IDENT: the source spelling */
    const char *str;
    size_t str_len;
    int64_t ival; /* T_INT */
};

struct pol_lexer {
    const char *src;
    size_t len;
    size_t pos;
    uint32_t line;
    uint32_t col;
    struct pol_arena *arena;
};

void pol_lex_init(struct pol_lexer *lx, const char *src, size_t len, struct pol_arena *arena);
/* Next token; on a lexical error fills diag and returns AT_E_PARSE. */
AT_NODISCARD at_status pol_lex_next(struct pol_lexer *lx, struct pol_token *t,
                                    struct at_policy_diag *diag, struct at_err *e);
const char *pol_tok_name(enum pol_tok k);

/* ---- AST (spec §3.1) ---- */
enum pol_section { SEC_CONFIG = 0, SEC_AUTHZ = 1, SEC_ISSUANCE = 2 };
#define POL_NSECTIONS 3

enum pol_prop { PROP_TYPE, PROP_VALUE, PROP_ISSUER, PROP_VALUETYPE };
enum pol_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum pol_fn {
    FN_JMESPATH,
    FN_JSONTOCLAIMVALUE,
    FN_ISSUBSETOF,
    FN_APPENDSTRING,
    FN_NEGATEBOOL,
    FN_CONTAINSONLYVALUE,
};
#define POL_NFN 6

enum pol_expr_kind { EX_STR, EX_INT, EX_BOOL, EX_REF, EX_CALL };

struct pol_expr {
    enum pol_expr_kind kind;
    uint32_t line;
    uint32_t col;
    union {
        struct {
            const char *s;
            size_t len;
        } str;
        int64_t i;
        bool b;
        struct {
            const char *ident;  /* lowercased */
            uint32_t cond;      /* index of the binding condition in the rule */
            enum pol_prop prop; /* type, value or issuer */
        } ref;
        struct {
            enum pol_fn fn;
            struct pol_expr **args;
            uint32_t nargs;
            /* JmesPath with a literal query: compiled once (NULL if it failed to compile) */
            struct at_jmes *jq;
            char *jq_err; /* compile error message for a literal query, or NULL */
        } call;
    } u;
};

struct pol_test {
    enum pol_prop prop;
    enum pol_op op;
    struct pol_expr *rhs;
    uint32_t line;
    uint32_t col;
};

struct pol_cond {
    bool negated;
    const char *ident; /* lowercased binding name, or NULL */
    struct pol_test *tests;
    uint32_t ntests;
    uint32_t line;
    uint32_t col;
    size_t off; /* source span, for messages */
    size_t end;
};

enum pol_action { ACT_PERMIT, ACT_DENY, ACT_ADD, ACT_ISSUE, ACT_ISSUEPROPERTY };

struct pol_rule {
    struct pol_cond *conds;
    uint32_t nconds;
    enum pol_action action;
    bool issue_as_add; /* lenient: issue() inside authorizationrules (spec §6.5, A9) */
    bool copy;         /* claim = ident */
    uint32_t copy_cond;
    struct pol_expr *type_e;
    struct pol_expr *value_e;
    uint32_t line;
    uint32_t col;
    size_t off; /* source span of the rule, without the ';' */
    size_t end;
};

struct pol_rules {
    struct pol_rule *v;
    uint32_t n;
    bool present;
};

struct at_policy {
    struct pol_arena arena;
    char *text;
    size_t text_len;
    unsigned version; /* 10, 11, 12 */
    enum at_policy_mode mode;
    struct pol_rules sec[POL_NSECTIONS];
    struct at_policy_diag *warnings;
    size_t nwarnings;
    size_t warn_cap;
    struct at_claims config; /* configuration properties, spec §8 */
    /* every compiled JMESPath query, owned here (so a failed parse frees them too) */
    struct at_jmes **jq;
    size_t njq;
    size_t jq_cap;
    char hash[44];
};

/* Parse into p (p->text set); fills diag on error. */
AT_NODISCARD at_status pol_parse(struct at_policy *p, struct at_policy_diag *diag,
                                 struct at_err *e);
/* Record a warning (best effort; dropped on OOM). */
void pol_warn(struct at_policy *p, uint32_t line, uint32_t col, size_t off, const char *fmt, ...)
    AT_PRINTF(5, 6);

const char *pol_fn_name(enum pol_fn fn);
uint32_t pol_fn_arity(enum pol_fn fn);
const char *pol_prop_name(enum pol_prop p);
const char *pol_op_text(enum pol_op op);
const char *pol_section_name(enum pol_section s);
const char *pol_action_name(enum pol_action a);

/* Printer pieces (printer.c). */
void pol_print_expr(struct pol_buf *b, const struct pol_rule *r, const struct pol_expr *x);
void pol_print_test(struct pol_buf *b, const struct pol_rule *r, const struct pol_test *t);
void pol_print_cond(struct pol_buf *b, const struct pol_rule *r, const struct pol_cond *c);
void pol_print_rule(struct pol_buf *b, const struct pol_rule *r);

/* ---- evaluation (eval.c, functions.c) ---- */
enum pol_vkind { V_STR, V_INT, V_BOOL };

struct pol_val {
    enum pol_vkind kind;
    bool ro;   /* read-only (spec §7.7) */
    int64_t i; /* V_INT; V_BOOL as 0/1 */
    const char *s; /* V_STR: NUL-terminated, no embedded NUL */
    size_t len;
};

struct pol_set {
    struct pol_val *v;
    size_t n;
};

struct pol_claim {
    const char *type;
    size_t type_len;
    const char *issuer;
    size_t issuer_len;
    struct pol_val v;
};

#define POL_JCACHE 8

struct pol_ev {
    const struct at_policy *p;
    struct pol_arena arena; /* scratch: values, strings, bindings */
    struct pol_claim *claims;
    size_t nclaims;
    size_t cap;
    size_t steps;
    size_t steps_max;
    size_t calls;
    struct at_err *e;
    bool explain;
    /* location of the rule being evaluated, for runtime errors */
    enum pol_section sec;
    uint32_t rule_index;
    const struct pol_rule *rule;
    uint32_t err_line;
    uint32_t err_col;
    /* parsed JSON texts, keyed by string identity (strings are immutable during a run) */
    struct {
        const char *s;
        json_t *j;
    } jcache[POL_JCACHE];
    size_t njcache;
};

/* Runtime error at an expression (spec §5: PolicyEvaluationError). */
at_status pol_rt_error(struct pol_ev *ev, uint32_t line, uint32_t col, enum at_code code,
                       const char *fmt, ...) AT_PRINTF(5, 6);
/* Charge n steps; AT_E_LIMIT when over budget. */
AT_NODISCARD at_status pol_steps(struct pol_ev *ev, size_t n, uint32_t line, uint32_t col);
/* Call a function on evaluated arguments (functions.c, spec §7). */
AT_NODISCARD at_status pol_fn_call(struct pol_ev *ev, const struct pol_expr *x,
                                   const struct pol_set *args, struct pol_set *out);
/* Release the JSON cache. */
void pol_ev_jcache_clear(struct pol_ev *ev);

/* eval.c helpers shared with explain.c */
extern const char *const pol_vt_names[3];
void pol_claim_prop(const struct pol_claim *c, enum pol_prop p, struct pol_val *out);
bool pol_test_claim(const struct pol_claim *c, const struct pol_test *t, const struct pol_set *rhs);

/* explain.c: JSON views for the explain trace and denial details (new references) */
json_t *pol_val_json(const struct pol_val *v);
json_t *pol_set_json(const struct pol_set *s);
json_t *pol_claim_json(const struct pol_claim *c);
json_t *pol_text_json(const struct pol_buf *b);
json_t *pol_src_json(const struct at_policy *p, size_t off, size_t end);
json_t *pol_rule_json(const struct pol_ev *ev, const struct pol_rule *r);
json_t *pol_explain_miss(struct pol_ev *ev, const struct pol_rule *r, const struct pol_cond *c,
                         const struct pol_set *rhs, size_t nclaims);

/* Evaluate configuration rules at compile time into p->config (eval.c). */
AT_NODISCARD at_status pol_eval_config(struct at_policy *p, struct at_policy_diag *diag,
                                       struct at_err *e);

#endif
