/* The foundation: cursor, codecs, time, constant-time compare, claims, cache. */
#include "base/cache.h"
#include "base/cursor.h"
#include "base/encoding.h"
#include "base/secure.h"
#include "base/timeutil.h"
#include "claims/claims.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_cursor_reads(void **state)
{
    (void)state;
    static const uint8_t buf[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct at_err e;
    at_err_init(&e);
    struct at_cur c;
    at_cur_init(&c, buf, sizeof(buf), &e);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    assert_true(at_is_ok(at_cur_u8(&c, "a", &u8)));
    assert_int_equal(u8, 1);
    assert_true(at_is_ok(at_cur_u16le(&c, "b", &u16)));
    assert_int_equal(u16, 0x0302);
    assert_true(at_is_ok(at_cur_u32be(&c, "c", &u32)));
    assert_int_equal(u32, 0x04050607);
    assert_true(at_is_ok(at_cur_u64le(&c, "d", &u64)));
    assert_int_equal(u64, 0x0f0e0d0c0b0a0908ull);
    assert_int_equal(at_cur_left(&c), 1);
    /* A failed read leaves the offset and the output alone and names the field and offset. */
    u32 = 0xdeadbeef;
    at_status s = at_cur_u32le(&c, "tail", &u32);
    assert_int_equal(s.code, AT_E_TRUNCATED);
    assert_int_equal(u32, 0xdeadbeef);
    assert_int_equal(c.off, 15);
    assert_string_equal(e.field, "tail");
    assert_true(e.has_offset);
    assert_int_equal(e.offset, 15);
    assert_int_equal(at_cur_end(&c, "x").code, AT_E_TRUNCATED); /* first error kept */
}

static void test_cursor_sub_and_end(void **state)
{
    (void)state;
    static const uint8_t buf[] = {0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0};
    struct at_err e;
    at_err_init(&e);
    struct at_cur c, sub;
    at_cur_init(&c, buf, sizeof(buf), &e);
    assert_true(at_is_ok(at_cur_skip(&c, "skip", 1)));
    assert_true(at_is_ok(at_cur_sub(&c, "part", 3, &sub)));
    assert_int_equal(at_cur_left(&sub), 3);
    assert_int_equal(at_cur_pos(&sub), 1);
    assert_true(at_is_ok(at_cur_skip(&sub, "x", 2)));
    at_status s = at_cur_end(&sub, "part");
    assert_int_equal(s.code, AT_E_TRAILING);
    assert_int_equal(e.offset, 3); /* absolute, through the sub-cursor */
    at_err_init(&e);
    assert_true(at_is_ok(at_cur_end_zero_padded(&c, "padding")));
    /* n larger than what is left, and huge n (no overflow). */
    assert_int_equal(at_cur_sub(&c, "big", 4, &sub).code, AT_E_TRUNCATED);
    at_err_init(&e);
    const uint8_t *v;
    assert_int_equal(at_cur_bytes(&c, "huge", SIZE_MAX, &v).code, AT_E_TRUNCATED);
    /* NULL input behaves as empty. */
    at_cur_init(&c, NULL, 10, &e);
    assert_int_equal(at_cur_left(&c), 0);
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t out[4];
    size_t n;
    char txt[9];
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_hex_decode("00fFa5", 6, out, sizeof(out), &n, &e)));
    assert_int_equal(n, 3);
    at_hex_encode(out, n, txt);
    assert_string_equal(txt, "00ffa5");
    assert_int_equal(at_hex_decode("abc", 3, out, sizeof(out), &n, &e).code, AT_E_PARSE);
    at_err_init(&e);
    assert_int_equal(at_hex_decode("zz", 2, out, sizeof(out), &n, &e).code, AT_E_PARSE);
    at_err_init(&e);
    assert_int_equal(at_hex_decode("0011223344", 10, out, sizeof(out), &n, &e).code,
                     AT_E_BAD_VALUE);
}

typedef at_status (*b64fn)(const char *, size_t, uint8_t **, size_t *, struct at_err *);

