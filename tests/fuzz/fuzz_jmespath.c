/*
 * libFuzzer target for the JMESPath engine (src/policy/jmespath*.c).
 *
 * Covers: at_jmes_compile, at_jmes_eval, at_jmes_free, at_jmes_err_name.
 * Input: <query bytes> NUL <JSON document>. Without a NUL the whole input
 * is the query and the document is a fixed sample. Checks beyond "no
 * crash": error offsets lie inside the expression, error messages are
 * terminated, evaluation is deterministic, and a tiny step budget fails
 * only with AT_JMES_LIMIT or the same result.
 */
#include "policy/jmespath.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample[] =
    "{\"a\":{\"b\":[1,2.5,\"x\",null,true,{\"c\":[[1],[2,3]]}]},\"s\":\"\\u00e9t\\u00e9\","
    "\"n\":[3,1,2],\"o\":{\"k\":1,\"l\":\"v\"},\"p\":[{\"age\":20,\"name\":\"a\"},"
    "{\"age\":10,\"name\":\"b\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *q = (const char *)data;
    const uint8_t *nul = memchr(data, 0, size);
    size_t qlen = nul != NULL ? (size_t)(nul - data) : size;
    struct at_jmes_error e;
    struct at_jmes *c;
    json_error_t jerr;
    json_t *doc;
    json_t *r1;
    json_t *r2;
    json_t *r3;

    c = at_jmes_compile(q, qlen, &e);
    if (c == NULL) {
        if (e.code == AT_JMES_OK || e.offset > qlen || memchr(e.msg, 0, sizeof(e.msg)) == NULL ||
            at_jmes_err_name(e.code) == NULL) {
            abort();
        }
        return 0;
    }
    if (nul != NULL) {
        doc = json_loadb((const char *)nul + 1, size - qlen - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                         &jerr);
    } else {
        doc = json_loads(sample, 0, &jerr);
    }
    if (doc == NULL) {
        at_jmes_free(c);
        return 0;
    }
    r1 = at_jmes_eval(c, doc, 200000, &e);
    if (r1 == NULL && (e.code == AT_JMES_OK || e.offset > qlen)) {
        abort();
    }
    r2 = at_jmes_eval(c, doc, 200000, &e);
    if ((r1 == NULL) != (r2 == NULL) || (r1 != NULL && !json_equal(r1, r2))) {
        abort();
    }
    r3 = at_jmes_eval(c, doc, 10, &e);
    if (r3 == NULL && r1 != NULL && e.code != AT_JMES_LIMIT) {
        abort();
    }
    if (r3 != NULL && (r1 == NULL || !json_equal(r1, r3))) {
        abort();
    }
    json_decref(r1);
    json_decref(r2);
    json_decref(r3);
    json_decref(doc);
    at_jmes_free(c);
    return 0;
}
