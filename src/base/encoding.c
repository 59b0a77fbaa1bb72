#include "base/encoding.h"

#include <stdlib.h>

static const char hexd[] = "0123456789abcdef";

void at_hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[in[i] >> 4];
        out[2 * i + 1] = hexd[in[i] & 15];
    }
    out[2 * n] = '\0';
}

char *at_hex_dup(const uint8_t *in, size_t n)
{
    if (n > (SIZE_MAX - 1) / 2) {
        return NULL;
    }
    char *s = malloc(2 * n + 1);
    if (s != NULL) {
        at_hex_encode(in, n, s);
    }
    return s;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

at_status at_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                        struct at_err *e)
{
    if (len % 2 != 0) {
        AT_FAIL(e, AT_E_PARSE, NULL, "hex string has odd length %zu", len);
    }
    if (len / 2 > cap) {
        AT_FAIL(e, AT_E_BAD_VALUE, NULL, "hex string too long: %zu bytes, at most %zu", len / 2,
                cap);
    }
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(in[2 * i]);
        int lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            AT_FAIL(e, AT_E_PARSE, NULL, "invalid hex character at position %zu", 2 * i);
        }
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    *out_len = len / 2;
    return at_ok();
}

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t at_b64url_encoded_len(size_t n)
{
    return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

void at_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64u[(v >> 18) & 63];
        out[o++] = b64u[(v >> 12) & 63];
        out[o++] = b64u[(v >> 6) & 63];
        out[o++] = b64u[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64u[(v >> 18) & 63];
        out[o++] = b64u[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64u[(v >> 18) & 63];
        out[o++] = b64u[(v >> 12) & 63];
        out[o++] = b64u[(v >> 6) & 63];
    }
    out[o] = '\0';
}

char *at_b64url_dup(const uint8_t *in, size_t n)
{
    if (n > SIZE_MAX / 2) {
        return NULL;
    }
    char *s = malloc(at_b64url_encoded_len(n) + 1);
    if (s != NULL) {
        at_b64url_encode(in, n, s);
    }
    return s;
}

/*
 * Constant-time character decode (no table lookup indexed by secret data, no
 * data-dependent branches), after the technique WireGuard uses for keys.
 * Returns 0..63, or -1 for a character outside both alphabets.
 */
static int b64val(unsigned char ch)
{
    int c = ch;
    int r = -1;
    r += ((('A' - 1 - c) & (c - ('Z' + 1))) >> 8) & (c - 'A' + 1);
    r += ((('a' - 1 - c) & (c - ('z' + 1))) >> 8) & (c - 'a' + 26 + 1);
    r += ((('0' - 1 - c) & (c - ('9' + 1))) >> 8) & (c - '0' + 52 + 1);
    r += ((('-' - 1 - c) & (c - ('-' + 1))) >> 8) & 63;
    r += ((('+' - 1 - c) & (c - ('+' + 1))) >> 8) & 63;
    r += ((('_' - 1 - c) & (c - ('_' + 1))) >> 8) & 64;
    r += ((('/' - 1 - c) & (c - ('/' + 1))) >> 8) & 64;
    return r;
}

at_status at_b64_decode_any(const char *in, size_t len, uint8_t **out, size_t *out_len,
                            struct at_err *e)
{
    /* strip padding */
    while (len > 0 && in[len - 1] == '=') {
        len--;
    }
    if (len % 4 == 1) {
        AT_FAIL(e, AT_E_PARSE, NULL, "invalid base64 length");
    }
    size_t n = (len / 4) * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    uint8_t *buf = malloc(n + 1);
    if (buf == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    int bad = 0;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)in[i]);
        bad |= v >> 8; /* -1 has all bits set */
        acc = (acc << 6) | ((uint32_t)v & 63);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* The unused low bits of the last character must be zero (canonical encoding). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        bad = 1;
    }
    if (bad != 0) {
        free(buf);
        AT_FAIL(e, AT_E_PARSE, NULL, "invalid base64 data");
    }
    buf[n] = 0;
    *out = buf;
    *out_len = n;
    return at_ok();
}

