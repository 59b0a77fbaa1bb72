/*
 * Policy lexer (spec §2): UTF-8 text to tokens with line:column.
 *
 * Whitespace is space, TAB, CR, LF (§2.1); a leading UTF-8 BOM is skipped
 * [R]. Comments `//` and `/ * * /` are accepted everywhere whitespace is [R, A7].
 * Strings decode \" \\ \/ \n \r \t \uXXXX and keep any other \x pair verbatim
 * [R, A16]; a raw line break inside a string is an error. Integers are
 * decimal with an optional '-', signed 64-bit, no 0x forms [R, A15].
 * `=~` and `!~` are rejected with a dedicated message [R, A10].
 */
#include "policy/ast.h"

#include <stdio.h>
#include <string.h>

void pol_lex_init(struct pol_lexer *lx, const char *src, size_t len, struct pol_arena *arena)
{
    lx->src = src;
    lx->len = len;
    lx->pos = 0;
    lx->line = 1;
    lx->col = 1;
    lx->arena = arena;
    if (len >= 3 && (unsigned char)src[0] == 0xEF && (unsigned char)src[1] == 0xBB &&
        (unsigned char)src[2] == 0xBF) {
        lx->pos = 3; /* BOM: skipped, column stays 1 */
    }
}

const char *pol_tok_name(enum pol_tok k)
{
    switch (k) {
    case T_EOF:
        return "end of input";
    case T_IDENT:
        return "identifier";
    case T_STRING:
        return "string";
    case T_INT:
        return "integer";
    case T_ARROW:
        return "'=>'";
    case T_EQEQ:
        return "'=='";
    case T_NE:
        return "'!='";
    case T_LE:
        return "'<='";
    case T_GE:
        return "'>='";
    case T_LT:
        return "'<'";
    case T_GT:
        return "'>'";
    case T_ASSIGN:
        return "'='";
    case T_AND:
        return "'&&'";
    case T_BANG:
        return "'!'";
    case T_LBRACK:
        return "'['";
    case T_RBRACK:
        return "']'";
    case T_LPAREN:
        return "'('";
    case T_RPAREN:
        return "')'";
    case T_LBRACE:
        return "'{'";
    case T_RBRACE:
        return "'}'";
    case T_COMMA:
        return "','";
    case T_SEMI:
        return "';'";
    case T_COLON:
        return "':'";
    case T_DOT:
        return "'.'";
    }
    return "?";
}

static at_status lex_error(struct pol_lexer *lx, uint32_t line, uint32_t col, size_t off,
                           struct at_policy_diag *diag, struct at_err *e, const char *msg)
{
    (void)lx;
    if (diag != NULL) {
        memset(diag, 0, sizeof(*diag));
        diag->line = line;
        diag->col = col;
        diag->offset = off;
        snprintf(diag->msg, sizeof(diag->msg), "%s", msg);
    }
    return at_fail_at_(e, AT_E_PARSE, "policy", off, __FILE__, __LINE__, "%u:%u: %s", line, col,
                       msg);
}

static void advance(struct pol_lexer *lx, size_t n)
{
    for (size_t i = 0; i < n && lx->pos < lx->len; i++) {
        if (lx->src[lx->pos] == '\n') {
            lx->line++;
            lx->col = 1;
        } else {
            lx->col++;
        }
        lx->pos++;
    }
}

