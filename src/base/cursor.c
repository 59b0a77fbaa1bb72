#include "base/cursor.h"

#include <string.h>

void at_cur_init(struct at_cur *c, const uint8_t *p, size_t len, struct at_err *err)
{
    c->base = p;
    c->len = p != NULL ? len : 0;
    c->off = 0;
    c->abs = 0;
    c->err = err;
}

static at_status need(struct at_cur *c, const char *field, size_t n)
{
    if (n > at_cur_left(c)) {
        return at_fail_at_(c->err, AT_E_TRUNCATED, field, at_cur_pos(c), __FILE__, __LINE__,
                           "input truncated: %s needs %zu bytes at offset %zu, %zu left",
                           field, n, at_cur_pos(c), at_cur_left(c));
    }
    return at_ok();
}

at_status at_cur_bytes(struct at_cur *c, const char *field, size_t n, const uint8_t **view)
{
    AT_TRY(need(c, field, n));
    *view = c->base + c->off;
    c->off += n;
    return at_ok();
}

at_status at_cur_copy(struct at_cur *c, const char *field, void *dst, size_t n)
{
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, n, &v));
    if (n > 0) {
        memcpy(dst, v, n);
    }
    return at_ok();
}

at_status at_cur_skip(struct at_cur *c, const char *field, size_t n)
{
    const uint8_t *v;
    return at_cur_bytes(c, field, n, &v);
}

at_status at_cur_u8(struct at_cur *c, const char *field, uint8_t *out)
{
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, 1, &v));
    *out = v[0];
    return at_ok();
}

static uint64_t le(const uint8_t *v, size_t n)
{
    uint64_t x = 0;
    for (size_t i = n; i > 0; i--) {
        x = (x << 8) | v[i - 1];
    }
    return x;
}

static uint64_t be(const uint8_t *v, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        x = (x << 8) | v[i];
    }
    return x;
}

at_status at_cur_u16le(struct at_cur *c, const char *field, uint16_t *out)
{
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, 2, &v));
    *out = (uint16_t)le(v, 2);
    return at_ok();
}

at_status at_cur_u32le(struct at_cur *c, const char *field, uint32_t *out)
{
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, 4, &v));
    *out = (uint32_t)le(v, 4);
    return at_ok();
}

at_status at_cur_u64le(struct at_cur *c, const char *field, uint64_t *out)
{
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, 8, &v));
    *out = le(v, 8);
    return at_ok();
}

at_status at_cur_u16be(struct at_cur *c, const char *field, uint16_t *out)
{
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, 2, &v));
    *out = (uint16_t)be(v, 2);
    return at_ok();
}

at_status at_cur_u32be(struct at_cur *c, const char *field, uint32_t *out)
{
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, 4, &v));
    *out = (uint32_t)be(v, 4);
    return at_ok();
}

at_status at_cur_u64be(struct at_cur *c, const char *field, uint64_t *out)
{
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, 8, &v));
    *out = be(v, 8);
    return at_ok();
}

at_status at_cur_sub(struct at_cur *c, const char *field, size_t n, struct at_cur *sub)
{
    size_t start_abs = at_cur_pos(c);
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, n, &v));
    sub->base = v;
    sub->len = n;
    sub->off = 0;
    sub->abs = start_abs;
    sub->err = c->err;
    return at_ok();
}

at_status at_cur_end(const struct at_cur *c, const char *what)
{
    if (at_cur_left(c) != 0) {
        return at_fail_at_(c->err, AT_E_TRAILING, what, at_cur_pos(c), __FILE__, __LINE__,
                           "%zu unexpected bytes after %s at offset %zu", at_cur_left(c), what,
                           at_cur_pos(c));
    }
    return at_ok();
}

at_status at_cur_end_zero_padded(const struct at_cur *c, const char *what)
{
    for (size_t i = c->off; i < c->len; i++) {
        if (c->base[i] != 0) {
            return at_fail_at_(c->err, AT_E_TRAILING, what, c->abs + i, __FILE__, __LINE__,
                               "non-zero byte after %s at offset %zu", what, c->abs + i);
        }
    }
    return at_ok();
}
