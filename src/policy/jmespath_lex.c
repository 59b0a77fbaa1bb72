/*
 * JMESPath lexer: expression bytes -> tokens.
 *
 * Token rules follow the specification's grammar and the reference
 * implementation (jmespath.py lexer.py): quoted identifiers are JSON
 * strings; raw strings '...' only unescape \' ; JSON literals `...` only
 * unescape \` and must then be valid JSON.
 */
#include "jmespath_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int push(struct at_jmes_toks *t, enum at_jmes_tt type, size_t off, json_t *val, int64_t num,
                struct at_jmes_error *e)
{
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        struct at_jmes_tok *nv = realloc(t->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            json_decref(val);
            return at_jmes_seterr(e, AT_JMES_NOMEM, off, "out of memory");
        }
        t->v = nv;
        t->cap = ncap;
    }
    t->v[t->n].type = type;
    t->v[t->n].off = off;
    t->v[t->n].val = val;
    t->v[t->n].num = num;
    t->n++;
    return 0;
}

void at_jmes_toks_free(struct at_jmes_toks *t)
{
    size_t i;

    if (t == NULL) {
        return;
    }
    for (i = 0; i < t->n; i++) {
        json_decref(t->v[i].val);
    }
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static int is_alpha(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Scan to the closing `delim`, skipping backslash-escaped bytes. Returns the
 * index of the delimiter or len if unterminated. */
static size_t scan_until(const char *s, size_t len, size_t i, char delim)
{
    while (i < len) {
        if (s[i] == '\\') {
            i += 2;
            continue;
        }
        if (s[i] == delim) {
            return i;
        }
        i++;
    }
    return len;
}

/* Copy s[a..b) replacing "\<delim>" with "<delim>". Caller frees. */
static char *unescape_delim(const char *s, size_t a, size_t b, char delim, size_t *out_len)
{
    char *buf;
    size_t n = 0;
    size_t i;

    if (b < a) {
        return NULL;
    }
    buf = malloc((b - a) + 1);

    if (buf == NULL) {
        return NULL;
    }
    for (i = a; i < b; i++) {
        if (s[i] == '\\' && i + 1 < b && s[i + 1] == delim) {
            buf[n++] = delim;
            i++;
            continue;
        }
        buf[n++] = s[i];
    }
    buf[n] = '\0';
    *out_len = n;
    return buf;
}

static json_t *load_json(const char *buf, size_t n)
{
    json_error_t jerr;
    json_t *v = json_loadb(buf, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

    if (v == NULL && json_error_code(&jerr) == json_error_numeric_overflow) {
        v = json_loadb(buf, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    }
    return v;
}

static int lex_literal(const char *s, size_t len, size_t *pi, struct at_jmes_toks *t,
                       struct at_jmes_error *e)
{
    size_t start = *pi;
    size_t end = scan_until(s, len, start + 1, '`');
    size_t n;
    char *buf;
    json_t *v;

    if (end >= len) {
        return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "unterminated JSON literal");
    }
    buf = unescape_delim(s, start + 1, end, '`', &n);
    if (buf == NULL) {
        return at_jmes_seterr(e, AT_JMES_NOMEM, start, "out of memory");
    }
    v = load_json(buf, n);
    free(buf);
    if (v == NULL) {
        return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "invalid JSON literal");
    }
    *pi = end + 1;
    return push(t, TK_LIT, start, v, 0, e);
}

static int lex_raw(const char *s, size_t len, size_t *pi, struct at_jmes_toks *t,
                   struct at_jmes_error *e)
{
    size_t start = *pi;
    size_t end = scan_until(s, len, start + 1, '\'');
    size_t n;
    char *buf;
    json_t *v;

    if (end >= len) {
        return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "unterminated raw string");
    }
    buf = unescape_delim(s, start + 1, end, '\'', &n);
    if (buf == NULL) {
        return at_jmes_seterr(e, AT_JMES_NOMEM, start, "out of memory");
    }
    if (!at_jmes_utf8_valid(buf, n)) {
        free(buf);
        return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "raw string is not valid UTF-8");
    }
    v = json_stringn_nocheck(buf, n);
    free(buf);
    if (v == NULL) {
        return at_jmes_seterr(e, AT_JMES_NOMEM, start, "out of memory");
    }
    *pi = end + 1;
    return push(t, TK_LIT, start, v, 0, e);
}

static int lex_quoted(const char *s, size_t len, size_t *pi, struct at_jmes_toks *t,
                      struct at_jmes_error *e)
{
    size_t start = *pi;
    size_t end = scan_until(s, len, start + 1, '"');
    json_t *v;

