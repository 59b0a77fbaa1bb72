/*
 * PCS response splitting and a strict, offset-reporting JSON scanner
 * (evidence-formats.md §1.8). See pcs_json.h for the contract.
 *
 * The scanner keeps (base, len, off) like struct at_cur: every read checks
 * `off < len` first, and running out of input is always AT_E_TRUNCATED so that
 * truncation sweeps see one code. Recursion is bounded by AT_LIMIT_JSON_DEPTH.
 */
#include "evidence/pcs_json.h"

#include "base/encoding.h"
#include "base/limits.h"
#include "evidence/tcb_info.h"

#include <string.h>

struct jscan {
    const uint8_t *p;
    size_t len;
    size_t off;
    struct at_err *e;
};

/* Record a failure at the scanner's current offset (an expression, not a return). */
#define JERR(s, code, field, msg)                                                                  \
    at_fail_at_((s)->e, (code), (field), (s)->off, __FILE__, __LINE__, "%s at byte %zu", (msg),    \
                (s)->off)

/* At most this many top-level members in a PCS response (it has two). */
#define PCS_TOP_MEMBERS_MAX 16

static void skip_ws(struct jscan *s)
{
    while (s->off < s->len) {
        uint8_t c = s->p[s->off];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        s->off++;
    }
}

