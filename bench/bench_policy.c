/*
 * Policy evaluation benchmarks. Prints one JSON line per benchmark:
 *   {"bench":"policy_eval_default_sgx","ns_per_op":N,"ops_per_s":N}
 *   {"bench":"policy_eval_jmespath","ns_per_op":N,"ops_per_s":N}
 * Each loop is sized from a calibration run to take about one second
 * (clock_gettime(CLOCK_MONOTONIC)). The policy is compiled once; only
 * at_policy_eval is timed. Target for the default SGX policy: < 5 us.
 */
#include "policy/policy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int run_loop(const struct at_policy *p, const struct at_claims *cs, uint64_t n)
{
    struct at_policy_result r;
    at_policy_result_init(&r);
    for (uint64_t i = 0; i < n; i++) {
        struct at_err e;
        at_err_init(&e);
        if (!at_is_ok(at_policy_eval(p, cs, NULL, &r, &e))) {
            fprintf(stderr, "bench_policy: evaluation failed: %s\n", e.msg);
            at_policy_result_clear(&r);
            return 1;
        }
    }
    at_policy_result_clear(&r);
    return 0;
}

static int bench(const char *name, const char *text, const struct at_claims *cs)
{
    struct at_policy *p = NULL;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_policy_compile(text, strlen(text), AT_POLICY_STRICT, &p, NULL, &e))) {
        fprintf(stderr, "bench_policy: %s: %s\n", name, e.msg);
        return 1;
    }
    uint64_t n = 16;
    double t0, dt;
    for (;;) {
        t0 = now_ns();
        if (run_loop(p, cs, n) != 0) {
            at_policy_free(p);
            return 1;
        }
        dt = now_ns() - t0;
        if (dt > 1e8 || n > (1ull << 40)) {
            break;
        }
        n *= 4;
    }
    uint64_t iters = (uint64_t)((double)n * 1e9 / dt);
    if (iters < 1) {
        iters = 1;
    }
    t0 = now_ns();
    if (run_loop(p, cs, iters) != 0) {
        at_policy_free(p);
        return 1;
    }
    dt = now_ns() - t0;
    double ns = dt / (double)iters;
    /* Policy evaluation does no cryptography: there is no openssl-speed floor to stand beside. */
    printf("{\"bench\":\"%s\",\"ns_per_op\":%.0f,\"ops_per_s\":%.0f,\"floor_ops_per_s\":null}\n",
           name, ns, 1e9 / ns);
    at_policy_free(p);
    return 0;
}

static const char jmes_policy[] =
    "version=1.2;\n"
    "authorizationrules{ [type==\"aikValidated\", value==true] => permit(); };\n"
    "issuancerules{\n"
    "c:[type==\"events\", issuer==\"AttestationService\"] => add(type=\"efiConfigVariables\", "
    "value=JmesPath(c.value, \"Events[?EventTypeString == 'EV_EFI_VARIABLE_DRIVER_CONFIG' && "
    "ProcessedData.VariableGuid == '8BE4DF61-93CA-11D2-AA0D-00E098032B8C']\"));\n"
    "c:[type==\"efiConfigVariables\", issuer==\"AttestationPolicy\"] => issue(type="
    "\"secureBootEnabled\", value=JsonToClaimValue(JmesPath(c.value, \"[?ProcessedData."
    "UnicodeName == 'SecureBoot'] | length(@) == `1` && @[0].ProcessedData.VariableData == "
    "'AQ'\")));\n"
    "![type==\"secureBootEnabled\", issuer==\"AttestationPolicy\"] => issue(type="
    "\"secureBootEnabled\", value=false);\n"
    "};";

static const char events[] =
    "{\"Events\":[{\"EventSeq\":1,\"PcrIndex\":7,\"EventTypeString\":\"EV_EFI_VARIABLE_DRIVER_"
    "CONFIG\",\"ProcessedData\":{\"VariableGuid\":\"8BE4DF61-93CA-11D2-AA0D-00E098032B8C\","
    "\"UnicodeName\":\"SecureBoot\",\"VariableData\":\"AQ\"}},{\"EventSeq\":2,\"PcrIndex\":12,"
    "\"EventTypeString\":\"EV_EVENT_TAG\",\"ProcessedData\":{\"EVENT_TRUSTBOUNDARY\":{\"EVENT_"
    "CODEINTEGRITY\":true,\"EVENT_BOOTDEBUGGING\":false}}}]}";

int main(void)
{
    struct at_claims sgx, tpm;
    struct at_err e;
    at_err_init(&e);
    at_claims_init(&sgx);
    at_claims_init(&tpm);
    int ok = at_is_ok(at_claims_add_bool(&sgx, "x-ms-sgx-is-debuggable", NULL, false, &e)) &&
             at_is_ok(at_claims_add_int(&sgx, "x-ms-sgx-product-id", NULL, 1, &e)) &&
             at_is_ok(at_claims_add_int(&sgx, "x-ms-sgx-svn", NULL, 3, &e)) &&
             at_is_ok(at_claims_add_str(&sgx, "x-ms-sgx-mrsigner", NULL,
                                        "4aea5f9a0ed04b11f889aadfe6a1d376213a29a95a85ce7337ae6f7fece"
                                        "6610c",
                                        &e)) &&
             at_is_ok(at_claims_add_str(&sgx, "x-ms-sgx-mrenclave", NULL,
                                        "292a1f4b519e46627eb2478a3d9851405653c5b4b0a6925de843834d92"
                                        "16850e",
                                        &e)) &&
             at_is_ok(at_claims_add_str(&sgx, "x-ms-attestation-type", NULL, "sgx", &e)) &&
             at_is_ok(at_claims_add_str(&sgx, "x-ms-sgx-report-data", NULL,
                                        "00000000000000000000000000000000000000000000000000000000"
                                        "00000000",
                                        &e)) &&
             at_is_ok(at_claims_add_bool(&tpm, "aikValidated", NULL, true, &e)) &&
             at_is_ok(at_claims_add_int(&tpm, "tpmVersion", NULL, 2, &e)) &&
             at_is_ok(at_claims_add_str(&tpm, "events", NULL, events, &e));
    int rc = 1;
    if (ok) {
        rc = bench("policy_eval_default_sgx", at_policy_default_text("SgxEnclave"), &sgx);
        rc |= bench("policy_eval_jmespath", jmes_policy, &tpm);
    } else {
        fprintf(stderr, "bench_policy: %s\n", e.msg);
    }
    at_claims_clear(&sgx);
    at_claims_clear(&tpm);
    return rc;
}
