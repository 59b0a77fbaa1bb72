/*
 * The bounds-checked byte cursor: the one way hostile bytes are read.
 *
 * A cursor is a view (const base, length, offset) over bytes it never writes.
 * Every read checks the bytes left first with overflow-safe arithmetic, and on
 * failure leaves the offset where it was and records AT_E_TRUNCATED with the
 * field name and the absolute offset in the original input. Out-parameters
 * are written only on success. Views returned by at_cur_bytes borrow from the
 * input and live as long as it does.
 */
#ifndef AT_BASE_CURSOR_H
#define AT_BASE_CURSOR_H

#include "base/status.h"

#include <stdint.h>

struct at_cur {
    const uint8_t *base;
    size_t len;
    size_t off;
    size_t abs;         /* absolute offset of base[0] in the outermost input */
    struct at_err *err;
};

void at_cur_init(struct at_cur *c, const uint8_t *p, size_t len, struct at_err *err);

static inline size_t at_cur_left(const struct at_cur *c)
{
    return c->len - c->off;
}

/* Absolute offset of the next byte (for error messages). */
static inline size_t at_cur_pos(const struct at_cur *c)
{
    return c->abs + c->off;
}

AT_NODISCARD at_status at_cur_u8(struct at_cur *c, const char *field, uint8_t *out);
AT_NODISCARD at_status at_cur_u16le(struct at_cur *c, const char *field, uint16_t *out);
AT_NODISCARD at_status at_cur_u32le(struct at_cur *c, const char *field, uint32_t *out);
AT_NODISCARD at_status at_cur_u64le(struct at_cur *c, const char *field, uint64_t *out);
AT_NODISCARD at_status at_cur_u16be(struct at_cur *c, const char *field, uint16_t *out);
AT_NODISCARD at_status at_cur_u32be(struct at_cur *c, const char *field, uint32_t *out);
AT_NODISCARD at_status at_cur_u64be(struct at_cur *c, const char *field, uint64_t *out);
/* Borrow a view of n bytes. */
AT_NODISCARD at_status at_cur_bytes(struct at_cur *c, const char *field, size_t n,
                                    const uint8_t **view);
/* Copy n bytes into dst. */
AT_NODISCARD at_status at_cur_copy(struct at_cur *c, const char *field, void *dst, size_t n);
AT_NODISCARD at_status at_cur_skip(struct at_cur *c, const char *field, size_t n);
/* Carve the next n bytes out as a sub-cursor (for length-prefixed parts). */
AT_NODISCARD at_status at_cur_sub(struct at_cur *c, const char *field, size_t n,
                                  struct at_cur *sub);
/* Fail with AT_E_TRAILING unless every byte was consumed. */
AT_NODISCARD at_status at_cur_end(const struct at_cur *c, const char *what);
/* Fail with AT_E_TRAILING unless every byte left is zero (padding). */
AT_NODISCARD at_status at_cur_end_zero_padded(const struct at_cur *c, const char *what);

#endif
