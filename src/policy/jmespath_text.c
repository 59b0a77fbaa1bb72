/*
 * JMESPath text helpers: UTF-8 checks, a growable byte buffer, and the
 * compact JSON writer behind to_string() (numbers laid out as the
 * reference implementation prints them).
 */
#include "jmespath_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nomem(struct at_jmes_ctx *c, size_t off)
{
    return at_jmes_seterr(c->e, AT_JMES_NOMEM, off, "out of memory");
}

/* ---- UTF-8 ---- */

int at_jmes_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char b = p[i];
        size_t need;
        uint32_t cp;
        size_t k;

        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf) {
            need = 1;
            cp = b & 0x1fu;
        } else if (b >= 0xe0 && b <= 0xef) {
            need = 2;
            cp = b & 0x0fu;
        } else if (b >= 0xf0 && b <= 0xf4) {
            need = 3;
            cp = b & 0x07u;
        } else {
            return 0;
        }
        if (need > len - i - 1) {
            return 0;
        }
        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        i += need + 1;
    }
    return 1;
}

size_t at_jmes_utf8_count(const char *s, size_t len)
{
    size_t i;
    size_t n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

/* ---- growable byte buffer for join / to_string / reverse ---- */

int at_jmes_sb_put(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, const char *s, size_t n,
                   size_t off)
{
    if (n > b->cap - b->n) {
        size_t ncap = b->cap ? b->cap : 64;
        char *np;
        while (ncap - b->n < n) {
            if (ncap > ((size_t)-1) / 2) {
                return nomem(c, off);
            }
            ncap *= 2;
        }
        np = realloc(b->p, ncap);
        if (np == NULL) {
            return nomem(c, off);
        }
        b->p = np;
        b->cap = ncap;
    }
    if (n != 0) {
        memcpy(b->p + b->n, s, n);
    }
    b->n += n;
    return 0;
}

/* Takes the buffer's bytes (valid UTF-8) into a new JSON string. */
json_t *at_jmes_sb_string(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, size_t off)
{
    json_t *v = json_stringn_nocheck(b->p != NULL ? b->p : "", b->n);
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    if (v == NULL) {
        nomem(c, off);
    }
    return v;
}

/* Shortest text that reads back as the same double, laid out like
 * Python's repr (fixed notation for exponents -4..15, else d.ddde+XX),
 * which is what the compliance suite's to_string results assume. */
static size_t fmt_real(double d, char *out, size_t cap)
{
    char tmp[48];
    char dig[24];
    size_t nd = 0;
    size_t o = 0;
    const char *s;
    int prec;
    long ex;
    char *endp;

    for (prec = 1; prec <= 17; prec++) {
        (void)snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }
    s = tmp;
    if (*s == '-') {
        out[o++] = '-';
        s++;
    }
    while (*s != '\0' && *s != 'e' && nd < sizeof(dig)) {
        if (*s >= '0' && *s <= '9') {
            dig[nd++] = *s;
        }
        s++;
    }
    if (*s != 'e' || nd == 0) {
        /* Cannot happen for finite values; fall back to %.17g. */
        return (size_t)snprintf(out, cap, "%.17g", d);
    }
    ex = strtol(s + 1, &endp, 10);
    while (nd > 1 && dig[nd - 1] == '0') {
        nd--;
    }
    if (ex >= -4 && ex < 16) {
        if (ex < 0) {
            long z;
            out[o++] = '0';
            out[o++] = '.';
            for (z = -1; z > ex; z--) {
                out[o++] = '0';
            }
            memcpy(out + o, dig, nd);
            o += nd;
        } else {
            size_t ip = (size_t)ex + 1;
            size_t k;
            for (k = 0; k < ip; k++) {
                out[o++] = (char)(k < nd ? dig[k] : '0');
            }
            out[o++] = '.';
            if (nd > ip) {
                memcpy(out + o, dig + ip, nd - ip);
                o += nd - ip;
            } else {
                out[o++] = '0';
            }
        }
        out[o] = '\0';
        return o;
    }
    out[o++] = dig[0];
    if (nd > 1) {
        out[o++] = '.';
        memcpy(out + o, dig + 1, nd - 1);
        o += nd - 1;
    }
    o += (size_t)snprintf(out + o, cap - o, "e%c%02ld", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    return o;
}

static int dump_str(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, const char *s, size_t n,
                    size_t off)
{
    size_t i;
    size_t run = 0;

    if (at_jmes_charge(c, n / 16, off) != 0 || at_jmes_sb_put(c, b, "\"", 1, off) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        size_t el = 2;

        if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f) {
            continue;
        }
        if (at_jmes_sb_put(c, b, s + run, i - run, off) != 0) {
            return -1;
        }
        run = i + 1;
        esc[0] = '\\';
        switch (ch) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            el = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", ch);
            break;
        }
        if (at_jmes_sb_put(c, b, esc, el, off) != 0) {
            return -1;
        }
    }
    if (at_jmes_sb_put(c, b, s + run, n - run, off) != 0) {
        return -1;
    }
    return at_jmes_sb_put(c, b, "\"", 1, off);
}