static void b64_vectors(b64fn dec)
{
    /* RFC 4648 §10 plus both alphabets and padding. */
    static const struct {
        const char *in, *out;
    } ok[] = {{"", ""},           {"Zg", "f"},         {"Zg==", "f"},       {"Zm8", "fo"},
              {"Zm9v", "foo"},    {"Zm9vYg", "foob"},  {"Zm9vYmE", "fooba"}, {"Zm9vYmFy", "foobar"},
              {"-_8", "\xfb\xff"}, {"+/8=", "\xfb\xff"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint8_t *o;
        size_t n;
        struct at_err e;
        at_err_init(&e);
        assert_true(at_is_ok(dec(ok[i].in, strlen(ok[i].in), &o, &n, &e)));
        assert_int_equal(n, strlen(ok[i].out));
        assert_memory_equal(o, ok[i].out, n);
        free(o);
    }
    static const char *const bad[] = {"Z", "Zh", "Zm9=v", "Zm 9v", "Zm9v!", "Zm9\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *o = NULL;
        size_t n;
        struct at_err e;
        at_err_init(&e);
        assert_int_equal(dec(bad[i], strlen(bad[i]), &o, &n, &e).code, AT_E_PARSE);
        assert_null(o);
    }
}

static void test_base64(void **state)
{
    (void)state;
    b64_vectors(at_b64_decode_any);
    b64_vectors(at_b64_decode_public);
    /* Encode/decode round trip, and the two decoders agree on random text. */
    srand(7);
    for (int round = 0; round < 2000; round++) {
        uint8_t data[40];
        size_t n = (size_t)rand() % sizeof(data);
        for (size_t i = 0; i < n; i++) {
            data[i] = (uint8_t)rand();
        }
        char *enc = at_b64url_dup(data, n);
        assert_int_equal(strlen(enc), at_b64url_encoded_len(n));
        uint8_t *o1, *o2;
        size_t n1, n2;
        struct at_err e;
        at_err_init(&e);
        assert_true(at_is_ok(at_b64_decode_any(enc, strlen(enc), &o1, &n1, &e)));
        assert_true(at_is_ok(at_b64_decode_public(enc, strlen(enc), &o2, &n2, &e)));
        assert_int_equal(n1, n);
        assert_memory_equal(o1, data, n);
        assert_memory_equal(o2, data, n);
        free(o1);
        free(o2);
        /* Corrupt one character: both decoders must agree on acceptance. */
        if (n > 0) {
            enc[(size_t)rand() % strlen(enc)] = (char)(rand() % 256);
            at_err_init(&e);
            at_status a = at_b64_decode_any(enc, strlen(enc), &o1, &n1, &e);
            at_err_init(&e);
            at_status b = at_b64_decode_public(enc, strlen(enc), &o2, &n2, &e);
            assert_int_equal(a.code, b.code);
            if (at_is_ok(a)) {
                assert_int_equal(n1, n2);
                assert_memory_equal(o1, o2, n1);
                free(o1);
                free(o2);
            }
        }
        free(enc);
    }
}

static void test_time(void **state)
{
    (void)state;
    int64_t t;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_time_parse("1970-01-01T00:00:00Z", 20, &t, &e)));
    assert_int_equal(t, 0);
    assert_true(at_is_ok(at_time_parse("2025-06-20T10:56:11Z", 20, &t, &e)));
    assert_int_equal(t, 1750416971);
    assert_true(at_is_ok(at_time_parse("2024-02-29T12:00:00.123+02:00", 29, &t, &e)));
    assert_int_equal(t, 1709200800);
    char buf[32];
    at_time_format(1750416971, buf, sizeof(buf));
    assert_string_equal(buf, "2025-06-20T10:56:11Z");
    static const char *const bad[] = {"2025-06-20T10:56:11",  "2025-13-01T00:00:00Z",
                                      "2023-02-29T00:00:00Z", "2025-06-20 10:56Z",
                                      "2025-06-20T25:00:00Z", "yesterday",
                                      "2025-06-20T10:56:11.Z", "2025-06-20T10:56:11+0200"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_err_init(&e);
        assert_int_equal(at_time_parse(bad[i], strlen(bad[i]), &t, &e).code, AT_E_PARSE);
    }
}

static void test_ct_and_zeroize(void **state)
{
    (void)state;
    uint8_t a[16] = {1, 2, 3}, b[16] = {1, 2, 3};
    assert_true(at_ct_equal(a, b, sizeof(a)));
    b[15] = 1;
    assert_false(at_ct_equal(a, b, sizeof(a)));
    at_zeroize(b, sizeof(b));
    static const uint8_t zero[16];
    assert_memory_equal(b, zero, sizeof(b));
}

