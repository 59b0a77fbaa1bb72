/*
 * libFuzzer target for the policy engine (src/policy/, except JMESPath internals).
 *
 * Covers: at_policy_compile (lexer, parser, static validation, config rules),
 * at_policy_print (round trip), at_policy_eval (with and without explain),
 * at_policy_free, at_policy_result_clear.
 * Input: <policy text> NUL <claims JSON>. Without a NUL the whole input is the
 * policy and the claims are a fixed SGX + TPM sample. Checks beyond "no crash,
 * no leak": a compile error carries a line and column; the canonical text of an
 * accepted policy parses in strict mode and prints identically; evaluation is
 * deterministic and the explain trace does not change the verdict.
 */
#include "policy/policy.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample[] =
    "[{\"type\":\"x-ms-sgx-is-debuggable\",\"value\":true},{\"type\":\"x-ms-sgx-svn\",\"value\":1},"
    "{\"type\":\"x-ms-sgx-mrsigner\",\"value\":\"4aea\"},{\"type\":\"n\",\"value\":[1,2]},"
    "{\"type\":\"pcrs\",\"value\":\"{\\\"PCRs\\\":[{\\\"Index\\\":0}]}\"},"
    "{\"type\":\"events\",\"value\":{\"Events\":[{\"PcrIndex\":7,\"x\":\"AQ\"}]}},"
    "{\"type\":\"c\",\"value\":\"v\",\"issuer\":\"CustomClaim\"}]";

static void roundtrip(const struct at_policy *p)
{
    char *a = at_policy_print(p);
    if (a == NULL) {
        return;
    }
    struct at_policy *q = NULL;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_policy_compile(a, strlen(a), AT_POLICY_STRICT, &q, NULL, &e))) {
        if (e.code != AT_E_NOMEM && e.code != AT_E_LIMIT) {
            abort(); /* canonical text must be strict-valid */
        }
        free(a);
        return;
    }
    char *b = at_policy_print(q);
    if (b != NULL && strcmp(a, b) != 0) {
        abort(); /* print(parse(print(x))) == print(x) */
    }
    free(b);
    free(a);
    at_policy_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t plen = nul != NULL ? (size_t)(nul - data) : size;
    json_t *cj;
    if (nul != NULL) {
        cj = json_loadb((const char *)nul + 1, size - plen - 1, JSON_REJECT_DUPLICATES, NULL);
    } else {
        cj = json_loads(sample, 0, NULL);
    }
    struct at_claims cs;
    at_claims_init(&cs);
    struct at_err e;
    at_err_init(&e);
    if (cj == NULL || !at_is_ok(at_claims_from_json(&cs, cj, &e))) {
        at_claims_clear(&cs);
        json_decref(cj);
        return 0;
    }
    json_decref(cj);
    for (int mode = 0; mode < 2; mode++) {
        struct at_policy *p = NULL;
        struct at_policy_diag d;
        at_err_init(&e);
        if (!at_is_ok(at_policy_compile((const char *)data, plen, (enum at_policy_mode)mode, &p,
                                        &d, &e))) {
            if (e.msg[0] == '\0' || (e.code == AT_E_PARSE && d.line == 0)) {
                abort();
            }
            continue;
        }
        roundtrip(p);
        struct at_policy_result r1, r2;
        at_policy_result_init(&r1);
        at_policy_result_init(&r2);
        struct at_policy_eval_opts o1 = {false, 200000};
        struct at_policy_eval_opts o2 = {true, 200000};
        at_err_init(&e);
        at_status s1 = at_policy_eval(p, &cs, &o1, &r1, &e);
        at_err_init(&e);
        at_status s2 = at_policy_eval(p, &cs, &o2, &r2, &e);
        if (s1.code != s2.code || r1.verdict != r2.verdict ||
            r1.issued.count != r2.issued.count) {
            abort();
        }
        at_policy_result_clear(&r1);
        at_policy_result_clear(&r2);
        at_policy_free(p);
    }
    at_claims_clear(&cs);
    return 0;
}