/* Numbers, kept out of dump() so its recursive frame stays small. */
AT_JMES_NOINLINE static int dump_num(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, const json_t *v,
                                     size_t off)
{
    char num[64];
    size_t n;

    if (json_is_integer(v)) {
        n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else {
        n = fmt_real(json_real_value(v), num, sizeof(num));
    }
    return at_jmes_sb_put(c, b, num, n, off);
}

/* Compact JSON text (as Python's json.dumps with separators (',', ':')). */
static int dump(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, json_t *v, unsigned depth,
                size_t off)
{
    size_t i;
    void *it;

    if (depth > AT_JMES_MAX_JSON_DEPTH) {
        return at_jmes_seterr(c->e, AT_JMES_LIMIT, off, "value nested deeper than %u",
                              AT_JMES_MAX_JSON_DEPTH);
    }
    if (at_jmes_charge(c, 1, off) != 0) {
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
        return at_jmes_sb_put(c, b, "null", 4, off);
    case JSON_TRUE:
        return at_jmes_sb_put(c, b, "true", 4, off);
    case JSON_FALSE:
        return at_jmes_sb_put(c, b, "false", 5, off);
    case JSON_INTEGER:
    case JSON_REAL:
        return dump_num(c, b, v, off);
    case JSON_STRING:
        return dump_str(c, b, json_string_value(v), json_string_length(v), off);
    case JSON_ARRAY:
        if (at_jmes_sb_put(c, b, "[", 1, off) != 0) {
            return -1;
        }
        for (i = 0; i < json_array_size(v); i++) {
            if ((i != 0 && at_jmes_sb_put(c, b, ",", 1, off) != 0) ||
                dump(c, b, json_array_get(v, i), depth + 1, off) != 0) {
                return -1;
            }
        }
        return at_jmes_sb_put(c, b, "]", 1, off);
    case JSON_OBJECT:
        if (at_jmes_sb_put(c, b, "{", 1, off) != 0) {
            return -1;
        }
        i = 0;
        for (it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            if ((i++ != 0 && at_jmes_sb_put(c, b, ",", 1, off) != 0) ||
                dump_str(c, b, json_object_iter_key(it), json_object_iter_key_len(it), off) != 0 ||
                at_jmes_sb_put(c, b, ":", 1, off) != 0 ||
                dump(c, b, json_object_iter_value(it), depth + 1, off) != 0) {
                return -1;
            }
        }
        return at_jmes_sb_put(c, b, "}", 1, off);
    }
    return -1;
}

/* The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
int at_jmes_number_text(const char *s, size_t n)
{
    size_t i = 0;
    size_t d;

    if (i < n && s[i] == '-') {
        i++;
    }
    if (i < n && s[i] == '0') {
        i++;
    } else {
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            ;
        }
        if (i == d) {
            return 0;
        }
    }
    if (i < n && s[i] == '.') {
        i++;
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            ;
        }
        if (i == d) {
            return 0;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            ;
        }
        if (i == d) {
            return 0;
        }
    }
    return i == n;
}

int at_jmes_to_json_text(struct at_jmes_ctx *c, struct at_jmes_sbuf *b, json_t *v, size_t off)
{
    return dump(c, b, v, 0, off);
}