/* Fail with AT_E_TRUNCATED unless at least one byte is left. */
static at_status need(struct jscan *s)
{
    if (s->off >= s->len) {
        return JERR(s, AT_E_TRUNCATED, "json", "JSON ends early");
    }
    return at_ok();
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(uint8_t c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence whose lead byte (>= 0x80) is at s->off (RFC 3629 §4). */
static at_status scan_utf8(struct jscan *s)
{
    uint8_t c = s->p[s->off];
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return JERR(s, AT_E_PARSE, "json", "invalid UTF-8 lead byte");
    }
    size_t start = s->off;
    s->off++;
    for (size_t i = 0; i < n; i++) {
        if (s->off >= s->len) {
            s->off = start;
            return JERR(s, AT_E_TRUNCATED, "json", "JSON ends inside a UTF-8 sequence");
        }
        uint8_t cc = s->p[s->off];
        if (cc < (i == 0 ? lo : 0x80) || cc > (i == 0 ? hi : 0xBF)) {
            return JERR(s, AT_E_PARSE, "json", "invalid UTF-8 continuation byte");
        }
        s->off++;
    }
    return at_ok();
}

/*
 * A string starting at the '"' at s->off. On success [*start, *end) is the raw
 * content between the quotes and *escaped tells whether it held a backslash.
 */
static at_status scan_string(struct jscan *s, size_t *start, size_t *end, bool *escaped)
{
    bool esc = false;
    s->off++; /* opening quote */
    size_t first = s->off;
    for (;;) {
        AT_TRY(need(s));
        uint8_t c = s->p[s->off];
        if (c == '"') {
            *start = first;
            *end = s->off;
            *escaped = esc;
            s->off++;
            return at_ok();
        }
        if (c < 0x20) {
            return JERR(s, AT_E_PARSE, "json", "control character in string");
        }
        if (c >= 0x80) {
            AT_TRY(scan_utf8(s));
            continue;
        }
        if (c != '\\') {
            s->off++;
            continue;
        }
        esc = true;
        s->off++;
        AT_TRY(need(s));
        c = s->p[s->off];
        if (c == 'u') {
            s->off++;
            for (int i = 0; i < 4; i++) {
                AT_TRY(need(s));
                if (!is_hex(s->p[s->off])) {
                    return JERR(s, AT_E_PARSE, "json", "invalid \\u escape");
                }
                s->off++;
            }
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                   c == 'r' || c == 't') {
            s->off++;
        } else {
            return JERR(s, AT_E_PARSE, "json", "invalid escape in string");
        }
    }
}

static at_status scan_digits(struct jscan *s)
{
    AT_TRY(need(s));
    if (!is_digit(s->p[s->off])) {
        return JERR(s, AT_E_PARSE, "json", "expected a digit");
    }
    while (s->off < s->len && is_digit(s->p[s->off])) {
        s->off++;
    }
    return at_ok();
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static at_status scan_number(struct jscan *s)
{
    if (s->p[s->off] == '-') {
        s->off++;
    }
    AT_TRY(need(s));
    if (s->p[s->off] == '0') {
        s->off++;
    } else {
        AT_TRY(scan_digits(s));
    }
    if (s->off < s->len && s->p[s->off] == '.') {
        s->off++;
        AT_TRY(scan_digits(s));
    }
    if (s->off < s->len && (s->p[s->off] == 'e' || s->p[s->off] == 'E')) {
        s->off++;
        AT_TRY(need(s));
        if (s->p[s->off] == '+' || s->p[s->off] == '-') {
            s->off++;
        }
        AT_TRY(scan_digits(s));
    }
    return at_ok();
}

static at_status scan_literal(struct jscan *s, const char *lit)
{
    for (size_t i = 0; lit[i] != '\0'; i++) {
        AT_TRY(need(s));
        if (s->p[s->off] != (uint8_t)lit[i]) {
            return JERR(s, AT_E_PARSE, "json", "invalid literal");
        }
        s->off++;
    }
    return at_ok();
}

static at_status scan_value(struct jscan *s, unsigned depth);

/* An object or array at s->off; `depth` is its own nesting level (top level = 1). */
static at_status scan_container(struct jscan *s, unsigned depth)
{
    if (depth > AT_LIMIT_JSON_DEPTH) {
        return JERR(s, AT_E_LIMIT, "json", "JSON nested too deeply");
    }
    bool is_obj = s->p[s->off] == '{';
    uint8_t close = is_obj ? '}' : ']';
    s->off++;
    skip_ws(s);
    AT_TRY(need(s));
    if (s->p[s->off] == close) {
        s->off++;
        return at_ok();
    }
    for (;;) {
        skip_ws(s);
        AT_TRY(need(s));
        if (is_obj) {
            size_t ks, ke;
            bool esc;
            if (s->p[s->off] != '"') {
                return JERR(s, AT_E_PARSE, "json", "expected a member name");
            }
            AT_TRY(scan_string(s, &ks, &ke, &esc));
            skip_ws(s);
            AT_TRY(need(s));
            if (s->p[s->off] != ':') {
                return JERR(s, AT_E_PARSE, "json", "expected ':'");
            }
            s->off++;
        }
        AT_TRY(scan_value(s, depth));
        skip_ws(s);
        AT_TRY(need(s));
        if (s->p[s->off] == ',') {
            s->off++;
            continue;
        }
        if (s->p[s->off] == close) {
            s->off++;
            return at_ok();
        }
        return JERR(s, AT_E_PARSE, "json", is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

/* Any value at s->off (after whitespace); `depth` is the enclosing nesting level. */
static at_status scan_value(struct jscan *s, unsigned depth)
{
    skip_ws(s);
    AT_TRY(need(s));
    uint8_t c = s->p[s->off];
    size_t a, b;
    bool esc;
    switch (c) {
    case '{':
    case '[':
        return scan_container(s, depth + 1);
    case '"':
        return scan_string(s, &a, &b, &esc);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        if (c == '-' || is_digit(c)) {
            return scan_number(s);
        }
        return JERR(s, AT_E_PARSE, "json", "unexpected character");
    }
}

static at_status scan_init(struct jscan *s, const uint8_t *doc, size_t len, struct at_err *e)
{
    s->p = doc;
    s->len = len;
    s->off = 0;
    s->e = e;
    if (len > AT_LIMIT_COLLATERAL_BYTES) {
        return JERR(s, AT_E_LIMIT, "json", "collateral document too large");
    }
    at_assert(doc != NULL || len == 0);
    skip_ws(s);
    AT_TRY(need(s));
    if (s->p[s->off] != '{') {
        return JERR(s, AT_E_PARSE, "json", "expected a JSON object");
    }
    return at_ok();
}

static at_status scan_end(struct jscan *s)
{
    skip_ws(s);
    if (s->off != s->len) {
        return JERR(s, AT_E_TRAILING, "json", "bytes after the JSON object");
    }
    return at_ok();
}

at_status at_json_check_object(const uint8_t *doc, size_t len, struct at_err *e)
{
    struct jscan s;
    AT_TRY(scan_init(&s, doc, len, e));
    AT_TRY(scan_value(&s, 0));
    return scan_end(&s);
}

static bool span_is(const struct jscan *s, size_t a, size_t b, const char *lit)
{
    size_t n = strlen(lit);
    return b - a == n && memcmp(s->p + a, lit, n) == 0;
}

/* The "signature" member's value at s->off: exactly 128 hex chars -> 64 bytes. */
static at_status scan_signature(struct jscan *s, uint8_t sig[64])
{
    size_t a, b, n;
    bool esc;
    if (s->p[s->off] != '"') {
        return JERR(s, AT_E_PARSE, "signature", "signature is not a string");
    }
    size_t at = s->off;
    AT_TRY(scan_string(s, &a, &b, &esc));
    if (esc || b - a != 128) {
        s->off = at;
        return JERR(s, AT_E_BAD_VALUE, "signature", "signature must be 128 hex characters");
    }
    for (size_t i = a; i < b; i++) {
        if (!is_hex(s->p[i])) {
            s->off = i;
            return JERR(s, AT_E_PARSE, "signature", "signature is not hex");
        }
    }
    AT_TRY(at_hex_decode((const char *)(s->p + a), b - a, sig, 64, &n, s->e));
    at_assert(n == 64);
    return at_ok();
}

/*
 * evidence-formats.md §1.8: `{"<key>":{...},"signature":"<128 hex>"}`. The body
 * span runs from its `{` to the matching `}` exactly as sent. Top-level member
 * names with escapes are rejected (so "tcb\u0049nfo" cannot alias the key),
 * duplicates are rejected, unknown extra members are scanned and ignored.
 */
at_status at_pcs_json_split(const uint8_t *doc, size_t len, const char *key, const uint8_t **body,
                            size_t *body_len, uint8_t sig[64], struct at_err *e)
{
    at_assert(key != NULL && body != NULL && body_len != NULL && sig != NULL);
    at_assert(strcmp(key, "signature") != 0);
    struct jscan s;
    size_t names[PCS_TOP_MEMBERS_MAX][2];
    size_t n_names = 0;
    size_t body_at = 0, body_end = 0;
    bool have_body = false, have_sig = false;
    uint8_t sig_tmp[64];

    AT_TRY(scan_init(&s, doc, len, e));
    s.off++; /* '{' */
    skip_ws(&s);
    AT_TRY(need(&s));
    bool more = s.p[s.off] != '}';
    if (!more) {
        s.off++;
    }
    while (more) {
        size_t ks, ke;
        bool esc;
        skip_ws(&s);
        AT_TRY(need(&s));
        if (s.p[s.off] != '"') {
            return JERR(&s, AT_E_PARSE, "json", "expected a member name");
        }
        size_t name_at = s.off;
        AT_TRY(scan_string(&s, &ks, &ke, &esc));
        if (esc) {
            s.off = name_at;
            return JERR(&s, AT_E_PARSE, "json", "escaped top-level member name");
        }
        for (size_t i = 0; i < n_names; i++) {
            if (names[i][1] - names[i][0] == ke - ks &&
                memcmp(s.p + names[i][0], s.p + ks, ke - ks) == 0) {
                s.off = name_at;
                return JERR(&s, AT_E_PARSE, "json", "duplicate top-level member");
            }
        }
        if (n_names == PCS_TOP_MEMBERS_MAX) {
            return JERR(&s, AT_E_LIMIT, "json", "too many top-level members");
        }
        names[n_names][0] = ks;
        names[n_names][1] = ke;
        n_names++;
        skip_ws(&s);
        AT_TRY(need(&s));
        if (s.p[s.off] != ':') {
            return JERR(&s, AT_E_PARSE, "json", "expected ':'");
        }
        s.off++;
        skip_ws(&s);
        AT_TRY(need(&s));
        if (span_is(&s, ks, ke, key)) {
            if (s.p[s.off] != '{') {
                return JERR(&s, AT_E_PARSE, "body", "collateral body is not an object");
            }
            body_at = s.off;
            AT_TRY(scan_value(&s, 1));
            body_end = s.off;
            have_body = true;
        } else if (span_is(&s, ks, ke, "signature")) {
            AT_TRY(scan_signature(&s, sig_tmp));
            have_sig = true;
        } else {
            AT_TRY(scan_value(&s, 1));
        }
        skip_ws(&s);
        AT_TRY(need(&s));
        if (s.p[s.off] == ',') {
            s.off++;
        } else if (s.p[s.off] == '}') {
            s.off++;
            more = false;
        } else {
            return JERR(&s, AT_E_PARSE, "json", "expected ',' or '}'");
        }
    }
    AT_TRY(scan_end(&s));
    if (!have_body) {
        return at_fail_at_(e, AT_E_PARSE, "body", 0, __FILE__, __LINE__,
                           "collateral has no \"%s\" member", key);
    }
    if (!have_sig) {
        return at_fail_at_(e, AT_E_PARSE, "signature", 0, __FILE__, __LINE__,
                           "collateral has no \"signature\" member");
    }
    *body = doc + body_at;
    *body_len = body_end - body_at;
    memcpy(sig, sig_tmp, 64);
    return at_ok();
}