static void test_claims(void **state)
{
    (void)state;
    struct at_claims cs;
    struct at_err e;
    at_err_init(&e);
    at_claims_init(&cs);
    static const uint8_t bytes[] = {0xde, 0xad};
    assert_true(at_is_ok(at_claims_add_str(&cs, "s", NULL, "v", &e)));
    assert_true(at_is_ok(at_claims_add_int(&cs, "i", NULL, -5, &e)));
    assert_true(at_is_ok(at_claims_add_bool(&cs, "b", "CustomClaim", true, &e)));
    assert_true(at_is_ok(at_claims_add_bytes(&cs, "x", NULL, bytes, 2, &e)));
    assert_true(at_is_ok(at_claims_add_str(&cs, "s", NULL, "w", &e)));
    json_t *j = at_claims_to_json(&cs);
    char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(txt, "{\"b\":true,\"i\":-5,\"s\":[\"v\",\"w\"],\"x\":\"dead\"}");
    free(txt);
    json_decref(j);
    assert_string_equal(at_claims_find(&cs, "b", NULL)->issuer, "CustomClaim");
    assert_null(at_claims_find(&cs, "b", "AttestationService"));
    at_claims_clear(&cs);

    /* Both input forms; arrays in the object form give one claim per element. */
    at_claims_init(&cs);
    json_t *in = json_loads("[{\"type\":\"a\",\"value\":1},{\"type\":\"a\",\"value\":\"z\","
                            "\"issuer\":\"CustomClaim\"}]",
                            0, NULL);
    assert_true(at_is_ok(at_claims_from_json(&cs, in, &e)));
    assert_int_equal(cs.count, 2);
    assert_string_equal(cs.items[0].issuer, AT_ISSUER_SERVICE);
    json_decref(in);
    in = json_loads("{\"m\":[true,false],\"o\":{\"k\":1}}", 0, NULL);
    assert_true(at_is_ok(at_claims_from_json(&cs, in, &e)));
    assert_int_equal(cs.count, 5);
    assert_int_equal(cs.items[4].kind, AT_CLAIM_JSON);
    json_decref(in);
    static const char *const bad[] = {"[{\"value\":1}]", "[{\"type\":1,\"value\":1}]",
                                      "{\"n\":null}", "3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_err_init(&e);
        in = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        assert_false(at_is_ok(at_claims_from_json(&cs, in, &e)));
        json_decref(in);
    }
    at_claims_clear(&cs);
}

struct cobj {
    struct at_cache_obj obj;
    int *freed;
};

static void cdestroy(struct at_cache_obj *o)
{
    struct cobj *c = (struct cobj *)(void *)o;
    (*c->freed)++;
    free(c);
}

static struct cobj *mk(int *freed)
{
    struct cobj *c = calloc(1, sizeof(*c));
    at_cache_obj_init(&c->obj, cdestroy);
    c->freed = freed;
    return c;
}

static void test_cache(void **state)
{
    (void)state;
    int freed = 0;
    struct at_cache *cache = at_cache_new(2);
    uint8_t k1[32] = {1}, k2[32] = {2}, k3[32] = {3};
    struct cobj *a = mk(&freed), *b = mk(&freed), *c = mk(&freed);
    at_cache_put(cache, k1, &a->obj, 100, 200);
    at_cache_obj_unref(&a->obj);
    /* Only inside the window [100, 200], bounds included. */
    assert_null(at_cache_get(cache, k1, 99));
    assert_null(at_cache_get(cache, k1, 201));
    struct at_cache_obj *h = at_cache_get(cache, k1, 200);
    assert_ptr_equal(h, &a->obj);
    at_cache_obj_unref(h);
    at_cache_put(cache, k2, &b->obj, 0, 1000);
    at_cache_obj_unref(&b->obj);
    h = at_cache_get(cache, k1, 150); /* k1 is now the most recently used */
    at_cache_obj_unref(h);
    at_cache_put(cache, k3, &c->obj, 0, 1000); /* evicts k2 (LRU) */
    at_cache_obj_unref(&c->obj);
    assert_int_equal(freed, 1);
    assert_null(at_cache_get(cache, k2, 10));
    assert_int_equal(at_cache_count(cache), 2);
    /* A reference held past eviction stays valid until released. */
    h = at_cache_get(cache, k3, 10);
    at_cache_free(cache);
    assert_int_equal(freed, 2);
    at_cache_obj_unref(h);
    assert_int_equal(freed, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_reads), cmocka_unit_test(test_cursor_sub_and_end),
        cmocka_unit_test(test_hex),          cmocka_unit_test(test_base64),
        cmocka_unit_test(test_time),         cmocka_unit_test(test_ct_and_zeroize),
        cmocka_unit_test(test_claims),       cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