/* 0..63 for both alphabets, 64 for anything else. */
static const uint8_t b64tab[256] = {
#define X64 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64
    X64, X64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 62, 64, 63,          /* + - / */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,          /* 0-9 */
    64, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,          /* A-O */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,          /* P-Z _ */
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,          /* a-o */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,          /* p-z */
    X64, X64, X64, X64, X64, X64, X64, X64,
#undef X64
};

at_status at_b64_decode_public(const char *in, size_t len, uint8_t **out, size_t *out_len,
                               struct at_err *e)
{
    while (len > 0 && in[len - 1] == '=') {
        len--;
    }
    if (len % 4 == 1) {
        AT_FAIL(e, AT_E_PARSE, NULL, "invalid base64 length");
    }
    size_t n = (len / 4) * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    uint8_t *buf = malloc(n + 1);
    if (buf == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0, i = 0;
    uint8_t bad = 0;
    for (; i + 4 <= len; i += 4) {
        uint8_t a = b64tab[p[i]], b = b64tab[p[i + 1]], c = b64tab[p[i + 2]], d = b64tab[p[i + 3]];
        bad |= (uint8_t)((a | b | c | d) & 64);
        uint32_t v = (uint32_t)(a & 63) << 18 | (uint32_t)(b & 63) << 12 | (uint32_t)(c & 63) << 6 |
                     (d & 63);
        buf[o++] = (uint8_t)(v >> 16);
        buf[o++] = (uint8_t)(v >> 8);
        buf[o++] = (uint8_t)v;
    }
    size_t rest = len - i;
    if (rest > 0) {
        uint32_t v = 0;
        for (size_t k = 0; k < rest; k++) {
            uint8_t x = b64tab[p[i + k]];
            bad |= (uint8_t)(x & 64);
            v |= (uint32_t)(x & 63) << (18 - 6 * k);
        }
        buf[o++] = (uint8_t)(v >> 16);
        if (rest == 3) {
            buf[o++] = (uint8_t)(v >> 8);
        }
        /* Canonical: the unused low bits of the last character are zero. */
        uint32_t unused = rest == 2 ? (v & 0xffff) : (v & 0xff);
        bad |= unused != 0 ? 64 : 0;
    }
    if (bad != 0) {
        free(buf);
        AT_FAIL(e, AT_E_PARSE, NULL, "invalid base64 data");
    }
    buf[n] = 0;
    *out = buf;
    *out_len = n;
    return at_ok();
}

at_status at_dec_parse(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out,
                       const char *key, struct at_err *e)
{
    AT_ENSURE(len > 0 && len <= 20, e, AT_E_BAD_VALUE, "config_integer",
              "%s: expected a decimal integer", key);
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        AT_ENSURE(s[i] >= '0' && s[i] <= '9', e, AT_E_BAD_VALUE, "config_integer",
                  "%s: expected a decimal integer", key);
        unsigned d = (unsigned)(s[i] - '0');
        AT_ENSURE(v <= (UINT64_MAX - d) / 10, e, AT_E_BAD_VALUE, "config_integer",
                  "%s: integer too large", key);
        v = v * 10 + d;
    }
    AT_ENSURE(v >= min && v <= max, e, AT_E_BAD_VALUE, "config_range",
              "%s: %llu is outside %llu..%llu", key, (unsigned long long)v, (unsigned long long)min,
              (unsigned long long)max);
    *out = v;
    return at_ok();
}

at_status at_dec_parse_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out,
                           const char *key, struct at_err *e)
{
    uint64_t v = 0;
    AT_TRY(at_dec_parse(s, len, min, max, &v, key, e));
    *out = (uint32_t)v;
    return at_ok();
}