    if (end >= len) {
        return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "unterminated quoted identifier");
    }
    /* The lexeme including both quotes is a JSON string. */
    v = load_json(s + start, end + 1 - start);
    if (v == NULL || !json_is_string(v)) {
        json_decref(v);
        return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "invalid quoted identifier");
    }
    *pi = end + 1;
    return push(t, TK_QID, start, v, 0, e);
}

static int lex_number(const char *s, size_t len, size_t *pi, struct at_jmes_toks *t,
                      struct at_jmes_error *e)
{
    size_t start = *pi;
    size_t i = start;
    int neg = 0;
    int64_t v = 0;

    if (s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= len || !is_digit((unsigned char)s[i])) {
        return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "unknown token '-'");
    }
    while (i < len && is_digit((unsigned char)s[i])) {
        int d = s[i] - '0';
        /* Accumulate negatively so INT64_MIN is representable. */
        if (v < (INT64_MIN + d) / 10) {
            return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "number out of range");
        }
        v = v * 10 - d;
        i++;
    }
    if (!neg) {
        if (v == INT64_MIN) {
            return at_jmes_seterr(e, AT_JMES_SYNTAX, start, "number out of range");
        }
        v = -v;
    }
    *pi = i;
    return push(t, TK_NUMBER, start, NULL, v, e);
}

int at_jmes_lex(const char *s, size_t len, struct at_jmes_toks *t, struct at_jmes_error *e)
{
    size_t i = 0;

    while (i < len) {
        unsigned char ch = (unsigned char)s[i];
        unsigned char nx = i + 1 < len ? (unsigned char)s[i + 1] : 0;
        enum at_jmes_tt tt;
        size_t w = 1;

        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            i++;
            continue;
        }
        if (is_alpha(ch)) {
            size_t j = i + 1;
            json_t *v;
            while (j < len && (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j]))) {
                j++;
            }
            v = json_stringn_nocheck(s + i, j - i);
            if (v == NULL) {
                return at_jmes_seterr(e, AT_JMES_NOMEM, i, "out of memory");
            }
            if (push(t, TK_UID, i, v, 0, e) != 0) {
                return -1;
            }
            i = j;
            continue;
        }
        if (is_digit(ch) || ch == '-') {
            if (lex_number(s, len, &i, t, e) != 0) {
                return -1;
            }
            continue;
        }
        switch (ch) {
        case '"':
            if (lex_quoted(s, len, &i, t, e) != 0) {
                return -1;
            }
            continue;
        case '\'':
            if (lex_raw(s, len, &i, t, e) != 0) {
                return -1;
            }
            continue;
        case '`':
            if (lex_literal(s, len, &i, t, e) != 0) {
                return -1;
            }
            continue;
        case '.':
            tt = TK_DOT;
            break;
        case '*':
            tt = TK_STAR;
            break;
        case ']':
            tt = TK_RBRACKET;
            break;
        case ',':
            tt = TK_COMMA;
            break;
        case ':':
            tt = TK_COLON;
            break;
        case '@':
            tt = TK_CURRENT;
            break;
        case '(':
            tt = TK_LPAREN;
            break;
        case ')':
            tt = TK_RPAREN;
            break;
        case '{':
            tt = TK_LBRACE;
            break;
        case '}':
            tt = TK_RBRACE;
            break;
        case '[':
            if (nx == ']') {
                tt = TK_FLATTEN;
                w = 2;
            } else if (nx == '?') {
                tt = TK_FILTER;
                w = 2;
            } else {
                tt = TK_LBRACKET;
            }
            break;
        case '|':
            tt = nx == '|' ? TK_OR : TK_PIPE;
            w = nx == '|' ? 2 : 1;
            break;
        case '&':
            tt = nx == '&' ? TK_AND : TK_EXPREF;
            w = nx == '&' ? 2 : 1;
            break;
        case '!':
            tt = nx == '=' ? TK_NE : TK_NOT;
            w = nx == '=' ? 2 : 1;
            break;
        case '<':
            tt = nx == '=' ? TK_LTE : TK_LT;
            w = nx == '=' ? 2 : 1;
            break;
        case '>':
            tt = nx == '=' ? TK_GTE : TK_GT;
            w = nx == '=' ? 2 : 1;
            break;
        case '=':
            if (nx != '=') {
                return at_jmes_seterr(e, AT_JMES_SYNTAX, i, "unknown token '=', expected '=='");
            }
            tt = TK_EQ;
            w = 2;
            break;
        default:
            if (ch >= 0x21 && ch < 0x7f) {
                return at_jmes_seterr(e, AT_JMES_SYNTAX, i, "unknown token '%c'", ch);
            }
            return at_jmes_seterr(e, AT_JMES_SYNTAX, i, "unexpected byte 0x%02x", ch);
        }
        if (push(t, tt, i, NULL, 0, e) != 0) {
            return -1;
        }
        i += w;
    }
    return push(t, TK_EOF, len, NULL, 0, e);
}