static int peek(const struct pol_lexer *lx, size_t ahead)
{
    if (ahead >= lx->len - lx->pos) {
        return -1;
    }
    return (unsigned char)lx->src[lx->pos + ahead];
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Skip whitespace and comments. */
static at_status skip_space(struct pol_lexer *lx, struct at_policy_diag *diag, struct at_err *e)
{
    for (;;) {
        int c = peek(lx, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            advance(lx, 1);
        } else if (c == '/' && peek(lx, 1) == '/') {
            while (peek(lx, 0) != -1 && peek(lx, 0) != '\n') {
                advance(lx, 1);
            }
        } else if (c == '/' && peek(lx, 1) == '*') {
            uint32_t line = lx->line, col = lx->col;
            size_t off = lx->pos;
            advance(lx, 2);
            for (;;) {
                if (peek(lx, 0) == -1) {
                    return lex_error(lx, line, col, off, diag, e, "unterminated block comment");
                }
                if (peek(lx, 0) == '*' && peek(lx, 1) == '/') {
                    advance(lx, 2);
                    break;
                }
                advance(lx, 1);
            }
        } else {
            return at_ok();
        }
    }
}

/* Append the UTF-8 encoding of cp. */
static size_t put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* 4 hex digits at offset `at` from the current position, or -1. */
static long hex4(const struct pol_lexer *lx, size_t at)
{
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        int h = hexval(peek(lx, at + i));
        if (h < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

static at_status lex_string(struct pol_lexer *lx, struct pol_token *t, struct at_policy_diag *diag,
                            struct at_err *e)
{
    /* The decoded text is never longer than the raw text (\uXXXX: 6 -> <= 3; pairs 12 -> 4). */
    size_t start = lx->pos;
    advance(lx, 1);
    size_t end = lx->pos;
    while (end < lx->len && lx->src[end] != '"' && lx->src[end] != '\n') {
        end += lx->src[end] == '\\' && end + 1 < lx->len && lx->src[end + 1] != '\n' ? 2 : 1;
    }
    char *out = pol_alloc(lx->arena, end - start + 1);
    if (out == NULL) {
        AT_FAIL(e, AT_E_NOMEM, "policy", "out of memory");
    }
    size_t n = 0;
    for (;;) {
        int c = peek(lx, 0);
        if (c == -1 || c == '\n') {
            return lex_error(lx, t->line, t->col, t->off, diag, e,
                             c == -1 ? "unterminated string"
                                     : "unterminated string (line break inside a string)");
        }
        if (c == '"') {
            advance(lx, 1);
            break;
        }
        if (c != '\\') {
            if (c == 0) {
                return lex_error(lx, lx->line, lx->col, lx->pos, diag, e,
                                 "NUL byte inside a string");
            }
            out[n++] = (char)c;
            advance(lx, 1);
            continue;
        }
        int x = peek(lx, 1);
        switch (x) {
        case '"':
        case '\\':
        case '/':
            out[n++] = (char)x;
            advance(lx, 2);
            break;
        case 'n':
            out[n++] = '\n';
            advance(lx, 2);
            break;
        case 'r':
            out[n++] = '\r';
            advance(lx, 2);
            break;
        case 't':
            out[n++] = '\t';
            advance(lx, 2);
            break;
        case 'u': {
            long cp = hex4(lx, 2);
            if (cp < 0) {
                /* not a \uXXXX escape: kept verbatim like any unknown pair (A16) */
                out[n++] = '\\';
                out[n++] = 'u';
                advance(lx, 2);
                break;
            }
            size_t used = 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = peek(lx, 6) == '\\' && peek(lx, 7) == 'u' ? hex4(lx, 8) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    return lex_error(lx, lx->line, lx->col, lx->pos, diag, e,
                                     "invalid \\u escape: unpaired surrogate");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                used = 12;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return lex_error(lx, lx->line, lx->col, lx->pos, diag, e,
                                 "invalid \\u escape: unpaired surrogate");
            } else if (cp == 0) {
                return lex_error(lx, lx->line, lx->col, lx->pos, diag, e,
                                 "\\u0000 is not allowed in a string");
            }
            n += put_utf8(out + n, (uint32_t)cp);
            advance(lx, used);
            break;
        }
        case -1:
        case '\n':
            return lex_error(lx, t->line, t->col, t->off, diag, e, "unterminated string");
        default:
            if (x == 0) {
                return lex_error(lx, lx->line, lx->col, lx->pos, diag, e,
                                 "NUL byte inside a string");
            }
            out[n++] = '\\'; /* unknown escape: keep both characters (A16) */
            out[n++] = (char)x;
            advance(lx, 2);
            break;
        }
    }
    out[n] = '\0';
    t->kind = T_STRING;
    t->str = out;
    t->str_len = n;
    return at_ok();
}

static at_status lex_int(struct pol_lexer *lx, struct pol_token *t, struct at_policy_diag *diag,
                         struct at_err *e)
{
    bool neg = false;
    if (peek(lx, 0) == '-') {
        neg = true;
        advance(lx, 1);
    }
    uint64_t v = 0;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    while (is_digit(peek(lx, 0))) {
        uint64_t d = (uint64_t)(peek(lx, 0) - '0');
        if (v > (lim - d) / 10u) {
            return lex_error(lx, t->line, t->col, t->off, diag, e,
                             "integer out of range (signed 64-bit)");
        }
        v = v * 10u + d;
        advance(lx, 1);
    }
    if (is_alpha(peek(lx, 0))) {
        return lex_error(lx, t->line, t->col, t->off, diag, e,
                         "invalid number (only decimal integers are allowed)");
    }
    t->kind = T_INT;
    if (neg) {
        t->ival = v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
    } else {
        t->ival = (int64_t)v;
    }
    return at_ok();
}

at_status pol_lex_next(struct pol_lexer *lx, struct pol_token *t, struct at_policy_diag *diag,
                       struct at_err *e)
{
    AT_TRY(skip_space(lx, diag, e));
    memset(t, 0, sizeof(*t));
    t->line = lx->line;
    t->col = lx->col;
    t->off = lx->pos;
    int c = peek(lx, 0);
    int c1 = peek(lx, 1);
    size_t two = 0;
    enum pol_tok k = T_EOF;
    if (c == -1) {
        t->kind = T_EOF;
        return at_ok();
    }
    if (is_alpha(c)) {
        size_t n = 0;
        while (is_alpha(peek(lx, n)) || is_digit(peek(lx, n))) {
            n++;
        }
        t->kind = T_IDENT;
        t->str = lx->src + lx->pos;
        t->str_len = n;
        advance(lx, n);
        t->len = n;
        return at_ok();
    }
    if (is_digit(c) || (c == '-' && is_digit(c1))) {
        AT_TRY(lex_int(lx, t, diag, e));
        t->len = lx->pos - t->off;
        return at_ok();
    }
    if (c == '"') {
        AT_TRY(lex_string(lx, t, diag, e));
        t->len = lx->pos - t->off;
        return at_ok();
    }
    if ((c == '=' || c == '!') && c1 == '~') {
        return lex_error(lx, t->line, t->col, t->off, diag, e,
                         "regex operators '=~' and '!~' are not supported (spec A10)");
    }
    switch (c) {
    case '=':
        two = c1 == '>' ? 2 : c1 == '=' ? 2 : 1;
        k = c1 == '>' ? T_ARROW : c1 == '=' ? T_EQEQ : T_ASSIGN;
        break;
    case '!':
        two = c1 == '=' ? 2 : 1;
        k = c1 == '=' ? T_NE : T_BANG;
        break;
    case '<':
        two = c1 == '=' ? 2 : 1;
        k = c1 == '=' ? T_LE : T_LT;
        break;
    case '>':
        two = c1 == '=' ? 2 : 1;
        k = c1 == '=' ? T_GE : T_GT;
        break;
    case '&':
        if (c1 != '&') {
            return lex_error(lx, t->line, t->col, t->off, diag, e,
                             "unexpected character '&' (expected '&&')");
        }
        two = 2;
        k = T_AND;
        break;
    case '[':
        k = T_LBRACK;
        break;
    case ']':
        k = T_RBRACK;
        break;
    case '(':
        k = T_LPAREN;
        break;
    case ')':
        k = T_RPAREN;
        break;
    case '{':
        k = T_LBRACE;
        break;
    case '}':
        k = T_RBRACE;
        break;
    case ',':
        k = T_COMMA;
        break;
    case ';':
        k = T_SEMI;
        break;
    case ':':
        k = T_COLON;
        break;
    case '.':
        k = T_DOT;
        break;
    default: {
        char msg[96];
        if (c >= 0x21 && c < 0x7f) {
            snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
        } else {
            snprintf(msg, sizeof(msg), "unexpected byte 0x%02x", (unsigned)c);
        }
        return lex_error(lx, t->line, t->col, t->off, diag, e, msg);
    }
    }
    if (two == 0) {
        two = 1;
    }
    advance(lx, two);
    t->kind = k;
    t->len = two;
    return at_ok();
}
